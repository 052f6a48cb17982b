//! Scratch slices for the kernels: one place that turns a refused request into
//! [`KernelError::ScratchExhausted`], with `requested` the slice's size from its [`Layout`].

use super::KernelError;
use crate::arena_alloc::ArenaAlloc;
use core::alloc::Layout;

/// The error for a refused request of `len` values of `T`: `requested` is the byte size of
/// `[T; len]`, or `usize::MAX` when that size does not fit `isize` (no arena could serve it).
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::{KernelError, staging::exhausted};
///
/// assert_eq!(exhausted::<u64>(3), KernelError::ScratchExhausted { requested: 24 });
/// assert_eq!(exhausted::<u64>(usize::MAX), KernelError::ScratchExhausted { requested: usize::MAX });
/// ```
pub fn exhausted<T>(len: usize) -> KernelError {
    KernelError::ScratchExhausted {
        requested: Layout::array::<T>(len).map_or(usize::MAX, |l| l.size()),
    }
}

/// Stages `len` values of `T`, the `i`-th made by `f(i)`, in `arena` (a scratch handle or
/// `&Arena`).
///
/// # Errors
///
/// [`KernelError::ScratchExhausted`] when the handle refuses the block (under the
/// [`Error`](crate::OverflowPolicy::Error) policy, for scratch), with `requested` as
/// [`exhausted`] computes it.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::staging::stage;
/// use engram_kernels::with_arena;
///
/// let sum = with_arena(|scratch| {
///     let squares = stage(scratch, 4, |i| (i * i) as u32)?;
///     Ok::<_, engram_kernels::kernels::KernelError>(squares.iter().sum::<u32>())
/// })?;
/// assert_eq!(sum, 14);
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn stage<'a, T>(
    arena: impl ArenaAlloc<'a>,
    len: usize,
    f: impl FnMut(usize) -> T,
) -> Result<&'a mut [T], KernelError> {
    arena
        .try_alloc_slice_fill_with(len, f)
        .map_err(|_| exhausted::<T>(len))
}

/// Stages a copy of `items` in `arena`.
///
/// # Errors
///
/// As for [`stage`].
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::staging::stage_copy;
/// use engram_kernels::with_arena;
///
/// with_arena(|scratch| {
///     let copy = stage_copy(scratch, &[1.0f32, 2.0])?;
///     copy[0] = 5.0;
///     assert_eq!(copy, &[5.0, 2.0]);
///     Ok::<(), engram_kernels::kernels::KernelError>(())
/// })?;
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn stage_copy<'a, T: Copy>(
    arena: impl ArenaAlloc<'a>,
    items: &[T],
) -> Result<&'a mut [T], KernelError> {
    arena
        .try_alloc_slice_copy(items)
        .map_err(|_| exhausted::<T>(items.len()))
}
