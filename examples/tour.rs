//! A guided tour of engram-kernels: the main job of the README.
//!
//! ```text
//! cargo run --release --features kernels --example tour
//! ```
//!
//! 1. a hashbrown map and arena strings inside a fixed-capacity `Arena`;
//! 2. the kernels (top-k cosine similarity, spreading activation, decay) and a hand-written
//!    kernel with their scratch in the thread arena, and the process metrics they record;
//! 3. an allocation-stats comparison (`stats_alloc`) of arena against global allocation.
//!
//! Every figure it prints is measured or computed in the run; nothing is a canned sentence.

#[path = "common/alloc_table.rs"]
mod alloc_table;

use engram_kernels::ArenaAlloc;
use engram_kernels::collections::String as ArenaString;
use engram_kernels::kernels::decay::Decay;
use engram_kernels::kernels::dispatch;
use engram_kernels::kernels::similarity::top_k;
use engram_kernels::kernels::spread::{CsrGraph, spread};
use engram_kernels::{Arena, format_in, metrics, thread_arena_stats, with_arena};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    arena_map();
    kernels_on_scratch()?;
    println!("\n== 3. Allocation statistics: arena against global allocation ==\n");
    alloc_table::print_table(15);
    Ok(())
}

fn arena_map() {
    println!("== 1. A hashbrown map and arena strings inside a fixed-capacity Arena ==\n");
    let text = "the quick brown fox jumps over the lazy dog the fox naps";
    let arena = Arena::with_capacity(16 << 10);
    let mut counts = hashbrown::HashMap::new_in(&arena);
    for word in text.split(' ') {
        // The key is a String whose bytes live in the arena too.
        *counts
            .entry(ArenaString::from_str_in(word, &arena))
            .or_insert(0u32) += 1;
    }
    let mut top: Vec<_> = counts.iter().map(|(w, n)| (*n, w.as_str())).collect();
    top.sort_unstable_by(|a, b| b.cmp(a));
    let mut line = ArenaString::new_in(&arena);
    for (n, w) in &top[..3] {
        line.push_str(&format_in!(&arena, "{w} x{n}  "));
    }
    println!("most frequent words: {}", line.trim_end());
    let s = arena.stats();
    println!(
        "arena: {} of {} bytes used ({:.1}%), high-water mark {}, refused requests {}",
        s.used,
        s.capacity,
        s.utilization() * 100.0,
        s.high_water_mark,
        s.overflow_count
    );
    println!(
        "a fixed arena never grows: a 1 MiB request gives {:?}",
        arena.try_alloc([0u8; 1 << 20]).map(|_| ())
    );
}

fn kernels_on_scratch() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "\n== 2. Kernels with their scratch in the thread arena (SIMD path: {}) ==\n",
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
    println!("top-3 cosine matches of a query close to candidate 42, among {n} of {dim} dims:");
    for (rank, m) in best.iter().enumerate() {
        println!(
            "  {}. candidate {:>4}  score {:+.4}",
            rank + 1,
            m.index,
            m.score
        );
    }

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
    println!("spreading activation on a 1000-node ring (edges to the next two, weight 0.5),");
    println!(
        "from node 0, 4 iterations, nodes 0-5: {}",
        fixed(&activation[..6], 3)
    );

    let ages = [0, 3_600, 86_400, 172_800, 604_800];
    let mut strengths = vec![1.0f32; ages.len()];
    Decay::ENGRAM_DEFAULT.apply(&mut strengths, &ages)?;
    println!("decay of strength 1.0 (tau = 1 day) after 0 s, 1 h, 1 d, 2 d, 1 week:");
    println!("  {}", fixed(&strengths, 4));

    // A hand-written kernel: normalised copies in scratch, then a centroid. It needs more
    // scratch than the pool holds; what happened is read from the metrics, not assumed.
    let pool = thread_arena_stats().map_or(0, |t| t.capacity);
    let before = metrics::snapshot();
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
    let after = metrics::snapshot();
    let spilled = after.total_overflows - before.total_overflows;
    let asked = (n * dim + dim) * size_of::<f32>();
    println!("centroid of the {n} normalised vectors: |c| = {centroid_norm:.4}");
    println!(
        "  its scratch, {}, {}",
        mib(asked),
        match spilled {
            0 => format!("fit the {} pool", mib(pool)),
            k => format!(
                "outgrew the {} pool: {k} block(s) spilled to the heap, counted",
                mib(pool)
            ),
        }
    );

    let t = thread_arena_stats().expect("the kernels used this thread's arena");
    let m = metrics::snapshot();
    println!(
        "this thread's scratch pool: {} capacity, {} in use between scopes",
        mib(t.capacity),
        t.used
    );
    println!(
        "process metrics for this section: {} scopes closed (one per kernel call or with_arena),",
        m.total_resets
    );
    println!(
        "  {} spilled request(s), largest pool use in one scope {} bytes",
        m.total_overflows, m.max_high_water_mark
    );
    Ok(())
}

/// Numbers with `digits` decimals, comma-separated.
fn fixed(values: &[f32], digits: usize) -> String {
    let parts: Vec<String> = values.iter().map(|v| format!("{v:.digits$}")).collect();
    parts.join(", ")
}

/// Bytes in MiB with one decimal.
fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}
