//! Resuming incremental migration by GTID (live MariaDB): a checkpoint whose binlog file does not
//! exist on the server (as after a failover to a server with other file names) resumes from its
//! GTID state exactly where it stopped, also across a killed connection; by position it is a
//! clear error.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dts_core::{
    BinlogPosition, CancellationToken, ChangeEvent, Checkpoint, GtidSet, Operation, Position,
    Source, SourceContext, Value,
};
use dts_mysql_source::protocol::{ConnectOptions, Connection};
use dts_mysql_source::{MySqlSource, MySqlSourceConfig};

fn admin() -> ConnectOptions {
    ConnectOptions::from_url(&dts_test_utils::mariadb_admin_url()).unwrap()
}

fn config(db: &str, server_id: u32, by_gtid: bool) -> MySqlSourceConfig {
    let mut c = MySqlSourceConfig::new(
        ConnectOptions::from_url(&dts_test_utils::mariadb_url()).unwrap(),
        server_id,
        vec![format!("{db}.*")],
    );
    c.full_migration = false;
    c.schema_migration = false;
    c.heartbeat = Duration::from_millis(200);
    c.resume_by_gtid = by_gtid;
    c
}

struct Run {
    events: Arc<Mutex<Vec<ChangeEvent>>>,
    shutdown: CancellationToken,
    source: tokio::task::JoinHandle<dts_mysql_source::Result<()>>,
}

fn start(config: MySqlSourceConfig, resume: Option<Checkpoint>) -> Run {
    let events: Arc<Mutex<Vec<ChangeEvent>>> = Arc::default();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    {
        let events = events.clone();
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                events.lock().unwrap().push(ev);
            }
        });
    }
    let shutdown = CancellationToken::new();
    let source = tokio::spawn(MySqlSource::new(config).run(SourceContext::detached(
        tx,
        shutdown.clone(),
        resume,
    )));
    Run {
        events,
        shutdown,
        source,
    }
}

impl Run {
    fn inserted(&self) -> Vec<i64> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.op == Operation::Insert)
            .map(|e| match e.after.as_ref().unwrap()[0] {
                Value::Int(i) => i,
                ref v => panic!("{v:?}"),
            })
            .collect()
    }

    async fn wait_for(&self, n: usize) {
        for _ in 0..300 {
            if self.inserted().len() >= n || self.source.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    async fn stop(self) -> (Vec<ChangeEvent>, dts_mysql_source::Result<()>) {
        self.shutdown.cancel();
        let result = self.source.await.unwrap();
        let events = std::mem::take(&mut *self.events.lock().unwrap());
        (events, result)
    }
}

async fn insert(a: &mut Connection, db: &str, ids: std::ops::Range<i64>) {
    for i in ids {
        a.execute(&format!("INSERT INTO {db}.t VALUES ({i})"))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_resumes_by_gtid_when_its_binlog_file_is_not_on_the_server() {
    let db = format!("dts_gtid_{}", std::process::id());
    let mut a = Connection::connect(&admin()).await.unwrap();
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
        format!("CREATE TABLE {db}.t (id INT PRIMARY KEY)"),
    ] {
        a.execute(&sql).await.unwrap();
    }

    // First run, by position: 200 single-row transactions.
    let run = start(config(&db, 54_500, false), None);
    tokio::time::sleep(Duration::from_millis(400)).await;
    insert(&mut a, &db, 0..200).await;
    run.wait_for(200).await;
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
    };
    let by_position = start(
        config(&db, 54_501, false),
        Some(Checkpoint::new(moved.clone(), 1)),
    );
    by_position.wait_for(1).await;
    let (_, result) = by_position.stop().await;
    let err = result
        .expect_err("the file is not on the server")
        .to_string();
    assert!(err.contains("gone-bin.000999"), "names the file: {err}");

    // By GTID: rows 100.. exactly, in order; then the connection is killed and the stream
    // reconnects by GTID without loss or repeats.
    let run = start(config(&db, 54_502, true), Some(Checkpoint::new(moved, 1)));
    run.wait_for(100).await;
    assert_eq!(run.inserted(), (100..200).collect::<Vec<_>>());
    let list = a.query("SHOW PROCESSLIST").await.unwrap();
    let dump = list.rows.iter().find(|row| {
        let text = |k: usize| {
            row[k]
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        text(4).starts_with("Binlog Dump") && text(1) == "dts"
    });
    let id = String::from_utf8_lossy(dump.expect("the dump connection")[0].as_ref().unwrap())
        .into_owned();
    a.execute(&format!("KILL {id}")).await.unwrap();
    insert(&mut a, &db, 200..250).await;
    run.wait_for(150).await;
    let ids = run.inserted();
    let (events, result) = run.stop().await;
    result.unwrap();
    assert_eq!(ids, (100..250).collect::<Vec<_>>(), "no loss, no repeat");
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
