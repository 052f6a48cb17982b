//! std's lazily allocated stdout buffer and the environment, first touched inside a scope
//! (blink-alloc's bug: the buffer was later reused by the arena, then freed into glibc).
//!
//! `harness = false`: libtest would touch stdout before any test runs. The parent re-runs this
//! binary as a child for each scenario and checks the child's exact output and exit status.

#[path = "child/mod.rs"]
mod child;

use engram_kernels::{GlobalArena, with_global_arena};
use std::io::Write;
use std::thread;

#[global_allocator]
static ALLOC: GlobalArena = GlobalArena::new(std::alloc::System);

const SCENARIO: &str = "ENGRAM_GLOBAL_STDIO_SCENARIO";

/// Fills arena memory with a pattern in many scopes, here and on other threads: if the stdout
/// buffer were reused, the output would show it.
fn churn() {
    for _ in 0..200 {
        with_global_arena(|| std::hint::black_box(vec![0xEEu8; 16 << 10]));
    }
    let hs: Vec<_> = (0..4).map(|_| thread::spawn(churn_here)).collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
}

fn churn_here() {
    for _ in 0..100 {
        with_global_arena(|| std::hint::black_box(vec![0xEEu8; 16 << 10]));
    }
}

fn stdout_first_touched_in_a_scope() {
    let path = with_global_arena(|| {
        println!("first line, printed inside a scope");
        std::io::stdout().flush().unwrap();
        let vars: Vec<(String, String)> = std::env::vars().collect();
        assert!(!vars.is_empty());
        // SAFETY: single-threaded at this point.
        unsafe { std::env::set_var("ENGRAM_SET_IN_SCOPE", "value from the arena") };
        std::env::var("PATH").unwrap_or_default()
    });
    churn();
    for i in 0..3 {
        // a partial line sits in the buffer while the arena churns
        print!("line {i}");
        churn_here();
        println!(" end");
    }
    churn();
    println!("env: {}", std::env::var("ENGRAM_SET_IN_SCOPE").unwrap());
    println!(
        "path kept: {}",
        !path.is_empty() || std::env::var_os("PATH").is_none()
    );
}

fn stdout_first_touched_on_a_thread_that_exits() {
    thread::spawn(|| {
        with_global_arena(|| {
            print!("from a thread");
            churn_here();
            println!(" that exits");
            let _ = std::env::var("HOME");
        })
    })
    .join()
    .unwrap();
    churn();
    print!("main after");
    churn_here();
    println!(" churn");
    churn();
    with_global_arena(|| println!("main inside a scope"));
}

fn run_child(name: &str) -> String {
    let out = child::self_command().env(SCENARIO, name).output().unwrap();
    assert!(
        out.status.success(),
        "{name}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn main() {
    match std::env::var(SCENARIO).as_deref() {
        Ok("scope") => return stdout_first_touched_in_a_scope(),
        Ok("thread") => return stdout_first_touched_on_a_thread_that_exits(),
        _ => {}
    }
    if cfg!(miri) {
        eprintln!("global_stdio_env: skipped under Miri (spawns processes)");
        return;
    }
    assert_eq!(
        run_child("scope"),
        "first line, printed inside a scope\nline 0 end\nline 1 end\nline 2 end\nenv: value from the arena\npath kept: true\n"
    );
    assert_eq!(
        run_child("thread"),
        "from a thread that exits\nmain after churn\nmain inside a scope\n"
    );
    println!("global_stdio_env: 2 scenarios ok");
}
