//! [`KafkaSink`]: an rdkafka producer as a [`dts_core::Sink`].

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dts_core::{AckBoard, Delivery, Sink, SinkRecord};
use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use crate::config::KafkaSinkConfig;
use crate::error::{Error, Result};
use crate::produce::{Queued, Topics};

/// Records enqueued in the client per batch at most (`rd_kafka_produce_batch`); a burst of the
/// pipeline is usually shorter and goes in one call at [`Sink::submit`].
const BATCH: usize = 512;

/// The shortest interval between two partition re-checks, whatever the configuration says (a
/// metadata request per record would stall the sink).
const MIN_PARTITION_RECHECK: Duration = Duration::from_millis(100);

/// Produces records to Kafka; see [`KafkaSinkConfig`] for the settings.
///
/// - `try_send` takes records into a burst that goes to librdkafka in batches (one
///   `rd_kafka_produce_batch` per topic, at [`Sink::submit`] or every 512 records); `send`
///   and `submit` wait while the client queue is full, so the pipeline stops pulling input
///   (backpressure); nothing is dropped.
/// - Every delivery is tracked: librdkafka's delivery callback (on the producer's polling thread)
///   reports each record's outcome to an [`AckBoard`] under the record's sequence number — no
///   future, channel or allocation per record. A refused record (too large, not authorized,
///   unknown topic) fails its delivery with an error naming topic, partition, key and size; the
///   pipeline adds the table and position.
/// - `flush` runs librdkafka's blocking flush on a blocking thread.
pub struct KafkaSink {
    producer: Arc<ThreadedProducer<DeliveryContext>>,
    /// librdkafka topic handles, one per topic sent to.
    topics: Topics,
    /// Records taken by `try_send`/`send` and not yet enqueued in the client.
    queued: Vec<Queued>,
    /// Scratch: records librdkafka refused in the last enqueue.
    refused: Vec<(Queued, RDKafkaErrorCode)>,
    board: AckBoard,
    config: KafkaSinkConfig,
    partitions: HashMap<String, u32>,
    /// Set every `partition_recheck` by a timer task (started with the first partition count)
    /// so that sending reads a flag, not the clock, per record.
    recheck_due: Arc<AtomicBool>,
    ticking: bool,
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
        let board = AckBoard::new();
        let producer: ThreadedProducer<DeliveryContext> = config
            .client_config()?
            .create_with_context(DeliveryContext {
                board: board.clone(),
                refused: Mutex::new(None),
                errors: Mutex::new(ErrorLog::default()),
            })
            .map_err(|e| Error::Client(Box::new(e)))?;
        let producer = Arc::new(producer);
        Ok(Self {
            topics: Topics::new(producer.clone()),
            queued: Vec::with_capacity(BATCH),
            refused: Vec::new(),
            producer,
            board,
            config,
            partitions: HashMap::new(),
            recheck_due: Arc::new(AtomicBool::new(false)),
            ticking: false,
        })
    }

    /// Adds `record` to the burst; its delivery resolves once Kafka acknowledged or refused it.
    fn queue(&mut self, record: SinkRecord) -> Result<Delivery> {
        let partition = i32::try_from(record.partition)
            .map_err(|_| Error::Config(format!("partition {} out of range", record.partition)))?;
        let opaque = usize::try_from(record.seq)
            .map_err(|_| Error::Config(format!("record number {} out of range", record.seq)))?;
        let delivery = self.board.delivery(&record);
        self.queued.push(Queued {
            record,
            partition,
            opaque,
        });
        Ok(delivery)
    }

    /// Enqueues what the client's queue has room for of the burst; a record librdkafka refuses
    /// (too large, unknown partition, …) fails its delivery, naming topic, partition, key and
    /// size.
    fn enqueue_queued(&mut self) {
        self.topics
            .produce_queued(&mut self.queued, &mut self.refused);
        for (q, code) in self.refused.drain(..) {
            let r = &q.record;
            let size = r.value.len() + r.key.as_ref().map_or(0, bytes::Bytes::len);
            let error = produce_error(
                KafkaError::MessageProduction(code),
                &r.topic,
                r.partition,
                r.key.as_deref(),
                size,
            );
            self.board.resolve(r.seq, Err(error.into()));
        }
    }

    /// Starts the timer that marks the partition re-check due (once; it ends with the sink).
    fn start_recheck_timer(&mut self) {
        if self.ticking {
            return;
        }
        self.ticking = true;
        let due = Arc::downgrade(&self.recheck_due);
        let every = self.config.partition_recheck.max(MIN_PARTITION_RECHECK);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                match due.upgrade() {
                    Some(due) => due.store(true, Ordering::Relaxed),
                    None => break,
                }
            }
        });
    }

    async fn read_partitions(&self, topic: &str) -> Result<Option<u32>> {
        let counts = self.read_partitions_of(vec![topic.to_owned()]).await?;
        Ok(counts.get(topic).copied().flatten())
    }

    /// The partition counts of `topics` (`None`: missing), in one metadata request.
    async fn read_partitions_of(
        &self,
        topics: Vec<String>,
    ) -> Result<HashMap<String, Option<u32>>> {
        let producer = self.producer.clone();
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || metadata_partitions(&producer, &config, &topics))
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
        for (t, count) in self.read_partitions_of(topics.to_vec()).await? {
            match count {
                Some(n) => {
                    out.insert(t, n);
                }
                None => missing.push(t),
            }
        }
        missing.sort();
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
        // Destroying a librdkafka client waits for its threads to wind down (~80 ms here): done
        // on a thread of its own, so it does not delay the task's start.
        if let Err(e) = std::thread::Builder::new()
            .name("dts-admin-drop".into())
            .spawn(move || drop(admin))
        {
            // No thread to spare: the closure, and the admin client with it, was dropped here.
            drop(e);
        }
        // Metadata may lag the creation briefly: asked again every 10 ms, for up to 5 s (a
        // fixed 100 ms wait was most of a task's start-up time).
        for _ in 0..500 {
            for (t, count) in self.read_partitions_of(missing.clone()).await? {
                if let Some(n) = count {
                    out.insert(t, n);
                }
            }
            missing.retain(|t| !out.contains_key(t));
            if missing.is_empty() {
                return Ok(out);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(Error::MissingTopic(missing.join(", ")))
    }

    async fn recheck_partitions(&mut self) -> Result<()> {
        self.recheck_due.store(false, Ordering::Relaxed);
        let known: Vec<String> = self.partitions.keys().cloned().collect();
        let mut now = self
            .read_partitions_of(known)
            .await?
            .into_iter()
            .collect::<Vec<_>>();
        now.sort();
        for (topic, count) in now {
            if let (Some(now), Some(&was)) = (count, self.partitions.get(&topic))
                && now != was
            {
                return Err(Error::PartitionsChanged { topic, was, now });
            }
        }
        Ok(())
    }
}

/// Each topic's partition count, `None` for one that does not exist, from one metadata request:
/// for a single topic, that topic's; for several, the whole cluster's (one round trip instead
/// of one per topic: with per-table topics on a distant broker, reading them one by one
/// stalled every partition re-check for topics x round trip). Asks in growing slices (1 s,
/// 2 s, 4 s, ...) so that a refused connection (authentication, TLS) fails at once with its
/// reason instead of after the whole timeout, while a slow broker still gets long requests; an
/// attempt that fails early waits out its slice (no busy loop).
fn metadata_partitions(
    producer: &ThreadedProducer<DeliveryContext>,
    config: &KafkaSinkConfig,
    topics: &[String],
) -> Result<HashMap<String, Option<u32>>> {
    let one = match topics {
        [t] => Some(t.as_str()),
        _ => None,
    };
    let deadline = Instant::now() + config.timeout;
    let mut slice = Duration::from_secs(1);
    let md = loop {
        let attempt = Instant::now();
        let this_slice = deadline.saturating_duration_since(attempt).min(slice);
        slice = slice.saturating_mul(2);
        match producer.client().fetch_metadata(one, this_slice) {
            Ok(md) => {
                // Connected: an earlier refusal (or error) is over.
                producer.context().clear_refusal();
                break md;
            }
            Err(source) => {
                let refused = producer.context().refusal();
                if let Some((reason, true)) = refused {
                    return Err(Error::Refused {
                        servers: config.bootstrap_servers.clone(),
                        reason,
                    });
                }
                if Instant::now() >= deadline {
                    return Err(match refused {
                        Some((reason, _)) => Error::Refused {
                            servers: config.bootstrap_servers.clone(),
                            reason,
                        },
                        None => Error::Metadata {
                            what: match one {
                                Some(t) => format!("topic {t:?}"),
                                None => format!("topics {}", topics.join(", ")),
                            },
                            servers: config.bootstrap_servers.clone(),
                            source: Box::new(source),
                            last_client_error: producer.context().last_error(),
                        },
                    });
                }
                let rest = this_slice.saturating_sub(attempt.elapsed());
                std::thread::sleep(rest.min(deadline.saturating_duration_since(Instant::now())));
            }
        }
    };
    Ok(topics
        .iter()
        .map(|name| {
            let count = md
                .topics()
                .iter()
                .find(|t| t.name() == name)
                .filter(|t| t.error().is_none() && !t.partitions().is_empty())
                .map(|t| u32::try_from(t.partitions().len()).unwrap_or(u32::MAX));
            (name.clone(), count)
        })
        .collect())
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

/// The producer's context: reports every record's outcome to the sink's [`AckBoard`], and
/// keeps the last reason the brokers refused the connection.
pub(crate) struct DeliveryContext {
    board: AckBoard,
    /// The last authentication or TLS failure librdkafka reported, and whether retrying
    /// cannot help (authentication refused, certificate not trusted).
    refused: Mutex<Option<(String, bool)>>,
    /// Which client errors were logged when, and the last one.
    errors: Mutex<ErrorLog>,
}

/// How often one client error is logged at most while it repeats.
const REPEATED_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The client errors logged so far. librdkafka repeats itself: while a broker is down it
/// reports `AllBrokersDown` at every broker state change (~80 a second against a refused
/// port, each logged twice). Each kind of error is logged once per
/// [`REPEATED_ERROR_LOG_INTERVAL`], with how often it recurred meanwhile.
#[derive(Debug, Default)]
struct ErrorLog {
    /// Per kind (error code and reason with its numbers blanked): when it was last logged, how
    /// often it recurred since, and the last recurrence's error and reason.
    seen: HashMap<String, Seen>,
    /// The last error's reason (`AllBrokersDown` aside).
    last: Option<String>,
}

#[derive(Debug)]
struct Seen {
    logged_at: Instant,
    repeats: u64,
    last: Option<(String, String)>,
}

impl Seen {
    /// Logged at `now`, no recurrence since.
    fn logged(now: Instant) -> Self {
        Self {
            logged_at: now,
            repeats: 0,
            last: None,
        }
    }
}

impl ErrorLog {
    /// The kinds that recurred since they were last logged, as (error, last reason, how
    /// often), and forgets every kind: the client recovered, so the next error is news.
    fn drain_unlogged(&mut self) -> Vec<(String, String, u64)> {
        self.seen
            .drain()
            .filter_map(|(_, s)| s.last.map(|(error, reason)| (error, reason, s.repeats)))
            .collect()
    }

    /// Notes an error; `Some(repeats since the last time it was logged)` when it is to be
    /// logged now.
    fn note(&mut self, error: &KafkaError, reason: &str, now: Instant) -> Option<u64> {
        // "All brokers are down" would hide why (the connection's own error, reported before).
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::AllBrokersDown) {
            self.last = Some(reason.to_owned());
        }
        // "1/1 brokers are down" and "0/1 …", "(after 0ms …, 3 identical error(s)
        // suppressed)": the same kind.
        let mut kind = format!("{error} ");
        let mut in_number = false;
        for c in reason.chars() {
            if c.is_ascii_digit() {
                if !in_number {
                    kind.push('#');
                }
                in_number = true;
            } else {
                kind.push(c);
                in_number = false;
            }
        }
        if self.seen.len() >= 256 {
            self.seen.clear();
        }
        match self.seen.get_mut(&kind) {
            Some(s) if now.duration_since(s.logged_at) < REPEATED_ERROR_LOG_INTERVAL => {
                s.repeats += 1;
                s.last = Some((error.to_string(), reason.to_owned()));
                None
            }
            Some(s) => {
                let n = s.repeats;
                *s = Seen::logged(now);
                Some(n)
            }
            None => {
                self.seen.insert(kind, Seen::logged(now));
                Some(0)
            }
        }
    }
}

impl DeliveryContext {
    /// The reason of the last error the client reported.
    fn last_error(&self) -> Option<String> {
        self.errors.lock().ok().and_then(|e| e.last.clone())
    }

    /// The last refusal and whether it is fatal, read together.
    fn refusal(&self) -> Option<(String, bool)> {
        self.refused.lock().ok().and_then(|r| r.clone())
    }

    /// Connected: earlier refusals and errors no longer explain anything.
    fn clear_refusal(&self) {
        if let Ok(mut r) = self.refused.lock() {
            *r = None;
        }
        let unlogged = self.errors.lock().map_or_else(
            |_| Vec::new(),
            |mut e| {
                e.last = None;
                e.drain_unlogged()
            },
        );
        log_unlogged(unlogged);
    }
}

/// Logs the recurrences of client errors not logged yet (see [`ErrorLog`]).
fn log_unlogged(unlogged: Vec<(String, String, u64)>) {
    for (error, reason, repeats) in unlogged {
        tracing::warn!(
            error = %error,
            reason,
            repeats,
            "Kafka client error (recurred {repeats} times since last logged, the last one now)"
        );
    }
}

impl Drop for DeliveryContext {
    fn drop(&mut self) {
        if let Ok(e) = self.errors.get_mut() {
            log_unlogged(e.drain_unlogged());
        }
    }
}

impl ClientContext for DeliveryContext {
    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        let authentication = matches!(
            code,
            Some(RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed)
        );
        let tls = reason.contains("SSL handshake failed");
        if authentication || tls {
            let fatal = authentication || reason.contains("certificate verify failed");
            if let Ok(mut r) = self.refused.lock() {
                *r = Some((reason.to_owned(), fatal));
            }
        }
        let log = self
            .errors
            .lock()
            .map_or(Some(0), |mut e| e.note(&error, reason, Instant::now()));
        match log {
            Some(0) => tracing::warn!(error = %error, reason, "Kafka client error"),
            Some(repeats) => tracing::warn!(
                error = %error,
                reason,
                repeats,
                "Kafka client error (recurred {repeats} times since last logged)"
            ),
            None => {}
        }
    }
}

impl ProducerContext for DeliveryContext {
    /// The record's sequence number ([`SinkRecord::seq`]).
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let outcome = match result {
            Ok(_) => Ok(()),
            Err((source, msg)) => {
                let partition = u32::try_from(msg.partition()).unwrap_or_default();
                let size = msg.payload_len() + msg.key_len();
                Err(produce_error(source.clone(), msg.topic(), partition, msg.key(), size).into())
            }
        };
        self.board
            .resolve(u64::try_from(seq).unwrap_or(u64::MAX), outcome);
    }
}

fn produce_error(
    source: KafkaError,
    topic: &str,
    partition: u32,
    key: Option<&[u8]>,
    size: usize,
) -> Error {
    match source.rdkafka_error_code() {
        Some(RDKafkaErrorCode::MessageSizeTooLarge) => Error::TooLarge {
            topic: topic.into(),
            partition,
            key: key_text(key).into(),
            size,
            source: Box::new(source),
        },
        _ => Error::Produce {
            topic: topic.into(),
            partition,
            source: Box::new(source),
        },
    }
}

impl Sink for KafkaSink {
    type Error = Error;

    async fn partition_count(&mut self, topic: &str) -> Result<NonZeroU32> {
        let n = self
            .read_partitions(topic)
            .await?
            .ok_or_else(|| Error::MissingTopic(topic.to_owned()))?;
        self.partitions.insert(topic.to_owned(), n);
        self.start_recheck_timer();
        NonZeroU32::new(n).ok_or_else(|| Error::MissingTopic(topic.to_owned()))
    }

    /// One metadata request for all of them (the cluster's, for more than one topic).
    async fn partition_counts(&mut self, topics: &[Arc<str>]) -> Result<Vec<NonZeroU32>> {
        let names: Vec<String> = topics.iter().map(ToString::to_string).collect();
        let read = self.read_partitions_of(names.clone()).await?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let n = read
                .get(&name)
                .copied()
                .flatten()
                .and_then(NonZeroU32::new)
                .ok_or_else(|| Error::MissingTopic(name.clone()))?;
            self.partitions.insert(name, n.get());
            out.push(n);
        }
        self.start_recheck_timer();
        Ok(out)
    }

    async fn send(&mut self, record: SinkRecord) -> Result<Delivery> {
        if self.recheck_due.load(Ordering::Relaxed) {
            self.recheck_partitions().await?;
        }
        let delivery = self.queue(record)?;
        self.submit().await?;
        Ok(delivery)
    }

    /// Takes `record` into the sink's burst, enqueued in batches when the burst is
    /// 512 records long (`BATCH`) and at [`submit`](Sink::submit).
    fn try_send(
        &mut self,
        record: SinkRecord,
    ) -> Result<std::result::Result<Delivery, SinkRecord>> {
        if self.recheck_due.load(Ordering::Relaxed) {
            // The partition check is asynchronous: let `send` do it.
            return Ok(Err(record));
        }
        if self.queued.len() >= BATCH {
            self.enqueue_queued();
            if self.queued.len() >= BATCH {
                // The client's queue is full: `send` waits for room.
                return Ok(Err(record));
            }
        }
        let delivery = self.queue(record)?;
        if self.queued.len() >= BATCH {
            self.enqueue_queued();
        }
        Ok(Ok(delivery))
    }

    /// Enqueues the burst, waiting while the client's queue is full (backpressure: the
    /// pipeline stops pulling input meanwhile).
    async fn submit(&mut self) -> Result<()> {
        loop {
            self.enqueue_queued();
            if self.queued.is_empty() {
                return Ok(());
            }
            // The polling thread serves the delivery reports that make room.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    async fn flush(&mut self) -> Result<()> {
        self.submit().await?;
        let producer = self.producer.clone();
        let timeout = self.config.timeout;
        tokio::task::spawn_blocking(move || producer.flush(timeout))
            .await
            .map_err(|e| Error::Config(format!("flush thread failed: {e}")))?
            .map_err(|e| Error::Flush(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::types::RDKafkaErrorCode;

    #[test]
    fn a_repeating_client_error_is_logged_once_per_interval_with_its_count() {
        let down = KafkaError::Global(RDKafkaErrorCode::AllBrokersDown);
        let refused = KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure);
        let mut log = ErrorLog::default();
        let t0 = Instant::now();
        assert_eq!(log.note(&down, "1/1 brokers are down", t0), Some(0));
        // The same kind, numbers aside: counted, not logged.
        for i in 1..=80u64 {
            let reason = format!("{}/1 brokers are down", i % 2);
            let at = t0 + Duration::from_millis(12 * i);
            assert_eq!(log.note(&down, &reason, at), None);
        }
        // Another kind is logged at once.
        let connect = "k:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed: Connection refused";
        assert_eq!(
            log.note(&refused, connect, t0 + Duration::from_secs(1)),
            Some(0)
        );
        assert_eq!(log.last.as_deref(), Some(connect));
        assert_eq!(
            log.note(&down, "1/1 brokers are down", t0 + Duration::from_secs(2)),
            None
        );
        assert_eq!(
            log.last.as_deref(),
            Some(connect),
            "all brokers down hides the reason"
        );
        // After the interval: logged again, with how often it recurred.
        let later = t0 + REPEATED_ERROR_LOG_INTERVAL;
        assert_eq!(log.note(&down, "0/1 brokers are down", later), Some(81));
        assert_eq!(log.note(&down, "1/1 brokers are down", later), None);
        // Recovered: what recurred and was not logged yet comes out, with its last reason;
        // the next error is logged at once.
        let mut unlogged = log.drain_unlogged();
        unlogged.sort();
        assert_eq!(
            unlogged,
            [(down.to_string(), "1/1 brokers are down".to_owned(), 1)]
        );
        assert!(log.drain_unlogged().is_empty());
        assert_eq!(log.note(&down, "1/1 brokers are down", later), Some(0));
    }
}
