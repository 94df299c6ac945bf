/* Seeded, reproducible random numbers (xoshiro256** seeded by splitmix64):
 * the same seed gives the same stream on every machine, which is what makes
 * "same seed and thread count give the same model" hold. */
#ifndef SIREN_UTIL_RNG_H
#define SIREN_UTIL_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} siren_rng;

void siren_rng_seed(siren_rng *r, uint64_t seed);
uint64_t siren_rng_u64(siren_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double siren_rng_uniform(siren_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire's method). n > 0. */
uint64_t siren_rng_below(siren_rng *r, uint64_t n);

#endif
