/*
 * This crate's C library against the Zig implementation's exports of the same names (renamed
 * zig_engram_* when linked; see scripts/bench-vs-zig.sh). Each case runs both in interleaved
 * rounds and prints medians of thread CPU time, and checks the results.
 *
 *   vs_zig [similarity] [many] [decay] [overhead]     (no argument: all but many)
 *
 * similarity: engram_vector_similarity, batch sizes of Engram's benchmarks.
 * many:       engram_cosine_similarity_many, 16 queries (this library only: Zig has no such
 *             export); for comparing SIMD levels (ENGRAM_SIMD) between processes.
 * decay:      engram_apply_decay on 10k and 10M strengths, with a memory floor (a loop that reads
 *             the same strengths and ages and writes the strengths), and a bit-for-bit check
 *             against the engine's reference s * (float)exp(-(double)age / 86400.0).
 * overhead:   ns per call of tiny calls (1-element decay, 10-candidate cosine, a 4-node spread,
 *             and this library's status-returning exports, which Zig lacks).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engram_kernels.h"

void zig_engram_vector_similarity(const float *query, const float *candidates, float *scores,
                                  size_t query_len, size_t num_candidates);
void zig_engram_apply_decay(float *strengths, const uint64_t *ages_seconds, size_t num_memories);
void zig_engram_spread_activation(const uint32_t *adjacency, const float *weights,
                                  float *activations, size_t num_nodes, size_t num_edges,
                                  uint32_t iterations);

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

static int rounds = 9;

static double median(double *times, int n) {
    qsort(times, (size_t)n, sizeof(double), cmp);
    return times[n / 2];
}

static int similarity(void) {
    static const size_t cases[][2] = {{768, 1000},  {768, 10000},  {768, 100000},
                                      {384, 1000},  {384, 10000},  {384, 100000},
                                      {1536, 1000}, {1536, 10000}, {1536, 100000}};
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

/* Reads every strength and age and writes every strength: the least a decay kernel must move.
 * Ages are below 2^63, so the OR changes nothing, but the compiler cannot know that. */
static void floor_stream(float *strengths, const uint64_t *ages, size_t n) {
    uint32_t *bits = (uint32_t *)strengths;
    for (size_t i = 0; i < n; i++) bits[i] |= (uint32_t)(ages[i] >> 63);
}

typedef void (*decay_kernel)(float *, const uint64_t *, size_t);

static int decay(void) {
    static const size_t sizes[] = {10000, 10000000};
    printf("\n%-16s %12s %12s %12s %10s %12s\n", "decay n", "engram", "zig", "floor",
           "zig/engram", "engram/floor");
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        size_t n = sizes[c];
        float *start = malloc(n * sizeof(float)), *s = malloc(n * sizeof(float));
        uint64_t *ages = malloc(n * sizeof(uint64_t));
        if (!start || !s || !ages) return 1;
        fill(start, n, 5);
        uint64_t seed = 3;
        for (size_t i = 0; i < n; i++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            start[i] = 0.5f + 0.5f * fabsf(start[i]);
            /* Ages below 2^16 s (18 h): 100 calls in place keep every strength a normal f32, so
             * no call meets subnormal arithmetic; the kernels' work does not depend on the age. */
            ages[i] = seed >> 48;
        }
        /* Bit for bit against the engine's reference, first call on fresh strengths. */
        for (size_t i = 0; i < n; i++) s[i] = start[i];
        engram_apply_decay(s, ages, n);
        for (size_t i = 0; i < n; i++) {
            float want = start[i] * (float)exp(-(double)ages[i] / 86400.0);
            if (ages[i] == 0) want = start[i];
            if (memcmp(&s[i], &want, sizeof want) != 0) {
                fprintf(stderr, "engram_apply_decay differs from the reference at %zu: %a, %a\n",
                        i, s[i], want);
                return 1;
            }
        }
        decay_kernel k[3] = {engram_apply_decay, zig_engram_apply_decay, floor_stream};
        /* Calls per round: about 25 ms, at most 100 (see the ages above). */
        double t0 = now();
        engram_apply_decay(s, ages, n);
        long iters = (long)fmin(100.0, fmax(1.0, 0.025 / fmax(now() - t0, 1e-7)));
        double times[3][99];
        for (int r = 0; r < rounds; r++) {
            for (int j = 0; j < 3; j++) {
                int m = (j + r) % 3;
                memcpy(s, start, n * sizeof(float));
                t0 = now();
                for (long i = 0; i < iters; i++) k[m](s, ages, n);
                times[m][r] = (now() - t0) / (double)iters;
            }
        }
        double med[3];
        for (int m = 0; m < 3; m++) med[m] = median(times[m], rounds);
        printf("%-16zu %9.2f ns %9.2f ns %9.2f ns %10.2f %12.2f   (per element)\n", n,
               med[0] / (double)n * 1e9, med[1] / (double)n * 1e9, med[2] / (double)n * 1e9,
               med[1] / med[0], med[0] / med[2]);
        free(start);
        free(s);
        free(ages);
    }
    return 0;
}

static int many(void) {
    enum { Q = 16, DIM = 768 };
    static const size_t sizes[] = {1000, 10000};
    printf("\n%-16s %12s\n", "many 16 x d x n", "engram");
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        size_t n = sizes[c];
        float *q = malloc(Q * DIM * sizeof *q), *cand = malloc(DIM * n * sizeof *cand);
        float *s = malloc(Q * n * sizeof *s);
        if (!q || !cand || !s) return 1;
        fill(q, Q * DIM, 7);
        fill(cand, DIM * n, 11);
        if (engram_cosine_similarity_many(q, Q, cand, n, DIM, s) != ENGRAM_OK) return 1;
        double t0 = now();
        engram_cosine_similarity_many(q, Q, cand, n, DIM, s);
        long iters = (long)fmax(1.0, 0.025 / fmax(now() - t0, 1e-7));
        double times[99];
        for (int r = 0; r < rounds; r++) {
            t0 = now();
            for (long i = 0; i < iters; i++) engram_cosine_similarity_many(q, Q, cand, n, DIM, s);
            times[r] = (now() - t0) / (double)iters;
        }
        char name[32];
        snprintf(name, sizeof name, "16 x %d x %zu", (int)DIM, n);
        printf("%-16s %9.1f us\n", name, median(times, rounds) * 1e6);
        free(q);
        free(cand);
        free(s);
    }
    return 0;
}

/* Tiny calls: what a call costs before any work. Each case runs CALLS calls per round. */
enum { CALLS = 200000 };
static float q10[768], cand10[10 * 768], scores10[10], strength1[1];
static uint64_t age1[1] = {1};
static uint32_t adj4[8] = {1, 2, 3, 0, 2, 3, 0, 1};
static size_t offsets4[5] = {0, 2, 4, 6, 8};
static float w4[8] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f}, act4[4];
static size_t idx3[3], count1[1];
static float top3[3];

static void ours_decay0(void) { engram_apply_decay(strength1, age1, 0); }
static void zig_decay0(void) { zig_engram_apply_decay(strength1, age1, 0); }
static void ours_decay1(void) { engram_apply_decay(strength1, age1, 1); }
static void zig_decay1(void) { zig_engram_apply_decay(strength1, age1, 1); }
static void ours_decay_tau1(void) { engram_apply_decay_tau(strength1, age1, 1, 86400.0); }
static void ours_cos10(void) { engram_vector_similarity(q10, cand10, scores10, 768, 10); }
static void zig_cos10(void) { zig_engram_vector_similarity(q10, cand10, scores10, 768, 10); }
/* One pair, as Engram's `single_similarity` calls it (query and candidate from cand10). */
static void ours_pair384(void) { engram_vector_similarity(cand10, cand10 + 1536, scores10, 384, 1); }
static void zig_pair384(void) { zig_engram_vector_similarity(cand10, cand10 + 1536, scores10, 384, 1); }
static void ours_pair768(void) { engram_vector_similarity(cand10, cand10 + 1536, scores10, 768, 1); }
static void zig_pair768(void) { zig_engram_vector_similarity(cand10, cand10 + 1536, scores10, 768, 1); }
static void ours_pair1536(void) { engram_vector_similarity(cand10, cand10 + 1536, scores10, 1536, 1); }
static void zig_pair1536(void) {
    zig_engram_vector_similarity(cand10, cand10 + 1536, scores10, 1536, 1);
}
static void ours_many10(void) {
    engram_cosine_similarity_many(q10, 1, cand10, 10, 768, scores10);
}
static void ours_topk10(void) {
    engram_top_k_similarity(q10, cand10, 768, 10, 3, idx3, top3, count1);
}
static void ours_spread4(void) { engram_spread_activation(adj4, w4, act4, 4, 8, 1); }
static void zig_spread4(void) { zig_engram_spread_activation(adj4, w4, act4, 4, 8, 1); }
static void ours_csr4(void) { engram_spread_activation_csr(offsets4, adj4, w4, act4, 4, 8, 1); }

static int overhead(void) {
    static const struct {
        const char *name;
        void (*k[2])(void);
    } cases[] = {
        {"decay, 0 elements", {ours_decay0, zig_decay0}},
        {"decay, 1 element", {ours_decay1, zig_decay1}},
        {"decay_tau, 1", {ours_decay_tau1, NULL}},
        {"cosine 768 x 10", {ours_cos10, zig_cos10}},
        {"cosine 384 x 1", {ours_pair384, zig_pair384}},
        {"cosine 768 x 1", {ours_pair768, zig_pair768}},
        {"cosine 1536 x 1", {ours_pair1536, zig_pair1536}},
        {"many 1 x 10", {ours_many10, NULL}},
        {"top-3 of 10", {ours_topk10, NULL}},
        {"spread 4 nodes", {ours_spread4, zig_spread4}},
        {"spread csr 4", {ours_csr4, NULL}},
    };
    fill(q10, 768, 7);
    fill(cand10, 10 * 768, 11);
    printf("\n%-20s %12s %12s %10s\n", "call overhead", "engram", "zig", "zig/engram");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double times[2][99], med[2] = {0, 0};
        int kinds = cases[c].k[1] ? 2 : 1;
        for (int r = 0; r < rounds; r++) {
            for (int j = 0; j < kinds; j++) {
                int m = (j + r) % kinds;
                strength1[0] = 1.0f;
                for (int i = 0; i < 4; i++) act4[i] = 1.0f;
                double t0 = now();
                for (long i = 0; i < CALLS; i++) cases[c].k[m]();
                times[m][r] = (now() - t0) / CALLS;
            }
        }
        for (int m = 0; m < kinds; m++) med[m] = median(times[m], rounds);
        if (kinds == 2)
            printf("%-20s %9.1f ns %9.1f ns %10.2f\n", cases[c].name, med[0] * 1e9, med[1] * 1e9,
                   med[1] / med[0]);
        else
            printf("%-20s %9.1f ns %12s\n", cases[c].name, med[0] * 1e9, "-");
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *rounds_env = getenv("ENGRAM_BENCH_ROUNDS");
    if (rounds_env) rounds = atoi(rounds_env);
    if (rounds < 1 || rounds > 99) rounds = 9;
    int all = argc < 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "similarity") && strcmp(argv[i], "many") &&
            strcmp(argv[i], "decay") && strcmp(argv[i], "overhead")) {
            fprintf(stderr, "usage: vs_zig [similarity] [many] [decay] [overhead]\n");
            return 2;
        }
    }
    for (int i = all ? 0 : 1; i < (all ? 1 : argc); i++) {
        const char *only = all ? NULL : argv[i];
        if ((!only || !strcmp(only, "similarity")) && similarity()) return 1;
        if (only && !strcmp(only, "many") && many()) return 1;
        if ((!only || !strcmp(only, "decay")) && decay()) return 1;
        if ((!only || !strcmp(only, "overhead")) && overhead()) return 1;
    }
    return 0;
}
