//! Points the linker at the dist directory: `ENGRAM_DIST` (a directory `scripts/dist.sh` made),
//! by default the repository's `target/dist`.

fn main() {
    let dist = std::env::var("ENGRAM_DIST")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/dist").to_string());
    println!("cargo:rustc-link-search=native={dist}/lib");
    println!("cargo:rerun-if-env-changed=ENGRAM_DIST");
    println!("cargo:rerun-if-changed={dist}/lib/libengram_kernels.a");
}
