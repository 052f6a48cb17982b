//! x86_64 PQ scans: AVX-512F (16 rows per vector) and AVX2 (8 rows), both built on gathers.
//!
//! One lane holds one row's running score. For each group of four sub-spaces a 32-bit gather
//! fetches four code bytes of every row (row `r`'s bytes `j..j + 4` sit at `r * m + j`), shifts
//! and masks split them into four index vectors, and a float gather per sub-space fetches each
//! lane's table entry. The lane adds its entries in order of `j`, as `kernel::score_row` does, so
//! the scores are the scalar reference's bit for bit. Rows past the last full vector, and every
//! row when `m < 4` (a code gather would read past a row), go through `score_row`.
//!
//! The fast scan's block kernels (quantized `u8` tables over packed codes) come after them:
//! AVX-512 VBMI byte permutes, and AVX2 nibble shuffles with a tree of byte blends.

use core::arch::x86_64::*;

use super::CENTROIDS;
use super::kernel::score_row;
use crate::kernels::dispatch::{Avx2Token, Avx512Token, Avx512VbmiToken};

/// Whether the gather kernels handle rows of `m` codes: a four-byte code gather needs `m >= 4`,
/// and the byte offsets of 16 rows must fit an `i32`.
fn gathers(m: usize) -> bool {
    m >= 4 && m <= i32::MAX as usize / 16
}

/// Scores with AVX-512F. Lengths as `scan_at` validated them.
pub(super) fn scan_avx512(
    _: Avx512Token,
    table: &[[f32; CENTROIDS]],
    codes: &[u8],
    scores: &mut [f32],
) {
    // SAFETY: the token proves AVX-512F (with AVX2 and FMA) was detected at run time.
    unsafe { scan_avx512_impl(table, codes, scores) }
}

/// Scores with AVX2. Lengths as `scan_at` validated them.
pub(super) fn scan_avx2(
    _: Avx2Token,
    table: &[[f32; CENTROIDS]],
    codes: &[u8],
    scores: &mut [f32],
) {
    // SAFETY: the token proves AVX2 and FMA were detected at run time.
    unsafe { scan_avx2_impl(table, codes, scores) }
}

#[target_feature(enable = "avx512f,avx2,fma")]
fn scan_avx512_impl(table: &[[f32; CENTROIDS]], codes: &[u8], scores: &mut [f32]) {
    let m = table.len();
    let full = if gathers(m) {
        scores.len() / 16 * 16
    } else {
        0
    };
    let (head, tail) = scores.split_at_mut(full);
    // Byte offset of each lane's row from the block's first row; `gathers` keeps 15·m + m in i32.
    let rows = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(m as i32),
    );
    let low = _mm512_set1_epi32(0xFF);
    // Four vectors (64 rows) side by side: four independent sums in flight, and while they walk
    // the sub-spaces the four sub-tables in use stay in L1 (the whole table may not fit).
    for (block, out) in codes.chunks(64 * m).zip(head.chunks_mut(64)) {
        let vectors = out.len() / 16;
        let mut acc = [_mm512_setzero_ps(); 4];
        let add = |acc: __m512, j: usize, idx: __m512i| {
            let idx = _mm512_and_si512(idx, low);
            // SAFETY: every lane of `idx` is below 256, and `table[j]` holds 256 floats.
            let t = unsafe { _mm512_i32gather_ps::<4>(idx, table[j].as_ptr()) };
            _mm512_add_ps(acc, t)
        };
        let mut j = 0;
        while j + 4 <= m {
            for (v, acc) in acc.iter_mut().enumerate().take(vectors) {
                // SAFETY: lane `r` reads bytes `(16v + r)·m + j ..` `+ 4` of `block`, inside row
                // `16v + r` because `j + 4 <= m`; `block` holds `16 · vectors` rows.
                let c = unsafe {
                    _mm512_i32gather_epi32::<1>(rows, block.as_ptr().add(16 * v * m + j).cast())
                };
                *acc = add(*acc, j, c);
                *acc = add(*acc, j + 1, _mm512_srli_epi32::<8>(c));
                *acc = add(*acc, j + 2, _mm512_srli_epi32::<16>(c));
                *acc = add(*acc, j + 3, _mm512_srli_epi32::<24>(c));
            }
            j += 4;
        }
        for (v, (acc, out)) in acc.iter_mut().zip(out.chunks_exact_mut(16)).enumerate() {
            if j < m {
                // The last 1..3 codes: gather each row's last four bytes (`m >= 4`, so inside
                // the row) and take the high ones.
                // SAFETY: lane `r` reads bytes `(16v + r)·m + m - 4 ..` `+ 4`, inside its row.
                let c = unsafe {
                    _mm512_i32gather_epi32::<1>(rows, block.as_ptr().add(16 * v * m + m - 4).cast())
                };
                for jj in j..m {
                    let shift = _mm_cvtsi32_si128((8 * (jj + 4 - m)) as i32);
                    *acc = add(*acc, jj, _mm512_srl_epi32(c, shift));
                }
            }
            // SAFETY: `out` holds 16 floats.
            unsafe { _mm512_storeu_ps(out.as_mut_ptr(), *acc) };
        }
    }
    let rest = codes[full * m..].chunks_exact(m);
    for (row, s) in rest.zip(tail) {
        *s = score_row(table, row);
    }
}

#[target_feature(enable = "avx2,fma")]
fn scan_avx2_impl(table: &[[f32; CENTROIDS]], codes: &[u8], scores: &mut [f32]) {
    let m = table.len();
    let full = if gathers(m) { scores.len() / 8 * 8 } else { 0 };
    let (head, tail) = scores.split_at_mut(full);
    let rows = _mm256_mullo_epi32(
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        _mm256_set1_epi32(m as i32),
    );
    let low = _mm256_set1_epi32(0xFF);
    // Eight vectors (64 rows) side by side, as in the AVX-512 kernel.
    for (block, out) in codes.chunks(64 * m).zip(head.chunks_mut(64)) {
        let vectors = out.len() / 8;
        let mut acc = [_mm256_setzero_ps(); 8];
        let add = |acc: __m256, j: usize, idx: __m256i| {
            let idx = _mm256_and_si256(idx, low);
            // SAFETY: every lane of `idx` is below 256, and `table[j]` holds 256 floats.
            let t = unsafe { _mm256_i32gather_ps::<4>(table[j].as_ptr(), idx) };
            _mm256_add_ps(acc, t)
        };
        let mut j = 0;
        while j + 4 <= m {
            for (v, acc) in acc.iter_mut().enumerate().take(vectors) {
                // SAFETY: lane `r` reads bytes `(8v + r)·m + j ..` `+ 4` of `block`, inside row
                // `8v + r` because `j + 4 <= m`; `block` holds `8 · vectors` rows.
                let c = unsafe {
                    _mm256_i32gather_epi32::<1>(block.as_ptr().add(8 * v * m + j).cast(), rows)
                };
                *acc = add(*acc, j, c);
                *acc = add(*acc, j + 1, _mm256_srli_epi32::<8>(c));
                *acc = add(*acc, j + 2, _mm256_srli_epi32::<16>(c));
                *acc = add(*acc, j + 3, _mm256_srli_epi32::<24>(c));
            }
            j += 4;
        }
        for (v, (acc, out)) in acc.iter_mut().zip(out.chunks_exact_mut(8)).enumerate() {
            if j < m {
                // SAFETY: lane `r` reads bytes `(8v + r)·m + m - 4 ..` `+ 4`, inside its row.
                let c = unsafe {
                    _mm256_i32gather_epi32::<1>(block.as_ptr().add(8 * v * m + m - 4).cast(), rows)
                };
                for jj in j..m {
                    let shift = _mm_cvtsi32_si128((8 * (jj + 4 - m)) as i32);
                    *acc = add(*acc, jj, _mm256_srl_epi32(c, shift));
                }
            }
            // SAFETY: `out` holds 8 floats.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), *acc) };
        }
    }
    let rest = codes[full * m..].chunks_exact(m);
    for (row, s) in rest.zip(tail) {
        *s = score_row(table, row);
    }
}

/// One packed block's 64 integer sums with AVX-512 VBMI: for each sub-space, the 64 codes (one
/// line) index the sub-space's 256 `u8` entries, held as four 64-byte quarters. `vpermi2b` looks
/// up 128 entries by the low 7 bits, so two of them cover codes below 128 and from 128 up, and the
/// code's top bit picks between them. The bytes add into two `u16` accumulators, even rows (low
/// byte of each 16-bit lane, masked) and odd rows (high byte, shifted): plain integer ops, where
/// widening with `vpmovzxbw` would cost two more shuffles per line; one permute per block
/// interleaves them back. Integer adds: the sums equal the scalar kernel's. `block` holds
/// `64 × q.len()` codes and `q.len() <= 257` (checked by the caller), so no sum exceeds 65535.
pub(super) fn scan_block_vbmi(
    _: Avx512VbmiToken,
    q: &[[u8; CENTROIDS]],
    block: &[u8],
    out: &mut [u16; 64],
) {
    // SAFETY: the token proves AVX-512F, BW and VBMI were detected at run time.
    unsafe { scan_block_vbmi_impl(q, block, out) }
}

/// How far ahead of the line in use the block kernels (VBMI and AVX2) prefetch codes: 8 KiB into
/// L2 (`T1`). Measured with the VBMI kernel at 1M rows of 96 codes: 4 KiB into L1 (`T0`) left the
/// scan 2.3× its bandwidth floor, L1 prefetches at any distance stayed near that (the prefetches
/// compete with the kernel's own loads of the 24 KiB table), and `T1` / `T2` at 6–16 KiB brought
/// it to 1.1–1.3×.
const AHEAD: usize = 8192;

#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn scan_block_vbmi_impl(q: &[[u8; CENTROIDS]], block: &[u8], out: &mut [u16; 64]) {
    let low = _mm512_set1_epi16(0xFF);
    let mut even = _mm512_setzero_si512();
    let mut odd = _mm512_setzero_si512();
    for (t, codes) in q.iter().zip(block.chunks_exact(64)) {
        // SAFETY: `t` holds 256 bytes, four 64-byte loads; `codes` holds 64 bytes.
        let (t0, t1, t2, t3, c) = unsafe {
            let p = t.as_ptr();
            (
                _mm512_loadu_si512(p.cast()),
                _mm512_loadu_si512(p.add(64).cast()),
                _mm512_loadu_si512(p.add(128).cast()),
                _mm512_loadu_si512(p.add(192).cast()),
                _mm512_loadu_si512(codes.as_ptr().cast()),
            )
        };
        // The codes are one sequential stream; asking for the line `AHEAD` bytes on keeps more
        // reads in flight than the hardware prefetcher alone (a prefetch never faults, so the
        // address may lie past the slice).
        // SAFETY: a prefetch never faults, whatever the address. (The minimum supported Rust,
        // 1.89, still declares it unsafe; newer ones do not, hence the allow.)
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T1>(codes.as_ptr().wrapping_add(AHEAD).cast())
        };
        let below = _mm512_permutex2var_epi8(t0, c, t1);
        let above = _mm512_permutex2var_epi8(t2, c, t3);
        let v = _mm512_mask_blend_epi8(_mm512_movepi8_mask(c), below, above);
        even = _mm512_add_epi16(even, _mm512_and_si512(v, low));
        odd = _mm512_add_epi16(odd, _mm512_srli_epi16::<8>(v));
    }
    // Row 2i is even's lane i, row 2i + 1 odd's (index 32 + i of the pair).
    let first = _mm512_set_epi16(
        47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6, 37, 5, 36, 4,
        35, 3, 34, 2, 33, 1, 32, 0,
    );
    let second = _mm512_add_epi16(first, _mm512_set1_epi16(16));
    let lo = _mm512_permutex2var_epi16(even, first, odd);
    let hi = _mm512_permutex2var_epi16(even, second, odd);
    // SAFETY: `out` holds 64 u16, two 64-byte stores.
    unsafe {
        _mm512_storeu_si512(out.as_mut_ptr().cast(), lo);
        _mm512_storeu_si512(out.as_mut_ptr().add(32).cast(), hi);
    }
}

/// One packed block's 64 integer sums with AVX2: for each sub-space, 32 codes at a time look up
/// the sub-space's 256 `u8` entries. `vpshufb` looks up 16 entries by a code's low nibble, so the
/// 16 sixteenths of the table give 16 candidates, and the code's four high bits pick one of them
/// in a tree of 15 byte blends (bit 4 first; each bit is shifted into the byte's top bit, which
/// `vpblendvb` reads). The bytes add into `u16` accumulators for even and odd rows, as in the
/// VBMI kernel. Integer adds: the sums equal the scalar kernel's. `block` holds `64 × q.len()`
/// codes and `q.len() <= 257` (checked by the caller), so no sum exceeds 65535.
pub(super) fn scan_block_avx2(
    _: Avx2Token,
    q: &[[u8; CENTROIDS]],
    block: &[u8],
    out: &mut [u16; 64],
) {
    // SAFETY: the token proves AVX2 was detected at run time.
    unsafe { scan_block_avx2_impl(q, block, out) }
}

#[target_feature(enable = "avx2")]
fn scan_block_avx2_impl(q: &[[u8; CENTROIDS]], block: &[u8], out: &mut [u16; 64]) {
    let low = _mm256_set1_epi16(0xFF);
    // One half of the block (32 rows) at a time: the second pass finds the codes and tables in
    // L1, and one pass's work fits the 16 registers (both halves at once spilled the tables).
    for (h, pair) in out.chunks_exact_mut(32).enumerate() {
        let mut even = _mm256_setzero_si256();
        let mut odd = _mm256_setzero_si256();
        for (t, codes) in q.iter().zip(block.chunks_exact(64)) {
            if h == 0 {
                // As in the VBMI kernel: without it the scan of 1M rows ran 4.5 times slower
                // than in cache.
                // SAFETY: a prefetch never faults, whatever the address. (The minimum supported
                // Rust, 1.89, still declares it unsafe; newer ones do not, hence the allow.)
                #[allow(unused_unsafe)]
                unsafe {
                    _mm_prefetch::<_MM_HINT_T1>(codes.as_ptr().wrapping_add(AHEAD).cast())
                };
            }
            // SAFETY: `codes` holds 64 bytes; bytes `32h .. 32h + 32` with `h < 2`.
            let c = unsafe { _mm256_loadu_si256(codes.as_ptr().add(32 * h).cast()) };
            let v = lookup_avx2(t, c);
            even = _mm256_add_epi16(even, _mm256_and_si256(v, low));
            odd = _mm256_add_epi16(odd, _mm256_srli_epi16::<8>(v));
        }
        // Lane `i` of `even` is row `2i` of the half, of `odd` row `2i + 1`.
        let (mut e, mut o) = ([0u16; 16], [0u16; 16]);
        // SAFETY: `e` and `o` hold 16 u16 each, one 32-byte store.
        unsafe {
            _mm256_storeu_si256(e.as_mut_ptr().cast(), even);
            _mm256_storeu_si256(o.as_mut_ptr().cast(), odd);
        }
        for (rows, (e, o)) in pair.chunks_exact_mut(2).zip(e.into_iter().zip(o)) {
            rows.copy_from_slice(&[e, o]);
        }
    }
}

/// `t[c]` for each of the 32 bytes of `c`.
#[inline]
#[target_feature(enable = "avx2")]
fn lookup_avx2(t: &[u8; CENTROIDS], c: __m256i) -> __m256i {
    // The low nibble, with the top bit clear so `vpshufb` never zeroes a byte.
    let lo = _mm256_and_si256(c, _mm256_set1_epi8(0x0F));
    let sixteenth = |k: usize| {
        // SAFETY: `k < 16`, so bytes `16k .. 16k + 16` lie inside the 256 of `t`.
        let part = unsafe { _mm_loadu_si128(t.as_ptr().add(16 * k).cast()) };
        _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(part), lo)
    };
    let mut level: [__m256i; 16] = core::array::from_fn(sixteenth);
    // Halve the candidates by bit 4, then 5, 6 and 7: after the shift by `3 - b` bit `4 + b` is
    // each byte's top bit (16-bit shifts move no bit of the low byte into the high byte's top).
    let selectors = [
        _mm256_slli_epi16::<3>(c),
        _mm256_slli_epi16::<2>(c),
        _mm256_slli_epi16::<1>(c),
        c,
    ];
    let mut live = 16;
    for s in selectors {
        live /= 2;
        for i in 0..live {
            level[i] = _mm256_blendv_epi8(level[2 * i], level[2 * i + 1], s);
        }
    }
    level[0]
}
