//! What the section reports (`delta_report`, `partition_report`) share: measured lines and their
//! medians, the tokio runtime they run the stores on, Python's timings, and the splice of their
//! section into BENCHMARKS.md.

use std::time::Duration;

use crate::report::fmt_dur;
use crate::timing::Sample;

/// One measured line.
pub struct Line {
    /// The workload group (`write`, `q_day`, ...).
    pub group: &'static str,
    pub rows: usize,
    pub name: String,
    /// Our implementation (bold in the tables).
    pub ours: bool,
    pub runs: Vec<Duration>,
    pub note: String,
}

impl Line {
    fn sorted(&self) -> Vec<Duration> {
        let mut v = self.runs.clone();
        v.sort();
        v
    }

    pub fn min(&self) -> Duration {
        self.sorted().first().copied().unwrap_or_default()
    }

    pub fn max(&self) -> Duration {
        self.sorted().last().copied().unwrap_or_default()
    }

    pub fn median(&self) -> Duration {
        Sample {
            runs: self.runs.clone(),
        }
        .median()
    }
}

/// Every line of a run, plus free-form notes for the report.
#[derive(Default)]
pub struct Lines {
    pub lines: Vec<Line>,
    pub notes: Vec<String>,
}

impl Lines {
    /// Records a line and prints it (stderr) as it is measured.
    pub fn add(
        &mut self,
        group: &'static str,
        rows: usize,
        name: &str,
        ours: bool,
        runs: Vec<Duration>,
        note: impl Into<String>,
    ) {
        let line = Line {
            group,
            rows,
            name: name.to_owned(),
            ours,
            runs,
            note: note.into(),
        };
        eprintln!(
            "  [{group}] {:>9} rows  {:<72} min {:>11}  median {:>11}  max {:>11}  {}",
            line.rows,
            line.name,
            fmt_dur(line.min()),
            fmt_dur(line.median()),
            fmt_dur(line.max()),
            line.note
        );
        self.lines.push(line);
    }

    /// The median of line `name` of `group` at `rows`.
    pub fn median(&self, group: &str, rows: usize, name: &str) -> Option<Duration> {
        self.lines
            .iter()
            .find(|l| l.group == group && l.rows == rows && l.name == name)
            .map(Line::median)
    }

    /// Median of line `a` over median of line `b`.
    pub fn ratio(&self, group: &str, rows: usize, a: &str, b: &str) -> Option<f64> {
        Some(
            self.median(group, rows, a)?.as_secs_f64() / self.median(group, rows, b)?.as_secs_f64(),
        )
    }
}

/// A two-worker multi-threaded runtime (the machine has two cores).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Durations from a JSON array of seconds (a Python reference's timings).
pub fn secs(v: &serde_json::Value) -> Vec<Duration> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_f64)
                .map(Duration::from_secs_f64)
                .collect()
        })
        .unwrap_or_default()
}

/// `doc` with its `heading` section (up to the next `## ` heading) replaced by `section`, or
/// `section` appended.
pub fn splice(doc: &str, heading: &str, section: &str) -> String {
    let section = section.trim_end();
    match doc.find(&format!("\n{heading}\n")) {
        Some(start) => {
            let body = start + 1;
            let end = doc[body + heading.len()..]
                .find("\n## ")
                .map_or(doc.len(), |i| body + heading.len() + i + 1);
            format!(
                "{}{section}\n\n{}",
                &doc[..body],
                doc[end..].trim_start_matches('\n')
            )
            .trim_end()
            .to_owned()
                + "\n"
        }
        None => format!("{}\n\n{section}\n", doc.trim_end()),
    }
}
