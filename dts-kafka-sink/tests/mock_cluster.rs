//! KafkaSink on rdkafka's mock cluster: every record delivered to its DTS partition, refused
//! records stop the pipeline with a clear error and no checkpoint past them, too-large records
//! name table, key and size, missing topics are reported, a small client queue only slows down,
//! retriable produce errors, a broker down for seconds and a 400 ms round trip lose nothing.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::num::NonZeroU32;
use std::time::Duration;

use bytes::Bytes;
use dts_avro::DtsAvroConfig;
use dts_core::{
    BinlogPosition, CancellationToken, ChangeEvent, MemoryCheckpointStore, Pipeline, Position,
    TopicRouter, Value,
};
use dts_kafka_sink::{
    DtsPartitioner, Error, KafkaSink, KafkaSinkConfig, PartitionPolicy, java_hash,
};
use dts_test_utils::{VecSource, test_table};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rdkafka::{Message, Offset, TopicPartitionList};

fn inserts(n: i64, payload: usize) -> Vec<ChangeEvent> {
    let t = test_table();
    (0..n)
        .map(|i| {
            ChangeEvent::insert(
                t.clone(),
                vec![
                    Value::Int(i),
                    Value::Bytes(Bytes::from(vec![b'x'; payload])),
                ],
            )
            .at(BinlogPosition::new(
                "mysql-bin.000001",
                u64::try_from(i).unwrap() * 100 + 4,
            ))
            .with_source_ts_ms(1_700_000_000_000)
            .with_checkpoint(Position::binlog(BinlogPosition::new(
                "mysql-bin.000001",
                u64::try_from(i).unwrap() * 100 + 104,
            )))
        })
        .collect()
}

fn sink_config(servers: &str) -> KafkaSinkConfig {
    let mut c = KafkaSinkConfig::new(servers);
    c.timeout = Duration::from_secs(10);
    c
}

async fn run(
    servers: &str,
    config: KafkaSinkConfig,
    events: Vec<ChangeEvent>,
    store: MemoryCheckpointStore,
) -> Result<dts_core::PipelineReport, dts_core::Error> {
    let _ = servers;
    Pipeline::builder()
        .source(VecSource::new(events))
        .codec(DtsAvroConfig::new("10.11.6-MariaDB").build())
        .partitioner(DtsPartitioner::new(PartitionPolicy::PrimaryKey))
        .sink(KafkaSink::new(config).unwrap())
        .topics(TopicRouter::new("dts"))
        .checkpoint_store(store)
        .checkpoint_interval(Duration::from_millis(50))
        .build()
        .unwrap()
        .run(CancellationToken::new())
        .await
}

fn consume_all(servers: &str, topic: &str, partitions: i32, expect: usize) -> Vec<(i32, Vec<u8>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", "dts-test")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    // Read until `expect` distinct keys arrived (duplicates may come too), then drain what is left.
    let mut out = Vec::new();
    let mut keys = std::collections::HashSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while keys.len() < expect && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let key = m.key().unwrap_or_default().to_vec();
            keys.insert(key.clone());
            out.push((m.partition(), key));
        }
    }
    while let Some(Ok(m)) = consumer.poll(Duration::from_millis(300)) {
        out.push((m.partition(), m.key().unwrap_or_default().to_vec()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_lands_in_its_primary_key_partition() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("dts", 4, 1).unwrap();
    let servers = mock.bootstrap_servers();
    let store = MemoryCheckpointStore::new();
    let report = run(
        &servers,
        sink_config(&servers),
        inserts(200, 16),
        store.clone(),
    )
    .await
    .unwrap();
    assert_eq!(report.records_acked, 200);
    let Some(Position::Binlog { binlog, .. }) = store.get().map(|c| c.position) else {
        panic!()
    };
    assert_eq!(
        binlog.offset,
        199 * 100 + 104,
        "checkpoint after the last record"
    );
    let got = consume_all(&servers, "dts", 4, 200);
    assert_eq!(got.len(), 200);
    let four = NonZeroU32::new(4).unwrap();
    for (partition, key) in got {
        let key = String::from_utf8(key).unwrap();
        let id = key.rsplit_once(':').unwrap().1;
        let want = (java_hash(id).cast_unsigned() & 0x7fff_ffff) % four.get();
        assert_eq!(u32::try_from(partition).unwrap(), want, "key {key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_record_stops_the_pipeline_without_a_checkpoint_past_it() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("dts", 1, 1).unwrap();
    let servers = mock.bootstrap_servers();
    // Let the first records through, then refuse everything (authorization is not retriable).
    let store = MemoryCheckpointStore::new();
    let ok = run(
        &servers,
        sink_config(&servers),
        inserts(5, 8),
        store.clone(),
    )
    .await
    .unwrap();
    assert_eq!(ok.records_acked, 5);
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED; 50],
    );
    let store = MemoryCheckpointStore::new();
    let err = tokio::time::timeout(
        Duration::from_secs(60),
        run(
            &servers,
            sink_config(&servers),
            inserts(10, 8),
            store.clone(),
        ),
    )
    .await
    .expect("a refused record must stop the pipeline")
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("uthoriz"), "{text}");
    assert!(text.contains("db.t"), "names the record's table: {text}");
    assert_eq!(
        store.get(),
        None,
        "nothing acknowledged, nothing checkpointed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_large_record_names_table_key_and_size() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("dts", 1, 1).unwrap();
    let servers = mock.bootstrap_servers();
    let mut config = sink_config(&servers);
    config.message_max_bytes = 2000;
    let mut events = inserts(3, 10);
    events.extend(inserts(5, 5000).into_iter().skip(3));
    let store = MemoryCheckpointStore::new();
    let err = run(&servers, config, events, store.clone())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("db.t") && text.contains("db.t:3") && text.contains("bytes"),
        "{text}"
    );
    // The records before it may or may not have been acknowledged when it was refused; the
    // checkpoint never covers the refused one.
    if let Some(Position::Binlog { binlog, .. }) = store.get().map(|c| c.position) {
        assert!(
            binlog.offset <= 2 * 100 + 104,
            "checkpoint past the refused record: {binlog}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_client_queue_slows_down_but_loses_nothing() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("dts", 2, 1).unwrap();
    mock.broker_round_trip_time(1, Duration::from_millis(20))
        .unwrap();
    let servers = mock.bootstrap_servers();
    let mut config = sink_config(&servers);
    config.queue_max_messages = 5;
    config.linger = Duration::ZERO;
    let store = MemoryCheckpointStore::new();
    let report = run(&servers, config, inserts(300, 8), store.clone())
        .await
        .unwrap();
    assert_eq!(report.records_acked, 300);
    assert_eq!(consume_all(&servers, "dts", 2, 300).len(), 300);
}

/// Distinct message keys among the consumed records, and how many records were duplicates.
fn distinct_keys(records: &[(i32, Vec<u8>)]) -> (usize, usize) {
    let keys: std::collections::HashSet<&Vec<u8>> = records.iter().map(|(_, k)| k).collect();
    (keys.len(), records.len() - keys.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retriable_produce_errors_are_retried_and_lose_nothing() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("dts", 2, 1).unwrap();
    let servers = mock.bootstrap_servers();
    // The next produce requests fail with errors a producer must retry, not report.
    let mut errors = vec![RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION; 4];
    errors.extend([RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT; 4]);
    errors.extend([RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS; 4]);
    mock.request_errors(RDKafkaApiKey::Produce, &errors);
    let store = MemoryCheckpointStore::new();
    let report = tokio::time::timeout(
        Duration::from_secs(60),
        run(
            &servers,
            sink_config(&servers),
            inserts(500, 8),
            store.clone(),
        ),
    )
    .await
    .expect("retries must finish")
    .unwrap();
    assert_eq!(report.records_acked, 500);
    let consumed = consume_all(&servers, "dts", 2, 500);
    let (distinct, duplicates) = distinct_keys(&consumed);
    assert_eq!(distinct, 500, "every record delivered");
    eprintln!("retriable errors: {duplicates} duplicates");
    assert!(store.get().is_some(), "the checkpoint advanced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_down_for_seconds_delays_but_loses_nothing() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("dts", 2, 1).unwrap();
    // A slow broker and a tiny client queue keep the pipeline busy while the broker goes down.
    mock.broker_round_trip_time(1, Duration::from_millis(50))
        .unwrap();
    let servers = mock.bootstrap_servers();
    let mut config = sink_config(&servers);
    config.queue_max_messages = 5;
    config.linger = Duration::ZERO;
    let store = MemoryCheckpointStore::new();
    let task = {
        let (servers, store) = (servers.clone(), store.clone());
        tokio::spawn(async move { run(&servers, config, inserts(400, 8), store).await })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !task.is_finished(),
        "the pipeline must still be running when the broker goes down"
    );
    mock.broker_down(1).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    mock.broker_up(1).unwrap();
    let report = tokio::time::timeout(Duration::from_secs(90), task)
        .await
        .expect("the pipeline recovers once the broker is back")
        .unwrap()
        .unwrap();
    assert_eq!(report.records_acked, 400);
    let consumed = consume_all(&servers, "dts", 2, 400);
    let (distinct, duplicates) = distinct_keys(&consumed);
    assert_eq!(distinct, 400, "every record delivered");
    eprintln!("broker down 3 s: {duplicates} duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_high_round_trip_time_only_slows_down() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("dts", 4, 1).unwrap();
    mock.broker_round_trip_time(1, Duration::from_millis(400))
        .unwrap();
    let servers = mock.bootstrap_servers();
    let store = MemoryCheckpointStore::new();
    let report = tokio::time::timeout(
        Duration::from_secs(90),
        run(
            &servers,
            sink_config(&servers),
            inserts(2000, 64),
            store.clone(),
        ),
    )
    .await
    .expect("a slow broker must not stall the pipeline")
    .unwrap();
    assert_eq!(report.records_acked, 2000);
    let (distinct, _) = distinct_keys(&consume_all(&servers, "dts", 4, 2000));
    assert_eq!(distinct, 2000);
}

/// A broker that auto-creates topics on metadata requests (Kafka's default
/// `auto.create.topics.enable=true`; the mock cluster does the same) must not get a missing topic
/// created by a mere check (it was, with the broker's default partition count, before
/// `allow.auto.create.topics=false`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checking_topics_never_auto_creates_them() {
    let mock = MockCluster::new(1).unwrap();
    let servers = mock.bootstrap_servers();
    let sink = KafkaSink::new(sink_config(&servers)).unwrap();
    let err = sink
        .ensure_topics(&["absent".to_owned()], None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::MissingTopic(ref t) if t == "absent"),
        "{err}"
    );
    // Still absent: asked again, still missing.
    let err = sink
        .ensure_topics(&["absent".to_owned()], None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingTopic(_)), "{err}");
    // A topic that exists is found with its own partition count (the mock cluster has no
    // CreateTopics: creation with a count is tested against tansu, tests/tansu.rs).
    mock.create_topic("made", 3, 1).unwrap();
    let found = sink
        .ensure_topics(&["made".to_owned()], None)
        .await
        .unwrap();
    assert_eq!(found["made"], 3);
}

/// The sink enqueues bursts in batches grouped by topic and partition, and a small client queue
/// splits them: each partition still gets its records in the order sent, a refused record in
/// the middle fails only its own delivery, and nothing else is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_over_topics_and_partitions_keep_each_partitions_order() {
    use std::collections::HashMap;
    use std::sync::Arc;

    use dts_core::{Operation, Sink, SinkRecord};

    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("a", 3, 1).unwrap();
    mock.create_topic("b", 2, 1).unwrap();
    let servers = mock.bootstrap_servers();
    let mut config = sink_config(&servers);
    config.queue_max_messages = 7;
    config.linger = Duration::ZERO;
    config.message_max_bytes = 2000;
    let mut sink = KafkaSink::new(config).unwrap();
    let names: Vec<Arc<str>> = vec!["a".into(), "b".into()];
    let counts = sink.partition_counts(&names).await.unwrap();
    assert_eq!(counts.iter().map(|n| n.get()).collect::<Vec<_>>(), [3, 2]);
    let too_large = 101;
    let mut deliveries = Vec::new();
    let shared_a: Arc<str> = "a".into();
    // Records 0..600 go to both topics, each with a new `Arc` (grouping must go by topic, not
    // by pointer); 600..900 to topic "a" only, with one shared `Arc` (the pipeline's case).
    for i in 0..900u32 {
        let (topic, partitions) = if i % 5 < 3 || i >= 600 {
            ("a", 3)
        } else {
            ("b", 2)
        };
        let record = SinkRecord {
            topic: if i >= 600 {
                shared_a.clone()
            } else {
                topic.into()
            },
            partition: i % partitions,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Bytes::from(vec![b'v'; if i == too_large { 5000 } else { 10 }]),
            timestamp_ms: None,
            op: Operation::Insert,
            seq: u64::from(i),
        };
        let delivery = match sink.try_send(record).unwrap() {
            Ok(d) => d,
            Err(back) => sink.send(back).await.unwrap(),
        };
        deliveries.push(delivery);
        if i % 97 == 0 {
            sink.submit().await.unwrap();
        }
    }
    sink.submit().await.unwrap();
    sink.flush().await.unwrap();
    for (i, d) in deliveries.into_iter().enumerate() {
        let outcome = tokio::time::timeout(Duration::from_secs(20), d)
            .await
            .unwrap();
        if i == usize::try_from(too_large).unwrap() {
            let text = outcome.unwrap_err().to_string();
            assert!(
                text.contains("k101") && text.contains("5004 bytes"),
                "names key and size: {text}"
            );
        } else {
            outcome.unwrap_or_else(|e| panic!("record {i}: {e}"));
        }
    }
    let mut total = 0;
    for (topic, partitions, expect) in [("a", 3, 659), ("b", 2, 240)] {
        let consumed = consume_all(&servers, topic, partitions, expect);
        assert_eq!(consumed.len(), expect, "{topic}: every record once");
        let mut last: HashMap<i32, u32> = HashMap::new();
        for (p, key) in consumed {
            let i: u32 = std::str::from_utf8(&key[1..]).unwrap().parse().unwrap();
            let wanted = if topic == "a" { 3 } else { 2 };
            assert_eq!(
                u32::try_from(p).unwrap(),
                i % wanted,
                "k{i} in its partition"
            );
            if let Some(prev) = last.insert(p, i) {
                assert!(prev < i, "{topic}/{p}: k{i} after k{prev}");
            }
            total += 1;
        }
    }
    assert_eq!(total, 899);
}
