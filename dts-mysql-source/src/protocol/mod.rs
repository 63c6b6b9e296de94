//! The MySQL client/server protocol, as much of it as a replica needs: packets, the
//! handshake (plain or TLS) and authentication (`mysql_native_password`, `caching_sha2_password`
//! with full authentication over TLS), simple text
//! queries, `COM_REGISTER_SLAVE` and `COM_BINLOG_DUMP[_GTID]`. Binlog events come out as raw
//! [`Bytes`](bytes::Bytes), straight into [`crate::binlog::EventDecoder`]: no other parse of the
//! event stream happens on the hot path.
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html>,
//! <https://mariadb.com/kb/en/clientserver-protocol/>

mod auth;
mod client;
mod packet;
mod tls;

pub use client::{
    BinlogStart, ConnectOptions, Connection, QueryResult, ReplicaOptions, ServerInfo, StreamItem,
};
pub use packet::MAX_PACKET;
pub use tls::{TlsMode, TlsOptions};
