//! A small fork-join helper: runs jobs on a few scoped threads, largest first.

use std::cmp::Reverse;

use crate::error::{Error, Result};

/// Runs `f` on every job using up to `threads` threads (the caller's thread is one of them) and
/// returns the results in job order. Jobs are assigned largest `cost` first to the least loaded
/// thread.
pub(crate) fn parallel<J, R, F>(jobs: Vec<(J, usize)>, threads: usize, f: F) -> Result<Vec<R>>
where
    J: Send,
    R: Send,
    F: Fn(J) -> Result<R> + Sync,
{
    let n = jobs.len();
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return jobs.into_iter().map(|(job, _)| f(job)).collect();
    }
    let mut order: Vec<(usize, J, usize)> = jobs
        .into_iter()
        .enumerate()
        .map(|(i, (job, cost))| (i, job, cost))
        .collect();
    order.sort_by_key(|&(_, _, cost)| Reverse(cost));
    let mut bins: Vec<(usize, Vec<(usize, J)>)> = (0..threads).map(|_| (0, Vec::new())).collect();
    for (i, job, cost) in order {
        if let Some(bin) = bins.iter_mut().min_by_key(|(load, _)| *load) {
            bin.0 += cost.max(1);
            bin.1.push((i, job));
        }
    }
    let f = &f;
    let run = move |bin: Vec<(usize, J)>| -> Vec<(usize, Result<R>)> {
        bin.into_iter().map(|(i, job)| (i, f(job))).collect()
    };
    // Every spawned thread is joined before the scope ends: a panicked thread left unjoined would
    // make `scope` itself panic.
    let results = std::thread::scope(|scope| {
        let mut bins = bins.into_iter().map(|(_, bin)| bin);
        let first = bins.next().unwrap_or_default();
        let mut handles = Vec::new();
        let mut failure = None;
        for bin in bins {
            // `Builder::spawn_scoped` reports a refused thread instead of panicking.
            match std::thread::Builder::new().spawn_scoped(scope, move || run(bin)) {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    failure = Some(Error::Task(format!("cannot start a worker thread: {e}")));
                    break;
                }
            }
        }
        let mut all = if failure.is_none() {
            run(first)
        } else {
            Vec::new()
        };
        for handle in handles {
            match handle.join() {
                Ok(part) => all.extend(part),
                Err(_) => failure = Some(Error::Task("a worker thread panicked".into())),
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(all),
        }
    })?;
    let mut slots: Vec<Option<R>> = (0..n).map(|_| None).collect();
    for (i, result) in results {
        if let Some(slot) = slots.get_mut(i) {
            *slot = Some(result?);
        }
    }
    slots
        .into_iter()
        .map(|r| r.ok_or_else(|| Error::Task("a parallel job produced no result".into())))
        .collect()
}
