//! A guided tour of engram-kernels: the main job of the README.
//!
//! ```text
//! cargo run --release --example tour
//! ```
//!
//! 1. an arena-backed hashbrown map;
//! 2. a kernel-style computation with its scratch in the thread arena (the real kernels:
//!    top-k cosine similarity, spreading activation, decay), and the process metrics it records;
//! 3. an allocation-stats comparison (`stats_alloc`) of arena against global allocation.

#[path = "common/alloc_table.rs"]
mod alloc_table;

use engram_kernels::ArenaAlloc;
use engram_kernels::kernels::decay::Decay;
use engram_kernels::kernels::dispatch;
use engram_kernels::kernels::similarity::top_k;
use engram_kernels::kernels::spread::{CsrGraph, spread};
use engram_kernels::{Arena, metrics, thread_arena_stats, with_arena};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    arena_map();
    kernels_on_scratch()?;
    println!("\n== 3. Allocation statistics: arena against global allocation ==\n");
    alloc_table::print_table(15);
    Ok(())
}

fn arena_map() {
    println!("== 1. A hashbrown map inside a fixed-capacity Arena ==\n");
    let text = "the quick brown fox jumps over the lazy dog the fox naps";
    let arena = Arena::with_capacity(16 << 10);
    let mut counts = hashbrown::HashMap::new_in(&arena);
    for word in text.split(' ') {
        *counts.entry(arena.alloc_str(word) as &str).or_insert(0u32) += 1;
    }
    let mut top: Vec<_> = counts.iter().map(|(w, n)| (*n, *w)).collect();
    top.sort_unstable_by(|a, b| b.cmp(a));
    println!("most frequent words: {:?}", &top[..3]);
    let s = arena.stats();
    println!(
        "arena: {} of {} bytes used ({:.1}%), high-water mark {}, overflows {}",
        s.used,
        s.capacity,
        s.utilization() * 100.0,
        s.high_water_mark,
        s.overflow_count
    );
    println!(
        "a plain arena never grows: a 1 MiB request gives {:?}",
        arena.try_alloc([0u8; 1 << 20]).map(|_| ())
    );
}

fn kernels_on_scratch() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "\n== 2. Kernels with their scratch in the thread arena ({}) ==\n",
        dispatch::active()
    );
    metrics::reset();
    let dim = 768;
    let n = 2_000;
    // Deterministic pseudo-random embeddings.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let candidates: Vec<f32> = (0..n * dim).map(|_| next()).collect();
    let query: Vec<f32> = candidates[42 * dim..43 * dim]
        .iter()
        .map(|x| x + 0.01)
        .collect();
    let best = top_k(&query, &candidates, 3)?;
    println!("top-3 matches of a query near candidate 42: {best:?}");

    // A ring of memories, each linked to its two successors.
    let nodes = 1_000usize;
    let offsets: Vec<usize> = (0..=nodes).map(|i| 2 * i).collect();
    let targets: Vec<u32> = (0..nodes)
        .flat_map(|i| [(i + 1) % nodes, (i + 2) % nodes])
        .map(|t| t as u32)
        .collect();
    let weights = vec![0.5f32; targets.len()];
    let graph = CsrGraph::new(&offsets, &targets, &weights)?;
    let mut activation = vec![0.0f32; nodes];
    activation[0] = 1.0;
    spread(&graph, &mut activation, 4)?;
    println!(
        "activation after 4 spreading iterations: {:?}",
        &activation[..6]
    );

    let mut strengths = vec![1.0f32; 5];
    Decay::ENGRAM_DEFAULT.apply(&mut strengths, &[0, 3_600, 86_400, 172_800, 604_800])?;
    println!("strength after 0 s, 1 h, 1 d, 2 d, 1 w (tau = 1 day): {strengths:?}");

    // A hand-written kernel-style computation: normalised copies in scratch, then a centroid.
    let centroid_norm = with_arena(|scratch| {
        let unit = scratch.alloc_slice_fill_with(n * dim, |i| candidates[i]);
        for row in unit.chunks_exact_mut(dim) {
            let norm = row
                .iter()
                .map(|x| x * x)
                .sum::<f32>()
                .sqrt()
                .max(f32::MIN_POSITIVE);
            row.iter_mut().for_each(|x| *x /= norm);
        }
        let centroid = scratch.alloc_slice_fill_copy(dim, 0.0f32);
        for row in unit.chunks_exact(dim) {
            centroid
                .iter_mut()
                .zip(row)
                .for_each(|(c, x)| *c += x / n as f32);
        }
        centroid.iter().map(|x| x * x).sum::<f32>().sqrt()
    });
    println!(
        "centroid of {n} normalised {dim}-d vectors (6 MB of scratch, more than the 1 MiB pool, \
         so it spilled to the heap and was counted): |c| = {centroid_norm:.4}"
    );

    let t = thread_arena_stats().expect("the kernels used this thread's arena");
    let m = metrics::snapshot();
    println!(
        "thread arena: capacity {} bytes, high-water mark {} bytes, {} bytes in use between scopes",
        t.capacity, t.high_water_mark, t.used
    );
    println!(
        "process metrics: {} resets, {} overflows, max high-water mark {} bytes",
        m.total_resets, m.total_overflows, m.max_high_water_mark
    );
    Ok(())
}
