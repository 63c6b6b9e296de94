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

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dts_core::{
    BinlogPosition, ChangeEvent, ChunkPositions, Ddl, GtidSet, MariaDbGtidList, MySqlGtidSet,
    Operation, Phase, Position, SourceContext, TableId, TableSchema, Value,
};

use crate::binlog::{
    ChecksumAlg, DecodedEvent, Event, EventDecoder, FLAG_ARTIFICIAL, RowPlan, RowsKind,
    TableMapEvent,
};
use crate::error::{Error, Result};
use crate::protocol::{BinlogStart, ConnectOptions, Connection, ReplicaOptions, StreamItem};
use crate::schema::{Dialect, Flavor, SchemaHistory, TableChange};

/// Row events buffered before they are handed to the pipeline together.
const ROW_BURST: usize = 256;

/// The part of a transaction seen so far.
#[derive(Debug, Default)]
struct Tx {
    start: Option<BinlogPosition>,
    gtid: Option<Arc<str>>,
    /// This transaction's GTID, added to the GTID state when it commits (so the state is always
    /// that of the last finished transaction: checkpoints and GTID reconnects use it as is).
    pending_gtid: Option<PendingGtid>,
    thread_id: Option<u32>,
    /// Row events sent for this transaction (to skip after a reconnect).
    rows_sent: u64,
}

#[derive(Debug)]
enum PendingGtid {
    MariaDb(dts_core::MariaDbGtid),
    /// Source id (`uuid` or `uuid:tag`) and transaction number.
    MySql(String, u64),
}

/// Streams the binlog of the selected tables into `cx`.
pub(crate) struct Streamer<'a> {
    cx: &'a SourceContext,
    connect: ConnectOptions,
    server_id: u32,
    heartbeat: Duration,
    /// The selection: `db.table` or `db.*`.
    patterns: Vec<String>,
    /// Every selected table's definition at every position seen.
    history: SchemaHistory,
    flavor: Flavor,
    plans: HashMap<u64, (Arc<TableSchema>, Arc<RowPlan>)>,
    file: Arc<str>,
    /// End of the last finished transaction: where a reconnect resumes.
    resume: BinlogPosition,
    tx: Tx,
    skip_rows: u64,
    gtids: MariaDbGtidList,
    /// The MySQL GTID set after the last finished transaction (GTID mode on).
    mysql_gtids: MySqlGtidSet,
    /// Start (and reconnect) by GTID instead of file and offset.
    by_gtid: bool,
    /// Per table, changes before this position are already in its snapshot.
    skip: HashMap<TableId, BinlogPosition>,
    /// Per table read in chunks of known snapshot position: each key's changes before its
    /// chunk's position are already in the snapshot.
    chunk_skip: HashMap<TableId, ChunkSkip>,
    /// `chunk_skip` as checkpoints carry it (rebuilt when an entry is dropped).
    chunk_skip_saved: Option<Arc<Vec<ChunkPositions>>>,
    /// Row events not yet handed to the pipeline: sent in bursts (at 256, and before anything
    /// else is sent, e.g. the transaction's commit), so the consumer wakes once per burst.
    out: Vec<ChangeEvent>,
    /// The selected tables' definitions, saved with every checkpoint.
    definitions: Arc<Vec<TableSchema>>,
}

impl std::fmt::Debug for Streamer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streamer")
            .field("resume", &self.resume)
            .finish_non_exhaustive()
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
        patterns: Vec<String>,
        tables: impl IntoIterator<Item = Arc<TableSchema>>,
        start: BinlogPosition,
    ) -> Self {
        Self {
            cx,
            connect,
            server_id,
            heartbeat,
            patterns,
            history: {
                let mut h = SchemaHistory::new();
                for t in tables {
                    h.insert(start.clone(), (*t).clone());
                }
                h
            },
            flavor: Flavor::MariaDb,
            plans: HashMap::new(),
            file: start.file.clone(),
            resume: start,
            tx: Tx::default(),
            skip_rows: 0,
            gtids: MariaDbGtidList::new(),
            mysql_gtids: MySqlGtidSet::new(),
            by_gtid: false,
            skip: HashMap::new(),
            chunk_skip: HashMap::new(),
            chunk_skip_saved: None,
            out: Vec::with_capacity(ROW_BURST),
            definitions: Arc::new(Vec::new()),
        }
    }

    /// Tells the schema history the default character sets (columns added later without one
    /// inherit them).
    pub(crate) fn with_charsets(
        mut self,
        charsets: &crate::catalog::Charsets,
        at: &BinlogPosition,
    ) -> Self {
        if let Some((cs, co)) = &charsets.server {
            self.history.set_server_charset(cs, Some(co));
        }
        for (db, (cs, co)) in &charsets.databases {
            self.history.set_database_charset(db, cs, Some(co));
        }
        let current: Vec<Arc<TableSchema>> = self.history.tables().cloned().collect();
        for t in current {
            if let Some((cs, co)) = charsets.tables.get(t.id()) {
                self.history
                    .insert_with_charset(at.clone(), (*t).clone(), cs, Some(co));
            }
        }
        self
    }

    /// The GTID state at the start position (MariaDB), carried by every checkpoint from then on;
    /// with `by_gtid`, the dump starts (and reconnects) from the GTID state instead of the file
    /// and offset — what a task needs after a failover to a server with other file names.
    pub(crate) fn with_gtid(mut self, gtid: Option<&GtidSet>, by_gtid: bool) -> Self {
        match gtid {
            Some(GtidSet::MariaDb(list)) => {
                self.gtids = list.clone();
            }
            Some(GtidSet::MySql(set)) => {
                self.mysql_gtids = set.clone();
            }
            _ => {}
        }
        self.by_gtid = by_gtid;
        self
    }

    /// Skips, per key, the changes before the snapshot of the key's chunk (tables whose chunks
    /// were read in consistent snapshots of known position, with integer keys).
    pub(crate) fn skipping_chunks(
        mut self,
        chunks: impl IntoIterator<Item = ChunkPositions>,
    ) -> Self {
        for c in chunks {
            if let Some(skip) = ChunkSkip::new(c) {
                self.chunk_skip.insert(skip.positions.table.clone(), skip);
            }
        }
        self.save_chunk_skip();
        self
    }

    fn save_chunk_skip(&mut self) {
        let mut all: Vec<ChunkPositions> = self
            .chunk_skip
            .values()
            .map(|c| c.positions.clone())
            .collect();
        all.sort_by(|a, b| a.table.cmp(&b.table));
        self.chunk_skip_saved = (!all.is_empty()).then(|| Arc::new(all));
    }

    /// Skips each table's changes before its position (already in its snapshot).
    pub(crate) fn skipping(mut self, skip: HashMap<TableId, BinlogPosition>) -> Self {
        self.skip = skip;
        self
    }

    /// Streams until shutdown (Ok) or a non-retriable error.
    pub(crate) async fn run(mut self) -> Result<()> {
        self.cx.progress().set_phase(Phase::Incremental);
        self.refresh_definitions();
        const FIRST_BACKOFF: Duration = Duration::from_millis(200);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let started = std::time::Instant::now();
            let result = self.connect_and_stream().await;
            // A connection that streamed for a while was healthy: start backing off afresh.
            if started.elapsed() > Duration::from_secs(10) {
                backoff = FIRST_BACKOFF;
            }
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
        self.flavor = if conn.server().is_mariadb() {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        };
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
        let start = if !self.by_gtid {
            BinlogStart::Position {
                file: self.resume.file.to_string(),
                offset: self.resume.offset,
            }
        } else if self.flavor == Flavor::MySql && !self.mysql_gtids.is_empty() {
            BinlogStart::MySqlGtid(self.mysql_gtids.clone())
        } else if self.flavor == Flavor::MariaDb && self.gtids.iter().next().is_some() {
            BinlogStart::MariaDbGtid(self.gtids.to_string())
        } else {
            return Err(Error::Config(format!(
                "resume = \"gtid\" but no GTID state is known for {} (GTID mode off, or the \
                 checkpoint has none); resume by position",
                self.resume
            )));
        };
        conn.start_replication(&ReplicaOptions {
            server_id: self.server_id,
            start,
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
                self.tx.pending_gtid = Some(PendingGtid::MariaDb(g.gtid));
                self.tx.start.get_or_insert(here);
                self.tx.gtid = Some(g.gtid.to_string().into());
            }
            Event::Gtid(g) => {
                self.tx.start.get_or_insert(here);
                let text = g.gtid_text();
                if !g.anonymous
                    && let Some((sid, _)) = text.rsplit_once(':')
                    && let Ok(gno) = u64::try_from(g.gno)
                {
                    self.tx.pending_gtid = Some(PendingGtid::MySql(sid.to_owned(), gno));
                }
                self.tx.gtid = Some(text.into());
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
                    let db = String::from_utf8_lossy(&q.schema).into_owned();
                    if q.error_code == 0
                        && !self
                            .track_ddl(&db, trimmed, q.status.sql_mode, &here, h.timestamp)
                            .await?
                    {
                        return Ok(false);
                    }
                    // DDL (or a statement-logged statement) commits on its own.
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
                let read_ts_ms = now_ms();
                if !self.chunk_skip.is_empty()
                    && self
                        .chunk_skip
                        .get(table.id())
                        .is_some_and(|c| c.passed(&here))
                {
                    self.chunk_skip.remove(table.id());
                    self.save_chunk_skip();
                }
                let chunks = if self.chunk_skip.is_empty() {
                    None
                } else {
                    self.chunk_skip
                        .get(table.id())
                        .and_then(|c| Some((c, crate::snapshot::chunk_key(&table)?)))
                };
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
                    let mut op = match rows.kind {
                        RowsKind::Write => Operation::Insert,
                        RowsKind::Delete => Operation::Delete,
                        RowsKind::Update | RowsKind::PartialUpdate => Operation::Update,
                    };
                    if let Some((chunks, key)) = &chunks {
                        // Which images the snapshot already holds (their chunk was read after
                        // this change): a change the snapshot holds entirely is skipped; an
                        // UPDATE that moved a row between chunks keeps only the half the
                        // snapshot lacks.
                        let held = |row: &Option<Vec<Value>>| {
                            row.as_deref().is_some_and(|r| chunks.holds(key, r, &here))
                        };
                        let (old_held, new_held) = (held(&change.before), held(&change.after));
                        op = match (op, old_held, new_held) {
                            (Operation::Insert, _, true)
                            | (Operation::Delete, true, _)
                            | (Operation::Update, true, true) => {
                                self.tx.rows_sent += 1;
                                continue;
                            }
                            (Operation::Update, true, false) => Operation::Insert,
                            (Operation::Update, false, true) => Operation::Delete,
                            (op, ..) => op,
                        };
                    }
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
                    out.read_ts_ms = read_ts_ms;
                    // Counted as sent: a buffered row is sent before anything after it.
                    self.out.push(out);
                    self.tx.rows_sent += 1;
                    // (`self.flush()` would borrow all of `self`: `chunks` borrows a field.)
                    if self.out.len() >= ROW_BURST && !send_all(self.cx, &mut self.out).await {
                        return Ok(false);
                    }
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
                if !self.flush().await || self.cx.send(hb).await.is_err() {
                    return Ok(false);
                }
            }
            _ => {}
        }
        Ok(true)
    }

    fn position(&self, binlog: BinlogPosition) -> Position {
        let gtid = if self.gtids.iter().next().is_some() {
            Some(GtidSet::MariaDb(self.gtids.clone()))
        } else if !self.mysql_gtids.is_empty() {
            Some(GtidSet::MySql(self.mysql_gtids.clone()))
        } else {
            None
        };
        // Keyless tables whose snapshot lies ahead: a task resuming here must still skip
        // their changes before it (sorted, so equal states give equal checkpoints).
        let mut skip: Vec<(TableId, BinlogPosition)> = self
            .skip
            .iter()
            .map(|(t, p)| (t.clone(), p.clone()))
            .collect();
        skip.sort();
        Position::Binlog {
            binlog,
            gtid,
            tables: Some(self.definitions.clone()),
            skip,
            chunk_skip: self.chunk_skip_saved.clone(),
        }
    }

    /// Refreshes the definitions saved with checkpoints (after DDL on a selected table).
    fn refresh_definitions(&mut self) {
        let current: Vec<TableSchema> = self
            .history
            .tables()
            .filter(|t| self.selected(t.id()))
            .map(|t| (**t).clone())
            .collect();
        self.definitions = Arc::new(current);
    }

    async fn commit(&mut self, end: u64, timestamp: u32) -> Result<bool> {
        let pos = BinlogPosition::new(self.file.clone(), end);
        let mut ev = ChangeEvent::new(Operation::Commit)
            .at(pos.clone())
            .with_source_ts_ms(u64::from(timestamp) * 1000);
        ev.gtid = self.tx.gtid.clone();
        ev.safe_position = self.tx.start.clone();
        match self.tx.pending_gtid.take() {
            Some(PendingGtid::MariaDb(g)) => self.gtids.update(g),
            Some(PendingGtid::MySql(sid, gno)) => self.mysql_gtids.add(&sid, gno),
            None => {}
        }
        let ev = ev.with_checkpoint(self.position(pos.clone()));
        self.resume = pos;
        self.tx = Tx::default();
        self.skip_rows = 0;
        Ok(self.flush().await && self.cx.send(ev).await.is_ok())
    }

    /// Sends the buffered row events; `false` when the pipeline closed.
    async fn flush(&mut self) -> bool {
        send_all(self.cx, &mut self.out).await
    }

    fn map_table(&mut self, map: &Arc<TableMapEvent>, here: &BinlogPosition) -> Result<()> {
        let id = TableId::new(
            String::from_utf8_lossy(&map.schema).as_ref(),
            String::from_utf8_lossy(&map.table).as_ref(),
        );
        if !self.selected(&id) {
            self.plans.remove(&map.table_id);
            return Ok(());
        }
        // The definition in force at this position, checked column by column against the map.
        let schema = self.history.check_table_map_at(map, here)?;
        let plan = crate::schema::row_plan(map, &schema);
        self.plans.insert(map.table_id, (schema, Arc::new(plan)));
        Ok(())
    }

    /// Whether `table` is selected (`db.table` or `db.*`).
    fn selected(&self, table: &TableId) -> bool {
        self.patterns.iter().any(|p| match p.split_once('.') {
            Some((db, "*")) => db == table.db(),
            Some((db, t)) => db == table.db() && t == table.table(),
            None => false,
        })
    }

    /// Applies a statement to the schema history; sends a `Ddl` event when it changes a
    /// selected table. `false` when the pipeline closed.
    async fn track_ddl(
        &mut self,
        db: &str,
        sql: &str,
        sql_mode: Option<u64>,
        here: &BinlogPosition,
        ts: u32,
    ) -> Result<bool> {
        let dialect = Dialect::from_sql_mode(self.flavor, sql_mode.unwrap_or(0));
        let outcome = match self.history.apply_ddl(Some(db), sql, here, dialect) {
            Ok(o) => o,
            // A statement about tables we do not select does not concern us.
            Err(e) if e.table().is_some_and(|t| !self.selected(t)) => {
                tracing::debug!(error = %e, "DDL on an unselected table not tracked");
                return Ok(true);
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(t) = outcome.needs_reload().iter().find(|t| self.selected(t)) {
            return Err(Error::Config(format!(
                "{t} at {here}: the statement ({sql:.120}) defines columns the binlog does not describe (CREATE … SELECT,                  system versioning, or a table not tracked): restart the task with a full migration of {t}"
            )));
        }
        let touched: Vec<TableId> = outcome
            .changes()
            .iter()
            .flat_map(|c| match c {
                TableChange::Created(t)
                | TableChange::Altered(t)
                | TableChange::Dropped(t)
                | TableChange::Truncated(t) => vec![t.clone()],
                TableChange::Renamed { from, to } => vec![from.clone(), to.clone()],
            })
            .filter(|t| self.selected(t))
            .collect();
        let Some(first) = touched.first() else {
            return Ok(true);
        };
        self.refresh_definitions();
        let table = outcome.table().cloned().or_else(|| Some(first.clone()));
        let mut ev = ChangeEvent::ddl(Ddl {
            db: Some(db.into()),
            table: table.clone(),
            sql: sql.to_owned(),
        })
        .at(here.clone())
        .with_source_ts_ms(u64::from(ts) * 1000);
        ev.table = table.as_ref().and_then(|t| self.history.get(t).cloned());
        ev.gtid = self.tx.gtid.clone();
        ev.read_ts_ms = now_ms();
        Ok(self.flush().await && self.cx.send(ev).await.is_ok())
    }
}

/// One table's chunks and the snapshot position each was read at, with integer keys.
struct ChunkSkip {
    positions: ChunkPositions,
    bounds: Vec<Vec<i128>>,
    /// The newest chunk position: past it, nothing is skipped any more.
    last: Option<BinlogPosition>,
}

fn int_key(values: impl IntoIterator<Item = Option<Value>>) -> Option<Vec<i128>> {
    values
        .into_iter()
        .map(|v| match v? {
            Value::Int(i) => Some(i128::from(i)),
            Value::UInt(u) => Some(i128::from(u)),
            _ => None,
        })
        .collect()
}

impl ChunkSkip {
    fn new(positions: ChunkPositions) -> Option<Self> {
        if positions.positions.len() != positions.boundaries.len() + 1 {
            return None;
        }
        let bounds = positions
            .boundaries
            .iter()
            .map(|b| int_key(b.iter().cloned().map(Some)))
            .collect::<Option<Vec<_>>>()?;
        let last = positions
            .positions
            .iter()
            .flatten()
            .max_by(|a, b| a.cmp_in_stream(b).unwrap_or(std::cmp::Ordering::Equal))
            .cloned();
        Some(Self {
            positions,
            bounds,
            last,
        })
    }

    /// The stream is past every chunk's snapshot.
    fn passed(&self, here: &BinlogPosition) -> bool {
        self.last
            .as_ref()
            .is_none_or(|l| here.cmp_in_stream(l).is_some_and(std::cmp::Ordering::is_ge))
    }

    /// Whether the snapshot already holds the effect of a change at `here` to `row`, whose
    /// chunk key is at column indexes `key` (of the definition in force at `here`).
    fn holds(&self, key: &[usize], row: &[Value], here: &BinlogPosition) -> bool {
        // The key's integers, read in place (this runs per row while skips are pending).
        let part = |i: &usize| match row.get(*i) {
            Some(Value::Int(v)) => Some(i128::from(*v)),
            Some(Value::UInt(v)) => Some(i128::from(*v)),
            _ => None,
        };
        if key.iter().any(|i| part(i).is_none()) {
            return false;
        }
        let k = key.iter().filter_map(part);
        // Chunk i covers (bounds[i-1], bounds[i]]: the first boundary not below the key.
        let chunk = self
            .bounds
            .partition_point(|b| b.iter().copied().cmp(k.clone()) == std::cmp::Ordering::Less);
        self.positions
            .positions
            .get(chunk)
            .and_then(Option::as_ref)
            .is_some_and(|p| here.cmp_in_stream(p) == Some(std::cmp::Ordering::Less))
    }
}

/// Sends `out`'s events in order, leaving it empty (its capacity kept); `false` when the
/// pipeline closed.
async fn send_all(cx: &SourceContext, out: &mut Vec<ChangeEvent>) -> bool {
    cx.send_all(out).await.is_ok()
}
