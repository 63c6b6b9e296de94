//! Helpers shared by the live tests: connections to the local MariaDB, a source run whose
//! events are collected, and killing the source's binlog dump connection.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dts_core::{CancellationToken, ChangeEvent, Checkpoint, Operation, Source, SourceContext};
use dts_mysql_source::protocol::{ConnectOptions, Connection};
use dts_mysql_source::{MySqlSource, MySqlSourceConfig};

/// The admin user (test setup).
pub(crate) fn admin() -> ConnectOptions {
    ConnectOptions::from_url(&dts_test_utils::mariadb_admin_url()).unwrap()
}

/// The DTS user (only the grants DTS needs).
pub(crate) fn dts_user() -> ConnectOptions {
    ConnectOptions::from_url(&dts_test_utils::mariadb_url()).unwrap()
}

/// An admin connection, after it dropped and created `db` and ran `statements`.
pub(crate) async fn fresh_database(db: &str, statements: &[String]) -> Connection {
    let mut a = Connection::connect(&admin()).await.unwrap();
    a.execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .await
        .unwrap();
    a.execute(&format!("CREATE DATABASE {db}")).await.unwrap();
    for sql in statements {
        a.execute(sql).await.unwrap();
    }
    a
}

/// A [`MySqlSource`] running in the background, its events collected.
pub(crate) struct SourceRun {
    events: Arc<Mutex<Vec<ChangeEvent>>>,
    shutdown: CancellationToken,
    source: tokio::task::JoinHandle<dts_mysql_source::Result<()>>,
    collector: tokio::task::JoinHandle<()>,
}

impl SourceRun {
    /// Starts `config`, resuming from `resume` if given.
    pub(crate) fn start(config: MySqlSourceConfig, resume: Option<Checkpoint>) -> Self {
        let events: Arc<Mutex<Vec<ChangeEvent>>> = Arc::default();
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let collector = {
            let events = events.clone();
            tokio::spawn(async move {
                while let Some(ev) = rx.recv().await {
                    events.lock().unwrap().push(ev);
                }
            })
        };
        let shutdown = CancellationToken::new();
        let source = tokio::spawn(MySqlSource::new(config).run(SourceContext::detached(
            tx,
            shutdown.clone(),
            resume,
        )));
        Self {
            events,
            shutdown,
            source,
            collector,
        }
    }

    /// Runs `f` on the events received so far.
    pub(crate) fn with_events<R>(&self, f: impl FnOnce(&[ChangeEvent]) -> R) -> R {
        f(&self.events.lock().unwrap())
    }

    /// Whether the source ended (finished or failed) on its own.
    pub(crate) fn is_finished(&self) -> bool {
        self.source.is_finished()
    }

    /// The number of `INSERT` events received so far.
    pub(crate) fn inserts(&self) -> usize {
        self.with_events(|e| e.iter().filter(|e| e.op == Operation::Insert).count())
    }

    /// Waits (up to `timeout`) until `done` holds for the events received, or the source ended.
    pub(crate) async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[ChangeEvent]) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline
            && !self.source.is_finished()
            && !self.with_events(&done)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the source; returns every event it sent and how it ended.
    pub(crate) async fn stop(self) -> (Vec<ChangeEvent>, dts_mysql_source::Result<()>) {
        self.shutdown.cancel();
        let result = self.source.await.unwrap();
        self.collector.await.unwrap();
        let events = std::mem::take(&mut *self.events.lock().unwrap());
        (events, result)
    }
}

/// Kills the binlog dump connection of the `dts` user once it is there (waits up to 5 s);
/// `false` if it never showed up.
pub(crate) async fn kill_binlog_dump(a: &mut Connection) -> bool {
    for _ in 0..100 {
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
        if let Some(row) = dump {
            let id = String::from_utf8_lossy(row[0].as_ref().unwrap()).into_owned();
            if a.execute(&format!("KILL {id}")).await.is_ok() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
