//! Incremental migration: the binlog streamed as a replica, turned into change events.
//!
//! - Transactions: BEGIN (or a GTID event) opens one; XID / COMMIT closes it. A `Commit` event
//!   carries the checkpoint (the position after the transaction), so the pipeline never saves a
//!   position inside a transaction.
//! - Reconnects: on a network error, a timeout or a killed connection the stream reconnects with
//!   backoff from the end of the last transaction it finished, and skips the rows of the
//!   interrupted transaction it had already sent: nothing is lost, repeated or reordered.
//! - A purged binlog (server error 1236) stops the task with the file named.
//! - Every rows event is checked against its TABLE_MAP (column count and types); a mismatch
//!   stops the task naming the table and position instead of mislabelling columns.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use dts_core::{
    BinlogPosition, ChangeEvent, ColumnType, GtidSet, MariaDbGtidList, Operation, Phase, Position,
    SourceContext, TableId, TableSchema,
};

use crate::binlog::{
    ChecksumAlg, DecodedEvent, Event, EventDecoder, FLAG_ARTIFICIAL, RowPlan, RowsKind,
    TableMapEvent,
};
use crate::error::{Error, Result};
use crate::protocol::{BinlogStart, ConnectOptions, Connection, ReplicaOptions, StreamItem};

/// The part of a transaction seen so far.
#[derive(Debug, Default)]
struct Tx {
    start: Option<BinlogPosition>,
    gtid: Option<Arc<str>>,
    thread_id: Option<u32>,
    /// Row events sent for this transaction (to skip after a reconnect).
    rows_sent: u64,
}

/// Streams the binlog of the selected tables into `cx`.
pub(crate) struct Streamer<'a> {
    cx: &'a SourceContext,
    connect: ConnectOptions,
    server_id: u32,
    heartbeat: Duration,
    tables: HashMap<TableId, Arc<TableSchema>>,
    plans: HashMap<u64, (Arc<TableSchema>, Arc<RowPlan>)>,
    file: Arc<str>,
    /// End of the last finished transaction: where a reconnect resumes.
    resume: BinlogPosition,
    tx: Tx,
    skip_rows: u64,
    gtids: MariaDbGtidList,
    /// Per table, changes before this position are already in its snapshot.
    skip: HashMap<TableId, BinlogPosition>,
}

impl std::fmt::Debug for Streamer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streamer")
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

fn compatible(ty: ColumnType, real_type: u8) -> bool {
    use crate::binlog::events::table_map::types as t;
    use ColumnType as C;
    match ty {
        C::TinyInt => real_type == t::TINY,
        C::SmallInt => real_type == t::SHORT,
        C::MediumInt => real_type == t::INT24,
        C::Int => real_type == t::LONG,
        C::BigInt => real_type == t::LONGLONG,
        C::Decimal => real_type == t::NEWDECIMAL,
        C::Float => real_type == t::FLOAT,
        C::Double => real_type == t::DOUBLE,
        C::Bit => real_type == t::BIT,
        C::Year => real_type == t::YEAR,
        C::Date => matches!(real_type, t::DATE | t::NEWDATE),
        C::Time => matches!(real_type, t::TIME | t::TIME2),
        C::DateTime => matches!(real_type, t::DATETIME | t::DATETIME2),
        C::Timestamp => matches!(real_type, t::TIMESTAMP | t::TIMESTAMP2),
        C::Char | C::Binary => real_type == t::STRING,
        C::VarChar | C::VarBinary => matches!(real_type, t::VARCHAR | t::VAR_STRING),
        C::TinyText
        | C::Text
        | C::MediumText
        | C::LongText
        | C::TinyBlob
        | C::Blob
        | C::MediumBlob
        | C::LongBlob => {
            matches!(
                real_type,
                t::BLOB | t::TINY_BLOB | t::MEDIUM_BLOB | t::LONG_BLOB
            )
        }
        C::Enum => real_type == t::ENUM,
        C::Set => real_type == t::SET,
        C::Json => matches!(real_type, t::JSON | t::BLOB),
        C::Geometry => real_type == t::GEOMETRY,
        C::Vector => real_type == t::VECTOR,
        _ => false,
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl<'a> Streamer<'a> {
    pub(crate) fn new(
        cx: &'a SourceContext,
        connect: ConnectOptions,
        server_id: u32,
        heartbeat: Duration,
        tables: impl IntoIterator<Item = Arc<TableSchema>>,
        start: BinlogPosition,
    ) -> Self {
        Self {
            cx,
            connect,
            server_id,
            heartbeat,
            tables: tables.into_iter().map(|t| (t.id().clone(), t)).collect(),
            plans: HashMap::new(),
            file: start.file.clone(),
            resume: start,
            tx: Tx::default(),
            skip_rows: 0,
            gtids: MariaDbGtidList::new(),
            skip: HashMap::new(),
        }
    }

    /// Skips each table's changes before its position (already in its snapshot).
    pub(crate) fn skipping(mut self, skip: HashMap<TableId, BinlogPosition>) -> Self {
        self.skip = skip;
        self
    }

    /// Streams until shutdown (Ok) or a non-retriable error.
    pub(crate) async fn run(mut self) -> Result<()> {
        self.cx.progress().set_phase(Phase::Incremental);
        let mut backoff = Duration::from_millis(200);
        loop {
            let result = self.connect_and_stream().await;
            match result {
                Ok(()) => return Ok(()),
                Err(e) if e.is_retriable() && !self.cx.is_shutdown() => {
                    tracing::warn!(error = %e, resume = %self.resume, "replication connection lost; reconnecting");
                    // Rows of the interrupted transaction that were sent are skipped on replay.
                    self.skip_rows = self.tx.rows_sent;
                    self.tx = Tx::default();
                    tokio::select! {
                        () = self.cx.shutdown().cancelled() => return Ok(()),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
                Err(Error::Server {
                    code: 1236,
                    message,
                    ..
                }) => {
                    return Err(Error::Config(format!(
                        "cannot resume the binlog at {}: the server says {message:?}; the file was purged or is missing — \
                         restart the task with a full migration and keep binlogs longer",
                        self.resume
                    )));
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn connect_and_stream(&mut self) -> Result<()> {
        let mut conn = Connection::connect(&self.connect).await?;
        let alg = conn
            .query("SELECT @@global.binlog_checksum AS c")
            .await?
            .first("c")
            .unwrap_or_default();
        let mut decoder = EventDecoder::default();
        decoder.assume_checksum(if alg.eq_ignore_ascii_case("CRC32") {
            ChecksumAlg::Crc32
        } else {
            ChecksumAlg::Off
        });
        conn.start_replication(&ReplicaOptions {
            server_id: self.server_id,
            start: BinlogStart::Position {
                file: self.resume.file.to_string(),
                offset: self.resume.offset,
            },
            heartbeat: self.heartbeat,
            non_blocking: false,
        })
        .await?;
        self.plans.clear();
        loop {
            let item = tokio::select! {
                biased;
                () = self.cx.shutdown().cancelled() => {
                    drop(conn);
                    return Ok(());
                }
                item = conn.next_event() => item?,
            };
            let StreamItem::Event(raw) = item else {
                return Ok(());
            };
            let ev = decoder.decode(&raw).map_err(|source| Error::Decode {
                position: format!("{}:{}", self.file, self.resume.offset),
                source,
            })?;
            if !self.handle(&ev).await? {
                return Ok(());
            }
        }
    }

    /// Handles one event; `false` when the pipeline closed.
    async fn handle(&mut self, ev: &DecodedEvent) -> Result<bool> {
        let h = &ev.header;
        let end = u64::from(h.log_pos);
        let start_offset = end.saturating_sub(u64::from(h.event_size));
        let here = BinlogPosition::new(self.file.clone(), start_offset);
        match &ev.event {
            Event::Rotate {
                next_file,
                position,
            } => {
                self.file = Arc::from(String::from_utf8_lossy(next_file).as_ref());
                if h.flags & FLAG_ARTIFICIAL == 0 || h.log_pos == 0 {
                    // A real rotation (or the first, artificial one): continue in the new file.
                    if self.tx.start.is_none() {
                        self.resume = BinlogPosition::new(self.file.clone(), *position);
                    }
                }
            }
            Event::MariaGtid(g) => {
                self.gtids.update(g.gtid);
                self.tx.start.get_or_insert(here);
                self.tx.gtid = Some(g.gtid.to_string().into());
            }
            Event::Gtid(g) => {
                self.tx.start.get_or_insert(here);
                self.tx.gtid = Some(g.gtid_text().into());
            }
            Event::Query(q) => {
                let sql = String::from_utf8_lossy(&q.query);
                let trimmed = sql.trim();
                if trimmed.eq_ignore_ascii_case("BEGIN") {
                    self.tx.start.get_or_insert(here);
                    self.tx.thread_id = Some(q.thread_id);
                } else if trimmed.eq_ignore_ascii_case("COMMIT") {
                    return self.commit(end, h.timestamp).await;
                } else {
                    let db = String::from_utf8_lossy(&q.schema);
                    if let Some(t) = self.ddl_target(&db, trimmed) {
                        return Err(Error::Config(format!(
                            "DDL on selected table {t} at {}:{start_offset} ({trimmed:.120}): schema tracking through DDL is not \
                             available yet; restart the task after the change",
                            self.file
                        )));
                    }
                    // Another statement (DDL on other objects, or a statement-logged one): a
                    // transaction of its own.
                    return self.commit(end, h.timestamp).await;
                }
            }
            Event::TableMap(map) => self.map_table(map, &here)?,
            Event::Rows(rows) => {
                let Some((table, plan)) = self.plans.get(&rows.table_id).cloned() else {
                    return Ok(true);
                };
                if let Some(until) = self.skip.get(table.id()) {
                    match here.cmp_in_stream(until) {
                        Some(std::cmp::Ordering::Less) => return Ok(true),
                        Some(_) => {
                            self.skip.remove(table.id());
                        }
                        None => {}
                    }
                }
                if !rows.is_full_image() {
                    return Err(Error::Config(format!(
                        "{}: rows event at {here} does not hold full row images (binlog_row_image must be FULL)",
                        table.id()
                    )));
                }
                for change in rows.rows(&plan) {
                    let change = change.map_err(|source| Error::Decode {
                        position: here.to_string(),
                        source,
                    })?;
                    if self.skip_rows > 0 {
                        self.skip_rows -= 1;
                        self.tx.rows_sent += 1;
                        continue;
                    }
                    let op = match rows.kind {
                        RowsKind::Write => Operation::Insert,
                        RowsKind::Delete => Operation::Delete,
                        RowsKind::Update | RowsKind::PartialUpdate => Operation::Update,
                    };
                    let mut out = match op {
                        Operation::Insert => {
                            ChangeEvent::insert(table.clone(), change.after.unwrap_or_default())
                        }
                        Operation::Delete => {
                            ChangeEvent::delete(table.clone(), change.before.unwrap_or_default())
                        }
                        _ => ChangeEvent::update(
                            table.clone(),
                            change.before.unwrap_or_default(),
                            change.after.unwrap_or_default(),
                        ),
                    }
                    .at(here.clone())
                    .with_source_ts_ms(u64::from(h.timestamp) * 1000);
                    out.safe_position = self.tx.start.clone();
                    out.gtid = self.tx.gtid.clone();
                    out.server_id = h.server_id;
                    out.thread_id = self.tx.thread_id;
                    out.read_ts_ms = now_ms();
                    if self.cx.send(out).await.is_err() {
                        return Ok(false);
                    }
                    self.tx.rows_sent += 1;
                }
            }
            Event::Xid { .. } => return self.commit(end, h.timestamp).await,
            // Idle: nothing pending, so the heartbeat's position is a safe resume point too.
            Event::Heartbeat { .. } if self.tx.start.is_none() => {
                let mut hb = ChangeEvent::new(Operation::Heartbeat).with_source_ts_ms(now_ms());
                if end > 0 {
                    let pos = BinlogPosition::new(self.file.clone(), end);
                    self.resume = pos.clone();
                    hb = hb.with_checkpoint(self.position(pos));
                }
                if self.cx.send(hb).await.is_err() {
                    return Ok(false);
                }
            }
            _ => {}
        }
        Ok(true)
    }

    fn position(&self, binlog: BinlogPosition) -> Position {
        let gtid =
            (self.gtids.iter().next().is_some()).then(|| GtidSet::MariaDb(self.gtids.clone()));
        Position::Binlog { binlog, gtid }
    }

    async fn commit(&mut self, end: u64, timestamp: u32) -> Result<bool> {
        let pos = BinlogPosition::new(self.file.clone(), end);
        let mut ev = ChangeEvent::new(Operation::Commit)
            .at(pos.clone())
            .with_source_ts_ms(u64::from(timestamp) * 1000);
        ev.gtid = self.tx.gtid.clone();
        ev.safe_position = self.tx.start.clone();
        let ev = ev.with_checkpoint(self.position(pos.clone()));
        self.resume = pos;
        self.tx = Tx::default();
        self.skip_rows = 0;
        Ok(self.cx.send(ev).await.is_ok())
    }

    fn map_table(&mut self, map: &Arc<TableMapEvent>, here: &BinlogPosition) -> Result<()> {
        let id = TableId::new(
            String::from_utf8_lossy(&map.schema).as_ref(),
            String::from_utf8_lossy(&map.table).as_ref(),
        );
        let Some(schema) = self.tables.get(&id).cloned() else {
            self.plans.remove(&map.table_id);
            return Ok(());
        };
        if map.columns.len() != schema.columns().len() {
            return Err(Error::Config(format!(
                "{id} at {here}: the binlog has {} columns, the tracked definition {} — refusing to mislabel columns",
                map.columns.len(),
                schema.columns().len()
            )));
        }
        for (i, (col, def)) in map.columns.iter().zip(schema.columns()).enumerate() {
            if !compatible(def.ty, col.real_type) {
                return Err(Error::Config(format!(
                    "{id} at {here}: column #{i} `{}` is {:?} in the tracked definition but type {} in the binlog",
                    def.name, def.ty, col.real_type
                )));
            }
        }
        let plan = RowPlan::new(map)
            .with_unsigned(schema.columns().iter().map(|c| c.unsigned))
            .with_binary(
                schema
                    .columns()
                    .iter()
                    .map(|c| c.charset.is_none() && !c.ty.is_text()),
            );
        self.plans.insert(map.table_id, (schema, Arc::new(plan)));
        Ok(())
    }

    /// The selected table a DDL statement names, if any (a conservative textual check).
    fn ddl_target(&self, default_db: &str, sql: &str) -> Option<TableId> {
        let upper = sql.to_ascii_uppercase();
        let ddl = [
            "ALTER TABLE",
            "CREATE TABLE",
            "DROP TABLE",
            "RENAME TABLE",
            "TRUNCATE",
            "CREATE INDEX",
            "DROP INDEX",
            "ALTER ONLINE TABLE",
            "ALTER IGNORE TABLE",
        ];
        if !ddl
            .iter()
            .any(|k| upper.trim_start().starts_with(k) || upper.contains(&format!(" {k} ")))
        {
            return None;
        }
        let names: HashSet<String> = sql
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '.' || c == '`'))
            .map(|w| w.replace('`', ""))
            .collect();
        self.tables
            .keys()
            .find(|t| {
                names.contains(&t.to_string())
                    || (t.db() == default_db && names.contains(t.table()))
            })
            .cloned()
    }
}
