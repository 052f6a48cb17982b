//! The thread's view of the global arena: its current chunk and bump cursor, its owner-local
//! count, the chunks it parked during the current scope, and when it takes, reuses, orphans and
//! releases chunks.
//!
//! Everything here is a `Cell` in a `const`-initialised thread local without a destructor, so
//! reading it never allocates, never registers anything, and keeps working while other thread
//! locals are being destroyed. The one thread local with a destructor, [`EXIT`], is touched only
//! when a scope is entered, which is not on the allocator path.

use super::chunk::{self, NO_CHUNK};

use super::region::{self, CHUNK_SIZE};
use super::reuse;
use super::stats::{self, Counters};
use crate::bump::{bump_small, release_last, resize_last};
use core::cell::Cell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Largest request bumped inside a thread's chunk (a quarter chunk); larger ones get a span of
/// whole chunks of their own (see [`GlobalStats::large_allocs`](super::GlobalStats::large_allocs)).
///
/// # Example
///
/// ```
/// use engram_kernels::global::{CHUNK_SIZE, MAX_ARENA_REQUEST};
///
/// assert_eq!(MAX_ARENA_REQUEST * 4, CHUNK_SIZE);
/// ```
pub const MAX_ARENA_REQUEST: usize = CHUNK_SIZE / 4;

/// Default for [`set_thread_chunk_cap`](super::set_thread_chunk_cap): 128 chunks (256 MiB) per
/// thread natively (16 under Miri, whose stand-in region is smaller).
///
/// # Example
///
/// ```
/// use engram_kernels::global::{DEFAULT_THREAD_CHUNK_CAP, thread_chunk_cap};
///
/// assert_eq!(thread_chunk_cap(), DEFAULT_THREAD_CHUNK_CAP); // unless changed
/// ```
pub const DEFAULT_THREAD_CHUNK_CAP: usize = if cfg!(miri) { 16 } else { 128 };

static THREAD_CHUNK_CAP: AtomicUsize = AtomicUsize::new(DEFAULT_THREAD_CHUNK_CAP);

/// Sets how many chunks one thread may hold at once (at least 1).
pub fn set_thread_chunk_cap(chunks: usize) {
    THREAD_CHUNK_CAP.store(chunks.max(1), Ordering::Relaxed);
}

/// How many chunks one thread may hold at once.
pub fn thread_chunk_cap() -> usize {
    THREAD_CHUNK_CAP.load(Ordering::Relaxed)
}

/// Source of thread tokens (never reused; `NO_OWNER` is 0).
static TOKENS: AtomicUsize = AtomicUsize::new(1);
/// A thread's token before its first chunk: matches no chunk's owner field, not even
/// `NO_OWNER`, so its frees of others' blocks are always remote frees.
const NO_TOKEN: usize = usize::MAX;

/// The calling thread's view of its global arena.
pub struct Local {
    /// `with_global_arena` nesting depth.
    depth: Cell<usize>,
    /// Inside a scope: allocations bump (or take a chunk).
    active: Cell<bool>,
    /// Start of the current chunk; every arena pointer handed out derives its provenance from it.
    start: Cell<*mut u8>,
    /// Address of the next free byte, and one past the current chunk's last byte (both `0`
    /// without a current chunk, so every bump fails over to the slow path).
    cursor: Cell<usize>,
    limit: Cell<usize>,
    /// Current chunk index, or `NO_CHUNK`.
    cur: Cell<usize>,
    /// Owner-local count of the current chunk (see [`chunk::live_blocks`]).
    live: Cell<usize>,
    /// Head of the list of other chunks this thread owns (parked: full, or left for a fresh one).
    parked: Cell<usize>,
    /// Chunks owned: the current one plus the parked ones.
    owned: Cell<usize>,
    /// Why no chunk is to be had (cap reached, or range exhausted or refused) until the outermost
    /// scope exits: the slow path then spills at once, counted under that reason, instead of
    /// searching again for every allocation.
    starved: Cell<Option<Reason>>,
    /// This thread's token, written into the chunks it owns; `NO_TOKEN` before its first chunk.
    token: Cell<usize>,
    /// Entry in the published-counters table, or `NO_ENTRY`.
    entry: Cell<usize>,
    /// Dead blocks of the current chunk kept for reuse (see [`reuse`]).
    bins: reuse::Bins,
    pub counters: Counters,
}

thread_local! {
    pub static LOCAL: Local = const {
        Local {
            depth: Cell::new(0),
            active: Cell::new(false),
            start: Cell::new(null_mut()),
            cursor: Cell::new(0),
            limit: Cell::new(0),
            cur: Cell::new(NO_CHUNK),
            live: Cell::new(0),
            parked: Cell::new(NO_CHUNK),
            owned: Cell::new(0),
            starved: Cell::new(None),
            token: Cell::new(NO_TOKEN),
            entry: Cell::new(stats::NO_ENTRY),
            bins: reuse::Bins::new(),
            counters: Counters::new(),
        }
    };
    /// Its destructor hands every chunk back when the thread exits.
    static EXIT: ExitGuard = const { ExitGuard };
}

pub struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        LOCAL.with(Local::exit);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    Large,
    Cap,
    NoChunk,
}

impl Local {
    /// Whether allocations made now go to the arena.
    #[inline(always)]
    pub fn active(&self) -> bool {
        self.active.get()
    }

    /// A block of `size` bytes aligned to `align` from the current chunk, or `None` if it does
    /// not fit, there is no current chunk, or the request is larger than [`MAX_ARENA_REQUEST`].
    /// Call only when [`active`](Self::active).
    #[inline(always)]
    pub fn try_bump(&self, size: usize, align: usize) -> Option<*mut u8> {
        let (start, end) = bump_small(
            self.cursor.get(),
            self.limit.get(),
            size,
            align,
            MAX_ARENA_REQUEST,
        )?;
        self.cursor.set(end);
        self.live.set(self.live.get().wrapping_add(1));
        // `[start, end)` lies inside the current chunk, so the pointer stays within the
        // reservation that `start` points into.
        Some(self.start.get().with_addr(start))
    }

    /// The fast path inside a scope: a block of the current chunk, counted, or null (nothing
    /// counted: the caller goes on to [`alloc_in_scope`](Self::alloc_in_scope)). Null too while
    /// the crate holds one of its own locks on this thread.
    #[inline(always)]
    pub fn try_bump_counted(&self, size: usize, align: usize) -> *mut u8 {
        if crate::sync::routing_suspended() {
            return null_mut();
        }
        // A kept block may serve this: leave it to the slow path, so that this one stays a leaf
        // function without a stack frame (a call here would cost every allocation a prologue).
        if reuse::worth_a_look(size, &self.bins) {
            return null_mut();
        }
        match self.try_bump(size, align) {
            Some(p) => {
                self.counters.arena_alloc(size);
                p
            }
            None => null_mut(),
        }
    }

    /// A dead block of the current chunk at least `size` bytes long and aligned to `align`,
    /// counted as live again; or null.
    #[inline(never)]
    fn try_reuse(&self, size: usize, align: usize) -> *mut u8 {
        // SAFETY: every block in the bins is a dead block of the current chunk, `start` is that
        // chunk's start (the bins are emptied whenever either changes), and the chunk is owned
        // by this thread, which is the only one that writes into dead blocks.
        let p = unsafe { self.bins.pop(size, align, self.start.get()) };
        if !p.is_null() {
            self.live.set(self.live.get().wrapping_add(1));
            self.counters.reused_alloc(size);
        }
        p
    }

    /// An allocation inside a scope: a block of the current chunk, or of the next one, or null
    /// after counting a spill (the caller then asks the inner allocator). While the crate holds
    /// one of its own locks on this thread, everything spills.
    #[inline(always)]
    pub fn alloc_in_scope(&self, size: usize, align: usize) -> *mut u8 {
        if !crate::sync::routing_suspended() {
            if reuse::worth_a_look(size, &self.bins) {
                let p = self.try_reuse(size, align);
                if !p.is_null() {
                    return p;
                }
            }
            if let Some(p) = self.try_bump(size, align) {
                self.counters.arena_alloc(size);
                return p;
            }
            return self.alloc_slow(size, align);
        }
        self.counters.spill(size);
        null_mut()
    }

    /// The slow path of an allocation inside a scope: moves on to another chunk and bumps there,
    /// or counts a spill and returns null (the caller then asks the inner allocator).
    #[cold]
    #[inline(never)]
    pub fn alloc_slow(&self, size: usize, align: usize) -> *mut u8 {
        // The same test as `bump_small`'s: a request it can never place (`size | align` above
        // the maximum, which includes `size == MAX_ARENA_REQUEST` with any alignment) gets a span.
        let reason = if size | align > MAX_ARENA_REQUEST {
            match self.alloc_span(size, align) {
                Ok(p) => return p,
                Err(r) => r,
            }
        } else {
            match self.next_chunk() {
                Ok(()) => match self.try_bump(size, align) {
                    Some(p) => {
                        self.counters.arena_alloc(size);
                        return p;
                    }
                    None => Reason::Large, // unreachable: a fresh chunk fits any small request
                },
                Err(r) => r,
            }
        };
        match reason {
            Reason::Large => {}
            Reason::Cap => self.counters.cap_reached(),
            Reason::NoChunk => self.counters.no_chunk(),
        }
        self.counters.spill(size);
        null_mut()
    }

    /// A large block: a span of whole chunks of its own, aligned to the chunk size. Spans longer
    /// than the per-thread cap, and alignments above the chunk size, spill.
    fn alloc_span(&self, size: usize, align: usize) -> Result<*mut u8, Reason> {
        if align > CHUNK_SIZE {
            return Err(Reason::Large);
        }
        let count = size.div_ceil(CHUNK_SIZE);
        if count > thread_chunk_cap() {
            return Err(Reason::Cap);
        }
        if count > region::CHUNK_COUNT {
            // Larger than the whole range (the cap was lifted): no chunk could ever hold it.
            return Err(Reason::Large);
        }
        match chunk::take_span(count) {
            Some(head) => {
                self.counters.large_alloc(size);
                Ok(region::chunk_start(head))
            }
            None => {
                region::warn_no_chunk_once();
                Err(Reason::NoChunk)
            }
        }
    }

    /// Grows the large block at the start of span `head` to `new` bytes in place: within the
    /// span's chunks, or by taking the free chunks right after it (inside a scope only).
    pub fn resize_span(&self, head: usize, new: usize) -> bool {
        let count = chunk::span_len(head);
        if count == 0 {
            return false;
        }
        let needed = new.div_ceil(CHUNK_SIZE);
        if needed <= count {
            return true;
        }
        self.active()
            && !crate::sync::routing_suspended()
            && needed <= thread_chunk_cap()
            && chunk::extend_span(head, count, needed)
    }

    /// Makes a chunk with nothing alive current: the current one rewound, a parked one that died,
    /// or one taken from the pool.
    fn next_chunk(&self) -> Result<(), Reason> {
        if let Some(reason) = self.starved.get() {
            return Err(reason);
        }
        let cur = self.cur.get();
        if cur != NO_CHUNK {
            if chunk::owner_live(cur, self.live.get()) == 0 {
                self.rewind();
                return Ok(());
            }
            chunk::park(cur, self.live.get(), self.parked.get());
            self.parked.set(cur);
            self.set_current(NO_CHUNK, 0);
        }
        if let Some((index, local)) = self.unpark_dead() {
            self.set_current(index, local);
            return Ok(());
        }
        if self.owned.get() >= thread_chunk_cap() {
            self.starved.set(Some(Reason::Cap));
            return Err(Reason::Cap);
        }
        if self.token.get() == NO_TOKEN {
            self.token.set(TOKENS.fetch_add(1, Ordering::Relaxed));
        }
        match chunk::take(self.token.get()) {
            Some(index) => {
                self.counters.chunk_taken();
                self.owned.set(self.owned.get() + 1);
                self.set_current(index, 0);
                Ok(())
            }
            None => {
                self.starved.set(Some(Reason::NoChunk));
                region::warn_no_chunk_once();
                Err(Reason::NoChunk)
            }
        }
    }

    /// Removes and returns a parked chunk with no live block, with its owner-local count.
    fn unpark_dead(&self) -> Option<(usize, usize)> {
        let mut prev = NO_CHUNK;
        let mut i = self.parked.get();
        while i != NO_CHUNK {
            let next = chunk::next_of(i);
            let local = chunk::local_of(i);
            if chunk::owner_live(i, local) == 0 {
                if prev == NO_CHUNK {
                    self.parked.set(next);
                } else {
                    chunk::park(prev, chunk::local_of(prev), next);
                }
                return Some((i, local));
            }
            prev = i;
            i = next;
        }
        None
    }

    /// Makes chunk `index` (owned, owner-local count `local`) current with its cursor at its
    /// start; `NO_CHUNK` leaves no current chunk.
    fn set_current(&self, index: usize, local: usize) {
        self.bins.clear();
        self.cur.set(index);
        self.live.set(local);
        if index == NO_CHUNK {
            self.start.set(null_mut());
            self.cursor.set(0);
            self.limit.set(0);
        } else {
            let start = region::chunk_start(index);
            self.start.set(start);
            self.cursor.set(start.addr());
            self.limit.set(start.addr() + CHUNK_SIZE);
        }
    }

    /// Counts a free of a block outside the current chunk: in this thread's counters while it
    /// has a table entry, else straight into the process totals, since a thread without one (it
    /// never entered a scope, its exit hook has run, or the table was full) would never publish
    /// it.
    #[inline(always)]
    fn count_free_elsewhere(&self) {
        if self.entry.get() == stats::NO_ENTRY {
            stats::count_unpublished_free();
        } else {
            self.counters.arena_free();
        }
    }

    fn rewind(&self) {
        self.bins.clear();
        self.cursor.set(self.start.get().addr());
    }

    /// Frees the arena block `[addr, addr + size)` of chunk `index`, from whichever thread.
    #[inline(always)]
    pub fn free(&self, index: usize, addr: usize, size: usize) {
        if index != self.cur.get() {
            self.count_free_elsewhere();
            chunk::free_parked_or_remote(index, self.token.get());
            return;
        }
        self.counters.arena_free();
        self.live.set(self.live.get().wrapping_sub(1));
        if let Some(c) = release_last(addr, size, self.cursor.get(), self.start.get().addr()) {
            self.cursor.set(c);
        } else if reuse::worth_keeping(size) {
            // SAFETY: `[addr, addr + size)` is a block of the current chunk that the caller
            // just freed, so nothing uses it; `start` is the chunk's start.
            unsafe { self.bins.push(self.start.get().with_addr(addr), size) };
        }
        // No "is everything dead?" check here: it would cost a shared load and arithmetic on
        // every free. A chunk whose blocks all died rewinds when the thread needs room (next
        // chunk) and at outermost scope entry and exit.
    }

    /// Resizes the current chunk's most recent block in place; growing only inside a scope.
    #[inline(always)]
    pub fn resize_in_place(
        &self,
        index: usize,
        addr: usize,
        old: usize,
        new: usize,
        align: usize,
    ) -> bool {
        if index != self.cur.get() || (new > old && !self.active()) {
            return false;
        }
        let floor = self.start.get().addr();
        match resize_last(
            addr,
            old,
            new,
            align,
            self.cursor.get(),
            floor,
            self.limit.get(),
        ) {
            Some(c) => {
                self.cursor.set(c);
                true
            }
            None => false,
        }
    }

    /// Enters a scope. The outermost one registers the thread-exit hook (which may allocate, so
    /// before the scope is active) and becomes active; chunks are taken on the first allocation.
    pub fn enter(&self) {
        let depth = self.depth.get();
        self.depth.set(depth + 1);
        if depth > 0 {
            return;
        }
        // Fails only during thread teardown: the scope then passes through.
        if EXIT.try_with(|_| ()).is_err() {
            return;
        }
        if self.entry.get() == stats::NO_ENTRY {
            self.entry.set(stats::join());
        }
        let cur = self.cur.get();
        if cur != NO_CHUNK && chunk::owner_live(cur, self.live.get()) == 0 {
            self.rewind();
        }
        self.active.set(true);
    }

    /// Leaves a scope. The outermost one stops bumping, settles the parked chunks (a dead one is
    /// released, a pinned one orphaned), rewinds the current chunk if nothing in it is alive, and
    /// publishes the counters.
    pub fn leave(&self) {
        let depth = self.depth.get().saturating_sub(1);
        self.depth.set(depth);
        if depth > 0 {
            return;
        }
        self.active.set(false);
        self.starved.set(None);
        self.settle_parked();
        let cur = self.cur.get();
        if cur != NO_CHUNK && chunk::owner_live(cur, self.live.get()) == 0 {
            self.rewind();
        }
        chunk::trim();
        stats::publish(self.entry.get(), self.counters.snapshot());
    }

    /// Gives up every parked chunk: to the pool if nothing in it is alive, orphaned otherwise.
    fn settle_parked(&self) {
        let mut i = self.parked.replace(NO_CHUNK);
        while i != NO_CHUNK {
            let next = chunk::next_of(i);
            if !chunk::hand_back(i, chunk::local_of(i)) {
                self.counters.chunk_orphaned();
            }
            self.owned.set(self.owned.get() - 1);
            i = next;
        }
    }

    /// Gives every chunk up at thread exit. After this every call from this thread passes
    /// through, and its frees of its own old blocks count as remote frees.
    fn exit(&self) {
        self.active.set(false);
        self.depth.set(0);
        self.settle_parked();
        let cur = self.cur.get();
        if cur != NO_CHUNK {
            let live = self.live.get();
            self.set_current(NO_CHUNK, 0);
            if !chunk::hand_back(cur, live) {
                self.counters.chunk_orphaned();
            }
            self.owned.set(self.owned.get() - 1);
        }
        chunk::trim();
        stats::retire(
            self.entry.replace(stats::NO_ENTRY),
            self.counters.snapshot(),
        );
    }
}
