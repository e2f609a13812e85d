//! The read path: snapshots of the committed files, whole-file decoding for `load`, streaming
//! scans with projection, footer counts.

use parquet::file::reader::ChunkReader;

use super::*;
use crate::store::SOURCE_FILE_KEY;
use blocks::VerifiedFile;
use decode::Pick;

impl Inner {
    /// Opens every committed file (a consistent snapshot: the handles keep their content even if
    /// a later commit replaces or removes the names). A file that disappears while we open it
    /// was replaced by a commit of another process or instance: read the new manifest and start
    /// again.
    pub(super) fn snapshot(&self) -> Result<Vec<OpenFile>> {
        self.snapshot_where(None, None)
    }

    /// [`snapshot`](Self::snapshot) of the files a predicate may match by their partition
    /// values: the others are not opened (counted as skipped files and partitions, their
    /// bytes as stored).
    pub(super) fn snapshot_where(
        &self,
        expr: Option<&crate::predicate::Expr>,
        metrics: Option<&crate::store::prune::ScanMetrics>,
    ) -> Result<Vec<OpenFile>> {
        self.snapshot_marked(expr, metrics, None)
            .map(|(files, _)| files)
    }

    /// Every committed row, read on this thread (no runtime needed), with the position the
    /// same manifest records under `mark`.
    pub(super) fn rows_marked(&self, mark: &str) -> Result<(Vec<RecordBatch>, Option<u64>)> {
        let (files, position) = self.snapshot_marked(None, None, Some(mark))?;
        let mut rows = Vec::new();
        for file in &files {
            rows.extend(self.read_whole(file, None, Pick::default(), None)?);
        }
        Ok((rows, position))
    }

    /// [`snapshot_where`](Self::snapshot_where), with the position recorded under `mark` in
    /// the manifest the snapshot comes from.
    pub(super) fn snapshot_marked(
        &self,
        expr: Option<&crate::predicate::Expr>,
        metrics: Option<&crate::store::prune::ScanMetrics>,
        mark: Option<&str>,
    ) -> Result<(Vec<OpenFile>, Option<u64>)> {
        let mut attempts = 0;
        loop {
            self.refresh()?;
            let state = self.read_state();
            let m = &state.manifest;
            let keep = self.partitions_for(&m.files, expr);
            let mut files = Vec::with_capacity(m.files.len());
            let mut missing = None;
            for (entry, keep) in m.files.iter().zip(&keep) {
                if !keep {
                    continue;
                }
                let staged = state::staged_name_of(m, entry);
                match decode::open_listed(&self.dir, entry, staged, &self.bytes_read) {
                    Ok(Some(file)) => files.push(file),
                    Ok(None) => {
                        missing = Some((self.dir.join(&entry.name), None));
                        break;
                    }
                    // Another size under the same name: a later commit (an overwrite or a
                    // compaction writes `data.parquet` again) replaced it after this manifest
                    // was read, unless the manifest is still the same (then it is damage).
                    Err(e @ Error::Corrupt { .. }) => {
                        missing = Some((self.dir.join(&entry.name), Some(e)));
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            let Some((path, replaced)) = missing else {
                if let (Some(m), Some(_)) = (metrics, expr) {
                    self.count_partitions(&state.manifest.files, &keep, m);
                }
                let position = mark.and_then(|name| state.manifest.mark(name));
                return Ok((files, position));
            };
            let stamp = state.stamp;
            drop(state);
            attempts += 1;
            if attempts >= 100 || fsio::stamp(&fsio::manifest_path(&self.dir))? == stamp {
                if let Some(e) = replaced {
                    return Err(e);
                }
                return Err(Error::Corrupt {
                    path,
                    reason: "the file is listed in the manifest but missing (reopen the store to \
                             roll back to the files that are whole: see `dropped_files`)"
                        .into(),
                });
            }
        }
    }

    /// A decoded batch with the row type's column types again where the file holds a column in
    /// another form (see `layout`), whichever profile wrote the file.
    pub(super) fn restore(&self, batch: RecordBatch, path: &Path) -> Result<RecordBatch> {
        layout::from_file(batch, &self.schema, path)
    }

    /// A decoded batch with the identity partition columns the file does not hold, built from
    /// the manifest's values, in the order of `columns` (every column of the row type if
    /// `None`). Unchanged for an unpartitioned store.
    pub(super) fn complete(
        &self,
        batch: RecordBatch,
        entry: &StoredFile,
        columns: Option<&[String]>,
    ) -> Result<RecordBatch> {
        if Arc::ptr_eq(&self.data_schema, &self.schema) {
            return Ok(batch);
        }
        self.spec
            .complete(batch, &self.schema, &entry.partition, columns)
    }

    /// The columns to decode from a file for `columns`: without the identity partition
    /// columns (not in the files).
    pub(super) fn file_columns(&self, columns: Option<&[String]>) -> Option<Vec<String>> {
        columns.map(|names| {
            names
                .iter()
                .filter(|n| !self.spec.is_identity_column(n))
                .cloned()
                .collect()
        })
    }

    pub(super) fn check_rows(&self, file: &OpenFile, footer_rows: i64) -> Result<()> {
        if u64::try_from(footer_rows).ok() != Some(file.entry.rows) {
            return Err(Error::Corrupt {
                path: file.path.clone(),
                reason: format!(
                    "the footer says {footer_rows} rows, the manifest recorded {}",
                    file.entry.rows
                ),
            });
        }
        Ok(())
    }

    /// Decodes one whole file: one read of the file, a CRC pass over the bytes in memory, the
    /// columns (`columns`, or every column of the row type the file has) decoded on `threads`
    /// threads. A file whose every column fits comfortably in one Arrow array (well under the
    /// 2 GiB of Utf8 offsets) becomes one batch, so `load` converts it column by column with one
    /// copy of the data plus one column at its peak; bigger files come row group by row group.
    ///
    /// With `blocks` (a verified read of part of a file: a predicate or a projection), only the
    /// blocks holding the pages decoded are read and checked.
    pub(super) fn read_whole(
        &self,
        file: &OpenFile,
        columns: Option<&[String]>,
        pick: Pick<'_>,
        blocks: Option<&VerifiedFile>,
    ) -> Result<Vec<RecordBatch>> {
        let wanted = columns;
        let columns = self.file_columns(columns);
        let columns = columns.as_deref();
        let batches = if let Some(vf) = blocks {
            self.adopt_blocks(vf, file)?;
            vf.explain(self.decode_whole(vf, file, columns, pick))?
        } else if self.options.verify_checksums {
            let bytes = decode::read_verified(file, true)?;
            self.decode_whole(&bytes, file, columns, pick)?
        } else {
            // Positional reads of the column chunks decoded: a projection reads only its own.
            self.decode_whole(&file.file, file, columns, pick)?
        };
        // The file travels with its batches, so a conversion error can name it (`StoreExt::load`).
        let source = file.path.to_string_lossy().into_owned();
        batches
            .into_iter()
            .filter(|batch| batch.num_rows() > 0)
            .map(|batch| {
                let batch = self.restore(batch, &file.path)?;
                let batch = self.complete(batch, &file.entry, wanted)?;
                labelled(batch, &source)
            })
            .collect()
    }

    fn decode_whole<R: ChunkReader + Clone + 'static>(
        &self,
        reader: &R,
        file: &OpenFile,
        columns: Option<&[String]>,
        pick: Pick<'_>,
    ) -> Result<Vec<RecordBatch>> {
        let metadata = footer(reader, &file.path, self.type_name, pick)?;
        self.check_rows(file, metadata.metadata().file_metadata().num_rows())?;
        if columns.is_some_and(<[String]>::is_empty) {
            // Only partition columns asked for: the rows, no column data.
            let options =
                arrow_array::RecordBatchOptions::new().with_row_count(Some(pick.rows(&metadata)));
            let schema = Arc::new(arrow_schema::Schema::empty());
            let batch = RecordBatch::try_new_with_options(schema, Vec::new(), &options)
                .map_err(|e| Error::arrow("counting the rows of a file", e))?;
            return Ok(vec![batch]);
        }
        let names: Vec<String> = match columns {
            Some(names) => names.to_vec(),
            // The row type's columns that the file has; a missing one is reported by the
            // conversion (`Error::MissingColumn` naming the field).
            None => {
                let file_schema = Arc::clone(metadata.schema());
                self.schema
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .filter(|name| file_schema.index_of(name).is_ok())
                    .collect()
            }
        };
        let rows = usize::try_from(metadata.metadata().file_metadata().num_rows()).unwrap_or(0);
        let batch_size = if pick.selection.is_some() {
            pick.rows(&metadata).max(1)
        } else if rows > 0 && largest_column_bytes(&metadata) < ONE_BATCH_COLUMN_LIMIT {
            rows
        } else {
            largest_row_group(&metadata)
        };
        let threads = self.options.threads;
        decode::decode_columns(
            reader, &metadata, &file.path, &names, batch_size, threads, pick,
        )
    }

    pub(super) fn count_from_footers(&self) -> Result<FooterCount> {
        let files = self.snapshot()?;
        let counter = Arc::new(AtomicU64::new(0));
        let mut count = FooterCount::default();
        for file in &files {
            let reader = file.file.with_counter(Arc::clone(&counter));
            fsio::check_magic(&reader, &file.path)?;
            let metadata = decode::guarded(&file.path, || {
                ParquetMetaDataReader::new()
                    .parse_and_finish(&reader)
                    .map_err(|source| Error::Parquet {
                        path: file.path.clone(),
                        source,
                    })
            })?;
            decode::check_type(&metadata, &file.path, self.type_name)?;
            let rows = metadata.file_metadata().num_rows();
            self.check_rows(file, rows)?;
            count.rows += file.entry.rows;
            count.files += 1;
            count.file_bytes += file.entry.size;
        }
        count.bytes_read = counter.load(Ordering::Relaxed);
        self.bytes_read
            .fetch_add(count.bytes_read, Ordering::Relaxed);
        Ok(count)
    }

    /// Reads the footer of `file` through its block checksums (the tail checked against the
    /// manifest) and takes the block list from it.
    fn adopt_blocks(&self, vf: &VerifiedFile, file: &OpenFile) -> Result<()> {
        if vf.adopted() {
            return Ok(());
        }
        let metadata = vf.explain(decode::read_metadata(vf, &file.path, self.type_name))?;
        vf.adopt(metadata.metadata())
    }

    /// Opens a file for streaming: verify in place (or through `blocks`, reading only the
    /// blocks of the pages decoded), then a batch reader over positional reads.
    pub(super) fn stream_file(
        &self,
        file: &OpenFile,
        batch_size: usize,
        verify: bool,
        columns: Option<&[String]>,
        pick: Pick<'_>,
        blocks: Option<&VerifiedFile>,
    ) -> Result<ParquetRecordBatchReader> {
        if let Some(vf) = blocks {
            self.adopt_blocks(vf, file)?;
            let metadata = vf.explain(footer(vf, &file.path, self.type_name, pick))?;
            self.check_rows(file, metadata.metadata().file_metadata().num_rows())?;
            let columns = match columns {
                Some(names) => Columns::Named(names),
                None => Columns::All,
            };
            return vf.explain(decode::batch_reader(
                vf.clone(),
                metadata,
                &file.path,
                batch_size,
                columns,
                pick,
            ));
        }
        if verify {
            decode::verify_in_place(file)?;
        }
        let metadata = footer(&file.file, &file.path, self.type_name, pick)?;
        self.check_rows(file, metadata.metadata().file_metadata().num_rows())?;
        let columns = match columns {
            Some(names) => Columns::Named(names),
            None => Columns::All,
        };
        decode::batch_reader(
            file.file.clone(),
            metadata,
            &file.path,
            batch_size,
            columns,
            pick,
        )
    }

    /// The scan task: every file in order, whole (`batch_size == usize::MAX`) or streamed in
    /// batches of `batch_size` rows; stops at the first error (sent as the last item) or when the
    /// stream is dropped.
    pub(super) fn scan_into(
        &self,
        files: &[OpenFile],
        columns: Option<&[String]>,
        batch_size: usize,
        prune: Prune<'_>,
        tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>,
    ) {
        let send = |item: Result<RecordBatch>| tx.blocking_send(item).is_ok();
        if let Some(m) = prune.metrics {
            let stored: u64 = files.iter().map(|f| f.entry.size).sum();
            m.bytes(0, stored);
        }
        let file_columns = self.file_columns(columns);
        // A verified read of part of a file (a predicate or a projection) reads and checks only
        // the blocks it needs, where the file has block checksums; the others check the whole
        // file (one read and one CRC pass: the fastest way to read all of it).
        let partial = prune.expr.is_some() || file_columns.is_some();
        for file in files {
            let blocks = if self.options.verify_checksums && partial {
                VerifiedFile::of(file)
            } else {
                None
            };
            let blocks = blocks.as_ref();
            // Row groups the predicate may match, from the footer's statistics.
            let groups = match self.row_groups_for(file, prune, blocks) {
                Ok(groups) => groups,
                Err(e) => {
                    send(Err(e));
                    return;
                }
            };
            if groups.as_ref().is_some_and(|g| g.groups.is_empty()) {
                continue; // every row group ruled out: the file's data is not read
            }
            if let Some(m) = prune.metrics
                && blocks.is_none()
            {
                // Verified reads of files without block checksums take the whole file (its
                // CRC32 covers every byte); unverified ones read the column chunks of the row
                // groups kept. (Block reads are counted as they happen, below.)
                let read = match (&groups, self.options.verify_checksums) {
                    (Some(kept), false) => kept.groups.iter().map(|(_, bytes)| *bytes).sum(),
                    _ => file.entry.size,
                };
                m.bytes(read, 0);
            }
            let count_blocks = || {
                if let (Some(m), Some(vf)) = (prune.metrics, blocks) {
                    m.bytes(vf.bytes_read(), 0);
                }
            };
            let (groups, selection) = match groups {
                Some(kept) => (
                    Some(kept.groups.into_iter().map(|(i, _)| i).collect::<Vec<_>>()),
                    kept.selection,
                ),
                None => (None, None),
            };
            let pick = Pick {
                groups: groups.as_deref(),
                selection: selection.as_ref(),
            };
            if batch_size == usize::MAX || file_columns.as_ref().is_some_and(Vec::is_empty) {
                let read = self.read_whole(file, columns, pick, blocks);
                count_blocks();
                match read {
                    Ok(batches) => {
                        for batch in batches {
                            if !send(Ok(batch)) {
                                return; // the stream was dropped
                            }
                        }
                    }
                    Err(e) => {
                        send(Err(e));
                        return;
                    }
                }
                continue;
            }
            let verify = self.options.verify_checksums;
            let names = file_columns.as_deref();
            let mut reader = match self.stream_file(file, batch_size, verify, names, pick, blocks) {
                Ok(reader) => reader,
                Err(e) => {
                    send(Err(e));
                    return;
                }
            };
            let source = file.path.to_string_lossy().into_owned();
            loop {
                let next = decode::next_batch(&mut reader, &file.path);
                let next = match blocks {
                    Some(vf) => vf.explain(next),
                    None => next,
                };
                let next = next
                    .and_then(|b| b.map(|b| self.restore(b, &file.path)).transpose())
                    .and_then(|b| {
                        b.map(|b| self.complete(b, &file.entry, columns))
                            .transpose()
                    })
                    .and_then(|b| b.map(|b| in_order(b, columns)).transpose())
                    .and_then(|b| b.map(|b| labelled(b, &source)).transpose());
                match next {
                    Ok(Some(batch)) if batch.num_rows() == 0 => {}
                    Ok(Some(batch)) => {
                        if !send(Ok(batch)) {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        send(Err(e));
                        return;
                    }
                }
            }
        }
    }
}

/// The footer of a file, with its page index when `pick` selects rows within row groups (the
/// reader then fetches only the pages selected instead of whole column chunks).
fn footer<R: ChunkReader + 'static>(
    reader: &R,
    path: &Path,
    type_name: &str,
    pick: Pick<'_>,
) -> Result<parquet::arrow::arrow_reader::ArrowReaderMetadata> {
    if pick.selection.is_some() {
        decode::read_metadata_with_page_index(reader, path, type_name)
    } else {
        decode::read_metadata(reader, path, type_name)
    }
}

/// What a scan may skip, and where it counts what it did.
#[derive(Clone, Copy, Default)]
pub(super) struct Prune<'a> {
    pub expr: Option<&'a crate::predicate::Expr>,
    pub metrics: Option<&'a crate::store::prune::ScanMetrics>,
}

impl Inner {
    /// Which files the predicate may match by their partition values (all without a predicate
    /// or partitions).
    fn partitions_for(
        &self,
        files: &[StoredFile],
        expr: Option<&crate::predicate::Expr>,
    ) -> Vec<bool> {
        let (Some(expr), false) = (expr, self.spec.is_empty()) else {
            return vec![true; files.len()];
        };
        let values: Vec<Vec<Option<String>>> = files
            .iter()
            .map(|f| f.partition.iter().map(|(_, v)| v.clone()).collect())
            .collect();
        let units: Vec<(&[Option<String>], u64)> = values
            .iter()
            .zip(files)
            .map(|(v, f)| (v.as_slice(), f.rows))
            .collect();
        let mut stats = self.spec.stats(&units);
        crate::store::prune::may_match(expr, files.len(), &mut stats)
    }

    /// Counts the partitions of a snapshot and those skipped whole, and the skipped files with
    /// their bytes (as stored, not read).
    fn count_partitions(
        &self,
        files: &[StoredFile],
        keep: &[bool],
        m: &crate::store::prune::ScanMetrics,
    ) {
        let mut skipped_files = 0u64;
        let mut skipped_bytes = 0u64;
        for (f, k) in files.iter().zip(keep) {
            if !k {
                skipped_files += 1;
                skipped_bytes += f.size;
            }
        }
        m.files(skipped_files, skipped_files);
        m.bytes(0, skipped_bytes);
        if self.spec.is_empty() {
            return;
        }
        let mut seen: std::collections::HashMap<&[(String, Option<String>)], bool> =
            std::collections::HashMap::new();
        for (f, k) in files.iter().zip(keep) {
            *seen.entry(f.partition.as_slice()).or_insert(false) |= *k;
        }
        let skipped = seen.values().filter(|k| !**k).count();
        m.partitions(seen.len() as u64, skipped as u64);
    }

    /// `None`: read every row group; `Some(kept)`: only these row groups (empty: none), each
    /// with its compressed bytes, and within them the rows the page index keeps; counted.
    fn row_groups_for(
        &self,
        file: &OpenFile,
        prune: Prune<'_>,
        blocks: Option<&VerifiedFile>,
    ) -> Result<Option<Kept>> {
        let Some(expr) = prune.expr else {
            if let Some(m) = prune.metrics {
                m.files(1, 0);
            }
            return Ok(None);
        };
        let counter = Arc::new(AtomicU64::new(0));
        let metadata = match blocks {
            Some(vf) => {
                // The footer and page index from the checked tail (counted with the blocks).
                let metadata = vf.explain(decode::read_metadata_with_page_index(
                    vf,
                    &file.path,
                    self.type_name,
                ))?;
                vf.adopt(metadata.metadata())?;
                metadata
            }
            None => {
                let reader = file.file.with_counter(Arc::clone(&counter));
                decode::read_metadata_with_page_index(&reader, &file.path, self.type_name)?
            }
        };
        let total = metadata.metadata().num_row_groups();
        let mut groups = crate::store::prune::parquet_row_groups(expr, &metadata);
        let row_groups_skipped = total - groups.len();
        let mut selection = None;
        if let Some(pages) = crate::store::prune::parquet_pages(expr, &metadata, &groups) {
            if let Some(m) = prune.metrics {
                m.pages(pages.pages_total, pages.pages_skipped);
            }
            if pages.pages_skipped > 0 {
                groups = pages.groups;
                selection = Some(pages.selection);
            }
        }
        if let Some(m) = prune.metrics {
            m.files(1, u64::from(groups.is_empty() && total > 0));
            m.row_groups(total as u64, row_groups_skipped as u64);
            m.bytes(counter.load(Ordering::Relaxed), 0);
        }
        let sized = groups
            .iter()
            .map(|&g| {
                let bytes = metadata
                    .metadata()
                    .row_groups()
                    .get(g)
                    .map_or(0, |rg| u64::try_from(rg.compressed_size()).unwrap_or(0));
                (g, bytes)
            })
            .collect();
        Ok(Some(Kept {
            groups: sized,
            selection,
        }))
    }
}

/// What a predicate leaves of a file: row groups with their compressed bytes, and the page-level
/// row selection within them.
pub(super) struct Kept {
    groups: Vec<(usize, u64)>,
    selection: Option<parquet::arrow::arrow_reader::RowSelection>,
}

/// A projected batch with its columns in the order asked (the Parquet reader yields them in file
/// order).
pub(super) fn in_order(batch: RecordBatch, columns: Option<&[String]>) -> Result<RecordBatch> {
    let Some(names) = columns else {
        return Ok(batch);
    };
    let schema = batch.schema();
    let indices = names
        .iter()
        .map(|name| {
            schema
                .index_of(name)
                .map_err(|e| Error::arrow("ordering projected columns", e))
        })
        .collect::<Result<Vec<_>>>()?;
    batch
        .project(&indices)
        .map_err(|e| Error::arrow("ordering projected columns", e))
}

/// Uncompressed bytes above which a file's columns are not decoded into one array each.
const ONE_BATCH_COLUMN_LIMIT: u64 = 512 << 20;

/// The largest uncompressed size of one column over all row groups of a file.
pub(super) fn largest_column_bytes(
    metadata: &parquet::arrow::arrow_reader::ArrowReaderMetadata,
) -> u64 {
    let mut sizes: Vec<u64> = Vec::new();
    for row_group in metadata.metadata().row_groups() {
        for (i, chunk) in row_group.columns().iter().enumerate() {
            if sizes.len() <= i {
                sizes.resize(i + 1, 0);
            }
            sizes[i] += u64::try_from(chunk.uncompressed_size()).unwrap_or(u64::MAX / 4);
        }
    }
    sizes.into_iter().max().unwrap_or(0)
}

pub(super) fn largest_row_group(
    metadata: &parquet::arrow::arrow_reader::ArrowReaderMetadata,
) -> usize {
    metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|rg| usize::try_from(rg.num_rows()).unwrap_or(0))
        .max()
        .unwrap_or(1)
        .max(1)
}

/// `batch` labelled with the file it comes from, so that a conversion error can name it
/// (`StoreExt::load`).
fn labelled(batch: RecordBatch, source: &str) -> Result<RecordBatch> {
    let mut metadata = batch.schema().metadata().clone();
    metadata.insert(SOURCE_FILE_KEY.to_owned(), source.to_owned());
    let schema = Arc::new(batch.schema().as_ref().clone().with_metadata(metadata));
    batch
        .with_schema(schema)
        .map_err(|e| Error::arrow("labelling a batch with its file", e))
}
