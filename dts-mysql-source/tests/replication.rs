//! The replication client against the live MariaDB (`scripts/mariadb.sh`): log in as the DTS
//! user (only SELECT, REPLICATION CLIENT, REPLICATION SLAVE, SHOW VIEW), register as a replica,
//! stream the binlog into our decoder; heartbeats; errors for a wrong password, an unreachable
//! server, a missing binlog and a killed connection.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::time::Duration;

use bytes::Bytes;
use dts_core::Value;
use dts_mysql_source::Error;
use dts_mysql_source::binlog::{ChecksumAlg, Event, EventDecoder, EventType, RowPlan};
use dts_mysql_source::protocol::{
    BinlogStart, ConnectOptions, Connection, ReplicaOptions, StreamItem,
};

fn dts_user() -> ConnectOptions {
    ConnectOptions::from_url(&dts_test_utils::mariadb_url()).unwrap()
}

fn admin() -> ConnectOptions {
    ConnectOptions::from_url(&dts_test_utils::mariadb_admin_url()).unwrap()
}

async fn master_position(c: &mut Connection) -> (String, u64) {
    let r = c.query("SHOW MASTER STATUS").await.unwrap();
    (
        r.first("File").unwrap(),
        r.first("Position").unwrap().parse().unwrap(),
    )
}

async fn checksum(c: &mut Connection) -> ChecksumAlg {
    let r = c
        .query("SELECT @@global.binlog_checksum AS c")
        .await
        .unwrap();
    if r.first("c").unwrap() == "CRC32" {
        ChecksumAlg::Crc32
    } else {
        ChecksumAlg::Off
    }
}

#[tokio::test]
async fn streams_rows_written_after_the_start_position() {
    let mut a = Connection::connect(&admin()).await.unwrap();
    let db = format!("dts_repl_{}", std::process::id());
    a.execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .await
        .unwrap();
    a.execute(&format!("CREATE DATABASE {db}")).await.unwrap();
    a.execute(&format!(
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))"
    ))
    .await
    .unwrap();

    let mut c = Connection::connect(&dts_user()).await.unwrap();
    assert!(c.server().is_mariadb(), "{:?}", c.server());
    let (file, offset) = master_position(&mut c).await;
    let alg = checksum(&mut c).await;
    for i in 0..3 {
        a.execute(&format!("INSERT INTO {db}.t VALUES ({i}, 'row {i}')"))
            .await
            .unwrap();
    }
    c.start_replication(&ReplicaOptions {
        server_id: 54_001,
        start: BinlogStart::Position {
            file: file.clone(),
            offset,
        },
        heartbeat: Duration::from_secs(1),
        non_blocking: true,
    })
    .await
    .unwrap();

    let mut decoder = EventDecoder::default();
    decoder.assume_checksum(alg);
    let mut rows = Vec::new();
    let mut types = Vec::new();
    while let StreamItem::Event(raw) = c.next_event().await.unwrap() {
        let ev = decoder.decode(&raw).unwrap_or_else(|e| panic!("{e}"));
        types.push(ev.header.event_type);
        if let Event::Rotate { next_file, .. } = &ev.event {
            assert_eq!(
                String::from_utf8_lossy(next_file),
                file,
                "first event: ROTATE to the start file"
            );
        }
        if let Event::Rows(r) = &ev.event
            && r.table.schema == db.as_bytes()
        {
            let plan = RowPlan::new(&r.table);
            for row in r.rows(&plan) {
                rows.push(row.unwrap().after.unwrap());
            }
        }
    }
    assert_eq!(types[0], EventType::Rotate);
    assert_eq!(types[1], EventType::FormatDescription);
    assert!(types.contains(&EventType::MariaGtid), "{types:?}");
    assert_eq!(rows.len(), 3, "{types:?}");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], Value::Int(i64::try_from(i).unwrap()));
        assert_eq!(row[1], Value::String(Bytes::from(format!("row {i}"))));
    }
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}

#[tokio::test]
async fn an_idle_stream_gets_heartbeats_and_new_events() {
    let mut c = Connection::connect(&dts_user()).await.unwrap();
    let (file, offset) = master_position(&mut c).await;
    let alg = checksum(&mut c).await;
    c.start_replication(&ReplicaOptions {
        server_id: 54_002,
        start: BinlogStart::Position { file, offset },
        heartbeat: Duration::from_millis(300),
        non_blocking: false,
    })
    .await
    .unwrap();
    let mut decoder = EventDecoder::default();
    decoder.assume_checksum(alg);
    let mut heartbeats = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while heartbeats < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no heartbeats within 10 s"
        );
        if let StreamItem::Event(raw) = c.next_event().await.unwrap() {
            let ev = decoder.decode(&raw).unwrap();
            if ev.header.event_type == EventType::Heartbeat {
                heartbeats += 1;
            }
        }
    }
}

#[tokio::test]
async fn a_killed_connection_is_a_retriable_error() {
    let mut c = Connection::connect(&dts_user()).await.unwrap();
    let (file, offset) = master_position(&mut c).await;
    let id = c.server().connection_id;
    c.start_replication(&ReplicaOptions {
        server_id: 54_003,
        start: BinlogStart::Position { file, offset },
        heartbeat: Duration::from_secs(1),
        non_blocking: false,
    })
    .await
    .unwrap();
    // Drain the first events, then kill the connection from the server side.
    for _ in 0..2 {
        c.next_event().await.unwrap();
    }
    let mut a = Connection::connect(&admin()).await.unwrap();
    a.execute(&format!("KILL {id}")).await.unwrap();
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(10), c.next_event())
            .await
            .expect("the kill is noticed")
        {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert!(err.is_retriable(), "{err:?}");
}

#[tokio::test]
async fn a_missing_binlog_is_a_clear_server_error() {
    let mut c = Connection::connect(&dts_user()).await.unwrap();
    c.start_replication(&ReplicaOptions {
        server_id: 54_004,
        start: BinlogStart::Position {
            file: "mysql-bin.999999".into(),
            offset: 4,
        },
        heartbeat: Duration::ZERO,
        non_blocking: true,
    })
    .await
    .unwrap();
    let err = c.next_event().await.unwrap_err();
    assert_eq!(err.server_code(), Some(1236), "{err}");
    assert!(err.to_string().contains("binlog"), "{err}");
    assert!(!err.is_retriable());
}

#[tokio::test]
async fn login_errors_name_the_user_never_the_password() {
    let mut o = dts_user();
    o.password = "definitely-wrong-pw".into();
    let err = Connection::connect(&o).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(
        text.contains("\"dts\"") && !text.contains("definitely-wrong-pw"),
        "{text}"
    );
    assert!(!format!("{err:?}").contains("definitely-wrong-pw"));

    let mut o = dts_user();
    o.port = 1; // nothing listens there
    o.connect_timeout = Duration::from_secs(3);
    let err = Connection::connect(&o).await.unwrap_err();
    assert!(err.to_string().contains(":1"), "{err}");
    assert!(err.is_retriable());
}

#[tokio::test]
async fn the_dts_user_can_read_but_not_write() {
    let mut c = Connection::connect(&dts_user()).await.unwrap();
    let r = c
        .query("SELECT 1 AS one, NULL AS nothing, 'x' AS s")
        .await
        .unwrap();
    assert_eq!(r.columns, ["one", "nothing", "s"]);
    assert_eq!(
        r.rows,
        vec![vec![Some(Bytes::from("1")), None, Some(Bytes::from("x"))]]
    );
    let err = c
        .execute("CREATE DATABASE dts_should_not_exist")
        .await
        .unwrap_err();
    assert_eq!(err.server_code(), Some(1044), "{err}");
    c.close().await.unwrap();
}
