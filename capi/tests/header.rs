//! `include/engram_kernels.h` declares exactly the `engram_*` exports of this crate's `src/`,
//! with the same return types and parameter lists, the seed's eight exports keep the
//! spec's signatures, and the header's status codes match the Rust constants. Both files are
//! parsed as text.

use std::collections::BTreeMap;

/// A declaration: return type, then (C type, name) per parameter, all normalised to C spelling.
type Decl = (String, Vec<(String, String)>);

/// Reads a file by its path from the repository root (the header is shared with the C tests).
fn read(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Removes `/* ... */` and `// ...` comments and preprocessor lines.
fn strip_c(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("unterminated comment") + start + 2;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.split("//").next().unwrap())
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `const float *query` → (`const float *`, `query`).
fn c_param(p: &str) -> (String, String) {
    let p = p.split_whitespace().collect::<Vec<_>>().join(" ");
    let split = p
        .rfind([' ', '*'])
        .expect("a parameter has a type and a name");
    let (ty, name) = p.split_at(split + 1);
    let ty = ty.trim().replace(" *", "*").replace('*', " *");
    (ty.trim().to_string(), name.trim().to_string())
}

fn c_decls(text: &str) -> BTreeMap<String, Decl> {
    let text = strip_c(text);
    let mut decls = BTreeMap::new();
    for stmt in text.split(';') {
        let Some(at) = stmt.find("engram_") else {
            continue;
        };
        let open = stmt[at..].find('(').expect("a declaration has parameters") + at;
        let name = stmt[at..open].trim().to_string();
        let ret = stmt[..at]
            .split(['{', '}'])
            .next_back()
            .unwrap()
            .trim()
            .to_string();
        let close = stmt.rfind(')').expect("closing parenthesis");
        let params = stmt[open + 1..close].trim();
        let params = if params == "void" {
            Vec::new()
        } else {
            params.split(',').map(c_param).collect()
        };
        assert!(
            decls.insert(name.clone(), (ret, params)).is_none(),
            "{name} declared twice"
        );
    }
    decls
}

/// A Rust FFI type in C spelling.
fn c_type(rust: &str) -> String {
    let rust = rust.trim();
    let (qualifier, base) = if let Some(b) = rust.strip_prefix("*const ") {
        ("const ", Some(b))
    } else if let Some(b) = rust.strip_prefix("*mut ") {
        ("", Some(b))
    } else {
        ("", None)
    };
    let scalar = |t: &str| match t.trim() {
        "f32" => "float",
        "f64" => "double",
        "u8" => "uint8_t",
        "u32" => "uint32_t",
        "u64" => "uint64_t",
        "i32" => "int32_t",
        "usize" => "size_t",
        other => panic!("no C spelling for the Rust type {other}"),
    };
    match base {
        Some(b) => format!("{qualifier}{} *", scalar(b)),
        None => scalar(rust).to_string(),
    }
}

fn rust_decls(text: &str) -> BTreeMap<String, Decl> {
    let mut decls = BTreeMap::new();
    let marker = "pub unsafe extern \"C\" fn ";
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let after = &rest[at + marker.len()..];
        let open = after.find('(').unwrap();
        let name = after[..open].trim().to_string();
        let close = after.find(')').unwrap();
        let params: Vec<(String, String)> = after[open + 1..close]
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let (n, t) = p.split_once(':').expect("name: type");
                (c_type(t), n.trim().to_string())
            })
            .collect();
        let tail = after[close + 1..].trim_start();
        let ret = match tail.strip_prefix("->") {
            Some(t) => c_type(t.split('{').next().unwrap()),
            None => "void".to_string(),
        };
        assert!(
            tail.starts_with("->") || tail.starts_with('{'),
            "{name}: unexpected {tail:.20}"
        );
        assert!(
            decls.insert(name.clone(), (ret, params)).is_none(),
            "{name} defined twice"
        );
        rest = &after[close..];
    }
    decls
}

fn exports() -> BTreeMap<String, Decl> {
    let mut all = BTreeMap::new();
    let dir = format!("{}/src", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (name, decl) in rust_decls(&text) {
            assert!(
                all.insert(name.clone(), decl).is_none(),
                "{name} defined twice"
            );
        }
    }
    all
}

#[test]
fn the_header_declares_exactly_the_exports() {
    let header = c_decls(&read("include/engram_kernels.h"));
    let rust = exports();
    let header_names: Vec<_> = header.keys().collect();
    let rust_names: Vec<_> = rust.keys().collect();
    assert_eq!(header_names, rust_names);
    for (name, decl) in &rust {
        assert_eq!(&header[name], decl, "{name}: header vs capi/src");
    }
    assert_eq!(rust.len(), 20);
}

#[test]
fn the_seed_exports_keep_the_spec_signatures() {
    // The Zig implementation's eight exports, exactly as the Engram engine declares them.
    let spec = "
void engram_vector_similarity(const float *query, const float *candidates, float *scores,
                              size_t query_len, size_t num_candidates);
void engram_spread_activation(const uint32_t *adjacency, const float *weights, float *activations,
                              size_t num_nodes, size_t num_edges, uint32_t iterations);
void engram_apply_decay(float *strengths, const uint64_t *ages_seconds, size_t num_memories);
void engram_configure_arena(uint32_t pool_size_mb, uint8_t overflow_strategy);
void engram_arena_stats(size_t *total_resets, size_t *total_overflows, size_t *max_high_water_mark);
void engram_reset_arenas(void);
void engram_reset_arena_metrics(void);
void engram_deinit_thread_arena(void);
";
    let spec = c_decls(spec);
    let header = c_decls(&read("include/engram_kernels.h"));
    assert_eq!(spec.len(), 8);
    for (name, decl) in &spec {
        assert_eq!(header.get(name), Some(decl), "{name} differs from the spec");
    }
}

#[test]
fn the_header_status_codes_match_the_rust_constants() {
    use engram_kernels_c as ffi;
    let header = read("include/engram_kernels.h");
    let value = |name: &str| -> i32 {
        let line = header
            .lines()
            .find(|l| l.starts_with(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} is not defined"));
        let v = line[format!("#define {name} ").len()..]
            .split("/*")
            .next()
            .unwrap();
        v.trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .parse()
            .unwrap()
    };
    assert_eq!(value("ENGRAM_OK"), ffi::ENGRAM_OK);
    assert_eq!(value("ENGRAM_ERR_NULL"), ffi::ENGRAM_ERR_NULL);
    assert_eq!(value("ENGRAM_ERR_INVALID"), ffi::ENGRAM_ERR_INVALID);
    assert_eq!(value("ENGRAM_ERR_SCRATCH"), ffi::ENGRAM_ERR_SCRATCH);
    assert_eq!(value("ENGRAM_PQ_L2"), ffi::pq::ENGRAM_PQ_L2 as i32);
    assert_eq!(
        value("ENGRAM_PQ_INNER_PRODUCT"),
        ffi::pq::ENGRAM_PQ_INNER_PRODUCT as i32
    );
}

#[test]
fn the_parsers_see_a_changed_signature() {
    let header = c_decls("int32_t engram_x(const size_t *a, float b);");
    let rust = rust_decls("pub unsafe extern \"C\" fn engram_x(a: *const usize, b: f64) -> i32 {");
    assert_eq!(header["engram_x"].1[0], rust["engram_x"].1[0]);
    assert_ne!(header["engram_x"], rust["engram_x"]);
}
