//! The chunk state machine (the soundness core) and the pool of free chunks.
//!
//! Every chunk of the reserved range has one [`ChunkMeta`] in a static array: its atomic state
//! word plus fields that only the chunk's current owner reads and writes. The transitions of the
//! [module docs](super) are the functions here; the word arithmetic is in small pure `const fn`s
//! that the tests below replay exhaustively over every interleaving of a few threads' events.

use super::region::{self, CHUNK_COUNT, CHUNK_SIZE};
use core::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

/// State-word bit set while a thread owns the chunk (may bump in it).
pub const OWNED: usize = 1;
/// State-word weight of one live block.
pub const ONE_BLOCK: usize = 2;
/// "No chunk" in chunk-index fields and lists.
pub const NO_CHUNK: usize = usize::MAX;
/// Owner token of a chunk nobody owns (thread tokens start at 1).
pub const NO_OWNER: usize = 0;

/// Per-chunk shared metadata, one cache line each: remote frees into one chunk must not slow
/// the owner of its neighbour.
#[repr(align(64))]
pub struct ChunkMeta {
    /// `OWNED` bit | live-block count × `ONE_BLOCK` (see [`live_blocks`]); `0` means free.
    pub word: AtomicUsize,
    /// Token of the owning thread, `NO_OWNER` when none. Written only by the owner (at claim and
    /// before it hands the chunk back); read by freeing threads to tell "mine" from "remote".
    owner: AtomicUsize,
    /// Owner-only: its allocations minus its own frees while this is not its current chunk.
    /// `Relaxed` loads and stores: plain moves, never a read-modify-write.
    local: AtomicUsize,
    /// Owner-only: next chunk in the owner's list of parked chunks.
    next: AtomicUsize,
    /// Whether the chunk's pages may be resident. Read and written only by whoever holds the
    /// chunk (its owner or the trimmer that claimed it), published by the word's release chain.
    resident: AtomicBool,
    /// Set once the chunk is readable and writable; claimers skip chunks not yet committed.
    committed: AtomicBool,
    /// On the first chunk of a span (one large block over several whole chunks): the span's
    /// length in chunks; `0` on every other chunk. Written by the thread that takes the span
    /// before it hands the block out, cleared by the freer before the chunks become free.
    span: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)] // used only as an array-repeat initialiser
const EMPTY: ChunkMeta = ChunkMeta {
    word: AtomicUsize::new(0),
    owner: AtomicUsize::new(NO_OWNER),
    local: AtomicUsize::new(0),
    next: AtomicUsize::new(NO_CHUNK),
    resident: AtomicBool::new(false),
    committed: AtomicBool::new(false),
    span: AtomicUsize::new(0),
};

/// The metadata of every chunk, static so that nothing here ever allocates.
pub static CHUNKS: [ChunkMeta; CHUNK_COUNT] = [EMPTY; CHUNK_COUNT];

/// Chunks carved from the range so far (indices `< CARVED` have been handed out at least once).
static CARVED: AtomicUsize = AtomicUsize::new(0);
/// Where the next claim starts looking: the chunk most recently made free by its owner.
static HINT: AtomicUsize = AtomicUsize::new(0);
/// Free chunks whose pages are resident (approximate while transitions race; may dip below 0).
static RESIDENT_FREE: AtomicIsize = AtomicIsize::new(0);
/// Free chunks kept resident before further ones are decommitted (configurable).
static RETAINED_CHUNKS: AtomicUsize = AtomicUsize::new(DEFAULT_RETAINED_BYTES / CHUNK_SIZE);

/// Default for [`set_retained_bytes`](super::set_retained_bytes): 64 MiB of free chunks stay
/// resident for reuse.
///
/// # Example
///
/// ```
/// use engram_kernels::global::{DEFAULT_RETAINED_BYTES, retained_bytes};
///
/// assert_eq!(retained_bytes(), DEFAULT_RETAINED_BYTES); // unless changed
/// ```
pub const DEFAULT_RETAINED_BYTES: usize = 64 << 20;

/// Live blocks of a chunk, seen by its owner: the shared `word` (which holds `OWNED` minus
/// `ONE_BLOCK` per free made by other threads) plus the owner's own unpublished count `local`
/// (its allocations minus its own frees). Both sides wrap; their sum does not.
#[inline(always)]
pub const fn live_blocks(word: usize, local: usize) -> usize {
    word.wrapping_sub(OWNED)
        .wrapping_add(local.wrapping_mul(ONE_BLOCK))
        / ONE_BLOCK
}

/// The amount the owner adds to the word when it hands the chunk back: publishes `local` and
/// clears `OWNED` in one atomic add. The result is `live × ONE_BLOCK`, so `0` means free.
#[inline(always)]
pub const fn hand_back_delta(local: usize) -> usize {
    local.wrapping_mul(ONE_BLOCK).wrapping_sub(OWNED)
}

/// The live count of owned chunk `index` as its owner sees it (see [`live_blocks`]).
///
/// `Acquire` pairs with the `Release` of remote frees: if the answer is `0`, every use of every
/// block happened before the owner's next write into the chunk.
#[inline(always)]
pub fn owner_live(index: usize, local: usize) -> usize {
    live_blocks(CHUNKS[index].word.load(Ordering::Acquire), local)
}

/// Frees one block of chunk `index` that is not the calling thread's current chunk: an
/// owner-local count update if the caller (`token`) owns it, otherwise a remote free.
#[inline(always)]
pub fn free_parked_or_remote(index: usize, token: usize) {
    let meta = &CHUNKS[index];
    // Only the owner ever writes its own token here, and it clears it before handing the chunk
    // back; so reading our token means we own the chunk now (coherence of our own writes).
    if meta.owner.load(Ordering::Relaxed) == token {
        let l = meta.local.load(Ordering::Relaxed);
        meta.local.store(l.wrapping_sub(1), Ordering::Relaxed);
        return;
    }
    // A span has no owner, so its frees get here. Its length was written before the block was
    // handed out, and the block reached this thread through whatever synchronisation passed it.
    if meta.span.load(Ordering::Relaxed) != 0 {
        free_span(index);
        return;
    }
    // Release: the freer's last accesses to the block happen before any later reuse.
    if meta.word.fetch_sub(ONE_BLOCK, Ordering::Release) == ONE_BLOCK {
        // An orphan's last block died: the chunk is free, and its pages are resident.
        became_free(index);
    }
}

#[cold]
fn became_free(index: usize) {
    RESIDENT_FREE.fetch_add(1, Ordering::Relaxed);
    HINT.store(index, Ordering::Relaxed);
}

/// The owner's parked-chunk fields.
pub fn local_of(index: usize) -> usize {
    CHUNKS[index].local.load(Ordering::Relaxed)
}

/// Parks owned chunk `index` (with owner-local count `local`) at the head of a list.
pub fn park(index: usize, local: usize, next: usize) {
    CHUNKS[index].local.store(local, Ordering::Relaxed);
    CHUNKS[index].next.store(next, Ordering::Relaxed);
}

/// The chunk after `index` in its owner's list.
pub fn next_of(index: usize) -> usize {
    CHUNKS[index].next.load(Ordering::Relaxed)
}

/// Claims a chunk for the thread with `token`: a free one if any, else a fresh one carved from
/// the range. `None` if the range is exhausted or could not be reserved or committed.
pub fn take(token: usize) -> Option<usize> {
    region::reserve()?;
    let index = claim_free().or_else(carve)?;
    prepare(&CHUNKS[index], token);
    Some(index)
}

/// Readies a chunk just claimed (its word non-zero, so only the claimer touches it) for a new
/// life with owner `owner`: it is no longer a resident free chunk, its pages will be touched, and
/// its owner-only fields start afresh.
fn prepare(meta: &ChunkMeta, owner: usize) {
    if meta.resident.load(Ordering::Relaxed) {
        RESIDENT_FREE.fetch_sub(1, Ordering::Relaxed);
    }
    meta.resident.store(true, Ordering::Relaxed);
    meta.local.store(0, Ordering::Relaxed);
    meta.next.store(NO_CHUNK, Ordering::Relaxed);
    meta.owner.store(owner, Ordering::Relaxed);
}

/// Claims a free, committed chunk (word `0 → OWNED`), scanning the carved part from the hint.
///
/// `Acquire` pairs with the `Release` of whichever free or hand-back made the word `0`, so every
/// use of the chunk's memory by earlier owners and freers happens before the new owner's writes.
fn claim_free() -> Option<usize> {
    let carved = CARVED.load(Ordering::Acquire).min(CHUNK_COUNT);
    if carved == 0 {
        return None;
    }
    let start = HINT.load(Ordering::Relaxed) % carved;
    (0..carved)
        .map(|k| (start + k) % carved)
        .find(|&i| try_claim(i))
}

fn try_claim(i: usize) -> bool {
    let meta = &CHUNKS[i];
    meta.committed.load(Ordering::Acquire)
        && meta.word.load(Ordering::Relaxed) == 0
        && meta
            .word
            .compare_exchange(0, OWNED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
}

/// A never-used chunk, claimed and committed. Claimers skip it until `committed` is set, so the
/// carver is its only user until then.
fn carve() -> Option<usize> {
    let index = CARVED.fetch_add(1, Ordering::AcqRel);
    if index >= CHUNK_COUNT {
        CARVED.store(CHUNK_COUNT, Ordering::Relaxed); // keep the counter from creeping to overflow
        return None;
    }
    commit_fresh(index).then_some(index)
}

/// The owner gives chunk `index` up with owner-local count `local`: free now if nothing in it is
/// alive (returns `true`), otherwise orphaned until the last block dies, freed by whichever
/// thread. A free chunk is decommitted first when enough free chunks are already resident.
pub fn hand_back(index: usize, local: usize) -> bool {
    let meta = &CHUNKS[index];
    let dead = owner_live(index, local) == 0;
    if dead {
        if RESIDENT_FREE.load(Ordering::Relaxed) >= retained_chunks() as isize {
            region::decommit(index);
            meta.resident.store(false, Ordering::Relaxed);
        } else {
            RESIDENT_FREE.fetch_add(1, Ordering::Relaxed);
        }
        HINT.store(index, Ordering::Relaxed);
    }
    meta.owner.store(NO_OWNER, Ordering::Relaxed);
    let delta = hand_back_delta(local);
    // AcqRel: Release publishes the owner's writes (and `resident`) to the next claimer; Acquire
    // orders the remote frees seen so far before our decision above.
    let after = meta
        .word
        .fetch_add(delta, Ordering::AcqRel)
        .wrapping_add(delta);
    debug_assert!(!dead || after == 0, "only the owner can add blocks");
    if !dead && after == 0 {
        became_free(index); // the last remote free landed between our load and our add
    }
    after == 0
}

/// Decommits free resident chunks until no more than the retained amount stay resident. Claims
/// each chunk before touching it, so no thread can be using it meanwhile.
pub fn trim() {
    let retained = retained_chunks() as isize;
    if RESIDENT_FREE.load(Ordering::Relaxed) <= retained {
        return;
    }
    let carved = CARVED.load(Ordering::Acquire).min(CHUNK_COUNT);
    for (i, meta) in CHUNKS[..carved].iter().enumerate() {
        if RESIDENT_FREE.load(Ordering::Relaxed) <= retained {
            break;
        }
        if !try_claim(i) {
            continue;
        }
        if meta.resident.load(Ordering::Relaxed) {
            region::decommit(i);
            meta.resident.store(false, Ordering::Relaxed);
            RESIDENT_FREE.fetch_sub(1, Ordering::Relaxed);
        }
        meta.word.fetch_sub(OWNED, Ordering::Release);
    }
}

/// Takes `count` contiguous chunks for one large block (a *span*): free resident ones if a run
/// of them exists, else fresh ones carved from the range. The chunks are owned by nobody and
/// hold one live block, so no claimer touches them until [`free_span`] frees the block, on
/// whichever thread. Returns the first chunk's index.
pub fn take_span(count: usize) -> Option<usize> {
    debug_assert!(count >= 1);
    region::reserve()?;
    let head = claim_run(count).or_else(|| carve_run(count))?;
    for meta in &CHUNKS[head..head + count] {
        prepare(meta, NO_OWNER);
        // Still non-zero, so still unclaimable: one live block, no owner.
        meta.word.store(ONE_BLOCK, Ordering::Relaxed);
    }
    CHUNKS[head].span.store(count, Ordering::Relaxed);
    Some(head)
}

/// The length in chunks of the span starting at chunk `index`, `0` if `index` starts none.
#[inline]
pub fn span_len(index: usize) -> usize {
    CHUNKS[index].span.load(Ordering::Relaxed)
}

/// Grows the span at `head` from `count` to `new_count` chunks in place, if the chunks after it
/// are free (or not carved yet). `false`, with nothing changed, otherwise.
pub fn extend_span(head: usize, count: usize, new_count: usize) -> bool {
    let end = head + new_count;
    if end > CHUNK_COUNT {
        return false;
    }
    for i in head + count..end {
        if !claim_exact(i) {
            for j in head + count..i {
                release_claim(j);
            }
            return false;
        }
    }
    for meta in &CHUNKS[head + count..end] {
        prepare(meta, NO_OWNER);
        meta.word.store(ONE_BLOCK, Ordering::Relaxed);
    }
    CHUNKS[head].span.store(new_count, Ordering::Relaxed);
    true
}

/// Frees the large block of the span at `head`: every chunk of it becomes free, kept resident
/// while the process keeps fewer than the retained amount of free chunks, else decommitted.
#[inline(never)]
pub fn free_span(head: usize) {
    let count = CHUNKS[head].span.swap(0, Ordering::Relaxed);
    debug_assert!(count >= 1, "chunk {head} starts no span");
    for (i, meta) in CHUNKS.iter().enumerate().skip(head).take(count) {
        debug_assert_eq!(meta.word.load(Ordering::Relaxed), ONE_BLOCK);
        // We hold the chunk (its word is not 0), so nobody else can be using its pages.
        if RESIDENT_FREE.load(Ordering::Relaxed) >= retained_chunks() as isize {
            region::decommit(i);
            meta.resident.store(false, Ordering::Relaxed);
        } else {
            RESIDENT_FREE.fetch_add(1, Ordering::Relaxed);
        }
        // Release: every use of the block (by this thread and, through whatever handed it
        // over, by others) happens before the next claimer's writes.
        meta.word.store(0, Ordering::Release);
    }
    HINT.store(head, Ordering::Relaxed);
}

/// Claims `count` contiguous free, committed chunks: the first such run in the carved part.
fn claim_run(count: usize) -> Option<usize> {
    let carved = CARVED.load(Ordering::Acquire).min(CHUNK_COUNT);
    let mut run = 0;
    for (i, meta) in CHUNKS[..carved].iter().enumerate() {
        let free = meta.committed.load(Ordering::Acquire) && meta.word.load(Ordering::Relaxed) == 0;
        if !free {
            run = 0;
            continue;
        }
        run += 1;
        if run == count {
            let head = i + 1 - count;
            if claim_all(head, count) {
                return Some(head);
            }
            run = 0; // lost a race: keep looking after it
        }
    }
    None
}

/// Claims chunks `head..head + count`, all or none.
fn claim_all(head: usize, count: usize) -> bool {
    for i in head..head + count {
        if !try_claim(i) {
            for j in head..i {
                release_claim(j);
            }
            return false;
        }
    }
    true
}

/// Claims chunk `i`: a free committed one, or, if `i` is exactly the next chunk to carve, that
/// one freshly carved.
fn claim_exact(i: usize) -> bool {
    let carved = CARVED.load(Ordering::Acquire);
    if i < carved {
        return try_claim(i);
    }
    if i != carved
        || CARVED
            .compare_exchange(i, i + 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
    {
        return false;
    }
    commit_fresh(i)
}

/// Gives back a chunk claimed (word `OWNED`) but not used.
fn release_claim(i: usize) {
    CHUNKS[i].word.fetch_sub(OWNED, Ordering::Release);
}

/// Carves `count` never-used contiguous chunks, claimed and committed. Takes nothing when fewer
/// than `count` are left uncarved, so a request too large for what is left (or for the whole
/// range) costs later, smaller requests no chunk.
fn carve_run(count: usize) -> Option<usize> {
    let mut head = CARVED.load(Ordering::Acquire);
    loop {
        // `carve` may push the counter past the end for a moment: nothing is left then.
        if count > CHUNK_COUNT.saturating_sub(head) {
            return None;
        }
        match CARVED.compare_exchange_weak(head, head + count, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => break,
            Err(now) => head = now,
        }
    }
    for i in head..head + count {
        if !commit_fresh(i) {
            // The OS refused (strict overcommit, memory short): the chunks committed so far
            // become free ones; this one and the rest of the run stay unusable, like a chunk
            // whose single carve failed.
            for j in head..i {
                release_claim(j);
            }
            return None;
        }
    }
    Some(head)
}

/// Makes a just-carved chunk owned and committed; `false` if the OS refused the commit (the
/// chunk then stays owned by nobody usable: lost, never handed out).
fn commit_fresh(index: usize) -> bool {
    let meta = &CHUNKS[index];
    meta.word.store(OWNED, Ordering::Relaxed);
    if !region::commit(index) {
        return false;
    }
    meta.committed.store(true, Ordering::Release);
    true
}

/// Free chunks kept resident for reuse before further ones are decommitted.
pub fn retained_chunks() -> usize {
    RETAINED_CHUNKS.load(Ordering::Relaxed)
}

/// Sets the retained amount, in bytes (rounded down to whole chunks).
pub fn set_retained_bytes(bytes: usize) {
    RETAINED_CHUNKS.store(bytes / CHUNK_SIZE, Ordering::Relaxed);
}

/// Chunks owned by a thread or still holding live blocks.
pub fn in_use() -> usize {
    let carved = CARVED.load(Ordering::Acquire).min(CHUNK_COUNT);
    CHUNKS[..carved]
        .iter()
        .filter(|c| c.committed.load(Ordering::Relaxed) && c.word.load(Ordering::Acquire) != 0)
        .count()
}

/// Chunks carved from the range so far.
pub fn carved() -> usize {
    CARVED.load(Ordering::Relaxed).min(CHUNK_COUNT)
}

/// Free chunks whose pages are resident (approximate).
pub fn resident_free() -> usize {
    RESIDENT_FREE.load(Ordering::Relaxed).max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays owner and remote events on a plain word and checks the count the owner computes.
    #[test]
    fn word_arithmetic_tracks_live_blocks() {
        for &(allocs, own_frees, remote) in
            &[(0, 0, 0), (5, 2, 3), (10, 0, 10), (3, 3, 0), (1000, 1, 998)]
        {
            let mut word = OWNED;
            let mut local = 0usize;
            for _ in 0..allocs {
                local = local.wrapping_add(1);
            }
            for _ in 0..remote {
                word = word.wrapping_sub(ONE_BLOCK);
                assert_ne!(word, 0, "an owned chunk never reads as free");
            }
            for _ in 0..own_frees {
                local = local.wrapping_sub(1);
            }
            let live = allocs - own_frees - remote;
            assert_eq!(live_blocks(word, local), live);
            let after = word.wrapping_add(hand_back_delta(local));
            assert_eq!(
                after,
                live * ONE_BLOCK,
                "hand-back publishes the exact count"
            );
            let mut w = after;
            for _ in 0..live {
                assert_ne!(w, 0);
                w = w.wrapping_sub(ONE_BLOCK);
            }
            assert_eq!(w, 0);
        }
    }

    #[test]
    fn owned_word_is_never_zero_even_after_wrapping() {
        let word = OWNED.wrapping_sub(ONE_BLOCK.wrapping_mul(usize::MAX / 4));
        assert_eq!(word & OWNED, OWNED);
    }

    /// One thread's step in the model below.
    #[derive(Clone, Copy, Debug)]
    enum Ev {
        /// Owner: bump a block (no atomic).
        Alloc,
        /// Owner: free its own block `b` (no atomic), then check "everything dead?".
        OwnFree(usize),
        /// Owner: hand the chunk back (one atomic add).
        HandBack,
        /// Another thread: free block `b` (one atomic sub).
        Remote(usize),
        /// A would-be claimer: CAS `0 → OWNED`.
        Claim,
    }

    /// The model's shared state: the word, the owner's locals, which blocks are alive, and
    /// whether a claimer got the chunk.
    #[derive(Clone, Debug)]
    struct Model {
        word: usize,
        local: usize,
        owned: bool,
        alive: Vec<bool>,
        allocated: usize,
        claimed: bool,
        rewinds_with_live_blocks: usize,
    }

    impl Model {
        fn step(&mut self, ev: Ev) -> bool {
            match ev {
                Ev::Alloc => {
                    if !self.owned {
                        return false;
                    }
                    self.local = self.local.wrapping_add(1);
                    self.alive[self.allocated] = true;
                    self.allocated += 1;
                }
                Ev::OwnFree(b) => {
                    if !self.owned || !self.alive[b] {
                        return false;
                    }
                    self.alive[b] = false;
                    self.local = self.local.wrapping_sub(1);
                    if live_blocks(self.word, self.local) == 0 && self.alive.iter().any(|&a| a) {
                        self.rewinds_with_live_blocks += 1;
                    }
                }
                Ev::HandBack => {
                    if !self.owned {
                        return false;
                    }
                    self.owned = false;
                    self.word = self.word.wrapping_add(hand_back_delta(self.local));
                }
                Ev::Remote(b) => {
                    if !self.alive[b] {
                        return false;
                    }
                    self.alive[b] = false;
                    self.word = self.word.wrapping_sub(ONE_BLOCK);
                }
                Ev::Claim => {
                    if self.word == 0 && !self.claimed {
                        assert!(
                            !self.alive.iter().any(|&a| a) && !self.owned,
                            "claimed a chunk with live blocks or an owner: {self:?}"
                        );
                        self.claimed = true;
                    }
                }
            }
            true
        }
    }

    /// Every interleaving of: the owner allocating three blocks, freeing some itself and handing
    /// the chunk back; two other threads freeing the rest; a claimer polling throughout. The
    /// chunk becomes claimable exactly when its last block dies after the hand-back, never
    /// earlier, and the owner never sees zero live blocks while one lives.
    #[test]
    fn every_interleaving_of_claim_alloc_free_remote_free_and_hand_back() {
        fn explore(m: &Model, threads: &mut [Vec<Ev>], explored: &mut usize) {
            if threads.iter().all(Vec::is_empty) {
                *explored += 1;
                let mut m = m.clone();
                m.step(Ev::Claim);
                assert_eq!(m.rewinds_with_live_blocks, 0);
                assert!(!m.owned);
                assert!(m.claimed, "all dead and handed back, yet not free: {m:?}");
                assert_eq!(m.word, 0);
                return;
            }
            for t in 0..threads.len() {
                let Some(&ev) = threads[t].first() else {
                    continue;
                };
                let mut next = m.clone();
                if !next.step(ev) {
                    continue; // not enabled yet (e.g. a remote free before the block exists)
                }
                let mut rest = threads.to_vec();
                rest[t].remove(0);
                // the claimer polls between every two steps
                next.step(Ev::Claim);
                explore(&next, &mut rest, explored);
            }
        }
        let scenarios: &[[&[Ev]; 3]] = &[
            [
                &[
                    Ev::Alloc,
                    Ev::Alloc,
                    Ev::Alloc,
                    Ev::OwnFree(0),
                    Ev::HandBack,
                ],
                &[Ev::Remote(1)],
                &[Ev::Remote(2)],
            ],
            [
                &[Ev::Alloc, Ev::Alloc, Ev::Alloc, Ev::HandBack],
                &[Ev::Remote(0), Ev::Remote(2)],
                &[Ev::Remote(1)],
            ],
            [
                &[
                    Ev::Alloc,
                    Ev::Alloc,
                    Ev::OwnFree(1),
                    Ev::OwnFree(0),
                    Ev::Alloc,
                    Ev::HandBack,
                ],
                &[Ev::Remote(2)],
                &[],
            ],
        ];
        for s in scenarios {
            let mut threads: Vec<Vec<Ev>> = s.iter().map(|t| t.to_vec()).collect();
            let m = Model {
                word: OWNED, // claimed by the owner
                local: 0,
                owned: true,
                alive: vec![false; 3],
                allocated: 0,
                claimed: false,
                rewinds_with_live_blocks: 0,
            };
            let mut explored = 0;
            explore(&m, &mut threads, &mut explored);
            assert!(explored >= 2, "{explored}");
        }
    }
}
