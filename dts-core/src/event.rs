//! [`ChangeEvent`]: one row change, DDL statement or transaction marker, with its position.

use std::fmt;
use std::sync::Arc;

use crate::position::{BinlogPosition, Position};
use crate::schema::{TableId, TableSchema};
use crate::value::Value;

/// The values of one row, in the table's column order.
pub type Row = Vec<Value>;

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
