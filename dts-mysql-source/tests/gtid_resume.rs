//! Resuming incremental migration by GTID (live MariaDB): a checkpoint whose binlog file does not
//! exist on the server (as after a failover to a server with other file names) resumes from its
//! GTID state exactly where it stopped, also across a killed connection; by position it is a
//! clear error.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::{SourceRun, admin, dts_user, fresh_database, kill_binlog_dump};
use dts_core::{BinlogPosition, ChangeEvent, Checkpoint, GtidSet, Operation, Position, Value};
use dts_mysql_source::MySqlSourceConfig;
use dts_mysql_source::protocol::Connection;

fn config(db: &str, server_id: u32, by_gtid: bool) -> MySqlSourceConfig {
    let mut c = MySqlSourceConfig::new(dts_user(), server_id, vec![format!("{db}.*")]);
    c.full_migration = false;
    c.schema_migration = false;
    c.heartbeat = Duration::from_millis(200);
    c.resume_by_gtid = by_gtid;
    c
}

fn inserted(events: &[ChangeEvent]) -> Vec<i64> {
    events
        .iter()
        .filter(|e| e.op == Operation::Insert)
        .map(|e| match e.after.as_ref().unwrap()[0] {
            Value::Int(i) => i,
            ref v => panic!("{v:?}"),
        })
        .collect()
}

async fn insert(a: &mut Connection, db: &str, ids: std::ops::Range<i64>) {
    for i in ids {
        a.execute(&format!("INSERT INTO {db}.t VALUES ({i})"))
            .await
            .unwrap();
    }
}

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_resumes_by_gtid_when_its_binlog_file_is_not_on_the_server() {
    let db = format!("dts_gtid_{}", std::process::id());
    let mut a = fresh_database(&db, &[format!("CREATE TABLE {db}.t (id INT PRIMARY KEY)")]).await;

    // First run, by position: 200 single-row transactions.
    let run = SourceRun::start(config(&db, 54_500, false), None);
    tokio::time::sleep(Duration::from_millis(400)).await;
    insert(&mut a, &db, 0..200).await;
    run.wait_until(WAIT, |e| inserted(e).len() >= 200).await;
    let (events, result) = run.stop().await;
    result.unwrap();
    // The checkpoint after the 100th row.
    let mut rows = 0;
    let checkpoint = events
        .iter()
        .find_map(|e| {
            rows += usize::from(e.op == Operation::Insert);
            (rows == 100).then(|| e.checkpoint.clone()).flatten()
        })
        .expect("a checkpoint after the 100th row");
    let Position::Binlog { binlog, gtid, .. } = (*checkpoint).clone() else {
        panic!("{checkpoint:?}")
    };
    let Some(GtidSet::MariaDb(list)) = &gtid else {
        panic!("MariaDB checkpoints carry the GTID state: {gtid:?}")
    };
    assert!(list.get(0).is_some_and(|g| g.sequence > 0), "{list}");

    // The same checkpoint, as a server with other binlog file names would see it.
    let moved = Position::Binlog {
        binlog: BinlogPosition::new("gone-bin.000999", binlog.offset),
        gtid: gtid.clone(),
        tables: None,
        skip: Vec::new(),
        chunk_skip: None,
    };
    let by_position = SourceRun::start(
        config(&db, 54_501, false),
        Some(Checkpoint::new(moved.clone(), 1)),
    );
    by_position.wait_until(WAIT, |_| false).await;
    let (_, result) = by_position.stop().await;
    let err = result
        .expect_err("the file is not on the server")
        .to_string();
    assert!(err.contains("gone-bin.000999"), "names the file: {err}");

    // By GTID: rows 100.. exactly, in order; then the connection is killed and the stream
    // reconnects by GTID without loss or repeats.
    let run = SourceRun::start(config(&db, 54_502, true), Some(Checkpoint::new(moved, 1)));
    run.wait_until(WAIT, |e| inserted(e).len() >= 100).await;
    assert_eq!(run.with_events(inserted), (100..200).collect::<Vec<_>>());
    assert!(kill_binlog_dump(&mut a).await, "the dump connection");
    insert(&mut a, &db, 200..250).await;
    run.wait_until(WAIT, |e| inserted(e).len() >= 150).await;
    let (events, result) = run.stop().await;
    result.unwrap();
    assert_eq!(
        inserted(&events),
        (100..250).collect::<Vec<_>>(),
        "no loss, no repeat"
    );
    // Checkpoints name the server's real file again.
    let last = events
        .iter()
        .filter_map(|e| e.checkpoint.as_deref())
        .next_back()
        .unwrap();
    let Position::Binlog { binlog, .. } = last else {
        panic!("{last:?}")
    };
    assert!(binlog.file.starts_with("mysql-bin."), "{binlog}");
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}

/// A fresh task's GTID state — read at its start position while other sessions commit in two
/// GTID domains, then carried along the stream — is at every checkpoint exactly the server's
/// own `BINLOG_GTID_POS` of that checkpoint's position. (The start state comes from
/// `@@gtid_binlog_pos` when the binlog did not move while it was read, else from
/// `BINLOG_GTID_POS`: two rounds start under the concurrent writers, two on a quiet binlog.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_checkpoint_carries_the_servers_gtid_state_at_its_position() {
    let db = format!("dts_gtid_state_{}", std::process::id());
    let mut a = fresh_database(&db, &[format!("CREATE TABLE {db}.t (id INT PRIMARY KEY)")]).await;
    let stop = dts_core::CancellationToken::new();
    let paused = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = [0u32, 7]
        .into_iter()
        .map(|domain| {
            let (db, stop, paused) = (db.clone(), stop.clone(), paused.clone());
            tokio::spawn(async move {
                let mut w = Connection::connect(&admin()).await.unwrap();
                w.execute(&format!("SET SESSION gtid_domain_id = {domain}"))
                    .await
                    .unwrap();
                let mut i = i64::from(domain) * 1_000_000;
                while !stop.is_cancelled() {
                    if paused.load(std::sync::atomic::Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    w.execute(&format!("INSERT INTO {db}.t VALUES ({i})"))
                        .await
                        .unwrap();
                    i += 1;
                }
            })
        })
        .collect();
    // Rounds 0-1 start while both domains are written (the binlog moves while the state is
    // read); rounds 2-3 start on a quiet binlog, then the writers go on.
    for round in 0..4u32 {
        let quiet = round >= 2;
        paused.store(quiet, std::sync::atomic::Ordering::Relaxed);
        if quiet {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let run = SourceRun::start(config(&db, 54_510 + round, false), None);
        if quiet {
            // The state is read within milliseconds of the start, on the quiet binlog.
            run.wait_until(Duration::from_secs(1), |e| !e.is_empty())
                .await;
            paused.store(false, std::sync::atomic::Ordering::Relaxed);
        }
        run.wait_until(WAIT, |e| inserted(e).len() >= 200).await;
        let (events, result) = run.stop().await;
        result.unwrap();
        let checkpoints: Vec<_> = events
            .iter()
            .filter_map(|e| e.checkpoint.as_deref())
            .collect();
        assert!(checkpoints.len() >= 100, "{}", checkpoints.len());
        // The first checkpoint is the start: where the stream begins, with its state.
        let Position::Snapshot(start) = checkpoints[0] else {
            panic!("{:?}", checkpoints[0])
        };
        let start = (
            start.binlog_start.clone().unwrap(),
            start.gtid_start.clone(),
        );
        let streamed = checkpoints.iter().skip(1).step_by(17).map(|p| match p {
            Position::Binlog { binlog, gtid, .. } => (binlog.clone(), gtid.clone()),
            other => panic!("{other:?}"),
        });
        for (binlog, gtid) in std::iter::once(start).chain(streamed) {
            let server = a
                .query(&format!(
                    "SELECT BINLOG_GTID_POS('{}', {}) AS g",
                    binlog.file, binlog.offset
                ))
                .await
                .unwrap()
                .first("g")
                .unwrap_or_default();
            let ours = match &gtid {
                Some(GtidSet::MariaDb(list)) => list.to_string(),
                other => panic!("round {round}: {other:?}"),
            };
            let sorted = |s: &str| {
                let mut v: Vec<String> = s.split(',').map(str::to_owned).collect();
                v.sort();
                v
            };
            assert_eq!(sorted(&ours), sorted(&server), "round {round} at {binlog}");
        }
    }
    stop.cancel();
    for w in writers {
        w.await.unwrap();
    }
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}
