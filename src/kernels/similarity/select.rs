//! Top-k selection: a bounded min-heap over caller-provided slots.

use super::Match;

/// Keeps the best `slots.len()` matches pushed so far, in `slots`; the root is the worst kept.
pub(in crate::kernels) struct TopK<'a> {
    slots: &'a mut [Match],
    len: usize,
}

impl<'a> TopK<'a> {
    pub(in crate::kernels) fn new(slots: &'a mut [Match]) -> Self {
        TopK { slots, len: 0 }
    }

    /// Offers one candidate; a NaN score (undefined: the kernel's marker) is skipped.
    #[inline]
    pub(in crate::kernels) fn push(&mut self, index: usize, score: f32) {
        if score.is_nan() || self.slots.is_empty() {
            return;
        }
        let cand = Match { index, score };
        if self.len < self.slots.len() {
            self.slots[self.len] = cand;
            self.len += 1;
            sift_up(&mut self.slots[..self.len], self.len - 1);
        } else if better(&cand, &self.slots[0]) {
            self.slots[0] = cand;
            sift_down(self.slots, 0);
        }
    }

    /// Sorts the kept matches best first and returns how many there are.
    pub(in crate::kernels) fn finish(self) -> usize {
        let kept = &mut self.slots[..self.len];
        kept.sort_unstable_by(|a, b| {
            if better(a, b) {
                core::cmp::Ordering::Less
            } else if better(b, a) {
                core::cmp::Ordering::Greater
            } else {
                core::cmp::Ordering::Equal
            }
        });
        self.len
    }
}

/// Higher score first, then lower index. Scores are never NaN here (`push` skips them).
#[inline]
fn better(a: &Match, b: &Match) -> bool {
    a.score > b.score || (a.score == b.score && a.index < b.index)
}

/// Min-heap on `better`: the root is the worst match kept.
fn sift_up(heap: &mut [Match], mut i: usize) {
    while i > 0 {
        let parent = (i - 1) / 2;
        if !better(&heap[parent], &heap[i]) {
            break;
        }
        heap.swap(parent, i);
        i = parent;
    }
}

fn sift_down(heap: &mut [Match], mut i: usize) {
    loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut worst = i;
        if l < heap.len() && better(&heap[worst], &heap[l]) {
            worst = l;
        }
        if r < heap.len() && better(&heap[worst], &heap[r]) {
            worst = r;
        }
        if worst == i {
            return;
        }
        heap.swap(worst, i);
        i = worst;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_and_skips_nan() {
        let mut slots = [Match::default(); 3];
        let mut heap = TopK::new(&mut slots);
        for (i, s) in [0.5, f32::NAN, 0.9, -0.2, 0.9, 0.1, 1.0]
            .into_iter()
            .enumerate()
        {
            heap.push(i, s);
        }
        assert_eq!(heap.finish(), 3);
        let idx: Vec<usize> = slots.iter().map(|m| m.index).collect();
        assert_eq!(idx, [6, 2, 4]);
        let mut none: [Match; 0] = [];
        let mut heap = TopK::new(&mut none);
        heap.push(0, 1.0);
        assert_eq!(heap.finish(), 0);
        let mut slots = [Match::default(); 4];
        let mut heap = TopK::new(&mut slots);
        heap.push(0, f32::NAN);
        heap.push(1, -1.0);
        assert_eq!(heap.finish(), 1);
        assert_eq!(
            slots[0],
            Match {
                index: 1,
                score: -1.0
            }
        );
    }
}
