//! Draws the README's benchmark charts (SVG) from the CSV files that `scripts/charts.sh` makes
//! the benchmarks write.
//!
//! ```text
//! cargo run -p engram-bench --profile bench --bin charts -- target/charts docs/charts
//! ```
//!
//! Reads from the input folder whichever of these exist, and writes one chart per file found:
//! * `alloc.csv` (`alloc_ratio`) → `alloc-time.svg`, nanoseconds per allocation;
//! * `alloc-instr.csv` (`scripts/bench-alloc-instr.sh`) → `alloc-instr.svg`;
//! * `realworld.csv` (`scripts/bench-global-realworld.sh`) → `realworld-wall.svg`, and
//!   `realworld-instr.svg` when it holds callgrind counts;
//! * `similarity.csv` (`similarity`) → `cosine.svg`, candidate vectors per second.
//!
//! `caption.txt`, if present, is printed under every chart (how and where it was measured).

mod bars;
mod csv;

use bars::{Axis, Bars};
use csv::Table;
use std::error::Error;
use std::path::Path;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        return Err("usage: charts INPUT_DIR OUTPUT_DIR".into());
    };
    let (input, output) = (Path::new(input), Path::new(output));
    std::fs::create_dir_all(output)?;
    let caption = std::fs::read_to_string(input.join("caption.txt")).unwrap_or_default();
    let caption = caption.trim();
    let mut drawn = 0;
    if let Some(t) = Table::read_if_exists(&input.join("alloc.csv"))? {
        alloc_chart(&t, "ns_per_op", caption)?.draw(&output.join("alloc-time.svg"))?;
        drawn += 1;
    }
    if let Some(t) = Table::read_if_exists(&input.join("alloc-instr.csv"))? {
        alloc_chart(&t, "instr_per_op", caption)?.draw(&output.join("alloc-instr.svg"))?;
        drawn += 1;
    }
    if let Some(t) = Table::read_if_exists(&input.join("realworld.csv"))? {
        realworld_chart(&t, "ratio_mimalloc", caption)?.draw(&output.join("realworld-wall.svg"))?;
        drawn += 1;
        if t.column("instr_per_iter")?.iter().all(|v| !v.is_empty()) {
            realworld_chart(&t, "instr_per_iter", caption)?
                .draw(&output.join("realworld-instr.svg"))?;
            drawn += 1;
        }
    }
    if let Some(t) = Table::read_if_exists(&input.join("similarity.csv"))? {
        cosine_chart(&t, caption)?.draw(&output.join("cosine.svg"))?;
        drawn += 1;
    }
    if drawn == 0 {
        return Err(format!("no benchmark CSV in {}", input.display()).into());
    }
    println!("{drawn} charts written to {}", output.display());
    Ok(())
}

/// The `alloc_ratio` members, by name: (workload, series). Members missing from the table
/// (the instruction script skips some) are left out of the chart.
const ALLOC_MEMBERS: [(&str, &str, &str); 18] = [
    ("loop32k_with_arena", "loop32k", "with_arena handle"),
    ("loop32k_arena_fixed", "loop32k", "&Arena, fixed"),
    ("loop32k_arena_growable", "loop32k", "&Arena, growable"),
    ("loop32k_bumpalo", "loop32k", "bumpalo"),
    ("loop32k_bump_scope", "loop32k", "bump-scope"),
    ("loop32k_malloc_free", "loop32k", "glibc malloc + free"),
    ("mixed_with_arena", "mixed", "with_arena handle"),
    ("mixed_arena_fixed", "mixed", "&Arena, fixed"),
    ("mixed_arena_growable", "mixed", "&Arena, growable"),
    ("mixed_bumpalo", "mixed", "bumpalo"),
    ("mixed_bump_scope", "mixed", "bump-scope"),
    ("scope_with_arena_empty", "scope", "with_arena, empty scope"),
    ("scope_with_arena", "scope", "with_arena handle"),
    ("scope_nested", "scope", "nested Scratch::scope"),
    ("scope_bump_scope", "scope", "bump-scope"),
    ("vec8mb_arena_growable", "vec8mb", "&Arena, growable"),
    ("vec8mb_bumpalo", "vec8mb", "bumpalo"),
    ("vec8mb_bump_scope", "vec8mb", "bump-scope"),
];

/// Time or instructions per operation of the `alloc_ratio` members, grouped by workload.
fn alloc_chart(t: &Table, column: &str, caption: &str) -> Result<Bars> {
    let (title, unit, axis) = if column == "ns_per_op" {
        let title = "Arena allocation: time per operation (median of interleaved rounds)";
        (
            title,
            "ns per operation (log scale; lower is faster)",
            Axis::Log,
        )
    } else {
        let title = "Arena allocation: instructions per operation (callgrind)";
        (
            title,
            "instructions per operation (lower is fewer)",
            Axis::Linear { reference: None },
        )
    };
    let mut bars = Bars::new(title, unit, axis, caption);
    bars.groups = ["loop32k", "mixed", "scope", "vec8mb"]
        .map(String::from)
        .to_vec();
    bars.group_notes = [
        "32k × 16 B allocate",
        "4096 × 8–256 B",
        "enter, 16 B, leave",
        "8 MB of Vec<u64> pushes",
    ]
    .map(String::from)
    .to_vec();
    // engram's members in blues, the peers in warm colours, glibc in grey.
    for (name, rgb) in [
        ("with_arena handle", 0x1f77b4),
        ("with_arena, empty scope", 0xc6dbef),
        ("nested Scratch::scope", 0x9ecae1),
        ("&Arena, fixed", 0x17becf),
        ("&Arena, growable", 0x08306b),
        ("bumpalo", 0xff7f0e),
        ("bump-scope", 0xd62728),
        ("glibc malloc + free", 0x7f7f7f),
    ] {
        bars.series(name, rgb);
    }
    let members = t.column("member")?;
    let values = t.numbers(column)?;
    for (member, group, series) in ALLOC_MEMBERS {
        if let Some(row) = members.iter().position(|m| m == member) {
            bars.set(group, series, values[row]);
        }
    }
    Ok(bars)
}

/// The realworld workloads: (CSV name, label).
const WORKLOADS: [(&str, &str); 7] = [
    ("json_100k", "json 100 KB"),
    ("json_2m", "json 2 MB"),
    ("toml_50k", "toml 50 KB"),
    ("regex", "regex"),
    ("syn", "syn + prettyplease"),
    ("format", "format!"),
    ("maps", "maps"),
];

/// Wall-clock or instruction ratio to mimalloc per workload and global allocator.
fn realworld_chart(t: &Table, column: &str, caption: &str) -> Result<Bars> {
    let title = if column == "ratio_mimalloc" {
        "Global allocator on real workloads: wall clock relative to mimalloc (median per-round ratio)"
    } else {
        "Global allocator on real workloads: instructions relative to mimalloc (callgrind)"
    };
    let unit = "relative to mimalloc (lower is faster)";
    let axis = Axis::Linear {
        reference: Some(1.0),
    };
    let mut bars = Bars::new(title, unit, axis, caption);
    for (name, rgb) in [
        ("System", 0x7f7f7f),
        ("mimalloc", 0xff7f0e),
        ("GA<System> outside", 0x9ecae1),
        ("GA<System> inside", 0x1f77b4),
        ("GA<MiMalloc> outside", 0xa1d99b),
        ("GA<MiMalloc> inside", 0x2ca02c),
    ] {
        bars.series(name, rgb);
    }
    let workloads = t.column("workload")?;
    let configs = t.column("configuration")?;
    let values = t.numbers(column)?;
    for (csv_name, label) in WORKLOADS {
        if !workloads.iter().any(|w| w == csv_name) {
            continue;
        }
        bars.groups.push(label.to_string());
        let base = (0..workloads.len())
            .find(|&r| workloads[r] == csv_name && configs[r] == "mimalloc")
            .ok_or_else(|| format!("no mimalloc row for {csv_name}"))?;
        for r in (0..workloads.len()).filter(|&r| workloads[r] == csv_name) {
            let v = if column == "ratio_mimalloc" {
                values[r]
            } else {
                values[r] / values[base]
            };
            bars.set(label, &configs[r], v);
        }
    }
    Ok(bars)
}

/// Single-query cosine throughput: candidate vectors scored per second, and the rate at which
/// the same bytes can merely be read (the floors).
fn cosine_chart(t: &Table, caption: &str) -> Result<Bars> {
    let title = "Cosine similarity, one query against n candidates: throughput (median of interleaved rounds)";
    let unit = "million candidate vectors per second (log scale; higher is faster)";
    let mut bars = Bars::new(title, unit, Axis::Log, caption);
    for (name, rgb) in [
        ("engram", 0x1f77b4),
        ("numkong angular", 0xff7f0e),
        ("simsimd cos", 0xd62728),
        ("read floor, 1 stream", 0xbdbdbd),
        ("read floor, 4 streams", 0x737373),
    ] {
        bars.series(name, rgb);
    }
    let (queries, dims, ns) = (t.numbers("queries")?, t.numbers("dim")?, t.numbers("n")?);
    let (members, secs) = (t.column("member")?, t.numbers("seconds")?);
    let single: Vec<usize> = (0..members.len()).filter(|&r| queries[r] == 1.0).collect();
    let label = |r: usize| format!("d{} × {}", dims[r], thousands(ns[r]));
    // Groups by dimension, then by number of candidates.
    let mut shapes: Vec<(u64, u64, usize)> = single
        .iter()
        .map(|&r| (dims[r] as u64, ns[r] as u64, r))
        .collect();
    shapes.sort_by_key(|&(d, n, _)| (d, n));
    shapes.dedup_by_key(|&mut (d, n, _)| (d, n));
    bars.groups = shapes.iter().map(|&(_, _, r)| label(r)).collect();
    for r in single {
        let group = label(r);
        let series = match members[r].as_str() {
            "floor (stream sum)" => "read floor, 1 stream",
            "floor (4 streams)" => "read floor, 4 streams",
            other => other,
        };
        bars.set(&group, series, ns[r] / secs[r] / 1e6);
    }
    Ok(bars)
}

/// 100000 → "100,000".
fn thousands(x: f64) -> String {
    let digits = format!("{x:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
