//! Real third-party workloads, identical for every global allocator: each binary in `src/bin/`
//! installs one `#[global_allocator]` and calls [`main_with`]. Inputs are generated
//! deterministically, so every binary sees the same bytes; every workload returns its output
//! bytes, which the script compares against System's.
//!
//! ```text
//! <bin> run  <workload> <iterations> <outside|inside> [output file]   (for callgrind: one
//!            warm-up iteration, then <iterations> inside `measured_iterations`, the only
//!            function whose instructions the script collects)
//! <bin> time <workload> <iterations> <outside|inside>                  (prints one line: ns per
//!            iteration, minor page faults per iteration, peak RSS in KiB, the process's
//!            resident and huge-page-backed KiB at the end, and the same two for the global
//!            arena's range (0 without one); all after one warm-up iteration)
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Instant;

pub const WORKLOADS: [&str; 7] = [
    "json_100k",
    "json_2m",
    "toml_50k",
    "regex",
    "syn",
    "format",
    "maps",
];

/// A tiny deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn word(&mut self) -> &'static str {
        const W: [&str; 16] = [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
            "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
        ];
        W[self.below(16) as usize]
    }
}

/// A JSON document of about `bytes` bytes: an array of records with strings, numbers, nested
/// arrays and objects.
pub fn json_input(bytes: usize) -> String {
    let mut r = Rng(0x1234_5678_9ABC_DEF1);
    let mut s = String::from("[");
    let mut i = 0;
    while s.len() < bytes {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#"{{"id":{i},"name":"{} {}","score":{}.{},"active":{},"tags":["{}","{}","{}"],"pos":{{"x":{},"y":{},"label":"{}-{}"}},"history":[{},{},{},{}]}}"#,
            r.word(),
            r.word(),
            r.below(1000),
            r.below(100),
            r.below(2) == 0,
            r.word(),
            r.word(),
            r.word(),
            r.below(100_000) as i64 - 50_000,
            r.below(100_000),
            r.word(),
            r.below(99),
            r.below(1 << 20),
            r.below(1 << 20),
            r.below(1 << 20),
            r.below(1 << 20),
        );
        i += 1;
    }
    s.push(']');
    s
}

/// A TOML document of about `bytes` bytes: tables, arrays of tables, strings, integers, arrays.
pub fn toml_input(bytes: usize) -> String {
    let mut r = Rng(0x0DDB_1A5E_5BAD_5EED);
    let mut s = String::from("title = \"generated\"\nversion = 3\n\n");
    let mut i = 0;
    while s.len() < bytes {
        let _ = write!(
            s,
            "[server_{i}]\nhost = \"{}.{}.example\"\nport = {}\nenabled = {}\nweights = [{}, {}, {}]\n\
             tags = [\"{}\", \"{}\"]\n\n[[server_{i}.route]]\npath = \"/{}/{}\"\nretries = {}\n\n\
             [[server_{i}.route]]\npath = \"/{}\"\nretries = {}\n\n",
            r.word(),
            r.word(),
            1024 + r.below(60000),
            r.below(2) == 0,
            r.below(100),
            r.below(100),
            r.below(100),
            r.word(),
            r.word(),
            r.word(),
            r.word(),
            r.below(10),
            r.word(),
            r.below(10),
        );
        i += 1;
    }
    s
}

/// About `bytes` bytes of text with words, dates, e-mail addresses, numbers and IP addresses.
pub fn regex_input(bytes: usize) -> String {
    let mut r = Rng(0xFEED_FACE_CAFE_BEEF);
    let mut s = String::new();
    while s.len() < bytes {
        match r.below(8) {
            0 => {
                let _ = write!(s, "{}.{}@{}.com ", r.word(), r.word(), r.word());
            }
            1 => {
                let _ = write!(
                    s,
                    "2{:03}-{:02}-{:02} ",
                    r.below(30),
                    1 + r.below(12),
                    1 + r.below(28)
                );
            }
            2 => {
                let _ = write!(
                    s,
                    "{}.{}.{}.{} ",
                    r.below(256),
                    r.below(256),
                    r.below(256),
                    r.below(256)
                );
            }
            3 => {
                let w = r.word();
                let _ = write!(s, "{}{}ing ", w[..1].to_uppercase(), &w[1..]);
            }
            4 => s.push_str(".\n"),
            _ => {
                let _ = write!(s, "{} {} ", r.word(), r.below(100_000));
            }
        }
    }
    s
}

/// A Rust source file of about `bytes` bytes: structs, enums, impls, functions with loops,
/// matches, closures and generics.
pub fn rust_input(bytes: usize) -> String {
    let mut r = Rng(0xABCD_EF01_2345_6789);
    let mut s = String::from("//! Generated.\nuse std::collections::HashMap;\n\n");
    let mut i = 0;
    while s.len() < bytes {
        let (a, b, c) = (r.word(), r.word(), r.word());
        let _ = write!(
            s,
            "/// Docs for item {i}.\n#[derive(Debug, Clone)]\npub struct S{i}<T: Clone> {{ pub {a}: Vec<T>, {b}: Option<Box<S{i}<T>>>, {c}: HashMap<String, (u32, i64)> }}\n\n\
             pub enum E{i} {{ {A}(u{bits}), {B} {{ x: i32, y: f64 }}, {C} }}\n\n\
             impl<T: Clone + std::fmt::Debug> S{i}<T> {{\n    pub fn new({a}: Vec<T>) -> Self {{ Self {{ {a}, {b}: None, {c}: HashMap::new() }} }}\n\
                 pub fn run(&mut self, n: usize) -> Result<u64, String> {{\n        let mut acc = 0u64;\n        for k in 0..n {{\n            \
             match k % {m} {{ 0 => acc += k as u64 * {v}, 1 | 2 => acc ^= (k as u64) << 3, _ => {{ let s = format!(\"{{}}-{{:?}}\", k, self.{a}.len()); self.{c}.insert(s, (k as u32, -(k as i64))); }} }}\n        }}\n        \
             let f = |x: u64| -> u64 {{ if x > {v} {{ x - {v} }} else {{ x + 1 }} }};\n        if acc == 0 {{ return Err(String::from(\"{a} {b}\")); }}\n        Ok(f(acc))\n    }}\n}}\n\n\
             pub fn free_{i}(e: &E{i}) -> i64 {{ match e {{ E{i}::{A}(v) => *v as i64, E{i}::{B} {{ x, y }} => *x as i64 + *y as i64, E{i}::{C} => -1 }} }}\n\n",
            A = "Alpha",
            B = "Beta",
            C = "Gamma",
            bits = [8, 16, 32, 64][r.below(4) as usize],
            m = 3 + r.below(5),
            v = r.below(10_000),
        );
        i += 1;
    }
    s
}

/// The inputs of one workload, generated once per process (start-up cost, cancelled by the
/// subtraction of a short run from a long one).
pub enum Input {
    Text(String),
    None,
}

pub fn input(workload: &str) -> Input {
    match workload {
        "json_100k" => Input::Text(json_input(100 << 10)),
        "json_2m" => Input::Text(json_input(2 << 20)),
        "toml_50k" => Input::Text(toml_input(50 << 10)),
        "regex" => Input::Text(regex_input(200 << 10)),
        "syn" => Input::Text(rust_input(80 << 10)),
        "format" | "maps" => Input::None,
        w => panic!("unknown workload {w}; one of {WORKLOADS:?}"),
    }
}

fn text(i: &Input) -> &str {
    match i {
        Input::Text(s) => s,
        Input::None => "",
    }
}

/// One iteration of `workload`: its output bytes.
pub fn run_once(workload: &str, input: &Input) -> Vec<u8> {
    match workload {
        "json_100k" | "json_2m" => {
            let v: serde_json::Value = serde_json::from_str(text(input)).expect("valid JSON");
            serde_json::to_string(&v).expect("serialises").into_bytes()
        }
        "toml_50k" => {
            let t: toml::Table = toml::from_str(text(input)).expect("valid TOML");
            toml::to_string(&t).expect("serialises").into_bytes()
        }
        "regex" => regex_workload(text(input)),
        "syn" => {
            let file = syn::parse_file(text(input)).expect("valid Rust");
            prettyplease::unparse(&file).into_bytes()
        }
        "format" => format_workload(),
        "maps" => maps_workload(),
        w => panic!("unknown workload {w}"),
    }
}

fn regex_workload(haystack: &str) -> Vec<u8> {
    const PATTERNS: [&str; 6] = [
        r"[a-z]+\.[a-z]+@[a-z]+\.com",
        r"\b2\d{3}-(0[1-9]|1[0-2])-\d{2}\b",
        r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
        r"\b[A-Z][a-z]+ing\b",
        r"(?i)\b(alpha|oscar|papa)\s+(\d+)",
        r"(?m)^\S+\s\d{5}",
    ];
    let mut out = String::new();
    for p in PATTERNS {
        let re = regex::Regex::new(p).expect("valid pattern");
        let mut n = 0usize;
        let mut last = String::new();
        for m in re.find_iter(haystack) {
            n += 1;
            last = m.as_str().to_owned();
        }
        let caps: Vec<String> = re
            .captures_iter(haystack)
            .take(50)
            .map(|c| c.get(c.len() - 1).map_or("", |m| m.as_str()).to_owned())
            .collect();
        let _ = writeln!(
            out,
            "{p}: {n} matches, last {last:?}, caps {}",
            caps.join("|")
        );
    }
    out.into_bytes()
}

#[derive(Debug)]
#[allow(dead_code)] // read through Debug
struct Point {
    x: i64,
    y: f64,
    name: String,
}

fn format_workload() -> Vec<u8> {
    let mut r = Rng(42);
    let mut lines: Vec<String> = Vec::new();
    for i in 0..10_000 {
        let p = Point {
            x: r.below(1_000_000) as i64 - 500_000,
            y: r.below(1_000_000) as f64 / 7.0,
            name: format!("{}-{}", r.word(), i),
        };
        lines.push(match i % 4 {
            0 => format!("{p:?}"),
            1 => format!("{:>12}|{:<10.3}|{:08x}", p.x, p.y, i),
            2 => format!("{}/{}/{}", p.name, p.x, p.y),
            _ => [p.name.as_str(), &p.x.to_string(), &format!("{:e}", p.y)].join(","),
        });
    }
    let total: usize = lines.iter().map(String::len).sum();
    let mut out = lines[..100].join("\n");
    let _ = write!(out, "\ntotal {total} bytes in {} lines", lines.len());
    out.into_bytes()
}

fn maps_workload() -> Vec<u8> {
    let mut r = Rng(7);
    let mut h: HashMap<String, Vec<u64>> = HashMap::new();
    let mut b: BTreeMap<u64, String> = BTreeMap::new();
    for i in 0..15_000u64 {
        let k = format!("{}{}", r.word(), r.below(2000));
        h.entry(k.clone()).or_default().push(i);
        b.insert(r.below(50_000), k);
        if i % 5 == 0 {
            let victim = r.below(50_000);
            b.remove(&victim);
        }
    }
    let mut keys: Vec<&String> = h.keys().collect();
    keys.sort();
    let mut out = String::new();
    for k in keys.iter().take(200) {
        let v = &h[*k];
        let _ = writeln!(
            out,
            "{k}: {} {:?}",
            v.len(),
            v.iter().take(3).collect::<Vec<_>>()
        );
    }
    for (k, v) in b.range(1000..1200) {
        let _ = writeln!(out, "{k} => {v}");
    }
    let _ = write!(out, "{} keys, {} entries", h.len(), b.len());
    out.into_bytes()
}

/// `n` iterations; the last one's output. Not inlined: the script has callgrind count only the
/// instructions executed in here (`--toggle-collect`), so start-up, input generation and the
/// first iteration's one-time work (lazy statics, the allocator's first chunks or segments) are
/// left out, like subtracting a short run from a long one, in one run.
#[inline(never)]
pub fn measured_iterations(n: usize, once: &dyn Fn() -> Vec<u8>) -> Option<Vec<u8>> {
    let mut last = None;
    for _ in 0..n {
        last = Some(once());
    }
    last
}

/// Minor page faults of this process so far (field 10 of `/proc/self/stat`; 0 where unreadable).
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) is parenthesised and may contain spaces: count after it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after
        .split_whitespace()
        .nth(7)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

/// The KiB figure of a `Name:   123 kB` line.
fn kib_field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Wraps one iteration: `with_global_arena` for the GlobalArena binaries, a plain call otherwise.
pub type Scope<'a> = &'a dyn Fn(&dyn Fn() -> Vec<u8>) -> Vec<u8>;

/// The shared `main` of every binary. `scope` wraps one iteration: `with_global_arena` for the
/// GlobalArena binaries in `inside` mode, a plain call otherwise.
/// `main_with`'s report of the global arena's range after a timed run: resident KiB and KiB on
/// huge pages (`None` for binaries without a `GlobalArena`).
pub type RangeReport<'a> = &'a dyn Fn() -> Option<(usize, usize)>;

pub fn main_with(scope: Scope<'_>, arena: bool, range: RangeReport<'_>) {
    let args: Vec<String> = std::env::args().collect();
    let usage =
        "usage: <bin> run|time|trace <workload> <iterations> <outside|inside> [output file]";
    if args.len() < 5 {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    let (cmd, workload, mode) = (args[1].as_str(), args[2].as_str(), args[4].as_str());
    let iterations: usize = args[3].parse().expect("iterations");
    if mode == "inside" && !arena {
        eprintln!("this binary has no GlobalArena: only `outside`");
        std::process::exit(2);
    }
    let input = input(workload);
    let once = || {
        if mode == "inside" {
            scope(&|| run_once(workload, &input))
        } else {
            run_once(workload, &input)
        }
    };
    match cmd {
        "run" => {
            let warm = once();
            let last = measured_iterations(iterations, &once).unwrap_or(warm);
            if let Some(path) = args.get(5) {
                std::fs::write(path, &last).expect("write output");
            }
        }
        "time" => {
            let _ = once(); // warm-up
            let faults = minor_faults();
            // Each iteration is timed too (allocated before the clock starts): on a shared
            // machine whole phases run slower, and the fastest tenth of the iterations shows the
            // speed of the quiet phases.
            let mut each = Vec::with_capacity(iterations);
            let t = Instant::now();
            for _ in 0..iterations {
                let it = Instant::now();
                drop(once());
                each.push(it.elapsed().as_nanos());
            }
            let ns = t.elapsed().as_nanos() / iterations.max(1) as u128;
            each.sort_unstable();
            let p10 = each.get(iterations / 10).copied().unwrap_or(0);
            let faults = (minor_faults() - faults) as f64 / iterations.max(1) as f64;
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
            let (range_kib, range_huge_kib) = range().unwrap_or((0, 0));
            println!(
                "{ns} {faults:.1} {} {} {} {range_kib} {range_huge_kib} {p10}",
                kib_field(&status, "VmHWM:"),
                kib_field(&rollup, "Rss:"),
                kib_field(&rollup, "AnonHugePages:")
            );
        }
        "trace" => {
            // Each iteration's wall-clock time in ns, one per line: shows phases and outliers
            // that a mean over the run hides.
            let _ = once();
            for _ in 0..iterations {
                let t = Instant::now();
                drop(once());
                println!("{}", t.elapsed().as_nanos());
            }
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
