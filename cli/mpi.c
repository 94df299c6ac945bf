/* Everything the CLI does with MPI, in one file: starting it under mpirun,
 * the gradient reduce of data-parallel training (libsiren's shard hook:
 * the library itself knows nothing of MPI), and the messages of the
 * many-signals scheduler (many.c). Built with -DSIREN_WITH_MPI when the
 * Makefile finds Open MPI; otherwise the stubs at the end stand in for a
 * single process. */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#ifdef SIREN_WITH_MPI
#include <mpi.h>

static int g_state;        /* 0 not tried, 1 running, -1 not under mpirun */
static int g_rank, g_size = 1;
static int g_sharded, g_quiet;
static float *g_buf;       /* the reduce's one buffer: gradient | loss parts */
static size_t g_buf_cap;

enum { TAG_REQUEST = 11, TAG_JOB = 12 };

int cli_mpi_built(void) { return 1; }

static void finalize(void) {
    int done = 0;
    free(g_buf);
    g_buf = NULL;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
}

/* Launched by mpirun (Open MPI) or a PMI launcher such as srun, and not a
 * many-signals child (those inherit the launcher's environment). */
static int launched(void) {
    if (getenv("SIREN_NO_MPI")) return 0;
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") ||
           getenv("PMI_RANK");
}

int cli_mpi_init(void) {
    if (g_state) return g_size;
    g_state = -1;
    if (!launched()) return g_size;
    int provided;
    /* OpenMP threads compute, only the main thread talks */
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        cli_die("MPI_Init failed");
    atexit(finalize);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_state = 1;
    return g_size;
}

int cli_mpi_rank(void) { return g_rank; }
int cli_mpi_size(void) { return g_size; }

int cli_mpi_threads(void) {
    if (g_state != 1) return 0;
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int mine = online > 0 ? (int)online : 1;
    if (sched_getaffinity(0, sizeof set, &set) == 0) mine = CPU_COUNT(&set);
    /* bound by the launcher (Open MPI binds to a core for -np <= 2): the
     * cores it gave this rank are its own */
    if (online > 0 && mine < online) return mine;
    /* not bound: share the machine with the other ranks on it */
    MPI_Comm local;
    int local_size = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0,
                            MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_size(local, &local_size);
        MPI_Comm_free(&local);
    }
    int t = mine / (local_size > 0 ? local_size : 1);
    return t > 0 ? t : 1;
}

/* The shard hook (siren_reduce_fn): one MPI_Allreduce per call of one
 * float buffer, the gradient followed by each loss part as a pair of
 * floats (hi, lo = the rest), so a step sends one message. The loss is
 * then summed to float precision (about 1e-7 relative), which is all the
 * guard and the progress need; the gradient is summed exactly as floats
 * are. Open MPI's allreduce algorithms give every rank the same bits; the
 * model check in cli_save_model would catch one that did not. */
static siren_status mpi_reduce(void *user, float *grad, size_t n,
                               double *parts, int n_loss) {
    (void)user;
    const size_t m = n + 2 * (size_t)n_loss;
    if (m > (size_t)INT32_MAX) return SIREN_ELIMIT;
    if (m > g_buf_cap) {
        float *b = realloc(g_buf, m * sizeof *b);
        if (!b) return SIREN_ENOMEM;
        g_buf = b;
        g_buf_cap = m;
    }
    if (n) memcpy(g_buf, grad, n * sizeof *grad);
    for (int k = 0; k < n_loss; k++) {
        float hi = (float)parts[k];
        g_buf[n + 2 * k] = hi;
        g_buf[n + 2 * k + 1] = (float)(parts[k] - (double)hi);
    }
    if (MPI_Allreduce(MPI_IN_PLACE, g_buf, (int)m, MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD) != MPI_SUCCESS)
        return SIREN_EIO;
    if (n) memcpy(grad, g_buf, n * sizeof *grad);
    for (int k = 0; k < n_loss; k++)
        parts[k] = (double)g_buf[n + 2 * k] + (double)g_buf[n + 2 * k + 1];
    return SIREN_OK;
}

void cli_mpi_shard(siren_train_opts *opt, const char **log_path, int *quiet,
                   int *json) {
    if (cli_mpi_init() <= 1) return;
    g_sharded = 1;
    opt->shard_rank = g_rank;
    opt->shard_count = g_size;
    opt->reduce = mpi_reduce;
    opt->reduce_user = NULL;
    if (opt->threads <= 0) opt->threads = cli_mpi_threads();
    if (g_rank != 0) {
        *log_path = NULL;
        *quiet = 1;
        *json = 0;
    }
    g_quiet = *quiet;
    if (!*quiet)
        fprintf(stderr, "siren: data-parallel training over %d ranks, %d "
                        "thread%s each\n", g_size, opt->threads,
                opt->threads == 1 ? "" : "s");
}

/* FNV-1a over the parameters' bytes. */
static uint64_t params_hash(const siren_net *net) {
    const unsigned char *p = (const unsigned char *)siren_net_params((siren_net *)net);
    const size_t n = siren_net_param_count(net) * sizeof(float);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

siren_status cli_save_model(const siren_net *net, const char *path) {
    if (!g_sharded) return siren_net_save(net, path);
    /* min of (h, ~h) over the ranks: h's minimum and the complement of its
     * maximum in one call; equal iff every rank has the same h */
    uint64_t h = params_hash(net), v[2] = {h, ~h};
    MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    if (v[0] != ~v[1])
        cli_die("%s: the %d ranks ended with different models (their gradient "
                "sums differed); nothing written", path, g_size);
    if (g_rank == 0 && !g_quiet)
        fprintf(stderr, "siren: the %d ranks ended with the same model, bit for "
                        "bit\n", g_size);
    return g_rank == 0 ? siren_net_save(net, path) : SIREN_OK;
}

static void nap(long us) {
    struct timespec ts = {0, us * 1000};
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
}

/* MPI_Wait that sleeps between tests: a blocking wait in Open MPI spins a
 * core, which a rank idle for minutes should not. */
static void wait_sleeping(MPI_Request *req, MPI_Status *status) {
    int done = 0;
    for (;;) {
        MPI_Test(req, &done, status);
        if (done) return;
        nap(1000);
    }
}

int cli_mpi_poll_request(int *from, cli_many_result *last) {
    if (g_state != 1 || g_size <= 1) return 0;
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, TAG_REQUEST, MPI_COMM_WORLD, &flag, &st);
    if (!flag) return 0;
    MPI_Recv(last, (int)sizeof *last, MPI_BYTE, st.MPI_SOURCE, TAG_REQUEST,
             MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    *from = st.MPI_SOURCE;
    return 1;
}

void cli_mpi_send_job(int to, const cli_many_job *job) {
    MPI_Send(job, (int)sizeof *job, MPI_BYTE, to, TAG_JOB, MPI_COMM_WORLD);
}

int cli_mpi_request_job(const cli_many_result *last, cli_many_job *job) {
    MPI_Request req;
    MPI_Irecv(job, (int)sizeof *job, MPI_BYTE, 0, TAG_JOB, MPI_COMM_WORLD, &req);
    MPI_Send(last, (int)sizeof *last, MPI_BYTE, 0, TAG_REQUEST, MPI_COMM_WORLD);
    wait_sleeping(&req, MPI_STATUS_IGNORE);
    return job->index >= 0;
}

int cli_mpi_finish(int rc) {
    if (g_state != 1 || g_size <= 1) return rc;
    int mine = g_rank == 0 ? rc : 0, all = 0;
    MPI_Request req;
    MPI_Iallreduce(&mine, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req);
    wait_sleeping(&req, MPI_STATUS_IGNORE);
    return all;
}

_Noreturn void cli_mpi_abort(int rc) {
    if (g_state == 1 && g_size > 1) MPI_Abort(MPI_COMM_WORLD, rc);
    exit(rc);
}

#else /* no MPI: one process */

_Noreturn void cli_mpi_abort(int rc) { exit(rc); }

int cli_mpi_built(void) { return 0; }
int cli_mpi_init(void) { return 1; }
int cli_mpi_rank(void) { return 0; }
int cli_mpi_size(void) { return 1; }
int cli_mpi_threads(void) { return 0; }

void cli_mpi_shard(siren_train_opts *opt, const char **log_path, int *quiet,
                   int *json) {
    (void)opt; (void)log_path; (void)quiet; (void)json;
}

siren_status cli_save_model(const siren_net *net, const char *path) {
    return siren_net_save(net, path);
}

int cli_mpi_poll_request(int *from, cli_many_result *last) {
    (void)from; (void)last;
    return 0;
}

void cli_mpi_send_job(int to, const cli_many_job *job) { (void)to; (void)job; }

int cli_mpi_request_job(const cli_many_result *last, cli_many_job *job) {
    (void)last; (void)job;
    return 0;
}

int cli_mpi_finish(int rc) { return rc; }

#endif
