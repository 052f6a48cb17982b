//! The sparse, frontier-driven spread: from seed nodes, hop by hop, touching only what it reaches.

use super::CsrGraph;
use crate::kernels::KernelError;
use crate::kernels::error::expect_len;
use crate::kernels::staging::{exhausted, stage};
use crate::scratch::Scratch;
use allocator_api2::vec::Vec;

/// Validated parameters of [`spread_frontier`].
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::spread::FrontierParams;
///
/// let p = FrontierParams::new(0.5, 0.01, 3)?;
/// assert_eq!((p.hop_decay(), p.threshold(), p.max_hops()), (0.5, 0.01, 3));
///
/// let err = FrontierParams::new(1.5, 0.0, 3).unwrap_err();
/// assert_eq!(err.to_string(), "hop_decay is 1.5, but it must be in (0, 1]");
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrontierParams {
    hop_decay: f32,
    threshold: f32,
    max_hops: u32,
}

impl FrontierParams {
    /// Checks and bundles the parameters.
    ///
    /// * `hop_decay`: the factor applied to what a node sends at each hop, in `(0, 1]`;
    /// * `threshold`: a node spreads only if its activation is at least this, finite and `>= 0`;
    /// * `max_hops`: the number of hops; 0 only adds the seeds.
    ///
    /// # Errors
    ///
    /// [`KernelError::InvalidParameter`] naming the first parameter out of range (NaN included).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::spread::FrontierParams;
    ///
    /// assert!(FrontierParams::new(1.0, 0.0, 0).is_ok());
    /// assert!(FrontierParams::new(0.0, 0.0, 1).is_err());
    /// assert!(FrontierParams::new(0.5, f32::NAN, 1).is_err());
    /// ```
    pub fn new(hop_decay: f32, threshold: f32, max_hops: u32) -> Result<Self, KernelError> {
        if !(hop_decay > 0.0 && hop_decay <= 1.0) {
            return Err(KernelError::InvalidParameter {
                what: "hop_decay",
                value: hop_decay.into(),
                requirement: "in (0, 1]",
            });
        }
        if !(threshold.is_finite() && threshold >= 0.0) {
            return Err(KernelError::InvalidParameter {
                what: "threshold",
                value: threshold.into(),
                requirement: "finite and >= 0",
            });
        }
        Ok(Self {
            hop_decay,
            threshold,
            max_hops,
        })
    }

    /// The per-hop decay factor, in `(0, 1]`.
    ///
    /// ```
    /// # use engram_kernels::kernels::spread::FrontierParams;
    /// assert_eq!(FrontierParams::new(0.25, 0.0, 1)?.hop_decay(), 0.25);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn hop_decay(&self) -> f32 {
        self.hop_decay
    }

    /// The activation below which a node does not spread.
    ///
    /// ```
    /// # use engram_kernels::kernels::spread::FrontierParams;
    /// assert_eq!(FrontierParams::new(1.0, 0.1, 1)?.threshold(), 0.1);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The number of hops.
    ///
    /// ```
    /// # use engram_kernels::kernels::spread::FrontierParams;
    /// assert_eq!(FrontierParams::new(1.0, 0.0, 7)?.max_hops(), 7);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn max_hops(&self) -> u32 {
        self.max_hops
    }
}

/// What a [`spread_frontier`] call did.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::spread::FrontierSummary;
/// let s = FrontierSummary::default();
/// assert_eq!((s.reached, s.fired, s.hops), (0, 0, 0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrontierSummary {
    /// Distinct nodes whose activation the call changed or could have changed: the seeds and every
    /// node an edge reached.
    pub reached: usize,
    /// Node expansions (each node expands at most once).
    pub fired: usize,
    /// Hops in which at least one node expanded.
    pub hops: u32,
}

/// One reached node: `original` restores `activations` if scratch runs out, `fire` is the
/// activation it spreads, read when its hop starts.
#[derive(Clone, Copy)]
struct Entry {
    node: u32,
    original: f32,
    fire: f32,
}

/// Spreads activation from `seeds` hop by hop, touching only the nodes it reaches, in place.
///
/// Exact semantics:
///
/// 1. Every seed `(node, a)` adds `a` to `activations[node]` (repeated seeds add up); the distinct
///    seed nodes, in first-seen order, form the hop-1 frontier.
/// 2. Hop `h = 1 ..= max_hops`: first every frontier node `u` reads its activation `a_u` (so pushes
///    made during hop `h` do not change what hop `h` sends). Then, in frontier order, every `u` with
///    `a_u >= threshold` *fires*: for each out-edge `u → t` with weight `w`, in edge order,
///    `activations[t] += (a_u * hop_decay) * w`. Targets not reached before (not seeds, not in
///    any frontier so far) join the hop-`h + 1` frontier in the order they are first reached.
/// 3. A node is in at most one frontier, so it fires at most once. Activation that reaches it later
///    accumulates but is not passed on. A node whose activation is NaN or below the threshold
///    never fires. The spread stops after `max_hops` hops or when the frontier is empty.
///
/// There is no normalisation: weights, decay and threshold bound the result. Nodes that are never
/// reached keep their activation, and their activation is never read.
///
/// Scratch: a visited bitset of N/8 bytes plus 12 bytes per reached node, from the thread's
/// arena; the work is proportional to the reached nodes and their edges, not to N.
///
/// # Errors
///
/// * [`KernelError::LengthMismatch`] when `activations.len() != graph.num_nodes()`;
/// * [`KernelError::SeedOutOfRange`] for a seed outside the graph,
///   [`KernelError::InvalidParameter`] for a seed activation that is not finite;
/// * [`KernelError::ScratchExhausted`] under the [`Error`](crate::OverflowPolicy::Error)
///   overflow policy when the bitset or the queue does not fit. `activations` is then restored
///   to its values before the call.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::spread::{CsrGraph, FrontierParams, spread_frontier};
///
/// // 0 → 1 → 2 → 3, every weight 1
/// let g = CsrGraph::new(&[0, 1, 2, 3, 3], &[1, 2, 3], &[1.0; 3])?;
/// let mut act = [0.0; 4];
/// let params = FrontierParams::new(0.5, 0.2, 10)?;
/// let summary = spread_frontier(&g, &[(0, 1.0)], &params, &mut act)?;
/// // node 2 receives .25 and fires .125 into node 3, whose .125 is below the threshold
/// assert_eq!(act, [1.0, 0.5, 0.25, 0.125]);
/// assert_eq!((summary.reached, summary.fired, summary.hops), (4, 3, 3));
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn spread_frontier(
    graph: &CsrGraph<'_>,
    seeds: &[(u32, f32)],
    params: &FrontierParams,
    activations: &mut [f32],
) -> Result<FrontierSummary, KernelError> {
    let n = graph.num_nodes();
    expect_len("activations", n, activations.len())?;
    for (seed, &(node, a)) in seeds.iter().enumerate() {
        if node as usize >= n {
            return Err(KernelError::SeedOutOfRange {
                seed,
                node: node as usize,
                num_nodes: n,
            });
        }
        if !a.is_finite() {
            return Err(KernelError::InvalidParameter {
                what: "seed activation",
                value: a.into(),
                requirement: "finite",
            });
        }
    }
    if seeds.is_empty() {
        return Ok(FrontierSummary::default());
    }
    crate::scratch::with_arena(|scratch| {
        let words = n.div_ceil(64);
        let visited = stage(scratch, words, |_| 0u64)?;
        let mut walk = Walk {
            queue: Vec::new_in(scratch),
            visited,
            n,
        };
        let result = walk.run(graph, seeds, params, activations);
        if result.is_err() {
            for e in walk.queue.iter() {
                activations[e.node as usize] = e.original;
            }
        }
        result
    })
}

/// The frontier queue (every reached node in the order reached; hop `h`'s frontier is a
/// contiguous run of it) and the visited bitset.
struct Walk<'s> {
    queue: Vec<Entry, Scratch<'s>>,
    visited: &'s mut [u64],
    n: usize,
}

impl Walk<'_> {
    fn run(
        &mut self,
        graph: &CsrGraph<'_>,
        seeds: &[(u32, f32)],
        params: &FrontierParams,
        act: &mut [f32],
    ) -> Result<FrontierSummary, KernelError> {
        for &(node, a) in seeds {
            self.reach(node, act)?;
            act[node as usize] += a;
        }
        let mut summary = FrontierSummary::default();
        let (mut lo, mut hi) = (0, self.queue.len());
        for hop in 1..=params.max_hops {
            if lo == hi {
                break;
            }
            for e in &mut self.queue[lo..hi] {
                e.fire = act[e.node as usize];
            }
            let fired_before = summary.fired;
            for i in lo..hi {
                let Entry { node, fire, .. } = self.queue[i];
                // NaN never reaches the threshold
                let fires = fire >= params.threshold;
                if !fires {
                    continue;
                }
                summary.fired += 1;
                let out = fire * params.hop_decay;
                let (targets, weights) = graph.edges(node as usize);
                for (&t, &w) in targets.iter().zip(weights) {
                    self.reach(t, act)?;
                    act[t as usize] += out * w;
                }
            }
            if summary.fired > fired_before {
                summary.hops = hop;
            }
            (lo, hi) = (hi, self.queue.len());
        }
        summary.reached = self.queue.len();
        Ok(summary)
    }

    /// Marks `node` visited and queues it if it is new. Fails (touching nothing) when the queue
    /// cannot grow.
    #[inline(always)]
    fn reach(&mut self, node: u32, act: &[f32]) -> Result<(), KernelError> {
        let (word, bit) = (node as usize / 64, 1u64 << (node % 64));
        if self.visited[word] & bit != 0 {
            return Ok(());
        }
        if self.queue.len() == self.queue.capacity() {
            self.grow()?;
        }
        self.visited[word] |= bit;
        self.queue.push(Entry {
            node,
            original: act[node as usize],
            fire: 0.0,
        });
        Ok(())
    }

    #[cold]
    fn grow(&mut self) -> Result<(), KernelError> {
        // At most n nodes are ever queued, so the capacity never needs to pass n.
        let new_cap = (self.queue.capacity() * 2).max(64).min(self.n);
        self.queue
            .try_reserve_exact(new_cap - self.queue.len())
            .map_err(|_| exhausted::<Entry>(new_cap))
    }
}
