//! [`KafkaSink`]: an rdkafka producer as a [`dts_core::Sink`].

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use dts_core::{Delivery, Sink, SinkRecord};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use crate::config::KafkaSinkConfig;
use crate::error::{Error, Result};

/// How often partition counts are re-read to detect a change (DTS forbids changing them).
const PARTITION_RECHECK: Duration = Duration::from_secs(30);

/// Produces records to Kafka; see [`KafkaSinkConfig`] for the settings.
///
/// - `send` enqueues with `send_result`; when the client queue is full it waits and retries,
///   so the pipeline stops pulling input (backpressure); nothing is dropped.
/// - Every delivery is tracked: a refused record (too large, not authorized, unknown topic)
///   fails its `Delivery` with an error naming the record's table, key and size.
/// - `flush` runs librdkafka's blocking flush on a blocking thread.
pub struct KafkaSink {
    producer: FutureProducer,
    config: KafkaSinkConfig,
    partitions: HashMap<String, u32>,
    checked: Instant,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("config", &self.config)
            .field("partitions", &self.partitions)
            .finish_non_exhaustive()
    }
}

impl KafkaSink {
    /// Creates the producer (no connection is made until the first request).
    ///
    /// # Errors
    /// Invalid settings.
    pub fn new(config: KafkaSinkConfig) -> Result<Self> {
        let producer: FutureProducer = config
            .client_config()?
            .create()
            .map_err(|e| Error::Client(Box::new(e)))?;
        Ok(Self {
            producer,
            config,
            partitions: HashMap::new(),
            checked: Instant::now(),
        })
    }

    fn metadata_partitions(&self, topic: &str) -> Result<Option<u32>> {
        let md = self
            .producer
            .client()
            .fetch_metadata(Some(topic), self.config.timeout)
            .map_err(|source| Error::Metadata {
                what: format!("topic {topic:?}"),
                servers: self.config.bootstrap_servers.clone(),
                source: Box::new(source),
            })?;
        let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
            return Ok(None);
        };
        if t.error().is_some() || t.partitions().is_empty() {
            return Ok(None);
        }
        Ok(Some(
            u32::try_from(t.partitions().len()).unwrap_or(u32::MAX),
        ))
    }

    async fn read_partitions(&self, topic: &str) -> Result<Option<u32>> {
        let this = Self {
            producer: self.producer.clone(),
            config: self.config.clone(),
            partitions: HashMap::new(),
            checked: self.checked,
        };
        let topic = topic.to_owned();
        tokio::task::spawn_blocking(move || this.metadata_partitions(&topic))
            .await
            .map_err(|e| Error::Config(format!("metadata thread failed: {e}")))?
    }

    /// Creates the `topics` that do not exist with `partitions` partitions (replication 1, or
    /// `replication` when given), and checks that the others exist.
    ///
    /// # Errors
    /// Unreachable brokers, refused creation, or a missing topic when `create` is false.
    pub async fn ensure_topics(
        &self,
        topics: &[String],
        create: Option<(u32, i32)>,
    ) -> Result<HashMap<String, u32>> {
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        for t in topics {
            match self.read_partitions(t).await? {
                Some(n) => {
                    out.insert(t.clone(), n);
                }
                None => missing.push(t.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let Some((partitions, replication)) = create else {
            return Err(Error::MissingTopic(missing.join(", ")));
        };
        let admin: AdminClient<DefaultClientContext> = self
            .config
            .client_config()?
            .create()
            .map_err(|e| Error::Client(Box::new(e)))?;
        let new: Vec<NewTopic<'_>> = missing
            .iter()
            .map(|t| {
                NewTopic::new(
                    t,
                    i32::try_from(partitions).unwrap_or(i32::MAX),
                    TopicReplication::Fixed(replication),
                )
            })
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(self.config.timeout));
        let results =
            admin
                .create_topics(new.iter(), &opts)
                .await
                .map_err(|e| Error::CreateTopic {
                    topic: missing.join(", "),
                    message: e.to_string(),
                })?;
        for r in results {
            if let Err((topic, code)) = r
                && code != RDKafkaErrorCode::TopicAlreadyExists
            {
                return Err(Error::CreateTopic {
                    topic,
                    message: code.to_string(),
                });
            }
        }
        for t in missing {
            // Metadata may lag the creation briefly.
            let mut n = None;
            for _ in 0..50 {
                n = self.read_partitions(&t).await?;
                if n.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            out.insert(t.clone(), n.ok_or(Error::MissingTopic(t))?);
        }
        Ok(out)
    }

    async fn recheck_partitions(&mut self) -> Result<()> {
        self.checked = Instant::now();
        let known: Vec<(String, u32)> = self
            .partitions
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for (topic, was) in known {
            if let Some(now) = self.read_partitions(&topic).await?
                && now != was
            {
                return Err(Error::PartitionsChanged { topic, was, now });
            }
        }
        Ok(())
    }
}

fn key_text(key: Option<&[u8]>) -> String {
    key.map_or_else(
        || "<none>".to_owned(),
        |k| {
            String::from_utf8_lossy(k)
                .chars()
                .take(200)
                .collect::<String>()
        },
    )
}

impl Sink for KafkaSink {
    type Error = Error;

    async fn partition_count(&mut self, topic: &str) -> Result<NonZeroU32> {
        let n = self
            .read_partitions(topic)
            .await?
            .ok_or_else(|| Error::MissingTopic(topic.to_owned()))?;
        self.partitions.insert(topic.to_owned(), n);
        NonZeroU32::new(n).ok_or_else(|| Error::MissingTopic(topic.to_owned()))
    }

    async fn send(&mut self, record: SinkRecord) -> Result<Delivery> {
        if self.checked.elapsed() > PARTITION_RECHECK {
            self.recheck_partitions().await?;
        }
        let partition = i32::try_from(record.partition)
            .map_err(|_| Error::Config(format!("partition {} out of range", record.partition)))?;
        let size = record.value.len() + record.key.as_ref().map_or(0, bytes::Bytes::len);
        loop {
            let mut fr = FutureRecord::<[u8], [u8]>::to(&record.topic)
                .partition(partition)
                .payload(&record.value[..]);
            if let Some(k) = &record.key {
                fr = fr.key(&k[..]);
            }
            if let Some(ts) = record.timestamp_ms {
                fr = fr.timestamp(ts);
            }
            match self.producer.send_result(fr) {
                Ok(fut) => {
                    let origin = record.origin.clone();
                    let topic = record.topic.clone();
                    let key = record.key.clone();
                    return Ok(Delivery::new(async move {
                        match fut.await {
                            Ok(Ok(_)) => Ok(()),
                            Ok(Err((source, _msg))) => Err(match source.rdkafka_error_code() {
                                Some(RDKafkaErrorCode::MessageSizeTooLarge) => Error::TooLarge {
                                    origin: origin.to_string().into(),
                                    key: key_text(key.as_deref()).into(),
                                    size,
                                    source: Box::new(source),
                                },
                                _ => Error::Produce {
                                    origin: origin.to_string().into(),
                                    topic: topic.as_ref().into(),
                                    partition: record.partition,
                                    source: Box::new(source),
                                },
                            }
                            .into()),
                            Err(_) => Err(
                                "the producer was dropped before the record was acknowledged"
                                    .into(),
                            ),
                        }
                    }));
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // Backpressure: wait for the queue to drain, keep the record.
                    self.producer.poll(Duration::from_millis(5));
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Err((source, _)) => {
                    return Err(match source.rdkafka_error_code() {
                        Some(RDKafkaErrorCode::MessageSizeTooLarge) => Error::TooLarge {
                            origin: record.origin.to_string().into(),
                            key: key_text(record.key.as_deref()).into(),
                            size,
                            source: Box::new(source),
                        },
                        _ => Error::Produce {
                            origin: record.origin.to_string().into(),
                            topic: record.topic.as_ref().into(),
                            partition: record.partition,
                            source: Box::new(source),
                        },
                    });
                }
            }
        }
    }

    async fn flush(&mut self) -> Result<()> {
        let producer = self.producer.clone();
        let timeout = self.config.timeout;
        tokio::task::spawn_blocking(move || producer.flush(timeout))
            .await
            .map_err(|e| Error::Config(format!("flush thread failed: {e}")))?
            .map_err(|e| Error::Flush(Box::new(e)))
    }
}
