//! # dts-mysql-source
//!
//! The MySQL / MariaDB side of dts. It will hold (see the project's issues):
//!
//! - `binlog`: the hand-written binlog event parser (framing, checksums, every event and column
//!   type of MySQL 5.6–8.x and MariaDB 10.x), zero-copy on `bytes::Bytes`;
//! - `replication`: the replication client (TLS, authentication, `COM_BINLOG_DUMP[_GTID]`,
//!   heartbeats, reconnects);
//! - `schema`: table definitions tracked through DDL as of each binlog position;
//! - `snapshot`: the consistent, parallel, resumable full-data reader;
//! - `precheck`: the checks run before anything is written;
//! - `MySqlSource`, implementing [`dts_core::Source`].
//!
//! Implemented so far: [`binlog`]. The rest is to come.

#![forbid(unsafe_code)]
pub mod binlog;
pub mod catalog;
mod error;
pub mod precheck;
pub mod protocol;
pub mod schema;
pub mod snapshot;
mod source;
mod stream;

pub use error::{Error, Result};
pub use source::{MySqlSource, MySqlSourceConfig};
