//! The server's default `sql_mode` changes nothing the source reads: catalog lookups of a table
//! whose name holds a backslash, `SHOW CREATE TABLE` quoting, snapshot `CHAR` values.
//!
//! The test sets the private MariaDB's GLOBAL `sql_mode` for its duration (and restores it), so
//! it lives alone in this test binary: cargo runs test binaries one after another.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{SourceRun, dts_user, fresh_database};
use dts_core::{ChangeEvent, Operation, TableId, Value};
use dts_mysql_source::MySqlSourceConfig;
use dts_mysql_source::catalog;
use dts_mysql_source::precheck::{self, CheckStatus, PrecheckOptions};
use dts_mysql_source::protocol::Connection;

const MODES: &str = "ANSI_QUOTES,NO_BACKSLASH_ESCAPES,PAD_CHAR_TO_FULL_LENGTH";

/// Under the server's current default mode: the selection expanded on a connection of one's
/// own (as dts-migrate does), the failed prechecks, and the events of a schema + full
/// migration of `db.*`.
async fn read(db: &str) -> (Vec<TableId>, Vec<String>, Vec<ChangeEvent>) {
    let opts = dts_user();
    let mut conn = Connection::connect(&opts).await.unwrap();
    catalog::plain_session(&mut conn).await.unwrap();
    let named = catalog::expand_tables(&mut conn, &[format!("{db}.back\\slash")])
        .await
        .unwrap();
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
    let run = SourceRun::start(config, None);
    run.wait_until(Duration::from_secs(30), |_| false).await;
    let (events, result) = run.stop().await;
    result.unwrap();
    (named, failed, events)
}

#[tokio::test]
async fn the_servers_sql_mode_changes_nothing_the_source_reads() {
    let db = format!("dts_sql_mode_{}", std::process::id());
    let mut a = fresh_database(
        &db,
        &[
            format!("CREATE TABLE {db}.`back\\slash` (id INT PRIMARY KEY, c CHAR(8))"),
            format!("INSERT INTO {db}.`back\\slash` VALUES (1, 'ab')"),
        ],
    )
    .await;
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
    let (named, failed, events) = outcome.unwrap();

    assert_eq!(
        named,
        [TableId::new(db.as_str(), "back\\slash")],
        "selection"
    );
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
