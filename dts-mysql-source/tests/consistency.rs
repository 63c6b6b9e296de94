//! The replay invariant on the live MariaDB: a snapshot taken while writes run, followed by the
//! binlog, replayed per key (or, for a keyless table, as a multiset) equals `SELECT *` of every
//! table — with inserts, updates, primary-key updates, deletes and multi-statement
//! transactions running during the snapshot.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::too_many_lines)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::{SourceRun, admin};
use dts_core::{
    BinlogPosition, CancellationToken, ChangeEvent, Checkpoint, Operation, Position, TableId, Value,
};
use dts_mysql_source::MySqlSourceConfig;
use dts_mysql_source::protocol::{ConnectOptions, Connection};
use dts_mysql_source::snapshot::SnapshotOptions;

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::UInt(u) => i64::try_from(*u).unwrap(),
        other => panic!("{other:?}"),
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        i64::try_from(self.0 % n).unwrap()
    }
}

async fn writer(db: String, stop: CancellationToken) -> u64 {
    let mut c = Connection::connect(&admin()).await.unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut next_id = 1_000_000i64;
    let mut ops = 0u64;
    while !stop.is_cancelled() {
        let stmt = match rng.next(12) {
            0 => {
                next_id += 1;
                format!(
                    "INSERT INTO {db}.single VALUES ({next_id}, {})",
                    rng.next(1000)
                )
            }
            1 | 2 => format!(
                "UPDATE {db}.single SET v = v + 1 WHERE id = {}",
                rng.next(20_000)
            ),
            3 => format!(
                "UPDATE IGNORE {db}.single SET id = id + 5000000 WHERE id = {}",
                rng.next(20_000)
            ),
            4 => format!("DELETE FROM {db}.single WHERE id = {}", rng.next(20_000)),
            5 => format!(
                "INSERT IGNORE INTO {db}.composite VALUES ({}, {}, 0)",
                rng.next(50),
                100_000 + rng.next(100_000)
            ),
            6 => format!(
                "UPDATE {db}.composite SET v = v + 1 WHERE a = {} AND b < {}",
                rng.next(50),
                rng.next(200)
            ),
            7 => format!(
                "UPDATE IGNORE {db}.composite SET a = a + 100 WHERE a = {} AND b = {}",
                rng.next(50),
                rng.next(10_000)
            ),
            8 => format!(
                "DELETE FROM {db}.composite WHERE a = {} AND b = {}",
                rng.next(50),
                rng.next(10_000)
            ),
            9 => format!(
                "INSERT INTO {db}.keyless VALUES ({}, {})",
                rng.next(20),
                rng.next(5)
            ),
            10 => format!(
                "DELETE FROM {db}.keyless WHERE x = {} LIMIT 1",
                rng.next(20)
            ),
            _ => format!(
                "BEGIN; UPDATE {db}.single SET v = -v WHERE id = {a}; DELETE FROM {db}.keyless WHERE x = {x} LIMIT 1; \
                 UPDATE {db}.keyless SET y = y + 1 WHERE x = {x} LIMIT 1; COMMIT",
                a = rng.next(20_000),
                x = rng.next(20)
            ),
        };
        for part in stmt.split("; ") {
            c.execute(part)
                .await
                .unwrap_or_else(|e| panic!("{part}: {e}"));
        }
        ops += 1;
    }
    ops
}

/// Whether a binlog checkpoint at or past `end` was sent.
fn passed(events: &[ChangeEvent], end: &BinlogPosition) -> bool {
    events
        .iter()
        .rev()
        .filter_map(|e| e.checkpoint.as_deref())
        .any(|p| match p {
            Position::Binlog { binlog, .. } => binlog
                .cmp_in_stream(end)
                .is_some_and(std::cmp::Ordering::is_ge),
            _ => false,
        })
}

/// Replays row events: keyed tables per key, the keyless one as a multiset.
fn replay(events: &[ChangeEvent]) -> HashMap<String, BTreeMap<Vec<i64>, i64>> {
    let mut tables: HashMap<String, BTreeMap<Vec<i64>, i64>> = HashMap::new();
    for e in events.iter().filter(|e| e.op.is_row()) {
        let table = e.table_id().unwrap().table().to_owned();
        let rows = tables.entry(table.clone()).or_default();
        let key = |r: &Vec<Value>| -> Vec<i64> {
            match table.as_str() {
                "single" => vec![int(&r[0])],
                "composite" => vec![int(&r[0]), int(&r[1])],
                _ => r.iter().map(int).collect(),
            }
        };
        let keyless = table == "keyless";
        if let Some(b) = &e.before {
            let k = key(b);
            if keyless {
                let n = rows.entry(k.clone()).or_default();
                *n -= 1;
                if *n == 0 {
                    rows.remove(&k);
                }
            } else {
                rows.remove(&k);
            }
        }
        if let Some(a) = &e.after {
            let k = key(a);
            if keyless {
                *rows.entry(k).or_default() += 1;
            } else {
                let v = a.iter().map(int).collect::<Vec<_>>();
                rows.insert(k, *v.last().unwrap());
            }
        }
    }
    tables
}

/// Replays the keyed tables strictly, as a consumer applying each record exactly once would: an
/// INIT or INSERT of a key that exists, or a DELETE or UPDATE whose before image is not the
/// current row, is a violation. Returns the violations (first few) and their count.
fn strict_violations(events: &[ChangeEvent]) -> (Vec<String>, usize) {
    let mut rows: HashMap<(String, Vec<i64>), Vec<i64>> = HashMap::new();
    let mut bad = Vec::new();
    let mut count = 0;
    for e in events.iter().filter(|e| e.op.is_row()) {
        let table = e.table_id().unwrap().table().to_owned();
        let width = match table.as_str() {
            "single" => 1,
            "composite" => 2,
            _ => continue,
        };
        let image = |r: &Vec<Value>| r.iter().map(int).collect::<Vec<i64>>();
        let key = |r: &[i64]| (table.clone(), r[..width].to_vec());
        let mut fail = |what: String| {
            count += 1;
            if bad.len() < 5 {
                bad.push(format!("{what} ({} at {:?})", e.op, e.position));
            }
        };
        if let Some(b) = &e.before {
            let b = image(b);
            match rows.remove(&key(&b)) {
                Some(current) if current == b => {}
                other => fail(format!("{table} before image {b:?}, current {other:?}")),
            }
        }
        if let Some(a) = &e.after {
            let a = image(a);
            if e.before.is_none()
                && let Some(current) = rows.get(&key(&a))
            {
                fail(format!("{table} insert of {a:?} over {current:?}"));
            }
            rows.insert(key(&a), a);
        }
    }
    (bad, count)
}

async fn select(c: &mut Connection, db: &str) -> HashMap<String, BTreeMap<Vec<i64>, i64>> {
    let mut out: HashMap<String, BTreeMap<Vec<i64>, i64>> = HashMap::new();
    for (table, key_cols) in [("single", 1usize), ("composite", 2), ("keyless", 0)] {
        let r = c
            .query(&format!("SELECT * FROM {db}.{table}"))
            .await
            .unwrap();
        let rows = out.entry(table.to_owned()).or_default();
        for row in r.rows {
            let v: Vec<i64> = row
                .iter()
                .map(|x| {
                    String::from_utf8_lossy(x.as_ref().unwrap())
                        .parse()
                        .unwrap()
                })
                .collect();
            if key_cols == 0 {
                *rows.entry(v).or_default() += 1;
            } else {
                rows.insert(v[..key_cols].to_vec(), *v.last().unwrap());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_with_concurrent_writes_then_binlog_replays_to_the_source_state() {
    let db = format!("dts_cons_{}", std::process::id());
    let mut a = Connection::connect(&admin()).await.unwrap();
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
        format!("CREATE TABLE {db}.single (id INT PRIMARY KEY, v INT)"),
        format!("INSERT INTO {db}.single SELECT seq, seq % 100 FROM {db}.seq_1_to_20000"),
        format!("CREATE TABLE {db}.composite (a INT, b INT, v INT, PRIMARY KEY (a, b))"),
        format!("INSERT INTO {db}.composite SELECT seq % 50, seq, 0 FROM {db}.seq_1_to_10000"),
        format!("CREATE TABLE {db}.keyless (x INT, y INT)"),
        format!("INSERT INTO {db}.keyless SELECT seq % 20, seq % 5 FROM {db}.seq_1_to_1000"),
    ] {
        a.execute(&sql).await.unwrap();
    }

    let stop_writes = CancellationToken::new();
    let writes = tokio::spawn(writer(db.clone(), stop_writes.clone()));

    let mut config = MySqlSourceConfig::new(
        ConnectOptions::from_url(&dts_test_utils::mariadb_url()).unwrap(),
        54_200,
        vec![format!("{db}.*")],
    );
    // Slow the snapshot down so that it overlaps the writes.
    config.snapshot = SnapshotOptions {
        chunk_rows: 1000,
        parallelism: 2,
        max_rows_per_sec: Some(15_000),
        ..SnapshotOptions::default()
    };
    config.heartbeat = Duration::from_millis(200);
    let run = SourceRun::start(config, None);

    // Writes run during the whole snapshot and a little beyond.
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let snapshot_done = run.with_events(|e| {
            e.iter()
                .any(|e| e.op == Operation::Insert || e.op == Operation::Commit)
        });
        if snapshot_done {
            break;
        }
        if run.is_finished() {
            let (_, result) = run.stop().await;
            panic!("source ended: {result:?}");
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_writes.cancel();
    let ops = writes.await.unwrap();

    // Wait until the stream has passed the last write.
    let status = a.query("SHOW MASTER STATUS").await.unwrap();
    let end = BinlogPosition::new(
        status.first("File").unwrap(),
        status.first("Position").unwrap().parse().unwrap(),
    );
    run.wait_until(Duration::from_secs(30), |e| passed(e, &end))
        .await;
    let (events, result) = run.stop().await;
    result.unwrap();
    let replayed = replay(&events);
    let actual = select(&mut a, &db).await;
    for table in ["single", "composite", "keyless"] {
        let (r, s) = (&replayed[table], &actual[table]);
        let missing: Vec<_> = s
            .iter()
            .filter(|(k, v)| r.get(*k) != Some(*v))
            .take(5)
            .collect();
        let extra: Vec<_> = r
            .iter()
            .filter(|(k, v)| s.get(*k) != Some(*v))
            .take(5)
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{table}: {} rows in SELECT, {} replayed; differ: {missing:?} / {extra:?}",
            s.len(),
            r.len()
        );
    }
    // Integer keys are placed in their chunk exactly and their changes already in the snapshot
    // skipped: the stream of each keyed table applies strictly, every record exactly once.
    let (bad, violations) = strict_violations(&events);
    assert!(
        violations == 0,
        "{violations} records of the keyed tables do not apply exactly once: {bad:#?}"
    );
    let inits = events.iter().filter(|e| e.op == Operation::Init).count();
    let changes = events
        .iter()
        .filter(|e| {
            matches!(
                e.op,
                Operation::Insert | Operation::Update | Operation::Delete
            )
        })
        .count();
    eprintln!(
        "consistency: {ops} write statements during the run; {inits} snapshot rows, {changes} binlog row changes"
    );
    assert!(
        ops > 50 && changes > 50,
        "the writes must overlap the snapshot ({ops} ops, {changes} changes)"
    );

    // The crash window after the snapshot: a task that stops at a binlog checkpoint the stream
    // wrote before it reached the keyless table's snapshot position, then resumes from it, must
    // still skip that table's changes already in its snapshot (the checkpoint carries them).
    let keyless = TableId::new(db.as_str(), "keyless");
    let snapshot_at = events
        .iter()
        .filter_map(|e| match e.checkpoint.as_deref() {
            Some(Position::Snapshot(s)) => s.tables.get(&keyless)?.snapshot_position.clone(),
            _ => None,
        })
        .next_back()
        .expect("the keyless table's snapshot position is kept");
    let cut = events
        .iter()
        .position(|e| {
            matches!(e.checkpoint.as_deref(), Some(Position::Binlog { binlog, .. })
                if binlog.cmp_in_stream(&snapshot_at) == Some(std::cmp::Ordering::Less))
        })
        .expect("a binlog checkpoint before the keyless snapshot (writes ran during it)");
    let resume = events[cut].checkpoint.as_deref().unwrap().clone();
    let Position::Binlog { skip, .. } = &resume else {
        unreachable!()
    };
    assert!(
        skip.iter().any(|(t, p)| *t == keyless && *p == snapshot_at),
        "the checkpoint at {resume} carries the keyless skip: {skip:?}"
    );
    let mut config = MySqlSourceConfig::new(
        ConnectOptions::from_url(&dts_test_utils::mariadb_url()).unwrap(),
        54_201,
        vec![format!("{db}.*")],
    );
    config.heartbeat = Duration::from_millis(200);
    let second = SourceRun::start(config, Some(Checkpoint::new(resume.clone(), 1)));
    second
        .wait_until(Duration::from_secs(60), |e| passed(e, &end))
        .await;
    let (more, result) = second.stop().await;
    result.unwrap();
    let mut resumed = events[..=cut].to_vec();
    resumed.extend(more);
    let (bad, violations) = strict_violations(&resumed);
    assert!(
        violations == 0,
        "resumed at {resume}: {violations} records do not apply exactly once: {bad:#?}"
    );
    let replayed = replay(&resumed);
    for table in ["single", "composite", "keyless"] {
        assert_eq!(
            replayed[table], actual[table],
            "{table}: replay of a run resumed at {resume} differs from SELECT"
        );
    }
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}
