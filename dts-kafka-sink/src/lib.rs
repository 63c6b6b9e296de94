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
//! - **Order.** Records of one partition are written in send order (idempotent producer).
//! - **No silent loss.** A record the broker refuses fails its delivery with an error naming the
//!   table, key and size; a full client queue makes `send` wait instead of dropping.
//! - **Secrets.** The SASL password is a [`dts_core::Secret`]: never in logs, errors or `Debug`.

mod config;
mod error;
mod partition;
mod sink;

pub use config::{KafkaSinkConfig, SaslMechanism, SecurityProtocol};
pub use error::{Error, Result, is_fatal};
pub use partition::{DtsPartitioner, PartitionPolicy, java_hash};
pub use sink::KafkaSink;
