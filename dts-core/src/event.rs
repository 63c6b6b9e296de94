//! [`ChangeEvent`]: one row change, DDL statement or transaction marker, with its position.

use std::fmt;
use std::sync::Arc;

use crate::position::{BinlogPosition, Position};
use crate::schema::{TableId, TableSchema};
use crate::value::Value;

/// The values of one row, in the table's column order.
pub type Row = Vec<Value>;

/// Most rows a thread keeps for reuse ([`recycle_row`]).
const ROW_POOL_ROWS: usize = 512;
/// Rows with room for more values are not kept (a pool of wide rows would hold megabytes).
const ROW_POOL_MAX_COLUMNS: usize = 64;

thread_local! {
    static ROW_POOL: std::cell::RefCell<Vec<Row>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty row with room for `columns` values: one given back by [`recycle_row`] on this
/// thread when there is one, else a new allocation.
///
/// Sources build two rows per UPDATE and the pipeline drops them a few hundred at a time, after
/// encoding; glibc's allocator keeps only 7 free chunks per size in its fast per-thread cache,
/// so each such row cost a slow `malloc` and `free` (~400 instructions together). Reuse is
/// only an optimisation: any row may be dropped instead of recycled.
#[must_use]
pub fn row_with_capacity(columns: usize) -> Row {
    if columns > ROW_POOL_MAX_COLUMNS {
        return Vec::with_capacity(columns);
    }
    ROW_POOL
        .try_with(|pool| {
            let mut pool = pool.try_borrow_mut().ok()?;
            let mut row = pool.pop()?;
            row.reserve_exact(columns);
            Some(row)
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| Vec::with_capacity(columns))
}

/// Drops the values of `row` and keeps its allocation for [`row_with_capacity`] on this thread
/// (up to 512 rows of at most 64 columns; others are freed).
pub fn recycle_row(mut row: Row) {
    if row.capacity() == 0 || row.capacity() > ROW_POOL_MAX_COLUMNS {
        return;
    }
    row.clear();
    // `try_with`: during thread exit the pool may be gone; the row is then simply freed.
    let _kept = ROW_POOL.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut()
            && pool.len() < ROW_POOL_ROWS
        {
            pool.push(row);
        }
    });
}

/// What a [`ChangeEvent`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// A row read by the snapshot (full data migration).
    Init,
    /// A row inserted (binlog).
    Insert,
    /// A row updated (binlog): before and after images.
    Update,
    /// A row deleted (binlog).
    Delete,
    /// A DDL statement, or a table definition sent by schema migration.
    Ddl,
    /// A transaction began.
    Begin,
    /// A transaction committed.
    Commit,
    /// Nothing changed, but the source is alive at this position (also used to carry
    /// checkpoints that no record carries, such as a finished snapshot chunk).
    Heartbeat,
}

impl Operation {
    /// `true` for operations on rows (Init, Insert, Update, Delete).
    #[must_use]
    pub fn is_row(self) -> bool {
        matches!(
            self,
            Operation::Init | Operation::Insert | Operation::Update | Operation::Delete
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Init => "INIT",
            Operation::Insert => "INSERT",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Ddl => "DDL",
            Operation::Begin => "BEGIN",
            Operation::Commit => "COMMIT",
            Operation::Heartbeat => "HEARTBEAT",
        })
    }
}

/// A DDL statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ddl {
    /// The default database the statement ran in (`USE db`), if any.
    pub db: Option<Arc<str>>,
    /// The table it changes, when it changes exactly one.
    pub table: Option<TableId>,
    /// The SQL text.
    pub sql: String,
}

/// One change read from the source.
///
/// Plain data that flows from the source through the codec to the sink. The pipeline sets
/// [`id`](Self::id); sources leave it 0.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ChangeEvent {
    /// What happened.
    pub op: Operation,
    /// The table of a row event, as defined at this position; also set for DDL on one table.
    pub table: Option<Arc<TableSchema>>,
    /// The old row (Update, Delete).
    pub before: Option<Row>,
    /// The new row (Init, Insert, Update).
    pub after: Option<Row>,
    /// The statement of a Ddl event.
    pub ddl: Option<Box<Ddl>>,
    /// Where the event is in the binlog (for snapshot rows: the snapshot's binlog start).
    pub position: Option<BinlogPosition>,
    /// Where a restart replays this event's transaction from (its BEGIN/GTID event).
    pub safe_position: Option<BinlogPosition>,
    /// The GTID of the event's transaction, as text, when GTIDs are on.
    pub gtid: Option<Arc<str>>,
    /// When set: once this event and every event before it are acknowledged by the sink, the
    /// source can resume from this position without losing anything.
    pub checkpoint: Option<Arc<Position>>,
    /// Source time of the event, milliseconds since the epoch (binlog timestamps are seconds;
    /// snapshot rows: the time they were read).
    pub source_ts_ms: u64,
    /// When the source read the event, milliseconds since the epoch.
    pub read_ts_ms: u64,
    /// The server id that wrote the event.
    pub server_id: u32,
    /// The thread (connection) id that wrote the event, when known.
    pub thread_id: Option<u32>,
    /// Record id, strictly increasing in output order; assigned by the pipeline.
    pub id: u64,
}

impl ChangeEvent {
    /// An event of `op` with every other field empty.
    #[must_use]
    pub fn new(op: Operation) -> Self {
        Self {
            op,
            table: None,
            before: None,
            after: None,
            ddl: None,
            position: None,
            safe_position: None,
            gtid: None,
            checkpoint: None,
            source_ts_ms: 0,
            read_ts_ms: 0,
            server_id: 0,
            thread_id: None,
            id: 0,
        }
    }

    /// A snapshot row.
    #[must_use]
    pub fn init(table: Arc<TableSchema>, row: Row) -> Self {
        Self {
            table: Some(table),
            after: Some(row),
            ..Self::new(Operation::Init)
        }
    }

    /// An inserted row.
    #[must_use]
    pub fn insert(table: Arc<TableSchema>, row: Row) -> Self {
        Self {
            table: Some(table),
            after: Some(row),
            ..Self::new(Operation::Insert)
        }
    }

    /// An updated row.
    #[must_use]
    pub fn update(table: Arc<TableSchema>, before: Row, after: Row) -> Self {
        Self {
            table: Some(table),
            before: Some(before),
            after: Some(after),
            ..Self::new(Operation::Update)
        }
    }

    /// A deleted row.
    #[must_use]
    pub fn delete(table: Arc<TableSchema>, row: Row) -> Self {
        Self {
            table: Some(table),
            before: Some(row),
            ..Self::new(Operation::Delete)
        }
    }

    /// A DDL statement.
    #[must_use]
    pub fn ddl(ddl: Ddl) -> Self {
        Self {
            ddl: Some(Box::new(ddl)),
            ..Self::new(Operation::Ddl)
        }
    }

    /// A heartbeat that carries `checkpoint`.
    #[must_use]
    pub fn checkpoint_marker(checkpoint: Position) -> Self {
        Self {
            checkpoint: Some(Arc::new(checkpoint)),
            ..Self::new(Operation::Heartbeat)
        }
    }

    /// Sets the resume point reached once this event is acknowledged.
    #[must_use]
    pub fn with_checkpoint(mut self, checkpoint: Position) -> Self {
        self.checkpoint = Some(Arc::new(checkpoint));
        self
    }

    /// Sets the binlog position.
    #[must_use]
    pub fn at(mut self, position: BinlogPosition) -> Self {
        self.position = Some(position);
        self
    }

    /// Sets the source time (ms since the epoch).
    #[must_use]
    pub fn with_source_ts_ms(mut self, ms: u64) -> Self {
        self.source_ts_ms = ms;
        self
    }

    /// The table id, from the schema or the DDL.
    #[must_use]
    pub fn table_id(&self) -> Option<&TableId> {
        self.table
            .as_deref()
            .map(TableSchema::id)
            .or_else(|| self.ddl.as_ref()?.table.as_ref())
    }

    /// Approximate payload size (for throttles and memory accounting).
    #[must_use]
    pub fn payload_len(&self) -> usize {
        let row = |r: &Option<Row>| r.iter().flatten().map(Value::payload_len).sum::<usize>();
        row(&self.before) + row(&self.after) + self.ddl.as_ref().map_or(0, |d| d.sql.len())
    }

    /// A short description for errors and logs: operation, table and position (no values).
    #[must_use]
    pub fn describe(&self) -> String {
        let mut s = self.op.to_string();
        if let Some(t) = self.table_id() {
            s.push_str(&format!(" on {t}"));
        }
        if let Some(p) = &self.position {
            s.push_str(&format!(" at {p}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn recycled_rows_are_reused_empty_and_their_values_dropped() {
        // A fresh thread: its own, empty pool.
        std::thread::spawn(|| {
            let text = Bytes::from(vec![b'x'; 100]);
            let mut row = row_with_capacity(4);
            row.extend([Value::Int(1), Value::String(text.clone())]);
            let ptr = row.as_ptr();
            recycle_row(row);
            // The value was dropped at once: the text's only owner is `text` again.
            assert!(text.is_unique());
            let again = row_with_capacity(3);
            assert!(again.is_empty());
            assert_eq!(again.as_ptr(), ptr, "the allocation was not reused");
            // Empty pool: a new allocation with the room asked for.
            assert!(row_with_capacity(10).capacity() >= 10);
            // Wide rows are not kept.
            assert_eq!(ROW_POOL.with(|p| p.borrow().len()), 0);
            recycle_row(row_with_capacity(ROW_POOL_MAX_COLUMNS + 1));
            assert_eq!(
                ROW_POOL.with(|p| p.borrow().len()),
                0,
                "a wide row was kept"
            );
            // A wide row is not taken from the pool (it could not go back).
            recycle_row(Vec::with_capacity(2));
            drop(row_with_capacity(ROW_POOL_MAX_COLUMNS + 1));
            assert_eq!(ROW_POOL.with(|p| p.borrow().len()), 1);
            // At most ROW_POOL_ROWS rows are kept.
            for _ in 0..ROW_POOL_ROWS + 10 {
                recycle_row(Vec::with_capacity(2));
            }
            assert_eq!(ROW_POOL.with(|p| p.borrow().len()), ROW_POOL_ROWS);
        })
        .join()
        .unwrap();
    }
}
