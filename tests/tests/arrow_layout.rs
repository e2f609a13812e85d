//! `#[soa(arrow_layout)]`: `String` / `Option<String>` columns stored Arrow-shaped. Every container
//! operation, conversion both ways (by move without copy, proven by pointers), schema identical
//! to the `Vec` layout, reading other writers' string types, errors, and both stores.

use std::sync::Arc;

use soa_runtime::arrow::array::cast::AsArray;
use soa_runtime::arrow::array::types::Int8Type;
use soa_runtime::arrow::array::{
    Array, ArrayRef, DictionaryArray, LargeStringArray, RecordBatch, StringArray, StringViewArray,
    UInt32Array,
};
use soa_runtime::arrow::datatypes::{DataType, Field, Schema};
use soa_runtime::{
    ArrowStore, Error, OptionStringColumn, ParquetStore, Soa, Store, StoreExt, StringColumn,
    ToArrow,
};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Quote {
    id: u32,
    #[soa(arrow_layout)]
    symbol: String,
    #[soa(arrow_layout)]
    venue: Option<String>,
    #[soa(arrow_layout, default, rename = "desk_name")]
    desk: String,
}

/// The same fields in `Vec` columns, to compare schemas and files.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct QuotePlain {
    id: u32,
    symbol: String,
    venue: Option<String>,
    #[soa(default, rename = "desk_name")]
    desk: String,
}

fn quote(i: u32) -> Quote {
    Quote {
        id: i,
        symbol: ["AAPL", "", "Zürich-€", "MSFT"][i as usize % 4].repeat(1 + i as usize % 3),
        venue: (!i.is_multiple_of(3)).then(|| format!("v{i}")),
        desk: format!("d{}", i % 2),
    }
}

fn quotes(n: u32) -> Vec<Quote> {
    (0..n).map(quote).collect()
}

#[test]
fn columns_are_arrow_shaped_and_behave_like_vecs() {
    let rows = quotes(10);
    let mut soa: QuoteSoA = rows.clone().into();
    let _: &StringColumn = &soa.symbol;
    let _: &OptionStringColumn = &soa.venue;
    assert_eq!(soa.len(), 10);
    assert_eq!(&soa.symbol[1], "");
    assert_eq!(soa.venue.get(0), Some(None));
    assert_eq!(soa.venue.get(1), Some(Some("v1")));
    let view = soa.get(2).unwrap();
    assert_eq!(view.symbol, "Zürich-€Zürich-€Zürich-€");
    assert_eq!(view.venue, Some("v2"));
    assert_eq!(view.to_owned_row(), rows[2]);
    assert_eq!(soa.row(3), rows[3]);
    assert!(soa.get(10).is_none());
    assert_eq!(
        soa.iter().map(|r| r.to_owned_row()).collect::<Vec<_>>(),
        rows
    );

    assert_eq!(soa.swap_remove(1), rows[1]);
    assert_eq!(soa.row(1), rows[9]);
    assert_eq!(soa.len(), 9);

    soa.retain(|r| r.id % 2 == 0);
    assert_eq!(
        soa.iter().map(|r| *r.id).collect::<Vec<_>>(),
        [0, 2, 4, 6, 8]
    );
    assert_eq!(soa.venue, [None, Some("v2"), Some("v4"), None, Some("v8")]);

    soa.sort_by_key(|r| std::cmp::Reverse(*r.id));
    assert_eq!(soa.clone().into_rows(), [8, 6, 4, 2, 0].map(quote));

    let taken = soa.take(&[4, 0, 4]);
    assert_eq!(taken.into_rows(), [0, 8, 0].map(quote));
    let sliced = soa.slice(1..3);
    assert_eq!(sliced.into_rows(), [6, 4].map(quote));

    let mut other: QuoteSoA = quotes(3).into_iter().collect();
    soa.append(&mut other);
    assert!(other.is_empty());
    assert_eq!(soa.len(), 8);
    soa.extend([quote(42)]);
    assert_eq!(soa.row(8), quote(42));

    soa.truncate(2);
    assert_eq!(soa.into_rows(), [8, 6].map(quote));

    // Borrowed rows: bytes copied, no `String` clone.
    let rows = quotes(5);
    let mut borrowed = QuoteSoA::from(&rows[..]);
    borrowed.extend_from_slice(&rows[..2]);
    assert_eq!(borrowed.len(), 7);
    assert_eq!(borrowed.into_rows()[..5], rows);

    let mut empty = QuoteSoA::with_capacity(16);
    assert!(empty.is_empty());
    empty.push(quote(7));
    empty.clear();
    assert!(empty.is_empty());
    empty.shrink_to_fit();
    assert_eq!(empty, QuoteSoA::new());
}

#[test]
fn schema_matches_the_vec_layout() {
    assert_eq!(QuoteSoA::schema(), QuotePlainSoA::schema());
}

#[test]
fn into_record_batch_moves_string_buffers() {
    let soa: QuoteSoA = quotes(1000).into();
    let symbol_bytes = soa.symbol.as_bytes().as_ptr() as usize;
    let venue_bytes = soa.venue.as_bytes().as_ptr() as usize;
    let batch = soa.into_record_batch().unwrap();
    let symbols = batch.column_by_name("symbol").unwrap().as_string::<i32>();
    let venues = batch.column_by_name("venue").unwrap().as_string::<i32>();
    assert_eq!(symbols.values().as_ptr() as usize, symbol_bytes);
    assert_eq!(venues.values().as_ptr() as usize, venue_bytes);
    assert_eq!(venues.null_count(), 334);
    assert_eq!(symbols.value(2), "Zürich-€Zürich-€Zürich-€");

    // And back: the consuming read takes the same buffers over.
    let back = QuoteSoA::try_from_record_batch(batch).unwrap();
    assert_eq!(back.symbol.as_bytes().as_ptr() as usize, symbol_bytes);
    assert_eq!(back.venue.as_bytes().as_ptr() as usize, venue_bytes);
    assert_eq!(back.into_rows(), quotes(1000));
}

#[test]
fn round_trips_through_both_layouts() {
    for n in [0, 1, 1000] {
        let rows = quotes(n);
        let soa: QuoteSoA = rows.clone().into();
        let borrowed = soa.to_record_batch().unwrap();
        let plain = QuotePlainSoA::from_record_batch(&borrowed).unwrap();
        assert_eq!(plain.len(), n as usize);
        let plain_batch = plain.into_record_batch().unwrap();
        assert_eq!(plain_batch, borrowed);
        assert_eq!(QuoteSoA::from_record_batch(&plain_batch).unwrap(), soa);
        assert_eq!(
            QuoteSoA::rows_from_record_batch(&plain_batch).unwrap(),
            rows
        );
        assert_eq!(
            QuotePlainSoA::rows_from_record_batch(&borrowed).unwrap(),
            QuotePlainSoA::from_record_batch(&borrowed)
                .unwrap()
                .into_rows()
        );
        assert_eq!(
            QuoteSoA::try_from_record_batch(borrowed.slice(0, n as usize / 2))
                .unwrap()
                .into_rows(),
            rows[..n as usize / 2]
        );
    }
}

#[test]
fn sliced_batches_are_rebased() {
    let batch = QuoteSoA::from(quotes(100)).into_record_batch().unwrap();
    let part = batch.slice(37, 20);
    let read = QuoteSoA::from_record_batch(&part).unwrap();
    assert_eq!(read.into_rows(), quotes(57)[37..]);
    assert_eq!(
        QuoteSoA::rows_from_record_batch(&part).unwrap(),
        quotes(57)[37..]
    );
    let owned = QuoteSoA::try_from_record_batch(part).unwrap();
    assert_eq!(owned.into_rows(), quotes(57)[37..]);
}

fn batch_with(symbol: ArrayRef, venue: ArrayRef) -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("id", DataType::UInt32, false),
        Field::new("symbol", symbol.data_type().clone(), true),
        Field::new("venue", venue.data_type().clone(), true),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(UInt32Array::from(vec![1, 2])), symbol, venue],
    )
    .unwrap()
}

#[test]
fn reads_other_string_types() {
    let cases: Vec<(ArrayRef, ArrayRef)> = vec![
        (
            Arc::new(LargeStringArray::from(vec!["a", "ü"])),
            Arc::new(LargeStringArray::from(vec![None, Some("x")])),
        ),
        (
            Arc::new(StringViewArray::from(vec!["a", "ü"])),
            Arc::new(StringViewArray::from(vec![None, Some("x")])),
        ),
        (
            Arc::new(
                vec!["a", "ü"]
                    .into_iter()
                    .collect::<DictionaryArray<Int8Type>>(),
            ),
            Arc::new(
                vec![None, Some("x")]
                    .into_iter()
                    .collect::<DictionaryArray<Int8Type>>(),
            ),
        ),
    ];
    for (symbol, venue) in cases {
        let batch = batch_with(symbol, venue);
        for soa in [
            QuoteSoA::from_record_batch(&batch).unwrap(),
            QuoteSoA::try_from_record_batch(batch.clone()).unwrap(),
        ] {
            assert_eq!(soa.symbol, ["a", "ü"]);
            assert_eq!(soa.venue, [None, Some("x")]);
            // `desk_name` is missing and `#[soa(default)]`.
            assert_eq!(soa.desk, ["", ""]);
        }
    }
}

#[test]
fn missing_optional_column_reads_as_nulls() {
    let schema = Schema::new(vec![
        Field::new("id", DataType::UInt32, false),
        Field::new("symbol", DataType::Utf8, false),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(UInt32Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec!["a", "b", "c"])),
        ],
    )
    .unwrap();
    let soa = QuoteSoA::from_record_batch(&batch).unwrap();
    assert_eq!(soa.venue, [None::<&str>, None, None]);
    assert_eq!(soa.venue.null_count(), 3);
}

#[test]
fn errors_name_struct_and_field() {
    let batch = batch_with(
        Arc::new(StringArray::from(vec![Some("a"), None])),
        Arc::new(StringArray::from(vec![None::<&str>, None])),
    );
    let err = QuoteSoA::from_record_batch(&batch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Quote.symbol: found a null at row 1, but the field is not an Option (expected non-null Utf8)"
    );
    let err = QuoteSoA::try_from_record_batch(batch).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Quote.symbol: found a null at row 1"),
        "{err}"
    );

    let wrong = batch_with(
        Arc::new(UInt32Array::from(vec![1, 2])),
        Arc::new(StringArray::from(vec![None::<&str>, None])),
    );
    let err = QuoteSoA::from_record_batch(&wrong).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Quote.symbol: expected Arrow type Utf8, found UInt32"
    );

    let schema = Schema::new(vec![Field::new("id", DataType::UInt32, false)]);
    let batch =
        RecordBatch::try_new(Arc::new(schema), vec![Arc::new(UInt32Array::from(vec![1]))]).unwrap();
    let err = QuoteSoA::from_record_batch(&batch).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingColumn {
                field: "symbol",
                ..
            }
        ),
        "{err}"
    );
}

/// `Soa` alone (no `ToArrow`) works with Arrow-shaped columns too.
#[derive(Soa, Debug, Clone, PartialEq)]
struct Note {
    #[soa(arrow_layout)]
    text: String,
    weight: u8,
}

#[test]
fn soa_only_derive() {
    let mut notes = NoteSoA::new();
    notes.push(Note {
        text: "hi".into(),
        weight: 1,
    });
    notes.push(Note {
        text: "ciao".into(),
        weight: 2,
    });
    assert_eq!(notes.text.iter().map(str::len).sum::<usize>(), 6);
    assert_eq!(notes.into_rows()[1].text, "ciao");
}

/// A derived struct with Arrow-shaped columns nests as an Arrow Struct in another one.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Book {
    #[soa(arrow_layout)]
    title: String,
    quotes: Vec<Quote>,
    best: Option<Quote>,
}

#[test]
fn nests_inside_other_structs() {
    let rows = vec![
        Book {
            title: "a".into(),
            quotes: quotes(3),
            best: Some(quote(5)),
        },
        Book {
            title: "ü".into(),
            quotes: vec![],
            best: None,
        },
    ];
    let soa: BookSoA = rows.clone().into();
    let batch = soa.to_record_batch().unwrap();
    assert_eq!(
        BookSoA::from_record_batch(&batch).unwrap().into_rows(),
        rows
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn both_stores_round_trip() {
    let soa: QuoteSoA = quotes(2000).into();

    let memory = ArrowStore::<Quote>::new();
    memory.save(&soa).await.unwrap();
    memory.append(&soa.slice(0..10)).await.unwrap();
    assert_eq!(memory.count().await.unwrap(), 2010);
    let loaded = memory.load().await.unwrap();
    assert_eq!(loaded.slice(0..2000), soa);

    let dir = tempfile::tempdir().unwrap();
    let disk = ParquetStore::<Quote>::open(dir.path()).await.unwrap();
    disk.save(&soa).await.unwrap();
    disk.append(&soa.slice(5..7)).await.unwrap();
    let loaded = disk.load().await.unwrap();
    assert_eq!(loaded.len(), 2002);
    assert_eq!(loaded.slice(0..2000), soa);
    assert_eq!(loaded.row(2001), quote(6));

    // The file is the one the `Vec` layout writes and reads.
    let file = std::fs::File::open(dir.path().join("data.parquet")).unwrap();
    let reader =
        soa_runtime::parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 4096)
            .unwrap();
    let mut plain_rows = Vec::new();
    for batch in reader {
        plain_rows.extend(
            QuotePlainSoA::from_record_batch(&batch.unwrap())
                .unwrap()
                .into_rows(),
        );
    }
    assert_eq!(plain_rows.len(), 2000);
    assert_eq!(plain_rows[2].symbol, quote(2).symbol);
    assert_eq!(plain_rows[2].venue, quote(2).venue);
}
