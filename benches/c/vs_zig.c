/*
 * engram_vector_similarity from this crate's C library against the Zig implementation's export
 * of the same name (renamed zig_engram_vector_similarity when linked; see
 * scripts/bench-vs-zig.sh). Each case runs both in interleaved rounds and prints medians of
 * thread CPU time, and checks that the two agree.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engram_kernels.h"

void zig_engram_vector_similarity(const float *query, const float *candidates, float *scores,
                                  size_t query_len, size_t num_candidates);

typedef void (*kernel)(const float *, const float *, float *, size_t, size_t);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Deterministic values in [-1, 1) (xorshift), as in the Rust benchmarks. */
static void fill(float *v, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v[i] = (float)(seed >> 40) / (float)(1u << 23) - 1.0f;
    }
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    static const size_t cases[][2] = {{768, 1000},  {768, 10000},  {768, 100000},
                                      {384, 1000},  {384, 10000},  {384, 100000},
                                      {1536, 1000}, {1536, 10000}, {1536, 100000}};
    enum { ROUNDS = 9 };
    const char *rounds_env = getenv("ENGRAM_BENCH_ROUNDS");
    int rounds = rounds_env ? atoi(rounds_env) : ROUNDS;
    if (rounds < 1 || rounds > 99) rounds = ROUNDS;
    printf("%-16s %12s %12s %10s\n", "d x n", "engram", "zig", "zig/engram");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t dim = cases[c][0], n = cases[c][1];
        float *q = malloc(dim * sizeof *q), *cand = malloc(dim * n * sizeof *cand);
        float *s[2] = {malloc(n * sizeof(float)), malloc(n * sizeof(float))};
        if (!q || !cand || !s[0] || !s[1]) return 1;
        fill(q, dim, 7);
        fill(cand, dim * n, 11);
        kernel k[2] = {engram_vector_similarity, zig_engram_vector_similarity};
        long iters[2];
        double times[2][99];
        for (int m = 0; m < 2; m++) { /* warm up, then size a 25 ms sample */
            k[m](q, cand, s[m], dim, n);
            double t0 = now();
            k[m](q, cand, s[m], dim, n);
            double one = fmax(now() - t0, 1e-7);
            iters[m] = (long)fmax(1.0, 0.025 / one);
        }
        for (int r = 0; r < rounds; r++) {
            for (int j = 0; j < 2; j++) {
                int m = (j + r) % 2;
                double t0 = now();
                for (long i = 0; i < iters[m]; i++) k[m](q, cand, s[m], dim, n);
                times[m][r] = (now() - t0) / (double)iters[m];
            }
        }
        double med[2];
        for (int m = 0; m < 2; m++) {
            qsort(times[m], (size_t)rounds, sizeof(double), cmp);
            med[m] = times[m][rounds / 2];
        }
        double diff = 0;
        for (size_t i = 0; i < n; i++) diff = fmax(diff, fabs((double)s[0][i] - (double)s[1][i]));
        char name[32];
        snprintf(name, sizeof name, "%zu x %zu", dim, n);
        printf("%-16s %9.1f us %9.1f us %10.2f   (max |diff| %.1e)\n", name, med[0] * 1e6,
               med[1] * 1e6, med[1] / med[0], diff);
        if (diff > 1e-5) {
            fprintf(stderr, "the two implementations disagree by %g\n", diff);
            return 1;
        }
        free(q);
        free(cand);
        free(s[0]);
        free(s[1]);
    }
    return 0;
}
