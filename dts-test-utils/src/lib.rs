//! Test support for dts: in-memory [`VecSource`], sinks with controllable acknowledgements
//! ([`CollectSink`], [`ManualSink`], [`SlowSink`]), a simple [`TestCodec`], and helpers to find
//! the servers started by `scripts/`.

#![forbid(unsafe_code)]
pub mod kafka;
mod servers;
mod sinks;
mod source;

use std::sync::Arc;

use dts_core::{ColumnDef, ColumnType, KeyDef, TableId, TableSchema};

pub use servers::{
    binlog_fixtures_dir, kafka_bootstrap, kafka_secure, mariadb_admin_url, mariadb_stmt_url,
    mariadb_url,
};
pub use sinks::{
    BoardSink, CollectSink, ManualSink, ManualSinkHandle, SlowSink, SlowSinkStats, TestSinkError,
};
pub use source::{TestCodec, VecSource};

/// A table `db.t (id BIGINT PRIMARY KEY, payload BLOB)`.
///
/// # Panics
/// Never (the definition is valid).
#[must_use]
pub fn test_table() -> Arc<TableSchema> {
    let mut id = ColumnDef::new("id", ColumnType::BigInt);
    id.nullable = false;
    let payload = ColumnDef::new("payload", ColumnType::Blob);
    Arc::new(
        TableSchema::new(
            TableId::new("db", "t"),
            vec![id, payload],
            Some(KeyDef {
                name: "PRIMARY".into(),
                columns: vec![0],
            }),
            vec![],
        )
        .expect("valid test table"),
    )
}
