//! `ENGRAM_ARENA_STRICT` and the stderr messages, observed from child processes (each reads its
//! own environment once): under strict mode an invalid value aborts at first use with a clear
//! message; otherwise each invalid value gives one prefixed line saying what happens instead.

#[path = "child/mod.rs"]
mod child;

use engram_kernels::ArenaAlloc;
use engram_kernels::{config, diag};
use std::process::Output;

const VARS: [&str; 4] = [
    "ENGRAM_ARENA_SIZE",
    "ENGRAM_ARENA_OVERFLOW",
    "ENGRAM_ARENA_ZERO",
    "ENGRAM_ARENA_STRICT",
];

/// The child: reads the configuration once and prints it on stdout.
#[test]
#[ignore = "run by the tests below in a child process"]
fn child_prints_config() {
    let cfg = config::current();
    println!(
        "config: {} {:?} {}",
        cfg.pool_size, cfg.overflow, cfg.zero_on_reset
    );
    assert_eq!(engram_kernels::with_arena(|s| *s.alloc(1u8)), 1); // first real use works
}

fn run_child(env: &[(&str, &str)]) -> (Output, String, String) {
    let mut cmd = child::self_command();
    cmd.args(["--ignored", "--exact", "child_prints_config", "--nocapture"]);
    for var in VARS {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// The crate's own lines on stderr (the test harness prints nothing there).
fn crate_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("ENGRAM_ARENA"))
        .collect()
}

#[cfg(unix)]
fn aborted(out: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    out.status.signal() == Some(6) // SIGABRT
}

#[cfg(not(unix))]
fn aborted(out: &Output) -> bool {
    !out.status.success()
}

#[test]
fn strict_mode_aborts_on_an_invalid_value_with_a_clear_message() {
    let (out, stdout, stderr) = run_child(&[
        ("ENGRAM_ARENA_STRICT", "1"),
        ("ENGRAM_ARENA_OVERFLOW", "eror"),
        ("ENGRAM_ARENA_SIZE", "2M"),
    ]);
    assert!(aborted(&out), "status {:?}; stderr: {stderr}", out.status);
    assert!(!stdout.contains("config:"), "the child went on: {stdout}");
    let lines = crate_lines(&stderr);
    assert_eq!(lines.len(), 2, "{stderr}");
    assert_eq!(
        lines[0],
        "engram-kernels: ENGRAM_ARENA_OVERFLOW=\"eror\" is invalid \
         (expected panic, error, error_return or fallback)"
    );
    assert!(
        lines[1].starts_with("engram-kernels: ENGRAM_ARENA_STRICT is on")
            && lines[1].contains("aborting"),
        "{}",
        lines[1]
    );
}

#[test]
fn an_invalid_strict_value_counts_as_strict() {
    let (out, _, stderr) = run_child(&[("ENGRAM_ARENA_STRICT", "please")]);
    assert!(aborted(&out), "status {:?}; stderr: {stderr}", out.status);
    assert!(
        stderr.contains("engram-kernels: ENGRAM_ARENA_STRICT=\"please\" is invalid"),
        "{stderr}"
    );
}

#[test]
fn strict_mode_with_valid_values_runs_quietly() {
    let (out, stdout, stderr) = run_child(&[
        ("ENGRAM_ARENA_STRICT", " Yes "),
        ("ENGRAM_ARENA_SIZE", "4 MiB"),
        ("ENGRAM_ARENA_OVERFLOW", "PANIC"),
        ("ENGRAM_ARENA_ZERO", "off"),
    ]);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("config: 4194304 Panic false"), "{stdout}");
    assert!(crate_lines(&stderr).is_empty(), "{stderr}");
}

#[test]
fn without_strict_each_invalid_value_gives_one_prefixed_line() {
    let (out, stdout, stderr) = run_child(&[
        ("ENGRAM_ARENA_STRICT", "0"),
        ("ENGRAM_ARENA_SIZE", "64 GB"),
        ("ENGRAM_ARENA_OVERFLOW", "falback"),
        ("ENGRAM_ARENA_ZERO", "sometimes"),
    ]);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("config: 1048576 Error false"), "{stdout}");
    let lines = crate_lines(&stderr);
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines.iter().all(|l| l.starts_with(diag::STDERR_PREFIX)));
    assert!(
        lines[0].ends_with("; keeping 1048576 bytes"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("\"falback\"") && lines[1].contains("using error (bounded)"));
    assert!(lines[2].ends_with("; keeping false"), "{}", lines[2]);
}
