//! Kafka in tests: records to send, and reading a topic back.

use std::time::{Duration, Instant};

use bytes::Bytes;
use dts_core::{Operation, SinkRecord};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Offset, TopicPartitionList};

/// A consumer made from `config` (with `group.id` set to `group`) and assigned `partitions` of
/// `topic`, each from its first offset.
///
/// # Panics
/// When the consumer cannot be created or assigned (a test set-up failure).
#[must_use]
pub fn read_from_start(
    config: &ClientConfig,
    group: &str,
    topic: &str,
    partitions: impl IntoIterator<Item = i32>,
) -> BaseConsumer {
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", group)
        .create()
        .unwrap_or_else(|e| panic!("creating a consumer of {topic}: {e}"));
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap_or_else(|e| panic!("{topic} partition {p}: {e}"));
    }
    consumer
        .assign(&tpl)
        .unwrap_or_else(|e| panic!("assigning {topic}: {e}"));
    consumer
}

/// A plaintext client configuration for `servers`.
#[must_use]
pub fn plain(servers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", servers);
    c
}

/// Up to `n` messages from `consumer`, polling for at most 30 s (fewer when they do not come:
/// the caller's assertion on what arrived then fails). Consumer errors are skipped: librdkafka
/// retries transient ones by itself.
#[must_use]
pub fn read_n(consumer: &BaseConsumer, n: usize) -> Vec<OwnedMessage> {
    let mut out = Vec::with_capacity(n);
    let deadline = Instant::now() + Duration::from_secs(30);
    while out.len() < n && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            out.push(m.detach());
        }
    }
    out
}

/// A record for sink tests: an INSERT with no table or position, no timestamp.
#[must_use]
pub fn insert_record(
    topic: &str,
    partition: u32,
    key: Option<Bytes>,
    value: Bytes,
    seq: u64,
) -> SinkRecord {
    SinkRecord {
        topic: topic.into(),
        partition,
        key,
        value,
        timestamp_ms: None,
        op: Operation::Insert,
        seq,
    }
}
