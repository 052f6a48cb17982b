/*
 * C test of the product-quantization exports: engram_pq_build_table against a C computation,
 * engram_pq_scan against the definition (float adds in order of the sub-space: bit for bit),
 * engram_pq_top_k against a sort of the scanned scores for both metrics, engram_pq_pack and
 * engram_pq_top_k_packed against engram_pq_top_k (bit for bit), and the refusals: an unknown
 * metric, k == 0, m == 0 or not dividing dim, nulls, overflowing sizes, an overlap.
 * Prints "N passed, 0 failed"; exits 1 on any failure.
 *
 * Build and run (from the repository root, after scripts/dist.sh):
 *   gcc -std=c11 -Wall -Wextra -Werror -O2 -I include tests/c/pq_test.c \
 *       target/dist/lib/libengram_kernels.a -lpthread -ldl -lm -o target/c-pq-test
 *   target/c-pq-test
 */
#include "engram_kernels.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed;
static int failed;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (cond) {                                                                    \
            passed++;                                                                  \
        } else {                                                                       \
            failed++;                                                                  \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
        }                                                                              \
    } while (0)

enum { M = 12, DSUB = 3, DIM = M * DSUB, N = 333, K = 7 };

static uint64_t state = 88172645463325252ull;
static uint64_t next(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

/* Small integers: every table entry and score is exact, whatever the order of the adds. */
static float small(void) { return (float)((int)(next() % 9) - 4); }

static float query[DIM];
static float codebook[DIM * 256];
static uint8_t codes[N * M];
static float table[M * 256];
static float scores[N];
/* N = 333 rows: five whole blocks of 64 and a padded one. */
static uint8_t packed[6 * 64 * M];

/* Index order of the reference top k: nearer first, then lower index. */
static int l2_metric;
static int nearer(size_t a, size_t b) {
    float sa = scores[a], sb = scores[b];
    if (sa != sb) return l2_metric ? sa < sb : sa > sb;
    return a < b;
}

static void check_top_k(uint32_t metric) {
    CHECK(engram_pq_build_table(query, DIM, codebook, M, metric, table) == ENGRAM_OK);
    CHECK(engram_pq_scan(table, M, codes, N, scores) == ENGRAM_OK);
    /* The reference: K rounds of picking the nearest not yet taken. */
    l2_metric = metric == ENGRAM_PQ_L2;
    size_t want[K];
    int taken[N] = {0};
    for (size_t r = 0; r < K; r++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < N; i++)
            if (!taken[i] && (best == SIZE_MAX || nearer(i, best))) best = i;
        want[r] = best;
        taken[best] = 1;
    }
    size_t idx[K], count = 0;
    float sc[K];
    CHECK(engram_pq_top_k(query, DIM, codebook, M, metric, codes, N, K, idx, sc, &count) ==
          ENGRAM_OK);
    CHECK(count == K);
    int same = 1;
    for (size_t r = 0; r < K; r++) same &= idx[r] == want[r] && sc[r] == scores[want[r]];
    CHECK(same);

    /* The fast scan from packed codes: the same answer, bit for bit. */
    size_t len = 0, pidx[K], pcount = 0;
    float psc[K];
    CHECK(engram_pq_packed_len(N, M, &len) == ENGRAM_OK && len == sizeof packed);
    CHECK(engram_pq_pack(codes, N, M, packed) == ENGRAM_OK);
    CHECK(engram_pq_top_k_packed(query, DIM, codebook, M, metric, packed, N, K, pidx, psc,
                                 &pcount) == ENGRAM_OK);
    CHECK(pcount == count);
    CHECK(memcmp(pidx, idx, sizeof idx) == 0 && memcmp(psc, sc, sizeof sc) == 0);
}

int main(void) {
    for (size_t i = 0; i < DIM; i++) query[i] = small();
    for (size_t i = 0; i < DIM * 256; i++) codebook[i] = small();
    for (size_t i = 0; i < N * M; i++) codes[i] = (uint8_t)next();

    /* The table: sub-vector j of the query against centroid c of sub-space j. */
    CHECK(engram_pq_build_table(query, DIM, codebook, M, ENGRAM_PQ_L2, table) == ENGRAM_OK);
    int ok = 1;
    for (size_t j = 0; j < M; j++)
        for (size_t c = 0; c < 256; c++) {
            float l2 = 0.0f;
            for (size_t d = 0; d < DSUB; d++) {
                float diff = query[j * DSUB + d] - codebook[(j * 256 + c) * DSUB + d];
                l2 += diff * diff;
            }
            ok &= table[j * 256 + c] == l2;
        }
    CHECK(ok);

    /* The scan, on a table of arbitrary floats: the definition's order, bit for bit. */
    for (size_t i = 0; i < M * 256; i++)
        table[i] = (float)(next() >> 40) / (float)(1u << 20) * (i % 3 == 0 ? 1e-3f : 7.0f);
    CHECK(engram_pq_scan(table, M, codes, N, scores) == ENGRAM_OK);
    ok = 1;
    for (size_t i = 0; i < N; i++) {
        float s = 0.0f;
        for (size_t j = 0; j < M; j++) s += table[j * 256 + codes[i * M + j]];
        ok &= memcmp(&s, &scores[i], sizeof s) == 0;
    }
    CHECK(ok);

    check_top_k(ENGRAM_PQ_L2);
    check_top_k(ENGRAM_PQ_INNER_PRODUCT);

    /* Refusals: nothing is written. */
    size_t idx[K], count = 99;
    float sc[K];
    CHECK(engram_pq_build_table(query, DIM, codebook, M, 7, table) == ENGRAM_ERR_INVALID);
    CHECK(engram_pq_build_table(query, DIM, codebook, 0, ENGRAM_PQ_L2, table) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_pq_build_table(query, DIM, codebook, 5, ENGRAM_PQ_L2, table) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_pq_build_table(NULL, DIM, codebook, M, ENGRAM_PQ_L2, table) == ENGRAM_ERR_NULL);
    CHECK(engram_pq_top_k(query, DIM, codebook, M, ENGRAM_PQ_L2, codes, N, 0, idx, sc, &count) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_pq_top_k(query, DIM, codebook, M, 2, codes, N, K, idx, sc, &count) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_pq_top_k(query, DIM, codebook, M, ENGRAM_PQ_L2, codes, N, K, idx, sc, NULL) ==
          ENGRAM_ERR_NULL);
    CHECK(count == 99);
    CHECK(engram_pq_scan(table, 0, codes, N, scores) == ENGRAM_ERR_INVALID);
    CHECK(engram_pq_scan(table, M, codes, SIZE_MAX / 2, scores) == ENGRAM_ERR_INVALID);
    CHECK(engram_pq_scan(table, M, codes, N, table + 1) == ENGRAM_ERR_INVALID); /* overlap */
    CHECK(engram_pq_scan(NULL, 0, NULL, 0, NULL) == ENGRAM_ERR_INVALID);      /* m == 0 */
    CHECK(engram_pq_scan(table, M, NULL, 0, NULL) == ENGRAM_OK);              /* no rows */
    size_t len = 7;
    CHECK(engram_pq_packed_len(N, 0, &len) == ENGRAM_ERR_INVALID && len == 7);
    CHECK(engram_pq_packed_len(SIZE_MAX, 2, &len) == ENGRAM_ERR_INVALID && len == 7);
    CHECK(engram_pq_packed_len(N, M, NULL) == ENGRAM_ERR_NULL);
    CHECK(engram_pq_pack(codes, N, 0, packed) == ENGRAM_ERR_INVALID);
    CHECK(engram_pq_pack(codes, SIZE_MAX / 2, M, packed) == ENGRAM_ERR_INVALID);
    CHECK(engram_pq_pack(codes, N, M, NULL) == ENGRAM_ERR_NULL);
    CHECK(engram_pq_pack(packed, N, M, packed) == ENGRAM_ERR_INVALID); /* overlap */
    CHECK(engram_pq_top_k_packed(query, DIM, codebook, M, ENGRAM_PQ_L2, packed, N, 0, idx, sc,
                                 &count) == ENGRAM_ERR_INVALID);
    CHECK(engram_pq_top_k_packed(query, DIM, codebook, 0, ENGRAM_PQ_L2, packed, N, K, idx, sc,
                                 &count) == ENGRAM_ERR_INVALID);
    CHECK(engram_pq_top_k_packed(query, DIM, codebook, M, 9, packed, N, K, idx, sc, &count) ==
          ENGRAM_ERR_INVALID);
    CHECK(engram_pq_top_k_packed(query, DIM, codebook, M, ENGRAM_PQ_L2, packed, N, K, idx, sc,
                                 NULL) == ENGRAM_ERR_NULL);
    CHECK(count == 99);

    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
