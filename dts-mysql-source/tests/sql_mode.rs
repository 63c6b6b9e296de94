//! The server's default `sql_mode` changes nothing the source reads: catalog lookups of a table
//! whose name holds a backslash, `SHOW CREATE TABLE` quoting, snapshot `CHAR` values.
//!
//! The test sets the private MariaDB's GLOBAL `sql_mode` for its duration (and restores it), so
//! it lives alone in this test binary: cargo runs test binaries one after another.
#![allow(clippy::unwrap_used)]

use dts_core::{CancellationToken, ChangeEvent, Operation, Source, SourceContext, TableId, Value};
use dts_mysql_source::precheck::{self, CheckStatus, PrecheckOptions};
use dts_mysql_source::protocol::{ConnectOptions, Connection};
use dts_mysql_source::{MySqlSource, MySqlSourceConfig};

const MODES: &str = "ANSI_QUOTES,NO_BACKSLASH_ESCAPES,PAD_CHAR_TO_FULL_LENGTH";

async fn admin() -> Connection {
    Connection::connect(&ConnectOptions::from_url(&dts_test_utils::mariadb_admin_url()).unwrap())
        .await
        .unwrap()
}

/// Prechecks, then schema + full migration of `db.*`, under the server's current default mode.
async fn read(db: &str) -> (Vec<String>, Vec<ChangeEvent>) {
    let url = dts_test_utils::mariadb_url();
    let opts = ConnectOptions::from_url(&url).unwrap();
    // The catalog API on a connection of one's own (as dts-migrate expands its selection).
    let mut conn = Connection::connect(&opts).await.unwrap();
    dts_mysql_source::catalog::plain_session(&mut conn)
        .await
        .unwrap();
    let named = vec![format!("{db}.back\\slash")];
    let found = dts_mysql_source::catalog::expand_tables(&mut conn, &named).await;
    assert_eq!(
        found.unwrap(),
        [TableId::new(db, "back\\slash")],
        "expanding {named:?}"
    );
    let report = precheck::run(
        &opts,
        &PrecheckOptions {
            tables: vec![TableId::new(db, "back\\slash")],
            incremental: false,
            start_file: None,
            server_id: 5893,
        },
    )
    .await;
    let failed = report
        .items
        .iter()
        .filter(|i| i.status == CheckStatus::Fail)
        .map(ToString::to_string)
        .collect();
    let mut config = MySqlSourceConfig::new(opts, 5893, vec![format!("{db}.*")]);
    config.incremental_migration = false;
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let cx = SourceContext::detached(tx, CancellationToken::new(), None);
    let collector = tokio::spawn(async move {
        let mut out = Vec::new();
        while let Some(ev) = rx.recv().await {
            out.push(ev);
        }
        out
    });
    let run = MySqlSource::new(config).run(cx).await;
    let events = collector.await.unwrap();
    run.unwrap();
    (failed, events)
}

#[tokio::test]
async fn the_servers_sql_mode_changes_nothing_the_source_reads() {
    let db = format!("dts_sql_mode_{}", std::process::id());
    let mut a = admin().await;
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
        format!("CREATE TABLE {db}.`back\\slash` (id INT PRIMARY KEY, c CHAR(8))"),
        format!("INSERT INTO {db}.`back\\slash` VALUES (1, 'ab')"),
    ] {
        a.execute(&sql).await.unwrap();
    }
    let old = a
        .query("SELECT @@GLOBAL.sql_mode AS m")
        .await
        .unwrap()
        .first("m")
        .unwrap();
    a.execute(&format!("SET GLOBAL sql_mode = '{MODES}'"))
        .await
        .unwrap();
    // New sessions take the global mode; restore it whatever the outcome.
    let outcome = tokio::spawn({
        let db = db.clone();
        async move { read(&db).await }
    })
    .await;
    a.execute(&format!("SET GLOBAL sql_mode = '{old}'"))
        .await
        .unwrap();
    let (failed, events) = outcome.unwrap();

    assert!(failed.is_empty(), "prechecks failed: {failed:#?}");
    let ddl = events
        .iter()
        .find(|e| e.op == Operation::Ddl)
        .and_then(|e| e.ddl.as_ref())
        .unwrap_or_else(|| panic!("no DDL record: {events:#?}"));
    assert!(
        ddl.sql.starts_with("CREATE TABLE `back\\slash` ("),
        "{}",
        ddl.sql
    );
    let rows: Vec<&Vec<Value>> = events
        .iter()
        .filter(|e| e.op == Operation::Init)
        .filter_map(|e| e.after.as_ref())
        .collect();
    assert_eq!(rows.len(), 1, "{events:#?}");
    assert_eq!(
        rows[0][1],
        Value::String(bytes::Bytes::from_static(b"ab")),
        "CHAR values come without the padding, as in the binlog"
    );
}
