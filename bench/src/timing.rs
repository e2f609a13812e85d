//! A minimal timer for the report binary: untimed setup, timed body, untimed drop of the output.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Timings of one workload.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Each repetition, in order.
    pub runs: Vec<Duration>,
}

impl Sample {
    /// Median of the repetitions.
    #[must_use]
    pub fn median(&self) -> Duration {
        let mut v = self.runs.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2
        }
    }

    /// Fastest repetition.
    #[must_use]
    pub fn min(&self) -> Duration {
        self.runs.iter().copied().min().unwrap_or_default()
    }
}

/// Runs `body` `reps` times (after one untimed warm-up when `warmup`), each on a fresh input from
/// `setup`. Setup and dropping the output are not timed.
pub fn measure<I, O>(
    reps: usize,
    warmup: bool,
    mut setup: impl FnMut() -> I,
    mut body: impl FnMut(I) -> O,
) -> Sample {
    if warmup {
        let input = setup();
        drop(black_box(body(black_box(input))));
    }
    let mut runs = Vec::with_capacity(reps);
    for _ in 0..reps {
        let input = setup();
        let start = Instant::now();
        let out = body(black_box(input));
        let elapsed = start.elapsed();
        drop(black_box(out));
        runs.push(elapsed);
    }
    Sample { runs }
}

/// One timed repetition of an implementation: untimed setup, timed body, untimed drop.
pub type Rep<'a> = Box<dyn FnMut() -> Duration + 'a>;

/// Wraps a setup and a body into a [`Rep`].
pub fn rep<'a, I: 'a, O: 'a>(
    mut setup: impl FnMut() -> I + 'a,
    mut body: impl FnMut(I) -> O + 'a,
) -> Rep<'a> {
    Box::new(move || {
        let input = setup();
        settle_heap();
        let start = Instant::now();
        let out = body(black_box(input));
        let elapsed = start.elapsed();
        drop(black_box(out));
        elapsed
    })
}

/// Measures several implementations of one workload **interleaved**: one untimed warm-up each,
/// then repetition `r` of every implementation before repetition `r + 1` of any, starting each
/// round at a different implementation. Measured one
/// after the other, whichever ran first paid for the machine's state (fresh pages, a cold
/// allocator): in one run the presized builders took 77 ms measured first and 50 ms measured
/// after our lines.
pub fn measure_interleaved(reps: usize, runs: &mut [Rep<'_>]) -> Vec<Sample> {
    for run in runs.iter_mut() {
        run();
    }
    let mut samples: Vec<Vec<Duration>> = runs.iter().map(|_| Vec::with_capacity(reps)).collect();
    let n = runs.len();
    for round in 0..reps {
        // Rotated, so that no implementation always follows the same one.
        for k in 0..n {
            let i = (round + k) % n;
            samples[i].push(runs[i]());
        }
    }
    samples.into_iter().map(|runs| Sample { runs }).collect()
}

/// glibc's `mallopt` parameter for the mmap threshold.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const M_MMAP_THRESHOLD: i32 = -3;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    fn mallopt(param: i32, value: i32) -> i32;
    fn malloc_trim(pad: usize) -> i32;
}

/// Settles the heap before a timed body of an interleaved workload ([`rep`]): glibc consolidates
/// the chunks that earlier work freed and returns every free page to the kernel
/// (`malloc_trim(0)`). Interleaved, each repetition follows another implementation's, and would
/// pay for or profit from that one's cleanup: a predecessor that freed millions of small
/// `String`s leaves them for the next `malloc` to consolidate, and leaves tens of MB of
/// already-faulted free heap that serves the next repetition's large buffers without page faults
/// (measured with `profile split`: the same transpose took 26 ms, 38 ms or 47 ms depending only
/// on which line ran before it). After it, every repetition starts from the same heap and gets
/// fresh pages for what it allocates, whatever ran before. Untimed.
///
/// [`measure`] does not settle: there each repetition follows one of the same implementation, as
/// in the Python references, where pyarrow's memory pool keeps the pages of the previous
/// repetition (settling there would time our readers on a cold heap and pyarrow's on a warm pool).
pub fn settle_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases free memory of glibc's heap; no pointer is involved.
    unsafe {
        malloc_trim(0);
    }
}

/// Puts every implementation on the same footing for memory. With glibc's default *dynamic* mmap
/// threshold, freeing a large buffer raises the threshold, so later allocations of that size come
/// from heap memory that earlier workloads already faulted in: whatever runs later skips its page
/// faults (measured here: up to 2x on the row -> RecordBatch conversions). A fixed threshold gives
/// every large buffer fresh pages, whatever ran before. Call it first in `main`.
pub fn fixed_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes allocator tuning; called before any other thread exists.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// The trimmed standard output of a shell command (empty if it fails): machine facts for reports.
pub fn sh(cmd: &str) -> String {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
