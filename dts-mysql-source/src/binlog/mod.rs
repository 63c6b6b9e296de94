//! The hand-written binlog parser.
//!
//! - [`Reader`]: the one checked cursor (every read is `try_*`, strings are zero-copy [`Bytes`]
//!   views, lengths are checked against the input before anything is allocated).
//! - [`EventHeader`] / [`EventType`]: the v4 common header.
//! - [`EventDecoder`]: decodes complete events in order, keeping the format description
//!   (checksums: CRC32 verified when the FDE says so) and the table maps.
//! - [`BinlogFile`] reads files (`\xfebin` + events); [`Framer`] splits a byte stream into
//!   events and reports [`Frame::Partial`] (not an error) when more input is needed.
//! - Rows: [`RowsEvent::rows`] decodes row images into [`dts_core::Value`]s with a [`RowPlan`]
//!   (signedness and text/binary from the table map's optional metadata or from the schema).
//!
//! Errors are [`DecodeError`]: `Copy`, no allocation, naming the event type, the field and the
//! byte offset. No input makes this module panic, allocate without bound or loop forever; the
//! lints below keep indexing, `unwrap` and unchecked arithmetic out of it.
//!
//! References: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_replication.html>,
//! <https://mariadb.com/kb/en/replication-protocol/>.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

pub mod decimal;
mod error;
mod event;
pub mod events;
mod file;
mod header;
pub mod json;
mod json_diff;
mod reader;
pub mod time;

pub use bytes::Bytes;
pub use error::{DecodeError, DecodeErrorKind, DecodeResult};
pub use event::{DecodeOptions, DecodedEvent, Event, EventDecoder};
pub use events::format_description::{ChecksumAlg, FormatDescriptionEvent};
pub use events::gtid::{GtidEvent, MariaGtidEvent, PreviousGtidsEvent, uuid_text};
pub use events::query::{QueryEvent, QueryStatus};
pub use events::rows::{RowChange, RowPlan, RowsEvent, RowsIter, RowsKind};
pub use events::table_map::{ColumnKind, ColumnMeta, OptionalMetadata, TableMapEvent};
pub use events::transaction_payload::{PayloadCompression, TransactionPayloadEvent};
pub use file::{BinlogFile, Frame, Framer, MAGIC, open};
pub use header::{EventHeader, EventType, FLAG_ARTIFICIAL, HEADER_LEN};
pub use reader::Reader;
