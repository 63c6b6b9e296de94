//! Full data migration: tables read in chunks by primary (or unique) key, several chunks at a
//! time over separate connections, rows emitted as `Init` events, resumable per chunk.
//!
//! - **Chunks.** The key range is cut into chunks of about `chunk_rows` rows by walking the key
//!   index (`SELECT key FROM t WHERE (k1,k2) > (?,?) ORDER BY k1,k2 LIMIT 1 OFFSET n`); composite
//!   keys are compared as row values, never column by column. The boundaries are saved in the
//!   checkpoint, so a resumed snapshot reads exactly the chunks it had not finished.
//! - **Keyless tables** are read in one ordered pass (a warning is logged).
//! - **Checkpoints.** After the last row of a chunk, a marker event carries the snapshot
//!   progress; the pipeline saves it only once every row sent before it was acknowledged.
//! - **Throttle.** Optional rows/s and bytes/s limits shared by all readers.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dts_core::{
    ColumnDef, ColumnType, Date, DateTime, Decimal, SnapshotPosition, TableId, TableSchema,
    TableSnapshotProgress, Time, Value,
};
use mysql_async::prelude::Queryable;
use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, SslOpts, Value as MyValue};

use crate::catalog::{quote_ident, quote_table};
use crate::error::{Error, Result};
use crate::protocol::{ConnectOptions, TlsMode, TlsOptions};

/// Snapshot tuning.
#[derive(Clone, Debug)]
pub struct SnapshotOptions {
    /// Rows per chunk (default 8192).
    pub chunk_rows: u64,
    /// Chunks read at the same time, each on its own connection (default 4).
    pub parallelism: usize,
    /// Rows per second, all readers together (`None`: unlimited).
    pub max_rows_per_sec: Option<u64>,
    /// Bytes per second, all readers together (`None`: unlimited).
    pub max_bytes_per_sec: Option<u64>,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        Self {
            chunk_rows: 8192,
            parallelism: 4,
            max_rows_per_sec: None,
            max_bytes_per_sec: None,
        }
    }
}

fn my_err(context: &str, e: mysql_async::Error) -> Error {
    match e {
        mysql_async::Error::Server(s) => Error::Server {
            code: s.code,
            state: s.state,
            message: s.message,
            context: context.to_owned(),
        },
        mysql_async::Error::Io(io) => Error::Io {
            op: context.to_owned(),
            source: std::io::Error::other(io.to_string()),
        },
        other => Error::Protocol(format!("{context}: {other}")),
    }
}

/// A pool of snapshot connections (binary protocol, UTC session time zone).
pub(crate) fn pool(opts: &ConnectOptions, size: usize) -> Pool {
    let builder = OptsBuilder::default()
        .ip_or_hostname(opts.host.clone())
        .tcp_port(opts.port)
        .user(Some(opts.user.clone()))
        .pass(Some(opts.password.expose().to_owned()))
        // One statement, run as `setup` (after every connect and every reset: the pool resets a
        // returned connection to the handshake defaults). It was three `init` statements, which
        // mysql_async runs in reverse order, so `SET NAMES` undid `character_set_results =
        // binary`: latin1 (any non-UTF-8) text arrived transcoded to UTF-8 but labelled with
        // its column charset. The replay test with every column type caught it.
        // `sql_mode = ''`: see `catalog::PLAIN_SQL_MODE`.
        .setup(vec![
            "SET NAMES utf8mb4, character_set_results = 'binary', time_zone = '+00:00', sql_mode = ''",
        ])
        .pool_opts(
            PoolOpts::default()
                .with_constraints(PoolConstraints::new(1, size.max(1)).unwrap_or_default()),
        )
        .ssl_opts(ssl_opts(&opts.tls));
    Pool::new(Opts::from(builder))
}

/// The snapshot connections' TLS: the same mode and CA as the replication connection.
fn ssl_opts(tls: &TlsOptions) -> Option<SslOpts> {
    let ssl = match tls.mode {
        TlsMode::Disabled => return None,
        TlsMode::Required => SslOpts::default()
            .with_danger_accept_invalid_certs(true)
            .with_danger_skip_domain_validation(true),
        TlsMode::VerifyCa => SslOpts::default().with_danger_skip_domain_validation(true),
        TlsMode::VerifyIdentity => SslOpts::default(),
    };
    Some(match &tls.ca {
        Some(ca) => ssl.with_root_certs(vec![ca.clone().into()]),
        None => ssl,
    })
}

/// Rows read before they are handed to the pipeline together.
const BURST: usize = 256;

/// Shared token bucket for the throttle.
#[derive(Debug)]
pub(crate) struct Throttle {
    rows: Option<u64>,
    bytes: Option<u64>,
    state: Mutex<(Instant, u64, u64)>,
}

impl Throttle {
    pub(crate) fn new(o: &SnapshotOptions) -> Self {
        Self {
            rows: o.max_rows_per_sec,
            bytes: o.max_bytes_per_sec,
            state: Mutex::new((Instant::now(), 0, 0)),
        }
    }

    /// Records `rows`/`bytes` and returns how long to wait to stay under the limits.
    pub(crate) fn account(&self, rows: u64, bytes: u64) -> Duration {
        if self.rows.is_none() && self.bytes.is_none() {
            return Duration::ZERO;
        }
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.1 = s.1.saturating_add(rows);
        s.2 = s.2.saturating_add(bytes);
        let elapsed = s.0.elapsed().as_secs_f64();
        let need = |done: u64, limit: Option<u64>| {
            limit
                .filter(|&l| l > 0)
                .map_or(0.0, |l| done as f64 / l as f64)
        };
        let wait = need(s.1, self.rows).max(need(s.2, self.bytes)) - elapsed;
        if wait > 0.0 {
            Duration::from_secs_f64(wait)
        } else {
            Duration::ZERO
        }
    }
}

/// The key a table is chunked by: primary key, else a unique key whose columns are NOT NULL.
pub(crate) fn chunk_key(table: &TableSchema) -> Option<Vec<usize>> {
    if let Some(pk) = table.primary_key() {
        return Some(pk.columns.clone());
    }
    table
        .unique_keys()
        .iter()
        .find(|k| {
            k.columns
                .iter()
                .all(|&c| table.columns().get(c).is_some_and(|c| !c.nullable))
        })
        .map(|k| k.columns.clone())
}

/// Whether `table` is chunked by a key of integer columns only: keys the stream can place in
/// their chunk exactly (integers compare in Rust as in SQL; strings would need the collation).
pub(crate) fn has_integer_key(table: &TableSchema) -> bool {
    use dts_core::ColumnType as T;
    chunk_key(table).is_some_and(|key| {
        key.iter().all(|&i| {
            table.columns().get(i).is_some_and(|c| {
                matches!(
                    c.ty,
                    T::TinyInt | T::SmallInt | T::MediumInt | T::Int | T::BigInt
                )
            })
        })
    })
}

fn key_list(table: &TableSchema, key: &[usize]) -> String {
    key.iter()
        .filter_map(|&i| table.columns().get(i))
        .map(|c| quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The key of the row `chunk_rows` rows after `after` (from the start when `None`): the upper
/// boundary of the next chunk, or `None` when fewer rows are left (the last chunk).
async fn next_boundary(
    conn: &mut mysql_async::Conn,
    table: &TableSchema,
    key: &[usize],
    after: Option<&[Value]>,
    chunk_rows: u64,
) -> Result<Option<Vec<Value>>> {
    let cols = key_list(table, key);
    let t = quote_table(table.id());
    let offset = chunk_rows.max(1) - 1;
    let (sql, params): (String, Vec<MyValue>) = match after {
        None => (
            format!("SELECT {cols} FROM {t} ORDER BY {cols} LIMIT 1 OFFSET {offset}"),
            vec![],
        ),
        Some(b) => (
            format!(
                "SELECT {cols} FROM {t} WHERE ({cols}) > ({}) ORDER BY {cols} LIMIT 1 OFFSET {offset}",
                placeholders(key.len())
            ),
            b.iter().map(to_param).collect(),
        ),
    };
    let row: Option<mysql_async::Row> = conn
        .exec_first(sql, params)
        .await
        .map_err(|e| my_err(&format!("planning the chunks of {}", table.id()), e))?;
    let Some(row) = row else { return Ok(None) };
    let values = row.unwrap();
    let mut bound = Vec::with_capacity(key.len());
    for (v, &i) in values.into_iter().zip(key) {
        let col = table
            .columns()
            .get(i)
            .ok_or_else(|| Error::Protocol("key column out of range".into()))?;
        bound.push(
            from_mysql(v, col)
                .map_err(|why| Error::Protocol(format!("{}.{}: {why}", table.id(), col.name)))?,
        );
    }
    Ok(Some(bound))
}

/// The chunks of `table` still to read, as a stream: first those of the boundaries already
/// known (a resumed snapshot), then — while the plan is open — one chunk per boundary found,
/// each recorded in `shared` before it is yielded (so the checkpoint of any chunk read carries
/// its boundary), and finally the last chunk, above the last boundary. Readers start on the
/// first chunk while later boundaries are still being looked up.
pub(crate) fn chunk_stream(
    pool: Pool,
    table: Arc<TableSchema>,
    shared: Arc<Progress>,
    chunk_rows: u64,
) -> impl futures::Stream<Item = Result<Chunk>> + Send {
    let (known, planning) = shared.with(|p| {
        let t = p.tables.entry(table.id().clone()).or_default();
        if chunk_key(&table).is_none() {
            // One ordered pass: a single chunk.
            t.planning = false;
            t.chunks = 1;
        } else if t.chunks == 0 && t.boundaries.is_empty() && !t.done {
            t.planning = true;
        }
        let known = if t.planning {
            // Only the chunks below the last boundary exist yet.
            let mut c = chunks_of(&table, t);
            c.retain(|c| c.upper.is_some());
            c
        } else {
            chunks_of(&table, t)
        };
        (known, t.planning)
    });
    struct Planner {
        pool: Pool,
        conn: Option<mysql_async::Conn>,
        table: Arc<TableSchema>,
        shared: Arc<Progress>,
        chunk_rows: u64,
        open: bool,
    }
    let planner = Planner {
        pool,
        conn: None,
        table,
        shared,
        chunk_rows,
        open: planning,
    };
    let planned = futures::stream::try_unfold(planner, |mut st| async move {
        if !st.open {
            if let Some(c) = st.conn.take() {
                drop(c);
            }
            return Ok(None);
        }
        let key = chunk_key(&st.table).unwrap_or_default();
        if st.conn.is_none() {
            st.conn = Some(
                st.pool
                    .get_conn()
                    .await
                    .map_err(|e| my_err("connecting for the snapshot", e))?,
            );
        }
        let last = st.shared.with(|p| {
            p.tables
                .get(st.table.id())
                .and_then(|t| t.boundaries.last().cloned())
        });
        let Some(conn) = st.conn.as_mut() else {
            return Ok(None);
        };
        let found = next_boundary(conn, &st.table, &key, last.as_deref(), st.chunk_rows).await?;
        let chunk = st.shared.with(|p| {
            let t = p.tables.entry(st.table.id().clone()).or_default();
            let index = t.boundaries.len() as u64;
            match found {
                Some(bound) => {
                    t.boundaries.push(bound.clone());
                    t.chunks = index + 1;
                    Chunk {
                        table: st.table.clone(),
                        index,
                        lower: last,
                        upper: Some(bound),
                    }
                }
                None => {
                    t.planning = false;
                    t.chunks = index + 1;
                    Chunk {
                        table: st.table.clone(),
                        index,
                        lower: last,
                        upper: None,
                    }
                }
            }
        });
        st.open = chunk.upper.is_some();
        Ok(Some((chunk, st)))
    });
    futures::StreamExt::chain(
        futures::stream::iter(known.into_iter().map(Ok::<Chunk, Error>)),
        planned,
    )
}

/// A query parameter for a key value read earlier.
fn to_param(v: &Value) -> MyValue {
    match v {
        Value::Null => MyValue::NULL,
        Value::Int(i) => MyValue::Int(*i),
        Value::UInt(u) => MyValue::UInt(*u),
        Value::Float(f) => MyValue::Float(*f),
        Value::Double(d) => MyValue::Double(*d),
        Value::Decimal(d) => MyValue::Bytes(d.as_bytes().to_vec()),
        Value::Bit(b) => MyValue::UInt(*b),
        Value::Year(y) => MyValue::Int(i64::from(*y)),
        Value::Date(d) => MyValue::Date(d.year, d.month, d.day, 0, 0, 0, 0),
        Value::DateTime(d) => MyValue::Date(
            d.date.year,
            d.date.month,
            d.date.day,
            d.hour,
            d.minute,
            d.second,
            d.micros,
        ),
        Value::Time(t) => MyValue::Time(
            t.negative,
            u32::from(t.hours / 24),
            u8::try_from(t.hours % 24).unwrap_or(0),
            t.minutes,
            t.seconds,
            t.micros,
        ),
        Value::Timestamp { secs, micros } => {
            let (date, h, m, s) = civil(*secs);
            MyValue::Date(date.year, date.month, date.day, h, m, s, *micros)
        }
        Value::Enum(i) => MyValue::UInt(u64::from(*i)),
        Value::Set(s) => MyValue::UInt(*s),
        Value::String(b)
        | Value::Bytes(b)
        | Value::Json(b)
        | Value::Geometry(b)
        | Value::Vector(b) => MyValue::Bytes(b.to_vec()),
        _ => MyValue::NULL,
    }
}

/// UTC civil date and time of epoch seconds.
fn civil(secs: u64) -> (Date, u8, u8, u8) {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let sod = secs % 86_400;
    // Howard Hinnant's days → civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let date = Date {
        year: u16::try_from(y).unwrap_or(0),
        month: u8::try_from(m).unwrap_or(0),
        day: u8::try_from(d).unwrap_or(0),
    };
    (
        date,
        u8::try_from(sod / 3600).unwrap_or(0),
        u8::try_from(sod / 60 % 60).unwrap_or(0),
        u8::try_from(sod % 60).unwrap_or(0),
    )
}

/// Epoch seconds of a UTC civil date and time.
fn epoch(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> u64 {
    let (y, mo) = (i64::from(y), i64::from(mo));
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if mo > 2 { mo - 3 } else { mo + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s))
        .unwrap_or(0)
}

/// Converts a binary-protocol value to ours, by column type.
pub(crate) fn from_mysql(v: MyValue, col: &ColumnDef) -> Result<Value, String> {
    use ColumnType as T;
    Ok(match (v, col.ty) {
        (MyValue::NULL, _) => Value::Null,
        (MyValue::Int(i), T::Bit) => Value::Bit(u64::try_from(i).map_err(|_| "negative BIT")?),
        (MyValue::Int(i), T::Year) => {
            Value::Year(u16::try_from(i).map_err(|_| "YEAR out of range")?)
        }
        (MyValue::Int(i), T::Enum | T::Set) => {
            return Err(format!("unexpected integer {i} for {:?}", col.ty));
        }
        (MyValue::Int(i), t) if t.is_integer() && col.unsigned => {
            Value::UInt(u64::try_from(i).map_err(|_| "negative unsigned value")?)
        }
        (MyValue::Int(i), t) if t.is_integer() => Value::Int(i),
        (MyValue::UInt(u), t) if t.is_integer() => {
            if col.unsigned {
                Value::UInt(u)
            } else {
                Value::Int(i64::try_from(u).map_err(|_| "signed value out of range")?)
            }
        }
        (MyValue::Float(f), T::Float) => Value::Float(f),
        // The binary protocol sends FLOAT as 4 bytes; a DOUBLE here would be an expression.
        #[allow(clippy::cast_possible_truncation)]
        (MyValue::Double(d), T::Float) => Value::Float(d as f32),
        (MyValue::Double(d), T::Double) => Value::Double(d),
        (MyValue::Float(f), T::Double) => Value::Double(f64::from(f)),
        (MyValue::Bytes(b), T::Decimal) => Value::Decimal(
            Decimal::from_text(Bytes::from(b)).map_err(|t| format!("not a decimal: {t:?}"))?,
        ),
        (MyValue::Bytes(b), T::Bit) => {
            Value::Bit(b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x)))
        }
        (MyValue::Bytes(b), T::Enum) => {
            if b.is_empty() {
                Value::Enum(0)
            } else {
                let i = col
                    .labels
                    .iter()
                    .position(|l| l.as_bytes() == b)
                    .ok_or("ENUM label not in the definition")?;
                Value::Enum(u16::try_from(i + 1).map_err(|_| "ENUM index out of range")?)
            }
        }
        (MyValue::Bytes(b), T::Set) => {
            let mut bits = 0u64;
            for part in b.split(|&c| c == b',').filter(|p| !p.is_empty()) {
                let i = col
                    .labels
                    .iter()
                    .position(|l| l.as_bytes() == part)
                    .ok_or("SET label not in the definition")?;
                bits |= 1u64
                    .checked_shl(u32::try_from(i).unwrap_or(64))
                    .ok_or("SET has more than 64 labels")?;
            }
            Value::Set(bits)
        }
        (MyValue::Bytes(b), T::Json) => Value::Json(Bytes::from(b)),
        (MyValue::Bytes(b), T::Geometry) => Value::Geometry(Bytes::from(b)),
        (MyValue::Bytes(b), T::Vector) => Value::Vector(Bytes::from(b)),
        (MyValue::Bytes(b), t) if t.is_text() => Value::String(Bytes::from(b)),
        (
            MyValue::Bytes(b),
            T::Binary | T::VarBinary | T::TinyBlob | T::Blob | T::MediumBlob | T::LongBlob,
        ) => Value::Bytes(Bytes::from(b)),
        (MyValue::Date(y, m, d, ..), T::Date) => Value::Date(Date {
            year: y,
            month: m,
            day: d,
        }),
        (MyValue::Date(y, m, d, h, i, s, us), T::DateTime) => Value::DateTime(DateTime {
            date: Date {
                year: y,
                month: m,
                day: d,
            },
            hour: h,
            minute: i,
            second: s,
            micros: us,
        }),
        (MyValue::Date(y, m, d, h, i, s, us), T::Timestamp) => {
            if y == 0 && m == 0 && d == 0 {
                Value::Timestamp { secs: 0, micros: 0 }
            } else {
                Value::Timestamp {
                    secs: epoch(y, m, d, h, i, s),
                    micros: us,
                }
            }
        }
        (MyValue::Time(neg, days, h, i, s, us), T::Time) => Value::Time(Time {
            negative: neg,
            hours: u16::try_from(days.saturating_mul(24).saturating_add(u32::from(h)))
                .map_err(|_| "TIME hours out of range")?,
            minutes: i,
            seconds: s,
            micros: us,
        }),
        (other, t) => return Err(format!("unexpected {other:?} for a {t:?} column")),
    })
}

/// Snapshot progress shared by the readers (the checkpoint markers carry copies).
#[derive(Debug)]
pub(crate) struct Progress {
    inner: Mutex<SnapshotPosition>,
}

impl Progress {
    pub(crate) fn new(start: SnapshotPosition) -> Self {
        Self {
            inner: Mutex::new(start),
        }
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut SnapshotPosition) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// One chunk to read.
#[derive(Clone, Debug)]
pub(crate) struct Chunk {
    pub(crate) table: Arc<TableSchema>,
    pub(crate) index: u64,
    /// Exclusive lower bound.
    pub(crate) lower: Option<Vec<Value>>,
    /// Inclusive upper bound.
    pub(crate) upper: Option<Vec<Value>>,
}

/// The chunks of `table` still to read, given its boundaries and what is done.
pub(crate) fn chunks_of(table: &Arc<TableSchema>, progress: &TableSnapshotProgress) -> Vec<Chunk> {
    let n = progress.boundaries.len() + 1;
    (0..n)
        .filter(|&i| !progress.chunks_done.contains(&(i as u64)))
        .map(|i| Chunk {
            table: table.clone(),
            index: i as u64,
            lower: i
                .checked_sub(1)
                .and_then(|j| progress.boundaries.get(j).cloned()),
            upper: progress.boundaries.get(i).cloned(),
        })
        .collect()
}

/// Reads one chunk and sends each row (in key order) to `cx` as the event `event(row)` makes;
/// returns the number of rows and the key of the last one.
pub(crate) async fn read_chunk(
    pool: &Pool,
    chunk: &Chunk,
    throttle: &Throttle,
    cx: &dts_core::SourceContext,
    event: &(dyn Fn(Vec<Value>) -> dts_core::ChangeEvent + Sync),
) -> Result<ChunkRead> {
    let table = &chunk.table;
    let t = quote_table(table.id());
    let all_cols = table
        .columns()
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let key = chunk_key(table);
    let (sql, params) = match &key {
        None => (format!("SELECT {all_cols} FROM {t}"), Vec::new()),
        Some(key) => {
            let cols = key_list(table, key);
            let mut conds = Vec::new();
            let mut params = Vec::new();
            if let Some(lo) = &chunk.lower {
                conds.push(format!("({cols}) > ({})", placeholders(key.len())));
                params.extend(lo.iter().map(to_param));
            }
            if let Some(hi) = &chunk.upper {
                conds.push(format!("({cols}) <= ({})", placeholders(key.len())));
                params.extend(hi.iter().map(to_param));
            }
            let filter = if conds.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", conds.join(" AND "))
            };
            (
                format!("SELECT {all_cols} FROM {t}{filter} ORDER BY {cols}"),
                params,
            )
        }
    };
    let context = format!("reading chunk {} of {}", chunk.index, table.id());
    let mut conn = pool.get_conn().await.map_err(|e| my_err(&context, e))?;
    // A keyless table is read in one transaction whose exact binlog position is known (MariaDB
    // reports it for consistent snapshots), so its changes before that position can be skipped
    // exactly: rows without a key cannot be de-duplicated later. A chunk of an integer key is
    // read the same way, so that the stream can skip exactly the changes its rows already hold.
    let mut snapshot_position = None;
    let consistent = key.is_none() || has_integer_key(table);
    if consistent {
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .await
            .map_err(|e| my_err(&context, e))?;
        let status: Vec<(String, String)> = conn
            .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
            .await
            .map_err(|e| my_err(&context, e))?;
        let get = |n: &str| {
            status
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        if let (Some(file), Some(pos)) =
            (get("binlog_snapshot_file"), get("binlog_snapshot_position"))
            && let Ok(pos) = pos.parse::<u64>()
            && !file.is_empty()
        {
            snapshot_position = Some(dts_core::BinlogPosition::new(file, pos));
        }
    }
    let mut result = conn
        .exec_iter(sql, params)
        .await
        .map_err(|e| my_err(&context, e))?;
    let mut n = 0u64;
    let mut last_key = None;
    let mut pending_bytes = 0u64;
    // Rows go to the pipeline in bursts: the consumer wakes once per burst, not once per row
    // (cross-thread wake-ups were a third of the snapshot's CPU).
    let mut burst: Vec<dts_core::ChangeEvent> = Vec::with_capacity(BURST);
    loop {
        let row = result.next().await.map_err(|e| my_err(&context, e))?;
        let end = row.is_none();
        if let Some(row) = row {
            let values = row.unwrap();
            let mut out = Vec::with_capacity(values.len());
            for (v, col) in values.into_iter().zip(table.columns()) {
                out.push(from_mysql(v, col).map_err(|why| {
                    Error::Protocol(format!("{}.{}: {why}", table.id(), col.name))
                })?);
            }
            pending_bytes = pending_bytes
                .saturating_add(out.iter().map(Value::payload_len).sum::<usize>() as u64);
            burst.push(event(out));
            n += 1;
        }
        if burst.len() >= BURST || (end && !burst.is_empty()) {
            if let (Some(key), Some(row)) = (&key, burst.last().and_then(|e| e.after.as_ref())) {
                last_key = Some(key.iter().filter_map(|&i| row.get(i).cloned()).collect());
            }
            let rows = burst.len() as u64;
            cx.send_all(&mut burst).await.map_err(|_| {
                Error::Protocol("the pipeline stopped accepting snapshot rows".into())
            })?;
            let wait = throttle.account(rows, pending_bytes);
            pending_bytes = 0;
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        if end {
            break;
        }
    }
    drop(result);
    if consistent {
        conn.query_drop("COMMIT")
            .await
            .map_err(|e| my_err(&context, e))?;
    }
    Ok(ChunkRead {
        rows: n,
        last_key,
        snapshot_position,
    })
}

/// What reading a chunk found.
#[derive(Debug)]
pub(crate) struct ChunkRead {
    /// Rows read.
    pub(crate) rows: u64,
    /// Key of the last row (keyed tables).
    pub(crate) last_key: Option<Vec<Value>>,
    /// Exact binlog position of the snapshot the chunk was read in, when the server reports it
    /// (keyless tables and integer keys).
    pub(crate) snapshot_position: Option<dts_core::BinlogPosition>,
}

/// Which chunks of which tables are done, for the snapshot checkpoint.
pub(crate) fn mark_done(
    p: &mut SnapshotPosition,
    table: &TableId,
    chunk: u64,
    last_key: Option<Vec<Value>>,
) -> bool {
    let t = p.tables.entry(table.clone()).or_default();
    t.chunks_done.insert(chunk);
    if last_key.is_some() {
        t.last_key = last_key;
    }
    let all: BTreeSet<u64> = (0..t.chunks.max(1)).collect();
    t.done = !t.planning && all.is_subset(&t.chunks_done);
    t.done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for secs in [
            0u64,
            1,
            951_782_400,
            1_709_210_096,
            2_147_483_647,
            4_102_444_800,
        ] {
            let (d, h, m, s) = civil(secs);
            assert_eq!(epoch(d.year, d.month, d.day, h, m, s), secs, "{secs}");
        }
        let (d, h, ..) = civil(1_709_210_096);
        assert_eq!((d.year, d.month, d.day, h), (2024, 2, 29, 12));
    }

    #[test]
    fn throttle_waits_when_over_the_rate() {
        let t = Throttle::new(&SnapshotOptions {
            max_rows_per_sec: Some(1000),
            ..SnapshotOptions::default()
        });
        assert!(t.account(5000, 0) > Duration::from_secs(3));
        let unlimited = Throttle::new(&SnapshotOptions::default());
        assert_eq!(unlimited.account(1 << 30, 1 << 40), Duration::ZERO);
    }
}
