//! Shared inputs of the dts benches.

use std::sync::Arc;

use bytes::Bytes;
use dts_core::{BinlogPosition, ChangeEvent, Position, TableSchema, Value};

/// `n` inserts into `table` (id, payload of `payload` bytes), each ending a transaction.
///
/// # Panics
/// If `n` exceeds `i64::MAX`.
#[must_use]
pub fn inserts(table: &Arc<TableSchema>, n: u64, payload: usize) -> Vec<ChangeEvent> {
    let bytes = Bytes::from(vec![b'x'; payload]);
    (0..n)
        .map(|i| {
            let row = vec![
                Value::Int(i64::try_from(i).expect("n fits i64")),
                Value::Bytes(bytes.clone()),
            ];
            ChangeEvent::insert(table.clone(), row)
                .at(BinlogPosition::new("mysql-bin.000001", i))
                .with_checkpoint(Position::binlog(BinlogPosition::new(
                    "mysql-bin.000001",
                    i + 1,
                )))
        })
        .collect()
}
