/*
 * The C ABI test: every export of include/engram_kernels.h with the spec's values, bad inputs
 * (nulls, zero lengths, out-of-range targets, NaN/Inf), 8 threads at once, the overflow
 * policies (fallback, error_return, and panic in a forked child), and the arena
 * configure/stats/reset/deinit functions. Prints "N passed, 0 failed"; exits 1 on any failure.
 *
 * Build and run: scripts/c-abi-test.sh
 */
#define _POSIX_C_SOURCE 200809L
#include "engram_kernels.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int passed;
static atomic_int failed;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (cond) {                                                                    \
            atomic_fetch_add(&passed, 1);                                              \
        } else {                                                                       \
            atomic_fetch_add(&failed, 1);                                              \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
        }                                                                              \
    } while (0)

static int same_bits(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) && isnan(b[i])) continue;
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) return 0;
    }
    return 1;
}

/* The spec's legacy iteration written out in C (same operation order, so bit-exact). */
static void legacy_ref(const uint32_t *adj, const float *w, float *act, size_t n, size_t e,
                       uint32_t iters) {
    if (n == 0 || e == 0) return;
    size_t per = (e + n - 1) / n;
    float *cur = malloc(n * sizeof(float));
    for (uint32_t it = 0; it < iters; it++) {
        memcpy(cur, act, n * sizeof(float));
        for (size_t k = 0; k < e; k++)
            if (adj[k] < n) act[adj[k]] = act[adj[k]] + cur[k / per] * w[k];
        float m = 0.0f;
        for (size_t i = 0; i < n; i++)
            if (act[i] > m) m = act[i];
        if (m > 1.0f)
            for (size_t i = 0; i < n; i++) act[i] = act[i] / m;
    }
    free(cur);
}

/* ---------------- similarity ---------------- */

static void test_similarity(void) {
    float q[3] = {1, 2, 3}, c[6] = {1, 2, 3, 4, 5, 6}, s[2] = {9, 9};
    engram_vector_similarity(q, c, s, 3, 2);
    CHECK(s[0] == 1.0f);
    CHECK(fabsf(s[1] - 0.974631786f) < 1e-6f);

    float q8[8], c8[32], s4[4];
    for (int i = 0; i < 8; i++) {
        q8[i] = (float)(i + 1);
        c8[i] = (float)(i + 1);
        c8[8 + i] = (float)(8 - i);
        c8[16 + i] = 0.0f;
        c8[24 + i] = -(float)(i + 1);
    }
    engram_vector_similarity(q8, c8, s4, 8, 4);
    CHECK(s4[0] == 1.0f);
    CHECK(fabsf(s4[1] - 0.588235319f) < 1e-6f);
    CHECK(s4[2] == 0.0f && s4[3] == -1.0f);

    /* 768 tens against 768 tenths: the seed gave 1.00000024; scores are clamped to [-1, 1] */
    static float tens[768], tenths[768];
    for (int i = 0; i < 768; i++) {
        tens[i] = 10.0f;
        tenths[i] = 0.1f;
    }
    float one = 0;
    engram_vector_similarity(tens, tenths, &one, 768, 1);
    CHECK(one <= 1.0f && one > 0.99999f);

    /* NaN or Inf inside a vector gives 0 */
    float bad[6] = {1, NAN, 3, INFINITY, 5, 6}, sb[2] = {9, 9};
    engram_vector_similarity(q, bad, sb, 3, 2);
    CHECK(sb[0] == 0.0f && sb[1] == 0.0f);
    float nanq[3] = {NAN, 1, 1};
    engram_vector_similarity(nanq, c, sb, 3, 2);
    CHECK(sb[0] == 0.0f && sb[1] == 0.0f);

    /* nulls: zero lengths are fine, a null with a length does nothing */
    engram_vector_similarity(NULL, NULL, NULL, 0, 0);
    engram_vector_similarity(NULL, NULL, NULL, 3, 0);
    float keep[2] = {7, 7};
    engram_vector_similarity(NULL, c, keep, 3, 2);
    engram_vector_similarity(q, NULL, keep, 3, 2);
    CHECK(keep[0] == 7.0f && keep[1] == 7.0f);
    engram_vector_similarity(q, c, NULL, 3, 2); /* no crash */
    /* query_len 0: every score is 0 */
    engram_vector_similarity(NULL, NULL, keep, 0, 2);
    CHECK(keep[0] == 0.0f && keep[1] == 0.0f);
    /* query_len * num_candidates overflows: nothing is done */
    keep[0] = 7;
    engram_vector_similarity(q, c, keep, SIZE_MAX / 2, 3);
    CHECK(keep[0] == 7.0f);
}

/* ---------------- legacy spread ---------------- */

static void test_spread_legacy(void) {
    uint32_t adj[2] = {1, 2};
    float w[2] = {0.5f, 0.3f};
    float a1[3] = {1, 0, 0};
    engram_spread_activation(adj, w, a1, 3, 2, 1);
    CHECK(a1[0] == 1.0f && a1[1] == 0.5f && a1[2] == 0.0f);

    float a5[3] = {1, 0, 0};
    engram_spread_activation(adj, w, a5, 3, 2, 5);
    CHECK(a5[0] == 0.4f && a5[1] == 1.0f && a5[2] == 0.6f);

    uint32_t chain[4] = {1, 2, 3, 4};
    float cw[4] = {0.9f, 0.9f, 0.9f, 0.9f};
    float ca[5] = {1, 0, 0, 0, 0};
    engram_spread_activation(chain, cw, ca, 5, 4, 5);
    float want[5] = {0.123456791f, 0.555555582f, 1.0f, 0.899999976f, 0.404999942f};
    CHECK(same_bits(ca, want, 5));

    /* out-of-range targets are skipped */
    uint32_t oob[4] = {7, 1, UINT32_MAX, 0};
    float ow[4] = {9, 0.5f, 9, 0.25f}, oa[2] = {1, 0};
    engram_spread_activation(oob, ow, oa, 2, 4, 1);
    CHECK(oa[0] == 1.0f && oa[1] == 0.5f);

    /* NaN and Inf follow the iteration: inf/inf is NaN, finite/inf is 0 */
    float inf_w[2] = {INFINITY, 0.0f}, ia[3] = {1, 0, 0};
    engram_spread_activation(adj, inf_w, ia, 3, 2, 1);
    CHECK(ia[0] == 0.0f && isnan(ia[1]) && ia[2] == 0.0f);
    float nan_w[2] = {NAN, 0.5f}, na[3] = {1, 0, 0};
    float nref[3] = {1, 0, 0};
    engram_spread_activation(adj, nan_w, na, 3, 2, 3);
    legacy_ref(adj, nan_w, nref, 3, 2, 3);
    CHECK(same_bits(na, nref, 3));

    /* nothing to do: zero nodes, zero edges, zero iterations, nulls with zero lengths */
    float z[3] = {5, 6, 7};
    engram_spread_activation(adj, w, z, 3, 2, 0);
    engram_spread_activation(NULL, NULL, z, 3, 0, 4);
    engram_spread_activation(adj, w, NULL, 0, 2, 4);
    engram_spread_activation(NULL, NULL, NULL, 0, 0, 4);
    CHECK(z[0] == 5.0f && z[1] == 6.0f && z[2] == 7.0f);
    /* null with a length does nothing */
    engram_spread_activation(NULL, w, z, 3, 2, 1);
    engram_spread_activation(adj, NULL, z, 3, 2, 1);
    engram_spread_activation(adj, w, NULL, 3, 2, 1);
    CHECK(z[0] == 5.0f && z[1] == 6.0f && z[2] == 7.0f);

    /* a random graph against the C reference */
    enum { N = 200, E = 900 };
    static uint32_t radj[E];
    static float rw[E], ra[N], rref[N];
    unsigned s = 12345;
    for (int i = 0; i < E; i++) {
        s = s * 1103515245u + 12345u;
        radj[i] = (s >> 8) % (N + 20); /* some out of range */
        rw[i] = (float)((s >> 4) % 1000) / 700.0f - 0.3f;
    }
    for (int i = 0; i < N; i++) ra[i] = rref[i] = (float)(i % 9) * 0.2f;
    engram_spread_activation(radj, rw, ra, N, E, 4);
    legacy_ref(radj, rw, rref, N, E, 4);
    CHECK(same_bits(ra, rref, N));
}

/* ---------------- CSR and frontier spread ---------------- */

static void test_spread_csr(void) {
    size_t off[4] = {0, 2, 2, 2};
    uint32_t t[2] = {1, 2};
    float w[2] = {0.5f, 0.3f}, a[3] = {1, 0, 0};
    CHECK(engram_spread_activation_csr(off, t, w, a, 3, 2, 1) == ENGRAM_OK);
    CHECK(a[0] == 1.0f && a[1] == 0.5f && a[2] == 0.3f);

    size_t coff[6] = {0, 1, 2, 3, 4, 4};
    uint32_t ct[4] = {1, 2, 3, 4};
    float cw[4] = {0.9f, 0.9f, 0.9f, 0.9f}, ca[5] = {1, 0, 0, 0, 0};
    CHECK(engram_spread_activation_csr(coff, ct, cw, ca, 5, 4, 5) == ENGRAM_OK);
    float want[5] = {0.123456791f, 0.555555582f, 1.0f, 0.899999976f, 0.404999942f};
    CHECK(same_bits(ca, want, 5));

    /* invalid graphs leave the activations untouched */
    float keep[3] = {1, 2, 3};
    size_t bad_start[4] = {1, 2, 2, 2}, bad_mono[4] = {0, 2, 1, 2}, bad_end[4] = {0, 1, 1, 1};
    uint32_t bad_t[2] = {1, 3};
    CHECK(engram_spread_activation_csr(bad_start, t, w, keep, 3, 2, 1) == ENGRAM_ERR_INVALID);
    CHECK(engram_spread_activation_csr(bad_mono, t, w, keep, 3, 2, 1) == ENGRAM_ERR_INVALID);
    CHECK(engram_spread_activation_csr(bad_end, t, w, keep, 3, 2, 1) == ENGRAM_ERR_INVALID);
    CHECK(engram_spread_activation_csr(off, bad_t, w, keep, 3, 2, 1) == ENGRAM_ERR_INVALID);
    CHECK(engram_spread_activation_csr(off, t, w, keep, SIZE_MAX, 2, 1) == ENGRAM_ERR_INVALID);
    CHECK(engram_spread_activation_csr(NULL, t, w, keep, 3, 2, 1) == ENGRAM_ERR_NULL);
    CHECK(engram_spread_activation_csr(off, NULL, w, keep, 3, 2, 1) == ENGRAM_ERR_NULL);
    CHECK(engram_spread_activation_csr(off, t, NULL, keep, 3, 2, 1) == ENGRAM_ERR_NULL);
    CHECK(engram_spread_activation_csr(off, t, w, NULL, 3, 2, 1) == ENGRAM_ERR_NULL);
    CHECK(keep[0] == 1.0f && keep[1] == 2.0f && keep[2] == 3.0f);
    CHECK(engram_spread_activation_csr(NULL, NULL, NULL, NULL, 0, 0, 3) == ENGRAM_OK);
    size_t lone[3] = {0, 0, 0};
    CHECK(engram_spread_activation_csr(lone, NULL, NULL, keep, 2, 0, 3) == ENGRAM_OK);
    /* no edges, but each iteration still normalises: max 2 > 1 */
    CHECK(keep[0] == 0.5f && keep[1] == 1.0f && keep[2] == 3.0f);
}

static void test_spread_frontier(void) {
    /* 0 -> 1 -> 2 -> 3, every weight 1 */
    size_t off[5] = {0, 1, 2, 3, 3};
    uint32_t t[3] = {1, 2, 3}, seed = 0;
    float w[3] = {1, 1, 1}, amount = 1.0f, a[4] = {0, 0, 0, 0};
    CHECK(engram_spread_frontier(off, t, w, 4, 3, &seed, &amount, 1, 0.5f, 0.2f, 10, a) ==
          ENGRAM_OK);
    CHECK(a[0] == 1.0f && a[1] == 0.5f && a[2] == 0.25f && a[3] == 0.125f);

    /* max_hops 1 stops after one hop */
    float b[4] = {0, 0, 0, 0};
    CHECK(engram_spread_frontier(off, t, w, 4, 3, &seed, &amount, 1, 0.5f, 0.0f, 1, b) ==
          ENGRAM_OK);
    CHECK(b[0] == 1.0f && b[1] == 0.5f && b[2] == 0.0f && b[3] == 0.0f);

    /* a cycle: each node spreads once */
    size_t coff[3] = {0, 1, 2};
    uint32_t ct[2] = {1, 0};
    float cw[2] = {1, 1}, c[2] = {0, 0};
    CHECK(engram_spread_frontier(coff, ct, cw, 2, 2, &seed, &amount, 1, 1.0f, 0.0f, 100, c) ==
          ENGRAM_OK);
    CHECK(c[0] == 2.0f && c[1] == 1.0f);

    /* bad inputs leave the activations untouched */
    float keep[4] = {1, 2, 3, 4};
    uint32_t far = 4;
    float nan_amount = NAN;
    CHECK(engram_spread_frontier(off, t, w, 4, 3, &far, &amount, 1, 0.5f, 0.0f, 3, keep) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_spread_frontier(off, t, w, 4, 3, &seed, &nan_amount, 1, 0.5f, 0.0f, 3, keep) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_spread_frontier(off, t, w, 4, 3, &seed, &amount, 1, 0.0f, 0.0f, 3, keep) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_spread_frontier(off, t, w, 4, 3, &seed, &amount, 1, 1.5f, 0.0f, 3, keep) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_spread_frontier(off, t, w, 4, 3, &seed, &amount, 1, 0.5f, -1.0f, 3, keep) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_spread_frontier(off, t, w, 4, 3, &seed, &amount, 1, 0.5f, NAN, 3, keep) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_spread_frontier(off, t, w, 4, 3, NULL, &amount, 1, 0.5f, 0.0f, 3, keep) ==
          ENGRAM_ERR_NULL);
    CHECK(engram_spread_frontier(off, t, w, 4, 3, &seed, &amount, 1, 0.5f, 0.0f, 3, NULL) ==
          ENGRAM_ERR_NULL);
    CHECK(keep[0] == 1.0f && keep[1] == 2.0f && keep[2] == 3.0f && keep[3] == 4.0f);
    /* no seeds: nothing happens */
    CHECK(engram_spread_frontier(off, t, w, 4, 3, NULL, NULL, 0, 0.5f, 0.0f, 3, keep) ==
          ENGRAM_OK);
    CHECK(keep[0] == 1.0f && keep[3] == 4.0f);
}

/* ---------------- decay ---------------- */

static void test_decay(void) {
    uint64_t ages[5] = {0, 3600, 86400, 172800, 604800};
    double want[5] = {1.0, 0.959189475, 0.36787945, 0.135335281, 0.000911881973};
    float s[5] = {1, 1, 1, 1, 1};
    engram_apply_decay(s, ages, 5);
    for (int i = 0; i < 5; i++) {
        double exact = exp(-(double)ages[i] / 86400.0);
        double bound = 2.4e-7 * (1.0 + (double)ages[i] / 86400.0);
        CHECK(fabs((double)s[i] - exact) <= bound * exact);
        CHECK(fabs((double)s[i] - want[i]) <= 1e-6 * want[i] + 1e-9);
    }
    CHECK(s[0] == 1.0f);

    float odd[5] = {NAN, INFINITY, -2.0f, 3.0f, 0.7f};
    uint64_t oa[5] = {100, 100, 86400, 0, UINT64_MAX};
    engram_apply_decay(odd, oa, 5);
    CHECK(isnan(odd[0]) && isinf(odd[1]));
    CHECK(fabsf(odd[2] + 2.0f * 0.36787945f) < 1e-6f);
    CHECK(odd[3] == 3.0f && odd[4] == 0.0f);

    /* explicit tau */
    float st[2] = {1, 1};
    uint64_t at[2] = {3600, 0};
    CHECK(engram_apply_decay_tau(st, at, 2, 3600.0) == ENGRAM_OK);
    CHECK(fabsf(st[0] - 0.36787945f) < 1e-7f && st[1] == 1.0f);
    CHECK(engram_apply_decay_tau(st, at, 2, 0.0) == ENGRAM_ERR_INVALID);
    CHECK(engram_apply_decay_tau(st, at, 2, -5.0) == ENGRAM_ERR_INVALID);
    CHECK(engram_apply_decay_tau(st, at, 2, NAN) == ENGRAM_ERR_INVALID);
    CHECK(engram_apply_decay_tau(st, at, 2, INFINITY) == ENGRAM_ERR_INVALID);
    CHECK(engram_apply_decay_tau(NULL, at, 2, 10.0) == ENGRAM_ERR_NULL);
    CHECK(engram_apply_decay_tau(st, NULL, 2, 10.0) == ENGRAM_ERR_NULL);
    CHECK(engram_apply_decay_tau(NULL, NULL, 0, 10.0) == ENGRAM_OK);
    CHECK(fabsf(st[0] - 0.36787945f) < 1e-7f && st[1] == 1.0f);

    /* nulls */
    float keep[1] = {0.5f};
    engram_apply_decay(NULL, NULL, 0);
    engram_apply_decay(keep, NULL, 1);
    engram_apply_decay(NULL, ages, 1);
    CHECK(keep[0] == 0.5f);
}

/* The engine's reference rounding: the factor in double, rounded once to float, one float
 * multiply. Its regression test compares with an absolute tolerance, so large strengths must
 * match bit for bit. */
static void test_decay_engine_rounding(void) {
    const float strengths[5] = {FLT_MAX, 1e10f, FLT_MIN, 1.0f, -3.5e20f};
    const uint64_t ages[7] = {1000, 3600, 86400, 100000, 250000, 604800, 1000000};
    int mismatches = 0;
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j < 7; j++) {
            float s = strengths[i], t = strengths[i];
            engram_apply_decay(&s, &ages[j], 1);
            CHECK(engram_apply_decay_tau(&t, &ages[j], 1, 3600.0) == ENGRAM_OK);
            float f = (float)exp(-(double)ages[j] / 86400.0);
            float ft = (float)exp(-(double)ages[j] / 3600.0);
            float want = strengths[i] * f, want_t = strengths[i] * ft;
            mismatches += memcmp(&s, &want, sizeof s) != 0;
            mismatches += memcmp(&t, &want_t, sizeof t) != 0;
        }
    }
    CHECK(mismatches == 0);
    float big = FLT_MAX;
    uint64_t age = 100000;
    engram_apply_decay(&big, &age, 1);
    CHECK(big == 1.0695073e38f && big != 1.0695074e38f);
}

/* A length whose byte size overflows, with valid pointers, is ENGRAM_ERR_INVALID (not NULL), and
 * nothing is read or written. */
static void test_size_overflow(void) {
    float st[2] = {1, 1}, keep[3] = {1, 2, 3}, sc[2] = {9, 9};
    uint64_t at[2] = {100, 100};
    size_t huge = SIZE_MAX / 4; /* times 4 or 8 bytes: past PTRDIFF_MAX */
    CHECK(engram_apply_decay_tau(st, at, huge, 10.0) == ENGRAM_ERR_INVALID);
    CHECK(engram_apply_decay_tau(st, at, SIZE_MAX, 10.0) == ENGRAM_ERR_INVALID);
    size_t off[4] = {0, 2, 2, 2};
    uint32_t t[2] = {1, 2};
    float w[2] = {0.5f, 0.3f};
    CHECK(engram_spread_activation_csr(off, t, w, keep, 3, huge, 1) == ENGRAM_ERR_INVALID);
    CHECK(engram_spread_activation_csr(off, t, w, keep, huge, 2, 1) == ENGRAM_ERR_INVALID);
    uint32_t seed = 0;
    float amount = 1.0f;
    CHECK(engram_spread_frontier(off, t, w, 3, 2, &seed, &amount, huge, 0.5f, 0.0f, 3, keep) ==
          ENGRAM_ERR_INVALID);
    float q[2] = {1, 0}, c[4] = {1, 0, 0, 1};
    size_t idx[2] = {7, 7}, n = 7;
    CHECK(engram_top_k_similarity(q, c, 2, 2, SIZE_MAX / 8, idx, sc, &n) == ENGRAM_ERR_INVALID);
    CHECK(engram_top_k_similarity(q, c, huge, 2, 1, idx, sc, &n) == ENGRAM_ERR_INVALID);
    CHECK(idx[0] == 7 && n == 7 && sc[0] == 9.0f);
    /* the void exports do nothing */
    engram_apply_decay(st, at, huge);
    engram_vector_similarity(q, c, sc, 1, huge);
    engram_spread_activation(t, w, keep, huge, 2, 1);
    CHECK(st[0] == 1.0f && st[1] == 1.0f && sc[0] == 9.0f);
    CHECK(keep[0] == 1.0f && keep[1] == 2.0f && keep[2] == 3.0f);
}

/* ---------------- top-k ---------------- */

static void test_top_k(void) {
    float q[2] = {1, 0};
    float c[8] = {0, 1, 1, 1, 1, 0, 2, 2}; /* 90, 45, 0, 45 degrees */
    size_t idx[3] = {9, 9, 9}, n = 99;
    float sc[3] = {9, 9, 9};
    CHECK(engram_top_k_similarity(q, c, 2, 4, 3, idx, sc, &n) == ENGRAM_OK);
    CHECK(n == 3 && idx[0] == 2 && idx[1] == 1 && idx[2] == 3); /* ties: lower index first */
    CHECK(sc[0] == 1.0f && fabsf(sc[1] - 0.70710678f) < 1e-6f && sc[1] == sc[2]);

    /* k larger than the candidates */
    size_t big_idx[8];
    float big_sc[8];
    CHECK(engram_top_k_similarity(q, c, 2, 4, 8, big_idx, big_sc, &n) == ENGRAM_OK);
    CHECK(n == 4 && big_idx[3] == 0 && big_sc[3] == 0.0f);

    /* k == 0 and no candidates */
    CHECK(engram_top_k_similarity(q, c, 2, 4, 0, NULL, NULL, &n) == ENGRAM_OK && n == 0);
    CHECK(engram_top_k_similarity(q, NULL, 2, 0, 3, idx, sc, &n) == ENGRAM_OK && n == 0);

    /* NaN candidates have no score: skipped, not ranked as 0 */
    float nc[4] = {NAN, 1, 0.5f, 0};
    CHECK(engram_top_k_similarity(q, nc, 2, 2, 2, idx, sc, &n) == ENGRAM_OK);
    CHECK(n == 1 && idx[0] == 1 && sc[0] == 1.0f);

    /* bad inputs write nothing */
    n = 77;
    idx[0] = 55;
    CHECK(engram_top_k_similarity(q, c, 2, 4, 3, idx, sc, NULL) == ENGRAM_ERR_NULL);
    CHECK(engram_top_k_similarity(NULL, c, 2, 4, 3, idx, sc, &n) == ENGRAM_ERR_NULL);
    CHECK(engram_top_k_similarity(q, c, 2, 4, 3, NULL, sc, &n) == ENGRAM_ERR_NULL);
    CHECK(engram_top_k_similarity(q, c, 0, 4, 3, idx, sc, &n) == ENGRAM_ERR_INVALID);
    CHECK(engram_top_k_similarity(q, c, SIZE_MAX, 4, 3, idx, sc, &n) == ENGRAM_ERR_INVALID);
    CHECK(n == 77 && idx[0] == 55);
}

/* ---------------- arena configuration, metrics and overflow policies ---------------- */

enum { BIG = 300000 };
static uint32_t big_adj[BIG];
static float big_w[BIG], big_act[BIG], big_ref[BIG];
static size_t big_off[BIG + 1];

static void big_reset(void) {
    for (size_t i = 0; i < BIG; i++) big_act[i] = big_ref[i] = (float)(i % 10) * 0.1f;
}

static void test_arena(void) {
    engram_reset_arena_metrics();
    size_t resets = 99, overflows = 99, peak = 99;
    engram_arena_stats(&resets, &overflows, &peak);
    CHECK(resets == 0 && overflows == 0 && peak == 0);
    engram_arena_stats(NULL, NULL, NULL); /* nulls are skipped */

    /* two 3-node spreads: 2 resets and a peak of at least 12 bytes */
    uint32_t adj[2] = {1, 2};
    float w[2] = {0.5f, 0.3f}, a[3] = {1, 0, 0};
    engram_spread_activation(adj, w, a, 3, 2, 1);
    engram_spread_activation(adj, w, a, 3, 2, 1);
    engram_arena_stats(&resets, &overflows, &peak);
    CHECK(resets == 2 && overflows == 0 && peak >= 12);

    for (size_t i = 0; i < BIG; i++) {
        big_adj[i] = (uint32_t)((i + 1) % BIG);
        big_w[i] = 0.75f;
        big_off[i] = i;
    }
    big_off[BIG] = BIG;

    /* fallback (the default): 300,000 nodes spill past the 1 MiB pool and are still right */
    engram_configure_arena(1, 2);
    big_reset();
    engram_spread_activation(big_adj, big_w, big_act, BIG, BIG, 3);
    legacy_ref(big_adj, big_w, big_ref, BIG, BIG, 3);
    CHECK(same_bits(big_act, big_ref, BIG));
    engram_arena_stats(&resets, &overflows, &peak);
    CHECK(resets == 3 && overflows >= 1);

    /* error_return: the kernel leaves its outputs untouched and the overflow is counted */
    engram_configure_arena(1, 1);
    size_t before = overflows;
    big_reset();
    engram_spread_activation(big_adj, big_w, big_act, BIG, BIG, 3);
    CHECK(same_bits(big_act, big_ref, BIG));
    CHECK(engram_spread_activation_csr(big_off, big_adj, big_w, big_act, BIG, BIG, 3) ==
          ENGRAM_ERR_SCRATCH);
    CHECK(same_bits(big_act, big_ref, BIG));
    engram_arena_stats(&resets, &overflows, &peak);
    CHECK(overflows >= before + 2);
    /* small calls still work under error_return */
    float s[3] = {1, 0, 0};
    engram_spread_activation(adj, w, s, 3, 2, 1);
    CHECK(s[1] == 0.5f);

    /* an unknown strategy means error_return */
    engram_configure_arena(1, 7);
    engram_spread_activation(big_adj, big_w, big_act, BIG, BIG, 3);
    CHECK(same_bits(big_act, big_ref, BIG));

    /* an invalid pool size is ignored (reported once on stderr), the strategy still applies */
    engram_configure_arena(0, 2);
    engram_configure_arena(5000, 2);
    engram_spread_activation(big_adj, big_w, big_act, BIG, BIG, 3);
    legacy_ref(big_adj, big_w, big_ref, BIG, BIG, 3);
    CHECK(same_bits(big_act, big_ref, BIG));

    /* a bigger pool, after re-creating this thread's arena, needs no overflow */
    engram_configure_arena(4, 1);
    engram_deinit_thread_arena();
    engram_deinit_thread_arena(); /* idempotent */
    big_reset();
    engram_arena_stats(NULL, &before, NULL);
    CHECK(engram_spread_activation_csr(big_off, big_adj, big_w, big_act, BIG, BIG, 3) == ENGRAM_OK);
    legacy_ref(big_adj, big_w, big_ref, BIG, BIG, 3);
    CHECK(same_bits(big_act, big_ref, BIG));
    engram_arena_stats(NULL, &overflows, NULL);
    CHECK(overflows == before);

    /* each engram_reset_arenas counts one reset, like the Zig implementation */
    engram_reset_arena_metrics();
    for (size_t want = 1; want <= 3; want++) {
        engram_reset_arenas();
        engram_arena_stats(&resets, NULL, NULL);
        CHECK(resets == want);
    }
    engram_deinit_thread_arena();
    engram_reset_arenas(); /* no arena: nothing to reset, still counted */
    engram_arena_stats(&resets, NULL, NULL);
    CHECK(resets == 4);
    engram_reset_arena_metrics();
    engram_arena_stats(&resets, &overflows, &peak);
    CHECK(resets == 0 && overflows == 0 && peak == 0);

    engram_configure_arena(1, 2); /* back to the defaults */
    engram_deinit_thread_arena();
}

/* panic: the process prints the reason and aborts (never unwinds into C) */
static void test_panic_aborts(void) {
    printf("expected next on stderr: a scratch overflow panic message from a forked child\n");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        engram_configure_arena(1, 0);
        engram_deinit_thread_arena();
        engram_spread_activation(big_adj, big_w, big_act, BIG, BIG, 1);
        _exit(0); /* not reached if the export aborts */
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);

    /* the parent's policy is untouched: the same call works here */
    big_reset();
    engram_spread_activation(big_adj, big_w, big_act, BIG, BIG, 1);
    legacy_ref(big_adj, big_w, big_ref, BIG, BIG, 1);
    CHECK(same_bits(big_act, big_ref, BIG));
}

/* ---------------- 8 threads at once ---------------- */

static void *worker(void *arg) {
    int id = (int)(size_t)arg;
    float q[3] = {1, 2, 3}, c[6] = {1, 2, 3, 4, 5, 6}, s[2];
    uint32_t chain[4] = {1, 2, 3, 4};
    float cw[4] = {0.9f, 0.9f, 0.9f, 0.9f};
    float want[5] = {0.123456791f, 0.555555582f, 1.0f, 0.899999976f, 0.404999942f};
    size_t coff[6] = {0, 1, 2, 3, 4, 4};
    uint64_t ages[2] = {0, 86400};
    int bad = 0;
    for (int round = 0; round < 300; round++) {
        engram_vector_similarity(q, c, s, 3, 2);
        bad += !(s[0] == 1.0f && fabsf(s[1] - 0.974631786f) < 1e-6f);

        float a[5] = {1, 0, 0, 0, 0};
        engram_spread_activation(chain, cw, a, 5, 4, 5);
        bad += !same_bits(a, want, 5);

        float b[5] = {1, 0, 0, 0, 0};
        bad += engram_spread_activation_csr(coff, chain, cw, b, 5, 4, 5) != ENGRAM_OK;
        bad += !same_bits(b, want, 5);

        float f[5] = {0, 0, 0, 0, 0}, one = 1.0f;
        uint32_t seed = 0;
        bad += engram_spread_frontier(coff, chain, cw, 5, 4, &seed, &one, 1, 1.0f, 0.0f, 2, f) !=
               ENGRAM_OK;
        bad += !(f[0] == 1.0f && f[1] == 0.9f && f[2] == 0.9f * 0.9f && f[3] == 0.0f);

        float st[2] = {1, 1};
        engram_apply_decay(st, ages, 2);
        bad += !(st[0] == 1.0f && fabsf(st[1] - 0.36787945f) < 1e-7f);

        size_t idx[1], n = 0;
        float sc[1];
        bad += engram_top_k_similarity(q, c, 3, 2, 1, idx, sc, &n) != ENGRAM_OK;
        bad += !(n == 1 && idx[0] == 0 && sc[0] == 1.0f);

        if (round % 50 == id) engram_reset_arenas();
    }
    engram_deinit_thread_arena();
    return (void *)(size_t)bad;
}

static void test_threads(void) {
    pthread_t th[8];
    for (size_t i = 0; i < 8; i++) CHECK(pthread_create(&th[i], NULL, worker, (void *)i) == 0);
    for (int i = 0; i < 8; i++) {
        void *bad = NULL;
        CHECK(pthread_join(th[i], &bad) == 0);
        CHECK(bad == NULL);
    }
}

/* Outputs that overlap inputs (or each other) are refused before anything is read or written. */
static void test_overlap_refused(void) {
    float buf[6] = {1, 2, 3, 1, 2, 3};
    /* scores aliasing the query: nothing written */
    engram_vector_similarity(buf, buf, buf + 2, 3, 1);
    CHECK(buf[2] == 3.0f);
    float adj_as_float[2] = {0.5f, 0.5f};
    uint32_t adj[2] = {1, 0};
    engram_spread_activation(adj, adj_as_float, adj_as_float, 2, 2, 1); /* weights == activations */
    CHECK(adj_as_float[0] == 0.5f && adj_as_float[1] == 0.5f);
    uint64_t ages[2] = {0, 0};
    CHECK(engram_apply_decay_tau((float *)ages, ages, 2, 10.0) == ENGRAM_ERR_INVALID);
    CHECK(ages[0] == 0 && ages[1] == 0);
    float q[2] = {1, 0}, c[4] = {1, 0, 0, 1};
    size_t idx[2] = {9, 9}, n = 7;
    CHECK(engram_top_k_similarity(q, c, 2, 2, 2, idx, (float *)idx, &n) == ENGRAM_ERR_INVALID);
    CHECK(engram_top_k_similarity(q, c, 2, 2, 2, idx, c, &n) == ENGRAM_ERR_INVALID);
    CHECK(idx[0] == 9 && idx[1] == 9 && n == 7 && c[0] == 1.0f);
    size_t off[3] = {0, 1, 1};
    uint32_t tg[1] = {1};
    float w[1] = {0.5f};
    CHECK(engram_spread_activation_csr(off, tg, w, w, 2, 1, 1) == ENGRAM_ERR_INVALID);
    CHECK(w[0] == 0.5f);
    /* An empty graph with no seeds is a no-op in both CSR exports, whatever the pointers. */
    CHECK(engram_spread_frontier(NULL, NULL, NULL, 0, 0, NULL, NULL, 0, 0.5f, 0.0f, 3, NULL) == ENGRAM_OK);
    CHECK(engram_spread_activation_csr(NULL, NULL, NULL, NULL, 0, 0, 1) == ENGRAM_OK);
}

int main(void) {
    test_similarity();
    test_spread_legacy();
    test_spread_csr();
    test_spread_frontier();
    test_decay();
    test_decay_engine_rounding();
    test_size_overflow();
    test_top_k();
    test_overlap_refused();
    test_arena();
    test_panic_aborts();
    test_threads();
    int p = atomic_load(&passed), f = atomic_load(&failed);
    printf("%d passed, %d failed\n", p, f);
    return f == 0 ? 0 : 1;
}
