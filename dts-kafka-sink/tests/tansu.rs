//! KafkaSink against the real Kafka-protocol broker of `scripts/kafka.sh` (tansu): topics
//! created with a partition count, missing topics reported, a pipeline of DTS Avro records
//! produced and read back.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use dts_test_utils::kafka::{insert_record, plain, read_from_start, read_n};
use std::time::Duration;

use bytes::Bytes;
use dts_avro::{DtsAvroConfig, DtsRecord};
use dts_core::{
    BinlogPosition, CancellationToken, ChangeEvent, MemoryCheckpointStore, Pipeline, Position,
    Sink, TopicRouter, Value,
};
use dts_kafka_sink::{DtsPartitioner, Error, KafkaSink, KafkaSinkConfig, PartitionPolicy};
use dts_test_utils::{VecSource, test_table};
use rdkafka::Message;
use rdkafka::config::ClientConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_and_a_pipeline_on_a_real_broker() {
    let servers = dts_test_utils::kafka_bootstrap();
    let topic = format!("dts-sink-{}", std::process::id());
    let mut sink = KafkaSink::new(KafkaSinkConfig::new(servers.as_str())).unwrap();
    let err = sink
        .ensure_topics(&[format!("{topic}-missing")], None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingTopic(_)), "{err}");
    let created = sink
        .ensure_topics(std::slice::from_ref(&topic), Some((3, 1)))
        .await
        .unwrap();
    assert_eq!(created[&topic], 3);
    assert_eq!(sink.partition_count(&topic).await.unwrap().get(), 3);
    // Several topics at once (one metadata request for all): one existing, two created.
    let several = [topic.clone(), format!("{topic}-a"), format!("{topic}-b")];
    let counts = sink.ensure_topics(&several, Some((2, 1))).await.unwrap();
    assert_eq!(
        several.iter().map(|t| counts[t]).collect::<Vec<_>>(),
        [3, 2, 2],
        "{counts:?}"
    );
    let names: Vec<std::sync::Arc<str>> = several.iter().map(|t| t.as_str().into()).collect();
    let read = sink.partition_counts(&names).await.unwrap();
    assert_eq!(read.iter().map(|n| n.get()).collect::<Vec<_>>(), [3, 2, 2]);
    let absent: Vec<std::sync::Arc<str>> = vec![names[0].clone(), format!("{topic}-absent").into()];
    let err = sink.partition_counts(&absent).await.unwrap_err();
    assert!(
        matches!(&err, Error::MissingTopic(t) if t.ends_with("-absent")),
        "{err}"
    );

    let t = test_table();
    let events: Vec<ChangeEvent> = (0..50)
        .map(|i: i64| {
            ChangeEvent::insert(
                t.clone(),
                vec![Value::Int(i), Value::Bytes(Bytes::from(format!("p{i}")))],
            )
            .at(BinlogPosition::new(
                "mysql-bin.000007",
                1000 + u64::try_from(i).unwrap(),
            ))
            .with_source_ts_ms(1_700_000_000_000)
            .with_checkpoint(Position::binlog(BinlogPosition::new(
                "mysql-bin.000007",
                2000 + u64::try_from(i).unwrap(),
            )))
        })
        .collect();
    let store = MemoryCheckpointStore::new();
    let report = Pipeline::builder()
        .source(VecSource::new(events))
        .codec(DtsAvroConfig::new("10.11.6-MariaDB").build())
        .partitioner(DtsPartitioner::new(PartitionPolicy::PrimaryKey))
        .sink(sink)
        .topics(TopicRouter::new(topic.as_str()))
        .checkpoint_store(store.clone())
        .build()
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.records_acked, 50);

    let consumer = read_from_start(&plain(&servers), "dts-sink-test", &topic, 0..3);
    let mut ids = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while ids.len() < 50 && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let rec = DtsRecord::decode(m.payload().unwrap()).unwrap();
            let json = rec.to_json();
            assert_eq!(json["objectName"], "db.t", "{json}");
            assert_eq!(
                json["sourcePosition"].as_str().unwrap().split('@').nth(1),
                Some("7")
            );
            ids.push(String::from_utf8(m.key().unwrap().to_vec()).unwrap());
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50, "every record once");
}

/// A topic whose partition count changes while records are produced stops the sink with an
/// error naming the topic and both counts (the topic is deleted and created again with 3
/// partitions instead of 2: tansu has no CreatePartitions).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_partition_count_stops_the_sink() {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;

    let servers = dts_test_utils::kafka_bootstrap();
    let topic = format!("dts-repartition-{}", std::process::id());
    let mut config = KafkaSinkConfig::new(servers.as_str());
    config.partition_recheck = Duration::from_millis(200);
    let mut sink = KafkaSink::new(config).unwrap();
    // A second topic, unchanged: the re-check reads both in one request.
    let steady = format!("{topic}-steady");
    sink.ensure_topics(&[topic.clone(), steady.clone()], Some((2, 1)))
        .await
        .unwrap();
    assert_eq!(sink.partition_count(&steady).await.unwrap().get(), 2);
    assert_eq!(sink.partition_count(&topic).await.unwrap().get(), 2);
    let record = |seq: u64| {
        insert_record(
            &topic,
            u32::try_from(seq % 2).unwrap(),
            Some(Bytes::from(format!("k{seq}"))),
            Bytes::from_static(b"v"),
            seq,
        )
    };
    sink.send(record(0)).await.unwrap().await.unwrap();

    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &servers)
        .create()
        .unwrap();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    admin.delete_topics(&[&topic], &opts).await.unwrap();
    let new = NewTopic::new(&topic, 3, TopicReplication::Fixed(1));
    admin.create_topics([&new], &opts).await.unwrap();

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let err = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no error 20 s after the partition count changed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        match sink.send(record(1)).await {
            // Until the re-check is due, records go to the new topic: their outcome does
            // not matter here.
            Ok(delivery) => drop(delivery.await),
            Err(e) => break e,
        }
    };
    match &err {
        Error::PartitionsChanged { topic: t, was, now } => {
            assert_eq!((t.as_str(), *was, *now), (topic.as_str(), 2, 3), "{err}");
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&topic) && text.contains("from 2 to 3"),
        "{text}"
    );
}

/// What the sink hands librdkafka arrives as sent: partition, key (absent, empty or bytes),
/// value (empty or bytes) and a record's own timestamp as the message's CreateTime (records
/// with one are enqueued one by one; the pipeline's have none and go in batches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_keep_partition_key_value_and_timestamp() {
    let servers = dts_test_utils::kafka_bootstrap();
    let topic = format!("dts-fields-{}", std::process::id());
    let mut sink = KafkaSink::new(KafkaSinkConfig::new(servers.as_str())).unwrap();
    // A second topic, unchanged: the re-check reads both in one request.
    let steady = format!("{topic}-steady");
    sink.ensure_topics(&[topic.clone(), steady.clone()], Some((2, 1)))
        .await
        .unwrap();
    assert_eq!(sink.partition_count(&steady).await.unwrap().get(), 2);
    assert_eq!(sink.partition_count(&topic).await.unwrap().get(), 2);
    type Sent = (u32, Option<&'static [u8]>, &'static [u8], Option<i64>);
    let sent: [Sent; 4] = [
        (0, Some(b"k0"), b"v0", Some(1_700_000_000_123)),
        (1, None, b"v1", Some(1_600_000_000_000)),
        (1, Some(b""), b"", Some(1_650_000_000_001)),
        (0, Some(b"k3"), b"v3", None),
    ];
    let mut deliveries = Vec::new();
    for (seq, (partition, key, value, ts)) in (0u64..).zip(sent) {
        let mut record = insert_record(
            &topic,
            partition,
            key.map(Bytes::from_static),
            Bytes::from_static(value),
            seq,
        );
        record.timestamp_ms = ts;
        deliveries.push(sink.send(record).await.unwrap());
    }
    sink.flush().await.unwrap();
    for d in deliveries {
        d.await.unwrap();
    }

    let consumer = read_from_start(&plain(&servers), "dts-fields-test", &topic, 0..2);
    let got: Vec<_> = read_n(&consumer, sent.len())
        .iter()
        .map(|m| {
            (
                m.partition(),
                m.key().map(<[u8]>::to_vec),
                m.payload().map(<[u8]>::to_vec),
                m.timestamp(),
            )
        })
        .collect();
    for (partition, key, value, ts) in sent {
        let found = got
            .iter()
            .find(|g| g.2.as_deref() == Some(value))
            .unwrap_or_else(|| panic!("value {value:?} not read back: {got:?}"));
        assert_eq!(found.0, i32::try_from(partition).unwrap(), "{found:?}");
        assert_eq!(found.1.as_deref(), key, "key of {value:?}");
        if let Some(ts) = ts {
            assert_eq!(found.3, rdkafka::Timestamp::CreateTime(ts), "{found:?}");
        }
    }
}

/// Every `compression` value a user may set produces records a consumer reads back: none,
/// gzip, snappy, lz4 (the default) and zstd.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_compression_codec_round_trips() {
    let servers = dts_test_utils::kafka_bootstrap();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("dts-codec-{codec}-{}", std::process::id());
        let mut config = KafkaSinkConfig::new(servers.as_str());
        config.compression = codec.into();
        let mut sink = KafkaSink::new(config).unwrap();
        sink.ensure_topics(std::slice::from_ref(&topic), Some((1, 1)))
            .await
            .unwrap();
        sink.partition_count(&topic).await.unwrap();
        let mut deliveries = Vec::new();
        for seq in 0..10u64 {
            let record = insert_record(
                &topic,
                0,
                Some(Bytes::from(format!("k{seq}"))),
                Bytes::from(format!("{codec} value {seq} ").repeat(20)),
                seq,
            );
            deliveries.push(sink.send(record).await.unwrap());
        }
        sink.flush().await.unwrap();
        for d in deliveries {
            d.await.unwrap_or_else(|e| panic!("{codec}: {e}"));
        }
        let consumer = read_from_start(&plain(&servers), "dts-codec-test", &topic, [0]);
        let got: Vec<String> = read_n(&consumer, 10)
            .iter()
            .map(|m| String::from_utf8(m.payload().unwrap().to_vec()).unwrap())
            .collect();
        let want: Vec<String> = (0..10)
            .map(|seq| format!("{codec} value {seq} ").repeat(20))
            .collect();
        assert_eq!(got, want, "{codec}");
    }
}
