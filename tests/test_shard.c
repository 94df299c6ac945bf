/* The data-parallel hook of siren_train_opts (shard_rank, shard_count,
 * reduce) without MPI: a reduce that leaves its arguments alone gives a
 * plain fit bit for bit; two or three threads that each run the same fit
 * as one shard, summing through shared slots between barriers (what an
 * MPI_Allreduce does across processes), end with the same parameters on
 * every shard and match a single process within a stated tolerance; a stop
 * asked by one shard's progress callback stops every shard after the same
 * step; only shard 0 writes checkpoints. */
#include <omp.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "siren.h"
#include "testhelp.h"
#include "train/train.h"

/* ------------------------------------------------------ the signals fitted */

static siren_image test_image(int w, int h, int c) {
    siren_image img = {w, h, c, malloc((size_t)w * h * c * sizeof(float))};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                img.data[((size_t)y * w + x) * c + k] =
                    0.5f + 0.4f * sinf(0.3f * x + 0.2f * y * (k + 1)) * cosf(0.15f * x * y / 8);
    return img;
}

/* sdf: points on the unit sphere scaled by 0.6, normals outward */
static void sphere(size_t n, float *pts, float *nrm) {
    for (size_t i = 0; i < n; i++) {
        double z = 1 - 2 * (i + 0.5) / n, r = sqrt(1 - z * z), a = 2.399963 * i;
        nrm[3 * i] = (float)(r * cos(a));
        nrm[3 * i + 1] = (float)(r * sin(a));
        nrm[3 * i + 2] = (float)z;
        for (int j = 0; j < 3; j++) pts[3 * i + j] = 0.6f * nrm[3 * i + j];
    }
}

/* ----------------------------------------------------- shards as threads */

enum { MAX_SHARDS = 4, POOL = 3 /* the most shards a test runs */ };

/* What the shards share: one slot per shard, a barrier. */
typedef struct {
    int count;
    pthread_barrier_t bar;
    float *grad[MAX_SHARDS];
    double parts[MAX_SHARDS][8];
    long calls[MAX_SHARDS];
} group;

typedef struct {
    group *g;
    int rank;
} shard_user;

/* Every shard publishes its pointers, waits for all, sums the slots in
 * rank order into a private copy (so every shard gets the same bits), waits
 * again (nobody overwrites a slot before all have read), then copies out. */
static siren_status barrier_reduce(void *user, float *grad, size_t n,
                                   double *parts, int n_loss) {
    shard_user *u = user;
    group *g = u->g;
    float *sum = n ? malloc(n * sizeof *sum) : NULL;
    double ps[8];
    if (n && !sum) return SIREN_ENOMEM;
    if (n_loss > 8) return SIREN_EINVAL;
    g->grad[u->rank] = grad;
    memcpy(g->parts[u->rank], parts, n_loss * sizeof *parts);
    g->calls[u->rank]++;
    pthread_barrier_wait(&g->bar);
    for (size_t i = 0; i < n; i++) {
        float s = g->grad[0][i];
        for (int r = 1; r < g->count; r++) s += g->grad[r][i];
        sum[i] = s;
    }
    for (int k = 0; k < n_loss; k++) {
        double s = g->parts[0][k];
        for (int r = 1; r < g->count; r++) s += g->parts[r][k];
        ps[k] = s;
    }
    pthread_barrier_wait(&g->bar);
    if (n) memcpy(grad, sum, n * sizeof *sum);
    memcpy(parts, ps, n_loss * sizeof *parts);
    free(sum);
    return SIREN_OK;
}

static siren_status identity_reduce(void *user, float *grad, size_t n,
                                    double *parts, int n_loss) {
    (void)grad; (void)n; (void)parts; (void)n_loss;
    ++*(long *)user;
    return SIREN_OK;
}

typedef enum { FIT_IMAGE, FIT_GRAD, FIT_SDF, FIT_OCC_LIKE } fit_kind;

typedef struct {
    fit_kind kind;
    const siren_image *img;
    const float *pts, *nrm;
    size_t n_pts;
    siren_config cfg;
    siren_train_opts opt;
    siren_net *net;
    siren_fit_result res;
    siren_status st;
    shard_user su;
} job;

static void run_job(job *j) {
    switch (j->kind) {
    case FIT_IMAGE:
        j->st = siren_fit_image(j->img, &j->cfg, &j->opt, &j->net, &j->res);
        break;
    case FIT_GRAD:
        j->st = siren_fit_grad(j->img, &j->cfg, &j->opt, &j->net, &j->res);
        break;
    case FIT_SDF:
        j->st = siren_net_create(&j->cfg, j->opt.seed, &j->net);
        if (!j->st)
            j->st = siren_train_sdf(j->net, j->pts, j->nrm, j->n_pts, &j->opt, &j->res);
        break;
    case FIT_OCC_LIKE: /* BCE through the generic values loop */
        j->st = siren_net_create(&j->cfg, j->opt.seed, &j->net);
        if (!j->st) {
            const size_t n = (size_t)j->img->width * j->img->height;
            float *x = malloc(n * 2 * sizeof *x), *t = malloc(n * sizeof *t);
            for (size_t i = 0; i < n; i++) {
                x[2 * i] = -1 + 2.0f * (i / j->img->width) / (j->img->height - 1);
                x[2 * i + 1] = -1 + 2.0f * (i % j->img->width) / (j->img->width - 1);
                t[i] = j->img->data[i] > 0.5f;
            }
            j->st = siren_train_values_loss(j->net, x, t, n, SIREN_LOSS_BCE_LOGITS,
                                            &j->opt, &j->res);
            free(x);
            free(t);
        }
        break;
    }
}

/* Runs `base` as `count` shards on threads; shard r's job in jobs[r]
 * (already filled by the caller when `filled`). OpenMP's threads, not
 * threads of our own: they live to the end, like an MPI rank, so the
 * kernels' per-thread buffers are not left behind by exited threads.
 * 0 when the threads could not all be had. */
static int run_shards(const job *base, int count, job *jobs, group *g, int filled) {
    int got = 0;
    memset(g, 0, sizeof *g);
    g->count = count;
    pthread_barrier_init(&g->bar, NULL, (unsigned)count);
    for (int r = 0; r < count; r++) {
        if (!filled) jobs[r] = *base;
        jobs[r].su.g = g;
        jobs[r].su.rank = r;
        jobs[r].opt.shard_rank = r;
        jobs[r].opt.shard_count = count;
        jobs[r].opt.reduce = barrier_reduce;
        jobs[r].opt.reduce_user = &jobs[r].su;
    }
    /* always a team of POOL: libgomp lets the threads of a larger team
     * go when a smaller one follows, and a thread that goes leaves its
     * kernel buffers behind */
#pragma omp parallel num_threads(POOL)
    {
#pragma omp single
        got = omp_get_num_threads();
        /* the implied barrier: nobody waits on a barrier of count if fewer came */
        if (got == POOL && omp_get_thread_num() < count)
            run_job(&jobs[omp_get_thread_num()]);
    }
    pthread_barrier_destroy(&g->bar);
    return got == POOL;
}

/* max |a - b| over max |a - a0|: the difference of two runs against how
 * far training moved the parameters from their start a0. */
static double rel_update_diff(const siren_net *a, const siren_net *b,
                              const siren_net *a0) {
    const float *pa = siren_net_params((siren_net *)a),
                *pb = siren_net_params((siren_net *)b),
                *p0 = siren_net_params((siren_net *)a0);
    double d = 0, u = 0;
    for (size_t i = 0; i < siren_net_param_count(a); i++) {
        d = fmax(d, fabs((double)pa[i] - pb[i]));
        u = fmax(u, fabs((double)pa[i] - p0[i]));
    }
    return u > 0 ? d / u : INFINITY;
}

static int same_params(const siren_net *a, const siren_net *b) {
    return siren_net_param_count(a) == siren_net_param_count(b) &&
           !memcmp(siren_net_params((siren_net *)a), siren_net_params((siren_net *)b),
                   siren_net_param_count(a) * sizeof(float));
}

/* The tolerance of a sharded run against one process: the gradients
 * differ only in the order of float sums (rounding ~1e-7 relative), which
 * Adam's m / sqrt(v) carries into the updates; measured worst over these
 * cases after 20 steps: 1.5e-5 of the largest update (sdf), 3e-6 for the
 * others. */
#define TOL 1e-4

static void compare(const char *what, const job *base, int count) {
    job single = *base, jobs[MAX_SHARDS];
    group g;
    run_job(&single);
    int ok = run_shards(base, count, jobs, &g, 0) && single.st == SIREN_OK;
    for (int r = 0; r < count; r++) ok = ok && jobs[r].st == SIREN_OK;
    CHECK(ok, "%s: one process and %d shards fit (%s)", what, count,
          ok ? "ok" : siren_last_error());
    if (!ok) return;
    siren_net *init;
    siren_config c = *siren_net_config(single.net);
    siren_net_create(&c, base->opt.seed, &init);
    int same = 1;
    for (int r = 1; r < count; r++) same = same && same_params(jobs[0].net, jobs[r].net);
    CHECK(same, "%s: the %d shards end with the same parameters, bit for bit",
          what, count);
    double d = rel_update_diff(single.net, jobs[0].net, init);
    CHECK(d < TOL, "%s: %d shards match one process: max |diff| = %.2e of the "
          "largest update (tolerance %g)", what, count, d, TOL);
    CHECK(jobs[0].res.steps == single.res.steps &&
          fabs(jobs[0].res.loss - single.res.loss) <= 1e-3 * fabs(single.res.loss) + 1e-12,
          "%s: same steps and loss (%d, %.6g) as one process (%d, %.6g)", what,
          jobs[0].res.steps, jobs[0].res.loss, single.res.steps, single.res.loss);
    if (!isnan(single.res.psnr_db))
        CHECK(fabs(jobs[0].res.psnr_db - single.res.psnr_db) < 0.01 &&
              jobs[0].res.psnr_db == jobs[count - 1].res.psnr_db,
              "%s: final PSNR %.4f dB on every shard, one process %.4f dB", what,
              jobs[0].res.psnr_db, single.res.psnr_db);
    siren_net_free(init);
    siren_net_free(single.net);
    for (int r = 0; r < count; r++) siren_net_free(jobs[r].net);
}

/* Shard 0's progress callback asks to stop after step 5, the others never. */
static int stop_at_5(void *user, const siren_progress *p) {
    (void)user;
    return p->step >= 5;
}

int main(void) {
    siren_image img = test_image(24, 20, 1), rgb = test_image(16, 16, 3);
    job base;
    memset(&base, 0, sizeof base);
    base.cfg = siren_config_default(2, 1);
    base.cfg.hidden_features = 32;
    base.cfg.hidden_layers = 2;
    base.opt = siren_train_opts_default();
    base.opt.steps = 20;
    base.opt.lr = 1e-3f;
    base.opt.seed = 3;
    base.opt.threads = 1;
    base.kind = FIT_IMAGE;
    base.img = &img;

    /* 1. shard_count 1 with a reduce that changes nothing: a plain fit */
    {
        job plain = base, hooked = base;
        long calls = 0;
        hooked.opt.shard_count = 1;
        hooked.opt.reduce = identity_reduce;
        hooked.opt.reduce_user = &calls;
        run_job(&plain);
        run_job(&hooked);
        CHECK(plain.st == SIREN_OK && hooked.st == SIREN_OK &&
              same_params(plain.net, hooked.net) && plain.res.loss == hooked.res.loss &&
              plain.res.psnr_db == hooked.res.psnr_db,
              "one shard with an identity reduce gives the plain fit bit for bit");
        /* one call per step, one for the final PSNR */
        CHECK(calls == base.opt.steps + 1, "the reduce is called once a step and "
              "once for the final metric (%ld calls for %d steps)", calls,
              base.opt.steps);
        siren_net_free(plain.net);
        siren_net_free(hooked.net);
        job mb = base, mbh = base;
        mb.opt.batch = mbh.opt.batch = 100;
        mbh.opt.shard_count = 1;
        mbh.opt.reduce = identity_reduce;
        mbh.opt.reduce_user = &calls;
        run_job(&mb);
        run_job(&mbh);
        CHECK(mb.st == SIREN_OK && mbh.st == SIREN_OK && same_params(mb.net, mbh.net),
              "the same with minibatches");
        siren_net_free(mb.net);
        siren_net_free(mbh.net);
    }

    /* 2. shards against one process, every loop */
    compare("image, full batch", &base, 2);
    compare("image, full batch", &base, 3);
    job mb = base;
    mb.opt.batch = 101;
    compare("image, minibatch of 101", &mb, 2);
    job col = base;
    col.img = &rgb;
    col.cfg.out_features = 3;
    compare("RGB image", &col, 2);
    job occ = base;
    occ.kind = FIT_OCC_LIKE;
    compare("BCE values loop", &occ, 2);
    job gr = base;
    gr.kind = FIT_GRAD;
    gr.cfg.first_omega_0 = 10;
    compare("grad (double backward)", &gr, 2);
    job sdf = base;
    float pts[3 * 400], nrm[3 * 400];
    sphere(400, pts, nrm);
    sdf.kind = FIT_SDF;
    sdf.cfg = siren_config_default(3, 1);
    sdf.cfg.hidden_features = 32;
    sdf.cfg.hidden_layers = 2;
    sdf.opt.batch = 200;
    sdf.opt.lr = 1e-4f;
    sdf.pts = pts;
    sdf.nrm = nrm;
    sdf.n_pts = 400;
    compare("sdf", &sdf, 2);

    /* 3. a stop on one shard stops them all after the same step; only
     * shard 0 writes the checkpoint */
    {
        char ck[] = "/tmp/test_shard_ckXXXXXX";
        int fd = mkstemp(ck);
        if (fd >= 0) close(fd);
        unlink(ck);
        job jobs[MAX_SHARDS];
        group g;
        job st = base;
        st.opt.checkpoint = ck;
        for (int r = 0; r < 2; r++) {
            jobs[r] = st;
            jobs[r].opt.progress = r == 0 ? stop_at_5 : NULL;
        }
        int got = run_shards(&st, 2, jobs, &g, 1);
        CHECK(got && jobs[0].st == SIREN_OK && jobs[1].st == SIREN_OK &&
              jobs[0].res.steps == 5 && jobs[1].res.steps == 5 &&
              same_params(jobs[0].net, jobs[1].net),
              "a stop asked by shard 0 after step 5 ends both shards after step 5 "
              "(steps %d and %d)", jobs[0].res.steps, jobs[1].res.steps);
        CHECK(access(ck, F_OK) == 0, "shard 0 wrote the checkpoint");
        /* resume on one process from it: the model goes on */
        job one = base;
        one.opt.resume = ck;
        run_job(&one);
        CHECK(one.st == SIREN_OK && one.res.steps == base.opt.steps,
              "a sharded run's checkpoint resumes on one process (%s)",
              one.st ? siren_last_error() : "ok");
        if (one.net) siren_net_free(one.net);
        siren_net_free(jobs[0].net);
        siren_net_free(jobs[1].net);
        unlink(ck);
    }

    /* 4. bad settings */
    {
        siren_net *net = NULL;
        siren_fit_result res;
        siren_train_opts o = base.opt;
        o.shard_count = 2;
        CHECK(siren_fit_image(&img, &base.cfg, &o, &net, &res) == SIREN_EINVAL,
              "two shards without a reduce: EINVAL (%s)", siren_last_error());
        o.reduce = identity_reduce;
        o.shard_rank = 2;
        CHECK(siren_fit_image(&img, &base.cfg, &o, &net, &res) == SIREN_EINVAL,
              "shard 2 of 2: EINVAL (%s)", siren_last_error());
        o.shard_rank = 0;
        o.shard_count = 8;
        o.batch = 4;
        CHECK(siren_fit_image(&img, &base.cfg, &o, &net, &res) == SIREN_EINVAL,
              "a batch of 4 over 8 shards: EINVAL (%s)", siren_last_error());
    }
    siren_image_free(&img);
    siren_image_free(&rgb);
    TEST_DONE();
}
