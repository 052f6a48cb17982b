//! A criterion measurement that counts this thread's CPU time instead of wall time.
//!
//! The benchmark machine is a small VM shared with other jobs: with more runnable tasks than
//! cores, wall time mostly measures how long the scheduler kept us off the CPU, and that differs
//! from one member to the next. Thread CPU time (`CLOCK_THREAD_CPUTIME_ID`) leaves preemption
//! out, so members measured minutes apart stay comparable. On an idle machine both clocks agree.
//! `ENGRAM_BENCH_CLOCK=wall` switches back to wall time; other platforms always use wall time.
//!
//! Reading the clock costs a system call, but criterion estimates the per-iteration time from
//! the slope over samples of growing iteration counts, so a constant cost per sample drops out.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use std::time::{Duration, Instant};

pub struct BenchClock {
    cpu: bool,
    epoch: Instant,
}

impl BenchClock {
    /// Thread CPU time where available, unless `ENGRAM_BENCH_CLOCK=wall`.
    pub fn from_env() -> Self {
        let wall = std::env::var("ENGRAM_BENCH_CLOCK").is_ok_and(|v| v == "wall");
        let cpu = !wall && thread_cpu_time().is_some();
        eprintln!(
            "engram bench clock: {}",
            if cpu { "thread CPU time" } else { "wall time" }
        );
        Self {
            cpu,
            epoch: Instant::now(),
        }
    }

    pub fn now(&self) -> Duration {
        if self.cpu {
            thread_cpu_time().expect("the clock worked at start-up")
        } else {
            self.epoch.elapsed()
        }
    }
}

impl Measurement for BenchClock {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        self.now()
    }
    fn end(&self, start: Duration) -> Duration {
        self.now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Values are nanoseconds either way, so wall time's formatting (units, elem/s) fits.
        const { &WallTime }.formatter()
    }
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_cpu_time() -> Option<Duration> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `struct timespec` (two 64-bit fields on 64-bit Linux),
    // and the clock id is a constant Linux defines; the call writes nothing else.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu_time() -> Option<Duration> {
    None
}
