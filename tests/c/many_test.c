/*
 * C test of the many-query exports: engram_cosine_similarity_many against
 * engram_vector_similarity query by query (bit for bit), engram_top_k_similarity_many against
 * engram_top_k_similarity, NaN queries, nulls, zero sizes, overflowing sizes, overlapping
 * outputs, and 8 threads at once. Prints "N passed, 0 failed"; exits 1 on any failure.
 *
 * Build and run (from the repository root, after cargo build --release --lib):
 *   gcc -std=c11 -Wall -Wextra -Werror -O2 -I include tests/c/many_test.c \
 *       target/release/libengram_kernels.a -lpthread -ldl -lm -o target/c-many-test
 *   target/c-many-test
 */
#define _POSIX_C_SOURCE 200809L
#include "engram_kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Deterministic values in [-1, 1) (xorshift). */
static void fill(float *v, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v[i] = (float)(seed >> 40) / (float)(1u << 23) - 1.0f;
    }
}

/* Many against single, bit for bit, for nq queries of dim over n candidates. */
static int many_equals_single(size_t nq, size_t dim, size_t n, uint64_t seed) {
    float *q = malloc(nq * dim * sizeof(float));
    float *c = malloc(n * dim * sizeof(float));
    float *many = malloc(nq * n * sizeof(float));
    float *one = malloc(n * sizeof(float));
    fill(q, nq * dim, seed);
    fill(c, n * dim, seed + 1);
    int ok = engram_cosine_similarity_many(q, nq, c, n, dim, many) == ENGRAM_OK;
    for (size_t j = 0; j < nq && ok; j++) {
        engram_vector_similarity(q + j * dim, c, one, dim, n);
        ok = memcmp(one, many + j * n, n * sizeof(float)) == 0;
    }
    free(q);
    free(c);
    free(many);
    free(one);
    return ok;
}

static void test_values(void) {
    float q[4] = {1, 0, 0, 1};
    float c[6] = {1, 0, 0, -3, 2, 2};
    float s[6] = {9, 9, 9, 9, 9, 9};
    CHECK(engram_cosine_similarity_many(q, 2, c, 3, 2, s) == ENGRAM_OK);
    CHECK(s[0] == 1.0f && s[1] == 0.0f && fabsf(s[2] - 0.70710678f) < 1e-6f);
    CHECK(s[3] == 0.0f && s[4] == -1.0f && s[5] == s[2]);

    /* Shapes crossing the query blocks, tiles and SIMD tails. */
    CHECK(many_equals_single(1, 3, 5, 1));
    CHECK(many_equals_single(9, 17, 300, 2));
    CHECK(many_equals_single(16, 768, 200, 3));
    CHECK(many_equals_single(70, 5, 41, 4));
}

static void test_nan_and_bad_inputs(void) {
    /* A NaN query scores 0 everywhere and the call succeeds, like engram_vector_similarity. */
    float q[4] = {NAN, 1, 1, 0};
    float c[4] = {1, 0, 0, 1};
    float s[4] = {9, 9, 9, 9};
    CHECK(engram_cosine_similarity_many(q, 2, c, 2, 2, s) == ENGRAM_OK);
    CHECK(s[0] == 0.0f && s[1] == 0.0f && s[2] == 1.0f && s[3] == 0.0f);

    float keep[4] = {7, 7, 7, 7};
    CHECK(engram_cosine_similarity_many(NULL, 2, c, 2, 2, keep) == ENGRAM_ERR_NULL);
    CHECK(engram_cosine_similarity_many(q, 2, NULL, 2, 2, keep) == ENGRAM_ERR_NULL);
    CHECK(engram_cosine_similarity_many(q, 2, c, 2, 2, NULL) == ENGRAM_ERR_NULL);
    CHECK(engram_cosine_similarity_many(q, 2, c, 2, 0, keep) == ENGRAM_ERR_INVALID);
    CHECK(engram_cosine_similarity_many(q, SIZE_MAX, c, 2, 2, keep) == ENGRAM_ERR_INVALID);
    CHECK(engram_cosine_similarity_many(q, 2, c, SIZE_MAX / 2, 4, keep) == ENGRAM_ERR_INVALID);
    /* scores overlapping an input */
    CHECK(engram_cosine_similarity_many(c, 1, c, 2, 2, c + 1) == ENGRAM_ERR_INVALID);
    CHECK(keep[0] == 7 && keep[3] == 7);
    /* nothing to score */
    CHECK(engram_cosine_similarity_many(NULL, 0, NULL, 0, 0, NULL) == ENGRAM_OK);
    CHECK(engram_cosine_similarity_many(q, 2, NULL, 0, 2, NULL) == ENGRAM_OK);
}

static void test_top_k(void) {
    enum { NQ = 5, DIM = 24, N = 600, K = 7 };
    static float q[NQ * DIM], c[N * DIM];
    fill(q, NQ * DIM, 11);
    fill(c, N * DIM, 12);
    c[3 * DIM] = NAN;             /* row 3 undefined */
    memset(c + 9 * DIM, 0, DIM * sizeof(float)); /* row 9 undefined */
    size_t idx[NQ * K], counts[NQ];
    float sc[NQ * K];
    CHECK(engram_top_k_similarity_many(q, NQ, c, N, DIM, K, idx, sc, counts) == ENGRAM_OK);
    for (size_t j = 0; j < NQ; j++) {
        size_t one_idx[K], n = 0;
        float one_sc[K];
        CHECK(engram_top_k_similarity(q + j * DIM, c, DIM, N, K, one_idx, one_sc, &n) ==
              ENGRAM_OK);
        CHECK(counts[j] == n && n == K);
        CHECK(memcmp(one_idx, idx + j * K, n * sizeof(size_t)) == 0);
        CHECK(memcmp(one_sc, sc + j * K, n * sizeof(float)) == 0);
    }

    /* Undefined rows are skipped: k larger than the defined rows. */
    float q2[2] = {1, 0};
    float c2[8] = {NAN, 1, -1, 0, 0, 0, 1, 1};
    size_t i2[4] = {99, 99, 99, 99}, n2 = 99;
    float s2[4];
    CHECK(engram_top_k_similarity_many(q2, 1, c2, 4, 2, 4, i2, s2, &n2) == ENGRAM_OK);
    CHECK(n2 == 2 && i2[0] == 3 && i2[1] == 1 && s2[1] == -1.0f && i2[2] == 99);

    /* Bad inputs write nothing. */
    size_t keep_n = 77;
    float nanq[2] = {NAN, 0};
    CHECK(engram_top_k_similarity_many(nanq, 1, c2, 4, 2, 4, i2, s2, &keep_n) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_top_k_similarity_many(q2, 1, c2, 4, 0, 4, i2, s2, &keep_n) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_top_k_similarity_many(q2, 1, c2, 4, 2, 4, NULL, s2, &keep_n) ==
          ENGRAM_ERR_NULL);
    CHECK(engram_top_k_similarity_many(q2, 1, c2, 4, 2, 4, i2, s2, NULL) == ENGRAM_ERR_NULL);
    CHECK(engram_top_k_similarity_many(q2, 1, c2, 4, 2, SIZE_MAX, i2, s2, &keep_n) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_top_k_similarity_many(q2, 1, c2, 4, 2, 1, i2, (float *)i2, &keep_n) ==
          ENGRAM_ERR_INVALID);
    CHECK(keep_n == 77);
    /* k == 0 and no candidates */
    CHECK(engram_top_k_similarity_many(q2, 1, c2, 4, 2, 0, NULL, NULL, &keep_n) == ENGRAM_OK &&
          keep_n == 0);
    keep_n = 5;
    CHECK(engram_top_k_similarity_many(q2, 1, NULL, 0, 2, 3, i2, s2, &keep_n) == ENGRAM_OK &&
          keep_n == 0);
}

static void *thread_main(void *arg) {
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    int bad = 0;
    for (int i = 0; i < 20; i++) bad += !many_equals_single(6, 96, 150, seed + (uint64_t)i);
    return (void *)(uintptr_t)bad;
}

static void test_threads(void) {
    pthread_t t[8];
    for (uintptr_t i = 0; i < 8; i++) pthread_create(&t[i], NULL, thread_main, (void *)(i * 100));
    for (int i = 0; i < 8; i++) {
        void *bad = NULL;
        pthread_join(t[i], &bad);
        CHECK(bad == NULL);
    }
}

int main(void) {
    test_values();
    test_nan_and_bad_inputs();
    test_top_k();
    test_threads();
    printf("%d passed, %d failed\n", atomic_load(&passed), atomic_load(&failed));
    return atomic_load(&failed) == 0 ? 0 : 1;
}
