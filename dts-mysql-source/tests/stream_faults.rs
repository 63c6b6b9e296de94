//! Faults during incremental migration (live MariaDB): the replication connection killed by the
//! server (the source reconnects; nothing lost, repeated or reordered), and a binlog purged past
//! the checkpoint (a clear error naming the position).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::{SourceRun, dts_user, fresh_database, kill_binlog_dump};
use dts_core::{
    BinlogPosition, CancellationToken, Checkpoint, Operation, Position, SnapshotPosition, Source,
    SourceContext, Value,
};
use dts_mysql_source::{MySqlSource, MySqlSourceConfig};

/// The tests here change server state others depend on (connections, purged files): one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn config(db: &str, server_id: u32) -> MySqlSourceConfig {
    let mut c = MySqlSourceConfig::new(dts_user(), server_id, vec![format!("{db}.*")]);
    c.full_migration = false;
    c.schema_migration = false;
    c.heartbeat = Duration::from_millis(200);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replication_connection_reconnects_without_loss_or_repeats() {
    let _serial = SERIAL.lock().await;
    let db = format!("dts_kill_{}", std::process::id());
    let mut a = fresh_database(&db, &[format!("CREATE TABLE {db}.t (id INT PRIMARY KEY)")]).await;
    let run = SourceRun::start(config(&db, 54_400), None);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut killed = 0;
    for i in 0..300 {
        // Multi-row transactions, so that kills also land inside them.
        a.execute(&format!("INSERT INTO {db}.t VALUES ({})", i * 2))
            .await
            .unwrap();
        a.execute("BEGIN").await.unwrap();
        a.execute(&format!("INSERT INTO {db}.t VALUES ({})", i * 2 + 1))
            .await
            .unwrap();
        a.execute("COMMIT").await.unwrap();
        if i % 50 == 25 {
            // Wait until the source is (back) in its binlog dump, then kill that connection.
            let done = kill_binlog_dump(&mut a).await;
            killed += usize::from(done);
            assert!(
                done,
                "the source did not come back to its binlog dump within 5 s"
            );
        }
    }
    run.wait_until(Duration::from_secs(10), |e| {
        e.iter().filter(|e| e.op == Operation::Insert).count() >= 600
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (events, result) = run.stop().await;
    result.unwrap();
    assert!(
        killed >= 3,
        "the replication connection was killed {killed} times"
    );
    let ids: Vec<i64> = events
        .iter()
        .filter(|e| e.op == Operation::Insert)
        .map(|e| match e.after.as_ref().unwrap()[0] {
            Value::Int(i) => i,
            ref v => panic!("{v:?}"),
        })
        .collect();
    assert_eq!(
        ids,
        (0..600).collect::<Vec<i64>>(),
        "every row once, in order, across {killed} reconnects"
    );
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}

#[tokio::test]
async fn a_purged_binlog_is_a_clear_error() {
    let _serial = SERIAL.lock().await;
    let db = format!("dts_purge_{}", std::process::id());
    let mut a = fresh_database(&db, &[format!("CREATE TABLE {db}.t (id INT PRIMARY KEY)")]).await;
    let old = a
        .query("SHOW MASTER STATUS")
        .await
        .unwrap()
        .first("File")
        .unwrap();
    a.execute("FLUSH BINARY LOGS").await.unwrap();
    let current = a
        .query("SHOW MASTER STATUS")
        .await
        .unwrap()
        .first("File")
        .unwrap();
    a.execute(&format!("PURGE BINARY LOGS TO '{current}'"))
        .await
        .unwrap();
    // A task whose checkpoint points into the purged file.
    let mut snap = SnapshotPosition::default();
    snap.binlog_start = Some(BinlogPosition::new(old.as_str(), 4));
    snap.tables
        .entry(dts_core::TableId::new(db.as_str(), "t"))
        .or_default()
        .done = true;
    let (tx, _rx) = tokio::sync::mpsc::channel(16);
    let cx = SourceContext::detached(
        tx,
        CancellationToken::new(),
        Some(Checkpoint::new(Position::Snapshot(snap), 1)),
    );
    let err = tokio::time::timeout(
        Duration::from_secs(20),
        MySqlSource::new(config(&db, 54_401)).run(cx),
    )
    .await
    .expect("a purged binlog must stop the task")
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&old) && text.contains("purged"), "{text}");
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}
