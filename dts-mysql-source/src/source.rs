//! [`MySqlSource`]: schema migration, full data migration and incremental migration of the
//! selected tables, as a [`dts_core::Source`].
//!
//! Order of a fresh task:
//! 1. the binlog position is taken (`SHOW MASTER STATUS`, and on MariaDB the GTID state at exactly
//!    that position, `BINLOG_GTID_POS`) — the point from which incremental migration will start;
//! 2. **schema migration**: one `Ddl` event per selected table with `SHOW CREATE TABLE`;
//! 3. **full data migration**: every table in chunks ([`crate::snapshot`]), `Init` events,
//!    a checkpoint marker after each chunk;
//! 4. **incremental migration** from the position of step 1.
//!
//! Consistency (lock-free; no `FLUSH TABLES WITH READ LOCK`): every row change after step 1 is
//! in the binlog from that position, and every row image there is complete (FULL images,
//! checked by the prechecks).
//! - **Exact, per chunk** (MariaDB; keyless tables and tables chunked by an integer key): each
//!   chunk is read in its own `START TRANSACTION WITH CONSISTENT SNAPSHOT`, whose exact binlog
//!   position MariaDB reports (`binlog_snapshot_position`) — a per-chunk watermark that needs no
//!   writes to the source. The stream then skips each change whose row the snapshot already
//!   holds: a change before the position of the chunk its key falls in (integer keys are placed
//!   exactly; an UPDATE that moved a row between chunks keeps only the half the snapshot lacks).
//!   Every record then applies exactly once: no INSERT over an existing key, no stale image after
//!   a newer snapshot row (`tests/consistency.rs` replays strictly; without the skip it counts
//!   thousands of violations). A task resuming from a binlog checkpoint written before the
//!   stream passed those positions skips the same way (the checkpoint carries them).
//! - **Per key, otherwise** (other key types, MySQL): the binlog is replayed from before the
//!   snapshot; a consumer applying records per key (upsert / delete by key) ends in the
//!   source's state, but may see a change the snapshot row already contains.
//!
//! Resuming: from a snapshot checkpoint at the first unfinished chunk (chunks are planned while
//! they are read; a resumed run plans on from the last boundary found); from a binlog
//! checkpoint at the end of the last finished transaction, by file and offset, or by GTID with
//! [`MySqlSourceConfig::resume_by_gtid`] (MariaDB; for a failover to a server with other file
//! names).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dts_core::{
    BinlogPosition, ChangeEvent, ChunkPositions, Ddl, GtidSet, MariaDbGtidList, Phase, Position,
    SnapshotPosition, Source, SourceContext, TableId, TableSchema,
};
use futures::StreamExt;

use crate::catalog;
use crate::error::{Error, Result};
use crate::protocol::{ConnectOptions, Connection};
use crate::snapshot::{self, Chunk, SnapshotOptions, Throttle};

/// What a [`MySqlSource`] reads and how.
#[derive(Clone, Debug)]
pub struct MySqlSourceConfig {
    /// Server and credentials.
    pub connect: ConnectOptions,
    /// Server id to register with for incremental migration.
    pub server_id: u32,
    /// Selected tables: `db.table` or `db.*`.
    pub tables: Vec<String>,
    /// Send table definitions first.
    pub schema_migration: bool,
    /// Copy every row.
    pub full_migration: bool,
    /// Stream the binlog afterwards (until stopped).
    pub incremental_migration: bool,
    /// Snapshot tuning.
    pub snapshot: SnapshotOptions,
    /// Heartbeat period of the replication connection.
    pub heartbeat: Duration,
    /// Start incremental migration (and reconnect) from the checkpoint's GTID state instead of
    /// its file and offset: what a task needs after a failover to a server whose binlog files
    /// are named differently. Needs GTIDs (MariaDB; MySQL with `gtid_mode=ON`); off by default.
    pub resume_by_gtid: bool,
}

impl MySqlSourceConfig {
    /// All three migration types with default tuning.
    #[must_use]
    pub fn new(connect: ConnectOptions, server_id: u32, tables: Vec<String>) -> Self {
        Self {
            connect,
            server_id,
            tables,
            schema_migration: true,
            full_migration: true,
            incremental_migration: true,
            snapshot: SnapshotOptions::default(),
            heartbeat: Duration::from_secs(5),
            resume_by_gtid: false,
        }
    }
}

/// Reads MySQL or MariaDB; see the module docs.
#[derive(Debug)]
pub struct MySqlSource {
    config: MySqlSourceConfig,
}

impl MySqlSource {
    /// A source for `config` (nothing is contacted before [`Source::run`]).
    #[must_use]
    pub fn new(config: MySqlSourceConfig) -> Self {
        Self { config }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Tables and their definitions, and where the binlog was when the task started.
struct Start {
    tables: Vec<Arc<TableSchema>>,
    binlog: BinlogPosition,
    /// MySQL's `Executed_Gtid_Set` reported with `binlog` (MariaDB's state is read on demand:
    /// see [`start_gtid`]).
    executed_gtid_set: Option<String>,
    charsets: catalog::Charsets,
}

async fn begin(conn: &mut Connection, config: &MySqlSourceConfig) -> Result<Start> {
    let ids = catalog::expand_tables(conn, &config.tables).await?;
    let mut tables = Vec::with_capacity(ids.len());
    for id in &ids {
        tables.push(Arc::new(catalog::load_table(conn, id).await?));
    }
    let (binlog, executed_gtid_set) = binlog_status(conn).await?;
    let charsets = catalog::load_charsets(conn, &ids).await?;
    Ok(Start {
        tables,
        binlog,
        executed_gtid_set,
        charsets,
    })
}

/// `SHOW MASTER STATUS` (or `SHOW BINARY LOG STATUS`): the current position and, on MySQL,
/// the executed GTID set.
async fn binlog_status(conn: &mut Connection) -> Result<(BinlogPosition, Option<String>)> {
    let status = conn.binlog_status().await?;
    let file = status.first("File").ok_or_else(|| {
        Error::Config("binary logging is off (SHOW MASTER STATUS is empty)".into())
    })?;
    let offset = status
        .first("Position")
        .and_then(|p| p.parse().ok())
        .unwrap_or(4);
    let executed = status
        .first("Executed_Gtid_Set")
        .map(|t| t.replace(['\n', '\r'], ""))
        .filter(|t| !t.trim().is_empty());
    Ok((BinlogPosition::new(file, offset), executed))
}

/// The GTID state at the task's start position: what a fresh task's checkpoints carry from
/// its first one on. Only a fresh task needs it — a resumed one takes the state from its
/// checkpoint — so it is read here, not in [`begin`].
///
/// MariaDB: `@@gtid_binlog_pos` when the binlog has not moved since `start` (then it is exactly
/// the state at that position: the position and the state change together, within one group
/// commit under the binlog lock that `SHOW MASTER STATUS` takes), else `BINLOG_GTID_POS(file,
/// offset)`, which is exact but reads the binlog file from its start up to the offset (0.5 s for
/// a 700 MB file). MySQL: the `Executed_Gtid_Set` reported with the position.
async fn start_gtid(conn: &mut Connection, start: &Start) -> Result<Option<GtidSet>> {
    if !conn.server().is_mariadb() {
        return start
            .executed_gtid_set
            .as_deref()
            .map(|t| {
                t.parse::<dts_core::MySqlGtidSet>()
                    .map(GtidSet::MySql)
                    .map_err(|e| Error::Protocol(format!("Executed_Gtid_Set {t:?}: {e}")))
            })
            .transpose();
    }
    let current = conn.query("SELECT @@GLOBAL.gtid_binlog_pos AS g").await?;
    let (after, _) = binlog_status(conn).await?;
    let text = if after == start.binlog {
        current.first("g").unwrap_or_default()
    } else {
        let r = conn
            .query(&format!(
                "SELECT BINLOG_GTID_POS({}, {}) AS g",
                catalog::quote_str(&start.binlog.file),
                start.binlog.offset
            ))
            .await?;
        // NULL: the file is gone (purged since) or the offset is not an event boundary.
        r.first("g").ok_or_else(|| {
            Error::Protocol(format!(
                "BINLOG_GTID_POS({}) is NULL: the binary log was purged or rotated away while the task started; start it again",
                start.binlog
            ))
        })?
    };
    let list: MariaDbGtidList = text
        .parse()
        .map_err(|e| Error::Protocol(format!("the GTID state {text:?}: {e}")))?;
    let known = list.iter().next().is_some();
    Ok(known.then_some(GtidSet::MariaDb(list)))
}

impl Source for MySqlSource {
    type Error = Error;

    async fn run(self, cx: SourceContext) -> Result<()> {
        let config = self.config;
        let mut conn = Connection::connect(&config.connect).await?;
        catalog::plain_session(&mut conn).await?;
        let start = begin(&mut conn, &config).await?;
        let resume = cx.resume_from().map(|c| c.position.clone());
        let mut progress = match resume {
            Some(Position::Snapshot(p))
                if !p.tables.is_empty() && p.tables.values().all(|t| t.done) =>
            {
                // Snapshot finished earlier: stream from its start, skipping as before.
                conn.close().await?;
                if !config.incremental_migration {
                    return Ok(());
                }
                return Incremental::after_snapshot(&p, &start)
                    .run(&cx, &config, &start)
                    .await;
            }
            Some(Position::Snapshot(p)) => p,
            Some(Position::Binlog {
                binlog,
                gtid,
                tables,
                skip,
                chunk_skip,
            }) => {
                // The snapshot finished in an earlier run: only incremental migration is left.
                // The definitions saved with the checkpoint are those in force at `binlog`;
                // today's may differ if DDL ran since.
                conn.close().await?;
                if !config.incremental_migration {
                    return Ok(());
                }
                let definitions: Vec<Arc<TableSchema>> = match tables {
                    Some(saved) => saved.iter().cloned().map(Arc::new).collect(),
                    None => start.tables.clone(),
                };
                return Incremental {
                    from: binlog.clone(),
                    gtid: gtid.as_ref(),
                    definitions,
                    // Keyless tables whose snapshot position the stream had not reached yet.
                    skip: skip.iter().cloned().collect(),
                    chunks: chunk_skip.as_deref().cloned().unwrap_or_default(),
                }
                .run(&cx, &config, &start)
                .await;
            }
            _ => {
                let mut p = SnapshotPosition::default();
                p.binlog_start = Some(start.binlog.clone());
                p.gtid_start = start_gtid(&mut conn, &start).await?;
                p
            }
        };
        let binlog_start = progress
            .binlog_start
            .clone()
            .unwrap_or_else(|| start.binlog.clone());
        let fresh = progress.tables.is_empty();

        if config.schema_migration && fresh {
            cx.progress().set_phase(Phase::Schema);
            for table in &start.tables {
                let sql = catalog::show_create_table(&mut conn, table.id()).await?;
                let ddl = Ddl {
                    db: Some(table.id().db().into()),
                    table: Some(table.id().clone()),
                    sql,
                };
                let mut ev = ChangeEvent::ddl(ddl)
                    .at(binlog_start.clone())
                    .with_source_ts_ms(now_ms());
                ev.table = Some(table.clone());
                ev.read_ts_ms = now_ms();
                if cx.send(ev).await.is_err() {
                    return Ok(());
                }
            }
        }

        if config.full_migration {
            cx.progress().set_phase(Phase::Snapshot);
            // One connection more than the readers: the chunk planner's.
            let pool = snapshot::pool(&config.connect, config.snapshot.parallelism + 1);
            for table in &start.tables {
                let entry = progress.tables.entry(table.id().clone()).or_default();
                cx.progress().set_table_estimate(
                    table.id(),
                    catalog::estimate_rows(&mut conn, table.id()).await?,
                );
                if entry.done {
                    cx.progress().set_table_done(table.id());
                }
            }
            for t in &start.tables {
                if chunk_key_missing(t) {
                    tracing::warn!(table = %t.id(), "no primary or unique key: copied in one ordered pass");
                }
            }
            let shared = Arc::new(snapshot::Progress::new(progress.clone()));
            let throttle = Throttle::new(&config.snapshot);
            // Chunks are planned as they are read (see `snapshot::chunk_stream`); the first
            // marker records which tables are being planned, so a resumed run plans on.
            let pending: Vec<Arc<TableSchema>> = start
                .tables
                .iter()
                .filter(|t| progress.tables.get(t.id()).is_none_or(|p| !p.done))
                .cloned()
                .collect();
            let chunks = futures::stream::iter(pending)
                .map(|t| {
                    snapshot::chunk_stream(
                        pool.clone(),
                        t,
                        shared.clone(),
                        config.snapshot.chunk_rows,
                    )
                })
                .flatten();
            let marker = shared.with(|p| {
                for t in &start.tables {
                    let e = p.tables.entry(t.id().clone()).or_default();
                    if e.chunks == 0 && e.boundaries.is_empty() && !e.done {
                        e.planning = !chunk_key_missing(t);
                    }
                }
                p.clone()
            });
            // Save the plan state before reading, so a resumed run reads the same chunks.
            if cx
                .send(ChangeEvent::checkpoint_marker(Position::Snapshot(marker)))
                .await
                .is_err()
            {
                return Ok(());
            }
            let results: Vec<Result<()>> = chunks
                .map(|chunk| {
                    let (pool, cx, shared, throttle, binlog_start) =
                        (&pool, &cx, &shared, &throttle, &binlog_start);
                    async move {
                        copy_chunk(pool, cx, shared, throttle, binlog_start, chunk?).await
                    }
                })
                .buffer_unordered(config.snapshot.parallelism.max(1))
                .collect()
                .await;
            pool.disconnect()
                .await
                .map_err(|e| Error::Protocol(format!("closing snapshot connections: {e}")))?;
            for r in results {
                r?;
            }
            if cx.is_shutdown() {
                return Ok(());
            }
            for t in &start.tables {
                cx.progress().set_table_done(t.id());
            }
            progress = shared.with(|p| p.clone());
        }
        // The snapshot is complete (its last marker says so): a restart resumes the binlog at
        // `binlog_start`, still skipping what the keyless tables' snapshots already hold.
        for t in progress.tables.values_mut() {
            t.done = true;
        }
        if cx
            .send(ChangeEvent::checkpoint_marker(Position::Snapshot(
                progress.clone(),
            )))
            .await
            .is_err()
        {
            return Ok(());
        }
        conn.close().await?;
        if config.incremental_migration {
            return Incremental::after_snapshot(&progress, &start)
                .run(&cx, &config, &start)
                .await;
        }
        Ok(())
    }
}

/// Where and how incremental migration starts.
struct Incremental<'a> {
    from: BinlogPosition,
    gtid: Option<&'a GtidSet>,
    /// The selected tables' definitions in force at `from`.
    definitions: Vec<Arc<TableSchema>>,
    /// Keyless tables whose changes before their snapshot position are skipped.
    skip: std::collections::HashMap<TableId, BinlogPosition>,
    /// Tables whose keys' changes are skipped before their chunk's snapshot position.
    chunks: Vec<ChunkPositions>,
}

impl<'a> Incremental<'a> {
    /// The stream that follows the snapshot `p`: from the binlog position it started at (the
    /// task's start when not recorded), skipping what its chunks and keyless tables hold.
    fn after_snapshot(p: &'a SnapshotPosition, start: &Start) -> Self {
        Incremental {
            from: p
                .binlog_start
                .clone()
                .unwrap_or_else(|| start.binlog.clone()),
            gtid: p.gtid_start.as_ref(),
            definitions: start.tables.clone(),
            skip: skip_map(p),
            chunks: chunk_positions(p),
        }
    }

    async fn run(
        self,
        cx: &SourceContext,
        config: &MySqlSourceConfig,
        start: &Start,
    ) -> Result<()> {
        crate::stream::Streamer::new(
            cx,
            config.connect.clone(),
            config.server_id,
            config.heartbeat,
            config.tables.clone(),
            self.definitions,
            self.from.clone(),
        )
        .with_charsets(&start.charsets, &self.from)
        .with_gtid(self.gtid, config.resume_by_gtid)
        .skipping(self.skip)
        .skipping_chunks(self.chunks)
        .run()
        .await
    }
}

fn chunk_key_missing(t: &TableSchema) -> bool {
    t.primary_key().is_none()
        && !t.unique_keys().iter().any(|k| {
            k.columns
                .iter()
                .all(|&c| t.columns().get(c).is_some_and(|c| !c.nullable))
        })
}

/// Per table read in chunks of known snapshot positions, those positions.
fn chunk_positions(p: &SnapshotPosition) -> Vec<ChunkPositions> {
    p.tables
        .iter()
        .filter(|(_, t)| !t.chunk_positions.is_empty())
        .map(|(id, t)| ChunkPositions {
            table: id.clone(),
            boundaries: t.boundaries.clone(),
            positions: (0..=t.boundaries.len() as u64)
                .map(|i| t.chunk_positions.get(&i).cloned())
                .collect(),
        })
        .collect()
}

/// Per keyless table, the exact position of its snapshot: its changes before it are in it.
fn skip_map(p: &SnapshotPosition) -> std::collections::HashMap<TableId, BinlogPosition> {
    p.tables
        .iter()
        .filter_map(|(t, s)| Some((t.clone(), s.snapshot_position.clone()?)))
        .collect()
}

async fn copy_chunk(
    pool: &mysql_async::Pool,
    cx: &SourceContext,
    shared: &snapshot::Progress,
    throttle: &Throttle,
    binlog_start: &BinlogPosition,
    chunk: Chunk,
) -> Result<()> {
    if cx.is_shutdown() {
        return Ok(());
    }
    let table = chunk.table.clone();
    // The clock is read every 64 rows (about 0.1 ms of reading), not for each. (Plain loads
    // and stores: one task calls `make` at a time.)
    let rows = AtomicU64::new(0);
    let clock_ms = AtomicU64::new(0);
    let make = |row| {
        let n = rows.load(Ordering::Relaxed);
        rows.store(n.wrapping_add(1), Ordering::Relaxed);
        let ms = if n.is_multiple_of(64) {
            let now = now_ms();
            clock_ms.store(now, Ordering::Relaxed);
            now
        } else {
            clock_ms.load(Ordering::Relaxed)
        };
        let mut ev = ChangeEvent::init(table.clone(), row).at(binlog_start.clone());
        ev.source_ts_ms = ms;
        ev.read_ts_ms = ms;
        ev
    };
    let read = snapshot::read_chunk(pool, &chunk, throttle, cx, &make).await?;
    tracing::debug!(table = %table.id(), chunk = chunk.index, rows = read.rows, "chunk copied");
    if cx.is_shutdown() {
        return Ok(());
    }
    let table_id: TableId = table.id().clone();
    let marker = shared.with(|p| {
        snapshot::mark_done(p, &table_id, chunk.index, read.last_key);
        if let Some(pos) = read.snapshot_position {
            let t = p.tables.entry(table_id.clone()).or_default();
            if chunk_key_missing(&table) {
                t.snapshot_position = Some(pos);
            } else {
                t.chunk_positions.insert(chunk.index, pos);
            }
        }
        Position::Snapshot(p.clone())
    });
    // A closed pipeline is its own error, reported by the pipeline.
    let _closed = cx
        .send(ChangeEvent::checkpoint_marker(marker))
        .await
        .is_err();
    Ok(())
}
