/* What the packed GEMM drivers (gemm_avx512.c, gemm_avx2.c,
 * gemm_bf16_avx512.c) share around their blocking: the per-thread packing
 * buffers, beta other than 0 and 1, and the sum of a K split's partial
 * products. Plain C: the ISA-specific work stays in those files. */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

void *siren_gemm_ws_get(siren_gemm_ws *ws, size_t bytes) {
    if (bytes <= ws->bytes) return ws->buf;
    bytes = (bytes + 4095) & ~(size_t)4095;
    void *p = aligned_alloc(4096, bytes);
    if (!p) return NULL;
    /* touched once here, so no call pays page faults later */
    memset(p, 0, bytes);
    free(ws->buf);
    ws->buf = p;
    ws->bytes = bytes;
    return p;
}

int siren_gemm_prescale(int M, int N, int K, float *beta, float *C) {
    if (K > 0 && (*beta == 0.0f || *beta == 1.0f)) return 0;
    const size_t MN = (size_t)M * N;
    for (size_t i = 0; i < MN; i++) C[i] = *beta == 0.0f ? 0.0f : *beta * C[i];
    *beta = 1.0f;
    return K <= 0;
}

void siren_gemm_add_partials(float *C, const float *part, int M, int N, int t,
                             int nt) {
    const size_t MN = (size_t)M * N;
    size_t r0 = (size_t)M * t / nt, r1 = (size_t)M * (t + 1) / nt;
    for (int u = 1; u < nt; u++) {
        const float *P = part + MN * (u - 1);
        for (size_t i = r0 * N; i < r1 * N; i++) C[i] += P[i];
    }
}
