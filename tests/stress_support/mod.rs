//! Shared by the stress binaries (`stress.rs`, `stress_global.rs`): the scale, a small random
//! generator, the sizes and the per-block cookies.
//!
//! In the spirit of mimalloc's `test-stress`: many threads allocate power-of-two sizes with rare
//! large outliers, fill every block with a cookie, hand blocks to each other through a shared
//! transfer buffer, and check every block's cookie when it is freed, so that any block handed
//! out twice, moved wrongly or scribbled on shows up as a wrong word.
//!
//! The scale comes from the environment, small by default so that `cargo test` takes seconds:
//! * `ENGRAM_STRESS_ITERS`: operations per thread per round (default 400; 12 under Miri);
//! * `ENGRAM_STRESS_SECS`: repeat rounds until this many seconds have passed (default: one
//!   round). It bounds the run only; no assertion depends on time.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Threads per round: 32 natively, as mimalloc's default; 4 under Miri.
pub const THREADS: usize = if cfg!(miri) { 4 } else { 32 };

/// Slots in the shared transfer buffer.
pub const SLOTS: usize = if cfg!(miri) { 16 } else { 256 };

fn env_usize(name: &str) -> Option<usize> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
    )
}

/// Operations per thread per round.
pub fn iters() -> usize {
    env_usize("ENGRAM_STRESS_ITERS").unwrap_or(if cfg!(miri) { 12 } else { 400 })
}

/// Runs `round(n)` for n = 0, 1, ...: once, or until `ENGRAM_STRESS_SECS` have passed.
pub fn rounds(mut round: impl FnMut(u64)) {
    let until =
        env_usize("ENGRAM_STRESS_SECS").map(|s| Instant::now() + Duration::from_secs(s as u64));
    let mut n = 0;
    loop {
        round(n);
        n += 1;
        if until.is_none_or(|t| Instant::now() >= t) {
            break;
        }
    }
    eprintln!(
        "stress: {n} round(s) of {THREADS} threads x {} operations",
        iters()
    );
}

/// xorshift64*: deterministic per seed, so a failing round can be rerun.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// A block size in 8-byte words: a power of two from 1 to 512 words (8 B to 4 KiB), and rarely
/// (1 in 100) a large outlier of 16 K to 512 K words (128 KiB to 4 MiB; 2 K words under Miri).
pub fn words(rng: &mut Rng) -> usize {
    if rng.one_in(100) {
        if cfg!(miri) {
            2048
        } else {
            1 << (14 + rng.below(6))
        }
    } else {
        1 << rng.below(10)
    }
}

/// The cookie of a block: its own address mixed with a per-block random tag, so that a block
/// overwritten by another block's cookie, or moved without its contents, fails the check.
pub fn cookie(tag: u64, addr: usize) -> u64 {
    (addr as u64 ^ tag).wrapping_mul(0xBF58_476D_1CE4_E5B9) | 1
}

/// Fills `block` with its cookie, word `i` holding `cookie ^ i`.
pub fn fill(block: &mut [u64], cookie: u64) {
    for (i, w) in block.iter_mut().enumerate() {
        *w = cookie ^ i as u64;
    }
}

/// Checks a block filled by [`fill`], naming the first wrong word.
pub fn check(block: &[u64], cookie: u64) {
    for (i, &w) in block.iter().enumerate() {
        assert_eq!(
            w,
            cookie ^ i as u64,
            "word {i} of a {}-word block at {:p} was overwritten",
            block.len(),
            block.as_ptr()
        );
    }
}
