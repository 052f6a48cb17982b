//! Shared by the tests that re-run their own binary as a child process.
#![allow(dead_code)]

use std::process::Command;

/// A command that runs this test binary again. Where the tests themselves run under an emulator
/// or another runner (`ENGRAM_TEST_RUNNER`, e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu`, as
/// CI's aarch64 run sets it), the child goes through the same runner.
pub fn self_command() -> Command {
    let exe = std::env::current_exe().expect("current_exe");
    match std::env::var("ENGRAM_TEST_RUNNER") {
        Ok(runner) if !runner.trim().is_empty() => {
            let mut words = runner.split_whitespace();
            let mut cmd = Command::new(words.next().expect("a runner"));
            cmd.args(words).arg(exe);
            cmd
        }
        _ => Command::new(exe),
    }
}
