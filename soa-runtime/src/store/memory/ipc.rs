//! Arrow IPC files: atomic writes, and reads that check the framing and every declared length
//! before decoding, under a panic guard.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_buffer::Buffer;
use arrow_ipc::reader::FileDecoder;
use arrow_ipc::writer::{FileWriter, IpcWriteOptions};
use arrow_ipc::{Block, MessageHeader};
use arrow_schema::{ArrowError, DataType, Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::store::conform::mismatch;
use crate::store::identity::{self, ROW_TYPE_KEY};
use crate::store::{durable, guard};

use super::IpcCompression;

/// The magic bytes at both ends of an Arrow IPC file.
const ARROW_MAGIC: &[u8; 6] = b"ARROW1";

/// Marks an encapsulated IPC message that starts with its metadata length (format 0.15+).
const CONTINUATION_MARKER: [u8; 4] = [0xff; 4];

/// Writes the batches as an Arrow IPC file replacing `path` atomically (see `store::durable`).
pub(crate) fn write_ipc_file(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    compression: IpcCompression,
    type_name: &str,
) -> Result<()> {
    durable::replace(path, |temp| {
        write_and_sync(temp, schema, batches, compression, type_name)
    })
}

fn write_and_sync(
    temp: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    compression: IpcCompression,
    type_name: &str,
) -> Result<()> {
    let file = File::create_new(temp).map_err(|e| Error::io(temp, e))?;
    let options = IpcWriteOptions::default()
        .try_with_compression(compression.codec())
        .map_err(|e| Error::arrow("configuring Arrow IPC compression", e))?;
    let write_error = |e: ArrowError| match e {
        ArrowError::IoError(_, source) => Error::io(temp, source),
        other => Error::arrow(format!("writing Arrow IPC file {}", temp.display()), other),
    };
    let mut writer = FileWriter::try_new_with_options(BufWriter::new(file), schema, options)
        .map_err(write_error)?;
    writer.write_metadata(ROW_TYPE_KEY, type_name);
    // The IPC *file* format allows one dictionary per field: when batches carry different
    // dictionaries (a `#[soa(dictionary)]` column; enum dictionaries are always the same), the
    // snapshot is written as one batch whose dictionaries arrow-select merges.
    if batches.len() > 1 && dictionaries_differ(schema, batches) {
        let merged = arrow_select::concat::concat_batches(schema, batches)
            .map_err(|e| Error::arrow("merging dictionary batches for an Arrow IPC file", e))?;
        writer.write(&merged).map_err(write_error)?;
    } else {
        for batch in batches {
            writer.write(batch).map_err(write_error)?;
        }
    }
    let buffered = writer.into_inner().map_err(write_error)?;
    let file = buffered
        .into_inner()
        .map_err(|e| Error::io(temp, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(temp, e))
}

/// Whether any dictionary column has different dictionary values in two of the batches.
fn dictionaries_differ(schema: &SchemaRef, batches: &[RecordBatch]) -> bool {
    schema.fields().iter().enumerate().any(|(i, field)| {
        if !matches!(field.data_type(), DataType::Dictionary(..)) {
            return false;
        }
        let mut values = batches.iter().filter_map(|b| {
            b.column(i)
                .as_any_dictionary_opt()
                .map(|d| d.values().to_data())
        });
        let Some(first) = values.next() else {
            return false;
        };
        values.any(|v| v != first)
    })
}

fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Converts a decoded batch into one with the row type's schema (see `ArrowStore::load_ipc`).
type Convert<'a> = &'a dyn Fn(RecordBatch) -> Result<RecordBatch>;

/// Reads, checks and converts every batch of an IPC file (on a blocking thread).
///
/// The file is read into memory once; batches of an uncompressed file are slices of that buffer
/// until `convert` turns them into the row type's columns.
pub(crate) fn read_ipc_file(
    path: &Path,
    type_name: &str,
    convert: Convert<'_>,
) -> Result<Vec<RecordBatch>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = Buffer::from_vec(bytes);
    let footer_start = check_ipc_framing(&bytes, path)?;
    // The conversion runs inside the guard too: decoded arrays of a damaged file may be
    // inconsistent in ways only a reader of their values trips over.
    guard::decoding(path, "Arrow IPC", || {
        decode_ipc(&bytes, footer_start, path, type_name, convert)
    })
}

/// Cheap guards before parsing: the leading and trailing magic, and a footer length that fits.
/// Returns where the footer starts (= where the data blocks end).
fn check_ipc_framing(bytes: &[u8], path: &Path) -> Result<usize> {
    let len = bytes.len();
    // Magic + padding to 8, then at least a footer length and the trailing magic.
    let minimum = 8 + 4 + ARROW_MAGIC.len();
    if len < minimum {
        return Err(corrupt(
            path,
            format!("{len} bytes is too short for an Arrow IPC file (at least {minimum})"),
        ));
    }
    if !bytes.starts_with(ARROW_MAGIC) {
        return Err(corrupt(
            path,
            "not an Arrow IPC file: it does not start with ARROW1",
        ));
    }
    if !bytes.ends_with(ARROW_MAGIC) {
        return Err(corrupt(
            path,
            "truncated or damaged Arrow IPC file: it does not end with ARROW1",
        ));
    }
    let footer_len = bytes
        .get(len - 10..len - 6)
        .and_then(|b| b.try_into().ok())
        .map_or(-1, i32::from_le_bytes);
    match usize::try_from(footer_len) {
        Ok(footer_len) if footer_len <= len - minimum => Ok(len - 10 - footer_len),
        _ => Err(corrupt(
            path,
            format!("footer length {footer_len} does not fit in a file of {len} bytes"),
        )),
    }
}

/// The file is in memory when it is decoded, so every decoder error (including the `IoError`s
/// the LZ4 and Zstandard decoders report) means damaged content.
fn decode_error(path: &Path, e: ArrowError) -> Error {
    corrupt(path, format!("cannot decode Arrow IPC data: {e}"))
}

/// Decodes the file with arrow-ipc's [`FileDecoder`], after checking each block's bounds and the
/// sizes its compressed buffers declare (see [`check_compressed_sizes`]), and converts each batch.
fn decode_ipc(
    bytes: &Buffer,
    footer_start: usize,
    path: &Path,
    type_name: &str,
    convert: Convert<'_>,
) -> Result<Vec<RecordBatch>> {
    let footer_bytes = bytes
        .get(footer_start..bytes.len() - 10)
        .unwrap_or_default();
    let footer = arrow_ipc::root_as_footer(footer_bytes)
        .map_err(|e| corrupt(path, format!("unreadable footer: {e}")))?;
    let ipc_schema = footer
        .schema()
        .ok_or_else(|| corrupt(path, "the footer has no schema"))?;
    if !ipc_schema.endianness().equals_to_target_endianness() {
        return Err(corrupt(
            path,
            "the file was written with the other byte order",
        ));
    }
    let schema = Arc::new(
        arrow_ipc::convert::try_fb_to_schema(ipc_schema).map_err(|e| decode_error(path, e))?,
    );
    let written_for = identity::written_for(
        schema
            .metadata()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    identity::check(path, written_for, type_name)?;
    // Refuse a file for another type before decoding any data: converting an empty batch of the
    // file's schema checks every column's presence and type, by `from_record_batch`'s rules
    // (extra columns, any order, widenings, absent `Option` / `#[soa(default)]` columns).
    convert(RecordBatch::new_empty(Arc::clone(&schema)))
        .map_err(|e| mismatch(Some(path), e.to_string()))?;

    let mut decoder = FileDecoder::new(Arc::clone(&schema), footer.version());
    for (number, block) in footer.dictionaries().into_iter().flatten().enumerate() {
        let what = || format!("dictionary block {number}");
        let buf = block_bytes(bytes, block, footer_start)
            .map_err(|r| corrupt(path, format!("{}: {r}", what())))?;
        check_compressed_sizes(&buf, block, &schema)
            .map_err(|r| corrupt(path, format!("{}: {r}", what())))?;
        decoder
            .read_dictionary(block, &buf)
            .map_err(|e| decode_error(path, e))?;
    }
    let blocks = footer
        .recordBatches()
        .ok_or_else(|| corrupt(path, "the footer lists no record batches"))?;
    let mut batches = Vec::with_capacity(blocks.len());
    let mut first_row = 0;
    for (number, block) in blocks.iter().enumerate() {
        let what = || format!("record batch {number}");
        let buf = block_bytes(bytes, block, footer_start)
            .map_err(|r| corrupt(path, format!("{}: {r}", what())))?;
        check_compressed_sizes(&buf, block, &schema)
            .map_err(|r| corrupt(path, format!("{}: {r}", what())))?;
        let Some(batch) = decoder
            .read_record_batch(block, &buf)
            .map_err(|e| decode_error(path, e))?
        else {
            continue;
        };
        // A value the row type cannot hold (a null in a field that is not an `Option`, an
        // unknown enum variant, ...): the column-level error, naming the file.
        let rows = batch.num_rows();
        let batch = convert(batch).map_err(|e| Error::InFile {
            path: path.to_path_buf(),
            source: Box::new(at_file_row(e, first_row)),
        })?;
        first_row += rows;
        batches.push(batch);
    }
    Ok(batches)
}

/// Counts the row an error names from the start of the file instead of its batch.
fn at_file_row(error: Error, first_row: usize) -> Error {
    match error {
        Error::Column {
            struct_name,
            field,
            source,
        } => Error::Column {
            struct_name,
            field,
            source: source.relocate(&|row| (first_row + row, None)),
        },
        other => other,
    }
}

/// The bytes of one block (message metadata + body), after checking that it lies between the
/// leading magic and the footer.
fn block_bytes(
    bytes: &Buffer,
    block: &Block,
    footer_start: usize,
) -> std::result::Result<Buffer, String> {
    let offset = usize::try_from(block.offset()).ok();
    let meta = usize::try_from(block.metaDataLength()).ok();
    let body = usize::try_from(block.bodyLength()).ok();
    let (Some(offset), Some(meta), Some(body)) = (offset, meta, body) else {
        return Err(format!(
            "negative offset or length (offset {}, metadata {}, body {})",
            block.offset(),
            block.metaDataLength(),
            block.bodyLength()
        ));
    };
    let end = offset.checked_add(meta).and_then(|e| e.checked_add(body));
    match end {
        Some(end) if offset >= 8 && meta >= 8 && end <= footer_start => {
            Ok(bytes.slice_with_length(offset, meta + body))
        }
        _ => Err(format!(
            "bytes {offset}+{meta}+{body} lie outside the data section (8..{footer_start})"
        )),
    }
}

/// Largest output of one compressed buffer of `compressed` bytes: LZ4 frames expand at most about
/// 255 times, Zstandard at most 32 768 times (an RLE block of 128 KiB in 4 bytes).
fn codec_bound(codec: arrow_ipc::CompressionType, compressed: u64) -> u64 {
    let ratio = if codec == arrow_ipc::CompressionType::LZ4_FRAME {
        256
    } else {
        32_768
    };
    compressed.saturating_mul(ratio).saturating_add(1 << 16)
}

/// arrow-ipc trusts the 8-byte uncompressed length in front of every compressed buffer and
/// allocates it up front; a damaged length (one flipped high bit) aborts the whole process on a
/// failed allocation, which `catch_unwind` cannot stop. So before decoding, every declared length
/// must fit both what the codec can produce from the compressed bytes and what the buffer's role
/// in the schema allows for the row count of its node (validity, offsets, fixed-width values;
/// `i32::MAX` for the values of `Utf8`/`Binary`).
fn check_compressed_sizes(
    buf: &Buffer,
    block: &Block,
    schema: &Schema,
) -> std::result::Result<(), String> {
    let meta_len = usize::try_from(block.metaDataLength()).unwrap_or(0);
    let Some(body) = buf.get(meta_len..) else {
        return Ok(());
    };
    // Parse exactly the bytes the decoder parses (the whole block, not only `metaDataLength`
    // of them): a damaged metadata length must not hide a message the decoder then reads.
    let flatbuffer = match buf.get(..4) {
        Some(marker) if marker == CONTINUATION_MARKER.as_slice() => buf.get(8..),
        _ => buf.get(4..),
    }
    .unwrap_or_default();
    // An unreadable message is left to the decoder, which fails on it the same way.
    let Ok(message) = arrow_ipc::root_as_message(flatbuffer) else {
        return Ok(());
    };
    let (batch, data_types): (_, Vec<DataType>) = match message.header_type() {
        MessageHeader::RecordBatch => (
            message.header_as_record_batch(),
            schema
                .fields()
                .iter()
                .map(|f| f.data_type().clone())
                .collect(),
        ),
        MessageHeader::DictionaryBatch => {
            let mut value_types = Vec::new();
            let top: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
            dictionary_value_types(&top, &mut value_types);
            let batch = message.header_as_dictionary_batch().and_then(|d| d.data());
            // With several distinct dictionary types, the batch's type is unknown: only the codec
            // bound applies.
            (
                batch,
                if value_types.len() == 1 {
                    value_types
                } else {
                    Vec::new()
                },
            )
        }
        _ => return Ok(()),
    };
    let Some(batch) = batch else { return Ok(()) };
    let Some(compression) = batch.compression() else {
        // Uncompressed buffers are slices of the file: nothing is allocated from their lengths.
        return Ok(());
    };
    let codec = compression.codec();
    let mut nodes = batch
        .nodes()
        .map(|n| {
            n.iter()
                .map(|n| u64::try_from(n.length()).unwrap_or(u64::MAX))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter();
    let mut roles = Vec::new();
    for data_type in &data_types {
        if buffer_roles(data_type, &mut nodes, &mut roles).is_none() {
            break;
        }
    }
    for (index, buffer) in batch.buffers().into_iter().flatten().enumerate() {
        let (Ok(start), Ok(length)) = (
            usize::try_from(buffer.offset()),
            u64::try_from(buffer.length()),
        ) else {
            continue;
        };
        // Empty buffers have no prefix (the bytes at their offset belong to the next buffer);
        // shorter or out-of-range ones are rejected by the decoder.
        if length < 8 {
            continue;
        }
        let Some(prefix) = body.get(start..start.saturating_add(8)) else {
            continue;
        };
        let declared = prefix.try_into().map_or(0, i64::from_le_bytes);
        let Ok(declared) = u64::try_from(declared) else {
            continue; // -1: stored uncompressed
        };
        let mut limit = codec_bound(codec, length.saturating_sub(8));
        if let Some(Some(role)) = roles.get(index) {
            // Generous slack for writers that pad buffers.
            limit = limit.min(role.saturating_mul(2).saturating_add(1 << 16));
        }
        if declared > limit {
            return Err(format!(
                "buffer {index} declares {declared} uncompressed bytes, more than the {limit} \
                 its {length} compressed bytes and its column allow"
            ));
        }
    }
    Ok(())
}

fn dictionary_value_types(types: &[&DataType], out: &mut Vec<DataType>) {
    for data_type in types {
        match data_type {
            DataType::Dictionary(_, value) if !out.contains(value) => {
                out.push(value.as_ref().clone());
            }
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::FixedSizeList(f, _)
            | DataType::Map(f, _) => dictionary_value_types(&[f.data_type()], out),
            DataType::Struct(fields) => {
                let children: Vec<&DataType> = fields.iter().map(|f| f.data_type()).collect();
                dictionary_value_types(&children, out);
            }
            _ => {}
        }
    }
}

/// Appends the largest plausible byte size of each buffer of an array of `data_type`, in the
/// order arrow-ipc reads them, consuming one field node per array. `None` in `roles` means
/// unbounded; a `None` return means the layout is not modelled here (stop).
fn buffer_roles(
    data_type: &DataType,
    nodes: &mut impl Iterator<Item = u64>,
    roles: &mut Vec<Option<u64>>,
) -> Option<()> {
    let len = nodes.next()?;
    let validity = Some(len.div_ceil(8));
    let times = |width: usize| Some(len.saturating_mul(width as u64));
    let offsets = |width: u64| Some(len.saturating_add(1).saturating_mul(width));
    match data_type {
        DataType::Null => {}
        DataType::Boolean => roles.extend([validity, validity]),
        DataType::Utf8 | DataType::Binary => {
            roles.extend([validity, offsets(4), Some(i32::MAX as u64)]);
        }
        DataType::LargeUtf8 | DataType::LargeBinary => roles.extend([validity, offsets(8), None]),
        DataType::FixedSizeBinary(width) => {
            roles.extend([validity, times(usize::try_from(*width).unwrap_or(0))]);
        }
        DataType::List(field) | DataType::Map(field, _) => {
            roles.extend([validity, offsets(4)]);
            buffer_roles(field.data_type(), nodes, roles)?;
        }
        DataType::LargeList(field) => {
            roles.extend([validity, offsets(8)]);
            buffer_roles(field.data_type(), nodes, roles)?;
        }
        DataType::FixedSizeList(field, _) => {
            roles.push(validity);
            buffer_roles(field.data_type(), nodes, roles)?;
        }
        DataType::Struct(fields) => {
            roles.push(validity);
            for field in fields {
                buffer_roles(field.data_type(), nodes, roles)?;
            }
        }
        DataType::Dictionary(key, _) => roles.extend([validity, times(key.primitive_width()?)]),
        other => roles.extend([validity, times(other.primitive_width()?)]),
    }
    Some(())
}
