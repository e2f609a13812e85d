//! parquet_derive 60: row-wise Parquet writer generated from the struct. It has no enum support, so
//! `side` is a `String` in its model. Its `ParquetRecordReader` rejects `Option<String>` fields
//! ("not implemented: Unsupported: Option"), so the reader cannot read this model: read is not run.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::record::RecordWriter;
use parquet_derive::ParquetRecordWriter;

use crate::{Order, Side};

/// The order model as a parquet_derive user writes it.
#[derive(ParquetRecordWriter, Debug, Clone, PartialEq, Default)]
pub struct POrder {
    pub order_id: u64,
    pub customer_id: u32,
    pub symbol: String,
    pub side: String,
    pub quantity: u32,
    pub unit_price: f64,
    pub filled: bool,
    pub note: Option<String>,
    pub ts_micros: i64,
}

impl From<&Order> for POrder {
    fn from(o: &Order) -> Self {
        Self {
            order_id: o.order_id,
            customer_id: o.customer_id,
            symbol: o.symbol.clone(),
            side: match o.side {
                Side::Buy => "Buy".to_owned(),
                Side::Sell => "Sell".to_owned(),
            },
            quantity: o.quantity,
            unit_price: o.unit_price,
            filled: o.filled,
            note: o.note.clone(),
            ts_micros: o.ts_micros,
        }
    }
}

/// Writes all rows as one row group, then fsyncs. Returns the file size.
///
/// # Panics
/// On an I/O or Parquet error.
pub fn write(path: &Path, rows: &[POrder], props: WriterProperties) -> u64 {
    let file = File::create(path).expect("create");
    let schema = rows.schema().expect("schema");
    let mut writer = SerializedFileWriter::new(file, schema, Arc::new(props)).expect("writer");
    let mut row_group = writer.next_row_group().expect("row group");
    rows.write_to_row_group(&mut row_group).expect("write");
    row_group.close().expect("close row group");
    let file = writer.into_inner().expect("close");
    file.sync_all().expect("fsync");
    file.metadata().expect("metadata").len()
}
