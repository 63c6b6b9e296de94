//! Reading a topic back in tests.

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
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
