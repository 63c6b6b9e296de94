//! `dts-tail` against the real broker `scripts/kafka.sh` starts (tansu): create a topic, produce
//! records written by `DtsAvroCodec`, and check what `dts-tail` prints. Fails (never skips) when
//! `DTS_KAFKA_BOOTSTRAP` is not set.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use dts_avro::DtsAvroConfig;
use dts_core::{
    BinlogPosition, ChangeEvent, Codec, ColumnDef, ColumnType, Ddl, KeyDef, TableId, TableSchema,
    Value,
};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::Value as Json;

fn topic_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("dts-tail-{}-{nanos}", std::process::id())
}

fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = futures::executor::block_on(admin.create_topics([&new], &opts)).unwrap();
    for r in results {
        r.unwrap();
    }
}

fn events() -> Vec<ChangeEvent> {
    let mut name = ColumnDef::new("name", ColumnType::VarChar);
    name.charset = Some("utf8mb4".into());
    let table = Arc::new(
        TableSchema::new(
            TableId::new("shop", "orders"),
            vec![ColumnDef::new("id", ColumnType::BigInt), name],
            Some(KeyDef {
                name: "PRIMARY".into(),
                columns: vec![0],
            }),
            vec![],
        )
        .unwrap(),
    );
    let row = |id: i64, n: &str| vec![Value::Int(id), Value::String(Bytes::from(n.to_owned()))];
    let mut events = vec![
        ChangeEvent::ddl(Ddl {
            db: Some("shop".into()),
            table: Some(TableId::new("shop", "orders")),
            sql: "CREATE TABLE orders (id BIGINT PRIMARY KEY, name VARCHAR(20))".into(),
        }),
        ChangeEvent::init(table.clone(), row(1, "ann")),
        ChangeEvent::insert(table.clone(), row(2, "bö")),
        ChangeEvent::update(table.clone(), row(2, "bö"), row(2, "bob")),
        ChangeEvent::delete(table, row(1, "ann")),
    ];
    for (i, ev) in (0u64..).zip(events.iter_mut()) {
        ev.id = 100 + i;
        ev.position = Some(BinlogPosition::new("mysql-bin.000003", 1000 + i));
        ev.source_ts_ms = 1_700_000_000_000;
    }
    events
}

/// Produces the events: the DDL and even ids to partition 0, others to partition 1; one
/// undecodable value at the end of partition 0 when `garbage`.
fn produce(bootstrap: &str, topic: &str, events: &[ChangeEvent], garbage: bool) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "0")
        .create()
        .unwrap();
    let mut codec = DtsAvroConfig::new("10.11.6-MariaDB").build();
    for (i, ev) in events.iter().enumerate() {
        let (mut key, mut value) = (BytesMut::new(), BytesMut::new());
        codec.encode_key(ev, &mut key).unwrap();
        codec.encode_value(ev, &mut value).unwrap();
        let partition = i32::from(i % 2 == 1);
        producer
            .send(
                BaseRecord::to(topic)
                    .partition(partition)
                    .key(&key[..])
                    .payload(&value[..]),
            )
            .map_err(|(e, _)| e)
            .unwrap();
        // One record per produce request: tansu's offsets are exact then.
        producer.flush(Duration::from_secs(10)).unwrap();
    }
    if garbage {
        producer
            .send(
                BaseRecord::<[u8], [u8]>::to(topic)
                    .partition(0)
                    .payload(&[0xff, 0x01][..]),
            )
            .map_err(|(e, _)| e)
            .unwrap();
        producer.flush(Duration::from_secs(10)).unwrap();
    }
}

/// Runs dts-tail; its exit status (0 or 2, anything else fails the test) and JSON lines.
fn tail(bootstrap: &str, args: &[&str]) -> (Option<i32>, Vec<Json>) {
    let out = Command::new(env!("CARGO_BIN_EXE_dts-tail"))
        .args(["--bootstrap", bootstrap, "--idle-ms", "3000"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "dts-tail failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), lines)
}

#[test]
fn prints_every_record_of_every_partition_as_json() {
    let bootstrap = dts_test_utils::kafka_bootstrap();
    let topic = topic_name();
    create_topic(&bootstrap, &topic, 2);
    let events = events();
    produce(&bootstrap, &topic, &events, false);

    let (code, mut lines) = tail(&bootstrap, &["--topic", &topic]);
    assert_eq!(code, Some(0));
    assert_eq!(lines.len(), events.len(), "{lines:#?}");
    lines.sort_by_key(|l| l["record"]["id"].as_i64().unwrap());
    let ops: Vec<&str> = lines
        .iter()
        .map(|l| l["record"]["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["DDL", "INIT", "INSERT", "UPDATE", "DELETE"]);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["topic"], topic.as_str());
        assert_eq!(l["partition"], i64::from(i % 2 == 1), "{l}");
        assert_eq!(l["record"]["source"]["version"], "10.11.6-MariaDB");
        assert_eq!(l["record"]["sourcePosition"], format!("{}@3", 1000 + i));
    }
    assert_eq!(lines[0]["key"], "shop");
    assert_eq!(
        lines[0]["record"]["afterImages"],
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, name VARCHAR(20))"
    );
    let update = &lines[3];
    assert_eq!(update["key"], "shop.orders:2");
    assert_eq!(update["record"]["objectName"], "shop.orders");
    assert_eq!(
        update["record"]["beforeImages"][1]["Character"]["value"],
        "bö"
    );
    assert_eq!(update["record"]["afterImages"][0]["Integer"]["value"], "2");
    assert_eq!(
        update["record"]["tags"]["pk_uk_info"],
        r#"{"PRIMARY":["id"]}"#
    );
    assert_eq!(lines[4]["record"]["afterImages"], Json::Null);
}

#[test]
fn starts_at_an_offset_of_chosen_partitions_and_reports_bad_values() {
    let bootstrap = dts_test_utils::kafka_bootstrap();
    let topic = topic_name();
    create_topic(&bootstrap, &topic, 2);
    produce(&bootstrap, &topic, &events(), true);

    // Partition 1 holds INIT (offset 0) and UPDATE (offset 1).
    let (code, lines) = tail(
        &bootstrap,
        &["--topic", &topic, "--partition", "1", "--offset", "1"],
    );
    assert_eq!(code, Some(0));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(
        (lines[0]["partition"].as_i64(), lines[0]["offset"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(lines[0]["record"]["operation"], "UPDATE");

    // Partition 0: DDL, INSERT, DELETE, then the undecodable value.
    let (code, lines) = tail(
        &bootstrap,
        &["--topic", &topic, "--partition", "0", "--max", "10"],
    );
    assert_eq!(code, Some(2), "an undecodable value sets exit status 2");
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let bad = &lines[3];
    assert_eq!(bad["value_hex"], "ff01");
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("invalid DTS Avro record"),
        "{bad}"
    );

    // --max stops early.
    let (_, lines) = tail(&bootstrap, &["--topic", &topic, "--max", "2"]);
    assert_eq!(lines.len(), 2);
}

#[test]
fn a_missing_topic_is_a_clear_error() {
    let bootstrap = dts_test_utils::kafka_bootstrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dts-tail"))
        .args([
            "--bootstrap",
            &bootstrap,
            "--topic",
            &topic_name(),
            "--idle-ms",
            "500",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dts-tail:"), "{err}");
}

#[test]
fn a_reader_that_goes_away_ends_it_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    // `--help` into a pipe nobody reads: before the fix, `println!` panicked (status 101).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_dts-tail"))
        .arg("--help")
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `dts-tail … | head -1`: more records than a pipe buffers, and the reader leaves after
    // the first line. Before the fix, the closed pipe was reported as an error (status 1).
    let bootstrap = dts_test_utils::kafka_bootstrap();
    let topic = topic_name();
    create_topic(&bootstrap, &topic, 1);
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let mut codec = DtsAvroConfig::new("10.11.6-MariaDB").build();
    let update = &events()[3];
    let (mut key, mut value) = (BytesMut::new(), BytesMut::new());
    codec.encode_key(update, &mut key).unwrap();
    codec.encode_value(update, &mut value).unwrap();
    for _ in 0..400 {
        producer
            .send(BaseRecord::to(&topic).key(&key[..]).payload(&value[..]))
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_dts-tail"))
        .args([
            "--bootstrap",
            &bootstrap,
            "--idle-ms",
            "3000",
            "--topic",
            &topic,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("UPDATE"), "{first}");
    // More than the pipe (64 KiB) and dts-tail's buffer (8 KiB) hold, so it meets the closed
    // pipe instead of finishing its writes into the pipe buffer.
    assert!(
        first.len() * 400 > 4 * 72 * 1024,
        "lines of {} bytes",
        first.len()
    );
    // The reader is dropped here: the pipe is closed with ~400 KB still to come.
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
