//! One module per fixed (or reported) bug, under tests/regression/. A test marked
//! `#[ignore = "bug: ..."]` reproduces a reported bug that is not fixed yet: fix the library,
//! then remove the `ignore`.

#[path = "regression/enospc_is_error_io.rs"]
mod enospc_is_error_io;
#[path = "regression/errors_in_lists_name_the_batch_row.rs"]
mod errors_in_lists_name_the_batch_row;
#[path = "regression/fixed_bytes_from_variable_binary.rs"]
mod fixed_bytes_from_variable_binary;
#[path = "regression/fixed_list_from_list.rs"]
mod fixed_list_from_list;
#[path = "regression/flatten_name_collision.rs"]
mod flatten_name_collision;
#[path = "regression/fuzz_decoder_panics.rs"]
mod fuzz_decoder_panics;
#[path = "regression/ipc_dictionary_replacement.rs"]
mod ipc_dictionary_replacement;
#[path = "regression/ipc_nested_field_names.rs"]
mod ipc_nested_field_names;
#[path = "regression/load_ipc_reads_like_from_record_batch.rs"]
mod load_ipc_reads_like_from_record_batch;
#[path = "regression/nullable_struct_children.rs"]
mod nullable_struct_children;
#[path = "regression/option_option_alias.rs"]
mod option_option_alias;
#[path = "regression/rename_all_serde_rules.rs"]
mod rename_all_serde_rules;
#[path = "regression/sort_by_ref_key.rs"]
mod sort_by_ref_key;
#[path = "regression/timestamp_range_edges.rs"]
mod timestamp_range_edges;
#[path = "regression/timestamp_seconds_in_parquet.rs"]
mod timestamp_seconds_in_parquet;
