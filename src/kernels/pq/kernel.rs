//! The portable half of the PQ kernels: building the distance table (one function for every
//! level, so every level scans the same table) and the scalar scan, which is the reference the
//! SIMD scans match bit for bit.

use super::{CENTROIDS, Metric};

/// Fills `table` (`m × 256`) for `query` (`m × dsub`) against `codebook` (`m × 256 × dsub`).
/// Lengths are validated by the caller. Each entry is an f32 sum over the `dsub` dimensions in
/// order; the work is `m × 256 × dsub` multiply-adds per query, small next to a scan.
pub(super) fn build_table(
    query: &[f32],
    codebook: &[f32],
    dsub: usize,
    metric: Metric,
    table: &mut [f32],
) {
    let subs = query.chunks_exact(dsub);
    let books = codebook.chunks_exact(CENTROIDS * dsub);
    for ((q, book), out) in subs.zip(books).zip(table.chunks_exact_mut(CENTROIDS)) {
        for (centroid, entry) in book.chunks_exact(dsub).zip(out) {
            *entry = match metric {
                Metric::L2 => q
                    .iter()
                    .zip(centroid)
                    .fold(0.0, |acc, (&x, &c)| acc + (x - c) * (x - c)),
                Metric::InnerProduct => q
                    .iter()
                    .zip(centroid)
                    .fold(0.0, |acc, (&x, &c)| acc + x * c),
            };
        }
    }
}

/// The score of one code row: `table[j][row[j]]` added in order of `j`, starting from 0. This
/// order is the definition every SIMD kernel follows lane by lane.
#[inline]
pub(super) fn score_row(table: &[[f32; CENTROIDS]], row: &[u8]) -> f32 {
    // A `u8` indexes a 256-entry array: no bounds check.
    table
        .iter()
        .zip(row)
        .fold(0.0, |acc, (t, &c)| acc + t[usize::from(c)])
}

/// Rows scored together by [`scan_scalar`]: their codes (6 KiB at `m = 96`) stay in L1 while
/// the scan walks the sub-spaces.
const BLOCK: usize = 64;

/// Scores `scores.len()` rows of `table.len()` codes each (validated by the caller), with
/// scalar loads. The whole table (96 KiB at `m = 96`) does not fit a 32 KiB L1 cache, so rows go
/// in blocks of [`BLOCK`], and each block walks the sub-spaces eight at a time: the eight
/// sub-tables in use (8 KiB) stay in L1, and each row's eight codes come in one 64-bit read.
/// Every row still adds its entries in order of `j`: the scores are [`score_row`]'s.
pub(super) fn scan_scalar(table: &[[f32; CENTROIDS]], codes: &[u8], scores: &mut [f32]) {
    let m = table.len();
    let (groups, last) = table.as_chunks::<8>();
    let split = groups.len() * 8;
    for (block, out) in codes.chunks(BLOCK * m).zip(scores.chunks_mut(BLOCK)) {
        out.fill(0.0);
        for (g, tables) in groups.iter().enumerate() {
            // Four rows per step: four independent chains of adds for the pipeline to overlap.
            let quads = block.chunks_exact(4 * m).zip(out.chunks_exact_mut(4));
            for (rows, acc) in quads {
                let words: [[u8; 8]; 4] = core::array::from_fn(|r| {
                    let at = r * m + 8 * g;
                    rows[at..at + 8].try_into().expect("8 codes")
                });
                let mut a: [f32; 4] = acc.try_into().expect("4 sums");
                for (b, t) in tables.iter().enumerate() {
                    for (a, w) in a.iter_mut().zip(&words) {
                        *a += t[usize::from(w[b])];
                    }
                }
                acc.copy_from_slice(&a);
            }
            let done = out.len() / 4 * 4;
            for (row, acc) in block[done * m..].chunks_exact(m).zip(&mut out[done..]) {
                let word: [u8; 8] = row[8 * g..8 * g + 8].try_into().expect("8 codes");
                for (t, c) in tables.iter().zip(word) {
                    *acc += t[usize::from(c)];
                }
            }
        }
        for (row, acc) in block.chunks_exact(m).zip(out.iter_mut()) {
            for (t, &c) in last.iter().zip(&row[split..]) {
                *acc += t[usize::from(c)];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_entries_are_the_per_subspace_distances() {
        // m = 2, dsub = 2; centroid c of sub-space j is (c, j).
        let codebook: Vec<f32> = (0..2)
            .flat_map(|j| (0..CENTROIDS).flat_map(move |c| [c as f32, j as f32]))
            .collect();
        let query = [1.0, 2.0, 3.0, -1.0];
        let mut l2 = vec![0.0; 2 * CENTROIDS];
        build_table(&query, &codebook, 2, Metric::L2, &mut l2);
        assert_eq!(l2[0], 1.0 + 4.0);
        assert_eq!(l2[5], 16.0 + 4.0);
        assert_eq!(l2[CENTROIDS + 3], 0.0 + 4.0);
        let mut ip = vec![0.0; 2 * CENTROIDS];
        build_table(&query, &codebook, 2, Metric::InnerProduct, &mut ip);
        assert_eq!(ip[5], 5.0);
        assert_eq!(ip[CENTROIDS + 7], 21.0 - 1.0);
    }

    #[test]
    fn scalar_scan_adds_in_subspace_order() {
        // Entries chosen so that the order of the adds shows in the result: 1e8 + 1 - 1e8 is 0 in
        // f32 when added left to right, 1 in any order that cancels the big terms first.
        let mut table = vec![[0.0f32; CENTROIDS]; 3];
        table[0][1] = 1e8;
        table[1][2] = 1.0;
        table[2][3] = -1e8;
        let mut scores = [f32::NAN; 2];
        scan_scalar(&table, &[1, 2, 3, /* */ 0, 2, 0], &mut scores);
        assert_eq!(scores, [0.0, 1.0]);
    }
}
