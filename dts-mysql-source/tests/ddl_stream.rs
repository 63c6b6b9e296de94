//! DDL while rows keep flowing (live MariaDB): columns added, dropped and reordered between
//! inserts; every streamed row lands under the right column names; DDL becomes `Ddl` events;
//! a table created later under a `db.*` selection is followed too.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{SourceRun, dts_user, fresh_database};
use dts_core::{ChangeEvent, Operation, Value};
use dts_mysql_source::MySqlSourceConfig;

fn by_name<'a>(ev: &'a ChangeEvent, name: &str) -> &'a Value {
    let table = ev.table.as_ref().unwrap();
    let (i, _) = table
        .column(name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", table.columns()));
    &ev.after.as_ref().unwrap()[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_keep_their_column_names_across_add_drop_and_reorder() {
    let db = format!("dts_ddl_{}", std::process::id());
    let mut a = fresh_database(
        &db,
        &[format!(
            "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))"
        )],
    )
    .await;
    let mut config = MySqlSourceConfig::new(dts_user(), 54_300, vec![format!("{db}.*")]);
    config.full_migration = false;
    config.heartbeat = Duration::from_millis(200);
    let run = SourceRun::start(config, None);
    // Wait for the stream to start (schema DDL event sent, then incremental phase).
    tokio::time::sleep(Duration::from_millis(500)).await;
    for sql in [
        format!("INSERT INTO {db}.t VALUES (1, 'one')"),
        format!("ALTER TABLE {db}.t ADD COLUMN c INT AFTER id"),
        format!("INSERT INTO {db}.t VALUES (2, 20, 'two')"),
        format!("ALTER TABLE {db}.t DROP COLUMN v"),
        format!("INSERT INTO {db}.t VALUES (3, 30)"),
        format!("ALTER TABLE {db}.t ADD COLUMN w VARCHAR(5) FIRST, MODIFY c BIGINT AFTER w"),
        format!("INSERT INTO {db}.t (id, c, w) VALUES (4, 40, 'four')"),
        format!("CREATE TABLE {db}.later (k INT PRIMARY KEY, s TEXT)"),
        format!("INSERT INTO {db}.later VALUES (7, 'seven')"),
        format!("RENAME TABLE {db}.later TO {db}.renamed"),
        format!("INSERT INTO {db}.renamed VALUES (8, 'eight')"),
    ] {
        a.execute(&sql).await.unwrap();
    }
    run.wait_until(Duration::from_secs(20), |e| {
        e.iter().filter(|e| e.op == Operation::Insert).count() >= 6
    })
    .await;
    let (events, result) = run.stop().await;
    result.unwrap();
    let inserts: Vec<&ChangeEvent> = events
        .iter()
        .filter(|e| e.op == Operation::Insert)
        .collect();
    assert_eq!(inserts.len(), 6, "{events:#?}");
    assert_eq!(*by_name(inserts[0], "v"), Value::String(Bytes::from("one")));
    assert_eq!(inserts[0].table.as_ref().unwrap().columns().len(), 2);
    assert_eq!(
        (by_name(inserts[1], "c"), by_name(inserts[1], "v")),
        (&Value::Int(20), &Value::String(Bytes::from("two")))
    );
    assert_eq!(*by_name(inserts[2], "c"), Value::Int(30));
    assert!(inserts[2].table.as_ref().unwrap().column("v").is_none());
    let cols: Vec<&str> = inserts[3]
        .table
        .as_ref()
        .unwrap()
        .columns()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(cols, ["w", "c", "id"]);
    assert_eq!(
        (
            by_name(inserts[3], "w"),
            by_name(inserts[3], "c"),
            by_name(inserts[3], "id")
        ),
        (
            &Value::String(Bytes::from("four")),
            &Value::Int(40),
            &Value::Int(4)
        )
    );
    assert_eq!(inserts[4].table_id().unwrap().table(), "later");
    assert_eq!(
        *by_name(inserts[4], "s"),
        Value::String(Bytes::from("seven"))
    );
    assert_eq!(inserts[5].table_id().unwrap().table(), "renamed");
    // Versions differ across the DDL, and each DDL on a selected table is an event.
    let versions: std::collections::BTreeSet<u64> = inserts[..4]
        .iter()
        .map(|e| e.table.as_ref().unwrap().version())
        .collect();
    assert_eq!(versions.len(), 4);
    let ddl: Vec<&str> = events
        .iter()
        .filter(|e| e.op == Operation::Ddl)
        .map(|e| e.ddl.as_ref().unwrap().sql.as_str())
        .collect();
    assert!(ddl.iter().any(|s| s.contains("ADD COLUMN c")), "{ddl:?}");
    assert!(ddl.iter().any(|s| s.contains("DROP COLUMN v")));
    assert!(
        ddl.iter().any(|s| s.contains("CREATE TABLE"))
            && ddl.iter().any(|s| s.contains("RENAME TABLE"))
    );
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}

/// Runs a source until `n` inserts arrived (or 20 s), then stops it.
async fn run_until(
    config: MySqlSourceConfig,
    resume: Option<dts_core::Checkpoint>,
    n: usize,
) -> (Vec<ChangeEvent>, Result<(), dts_mysql_source::Error>) {
    let run = SourceRun::start(config, resume);
    run.wait_until(Duration::from_secs(20), |e| {
        e.iter().filter(|e| e.op == Operation::Insert).count() >= n
    })
    .await;
    run.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_before_a_ddl_decodes_with_the_definitions_saved_in_the_checkpoint() {
    let db = format!("dts_ddl_resume_{}", std::process::id());
    let mut a = fresh_database(
        &db,
        &[format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")],
    )
    .await;
    let mut config = MySqlSourceConfig::new(dts_user(), 54_310, vec![format!("{db}.t")]);
    config.full_migration = false;
    config.schema_migration = false;
    config.heartbeat = Duration::from_millis(200);

    // First run: sees row 1 and stops; its last checkpoint is before the DDL below.
    let first = tokio::spawn(run_until(config.clone(), None, 1));
    tokio::time::sleep(Duration::from_millis(400)).await;
    a.execute(&format!("INSERT INTO {db}.t VALUES (1, 10)"))
        .await
        .unwrap();
    let (events, result) = first.await.unwrap();
    result.unwrap();
    let checkpoint = events
        .iter()
        .rev()
        .find(|e| e.op == Operation::Commit)
        .and_then(|e| e.checkpoint.as_deref().cloned())
        .expect("a commit checkpoint after row 1");
    let dts_core::Position::Binlog {
        tables: Some(saved),
        ..
    } = &checkpoint
    else {
        panic!("{checkpoint:?}")
    };
    assert_eq!(
        saved[0].columns().len(),
        2,
        "definitions as of the checkpoint"
    );

    // While the task is down: DDL and a row with the new column.
    a.execute(&format!(
        "ALTER TABLE {db}.t ADD COLUMN c VARCHAR(5) AFTER id"
    ))
    .await
    .unwrap();
    a.execute(&format!("INSERT INTO {db}.t VALUES (2, 'two', 20)"))
        .await
        .unwrap();

    // Resume: today's definition already has `c`; replaying the ALTER onto it would be wrong.
    let (events, result) =
        run_until(config, Some(dts_core::Checkpoint::new(checkpoint, 1)), 1).await;
    result.unwrap();
    let inserts: Vec<&ChangeEvent> = events
        .iter()
        .filter(|e| e.op == Operation::Insert)
        .collect();
    assert_eq!(inserts.len(), 1, "{events:#?}");
    assert_eq!(*by_name(inserts[0], "c"), Value::String(Bytes::from("two")));
    assert_eq!(*by_name(inserts[0], "v"), Value::Int(20));
    assert!(events.iter().any(|e| e.op == Operation::Ddl && e.ddl.as_ref().unwrap().sql.contains("ADD COLUMN c")));
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}
