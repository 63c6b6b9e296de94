//! # dts-kafka-sink
//!
//! The Kafka side of dts: [`KafkaSink`] (an rdkafka producer implementing [`dts_core::Sink`];
//! PLAINTEXT, SSL, SASL PLAIN and SCRAM-SHA-256/512; `acks=all` and idempotence by default),
//! topic creation and checks ([`KafkaSink::ensure_topics`]), and the three DTS partition policies
//! ([`DtsPartitioner`], implementing [`dts_core::Partitioner`]).
//!
//! ## Guarantees
//! - **At-least-once.** Every record's delivery is tracked; the pipeline checkpoints only the
//!   acknowledged prefix. With idempotence (the default) retries do not duplicate within a
//!   producer session.
//! - **Order.** Records of one partition are written in send order (idempotent producer),
//!   also when a burst goes to the client as one batch per topic (`rd_kafka_produce_batch`,
//!   grouped by partition) or a full client queue splits it.
//! - **Message timestamp.** The client's time when it takes the record (`CreateTime`), as
//!   Debezium, Maxwell and Canal produce; the change's own time is in the record
//!   (`sourceTimestamp`). With the source time as message timestamp, a broker's time-based
//!   retention would count from the change, so a migration replaying older binlogs could see
//!   fresh records deleted at once.
//! - **No silent loss.** A record the broker refuses fails its delivery with an error naming the
//!   topic, partition, key and size (the pipeline adds table and position); a full client queue
//!   makes `send` wait instead of dropping.
//! - **Secrets.** The SASL password is a [`dts_core::Secret`]: never in logs, errors or `Debug`.
//! - **Cost per record.** No future, channel or allocation per record for delivery tracking: the
//!   delivery callback reports outcomes to a [`dts_core::AckBoard`] that the pipeline drains in
//!   bulk.
//!
//! ## Exactly-once (design; not built yet)
//! At-least-once duplicates what was sent after the last checkpoint when a task crashes (the
//! crash test measures it: a few hundred records per crash). An exactly-once mode fits the
//! present shape without reshaping the pipeline:
//! 1. **Transactional producer.** `transactional.id` = the task's id (stable across restarts, so
//!    a restarted task fences its zombie predecessor); `init_transactions` at start; one Kafka
//!    transaction per checkpoint interval.
//! 2. **Checkpoint in Kafka, in the same transaction.** A `CheckpointStore` backed by a compacted
//!    topic (`<task>.dts-checkpoint`, key = task id) that shares the sink's producer: its
//!    `commit(checkpoint)` produces the checkpoint record, then `commit_transaction`, then
//!    `begin_transaction`. `load` reads the topic's last record with
//!    `isolation.level=read_committed`. Records and the position they lead to become visible
//!    together or not at all.
//! 3. **Commit only at a barrier.** Today the sink stage keeps sending while it commits the
//!    acknowledged prefix; in a transaction every record sent so far is committed, so the stage
//!    must commit exactly at a checkpoint-carrying event (a source transaction end): stop taking
//!    input there, `submit` the burst the sink holds, let the in-flight records be acknowledged (the [`AckBoard`
//!    ](dts_core::AckBoard) drain already tracks them), commit, resume. That is a flag in the
//!    sink stage's loop, not a new stage; `AckTracker` already guarantees checkpoints fall on
//!    transaction ends.
//! 4. **Failure.** Any produce error → `abort_transaction`, the task stops, and a restart resumes
//!    from the committed checkpoint: the aborted records are invisible to `read_committed`
//!    consumers, so none is duplicated. Record ids are reserved in the checkpoint record
//!    (`next_id`) and so never repeat either.
//!
//! Consumers must read with `isolation.level=read_committed`; brokers need 0.11+.

mod config;
mod error;
mod partition;
mod produce;
mod sink;

pub use config::{KafkaSinkConfig, SaslMechanism, SecurityProtocol};
pub use error::{Error, Result, is_fatal};
pub use partition::{DtsPartitioner, PartitionPolicy, java_hash};
pub use sink::KafkaSink;
