//! The one-way import rule: a module never refers to a module of a higher layer.
//!
//! Layers, bottom to top (README, "Architecture"):
//!
//! | Layer | Files |
//! |---|---|
//! | shared leaves | `config.rs`, `diag.rs`, `sync.rs`, `metrics.rs`, `collections/` |
//! | raw core | `bump.rs`, `raw/`, `arena_alloc.rs` (the typed helpers' trait), `into_bump.rs` |
//! | `Arena` and scratch, side by side | `arena/` (the rest), `scratch/` |
//! | global allocator | `global/` |
//! | kernels | `kernels/` |
//! | C library | the `capi/` crate, on top of everything (checked by Cargo: nothing depends on it) |
//!
//! A module may refer to its own layer, to any lower one, and to the shared leaves; the leaves
//! refer only to leaves; `arena/` and `scratch/` do not refer to each other. Every `crate::path`
//! in code (comments are skipped, so doc links may point anywhere) is resolved to a file, names
//! re-exported by `lib.rs` to the module they come from, and `super::` to the parent module of
//! the file it is written in.

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layer {
    Leaf,
    Raw,
    Arena,
    Scratch,
    Global,
    Kernels,
}

impl Layer {
    fn rank(self) -> u8 {
        match self {
            Layer::Leaf => 0,
            Layer::Raw => 1,
            Layer::Arena | Layer::Scratch => 2,
            Layer::Global => 3,
            Layer::Kernels => 4,
        }
    }

    /// Whether code in `self` may refer to code in `to`.
    fn may_use(self, to: Layer) -> bool {
        match (self, to) {
            (_, Layer::Leaf) => true,
            (Layer::Leaf, _) => false,
            (Layer::Arena, Layer::Scratch) | (Layer::Scratch, Layer::Arena) => false,
            _ => to.rank() <= self.rank(),
        }
    }
}

/// Path prefixes (from the repository root) and their layers; the first match wins.
const LAYERS: &[(&str, Layer)] = &[
    ("src/bump.rs", Layer::Raw),
    ("src/raw/", Layer::Raw),
    ("src/raw.rs", Layer::Raw),
    ("src/arena_alloc.rs", Layer::Raw),
    ("src/into_bump.rs", Layer::Raw),
    ("src/arena", Layer::Arena),
    ("src/scratch", Layer::Scratch),
    ("src/global", Layer::Global),
    ("src/kernels", Layer::Kernels),
    ("src/config.rs", Layer::Leaf),
    ("src/diag.rs", Layer::Leaf),
    ("src/sync.rs", Layer::Leaf),
    ("src/metrics.rs", Layer::Leaf),
    ("src/collections", Layer::Leaf),
];

fn layer_of(file: &str) -> Option<Layer> {
    LAYERS
        .iter()
        .find(|(prefix, _)| file.starts_with(prefix))
        .map(|&(_, layer)| layer)
}

/// The file a module path (`["arena", "raw", "RawArena"]`) lives in, as far as the layer table
/// needs: `src/a/b.rs` or `src/a/b/` when that exists, else `src/a.rs` or `src/a/`.
fn file_of(segments: &[&str], exists: &dyn Fn(&str) -> bool) -> String {
    if let [a, b, ..] = segments {
        for candidate in [format!("src/{a}/{b}.rs"), format!("src/{a}/{b}/mod.rs")] {
            if exists(&candidate) {
                return candidate;
            }
        }
    }
    let a = segments.first().copied().unwrap_or("");
    if exists(&format!("src/{a}.rs")) {
        format!("src/{a}.rs")
    } else {
        format!("src/{a}/")
    }
}

/// Every `crate::a::b` (also `$crate::` and each name of a `crate::{..}` group) in the code lines
/// of `text`, as its segments; and every `super::name` as `["super", name]`.
fn references(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for (at, _) in code
            .match_indices("crate::")
            .chain(code.match_indices("super::"))
        {
            let is_super = code[at..].starts_with("super::");
            let rest = &code[at + "crate::".len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let heads: Vec<String> = match rest[path.len()..].strip_prefix('{') {
                // `crate::a::{b, c::d}`: one reference per name (groups do not nest here).
                Some(group) => group[..group.find('}').unwrap_or(group.len())]
                    .split(',')
                    .map(|name| format!("{path}{}", name.trim()))
                    .collect(),
                None => vec![path],
            };
            for head in heads {
                let mut segs: Vec<String> = head
                    .split("::")
                    .filter(|s| !s.is_empty() && *s != "self")
                    .map(str::to_string)
                    .collect();
                if segs.is_empty() {
                    continue;
                }
                if is_super {
                    segs.insert(0, "super".to_string());
                }
                out.push(segs);
            }
        }
    }
    out
}

/// `lib.rs`'s `pub use module::..::{Name, ..}`: each re-exported name and the module path it
/// comes from; `#[macro_export]` macros of `collections` belong to `collections`.
fn reexports(lib: &str) -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest.trim_end_matches(';');
        let (module, names) = match rest.split_once("::{") {
            Some((m, n)) => (m, n.trim_end_matches('}').split(',').collect::<Vec<_>>()),
            None => match rest.rsplit_once("::") {
                Some((m, n)) => (m, vec![n]),
                None => continue,
            },
        };
        let module: Vec<String> = module.split("::").map(str::to_string).collect();
        for name in names {
            map.insert(name.trim().to_string(), module.clone());
        }
    }
    for name in ["format_in", "try_format_in"] {
        map.insert(name.to_string(), vec!["collections".to_string()]);
    }
    map
}

/// The violations in `file` (its path from the repository root, and its text).
fn violations(
    file: &str,
    text: &str,
    reexports: &BTreeMap<String, Vec<String>>,
    exists: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let Some(from) = layer_of(file) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for segs in references(text) {
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let target = match segs[0] {
            // `super::` is resolved from the file's own module path: from `src/raw/growth.rs` it
            // names `raw`, from `src/raw/mod.rs` the crate root.
            "super" => {
                let mut path = parent_module(file);
                path.extend(segs[1..].iter().copied());
                if path.is_empty() {
                    continue;
                }
                file_of(&path, exists)
            }
            name => match reexports.get(name) {
                Some(module) => {
                    let mut path: Vec<&str> = module.iter().map(String::as_str).collect();
                    path.extend(&segs[1..]);
                    file_of(&path, exists)
                }
                None => file_of(&segs, exists),
            },
        };
        // External crates re-exported by lib.rs (allocator_api2, hashbrown) have no layer.
        if let Some(to) = layer_of(&target)
            && !from.may_use(to)
        {
            found.push(format!(
                "{file} ({from:?}) refers to crate::{} in {target} ({to:?})",
                segs.join("::")
            ));
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_refers_to_a_higher_layer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exists = |p: &str| root.join(p).exists();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let reexports = reexports(&lib);
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut checked = 0;
    let mut all = Vec::new();
    for path in &files {
        let file = path
            .strip_prefix(root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        if layer_of(&file).is_none() {
            assert_eq!(file, "src/lib.rs", "{file} has no layer: add it to LAYERS");
            continue;
        }
        checked += 1;
        let text = std::fs::read_to_string(path).unwrap();
        all.extend(violations(&file, &text, &reexports, &exists));
    }
    assert!(checked > 20, "only {checked} files checked");
    assert!(
        all.is_empty(),
        "lower layers refer to higher ones:\n{}",
        all.join("\n")
    );
}

/// The module path of `file`'s parent module: `src/raw/growth.rs` → `["raw"]`, `src/raw/mod.rs`
/// → `[]` (the crate root).
fn parent_module(file: &str) -> Vec<&str> {
    let module = file.trim_start_matches("src/").trim_end_matches(".rs");
    let module = module.strip_suffix("/mod").unwrap_or(module);
    let mut path: Vec<&str> = module.split('/').filter(|s| !s.is_empty()).collect();
    path.pop();
    path
}

/// The checker sees a planted violation in each form it handles, and accepts what is allowed.
#[test]
fn the_checker_sees_each_kind_of_reference() {
    let exists = |p: &str| {
        [
            "src/raw/mod.rs",
            "src/raw/chunk.rs",
            "src/arena_alloc.rs",
            "src/arena/mod.rs",
            "src/scratch/mod.rs",
            "src/global/mod.rs",
            "src/config.rs",
            "src/bump.rs",
        ]
        .contains(&p)
            || p == "src/kernels/"
    };
    let lib = "pub use scratch::{Scratch, with_arena};\npub use arena_alloc::ArenaAlloc;\n";
    let re = reexports(lib);
    let bad = |file: &str, text: &str| violations(file, text, &re, &exists).len();
    assert_eq!(
        bad("src/bump.rs", "use crate::arena::Arena;"),
        1,
        "raw → arena"
    );
    assert_eq!(
        bad("src/raw/mod.rs", "use super::arena::Arena;"),
        1,
        "super:: out of raw"
    );
    assert_eq!(bad("src/raw/growth.rs", "use super::chunk::Chunk;"), 0);
    assert_eq!(
        bad("src/config.rs", "crate::with_arena(|_| ());"),
        1,
        "leaf → scratch by re-export"
    );
    assert_eq!(
        bad("src/arena/mod.rs", "use crate::{bump, scratch::Scratch};"),
        1,
        "group"
    );
    assert_eq!(bad("src/scratch/mod.rs", "use crate::raw::RawArena;"), 0);
    assert_eq!(
        bad("src/scratch/mod.rs", "use crate::ArenaAlloc;"),
        0,
        "raw core by re-export"
    );
    assert_eq!(
        bad(
            "src/global/mod.rs",
            "let x = crate::kernels::dispatch::active();"
        ),
        1
    );
    assert_eq!(
        bad("src/global/mod.rs", "/// see [`crate::kernels`]"),
        0,
        "comments are skipped"
    );
    assert_eq!(
        bad("src/kernels/x.rs", "use crate::global::GlobalArena;"),
        0,
        "down is fine"
    );
}
