//! The checks every export makes before its kernel runs ([`Args`]), and the panic guard and
//! status mapping around its body.

use crate::{ENGRAM_ERR_INVALID, ENGRAM_ERR_NULL, ENGRAM_ERR_SCRATCH, ENGRAM_OK};
use engram_kernels::config::{self, OverflowPolicy};
use engram_kernels::diag;
use engram_kernels::kernels::KernelError;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs an export's body; a panic aborts instead of unwinding into C (the panic hook has already
/// printed its message).
pub(crate) fn guard<R>(body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(_) => std::process::abort(),
    }
}

/// [`guard`] for a body whose checks return `Err(status)`; either way the status comes back (the
/// void exports drop it).
pub(crate) fn guard_status(body: impl FnOnce() -> Result<i32, i32>) -> i32 {
    guard(|| body().unwrap_or_else(|code| code))
}

/// Maps a kernel result to a status, aborting on exhausted scratch under the `panic` policy.
pub(crate) fn status(result: Result<(), KernelError>) -> i32 {
    match result {
        Ok(()) => ENGRAM_OK,
        Err(e @ KernelError::ScratchExhausted { .. }) => {
            if config::current().overflow == OverflowPolicy::Panic {
                diag::report(format_args!("{e} (overflow policy: panic); aborting"));
                std::process::abort();
            }
            ENGRAM_ERR_SCRATCH
        }
        Err(_) => ENGRAM_ERR_INVALID,
    }
}

/// Whether two byte ranges `(address, length)` share a byte. Empty ranges overlap nothing; never
/// wraps.
fn overlaps((a, n): (usize, usize), (b, m): (usize, usize)) -> bool {
    n != 0 && m != 0 && a < b.saturating_add(m) && b < a.saturating_add(n)
}

/// The most pointer arguments one export takes.
const MAX_ARGS: usize = 8;

/// The pointer arguments of one export call, turned into slices one `(pointer, length)` pair at a
/// time. Each pair is checked before its slice exists: a null or misaligned pointer with a
/// non-zero length is [`ENGRAM_ERR_NULL`]; a byte size past `isize::MAX` or past the end of the
/// address space is [`ENGRAM_ERR_INVALID`]; so is an output that overlaps any other argument, or
/// an input that overlaps an output (checked in whichever order they are taken, so an aliased
/// `&mut` slice never exists). A zero length gives an empty slice whatever the pointer.
///
/// All of an export's checks are made before its kernel runs, so a refused call reads and writes
/// nothing.
pub(crate) struct Args<'a> {
    /// `(address, bytes, is_output)` of each slice handed out so far.
    taken: [(usize, usize, bool); MAX_ARGS],
    count: usize,
    _slices: core::marker::PhantomData<&'a mut [u8]>,
}

impl<'a> Args<'a> {
    /// # Safety
    ///
    /// The export's contract (the header's): every pair later passed to [`input`](Self::input)
    /// or [`output`](Self::output) whose pointer is non-null and aligned points at `length`
    /// initialised elements that stay valid for `'a`, and nothing outside this call accesses the
    /// memory of an output, or writes the memory of an input, during `'a`.
    // Inlined, like the methods below: then the slot count is a constant at each call, the slots
    // live in registers and the checks of a two-pointer export are a few compares.
    #[inline(always)]
    pub(crate) unsafe fn new() -> Self {
        Args {
            taken: [(0, 0, false); MAX_ARGS],
            count: 0,
            _slices: core::marker::PhantomData,
        }
    }

    /// Checks the pair and records its byte range; `Err` is a status.
    #[inline(always)]
    fn take<T>(&mut self, addr: usize, aligned: bool, len: usize, output: bool) -> Result<(), i32> {
        if len == 0 {
            return Ok(());
        }
        if addr == 0 || !aligned {
            return Err(ENGRAM_ERR_NULL);
        }
        // Two compares against constants: the size fits isize, and the range does not wrap.
        if len > isize::MAX as usize / size_of::<T>().max(1) {
            return Err(ENGRAM_ERR_INVALID);
        }
        let bytes = len * size_of::<T>();
        if addr > usize::MAX - bytes {
            return Err(ENGRAM_ERR_INVALID);
        }
        let span = (addr, bytes);
        let taken = &self.taken[..self.count];
        if taken
            .iter()
            .any(|&(a, n, out)| (out || output) && overlaps(span, (a, n)))
        {
            return Err(ENGRAM_ERR_INVALID);
        }
        assert!(
            self.count < MAX_ARGS,
            "an export takes at most {MAX_ARGS} pointers"
        );
        self.taken[self.count] = (addr, bytes, output);
        self.count += 1;
        Ok(())
    }

    /// The input slice behind `(ptr, len)`.
    #[inline(always)]
    pub(crate) fn input<T>(&mut self, ptr: *const T, len: usize) -> Result<&'a [T], i32> {
        self.take::<T>(ptr.addr(), ptr.is_aligned(), len, false)?;
        if len == 0 {
            return Ok(&[]);
        }
        // SAFETY: `take` checked that `ptr` is non-null and aligned, that the size fits isize and
        // the address space, and that no output handed out overlaps it; validity for `'a` and the
        // absence of outside writers are `new`'s contract.
        Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
    }

    /// The output slice behind `(ptr, len)`, overlapping nothing else taken.
    #[inline(always)]
    pub(crate) fn output<T>(&mut self, ptr: *mut T, len: usize) -> Result<&'a mut [T], i32> {
        self.take::<T>(ptr.addr(), ptr.is_aligned(), len, true)?;
        if len == 0 {
            return Ok(&mut []);
        }
        // SAFETY: as in `input`; the range overlaps no other argument taken (checked by `take`,
        // and every later one is checked against it), so this `&mut` is unique for `'a`.
        Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_arithmetic() {
        assert!(overlaps((100, 10), (109, 1)));
        assert!(!overlaps((100, 10), (110, 5)));
        assert!(!overlaps((110, 5), (100, 10)));
        assert!(
            !overlaps((100, 0), (100, 10)),
            "empty ranges overlap nothing"
        );
        assert!(
            overlaps((usize::MAX - 4, 10), (usize::MAX - 1, 1)),
            "saturates, never wraps"
        );
        assert!(!overlaps((0, usize::MAX), (usize::MAX, 0)));
    }

    #[test]
    fn args_check_each_pair_before_its_slice_exists() {
        let (mut x, y) = ([1.0f32; 4], [2.0f32; 4]);
        let (px, py) = (x.as_mut_ptr(), y.as_ptr());
        // SAFETY: every non-null pointer below is valid for the length passed with it.
        let mut args = unsafe { Args::new() };
        assert_eq!(args.input(py, 4).map(|s| s.len()), Ok(4));
        assert_eq!(
            args.input(py, 2).map(|s| s[1]),
            Ok(2.0),
            "inputs may share memory"
        );
        assert_eq!(
            args.output(py.cast_mut(), 1).err(),
            Some(ENGRAM_ERR_INVALID),
            "an output may not overlap an input"
        );
        assert_eq!(args.output(px, 4).map(|s| s.len()), Ok(4));
        assert_eq!(
            args.input(px.cast_const(), 1).err(),
            Some(ENGRAM_ERR_INVALID)
        );
        assert_eq!(
            args.output(px.wrapping_add(3), 1).err(),
            Some(ENGRAM_ERR_INVALID)
        );
        assert_eq!(args.output(px.wrapping_add(4), 0).map(|s| s.len()), Ok(0));
        assert_eq!(
            args.input::<f32>(std::ptr::null(), 0).map(|s| s.len()),
            Ok(0)
        );
        assert_eq!(
            args.input::<f32>(std::ptr::null(), 1).err(),
            Some(ENGRAM_ERR_NULL)
        );
        let misaligned = py.cast::<u8>().wrapping_add(1).cast::<f32>();
        assert_eq!(args.input(misaligned, 1).err(), Some(ENGRAM_ERR_NULL));
        for huge in [usize::MAX, usize::MAX / 4, isize::MAX as usize / 4 + 1] {
            assert_eq!(
                args.input(py, huge).err(),
                Some(ENGRAM_ERR_INVALID),
                "{huge}"
            );
        }
    }

    #[test]
    fn args_refuse_a_range_that_wraps_the_address_space() {
        // SAFETY: no slice is created: every call below is refused before that.
        let mut args = unsafe { Args::new() };
        let end = std::ptr::without_provenance::<u64>(usize::MAX - 7);
        assert_eq!(args.input(end, 2).err(), Some(ENGRAM_ERR_INVALID));
    }
}
