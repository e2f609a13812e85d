//! The commit protocol (see the module docs of `store::parquet`): the writer lock, staging,
//! the manifest rename that commits, settling (renames and sweeps), and `compact`'s source.

use super::*;
use crate::store::partition::Rows;

/// Finishes a commit: applies the pending renames, removes unlisted data files and staging
/// leftovers, and fsyncs the directory if anything changed. Idempotent. Only ever called with
/// the commit lock held: then no staging file belongs to a live commit.
pub(super) fn settle(dir: &Path, manifest: &Manifest) -> Result<()> {
    let mut changed = false;
    // Partition directories whose entries a rename changed.
    let mut renamed_in: std::collections::BTreeSet<PathBuf> = std::collections::BTreeSet::new();
    for (staged, target) in &manifest.pending {
        let from = dir.join(staged);
        let to = dir.join(target);
        match std::fs::metadata(&from) {
            Ok(meta) => {
                let expected = manifest
                    .files
                    .iter()
                    .find(|f| f.name == *target)
                    .map(|f| f.size);
                if expected != Some(meta.len()) {
                    return Err(Error::Corrupt {
                        path: from,
                        reason: format!(
                            "staged file has {} bytes, the manifest recorded {expected:?}",
                            meta.len()
                        ),
                    });
                }
                std::fs::rename(&from, &to).map_err(|e| Error::io(&from, e))?;
                changed = true;
                if let Some(parent) = to.parent().filter(|p| *p != dir) {
                    renamed_in.insert(parent.to_owned());
                }
            }
            // Already renamed (or lost: `read_committed` reports that).
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(from, e)),
        }
    }
    let listed: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    changed |= fsio::sweep(dir, &listed)?;
    let jobs: Vec<(&PathBuf, usize)> = renamed_in.iter().map(|d| (d, 1)).collect();
    parallel::parallel(jobs, 2, |parent| fsio::sync_dir(parent))?;
    if changed {
        fsio::sync_dir(dir)?;
    }
    Ok(())
}

/// Checks a batch of a foreign file against the row type: `from_record_batch`, then back to a
/// batch with the row type's exact schema.
pub(super) type Conform = fn(&RecordBatch) -> Result<RecordBatch>;

pub(super) fn conform_to<C: ToArrow>(batch: &RecordBatch) -> Result<RecordBatch> {
    C::from_record_batch(batch)?.into_record_batch()
}

/// Where new files go in the next manifest.
#[derive(Debug, Clone)]
pub(super) enum Placement {
    /// The new files replace all others.
    Replace,
    /// The new files follow the existing ones; `next_part` is the next part number.
    Append { next_part: u64 },
    /// The new files replace all others; `next_part` is the next part number.
    Rewrite { next_part: u64 },
    /// Exactly these files (the staged ones among them), for a partitioned `compact`.
    Listed {
        next_part: u64,
        files: Vec<StoredFile>,
    },
}

impl Inner {
    pub(super) fn fault(&self, point: FaultPoint) -> Result<()> {
        match self.fault {
            Some((p, kind)) if p == point => Err(Error::io(
                &self.dir,
                io::Error::new(kind, format!("injected failure at {point:?}")),
            )),
            _ => Ok(()),
        }
    }

    pub(super) fn settings(&self) -> WriteSettings<'_> {
        WriteSettings {
            schema: &self.data_schema,
            file_schema: &self.file_schema,
            type_name: self.type_name,
            props: &self.props,
            row_group_size: self.options.row_group_size,
            threads: self.options.threads,
        }
    }

    pub(super) fn read_state(&self) -> std::sync::RwLockReadGuard<'_, state::Committed> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn set_state(&self, committed: state::Committed) {
        let stats = stats_of(&committed.manifest, &self.schema, &self.data_schema);
        *self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = committed;
        match self.stats.lock() {
            Ok(mut s) => *s = stats,
            Err(poisoned) => *poisoned.into_inner() = stats,
        }
    }

    /// Re-reads the manifest if the file changed since this instance last read or wrote it
    /// (another process or instance committed): one `stat` when nothing changed.
    pub(super) fn refresh(&self) -> Result<()> {
        let path = fsio::manifest_path(&self.dir);
        if fsio::stamp(&path)? == self.read_state().stamp {
            return Ok(());
        }
        self.set_state(state::read_committed(&self.dir, self.type_name)?);
        Ok(())
    }

    pub(super) fn run_write(&self, op: WriteOp) -> Result<()> {
        {
            let mut held = self
                .writer_lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if held.is_none() {
                *held = Some(writer_lock::acquire(&self.dir, self.wait_for_writer)?);
            }
        }
        // Every commit of every process and instance holds the lock from here to its end, so the
        // manifest read below stays the latest until we replace it, and every staging file that
        // exists now is a leftover of a dead commit.
        let _lock = fsio::lock_commits(&self.dir)?;
        self.set_state(state::read_committed(&self.dir, self.type_name)?);
        let (seq, next_part, files, exists) = {
            let state = self.read_state();
            let m = &state.manifest;
            settle(&self.dir, m)?;
            (
                m.seq + 1,
                m.next_part,
                m.files.clone(),
                state.stamp.is_some(),
            )
        };
        let append = Placement::Append {
            next_part: next_part + 1,
        };
        let parted = !self.spec.is_empty();
        match op {
            WriteOp::Init if exists => Ok(()),
            // A partitioned store's placeholder (the schema, no rows) sits in the null
            // partition, at the depth of every other file, so Hive readers (Spark, DuckDB's
            // glob) see one layout; the first rows replace it.
            WriteOp::Init | WriteOp::Clear if parted => {
                let values = vec![None; self.spec.fields.len()];
                let target = format!("{}/{DATA_FILE}", self.spec.dir(&values));
                let (name, mut file) = self.stage(seq, &target, std::iter::empty())?;
                file.partition = self.spec.keys().into_iter().zip(values).collect();
                self.commit(seq, vec![(name, file)], Placement::Replace)
            }
            WriteOp::Init => {
                let staged = self.stage(seq, DATA_FILE, std::iter::empty())?;
                self.commit(seq, vec![staged], Placement::Replace)
            }
            WriteOp::Clear => {
                let placeholder = self
                    .stage(seq, DATA_FILE, std::iter::empty())
                    .and_then(|staged| self.commit(seq, vec![staged], Placement::Replace));
                match placeholder {
                    Err(Error::Io { source, .. })
                        if source.kind() == io::ErrorKind::StorageFull
                            && self.read_state().manifest.seq < seq =>
                    {
                        // A full disk is when clearing matters most: free the space first (a
                        // manifest listing no file), then add the empty file if it fits now.
                        self.commit(seq, Vec::new(), Placement::Replace)?;
                        if let Ok(staged) = self.stage(seq + 1, DATA_FILE, std::iter::empty()) {
                            let _ = self.commit(seq + 1, vec![staged], Placement::Replace);
                        }
                        Ok(())
                    }
                    other => other,
                }
            }
            WriteOp::Save(batches) if parted => {
                let (staged, next_part) = self.stage_partitioned(seq, next_part, batches)?;
                self.commit(seq, staged, Placement::Rewrite { next_part })
            }
            WriteOp::AppendMarked(batches, name, position) => {
                // The position travels with this commit's manifest (the writer lock is held).
                *self
                    .mark_slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((name, position));
                let result = if batches.is_empty() {
                    self.commit(seq, Vec::new(), append)
                } else if parted {
                    self.stage_partitioned(seq, next_part, batches).and_then(
                        |(staged, next_part)| {
                            self.commit(seq, staged, Placement::Append { next_part })
                        },
                    )
                } else {
                    let part = fsio::part_name(next_part);
                    self.clustered(batches)
                        .and_then(|b| self.stage(seq, &part, b.into_iter().map(Ok)))
                        .and_then(|staged| self.commit(seq, vec![staged], append))
                };
                self.mark_slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                result
            }
            WriteOp::Append(batches) if parted => {
                let (staged, next_part) = self.stage_partitioned(seq, next_part, batches)?;
                self.commit(seq, staged, Placement::Append { next_part })
            }
            WriteOp::Compact if parted => self.compact_partitions(seq, next_part),
            WriteOp::Save(batches) => {
                let batches = self.clustered(batches)?;
                let staged = self.stage(seq, DATA_FILE, batches.into_iter().map(Ok))?;
                self.commit(seq, vec![staged], Placement::Replace)
            }
            WriteOp::Append(batches) => {
                let batches = self.clustered(batches)?;
                let part = fsio::part_name(next_part);
                let staged = self.stage(seq, &part, batches.into_iter().map(Ok))?;
                self.commit(seq, vec![staged], append)
            }
            WriteOp::Import(paths, conform) if parted => {
                let mut batches = Vec::new();
                for (path, values) in &paths {
                    for batch in self.foreign_batches(path, values)? {
                        batches.push(conform(&batch).map_err(|e| Error::InFile {
                            path: path.clone(),
                            source: Box::new(e),
                        })?);
                    }
                }
                if batches.iter().all(|b| b.num_rows() == 0) {
                    return Ok(());
                }
                let (staged, next_part) = self.stage_partitioned(seq, next_part, batches)?;
                self.commit(seq, staged, Placement::Append { next_part })
            }
            WriteOp::Import(paths, conform) => {
                let mut staged = Vec::with_capacity(paths.len());
                let mut part = next_part;
                let result = paths.iter().try_for_each(|(path, values)| {
                    let batches = self.foreign_batches(path, values)?;
                    let converted = batches.iter().map(|b| {
                        conform(b).map_err(|e| Error::InFile {
                            path: path.clone(),
                            source: Box::new(e),
                        })
                    });
                    staged.push(self.stage(seq, &fsio::part_name(part), converted)?);
                    part += 1;
                    Ok(())
                });
                if let Err(e) = result {
                    for (name, _) in &staged {
                        let _ = std::fs::remove_file(self.dir.join(name));
                    }
                    return Err(e);
                }
                self.commit(seq, staged, Placement::Append { next_part: part })
            }
            WriteOp::Compact => {
                match files.as_slice() {
                    [] => return Ok(()),
                    [only] if only.name == DATA_FILE => return Ok(()),
                    _ => {}
                }
                let snapshot = self.snapshot()?;
                let source = CompactSource {
                    inner: self,
                    files: snapshot.into_iter(),
                    current: None,
                    done: false,
                };
                let staged = self.stage(seq, DATA_FILE, source)?;
                self.commit(seq, vec![staged], Placement::Replace)
            }
        }
    }

    /// Step 1: writes a staged file that will become `target`.
    pub(super) fn stage<I>(
        &self,
        seq: u64,
        target: &str,
        batches: I,
    ) -> Result<(String, StoredFile)>
    where
        I: IntoIterator<Item = Result<RecordBatch>>,
    {
        self.stage_on(seq, target, batches, self.options.threads)
    }

    /// [`stage`](Self::stage), encoding on `threads` threads.
    fn stage_on<I>(
        &self,
        seq: u64,
        target: &str,
        batches: I,
        threads: usize,
    ) -> Result<(String, StoredFile)>
    where
        I: IntoIterator<Item = Result<RecordBatch>>,
    {
        self.fault(FaultPoint::CreateStaged)?;
        // A partitioned file is staged in its partition's directory (the rename stays in it).
        let staged = match target.rsplit_once('/') {
            Some((parent, name)) => {
                let dir = self.dir.join(parent);
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                format!("{parent}/{}", fsio::staged_name(seq, name))
            }
            None => fsio::staged_name(seq, target),
        };
        let path = self.dir.join(&staged);
        let settings = WriteSettings {
            threads,
            ..self.settings()
        };
        match encode::write_file(&path, settings, batches) {
            Ok(written) => Ok((
                staged,
                StoredFile {
                    name: target.to_owned(),
                    size: written.size,
                    crc32: written.crc32,
                    tail: written.tail,
                    rows: written.rows,
                    column_bytes: written.column_bytes,
                    partition: Vec::new(),
                },
            )),
            Err(e) => {
                // Best effort: a leftover would be swept on the next open anyway.
                let _ = std::fs::remove_file(&path);
                Err(e)
            }
        }
    }

    /// Steps 2-4: commits the staged files (see the module docs). Called with the commit lock.
    pub(super) fn commit(
        &self,
        seq: u64,
        staged: Vec<(String, StoredFile)>,
        placement: Placement,
    ) -> Result<()> {
        let current = self.read_state().manifest.clone();
        let next = match self.commit_manifest(&current, seq, &staged, placement) {
            Ok(next) => next,
            Err(e) => {
                for (name, _) in &staged {
                    let _ = std::fs::remove_file(self.dir.join(name));
                }
                return Err(e);
            }
        };
        // Committed: from here on the new manifest is the store's state, whatever fails next.
        let stamp = fsio::stamp(&fsio::manifest_path(&self.dir)).ok().flatten();
        self.set_state(state::Committed {
            manifest: next,
            stamp,
            dropped: Vec::new(),
        });
        self.fault(FaultPoint::AfterCommit)?;
        // If the renames fail, readers find the files under their staging names, and the next
        // commit (or open) finishes them.
        settle(&self.dir, &self.read_state().manifest)
    }

    /// Steps 2 and 3: returns the committed manifest, or an error before the commit point.
    pub(super) fn commit_manifest(
        &self,
        current: &Manifest,
        seq: u64,
        staged: &[(String, StoredFile)],
        placement: Placement,
    ) -> Result<Manifest> {
        let mut next = current.clone();
        next.seq = seq;
        if let Some((name, position)) = self
            .mark_slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
        {
            next.set_mark(name, *position);
        }
        next.partitions = self.spec.texts();
        env!("CARGO_PKG_VERSION").clone_into(&mut next.version);
        next.pending = staged
            .iter()
            .map(|(name, file)| (name.clone(), file.name.clone()))
            .collect();
        let new_files = staged.iter().map(|(_, file)| file.clone());
        match placement {
            Placement::Replace => next.files = new_files.collect(),
            Placement::Rewrite { next_part } => {
                next.files = new_files.collect();
                next.next_part = next_part;
            }
            Placement::Listed { next_part, files } => {
                next.files = files;
                next.next_part = next_part;
            }
            Placement::Append { next_part } => {
                // An empty store's placeholder file gives way to the first rows.
                next.files.retain(|f| f.rows > 0);
                next.files.extend(new_files);
                next.next_part = next_part;
            }
        }
        // Never publish a manifest naming a file we do not have.
        for (name, file) in staged {
            let path = self.dir.join(name);
            let len = std::fs::metadata(&path)
                .map_err(|e| Error::io(&path, e))?
                .len();
            if len != file.size {
                return Err(Error::Corrupt {
                    path,
                    reason: format!(
                        "the staged file has {len} bytes, {} were written",
                        file.size
                    ),
                });
            }
        }
        // New partition directories and the staged files' entries in them are durable before
        // the manifest names them (deepest first).
        let mut dirs: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        for (name, _) in staged {
            let mut path = name.as_str();
            while let Some((parent, _)) = path.rsplit_once('/') {
                dirs.insert(parent);
                path = parent;
            }
        }
        let jobs: Vec<(&str, usize)> = dirs.iter().map(|d| (*d, 1)).collect();
        parallel::parallel(jobs, self.options.threads.max(2), |parent| {
            fsio::sync_dir(&self.dir.join(parent))
        })?;
        fsio::sync_dir(&self.dir)?;
        self.fault(FaultPoint::BeforeCommit)?;
        let tmp = self.dir.join(fsio::staged_name(seq, MANIFEST));
        let target = fsio::manifest_path(&self.dir);
        let written = fsio::write_new_durable(&tmp, next.encode().as_bytes())
            .and_then(|()| std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e)));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        // If this fsync fails the rename may or may not survive a power loss; the process goes
        // on with the new state, as every later read of the directory will see it.
        let _ = fsio::sync_dir(&self.dir);
        Ok(next)
    }
}

impl Inner {
    /// `batches` as one batch in cluster order (as they are when not clustered).
    fn clustered(&self, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
        if self.cluster.is_empty() || batches.iter().all(|b| b.num_rows() == 0) {
            return Ok(batches);
        }
        let batch = match batches.as_slice() {
            [one] => one.clone(),
            _ => arrow_select::concat::concat_batches(&batches[0].schema(), &batches)
                .map_err(|e| Error::arrow("joining the batches of a write", e))?,
        };
        Ok(vec![self.cluster.apply(&batch, self.options.threads)?])
    }

    /// Stages `batches` (of the row type) split by partition: one file per partition touched,
    /// `<partition dir>/part-NNNNNN.parquet`, in order of first appearance. Returns the staged
    /// files and the next part number.
    fn stage_partitioned(
        &self,
        seq: u64,
        mut part: u64,
        batches: Vec<RecordBatch>,
    ) -> Result<(Vec<(String, StoredFile)>, u64)> {
        type Group = (Vec<Option<String>>, Vec<Rows>);
        let mut groups: Vec<Group> = Vec::new();
        let mut index: std::collections::HashMap<Vec<Option<String>>, usize> =
            std::collections::HashMap::new();
        for batch in batches {
            // The columns the files hold, once per batch (gathers then take only those).
            let mut data = None;
            for (values, rows) in self.spec.split(&batch, self.type_name, &self.cluster)? {
                let rows = match rows {
                    Rows::Slice(b) => Rows::Slice(self.spec.data_batch(&b)?),
                    Rows::Gather(_, r) => {
                        let data = match &data {
                            Some(d) => d,
                            None => data.insert(self.spec.data_batch(&batch)?),
                        };
                        Rows::Gather(data.clone(), r)
                    }
                };
                let slot = *index.entry(values.clone()).or_insert_with(|| {
                    groups.push((values, Vec::new()));
                    groups.len() - 1
                });
                groups[slot].1.push(rows);
            }
        }
        let keys = self.spec.keys();
        // Partition files are encoded side by side, one thread each (a store with one
        // partition touched encodes its columns on every thread instead). Rows to gather are
        // gathered by the thread that encodes their file.
        let threads = self.options.threads;
        let per_file = if groups.len() > 1 { 1 } else { threads };
        type Job = (String, Vec<Option<String>>, Vec<Rows>);
        let jobs: Vec<(Job, usize)> = groups
            .into_iter()
            .map(|(values, group)| {
                let target = format!("{}/{}", self.spec.dir(&values), fsio::part_name(part));
                part += 1;
                let rows = group.iter().map(Rows::num_rows).sum();
                ((target, values, group), rows)
            })
            .collect();
        let staged = parallel::parallel(jobs, threads, |(target, values, group)| {
            let batches = self.gathered(group)?;
            let (name, mut file) =
                self.stage_on(seq, &target, batches.into_iter().map(Ok), per_file)?;
            file.partition = keys.iter().cloned().zip(values).collect();
            Ok((name, file))
        });
        // A failed job leaves the staged files of the others: the next commit sweeps them
        // (staging names are never listed).
        Ok((staged?, part))
    }

    /// One partition's rows as batches; with clustering, rows from several batches joined
    /// into one batch in cluster order.
    fn gathered(&self, group: Vec<Rows>) -> Result<Vec<RecordBatch>> {
        let batches = group
            .into_iter()
            .map(Rows::materialize)
            .collect::<Result<Vec<_>>>()?;
        if self.cluster.is_empty() || batches.len() < 2 {
            return Ok(batches);
        }
        let schema = batches[0].schema();
        let joined = arrow_select::concat::concat_batches(&schema, batches.iter())
            .map_err(|e| Error::arrow("joining the rows of a partition", e))?;
        Ok(vec![self.cluster.apply(&joined, 1)?])
    }

    /// `compact` of a partitioned store: the files of each partition with more than one become
    /// one new file in the partition's directory; partitions in order of first appearance.
    fn compact_partitions(&self, seq: u64, mut part: u64) -> Result<()> {
        let snapshot = self.snapshot()?;
        let mut groups: Vec<Vec<OpenFile>> = Vec::new();
        for file in snapshot {
            if file.entry.rows == 0 {
                continue;
            }
            match groups
                .iter_mut()
                .find(|g| g[0].entry.partition == file.entry.partition)
            {
                Some(group) => group.push(file),
                None => groups.push(vec![file]),
            }
        }
        if groups.iter().all(|g| g.len() < 2) {
            return Ok(());
        }
        let mut staged: Vec<(String, StoredFile)> = Vec::new();
        let mut kept: Vec<StoredFile> = Vec::new();
        for group in groups {
            if group.len() < 2 {
                kept.extend(group.into_iter().map(|f| f.entry));
                continue;
            }
            let values: Vec<Option<String>> = group[0]
                .entry
                .partition
                .iter()
                .map(|(_, v)| v.clone())
                .collect();
            let partition = group[0].entry.partition.clone();
            let target = format!("{}/{}", self.spec.dir(&values), fsio::part_name(part));
            part += 1;
            let source = CompactSource {
                inner: self,
                files: group.into_iter(),
                current: None,
                done: false,
            };
            match self.stage(seq, &target, source) {
                Ok((name, mut file)) => {
                    file.partition = partition;
                    kept.push(file.clone());
                    staged.push((name, file));
                }
                Err(e) => {
                    for (name, _) in &staged {
                        let _ = std::fs::remove_file(self.dir.join(name));
                    }
                    return Err(e);
                }
            }
        }
        // The untouched files stay; each partition's new file takes its place in the order.
        self.commit(
            seq,
            staged,
            Placement::Listed {
                next_part: part,
                files: kept,
            },
        )
    }

    /// The batches of a foreign file, with the columns its Hive directory names hold
    /// (`values`) added where the file lacks them.
    fn foreign_batches(
        &self,
        path: &Path,
        values: &[(String, Option<String>)],
    ) -> Result<Vec<RecordBatch>> {
        let batches = foreign::read_batches(path, self.type_name, &self.schema)?;
        if values.is_empty() {
            return Ok(batches);
        }
        batches
            .into_iter()
            .map(|batch| {
                let mut fields = batch.schema().fields().to_vec();
                let mut columns = batch.columns().to_vec();
                for (key, value) in values {
                    if batch.schema().index_of(key).is_ok() {
                        continue;
                    }
                    let Ok(field) = self.schema.field_with_name(key) else {
                        continue;
                    };
                    let column = crate::store::partition::text_column(
                        value.as_deref(),
                        field.data_type(),
                        batch.num_rows(),
                    )
                    .map_err(|e| Error::InFile {
                        path: path.to_owned(),
                        source: Box::new(e),
                    })?;
                    fields.push(Arc::new(field.clone()));
                    columns.push(column);
                }
                let schema = Arc::new(arrow_schema::Schema::new(fields));
                let options =
                    arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
                RecordBatch::try_new_with_options(schema, columns, &options)
                    .map_err(|e| Error::arrow("adding the partition columns of a file", e))
            })
            .collect()
    }
}

/// The batches of every file in order, for `compact` (one file open at a time).
pub(super) struct CompactSource<'a> {
    inner: &'a Inner,
    files: std::vec::IntoIter<OpenFile>,
    current: Option<(ParquetRecordBatchReader, PathBuf)>,
    done: bool,
}

impl Iterator for CompactSource<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if let Some((reader, path)) = &mut self.current {
                let next = decode::next_batch(reader, path)
                    .and_then(|b| b.map(|b| self.inner.restore(b, path)).transpose());
                match next {
                    Ok(Some(batch)) => return Some(Ok(batch)),
                    Ok(None) => self.current = None,
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
            let Some(file) = self.files.next() else {
                self.done = true;
                break;
            };
            // A rewrite always verifies (whatever `verify_checksums` says): it would give damaged
            // values a fresh, valid checksum.
            match self.inner.stream_file(
                &file,
                self.inner.options.scan_batch_size,
                true,
                None,
                decode::Pick::default(),
                None,
            ) {
                Ok(reader) => self.current = Some((reader, file.path)),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}
