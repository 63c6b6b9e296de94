//! # dts-avro
//!
//! The DTS Avro format of dts: each change becomes one Kafka message whose value is the Avro
//! binary of one `com.alibaba.dts.formats.avro.Record` (no header, no schema id), the format
//! Alibaba Cloud DTS writes and its consumers (Java `SpecificDatumReader<Record>`, Python
//! `fastavro`, Go `goavro`) read.
//!
//! - [`DtsAvroCodec`] ([`DtsAvroConfig`]): a [`dts_core::Codec`] with a hand-written encoder for
//!   this one schema. Its bytes are identical to `apache-avro` writing the same record with the
//!   schema; per-table parts are computed once per table version, and a record costs no heap
//!   allocation in steady state.
//! - [`DtsRecord`]: a reader of message values for consumers and tests, with typed errors
//!   ([`DecodeError`]: field and byte offset) and a JSON view ([`DtsRecord::to_json`]).
//! - [`RECORD_SCHEMA_JSON`] / [`record_schema`]: the schema, self-contained.
//! - [`key_text`] / [`write_key_text`]: the key text of a row, as the message key and the
//!   hash-of-primary-key partition policy use it.
//!
//! ## What goes into a record
//!
//! | field | value |
//! |---|---|
//! | `version` | `0` |
//! | `id` | [`ChangeEvent::id`](dts_core::ChangeEvent::id) (assigned by the pipeline, strictly increasing) |
//! | `sourceTimestamp`, `bornTimestamp` | `source_ts_ms / 1000`: seconds |
//! | `sourcePosition` | `"<offset>@<file sequence>"` of the event's binlog position (`mysql-bin.000078` offset 72469 → `72469@78`); `""` when unknown |
//! | `safeSourcePosition` | same form, of [`safe_position`](dts_core::ChangeEvent::safe_position) (where a restart replays the transaction from), else of the event's position |
//! | `sourceTxid` | `"0"` |
//! | `source` | `{MySQL, DtsAvroConfig::server_version}` |
//! | `operation` | INIT (snapshot rows), INSERT, UPDATE, DELETE, DDL; BEGIN, COMMIT, HEARTBEAT only when enabled |
//! | `objectName` | `db.table` for rows, `db` for DDL, null for markers; `.` inside a name → `\u002E` |
//! | `processTimestamps` | null |
//! | `tags` | rows: `pk_uk_info`, `metaVersion`, `readerThroughoutTime`, `server_id`, `thread_id`; DDL: `readerThroughoutTime`, `server_id`, `thread_id`, `GTID`, `commitTimestamp`; each as [`TagsConfig`] selects and when known |
//! | `fields` | rows: one `{name, dataTypeNumber}` per column; otherwise null |
//! | `beforeImages` / `afterImages` | INIT, INSERT: null / row; UPDATE: row / row; DELETE: row / null; DDL: null / the SQL text |
//!
//! Column values (image items), by column type; SQL NULL is always the null branch:
//!
//! | type | item |
//! |---|---|
//! | TINYINT … BIGINT | `Integer{precision: 1,2,3,4,8 (storage bytes), value: decimal text}` |
//! | BIT(M) | `Integer{precision: M, value: decimal text}` |
//! | DECIMAL(M,D) | `Decimal{value: exact text, precision: M, scale: D}` (M,D default 10,0) |
//! | FLOAT, DOUBLE | `Float{value, precision, scale}`, -1 when not declared; FLOAT widened exactly |
//! | DATE / TIME / DATETIME / YEAR | `DateTime` with year,month,day / hour,minute,second,millis / all 7 / year; `millis` holds **microseconds**; a negative TIME has every member negative |
//! | TIMESTAMP | `Timestamp{timestamp: UTC seconds, millis: microseconds}` |
//! | CHAR, VARCHAR / BINARY, VARBINARY | `Character{charset: column charset / "binary", value: raw bytes}` |
//! | BLOB family / TEXT family | `BinaryObject{type: "BLOB" / "TEXT", value}` |
//! | ENUM / SET / JSON | `TextObject{type: "ENUM" / "SET" / "JSON", value: label / labels joined by "," / JSON text}` |
//! | GEOMETRY (all spatial types) | `BinaryGeometry{type: "GEOMETRY", value: WKB}` (MySQL's SRID prefix stripped) |
//! | VECTOR | `BinaryObject{type: "BINARY", value: little-endian floats}` |
//!
//! ## Message key
//!
//! `<objectName>` for records without a row key, `<objectName>:<k1>,<k2>…` for rows of a table
//! with a primary key (or, failing that, a unique key), each key value in canonical text form
//! with `,` `:` `\` escaped by `\`; no key for BEGIN, COMMIT, HEARTBEAT. [`key_text`] lists the
//! canonical forms; the hash-of-primary-key partition policy hashes exactly [`key_text`] (the
//! key without the `objectName` prefix) with Java's `String.hashCode`.
//!
//! ## Decisions where the format description is silent
//!
//! - An unknown binlog position (none, or a file name without a numeric suffix) is written as
//!   `""` (the schema default of `safeSourcePosition`); `safeSourcePosition` falls back to the
//!   event's own position when the source gives no transaction start.
//! - `metaVersion` is [`TableSchema::version`](dts_core::TableSchema::version) with the top bit
//!   cleared, so it parses as a Java `long`.
//! - A zero `read_ts_ms` or `server_id` means unknown: the tag is left out. `commitTimestamp`
//!   is in seconds, like `sourceTimestamp`. `GTID` is also written on BEGIN/COMMIT markers.
//! - ENUM index 0 (MySQL's error value) is the empty label; DECIMAL without declared
//!   precision/scale is (10, 0), MySQL's default; BIT without length is BIT(1).
//! - A CHAR/VARCHAR/TEXT column without a charset is an error, never a guess.
//! - A `Value::String` is accepted for ENUM/SET (as the label text) and JSON columns, and
//!   `String`/`Bytes` interchangeably for character and binary columns (same raw bytes).
//! - The per-table cache keeps up to 4 definition versions per table (old and new versions
//!   interleave around a DDL); on an error nothing is appended to the caller's buffer.
//!
//! ## Guarantees
//!
//! - **Byte-exact.** The encoder's output equals `apache-avro`'s `to_avro_datum` of the same
//!   record with [`record_schema`] (arrays and maps in a single block), checked by property
//!   tests, and the three verified vectors of the format description are reproduced.
//! - **Never silently wrong.** A value that does not fit its column, an ENUM/SET value without
//!   label, or an image whose length differs from the column list is an [`Error`] naming the
//!   table and column; nothing is written to the buffer then.
//! - **Panic-free reading.** [`DtsRecord::decode`] checks every length against the remaining
//!   input before allocating and returns a [`DecodeError`] for any malformed input.
//!
//! ## Example
//!
//! ```
//! # use std::sync::Arc;
//! # use bytes::BytesMut;
//! # use dts_core::{ChangeEvent, Codec, ColumnDef, ColumnType, KeyDef, TableId, TableSchema, Value};
//! use dts_avro::{DtsAvroConfig, DtsRecord, FieldValue, Images};
//!
//! let mut id = ColumnDef::new("id", ColumnType::BigInt);
//! id.nullable = false;
//! let table = Arc::new(TableSchema::new(
//!     TableId::new("shop", "orders"),
//!     vec![id],
//!     Some(KeyDef { name: "PRIMARY".into(), columns: vec![0] }),
//!     vec![],
//! )?);
//! let mut codec = DtsAvroConfig::new("8.0.36").build();
//! let mut value = BytesMut::new();
//! codec.encode_value(&ChangeEvent::insert(table, vec![Value::Int(7)]), &mut value)?;
//!
//! let record = DtsRecord::decode(&value)?;
//! let Images::Values(after) = &record.after_images else { panic!() };
//! assert_eq!(after[0], FieldValue::Integer { precision: 8, value: "7".into() });
//! println!("{}", record.to_json());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod codec;
mod decode;
mod encode;
mod error;
mod key;
mod record;
mod schema;
mod wire;

pub use codec::{DtsAvroCodec, DtsAvroConfig, TagsConfig};
pub use error::{DecodeError, DecodeErrorKind, Error, Result};
pub use key::{key_text, write_key_text, write_row_key_text};
pub use record::{
    DateTime, DtsRecord, EmptyObject, Field, FieldValue, Fields, Images, Operation, Source,
    SourceType,
};
pub use schema::{RECORD_SCHEMA_JSON, record_schema};
