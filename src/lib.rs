//! # dts
//!
//! Moves MySQL and MariaDB tables into Apache Kafka the way Alibaba Cloud DTS does: schema
//! migration, full data migration and incremental (binlog) migration, every record in the DTS
//! Avro format. This facade re-exports the crates:
//!
//! | module | crate | feature |
//! |---|---|---|
//! | [`core`] | `dts-core`: model, traits, pipeline | always |
//! | `mysql` | `dts-mysql-source`: binlog parser, replication, snapshot | `mysql` |
//! | `kafka` | `dts-kafka-sink`: producer, topics, partition policies | `kafka` |
//! | `avro` | `dts-avro`: DTS Avro codec and reader | `avro` |

#![forbid(unsafe_code)]
#[cfg(feature = "avro")]
pub use dts_avro as avro;
pub use dts_core as core;
#[cfg(feature = "kafka")]
pub use dts_kafka_sink as kafka;
#[cfg(feature = "mysql")]
pub use dts_mysql_source as mysql;
