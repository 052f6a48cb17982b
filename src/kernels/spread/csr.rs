//! A borrowed, validated compressed-sparse-row graph.

use crate::kernels::GraphError;

/// A directed, weighted graph in compressed sparse row form, borrowed from the caller and
/// validated once on construction, so the kernels can index it without re-checking.
///
/// Node `u`'s out-edges are `offsets[u] .. offsets[u + 1]`; edge `e` goes to `targets[e]` with
/// weight `weights[e]`.
///
/// Offsets are `usize`: they index `targets` and `weights` directly (no casts in the edge loop),
/// and they allow more than `u32::MAX` edges, which a graph of up to 2³² nodes (the range of the
/// `u32` targets) can reach at a handful of edges per node. They cost 8 bytes per node, small next
/// to the 8 bytes per edge of `targets` and `weights`.
///
/// Weights are not checked: NaN and infinite weights propagate as IEEE arithmetic says.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::{GraphError, KernelError, spread::CsrGraph};
///
/// let g = CsrGraph::new(&[0, 2, 3, 3], &[1, 2, 2], &[0.5, 0.3, 1.0])?;
/// assert_eq!((g.num_nodes(), g.num_edges()), (3, 3));
///
/// let err = CsrGraph::new(&[0, 1], &[7], &[1.0]).unwrap_err();
/// assert_eq!(err, KernelError::InvalidGraph(GraphError::TargetOutOfRange {
///     edge: 0, target: 7, num_nodes: 1,
/// }));
/// # Ok::<(), KernelError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CsrGraph<'a> {
    offsets: &'a [usize],
    targets: &'a [u32],
    weights: &'a [f32],
}

impl<'a> CsrGraph<'a> {
    /// Validates and wraps a CSR graph of `offsets.len() - 1` nodes.
    ///
    /// The checks, in order: `offsets` is not empty ([`GraphError::EmptyOffsets`]), starts at 0
    /// ([`GraphError::OffsetsStart`]), never decreases ([`GraphError::OffsetsNotMonotone`]) and
    /// ends at `targets.len()` ([`GraphError::OffsetsEnd`]); `weights.len() == targets.len()`
    /// ([`GraphError::WeightsLength`]); every target is a node ([`GraphError::TargetOutOfRange`]).
    /// Validation is O(N + E).
    ///
    /// # Errors
    ///
    /// [`KernelError::InvalidGraph`](crate::kernels::KernelError::InvalidGraph) with the first
    /// failed check.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::{GraphError, KernelError, spread::CsrGraph};
    ///
    /// let err = CsrGraph::new(&[0, 2, 1], &[0, 1], &[1.0, 1.0]).unwrap_err();
    /// assert_eq!(err.to_string(),
    ///     "invalid graph: offsets decrease at index 2: 2 is followed by 1");
    /// ```
    pub fn new(
        offsets: &'a [usize],
        targets: &'a [u32],
        weights: &'a [f32],
    ) -> Result<Self, crate::kernels::KernelError> {
        validate(offsets, targets, weights)?;
        Ok(Self {
            offsets,
            targets,
            weights,
        })
    }

    /// The number of nodes, `offsets.len() - 1`.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::spread::CsrGraph;
    /// assert_eq!(CsrGraph::new(&[0], &[], &[])?.num_nodes(), 0);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn num_nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The number of edges, `targets.len()`.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::spread::CsrGraph;
    /// assert_eq!(CsrGraph::new(&[0, 1], &[0], &[2.0])?.num_edges(), 1);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn num_edges(&self) -> usize {
        self.targets.len()
    }

    /// The out-edges of `node` as parallel `(targets, weights)` slices.
    ///
    /// # Panics
    ///
    /// If `node >= self.num_nodes()`.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::spread::CsrGraph;
    /// let g = CsrGraph::new(&[0, 2, 2], &[1, 0], &[0.5, 0.25])?;
    /// assert_eq!(g.edges(0), (&[1, 0][..], &[0.5, 0.25][..]));
    /// assert_eq!(g.edges(1), (&[][..], &[][..]));
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    #[inline]
    pub fn edges(&self, node: usize) -> (&'a [u32], &'a [f32]) {
        let (lo, hi) = (self.offsets[node], self.offsets[node + 1]);
        (&self.targets[lo..hi], &self.weights[lo..hi])
    }
}

fn validate(offsets: &[usize], targets: &[u32], weights: &[f32]) -> Result<(), GraphError> {
    let (&first, rest) = offsets.split_first().ok_or(GraphError::EmptyOffsets)?;
    if first != 0 {
        return Err(GraphError::OffsetsStart { first });
    }
    let mut previous = first;
    for (i, &next) in rest.iter().enumerate() {
        if next < previous {
            return Err(GraphError::OffsetsNotMonotone {
                index: i + 1,
                previous,
                next,
            });
        }
        previous = next;
    }
    if previous != targets.len() {
        return Err(GraphError::OffsetsEnd {
            last: previous,
            num_edges: targets.len(),
        });
    }
    if weights.len() != targets.len() {
        return Err(GraphError::WeightsLength {
            expected: targets.len(),
            actual: weights.len(),
        });
    }
    let num_nodes = offsets.len() - 1;
    match targets.iter().position(|&t| t as usize >= num_nodes) {
        Some(edge) => Err(GraphError::TargetOutOfRange {
            edge,
            target: targets[edge] as usize,
            num_nodes,
        }),
        None => Ok(()),
    }
}
