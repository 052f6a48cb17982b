/*
 * engram_kernels.h: the C ABI of libengram_kernels (the Rust crate engram-kernels).
 *
 * Build: scripts/dist.sh, which writes target/dist/{include,lib,lib/pkgconfig}.
 * Link:  the shared library: $(pkg-config --cflags --libs engram_kernels)
 *        the archive:        $(pkg-config --cflags engram_kernels) libengram_kernels.a \
 *                            -lpthread -ldl -lm   (pkg-config --static --libs lists these)
 * The archive is one object whose only global symbols are the engram_* functions below: the Rust
 * runtime inside it is private, so it links into C, C++ and Rust programs (any rustc, any LTO).
 *
 * Rules shared by every function:
 *  - A null pointer with a zero length is fine. A null (or misaligned) pointer with a non-zero
 *    length makes the call do nothing: the void functions return, the others return
 *    ENGRAM_ERR_NULL. A length whose size in bytes exceeds PTRDIFF_MAX (or the address space)
 *    with a valid pointer is refused the same way with ENGRAM_ERR_INVALID. Nothing is written in
 *    any of these cases.
 *  - Every function may be called from any number of threads at once. Scratch memory comes from
 *    a per-thread arena (1 MiB by default, created on first use), so threads never contend.
 *  - Overflow policy (engram_configure_arena): under fallback (the default) scratch that does
 *    not fit the arena comes from the heap and is counted as an overflow; under error_return the
 *    kernel leaves its outputs untouched (ENGRAM_ERR_SCRATCH where there is a status) and the
 *    overflow is counted; under panic it prints the reason on stderr and aborts the process.
 *  - No Rust panic ever unwinds into C: an internal panic prints its message and aborts.
 *  - Outputs must not overlap inputs (in-place arrays such as activations and strengths are a
 *    single argument, not an overlap). A call whose output overlaps an input or another output
 *    is refused before anything is read or written: the void functions do nothing, the others
 *    return ENGRAM_ERR_INVALID.
 */
#ifndef ENGRAM_KERNELS_H
#define ENGRAM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes of the functions that return int32_t. */
#define ENGRAM_OK 0            /* success */
#define ENGRAM_ERR_NULL (-1)   /* a null or misaligned pointer with a non-zero length; nothing done */
#define ENGRAM_ERR_INVALID (-2) /* invalid graph, seed, parameter, size or overlap; nothing done */
#define ENGRAM_ERR_SCRATCH (-3) /* scratch did not fit under error_return; outputs untouched */

/* ------- The Zig implementation's eight exports (names and signatures unchanged) ------- */

/*
 * Batch cosine similarity: scores[i] = cos(query, candidates[i*query_len .. (i+1)*query_len])
 * for i < num_candidates. A vector whose squared norm is NaN, infinite or below 1e-30 has
 * magnitude 0; a zero-magnitude query or candidate scores 0 (so NaN or Inf inside a vector gives
 * 0). Scores are clamped to [-1, 1]. query_len == 0 gives all zeros. If query_len *
 * num_candidates overflows, nothing is done. No scratch.
 */
void engram_vector_similarity(const float *query, const float *candidates, float *scores,
                              size_t query_len, size_t num_candidates);

/*
 * Spreading activation on the Zig implementation's edge list, in place. Edge e (e < num_edges)
 * goes to adjacency[e] with weight weights[e] and belongs to node e / ceil(num_edges / num_nodes).
 * Each iteration: snapshot cur = activations; for every edge src -> t with t < num_nodes (other
 * targets are skipped), in edge order, activations[t] += cur[src] * w; then m = max(0, max of
 * activations ignoring NaN) and, if m > 1, every activation is divided by m. NaN and Inf
 * propagate by IEEE rules. num_nodes == 0, num_edges == 0 or iterations == 0 returns at once.
 * Scratch: 4 * num_nodes bytes.
 */
void engram_spread_activation(const uint32_t *adjacency, const float *weights, float *activations,
                              size_t num_nodes, size_t num_edges, uint32_t iterations);

/*
 * Decay with tau = 86400 s: strengths[i] *= exp(-ages_seconds[i] / 86400). tau is an e-folding
 * time (one day gives 1/e). Rounded exactly as
 *     float f = (float)exp(-(double)ages_seconds[i] / 86400.0);  strengths[i] = strengths[i] * f;
 * (the factor from the C library's exp, rounded once to float, then one float multiply), bit
 * for bit: FLT_MAX at 100,000 s gives 1.0695073e38. Age 0 leaves the strength bit-for-bit
 * unchanged; NaN stays NaN and +-Inf stays +-Inf (also where f has underflowed to 0); very large
 * ages give 0. Relative error <= 2^-23 while f is a normal float (ages below about 87 tau);
 * beyond, at most |strength| * 2^-149 absolute. No scratch.
 */
void engram_apply_decay(float *strengths, const uint64_t *ages_seconds, size_t num_memories);

/*
 * Configures the per-thread arenas. pool_size_mb (1..=1024) applies to arenas created from now
 * on (threads that already have one keep it until engram_deinit_thread_arena); 0 or more than
 * 1024 is ignored, the size in force stays, and this is reported once on stderr.
 * overflow_strategy: 0 panic, 1 error_return, 2 fallback; any other value means error_return.
 * The policy applies to every thread at once.
 */
void engram_configure_arena(uint32_t pool_size_mb, uint8_t overflow_strategy);

/*
 * Reads the process-wide metrics: resets (one per kernel call whose scratch was reset, and one
 * per engram_reset_arenas call), scratch requests that overflowed the arena, and the largest
 * scratch peak of a call in bytes.
 * Each null pointer is skipped.
 */
void engram_arena_stats(size_t *total_resets, size_t *total_overflows,
                        size_t *max_high_water_mark);

/*
 * Resets the calling thread's arena (nothing to do if it has none) and counts one reset in
 * total_resets, like the Zig implementation: 1, 2, 3 after three calls on fresh metrics.
 */
void engram_reset_arenas(void);

/* Zeroes the process-wide metrics. */
void engram_reset_arena_metrics(void);

/* Frees the calling thread's arena; idempotent; the next kernel call on it re-creates it. */
void engram_deinit_thread_arena(void);

/* ---------------- New exports ---------------- */

/*
 * Spreading activation on a CSR graph, in place: node u's out-edges are
 * offsets[u] .. offsets[u+1] (offsets has num_nodes + 1 entries), edge e goes to targets[e] with
 * weight weights[e]. Same iteration as engram_spread_activation.
 * Returns ENGRAM_OK; ENGRAM_ERR_NULL; ENGRAM_ERR_INVALID when offsets do not start at 0, decrease,
 * or do not end at num_edges, or a target is >= num_nodes; ENGRAM_ERR_SCRATCH under error_return.
 * An empty graph (num_nodes == num_edges == 0) returns ENGRAM_OK without reading any pointer.
 * On error the activations are untouched.
 */
int32_t engram_spread_activation_csr(const size_t *offsets, const uint32_t *targets,
                                     const float *weights, float *activations, size_t num_nodes,
                                     size_t num_edges, uint32_t iterations);

/*
 * Sparse frontier spreading on a CSR graph (layout as for engram_spread_activation_csr), in
 * place, touching only the nodes it reaches:
 *  1. each seed i adds seed_activations[i] to activations[seed_nodes[i]]; the distinct seed nodes
 *     form the first frontier;
 *  2. hop h = 1..max_hops: every frontier node u reads its activation a_u when the hop starts;
 *     then, in frontier order, every u with a_u >= threshold sends (a_u * hop_decay) * w to each
 *     out-edge target t (activations[t] += ..., in edge order); targets never reached before join
 *     the next frontier;
 *  3. each node spreads at most once; there is no normalisation.
 * Returns ENGRAM_OK; ENGRAM_ERR_NULL; ENGRAM_ERR_INVALID for an invalid graph, a seed node
 * >= num_nodes, a non-finite seed activation, hop_decay outside (0, 1], threshold negative or not
 * finite; ENGRAM_ERR_SCRATCH under error_return. On error the activations are as before the call.
 * Scratch: num_nodes / 8 bytes plus 12 bytes per reached node.
 */
int32_t engram_spread_frontier(const size_t *offsets, const uint32_t *targets,
                               const float *weights, size_t num_nodes, size_t num_edges,
                               const uint32_t *seed_nodes, const float *seed_activations,
                               size_t num_seeds, float hop_decay, float threshold,
                               uint32_t max_hops, float *activations);

/*
 * Decay with an explicit e-folding time constant: strengths[i] *= exp(-ages_seconds[i] / tau).
 * Same rules and rounding as engram_apply_decay, with tau_seconds in place of 86400.0. Returns
 * ENGRAM_OK; ENGRAM_ERR_NULL; ENGRAM_ERR_INVALID when tau_seconds is not finite or not positive
 * (strengths untouched).
 */
int32_t engram_apply_decay_tau(float *strengths, const uint64_t *ages_seconds,
                               size_t num_memories, double tau_seconds);

/*
 * The k best cosine matches (scored as engram_vector_similarity) of query among num_candidates
 * row-major candidates: writes n <= min(k, num_candidates) indices and scores, best first (equal
 * scores: lower index first), and n to *out_count. Candidates whose score is undefined (a NaN or
 * infinite component, or zero magnitude) are skipped rather than ranked as 0. out_indices and
 * out_scores hold k entries; out_count must not be null. Returns ENGRAM_OK; ENGRAM_ERR_NULL;
 * ENGRAM_ERR_INVALID when query_len * num_candidates overflows, query_len == 0 with candidates,
 * or the query holds NaN or an infinity;
 * ENGRAM_ERR_SCRATCH under error_return. On error nothing is written. Scratch: 16 * n bytes.
 */
int32_t engram_top_k_similarity(const float *query, const float *candidates, size_t query_len,
                                size_t num_candidates, size_t k, size_t *out_indices,
                                float *out_scores, size_t *out_count);

/*
 * Cosine similarity of every query with every candidate, both row-major with dim floats per row:
 * scores[j * num_candidates + i] is query j against candidate i. Scored as
 * engram_vector_similarity scores (a query with NaN or an infinity scores 0 against everything
 * and the call returns ENGRAM_OK), and bit for bit what it gives query by query, but each
 * candidate row is read once per block of queries. Returns ENGRAM_OK; ENGRAM_ERR_NULL;
 * ENGRAM_ERR_INVALID when dim == 0 with something to score, a size overflows, or scores overlaps
 * an input. On error scores is untouched. No scratch.
 */
int32_t engram_cosine_similarity_many(const float *queries, size_t num_queries,
                                      const float *candidates, size_t num_candidates, size_t dim,
                                      float *scores);

/*
 * The k best cosine matches of each query (ranked as engram_top_k_similarity ranks them: best
 * first, equal scores by lower index, candidates with an undefined score skipped), computed with
 * the many-query kernel. Query j's matches go to out_indices[j * k ..] and out_scores[j * k ..],
 * out_counts[j] of them (at most min(k, num_candidates)). out_indices and out_scores hold
 * num_queries * k entries, out_counts num_queries. Returns ENGRAM_OK; ENGRAM_ERR_NULL;
 * ENGRAM_ERR_INVALID when dim == 0 with queries and candidates, a size overflows, an output
 * overlaps anything else, or a query holds NaN or an infinity; ENGRAM_ERR_SCRATCH under
 * error_return. On error nothing is written. Scratch: 16 * num_queries * min(k, num_candidates)
 * bytes plus 1 KiB per query.
 */
int32_t engram_top_k_similarity_many(const float *queries, size_t num_queries,
                                     const float *candidates, size_t num_candidates, size_t dim,
                                     size_t k, size_t *out_indices, float *out_scores,
                                     size_t *out_counts);

/* ------- Product-quantization (PQ) asymmetric-distance scans ------- */

/*
 * A PQ codebook splits dim dimensions into m sub-spaces of dsub = dim / m, each with 256
 * centroids: codebook holds dim * 256 floats (sub-space, then centroid, then dimension), and a
 * vector is stored as m bytes, one centroid index per sub-space. metric is one of: */
#define ENGRAM_PQ_L2 0            /* squared L2 distance; smaller is nearer */
#define ENGRAM_PQ_INNER_PRODUCT 1 /* inner product; larger is nearer */

/*
 * The distance table of query (dim floats) against codebook, into table (m * 256 floats):
 * table[j * 256 + c] is the L2 distance (or inner product) of the query's sub-vector j with
 * centroid c of sub-space j. Returns ENGRAM_OK; ENGRAM_ERR_NULL; ENGRAM_ERR_INVALID for an
 * unknown metric, dim == 0, m == 0 or m not dividing dim, a size overflow or an overlap. On error
 * table is untouched. No scratch.
 */
int32_t engram_pq_build_table(const float *query, size_t dim, const float *codebook, size_t m,
                              uint32_t metric, float *table);

/*
 * Scores num_codes code rows (m bytes each, row-major) against a table: scores[i] is the sum of
 * table[j * 256 + codes[i * m + j]] over j, added in order of j in float (bit for bit the same
 * at every SIMD level). Returns ENGRAM_OK; ENGRAM_ERR_NULL; ENGRAM_ERR_INVALID for m == 0, a
 * size overflow or an overlap. On error scores is untouched. No scratch.
 */
int32_t engram_pq_scan(const float *table, size_t m, const uint8_t *codes, size_t num_codes,
                       float *scores);

/*
 * The k nearest of num_codes code rows to query under metric: builds the table, scans, and
 * writes n <= min(k, num_codes) row indices and scores, nearest first (equal scores: lower index
 * first; NaN scores skipped), and n to *out_count. out_indices and out_scores hold k entries;
 * out_count must not be null. Returns ENGRAM_OK; ENGRAM_ERR_NULL; ENGRAM_ERR_INVALID for an
 * unknown metric, k == 0, dim == 0, m == 0 or m not dividing dim, a size overflow or an overlap;
 * ENGRAM_ERR_SCRATCH under error_return. On error nothing is written.
 * Scratch: 1 KiB * m for the table plus 16 * min(k, num_codes) bytes.
 */
int32_t engram_pq_top_k(const float *query, size_t dim, const float *codebook, size_t m,
                        uint32_t metric, const uint8_t *codes, size_t num_codes, size_t k,
                        size_t *out_indices, float *out_scores, size_t *out_count);

/*
 * The fast scan. engram_pq_packed_len writes to *out_len the bytes num_codes rows of m codes
 * take packed: ceil(num_codes / 64) * 64 * m. Returns ENGRAM_OK; ENGRAM_ERR_NULL if out_len is
 * null; ENGRAM_ERR_INVALID for m == 0 or a size overflow.
 */
int32_t engram_pq_packed_len(size_t num_codes, size_t m, size_t *out_len);

/*
 * Packs num_codes code rows (m bytes each, row-major) into packed (engram_pq_packed_len bytes):
 * blocks of 64 rows, sub-space major, the last block padded with zero codes. Pack once, scan any
 * number of queries; the packed bytes may be stored and reloaded as they are. Returns ENGRAM_OK;
 * ENGRAM_ERR_NULL; ENGRAM_ERR_INVALID for m == 0, a size overflow or an overlap. On error packed
 * is untouched. No scratch.
 */
int32_t engram_pq_pack(const uint8_t *codes, size_t num_codes, size_t m, uint8_t *packed);

/*
 * engram_pq_top_k over codes packed by engram_pq_pack: the same rows, scores and order, bit for
 * bit, from a quantized SIMD scan that rescores in float only the rows that could reach the k
 * nearest. m is at most 257. Returns as engram_pq_top_k does, with ENGRAM_ERR_INVALID for
 * m > 257 too. Scratch: about 2.25 KiB * m for the tables and histogram plus
 * 16 * min(k, num_codes) bytes.
 */
int32_t engram_pq_top_k_packed(const float *query, size_t dim, const float *codebook, size_t m,
                               uint32_t metric, const uint8_t *packed, size_t num_codes, size_t k,
                               size_t *out_indices, float *out_scores, size_t *out_count);

#ifdef __cplusplus
}
#endif

#endif /* ENGRAM_KERNELS_H */
