//! The engine's side of the C ABI: the exports declared against the static library, and safe
//! wrappers over them, as a library crate that a binary links.

#[link(name = "engram_kernels", kind = "static")]
unsafe extern "C" {
    fn engram_vector_similarity(
        query: *const f32,
        candidates: *const f32,
        scores: *mut f32,
        query_len: usize,
        num_candidates: usize,
    );
    fn engram_spread_activation(
        adjacency: *const u32,
        weights: *const f32,
        activations: *mut f32,
        num_nodes: usize,
        num_edges: usize,
        iterations: u32,
    );
    fn engram_apply_decay(strengths: *mut f32, ages_seconds: *const u64, num_memories: usize);
    fn engram_configure_arena(pool_size_mb: u32, overflow_strategy: u8);
    fn engram_arena_stats(
        total_resets: *mut usize,
        total_overflows: *mut usize,
        max_high_water_mark: *mut usize,
    );
    fn engram_reset_arenas();
    fn engram_reset_arena_metrics();
    fn engram_deinit_thread_arena();
    fn engram_top_k_similarity(
        query: *const f32,
        candidates: *const f32,
        query_len: usize,
        num_candidates: usize,
        k: usize,
        out_indices: *mut usize,
        out_scores: *mut f32,
        out_count: *mut usize,
    ) -> i32;
    fn engram_pq_packed_len(num_codes: usize, m: usize, out_len: *mut usize) -> i32;
    fn engram_pq_pack(codes: *const u8, num_codes: usize, m: usize, packed: *mut u8) -> i32;
    fn engram_pq_top_k(
        query: *const f32,
        dim: usize,
        codebook: *const f32,
        m: usize,
        metric: u32,
        codes: *const u8,
        num_codes: usize,
        k: usize,
        out_indices: *mut usize,
        out_scores: *mut f32,
        out_count: *mut usize,
    ) -> i32;
    fn engram_pq_top_k_packed(
        query: *const f32,
        dim: usize,
        codebook: *const f32,
        m: usize,
        metric: u32,
        packed: *const u8,
        num_codes: usize,
        k: usize,
        out_indices: *mut usize,
        out_scores: *mut f32,
        out_count: *mut usize,
    ) -> i32;
}

/// The `k` nearest PQ code rows (`m` codes each) to `query` under squared L2, as
/// `(index, score)`, nearest first: once from the row-major codes and once from the same codes
/// packed for the fast scan. The two answers must be equal; returns both.
#[allow(clippy::type_complexity)]
pub fn pq_nearest(
    query: &[f32],
    codebook: &[f32],
    m: usize,
    codes: &[u8],
    k: usize,
) -> (Vec<(usize, f32)>, Vec<(usize, f32)>) {
    let n = codes.len() / m;
    let run = |packed: Option<&[u8]>| {
        let (mut idx, mut sc, mut count) = (vec![0usize; k], vec![0f32; k], 0usize);
        // SAFETY: each pointer is valid for the length passed with it (the packed buffer for
        // `engram_pq_packed_len(n, m)` bytes); the outputs are distinct.
        let rc = unsafe {
            match packed {
                None => engram_pq_top_k(
                    query.as_ptr(),
                    query.len(),
                    codebook.as_ptr(),
                    m,
                    0,
                    codes.as_ptr(),
                    n,
                    k,
                    idx.as_mut_ptr(),
                    sc.as_mut_ptr(),
                    &mut count,
                ),
                Some(p) => engram_pq_top_k_packed(
                    query.as_ptr(),
                    query.len(),
                    codebook.as_ptr(),
                    m,
                    0,
                    p.as_ptr(),
                    n,
                    k,
                    idx.as_mut_ptr(),
                    sc.as_mut_ptr(),
                    &mut count,
                ),
            }
        };
        assert_eq!(rc, 0, "engram_pq_top_k / _packed");
        idx.into_iter().zip(sc).take(count).collect::<Vec<_>>()
    };
    let mut len = 0usize;
    // SAFETY: `len` is valid for one write.
    assert_eq!(unsafe { engram_pq_packed_len(n, m, &mut len) }, 0);
    let mut packed = vec![0u8; len];
    // SAFETY: `codes` holds `n * m` bytes and `packed` the packed length.
    assert_eq!(
        unsafe { engram_pq_pack(codes.as_ptr(), n, m, packed.as_mut_ptr()) },
        0
    );
    (run(None), run(Some(&packed)))
}

/// Cosine similarity of `query` against each `query.len()`-float row of `candidates`.
pub fn similarity(query: &[f32], candidates: &[f32]) -> Vec<f32> {
    let n = candidates.len().checked_div(query.len()).unwrap_or(0);
    assert_eq!(n * query.len(), candidates.len());
    let mut scores = vec![f32::NAN; n];
    // SAFETY: each pointer is valid for the length passed with it; scores is a fresh buffer.
    unsafe {
        engram_vector_similarity(
            query.as_ptr(),
            candidates.as_ptr(),
            scores.as_mut_ptr(),
            query.len(),
            n,
        )
    };
    scores
}

/// The `k` best rows as `(index, score)`, best first.
pub fn top_k(query: &[f32], candidates: &[f32], k: usize) -> Vec<(usize, f32)> {
    let n = candidates.len() / query.len();
    let (mut idx, mut sc, mut count) = (vec![0usize; k], vec![0f32; k], 0usize);
    // SAFETY: each pointer is valid for the length passed with it; the outputs are distinct.
    let rc = unsafe {
        engram_top_k_similarity(
            query.as_ptr(),
            candidates.as_ptr(),
            query.len(),
            n,
            k,
            idx.as_mut_ptr(),
            sc.as_mut_ptr(),
            &mut count,
        )
    };
    assert_eq!(rc, 0, "engram_top_k_similarity");
    idx.into_iter().zip(sc).take(count).collect()
}

/// Legacy spreading activation in place (edge `e` belongs to node `e / ceil(E/N)`).
pub fn spread(adjacency: &[u32], weights: &[f32], activations: &mut [f32], iterations: u32) {
    assert_eq!(adjacency.len(), weights.len());
    // SAFETY: each pointer is valid for the length passed with it; activations is exclusive.
    unsafe {
        engram_spread_activation(
            adjacency.as_ptr(),
            weights.as_ptr(),
            activations.as_mut_ptr(),
            activations.len(),
            adjacency.len(),
            iterations,
        )
    };
}

/// `s ← s · exp(−age/86 400)` in place.
pub fn decay(strengths: &mut [f32], ages_seconds: &[u64]) {
    assert_eq!(strengths.len(), ages_seconds.len());
    // SAFETY: both pointers are valid for the length; strengths is exclusive.
    unsafe {
        engram_apply_decay(
            strengths.as_mut_ptr(),
            ages_seconds.as_ptr(),
            strengths.len(),
        )
    };
}

/// `(total_resets, total_overflows, max_high_water_mark)`.
pub fn stats() -> (usize, usize, usize) {
    let (mut r, mut o, mut p) = (0, 0, 0);
    // SAFETY: three valid, distinct out-pointers.
    unsafe { engram_arena_stats(&mut r, &mut o, &mut p) };
    (r, o, p)
}

/// Pool size in MiB and overflow strategy (0 panic, 1 error_return, 2 fallback).
pub fn configure(pool_size_mb: u32, overflow_strategy: u8) {
    // SAFETY: no pointers.
    unsafe { engram_configure_arena(pool_size_mb, overflow_strategy) };
}

pub fn reset_arenas() {
    // SAFETY: no pointers.
    unsafe { engram_reset_arenas() };
}

pub fn reset_metrics() {
    // SAFETY: no pointers.
    unsafe { engram_reset_arena_metrics() };
}

pub fn deinit_thread_arena() {
    // SAFETY: no pointers.
    unsafe { engram_deinit_thread_arena() };
}
