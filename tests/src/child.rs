//! Shared pieces of the child-process crash tests: the child's standard output collected line
//! by line, a small deterministic random source, and the `TieredStore` child's row type and
//! options (src/bin/tiered_writer.rs and tests/tiered_crash.rs).

use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use soa_runtime::store::tiered::{Durability, FlushPolicy, TieredOptions};
use soa_runtime::store::wal::WalOptions;
use soa_runtime::{Soa, ToArrow};

/// Collects the lines a child prints on its standard output, as they come (a thread reads
/// until the child's end).
///
/// # Panics
/// If the child's standard output was not piped.
pub fn collect_lines(child: &mut std::process::Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stdout = child.stdout.take().expect("a piped stdout");
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line);
        }
    });
    lines
}

/// xorshift64: deterministic kill delays.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One row ingested by src/bin/tiered_writer.rs.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Tick {
    pub id: u64,
    pub source: String,
    pub value: f64,
}

/// The options of the tiered-store child and of the test that reopens its store: the log
/// fsynced per group, 64 KiB segments, a flush every 30 ms or 5,000 rows, waiting for the log
/// while the previous process lets go of it.
#[must_use]
pub fn tiered_options() -> TieredOptions {
    TieredOptions::new()
        .durability(Durability::Sync)
        .flush(
            FlushPolicy::new()
                .rows(5_000)
                .age(Duration::from_millis(30)),
        )
        .wal(WalOptions::default().segment_bytes(64 * 1024))
        .wait_for_writer(true)
}
