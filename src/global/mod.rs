//! [`GlobalArena`]: a `#[global_allocator]` that serves every heap allocation made inside a
//! [`with_global_arena`] scope from a per-thread bump arena, and passes everything else through
//! to an inner allocator.
//!
//! ```
//! use engram_kernels::{GlobalArena, with_global_arena};
//! use std::alloc::System;
//!
//! #[global_allocator]
//! static ALLOC: GlobalArena = GlobalArena::new(System);
//!
//! fn main() {
//!     let total = with_global_arena(|| {
//!         // std code, unchanged: these allocations bump in this thread's arena
//!         let words: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
//!         words.iter().map(|w| w.len()).sum::<usize>()
//!     });
//!     assert_eq!(total, 290);
//! }
//! ```
//!
//! # Design
//!
//! **One reserved range, carved into chunks.** All global arenas live in one contiguous range of
//! [`MAX_CHUNKS`] chunks of [`CHUNK_SIZE`] (2 MiB) bytes, 16 GiB of address space natively,
//! reserved with `mmap` the first time any thread needs a chunk: one read-write `MAP_NORESERVE`
//! mapping, so nothing is charged until a page is touched, advised `MADV_HUGEPAGE`, so that the
//! kernel backs each chunk with one transparent huge page (one page fault per 2 MiB instead of
//! 512; see [`RegionStats::huge_page_bytes`]). Where the OS refuses a writable reservation that
//! large (strict overcommit accounting), the range is reserved `PROT_NONE` and each chunk made
//! writable when first used. Chunks are aligned to their size. Whether a pointer is arena memory
//! is `addr - base < range`; its chunk is `(addr - base) >> log2(CHUNK_SIZE)`. No lock, no list
//! walk, and the answer does not depend on which thread asks or in which mode.
//!
//! **Routing.** `alloc` looks at one thread-local flag: inside a scope it bumps in the thread's
//! current chunk; outside it calls the inner allocator. `dealloc` and `realloc` route by address
//! only: arena blocks never reach the inner allocator, and inner blocks never touch an arena,
//! whichever thread frees them, in whichever mode, even after the owning thread has exited.
//!
//! **Large requests get whole chunks.** A request above [`MAX_ARENA_REQUEST`] (a quarter chunk)
//! takes a *span*: a run of whole free chunks of its own, found among the resident free chunks
//! or carved fresh, owned by no thread and holding that one block. Freeing it (on any thread)
//! frees the chunks, which stay resident for the next scope, so a scope's multi-MiB buffers
//! (growing `Vec`s, `String`s, hash tables) neither leave the arena nor fault their pages in
//! again every time. A span grows in place within its last chunk and into free chunks right
//! after it. Only alignments above a chunk spill to the inner allocator.
//!
//! **Freed blocks are reused inside a chunk.** The most recent block of the current chunk is
//! freed and grown in place by moving the cursor. Other dead blocks of 256 bytes or more (above
//! all the buffers a growing `Vec` leaves behind) go into per-thread size-class bins and serve
//! later requests of the same thread while the chunk stays current; the bins are emptied when it
//! changes or rewinds. [`GlobalStats::reused_bytes`] counts them.
//!
//! **A thread moves on instead of spilling.** When a request does not fit the current chunk, the
//! thread rewinds it if nothing in it is alive; otherwise it *parks* it and continues in a parked
//! chunk whose blocks have all died since, or else in a chunk taken from the range. A scope that
//! allocates tens of MiB takes as many chunks as it needs, up to a per-thread cap
//! ([`set_thread_chunk_cap`], default 128 chunks, 256 MiB), and only beyond it spills to the inner
//! allocator. At the exit of the outermost scope the parked chunks are settled: one with nothing
//! alive goes back to the pool, one pinned by blocks that escaped the scope is handed back
//! (*orphaned*) and becomes free when its last block dies, on whichever thread. The current chunk
//! stays with the thread: rewound if everything in it died, otherwise later scopes bump after the
//! escaped blocks until it is full, then move on. So one escaped value never pins a thread, and
//! threads that exit while their values live on leave orphans behind, not lost capacity.
//!
//! **Memory returns to the OS.** A chunk that becomes free while the process already keeps
//! [`retained_bytes`] of free chunks resident (default 64 MiB, [`set_retained_bytes`]) is given
//! back with `madvise(MADV_DONTNEED)`, a whole chunk and so a whole huge page at a time (its
//! address range stays reserved and reads as zero when next used). Chunks that become free by a remote free are counted on the spot and decommitted
//! at the next outermost scope exit or thread exit on any thread. RSS after a burst thus settles
//! near what is live plus the retained amount.
//!
//! **Nothing fails silently.** A scope that cannot get a chunk (range exhausted, mapping refused,
//! per-thread cap reached) passes through, and [`GlobalStats`] says why: `no_chunk_spills`,
//! `cap_spills`, next to `chunks_taken` and `chunks_orphaned`. [`GlobalArena::region`] reports the
//! range itself, and debug builds say once on stderr when no chunk could be had. [`is_installed`] tells whether `GlobalArena` is the global allocator at all;
//! debug builds warn once on stderr when a scope is entered while it is not.
//!
//! **The crate's own code stays out of a user's scope.** While a thread holds (or waits for) one of
//! the crate's locks, routing is suspended on that thread: `parking_lot_core`'s hash table,
//! allocated on the first contended acquisition, goes to the inner allocator, never into a chunk
//! it would pin forever.
//!
//! # The chunk state machine (the soundness core)
//!
//! The transitions live in `chunk.rs`; the thread's view (cursor, current chunk, parked list,
//! when to move on) in `thread.rs`. Each chunk has one atomic word, `OWNED | live × 2`, where
//! `live` counts blocks not yet freed:
//!
//! | word          | state        | meaning                                                    |
//! |---------------|--------------|------------------------------------------------------------|
//! | `0`           | **free**     | no owner, no live block: claimable                         |
//! | odd           | **owned**    | one thread may bump here (live may be any number)          |
//! | even, `> 0`   | **orphaned** | handed back; `word / 2` blocks still alive somewhere       |
//!
//! Transitions, each a single atomic operation:
//!
//! * **claim** (a thread needs a chunk): CAS `0 → 1`, `Acquire`, on a free chunk; or a fresh
//!   chunk carved from the range (claimers skip it until it is committed).
//! * **owner allocates / owner frees**: no atomic read-modify-write. The owner keeps its count
//!   `local` (its allocations minus its own frees): in a thread-local `Cell` for its current
//!   chunk, in the chunk's owner-only field (plain `Relaxed` loads and stores) for parked ones.
//!   A freeing thread tells its own chunk from another's by the owner token in the chunk, which
//!   only the owner writes (at claim, and cleared before it hands the chunk back).
//! * **another thread frees**: `fetch_sub(2)`, `Release`. While owned the `OWNED` bit stays set
//!   whatever the count, so the word can wrap but never reads as free.
//! * **owner asks "is everything dead?"** (moving on to another chunk, outermost scope entry
//!   and exit): `Acquire` load; `live = (word - 1) / 2 + local` in wrapping arithmetic. If `0`,
//!   no block exists anywhere and only the owner could create one, so it may rewind the chunk.
//! * **hand back** (a parked chunk at the outermost scope exit; every chunk at thread exit):
//!   `fetch_add(2 × local - 1)`, `AcqRel`: publishes `local` and clears `OWNED` in one step,
//!   leaving exactly `live × 2`. If that is `0` the chunk is free now; otherwise it is orphaned,
//!   and the free that brings the word to `0` (whoever makes it) makes it free. No thread has to
//!   notice this: `0` *is* free.
//! * **decommit**: the owner (or a trimmer that claimed a free chunk) calls `madvise` before its
//!   hand-back; no one else can be using the chunk then.
//!
//! Every modification is a read-modify-write with `Release`, so the value `0` that a claimer
//! reads carries a release sequence from every earlier free: all uses of the old blocks happen
//! before the new owner's first write. The unit tests replay every interleaving of an owner, two
//! remote freers and a claimer over the word arithmetic.
//!
//! # Allocator hygiene
//!
//! The allocator path reads a `const`-initialised thread local of `Cell`s with no destructor
//! (no lazy init, no registration, still readable while other thread locals are destroyed),
//! touches per-chunk atomics in a static array, and calls the inner allocator. It takes no lock
//! and never allocates; taking a chunk may make one `mmap`/`mprotect` system call. The
//! thread-exit hook is registered at scope entry, before the scope becomes active, so the
//! allocation glibc makes for it passes through. A scope entered during thread teardown simply
//! passes through. After `fork` the child keeps the forking thread's chunks; chunks owned by other
//! threads of the parent stay owned (never reused) in the child, which is safe.
//!
//! # Statistics
//!
//! Per-thread `Cell` counters ([`GlobalStats`]) of what happens *inside* scopes: arena blocks,
//! spills (and why), chunks taken and orphaned. Calls outside scopes are not counted, so that the
//! pass-through path stays a flag test (allocation) or a range test (free) in front of the inner
//! allocator. [`GlobalArena::thread_stats`] reads the calling thread's counters;
//! [`GlobalArena::stats`] sums what threads published at their last outermost scope exit plus
//! the totals of threads that have exited (up to 256 live threads publish at a time; further ones
//! are counted once they exit). [`GlobalArena::region`] describes the reserved range.
//!
//! # Limits
//!
//! * State is process-wide: use one `GlobalArena` per process, as the `#[global_allocator]`.
//! * An escaped block keeps its whole chunk from being reused until it is freed.
//! * 64-bit Unix (Linux above all): `mmap`/`madvise` reserve and return memory, and while no
//!   range is reserved the ownership test compares against the top 16 GiB of the address space
//!   (kernel space, where no freeable pointer lies). Huge pages need transparent huge pages in
//!   `madvise` or `always` mode ([`ThpMode::current`]); elsewhere the range uses 4 KiB pages and
//!   behaves the same.
//! * Targets without `mmap` (Windows): the range is never reserved and every scope passes
//!   through to the inner allocator, counted as `no_chunk_spills`.
//! * The range is 16 GiB of address space (under Miri, 64 chunks of 64 KiB from `System`). If
//!   the OS refuses it (`ulimit -v`), or a chunk cannot be committed (strict overcommit
//!   accounting), scopes pass through and `no_chunk_spills` counts it.
//! * A span is at least a whole chunk: a scope that keeps many blocks just above a quarter chunk
//!   alive at once holds up to four times their size.

mod chunk;
mod future;
mod region;
mod reuse;
mod stats;
mod thp;
mod thread;

pub use chunk::DEFAULT_RETAINED_BYTES;
pub use future::{ArenaFutureExt, InGlobalArena, in_global_arena};
pub use stats::GlobalStats;
pub use thp::ThpMode;
pub use thread::{DEFAULT_THREAD_CHUNK_CAP, MAX_ARENA_REQUEST};

use core::ptr::null_mut;
use core::sync::atomic::{AtomicU8, Ordering};
use std::alloc::{GlobalAlloc, Layout, System};
use thread::LOCAL;

/// Bytes in one chunk of the reserved range; chunks are aligned to their size.
///
/// # Example
///
/// ```
/// use engram_kernels::global::{CHUNK_SIZE, MAX_ARENA_REQUEST};
///
/// assert!(CHUNK_SIZE.is_power_of_two());
/// assert_eq!(MAX_ARENA_REQUEST, CHUNK_SIZE / 4);
/// ```
pub const CHUNK_SIZE: usize = region::CHUNK_SIZE;

/// Chunks in the reserved range (all threads together).
///
/// # Example
///
/// ```
/// assert!(engram_kernels::global::MAX_CHUNKS >= 64);
/// ```
pub const MAX_CHUNKS: usize = region::CHUNK_COUNT;

/// Sets how many chunks one thread may hold at once (its current chunk plus the ones it filled in
/// the current scope); beyond it, allocations in scopes spill to the inner allocator and count as
/// `cap_spills`. At least 1; default [`DEFAULT_THREAD_CHUNK_CAP`]. Process-wide, takes effect at
/// the next chunk a thread needs.
///
/// # Example
///
/// ```
/// use engram_kernels::global::{set_thread_chunk_cap, thread_chunk_cap};
///
/// set_thread_chunk_cap(32); // 64 MiB per thread at most (2 MiB chunks)
/// assert_eq!(thread_chunk_cap(), 32);
/// ```
pub fn set_thread_chunk_cap(chunks: usize) {
    thread::set_thread_chunk_cap(chunks);
}

/// The per-thread chunk cap ([`set_thread_chunk_cap`]).
///
/// # Example
///
/// ```
/// assert!(engram_kernels::global::thread_chunk_cap() >= 1);
/// ```
pub fn thread_chunk_cap() -> usize {
    thread::thread_chunk_cap()
}

/// Sets how many bytes of free chunks the process keeps resident for reuse; chunks freed beyond
/// that are given back to the OS with `madvise(MADV_DONTNEED)`. Rounded down to whole chunks;
/// `0` returns every free chunk. Default [`DEFAULT_RETAINED_BYTES`].
///
/// # Example
///
/// ```
/// use engram_kernels::global::{CHUNK_SIZE, retained_bytes, set_retained_bytes};
///
/// set_retained_bytes(8 * CHUNK_SIZE + 1);
/// assert_eq!(retained_bytes(), 8 * CHUNK_SIZE);
/// ```
pub fn set_retained_bytes(bytes: usize) {
    chunk::set_retained_bytes(bytes);
}

/// The retained amount ([`set_retained_bytes`]), in bytes.
///
/// # Example
///
/// ```
/// assert!(engram_kernels::global::retained_bytes() > 0);
/// ```
pub fn retained_bytes() -> usize {
    chunk::retained_chunks() * CHUNK_SIZE
}

/// The state of the reserved range, from [`GlobalArena::region`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionStats {
    /// The range is reserved (some thread needed a chunk and the OS agreed).
    pub reserved: bool,
    /// The OS refused the reservation: every scope passes through.
    pub refused: bool,
    /// Chunks in the range ([`MAX_CHUNKS`]).
    pub chunks: usize,
    /// Chunks handed out at least once.
    pub carved: usize,
    /// Chunks owned by a thread or still holding live blocks.
    pub in_use: usize,
    /// Free chunks whose pages are kept resident for reuse (approximate under concurrency).
    pub resident_free: usize,
    /// The range is one writable mapping that huge pages can back; `false` in the fallback for
    /// strict overcommit accounting, where chunks are made writable one by one.
    pub single_mapping: bool,
    /// The kernel's transparent-huge-page mode.
    pub thp: ThpMode,
    /// Bytes of the range resident in memory (from `/proc/self/smaps`; `0` where unreadable).
    pub resident_bytes: usize,
    /// Of those, bytes backed by transparent huge pages.
    pub huge_page_bytes: usize,
}

impl RegionStats {
    /// Whether scopes can still get chunks: not refused, and not every chunk in use.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::GlobalArena;
    /// use std::alloc::System;
    ///
    /// #[global_allocator]
    /// static ALLOC: GlobalArena = GlobalArena::new(System);
    ///
    /// engram_kernels::with_global_arena(|| drop(vec![1u8; 10]));
    /// assert!(ALLOC.region().healthy());
    /// ```
    pub fn healthy(&self) -> bool {
        !self.refused && self.in_use < self.chunks
    }

    /// The share of the range's resident bytes on huge pages, in `[0, 1]` (`0` when nothing is
    /// resident).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::GlobalArena;
    /// use std::alloc::System;
    ///
    /// #[global_allocator]
    /// static ALLOC: GlobalArena = GlobalArena::new(System);
    ///
    /// let big = engram_kernels::with_global_arena(|| vec![1u8; 8 << 20]);
    /// let r = ALLOC.region();
    /// println!("{:.0}% of {} resident bytes on huge pages ({:?})",
    ///          r.huge_page_share() * 100.0, r.resident_bytes, r.thp);
    /// assert!((0.0..=1.0).contains(&r.huge_page_share()));
    /// # drop(big);
    /// ```
    pub fn huge_page_share(&self) -> f64 {
        crate::bump::utilization(self.huge_page_bytes, self.resident_bytes)
    }
}

/// Whether a [`GlobalArena`] is the process's `#[global_allocator]`. Without one,
/// [`with_global_arena`] does nothing (debug builds warn once on stderr). The first call makes
/// one small allocation in a scope of its own to find out; the answer is cached. During a
/// thread's teardown, once its scopes can no longer become active, it answers `false` without
/// caching it, and a later call asks again.
///
/// # Example
///
/// ```
/// use engram_kernels::GlobalArena;
/// use std::alloc::System;
///
/// #[global_allocator]
/// static ALLOC: GlobalArena = GlobalArena::new(System);
///
/// assert!(engram_kernels::global::is_installed());
/// ```
pub fn is_installed() -> bool {
    match INSTALLED.load(Ordering::Relaxed) {
        YES => return true,
        NO => return false,
        _ => {}
    }
    // Inside a scope our allocator counts every allocation (arena block or spill); no other
    // allocator touches these counters.
    let before = LOCAL.with(|l| l.counters.snapshot());
    LOCAL.with(thread::Local::enter);
    if !LOCAL.with(thread::Local::active) {
        // Thread teardown (the exit hook is gone): the scope passes through, so the probe would
        // prove nothing. Answer `false` for now, uncached, and ask again next time.
        LOCAL.with(thread::Local::leave);
        return false;
    }
    let probe = std::hint::black_box(Box::new(0u64));
    drop(probe);
    LOCAL.with(thread::Local::leave);
    let installed = LOCAL.with(|l| {
        let after = l.counters.snapshot();
        l.counters.forget_allocations_since(&before);
        after.arena_allocs + after.spills != before.arena_allocs + before.spills
    });
    INSTALLED.store(if installed { YES } else { NO }, Ordering::Relaxed);
    installed
}

static INSTALLED: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;

/// A global allocator that routes allocations made inside [`with_global_arena`] into per-thread
/// bump arenas, and everything else to `inner`. See the [module docs](self) for the design.
///
/// # Example
///
/// ```
/// use engram_kernels::GlobalArena;
/// use std::alloc::System;
///
/// #[global_allocator]
/// static ALLOC: GlobalArena = GlobalArena::new(System);
///
/// let s = engram_kernels::with_global_arena(|| format!("{}-{}", 1, 2));
/// assert_eq!(s, "1-2"); // escaped the scope, still valid
/// # assert!(ALLOC.thread_stats().arena_allocs >= 1);
/// ```
///
/// Any [`GlobalAlloc`] can be the inner allocator. The type parameter defaults to [`System`], so
/// name it when it is another, e.g. `static ALLOC: GlobalArena<MiMalloc> =
/// GlobalArena::new(MiMalloc);`:
///
/// ```
/// use engram_kernels::GlobalArena;
/// use std::alloc::{GlobalAlloc, Layout, System};
///
/// /// Stands in for mimalloc or jemalloc here.
/// struct MyAlloc;
///
/// unsafe impl GlobalAlloc for MyAlloc {
///     unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
///         // SAFETY: forwarded unchanged; our caller upholds `alloc`'s contract.
///         unsafe { System.alloc(layout) }
///     }
///     unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
///         // SAFETY: `ptr` came from `System.alloc` above with `layout`.
///         unsafe { System.dealloc(ptr, layout) }
///     }
/// }
///
/// #[global_allocator]
/// static ALLOC: GlobalArena<MyAlloc> = GlobalArena::new(MyAlloc);
///
/// let n = engram_kernels::with_global_arena(|| vec![1u32; 100].iter().sum::<u32>());
/// assert_eq!(n, 100);
/// ```
pub struct GlobalArena<A: GlobalAlloc = System> {
    inner: A,
}

impl<A: GlobalAlloc> GlobalArena<A> {
    /// Wraps `inner`, the allocator used outside scopes and for requests that do not fit.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::GlobalArena;
    /// use std::alloc::System;
    ///
    /// static ALLOC: GlobalArena<System> = GlobalArena::new(System);
    /// ```
    pub const fn new(inner: A) -> Self {
        GlobalArena { inner }
    }

    /// The inner allocator.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::GlobalArena;
    /// use std::alloc::System;
    ///
    /// let a = GlobalArena::new(System);
    /// let _: &System = a.inner();
    /// ```
    pub const fn inner(&self) -> &A {
        &self.inner
    }

    /// The calling thread's counters since it started (exact, not aggregated).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{GlobalArena, with_global_arena};
    /// use std::alloc::System;
    ///
    /// #[global_allocator]
    /// static ALLOC: GlobalArena = GlobalArena::new(System);
    ///
    /// let before = ALLOC.thread_stats();
    /// let v = with_global_arena(|| vec![1u8; 100]);
    /// let d = ALLOC.thread_stats().since(&before);
    /// assert_eq!((d.arena_allocs, d.spills), (1, 0));
    /// # drop(v);
    /// ```
    pub fn thread_stats(&self) -> GlobalStats {
        LOCAL.with(|l| l.counters.snapshot())
    }

    /// Process-wide counters: every thread that entered a scope, as of its last outermost scope
    /// exit, plus threads that have exited. Walks a table; not for hot loops.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{GlobalArena, with_global_arena};
    /// use std::alloc::System;
    ///
    /// #[global_allocator]
    /// static ALLOC: GlobalArena = GlobalArena::new(System);
    ///
    /// std::thread::spawn(|| with_global_arena(|| drop(vec![0u64; 8]))).join().unwrap();
    /// let s = ALLOC.stats();
    /// assert!(s.arena_allocs >= 1 && s.chunks_taken >= 1);
    /// ```
    pub fn stats(&self) -> GlobalStats {
        stats::aggregate()
    }

    /// How many chunks are owned by a thread or still hold live blocks.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{GlobalArena, with_global_arena};
    /// use std::alloc::System;
    ///
    /// #[global_allocator]
    /// static ALLOC: GlobalArena = GlobalArena::new(System);
    ///
    /// with_global_arena(|| drop(vec![1u8; 10]));
    /// assert!(ALLOC.chunks_in_use() >= 1); // the thread keeps its current chunk until it exits
    /// ```
    pub fn chunks_in_use(&self) -> usize {
        chunk::in_use()
    }

    /// The state of the reserved range: the documented check that scopes still get chunks, and
    /// how much of it is resident and on huge pages. Reads `/proc/self/smaps` (without
    /// allocating): not for hot loops.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{GlobalArena, with_global_arena};
    /// use std::alloc::System;
    ///
    /// #[global_allocator]
    /// static ALLOC: GlobalArena = GlobalArena::new(System);
    ///
    /// with_global_arena(|| drop(vec![1u8; 10]));
    /// let r = ALLOC.region();
    /// assert!(r.reserved && !r.refused && r.carved >= 1);
    /// ```
    pub fn region(&self) -> RegionStats {
        let backing = region::range()
            .and_then(|(start, len)| thp::backing(start, start + len))
            .unwrap_or_default();
        RegionStats {
            reserved: region::reserved(),
            refused: region::refused(),
            chunks: MAX_CHUNKS,
            carved: chunk::carved(),
            in_use: chunk::in_use(),
            resident_free: chunk::resident_free(),
            single_mapping: region::reserved() && region::writable(),
            thp: ThpMode::current(),
            resident_bytes: backing.resident,
            huge_page_bytes: backing.huge,
        }
    }

    /// Inside a scope: an arena block, or a spill to `inner`; outside: `inner`.
    ///
    /// Shaped for the instruction count of both paths: `__rust_alloc` is a flag test, then
    /// either the inner allocator (outside a scope: nothing counted), or a tail call to
    /// [`alloc_in_scope`](Self::alloc_in_scope), a leaf function with no stack frame. Each
    /// thread-local access is its own small closure so that LLVM inlines every one of them.
    #[inline(always)]
    fn alloc_routed<const ZEROED: bool>(&self, layout: Layout) -> *mut u8 {
        if LOCAL.with(thread::Local::active) {
            return self.alloc_in_scope::<ZEROED>(layout.size(), layout.align());
        }
        // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::alloc`'s contract.
        unsafe { self.alloc_inner::<ZEROED>(layout) }
    }

    /// An allocation inside a scope: a bump in the current chunk, else the slow path.
    ///
    /// Takes `size` and `align` in the order `__rust_alloc` receives them, so the call from
    /// [`alloc_routed`](Self::alloc_routed) is a bare jump, and the pass-through path keeps its
    /// arguments where the inner allocator wants them.
    #[inline(never)]
    fn alloc_in_scope<const ZEROED: bool>(&self, size: usize, align: usize) -> *mut u8 {
        let p = LOCAL.with(|l| l.try_bump_counted(size, align));
        if p.is_null() {
            return self.alloc_in_scope_slow::<ZEROED>(size, align);
        }
        if ZEROED {
            // SAFETY: `p` is a fresh arena block of `size` writable bytes.
            unsafe { p.write_bytes(0, size) };
        }
        p
    }

    /// The current chunk has no room: the next chunk, or a counted spill to `inner`.
    #[cold]
    #[inline(never)]
    fn alloc_in_scope_slow<const ZEROED: bool>(&self, size: usize, align: usize) -> *mut u8 {
        let p = LOCAL.with(|l| l.alloc_in_scope(size, align));
        if p.is_null() {
            // SAFETY: `size` and `align` are those of a `Layout` a `GlobalAlloc::alloc` caller
            // passed, so they form a valid layout, and the caller upholds the rest of the contract.
            return unsafe {
                self.alloc_inner::<ZEROED>(Layout::from_size_align_unchecked(size, align))
            };
        }
        if ZEROED {
            // SAFETY: as in `alloc_in_scope`.
            unsafe { p.write_bytes(0, size) };
        }
        p
    }

    /// # Safety
    ///
    /// `GlobalAlloc::alloc`'s contract for `layout`.
    #[inline(always)]
    unsafe fn alloc_inner<const ZEROED: bool>(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from our caller.
        unsafe {
            if ZEROED {
                self.inner.alloc_zeroed(layout)
            } else {
                self.inner.alloc(layout)
            }
        }
    }
}

// SAFETY: arena blocks are disjoint `[start, end)` ranges of an owned chunk handed out by bump
// arithmetic, aligned as asked, never reused while alive (the chunk state machine above); inner
// blocks come from `inner` and go back to it, because ownership is decided by address.
unsafe impl<A: GlobalAlloc> GlobalAlloc for GlobalArena<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.alloc_routed::<false>(layout)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.alloc_routed::<true>(layout)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match region::owner_of(ptr) {
            Some(index) => LOCAL.with(|l| l.free(index, ptr.addr(), layout.size())),
            // Not counted: the pass-through free stays a subtraction, a compare and a jump.
            // SAFETY: `ptr` is not arena memory, so it came from `inner` with `layout`.
            None => unsafe { self.inner.dealloc(ptr, layout) },
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match region::owner_of(ptr) {
            Some(index) => self.realloc_arena(ptr, index, layout, new_size),
            None => {
                if new_size > layout.size() && LOCAL.with(thread::Local::active) {
                    // SAFETY: `ptr` is not arena memory, so it came from `inner` with `layout`.
                    return unsafe { self.realloc_into_scope(ptr, layout, new_size) };
                }
                if layout.align() <= PLAIN_ALIGN && layout.align() <= new_size {
                    // The common case on its own: with `System` inside, LLVM sees the
                    // alignment already checked and this becomes a bare jump to `realloc`,
                    // with no registers saved on the way.
                    // SAFETY: `ptr` is not arena memory, so it came from `inner` with `layout`;
                    // the caller upholds the rest of `realloc`'s contract.
                    return unsafe { self.inner.realloc(ptr, layout, new_size) };
                }
                // SAFETY: as above.
                unsafe { self.realloc_inner_aligned(ptr, layout, new_size) }
            }
        }
    }
}

/// The largest alignment for which `realloc` of an inner block is split off as the common case
/// (the C allocator's own alignment on 64-bit targets; any value is correct, this one lets
/// `System`'s over-aligned path move out of line).
const PLAIN_ALIGN: usize = 16;

impl<A: GlobalAlloc> GlobalArena<A> {
    /// `realloc` of an over-aligned inner block, out of line: `System` handles it with an
    /// allocate-copy-free that needs a stack frame, which would otherwise be set up on every
    /// pass-through `realloc`.
    ///
    /// # Safety
    ///
    /// `GlobalAlloc::realloc`'s contract, with `ptr` from `inner`.
    #[cold]
    #[inline(never)]
    unsafe fn realloc_inner_aligned(
        &self,
        ptr: *mut u8,
        layout: Layout,
        new_size: usize,
    ) -> *mut u8 {
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }

    /// `realloc` of an arena block of chunk `index`: in place if it is the current chunk's most
    /// recent block (or shrinks), else moved. Out of line so that `__rust_realloc`'s pass-through
    /// path needs no stack frame.
    #[inline(never)]
    fn realloc_arena(
        &self,
        ptr: *mut u8,
        index: usize,
        layout: Layout,
        new_size: usize,
    ) -> *mut u8 {
        let old = layout.size();
        // Kept in place, the block is handed back with the range's provenance, not the caller's
        // pointer: that one may carry a tag for the old size only (a `Box<[T]>` turned into a
        // `Vec`), under which Miri's Stacked Borrows rejects writes past it.
        let same = region::chunk_start(index).with_addr(ptr.addr());
        LOCAL.with(|l| {
            if l.resize_in_place(index, ptr.addr(), old, new_size, layout.align()) {
                return same;
            }
            if new_size > old && l.resize_span(index, new_size) {
                return same;
            }
            if new_size <= old {
                // The block keeps its space until it is freed (or its chunk rewinds).
                return same;
            }
            // SAFETY: the caller of `realloc` guarantees `new_size`, rounded up to
            // `layout.align()`, does not overflow `isize`; the alignment is `layout`'s.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            let new = self.alloc_routed::<false>(new_layout);
            if new.is_null() {
                return null_mut(); // the old block stays valid, as `realloc` requires
            }
            // SAFETY: `ptr` is valid for `old` bytes, `new` for `new_size > old`; distinct blocks.
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, old) };
            l.free(index, ptr.addr(), old);
            new
        })
    }

    /// `realloc` of an inner block grown inside a scope: it moves into the arena if it fits.
    ///
    /// # Safety
    ///
    /// `ptr` came from `inner` with `layout`; `GlobalAlloc::realloc`'s contract holds.
    #[inline(never)]
    unsafe fn realloc_into_scope(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = LOCAL.with(|l| l.alloc_in_scope(new_size, layout.align()));
        if moved.is_null() {
            // A counted spill. SAFETY: `ptr` came from `inner` with `layout`.
            return unsafe { self.inner.realloc(ptr, layout, new_size) };
        }
        // SAFETY: `ptr` is valid for `layout.size()` bytes, `moved` for more; the old block is
        // inner memory and `moved` arena memory, so they are disjoint. `ptr` came from `inner`
        // with `layout`.
        unsafe {
            core::ptr::copy_nonoverlapping(ptr, moved, layout.size());
            self.inner.dealloc(ptr, layout);
        }
        moved
    }
}

/// Runs `f` with every heap allocation made on this thread served from the thread's global
/// arena (when [`GlobalArena`] is the global allocator). Nested calls join the outer scope.
///
/// Values may escape the scope: they stay valid, and the arena is reused only once they are all
/// freed. When everything allocated in the scope has died, its exit rewinds the arena in O(1).
///
/// # Example
///
/// ```
/// use engram_kernels::{GlobalArena, with_global_arena};
/// use std::collections::HashMap;
/// use std::alloc::System;
///
/// #[global_allocator]
/// static ALLOC: GlobalArena = GlobalArena::new(System);
///
/// let before = ALLOC.thread_stats();
/// let n = with_global_arena(|| {
///     let mut m = HashMap::new();
///     for w in "a b a c".split(' ') {
///         *m.entry(w.to_string()).or_insert(0) += 1;
///     }
///     m["a"]
/// });
/// assert_eq!(n, 2);
/// assert_eq!(ALLOC.thread_stats().since(&before).spills, 0);
/// ```
pub fn with_global_arena<R>(f: impl FnOnce() -> R) -> R {
    struct Scope;
    impl Drop for Scope {
        fn drop(&mut self) {
            LOCAL.with(thread::Local::leave);
        }
    }
    #[cfg(debug_assertions)]
    warn_if_not_installed();
    LOCAL.with(thread::Local::enter);
    let _scope = Scope;
    f()
}

/// Says once on stderr that scopes do nothing because `GlobalArena` is not the global allocator.
#[cfg(debug_assertions)]
fn warn_if_not_installed() {
    static WARNED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if !is_installed() && !WARNED.swap(true, Ordering::Relaxed) {
        crate::diag::report_str(
            "with_global_arena called, but GlobalArena is not the #[global_allocator]: the scope \
             passes everything through (this warning shows once)",
        );
    }
}
