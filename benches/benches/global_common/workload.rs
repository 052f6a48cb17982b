//! The std workload shared by the `global_*` bench binaries (included with `#[path]`): many
//! small `Vec`, `String` and `HashMap` allocations, about 300 KB requested per call, all of it
//! dead when the call returns. Little computation per allocation, so the allocator matters.

use std::collections::HashMap;
use std::hint::black_box;

const WORDS: [&str; 8] = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
];

/// Builds a vector of short strings, a vector of small vectors and a map of lists, clones part of
/// them; returns a digest so nothing is optimised away.
pub fn std_workload(seed: u64) -> u64 {
    let n = 2500usize;
    let mut strings: Vec<String> = Vec::new();
    let mut smalls: Vec<Vec<u32>> = Vec::new();
    let mut map: HashMap<u32, Vec<u32>> = HashMap::new();
    for i in 0..n {
        let mut s = String::from(WORDS[(i + seed as usize) % WORDS.len()]);
        s.push('-');
        s.push_str(WORDS[i % 3]);
        strings.push(s);
        smalls.push((0..(i % 12) as u32).collect());
        if i % 4 == 0 {
            map.entry((i % 61) as u32).or_default().push(i as u32);
        }
    }
    let copies: Vec<String> = strings.iter().step_by(2).cloned().collect();
    let boxed: Vec<Box<[u32]>> = smalls
        .iter()
        .step_by(3)
        .map(|v| v.clone().into_boxed_slice())
        .collect();
    let mut digest = copies.iter().map(|s| s.len() as u64).sum::<u64>();
    digest += boxed.iter().map(|b| b.len() as u64).sum::<u64>();
    digest += map.values().map(|v| v.len() as u64).sum::<u64>();
    black_box(digest)
}

/// When `GLOBAL_BENCH_ITERS=N` is set, runs each `(name, f)` whose name contains
/// `GLOBAL_BENCH_FILTER` (default: all) `N` times and returns `true`, bypassing criterion: used
/// by `scripts/bench-global-instr.sh` to count instructions under callgrind, which is immune to
/// machine load.
#[allow(dead_code)]
pub fn fixed_iterations(benches: &[(&str, &dyn Fn() -> u64)]) -> bool {
    let Some(n) = std::env::var("GLOBAL_BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return false;
    };
    let filter = std::env::var("GLOBAL_BENCH_FILTER").unwrap_or_default();
    for (name, f) in benches
        .iter()
        .filter(|(name, _)| name.contains(filter.as_str()))
    {
        let mut digest = 0u64;
        for _ in 0..n {
            digest = digest.wrapping_add(f());
        }
        eprintln!("{name}: {n} iterations, digest {digest}");
    }
    true
}
