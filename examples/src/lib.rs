//! Shared code of the demos: the domain model, an `Order` with `#[derive(Soa, ToArrow)]`, and its
//! deterministic generator (defined once in `soa-fixtures`, re-exported here: the same type and
//! rows as the tests and benchmarks), the `--rows` option, formats, progress bars and the check
//! that loaded data is the generator's.
//!
//! ```
//! let first: Vec<_> = soa_examples::OrderGenerator::new().take(3).collect();
//! assert_eq!(first[2].order_id, 2);
//! ```

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
pub use soa_fixtures::{Order, OrderGenerator, OrderRef, OrderSoA, Side, orders};

/// Parses the demos' only option, `--rows N` (default 1 000 000; `_` separators allowed).
///
/// # Errors
/// On an unknown argument or a value that is not a number.
pub fn parse_rows(bin: &str) -> Result<usize, Box<dyn std::error::Error>> {
    let mut rows = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rows" => {
                let value = args.next().ok_or("--rows needs a number")?;
                rows = value.replace('_', "").parse()?;
            }
            "-h" | "--help" => {
                println!("usage: {bin} [--rows N]   (default 1000000)");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(rows)
}

/// `true` when `soa` holds exactly the first `soa.len()` rows of a fresh generator, compared
/// column value by value (no row is materialised).
#[must_use]
pub fn is_generated(soa: &OrderSoA) -> bool {
    let mut generator = OrderGenerator::new();
    soa.iter().all(|a| {
        generator.next().is_some_and(|b| {
            *a.order_id == b.order_id
                && *a.customer_id == b.customer_id
                && a.symbol == b.symbol
                && *a.side == b.side
                && *a.quantity == b.quantity
                && a.unit_price.to_bits() == b.unit_price.to_bits()
                && *a.filled == b.filled
                && a.note == b.note.as_deref()
                && *a.ts_micros == b.ts_micros
        })
    })
}

/// An integer with thousands separators: `1234567` -> `1,234,567`.
///
/// ```
/// assert_eq!(soa_examples::thousands(1_234_567), "1,234,567");
/// ```
#[must_use]
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in MiB, two decimals.
#[must_use]
pub fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A spinner with `message` and the elapsed time, ticking on its own.
#[must_use]
pub fn spinner(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("  {spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(80));
    bar
}

/// A progress bar of `len` steps with an indicatif `template`.
#[must_use]
pub fn bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A duration in milliseconds, one decimal.
#[must_use]
pub fn ms(d: std::time::Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
