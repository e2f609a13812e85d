//! Result rows, the markdown table and the goal checks of the report binary.

use std::fmt::Write as _;
use std::time::Duration;

use crate::timing::Sample;

/// One measured implementation of one workload at one row count.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Workload id ("1" .. "8", with a suffix for variants, e.g. "2f").
    pub workload: String,
    /// Workload title.
    pub title: String,
    /// Rows.
    pub rows: usize,
    /// Implementation name.
    pub name: String,
    /// `true` for our implementations.
    pub ours: bool,
    /// `true` for the one implementation of ours that the ratios of this group are computed from.
    pub primary: bool,
    /// Median.
    pub median: Duration,
    /// Fastest run.
    pub min: Duration,
    /// Repetitions.
    pub reps: usize,
    /// Free text (file size, layout difference...).
    pub note: String,
}

/// Collects entries.
#[derive(Debug, Default)]
pub struct Report {
    /// Every entry, in run order.
    pub entries: Vec<Entry>,
    /// Competitors or workloads that could not be run, with the reason.
    pub skipped: Vec<String>,
}

impl Report {
    /// Adds a measured sample.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        workload: &str,
        title: &str,
        rows: usize,
        name: &str,
        ours: bool,
        primary: bool,
        sample: &Sample,
        note: impl Into<String>,
    ) {
        let e = Entry {
            workload: workload.to_owned(),
            title: title.to_owned(),
            rows,
            name: name.to_owned(),
            ours,
            primary,
            median: sample.median(),
            min: sample.min(),
            reps: sample.runs.len(),
            note: note.into(),
        };
        eprintln!(
            "  [{}] {:>9} rows  {:<55} median {:>12}  min {:>12}  {}",
            e.workload,
            e.rows,
            e.name,
            fmt_dur(e.median),
            fmt_dur(e.min),
            e.note
        );
        self.entries.push(e);
    }

    /// The median of an entry.
    #[must_use]
    pub fn median(&self, workload: &str, rows: usize, name: &str) -> Option<Duration> {
        self.entries
            .iter()
            .find(|e| e.workload == workload && e.rows == rows && e.name == name)
            .map(|e| e.median)
    }

    /// The note of an entry.
    #[must_use]
    pub fn note(&self, workload: &str, rows: usize, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.workload == workload && e.rows == rows && e.name == name)
            .map(|e| e.note.as_str())
    }

    fn primary(&self, workload: &str, rows: usize) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.workload == workload && e.rows == rows && e.primary)
    }

    /// The markdown table: one line per entry, grouped by workload and rows, with the ratio of our
    /// primary implementation's median to each entry's median.
    #[must_use]
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "| # | workload | rows | implementation | median | min | reps | ours / this | note |\n",
        );
        out.push_str("|---|---|---:|---|---:|---:|---:|---:|---|\n");
        let mut groups: Vec<(String, usize)> = Vec::new();
        for e in &self.entries {
            if !groups.contains(&(e.workload.clone(), e.rows)) {
                groups.push((e.workload.clone(), e.rows));
            }
        }
        for (w, rows) in groups {
            let primary = self.primary(&w, rows);
            for e in self
                .entries
                .iter()
                .filter(|e| e.workload == w && e.rows == rows)
            {
                let ratio = match primary {
                    Some(p) if !e.primary && e.median > Duration::ZERO => {
                        format!("{:.3}", p.median.as_secs_f64() / e.median.as_secs_f64())
                    }
                    Some(_) if e.primary => "1 (ours)".to_owned(),
                    _ => "-".to_owned(),
                };
                let name = if e.ours {
                    format!("**{}**", e.name)
                } else {
                    e.name.clone()
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    e.workload,
                    e.title,
                    fmt_rows(e.rows),
                    name,
                    fmt_dur(e.median),
                    fmt_dur(e.min),
                    e.reps,
                    ratio,
                    e.note
                );
            }
        }
        out
    }
}

/// `1M`, `10M`, `100k`...
#[must_use]
pub fn fmt_rows(rows: usize) -> String {
    if rows >= 1_000_000 && rows.is_multiple_of(1_000_000) {
        format!("{}M", rows / 1_000_000)
    } else if rows >= 1_000 && rows.is_multiple_of(1_000) {
        format!("{}k", rows / 1_000)
    } else {
        rows.to_string()
    }
}

/// Human duration with 3 significant digits.
#[must_use]
pub fn fmt_dur(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Bytes as MiB.
#[must_use]
pub fn fmt_mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
