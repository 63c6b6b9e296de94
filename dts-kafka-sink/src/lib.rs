//! # dts-kafka-sink
//!
//! The Kafka side of dts. It will hold (see the project's issues): `KafkaSink` (an rdkafka
//! producer implementing [`dts_core::Sink`], with PLAINTEXT / SSL / SASL PLAIN / SCRAM),
//! topic mapping and creation, the three DTS partition policies (implementing
//! [`dts_core::Partitioner`]) and destination prechecks.
//!
//! Today it holds only its [`Error`] type: nothing above is implemented yet.

mod error;

pub use error::{Error, Result};
