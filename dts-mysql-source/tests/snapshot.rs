//! Full data migration against the live MariaDB: chunked, parallel, composite keys compared as
//! row values, keyless tables, checkpoint markers, and resuming at the first unfinished chunk.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use dts_core::{
    CancellationToken, ChangeEvent, Checkpoint, Operation, Position, Source, SourceContext, Value,
};
use dts_mysql_source::protocol::{ConnectOptions, Connection};
use dts_mysql_source::snapshot::SnapshotOptions;
use dts_mysql_source::{MySqlSource, MySqlSourceConfig};

async fn setup(db: &str) {
    let mut a = Connection::connect(
        &ConnectOptions::from_url(&dts_test_utils::mariadb_admin_url()).unwrap(),
    )
    .await
    .unwrap();
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
        format!(
            "CREATE TABLE {db}.single (id INT PRIMARY KEY, v VARCHAR(20), d DECIMAL(10,2), f FLOAT)"
        ),
        format!(
            "INSERT INTO {db}.single SELECT seq, CONCAT('v', seq), seq * 1.25, seq / 3 FROM {db}.seq_1_to_5000"
        ),
        // Few distinct `a`: chunk boundaries fall inside one `a`, so (a,b) must compare as a row.
        format!("CREATE TABLE {db}.composite (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b))"),
        format!(
            "INSERT INTO {db}.composite SELECT seq % 3, CONCAT('k', LPAD(seq, 5, '0')), seq FROM {db}.seq_1_to_3000"
        ),
        format!("CREATE TABLE {db}.keyless (x INT, y TEXT)"),
        format!(
            "INSERT INTO {db}.keyless SELECT seq % 10, REPEAT('y', seq % 7) FROM {db}.seq_1_to_500"
        ),
    ] {
        a.execute(&sql).await.unwrap();
    }
}

fn config(db: &str) -> MySqlSourceConfig {
    let mut c = MySqlSourceConfig::new(
        ConnectOptions::from_url(&dts_test_utils::mariadb_url()).unwrap(),
        54_100,
        vec![format!("{db}.*")],
    );
    c.incremental_migration = false;
    c.snapshot = SnapshotOptions {
        chunk_rows: 700,
        parallelism: 3,
        ..SnapshotOptions::default()
    };
    c
}

async fn run(config: MySqlSourceConfig, resume: Option<Checkpoint>) -> Vec<ChangeEvent> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let cx = SourceContext::detached(tx, CancellationToken::new(), resume);
    let collector = tokio::spawn(async move {
        let mut out = Vec::new();
        while let Some(ev) = rx.recv().await {
            out.push(ev);
        }
        out
    });
    MySqlSource::new(config).run(cx).await.unwrap();
    collector.await.unwrap()
}

fn rows_of<'a>(events: &'a [ChangeEvent], table: &str) -> Vec<&'a Vec<Value>> {
    events
        .iter()
        .filter(|e| e.op == Operation::Init && e.table_id().unwrap().table() == table)
        .map(|e| e.after.as_ref().unwrap())
        .collect()
}

#[tokio::test]
async fn every_row_exactly_once_then_resume_at_the_first_unfinished_chunk() {
    let db = format!("dts_snap_{}", std::process::id());
    setup(&db).await;
    let events = run(config(&db), None).await;

    let ddl: Vec<_> = events.iter().filter(|e| e.op == Operation::Ddl).collect();
    assert_eq!(ddl.len(), 3);
    assert!(
        ddl.iter()
            .all(|e| e.ddl.as_ref().unwrap().sql.starts_with("CREATE TABLE"))
    );
    let first_row = events.iter().position(|e| e.op == Operation::Init).unwrap();
    assert!(
        events[..first_row]
            .iter()
            .filter(|e| e.op == Operation::Ddl)
            .count()
            == 3,
        "schema before data"
    );

    let single = rows_of(&events, "single");
    assert_eq!(single.len(), 5000);
    let ids: BTreeSet<i64> = single
        .iter()
        .map(|r| match r[0] {
            Value::Int(i) => i,
            ref v => panic!("{v:?}"),
        })
        .collect();
    assert_eq!(ids, (1..=5000).collect());
    for r in &single {
        let Value::Int(id) = r[0] else { panic!() };
        assert_eq!(r[1], Value::String(format!("v{id}").into()));
        let Value::Decimal(d) = &r[2] else {
            panic!("{:?}", r[2])
        };
        assert_eq!(d.as_str(), format!("{:.2}", id as f64 * 1.25));
        assert_eq!(
            r[3],
            Value::Float(id as f32 / 3.0),
            "FLOAT read exactly (binary protocol)"
        );
    }
    let composite = rows_of(&events, "composite");
    let keys: BTreeSet<(i64, String)> = composite
        .iter()
        .map(|r| match (&r[0], &r[1]) {
            (Value::Int(a), Value::String(b)) => (*a, String::from_utf8(b.to_vec()).unwrap()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        composite.len(),
        3000,
        "no row lost or repeated across chunk boundaries"
    );
    assert_eq!(keys.len(), 3000);
    let keyless = rows_of(&events, "keyless");
    assert_eq!(keyless.len(), 500);

    // Checkpoints: the plan first, one per chunk, and at the end the whole snapshot done, with
    // the binlog position incremental migration starts from.
    let markers: Vec<&Position> = events
        .iter()
        .filter_map(|e| e.checkpoint.as_deref())
        .collect();
    let Some(Position::Snapshot(last_snapshot)) = markers.last() else {
        panic!("{:?}", markers.last())
    };
    assert!(
        last_snapshot
            .binlog_start
            .as_ref()
            .unwrap()
            .file
            .starts_with("mysql-bin.")
    );
    assert!(
        last_snapshot.tables.values().all(|t| t.done),
        "{last_snapshot:?}"
    );
    assert!(
        last_snapshot
            .tables
            .iter()
            .any(|(t, p)| t.table() == "keyless" && p.snapshot_position.is_some()),
        "the keyless table's exact snapshot position is kept"
    );
    let last_snapshot = (*last_snapshot).clone();
    let plan = &last_snapshot.tables[&dts_core::TableId::new(db.as_str(), "single")];
    assert_eq!(plan.chunks, 8, "5000 rows / 700 per chunk");

    // Resume: chunks 0..=2 of `single` done, everything of the others done.
    let mut resume = last_snapshot.clone();
    for (id, t) in &mut resume.tables {
        if id.table() == "single" {
            t.chunks_done = (0..3).collect();
            t.done = false;
        }
    }
    let again = run(
        config(&db),
        Some(Checkpoint::new(Position::Snapshot(resume), 1)),
    )
    .await;
    assert!(
        again.iter().all(|e| e.op != Operation::Ddl),
        "schema is not sent again"
    );
    let resumed = rows_of(&again, "single");
    let ids: BTreeMap<i64, ()> = resumed
        .iter()
        .map(|r| {
            (
                match r[0] {
                    Value::Int(i) => i,
                    _ => panic!(),
                },
                (),
            )
        })
        .collect();
    assert_eq!(ids.len(), resumed.len(), "no duplicates");
    assert_eq!(
        *ids.keys().next().unwrap(),
        2101,
        "starts after the third chunk (3 × 700)"
    );
    assert_eq!(*ids.keys().last().unwrap(), 5000);
    assert!(rows_of(&again, "composite").is_empty() && rows_of(&again, "keyless").is_empty());

    // Resume while the plan was still open (chunks are read as boundaries are found): three
    // boundaries known, chunks 0 and 2 done. The resumed run reads chunk 1, plans on from the
    // third boundary, and ends with the same plan as a run from scratch.
    let full_plan = plan.clone();
    let mut open = last_snapshot.clone();
    for (id, t) in &mut open.tables {
        if id.table() == "single" {
            t.boundaries.truncate(3);
            t.chunks = 3;
            t.planning = true;
            t.chunks_done = [0, 2].into_iter().collect();
            t.done = false;
        }
    }
    let third = run(
        config(&db),
        Some(Checkpoint::new(Position::Snapshot(open), 1)),
    )
    .await;
    let ids: BTreeSet<i64> = rows_of(&third, "single")
        .iter()
        .map(|r| match r[0] {
            Value::Int(i) => i,
            _ => panic!(),
        })
        .collect();
    let expected: BTreeSet<i64> = (701..=1400).chain(2101..=5000).collect();
    assert_eq!(
        ids, expected,
        "chunk 1 and everything above the known plan, once"
    );
    assert_eq!(
        rows_of(&third, "single").len(),
        expected.len(),
        "no duplicates"
    );
    let Some(Position::Snapshot(end)) = third
        .iter()
        .filter_map(|e| e.checkpoint.as_deref())
        .next_back()
    else {
        panic!("no final snapshot marker")
    };
    let end = &end.tables[&dts_core::TableId::new(db.as_str(), "single")];
    assert!(end.done && !end.planning, "{end:?}");
    assert_eq!(
        end.boundaries, full_plan.boundaries,
        "planned on to the same chunks"
    );
    assert_eq!(end.chunks, 8);
}
