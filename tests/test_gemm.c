/* The GEMM paths (AVX-512, AVX2) against the plain reference (double
 * accumulation): every shape, edge tiles included, beta 0 and 1, 1 and 2
 * threads; bit-identical repeats; beta = 0 ignoring NaN in C; the dispatch
 * honouring the ISA selection and the CBLAS switch. Tolerance: max |c -
 * ref| / max |ref| <= 1e-5 sqrt(K), float rounding over a sum of K.
 * The bf16 path (on a CPU with AVX512_BF16) against the same loops on
 * bf16-rounded operands, same tolerance (products of two bf16 are exact
 * in fp32, so only the sums differ), and against the fp32 reference
 * within bf16's rounding (2^-8 relative per operand); the rounding
 * itself against its definition. */
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"
#include "testhelp.h"

static const char *op_name[] = {"abt", "atb", "ab"};

static unsigned rng_state = 12345u;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / 8388608.0f - 1.0f;
}
static float *rand_buf(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

/* max |c - ref| / max |ref|: norm-wise, so cancellation in one entry does
 * not count as error. */
static double rel_err(const float *c, const float *ref, size_t n) {
    double dmax = 0, rmax = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)c[i] - ref[i]);
        if (!(d <= dmax)) dmax = d; /* NaN wins */
        if (fabs(ref[i]) > rmax) rmax = fabs(ref[i]);
    }
    return dmax / (rmax > 0 ? rmax : 1);
}

typedef struct { int M, N, K; } shape;

static const shape shapes[] = {
    {1, 1, 1},      {3, 5, 7},       {13, 31, 33},   {14, 32, 16},
    {15, 33, 17},   {28, 64, 256},   {31, 17, 255},  {33, 257, 3},
    {255, 33, 257}, {257, 255, 31},  {37, 12, 12},   {1000, 256, 256},
    {1000, 3, 256}, {5, 1000, 100},  {64, 256, 800}, {50, 700, 300},
    {29, 45, 1000}, {40, 50, 5000},  {256, 256, 4096}, {1200, 20, 2500},
    {37, 64, 3000},
};

/* One of our packed kernels, and its name in the messages. */
typedef void (*path_fn)(siren_gemm_op, int, int, int, const float *,
                        const float *, float, float *, int);
typedef struct {
    const char *name;
    path_fn fn;
} path;

/* Paths p[0..np-1] against the reference at one shape and beta, threads
 * 1 and 2, each run twice: err[i] gets path i's worst rel err, same[i]
 * whether its repeats were bit-identical. op(A) (M,K): A holds M*K floats
 * either way, op(B) (K,N) K*N floats. */
typedef void (*ref_fn)(siren_gemm_op, int, int, int, const float *,
                       const float *, float, float *);
static ref_fn reference = siren_gemm_plain;

static void run_paths(const path *p, int np, siren_gemm_op op, shape s,
                      float beta, double *err, int *same) {
    const int M = s.M, N = s.N, K = s.K;
    size_t mn = (size_t)M * N;
    float *A = rand_buf((size_t)M * K), *B = rand_buf((size_t)K * N);
    float *C0 = rand_buf(mn), *ref = malloc(mn * 4), *c = malloc(mn * 4),
          *again = malloc(mn * 4);
    memcpy(ref, C0, mn * 4);
    reference(op, M, N, K, A, B, beta, ref);
    for (int i = 0; i < np; i++) {
        err[i] = 0, same[i] = 1;
        for (int T = 1; T <= 2; T++) {
            memcpy(c, C0, mn * 4);
            p[i].fn(op, M, N, K, A, B, beta, c, T);
            double e = rel_err(c, ref, mn);
            if (!(e <= err[i])) err[i] = e;
            memcpy(again, C0, mn * 4);
            p[i].fn(op, M, N, K, A, B, beta, again, T);
            same[i] &= memcmp(c, again, mn * 4) == 0;
        }
    }
    free(A), free(B), free(C0), free(ref), free(c), free(again);
}

static int run_path(path p, siren_gemm_op op, shape s, float beta,
                    double *err) {
    int same;
    run_paths(&p, 1, op, s, beta, err, &same);
    return same;
}

/* One reference for all the paths: the plain loops are most of the time. */
static void check_paths(const path *p, int np, siren_gemm_op op, shape s) {
    double tol = 1e-5 * sqrt((double)s.K), err[2];
    int same[2];
    for (int beta = 0; beta <= 1; beta++) {
        run_paths(p, np, op, s, (float)beta, err, same);
        for (int i = 0; i < np; i++)
            CHECK(err[i] <= tol && same[i],
                  "%s %s M=%d N=%d K=%d beta=%d, threads 1,2: rel err %.2e "
                  "(tol %.1e), repeat bit-identical %s",
                  p[i].name, op_name[op], s.M, s.N, s.K, beta, err[i], tol,
                  same[i] ? "yes" : "NO");
    }
}

/* Every combination of M, N, K in {1, 5, 17, 255, 257}: full and edge
 * tiles, a K below and above the unrolling, one line per op and beta. */
static const int grid_big[] = {1, 5, 17, 255, 257};
static const int *grid = grid_big;
static void check_edge_grid(path p, siren_gemm_op op) {
    const int *sz = grid;
    enum { NS = sizeof grid_big / sizeof *grid_big }; /* both grids' size */
    for (int beta = 0; beta <= 1; beta++) {
        int bad = 0, same = 1;
        double worst = 0;
        shape at = {0, 0, 0};
        for (int m = 0; m < NS; m++)
            for (int n = 0; n < NS; n++)
                for (int k = 0; k < NS; k++) {
                    shape s = {sz[m], sz[n], sz[k]};
                    double e, tol = 1e-5 * sqrt((double)s.K);
                    int ok = run_path(p, op, s, (float)beta, &e);
                    same &= ok;
                    if (!(e <= tol) || !ok) bad++;
                    if (!(e / tol <= worst)) worst = e / tol, at = s;
                }
        CHECK(bad == 0,
              "%s %s, M,N,K each in {%d,%d,%d,%d,%d}, beta=%d, threads 1,2: "
              "%d of %d shapes off; worst rel err %.2f x tol (1e-5 sqrt(K)) "
              "at M=%d N=%d K=%d; repeats bit-identical %s",
              p.name, op_name[op], sz[0], sz[1], sz[2], sz[3], sz[4], beta,
              bad, NS * NS * NS, worst, at.M,
              at.N, at.K, same ? "yes" : "NO");
    }
}

/* beta other than 0 and 1: C scaled first, then the product added. */
static void check_beta_half(path p, siren_gemm_op op) {
    shape s = {37, 40, 300};
    double e;
    int same = run_path(p, op, s, 0.5f, &e);
    CHECK(e <= 1e-5 * sqrt(s.K) && same,
          "%s %s beta=0.5 M=%d N=%d K=%d: rel err %.2e", p.name, op_name[op],
          s.M, s.N, s.K, e);
}

/* beta = 0 writes C without reading it: NaN there must not leak out. */
static void check_nan_beta0(path p, siren_gemm_op op) {
    const int M = 45, N = 70, K = 33;
    float *A = rand_buf((size_t)M * K), *B = rand_buf((size_t)K * N);
    float *c = malloc((size_t)M * N * 4), *ref = malloc((size_t)M * N * 4);
    for (int i = 0; i < M * N; i++) c[i] = NAN;
    reference(op, M, N, K, A, B, 0.0f, ref);
    p.fn(op, M, N, K, A, B, 0.0f, c, 2);
    double e = rel_err(c, ref, (size_t)M * N);
    CHECK(e <= 1e-5 * sqrt(K), "%s %s beta=0 over a C of NaN: rel err %.2e",
          p.name, op_name[op], e);
    free(A), free(B), free(c), free(ref);
}

typedef void (*gemm_fn)(int, int, int, const float *, const float *, float,
                        float *);

/* The public entry points at the network's shapes (scaled down): ours and
 * CBLAS both against the reference, an AVX2 selection runs our AVX2 kernel
 * (CBLAS on a CPU without AVX2), and the CBLAS switch overrides both. */
static void check_dispatch(siren_gemm_op op, gemm_fn fn, int M, int N, int K,
                           int have_avx512, int have_avx2) {
    size_t mn = (size_t)M * N;
    float *A = rand_buf((size_t)M * K), *B = rand_buf((size_t)K * N);
    float *ref = malloc(mn * 4), *ours = malloc(mn * 4), *blas = malloc(mn * 4),
          *avx2 = malloc(mn * 4);
    double tol = 1e-5 * sqrt((double)K);
    siren_gemm_plain(op, M, N, K, A, B, 0.0f, ref);
    siren_gemm_set_threads(2);
    fn(M, N, K, A, B, 0.0f, ours);
    siren_gemm_use_blas(1);
    fn(M, N, K, A, B, 0.0f, blas);
    siren_gemm_use_blas(0);
    siren_isa_select(SIREN_ISA_AVX2);
    fn(M, N, K, A, B, 0.0f, avx2);
    siren_isa_select(SIREN_ISA_AVX512);
    double eo = rel_err(ours, ref, mn), eb = rel_err(blas, ref, mn);
    CHECK(eo <= tol && eb <= tol,
          "siren_gemm_%s M=%d N=%d K=%d: default path rel err %.2e, CBLAS "
          "%.2e", op_name[op], M, N, K, eo, eb);
    if (have_avx2) {
        float *direct = malloc(mn * 4);
        siren_gemm_avx2(op, M, N, K, A, B, 0.0f, direct, 2);
        CHECK(memcmp(avx2, direct, mn * 4) == 0,
              "siren_gemm_%s with the AVX2 ISA selected is our AVX2 kernel, "
              "bit for bit", op_name[op]);
        free(direct);
    } else {
        CHECK(memcmp(avx2, blas, mn * 4) == 0,
              "siren_gemm_%s with AVX2 selected on a CPU without it is CBLAS, "
              "bit for bit", op_name[op]);
    }
    if (have_avx512) {
        float *direct = malloc(mn * 4);
        siren_gemm_avx512(op, M, N, K, A, B, 0.0f, direct, 2);
        CHECK(memcmp(direct, ours, mn * 4) == 0,
              "siren_gemm_%s uses the AVX-512 path on this CPU", op_name[op]);
        free(direct);
    }
    free(A), free(B), free(ref), free(ours), free(blas), free(avx2);
}

/* siren_bf16_round against its definition: the nearest of the two bf16
 * neighbours (the float truncated to 16 bits, and the next one up in
 * magnitude), ties to the even one; specials kept. */
static void check_bf16_round(void) {
    int bad = 0;
    unsigned st = 777u;
    for (int i = 0; i < 200000; i++) {
        st = st * 1664525u + 1013904223u;
        uint32_t u = st;
        if (i < 4) u = (uint32_t[]){0x3f808000u, 0x3f818000u, 0x7f7fffffu, 0x00008000u}[i];
        float x;
        memcpy(&x, &u, 4);
        if (isnan(x) || isinf(x)) continue;
        uint32_t lo_u = u & 0xffff0000u, hi_u = lo_u + 0x10000u;
        float lo, hi, r = siren_bf16_round(x);
        memcpy(&lo, &lo_u, 4), memcpy(&hi, &hi_u, 4);
        /* past the largest bf16 the next one up is inf, at 2^128 */
        double hv = (hi_u & 0x7fffffffu) == 0x7f800000u ? copysign(0x1p128, x) : hi;
        double dl = fabs((double)x - lo), dh = fabs((double)x - hv);
        float want = dl < dh ? lo : dh < dl ? hi : ((lo_u >> 16) & 1) ? hi : lo;
        if (memcmp(&r, &want, 4) != 0 && bad++ < 3)
            fprintf(stderr, "# round %08x: got %g want %g\n", u, r, want);
    }
    float nan_r = siren_bf16_round(NAN), inf_r = siren_bf16_round(-INFINITY);
    CHECK(bad == 0 && isnan(nan_r) && isinf(inf_r) && inf_r < 0,
          "siren_bf16_round: nearest bf16, ties to even, on 200000 floats "
          "(%d wrong); NaN and -inf kept", bad);
}

/* The bf16 kernel: against the loops on rounded operands (tight), and
 * against fp32 (loose: what the rounding costs, and that it is bf16's). */
static void check_bf16(void) {
    const path p = {"bf16", siren_gemm_bf16};
    /* small sides (odd and even K, partial tiles) keep it quick; the
     * shapes above have the long K and multiple blocks */
    static const int grid_small[] = {1, 5, 17, 30, 33};
    grid = grid_small;
    reference = siren_gemm_plain_bf16;
    for (int op = 0; op < 3; op++) {
        for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
            check_paths(&p, 1, (siren_gemm_op)op, shapes[i]);
        check_edge_grid(p, (siren_gemm_op)op);
        check_beta_half(p, (siren_gemm_op)op);
        check_nan_beta0(p, (siren_gemm_op)op);
    }
    grid = grid_big;
    reference = siren_gemm_plain;
    for (int op = 0; op < 3; op++) {
        shape s = {300, 256, 256};
        if (op == SIREN_GEMM_ATB) s = (shape){256, 256, 3000};
        double err;
        run_path(p, (siren_gemm_op)op, s, 0.0f, &err);
        /* each operand off by at most 2^-9 relative, random signs: the
         * sum's error ~ 2^-8.5 |a||b| sqrt(K), against a sum ~ |a||b| sqrt(K) */
        CHECK(err < 1e-2 && err > 1e-5,
              "bf16 %s M=%d N=%d K=%d against the fp32 reference: rel err "
              "%.2e, bf16's size (between 1e-5 and 1e-2)", op_name[op], s.M,
              s.N, s.K, err);
    }
    /* the dispatch: bf16 precision sends our shapes to the bf16 kernel */
    const int M = 2000, N = 256, K = 256;
    float *A = rand_buf((size_t)M * K), *B = rand_buf((size_t)K * N);
    float *c1 = malloc((size_t)M * N * 4), *c2 = malloc((size_t)M * N * 4);
    siren_gemm_set_threads(2);
    CHECK(siren_gemm_set_precision(SIREN_GEMM_BF16) == SIREN_GEMM_BF16,
          "bf16 precision can be selected on this CPU");
    siren_gemm_abt(M, N, K, A, B, 0.0f, c1);
    siren_gemm_set_precision(SIREN_GEMM_FP32);
    siren_gemm_bf16(SIREN_GEMM_ABT, M, N, K, A, B, 0.0f, c2, 2);
    CHECK(memcmp(c1, c2, (size_t)M * N * 4) == 0 &&
              siren_gemm_precision_current() == SIREN_GEMM_FP32,
          "siren_gemm_abt with bf16 precision is the bf16 kernel, bit for "
          "bit; fp32 again after");
    free(A), free(B), free(c1), free(c2);
}

int main(void) {
    __builtin_cpu_init();
    int have = __builtin_cpu_supports("avx512f");
    int have2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const path avx512 = {"avx512", siren_gemm_avx512};
    const path avx2 = {"avx2", siren_gemm_avx2};
    /* the paths this CPU runs */
    path run[2];
    int np = 0;
    if (have) run[np++] = avx512;
    else CHECK(1, "avx512 GEMM path # SKIP no AVX-512 on this CPU");
    if (have2) run[np++] = avx2;
    else CHECK(1, "avx2 GEMM path # SKIP no AVX2/FMA on this CPU");
    for (int op = 0; op < 3 && np > 0; op++)
        for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
            check_paths(run, np, (siren_gemm_op)op, shapes[i]);
    if (have)
        for (int op = 0; op < 3; op++) check_nan_beta0(avx512, (siren_gemm_op)op);
    if (have2) {
        for (int op = 0; op < 3; op++) {
            check_edge_grid(avx2, (siren_gemm_op)op);
            check_beta_half(avx2, (siren_gemm_op)op);
            check_nan_beta0(avx2, (siren_gemm_op)op);
        }
    }
    check_bf16_round();
    if (siren_gemm_bf16_supported())
        check_bf16();
    else
        CHECK(siren_gemm_set_precision(SIREN_GEMM_BF16) == SIREN_GEMM_FP32,
              "bf16 GEMM path # SKIP no AVX512_BF16 on this CPU (and asking "
              "for it leaves fp32)");
    check_dispatch(SIREN_GEMM_ABT, siren_gemm_abt, 2000, 256, 256, have, have2);
    check_dispatch(SIREN_GEMM_ATB, siren_gemm_atb, 256, 256, 2000, have, have2);
    check_dispatch(SIREN_GEMM_AB, siren_gemm_ab, 2000, 256, 256, have, have2);
    TEST_DONE();
}
