//! Runs a few kernel calls through the statically linked C library and checks the values; exits 1
//! on any failure. Built by scripts/link-tests.sh under fat LTO, thin LTO and the dev profile.

use engram_link_client as engram;
use std::process::{Command, ExitCode};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const OVERFLOW_CHILD: &str = "--overflow-under-panic-policy";

struct Checks {
    passed: usize,
    failed: usize,
}

impl Checks {
    fn check(&mut self, ok: bool, what: &str) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
            eprintln!("FAIL: {what}");
        }
    }
}

/// A 300,000-node ring: its 1.2 MB snapshot does not fit a 1 MiB pool.
fn big_ring() -> (Vec<u32>, Vec<f32>, Vec<f32>) {
    let n = 300_000u32;
    let adj = (0..n).map(|i| (i + 1) % n).collect();
    (adj, vec![0.75; n as usize], vec![0.5; n as usize])
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(OVERFLOW_CHILD) {
        // Under the panic policy the library prints the reason and aborts; it never unwinds into
        // this (panic = "abort" or not) program.
        engram::configure(1, 0);
        engram::deinit_thread_arena();
        let (adj, w, mut act) = big_ring();
        engram::spread(&adj, &w, &mut act, 1);
        return ExitCode::SUCCESS; // not reached
    }

    let mut c = Checks {
        passed: 0,
        failed: 0,
    };
    let s = engram::similarity(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    c.check(s[0] == 1.0, "similarity with itself is 1");
    c.check(
        (s[1] - 0.974_631_8).abs() < 1e-6,
        "similarity of [1,2,3] and [4,5,6]",
    );

    let best = engram::top_k(&[1.0, 0.0], &[0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 2.0, 2.0], 3);
    let order: Vec<usize> = best.iter().map(|m| m.0).collect();
    c.check(
        order == [2, 1, 3] && best[0].1 == 1.0,
        "top-k order and score",
    );

    // PQ: m = 1, one-float sub-vectors, centroid c at c; the query 8 is 1 from codes 9 and 7.
    let codebook: Vec<f32> = (0..256).map(|c| c as f32).collect();
    let (exact, fast) = engram::pq_nearest(&[8.0], &codebook, 1, &[9, 2, 7, 255], 2);
    c.check(
        exact == [(0, 1.0), (2, 1.0)],
        "PQ top-k from row-major codes",
    );
    c.check(fast == exact, "PQ top-k from packed codes equals it");

    engram::reset_metrics();
    let mut act = [1.0f32, 0.0, 0.0];
    engram::spread(&[1, 2], &[0.5, 0.3], &mut act, 5);
    c.check(act == [0.4, 1.0, 0.6], "legacy spread, 5 iterations");
    let (resets, overflows, peak) = engram::stats();
    c.check(
        resets == 1 && overflows == 0 && peak >= 12,
        "one kernel call: one reset, a 12-byte peak",
    );
    for want in 2..=4 {
        engram::reset_arenas();
        c.check(
            engram::stats().0 == want,
            "engram_reset_arenas counts one reset",
        );
    }

    let mut strengths = [1.0f32, 1.0, f32::MAX];
    engram::decay(&mut strengths, &[0, 86_400, 100_000]);
    c.check(strengths[0] == 1.0, "age 0 leaves the strength unchanged");
    c.check(
        (strengths[1] - 0.367_879_45).abs() < 1e-7,
        "one day gives 1/e",
    );
    // The engine's reference: the factor rounded once to f32, then one f32 multiply.
    let factor = (-100_000.0f64 / 86_400.0).exp() as f32;
    c.check(
        strengths[2].to_bits() == (f32::MAX * factor).to_bits() && strengths[2] == 1.069_507_3e38,
        "FLT_MAX at 100,000 s rounds like the engine",
    );

    // The default fallback policy: a ring too big for the pool spills, is counted, and is right.
    let (adj, w, mut act) = big_ring();
    engram::spread(&adj, &w, &mut act, 1);
    c.check(
        act.iter().all(|&a| a == 0.5 + 0.5 * 0.75),
        "spilled spread is right",
    );
    c.check(engram::stats().1 >= 1, "the spill is counted");

    // Eight threads at once, each with its own arena, allocating through mimalloc around the calls.
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let q: Vec<f32> = (0..64).map(|i| (i + t) as f32).collect();
                let mut ok = true;
                for round in 0..200 {
                    let rows: Vec<f32> = q.iter().chain(q.iter()).map(|v| -v).collect();
                    ok &= engram::similarity(&q, &rows) == [-1.0, -1.0];
                    if round % 50 == 0 {
                        engram::deinit_thread_arena();
                    }
                }
                ok
            })
        })
        .collect();
    let all_ok = threads.into_iter().all(|t| t.join().unwrap_or(false));
    c.check(all_ok, "8 threads at once");

    // This program's own panics still unwind (its personality routine is its own, not the
    // library's), when it is built to unwind.
    #[cfg(panic = "unwind")]
    {
        std::panic::set_hook(Box::new(|_| {}));
        let caught = std::panic::catch_unwind(|| panic!("client panic")).is_err();
        let _ = std::panic::take_hook();
        c.check(caught, "the client's own panic unwinds and is caught");
    }

    // The library's panic path (the panic policy) prints its reason and aborts the process.
    let child = Command::new(std::env::current_exe().expect("current_exe"))
        .arg(OVERFLOW_CHILD)
        .output()
        .expect("spawn the overflow child");
    let stderr = String::from_utf8_lossy(&child.stderr);
    use std::os::unix::process::ExitStatusExt;
    c.check(
        child.status.signal() == Some(6) && stderr.contains("scratch arena overflow"),
        "the panic policy aborts with its message",
    );

    println!(
        "link client ({}): {} passed, {} failed",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        c.passed,
        c.failed
    );
    if c.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
