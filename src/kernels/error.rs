//! Errors returned by the kernels: bad input is reported, never UB and never silently wrong.

use core::fmt;

/// Why a kernel refused its input or could not get scratch space.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::KernelError;
///
/// let e = KernelError::LengthMismatch { what: "scores", expected: 3, actual: 2 };
/// assert_eq!(e.to_string(), "scores has length 2, expected 3");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum KernelError {
    /// A slice has the wrong length for the others it goes with.
    LengthMismatch {
        /// Which argument.
        what: &'static str,
        /// The length it needs.
        expected: usize,
        /// The length it has.
        actual: usize,
    },
    /// A slice's length is not a multiple of the vector dimension.
    NotAMultiple {
        /// Which argument.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The dimension it must be a multiple of.
        dim: usize,
    },
    /// The query has no components, so it cannot be compared with candidates.
    EmptyQuery,
    /// A query holds NaN or an infinity: its cosine with anything is undefined.
    NotFinite {
        /// Which argument (`"query"`, or `"queries"` for the many-query kernels).
        what: &'static str,
        /// The index of the first non-finite element in that slice.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// A seed of a frontier spread names a node the graph does not have.
    SeedOutOfRange {
        /// The seed's position in `seeds`.
        seed: usize,
        /// The node it names.
        node: usize,
        /// The number of nodes in the graph.
        num_nodes: usize,
    },
    /// A numeric parameter is out of its allowed range (for example a non-positive time constant).
    InvalidParameter {
        /// Which parameter.
        what: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// A graph failed validation.
    InvalidGraph(GraphError),
    /// Scratch space was refused under the [`OverflowPolicy::Error`](crate::OverflowPolicy::Error)
    /// policy.
    ScratchExhausted {
        /// Bytes the kernel asked for.
        requested: usize,
    },
}

/// Why a CSR graph is invalid.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::GraphError;
///
/// let e = GraphError::TargetOutOfRange { edge: 4, target: 9, num_nodes: 5 };
/// assert_eq!(e.to_string(), "edge 4 targets node 9, but the graph has 5 nodes");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GraphError {
    /// `offsets` is empty; it needs `num_nodes + 1` entries.
    EmptyOffsets,
    /// `offsets[0]` is not 0.
    OffsetsStart {
        /// The first offset.
        first: usize,
    },
    /// `offsets[index] < offsets[index - 1]`.
    OffsetsNotMonotone {
        /// Where the offsets decrease.
        index: usize,
        /// `offsets[index - 1]`.
        previous: usize,
        /// `offsets[index]`.
        next: usize,
    },
    /// The last offset is not the number of edges.
    OffsetsEnd {
        /// The last offset.
        last: usize,
        /// `targets.len()`.
        num_edges: usize,
    },
    /// `weights.len() != targets.len()`.
    WeightsLength {
        /// `targets.len()`.
        expected: usize,
        /// `weights.len()`.
        actual: usize,
    },
    /// An edge points at a node that does not exist.
    TargetOutOfRange {
        /// The edge index.
        edge: usize,
        /// Its target.
        target: usize,
        /// The number of nodes.
        num_nodes: usize,
    },
}

/// `Ok` if `actual == expected`, else the [`KernelError::LengthMismatch`] that names `what`.
pub(crate) fn expect_len(
    what: &'static str,
    expected: usize,
    actual: usize,
) -> Result<(), KernelError> {
    if actual == expected {
        Ok(())
    } else {
        Err(KernelError::LengthMismatch {
            what,
            expected,
            actual,
        })
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthMismatch {
                what,
                expected,
                actual,
            } => {
                write!(f, "{what} has length {actual}, expected {expected}")
            }
            Self::NotAMultiple { what, len, dim } => {
                write!(
                    f,
                    "{what} has length {len}, which is not a multiple of the dimension {dim}"
                )
            }
            Self::EmptyQuery => f.write_str("query is empty"),
            Self::NotFinite { what, index, value } => write!(
                f,
                "{what}[{index}] is {value}; cosine similarity needs finite components"
            ),
            Self::SeedOutOfRange {
                seed,
                node,
                num_nodes,
            } => write!(
                f,
                "seed {seed} names node {node}, but the graph has {num_nodes} nodes"
            ),
            Self::InvalidParameter {
                what,
                value,
                requirement,
            } => {
                write!(f, "{what} is {value}, but it must be {requirement}")
            }
            Self::InvalidGraph(e) => write!(f, "invalid graph: {e}"),
            Self::ScratchExhausted { requested } => write!(
                f,
                "scratch arena refused {requested} bytes under the Error overflow policy; \
                 raise ENGRAM_ARENA_SIZE or use the Fallback policy"
            ),
        }
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyOffsets => write!(f, "offsets is empty; it needs num_nodes + 1 entries"),
            Self::OffsetsStart { first } => write!(f, "offsets[0] is {first}, expected 0"),
            Self::OffsetsNotMonotone {
                index,
                previous,
                next,
            } => write!(
                f,
                "offsets decrease at index {index}: {previous} is followed by {next}"
            ),
            Self::OffsetsEnd { last, num_edges } => write!(
                f,
                "the last offset is {last}, but there are {num_edges} edges"
            ),
            Self::WeightsLength { expected, actual } => {
                write!(
                    f,
                    "weights has length {actual}, expected {expected} (one per edge)"
                )
            }
            Self::TargetOutOfRange {
                edge,
                target,
                num_nodes,
            } => write!(
                f,
                "edge {edge} targets node {target}, but the graph has {num_nodes} nodes"
            ),
        }
    }
}

impl std::error::Error for KernelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidGraph(e) => Some(e),
            _ => None,
        }
    }
}

impl std::error::Error for GraphError {}

impl From<GraphError> for KernelError {
    fn from(e: GraphError) -> Self {
        Self::InvalidGraph(e)
    }
}
