//! The error type of `dts-mysql-source`.

use crate::binlog::DecodeError;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong reading from MySQL or MariaDB. Never contains a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error("invalid MySQL source configuration: {0}")]
    Config(String),
    /// A network operation failed.
    #[error("{op}: {source}")]
    Io {
        /// What was being done (`connecting to 127.0.0.1:3306`, `reading a packet`, …).
        op: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The server did not answer in time.
    #[error("timed out {0}")]
    Timeout(String),
    /// The TLS handshake failed (certificate not trusted, wrong host name, no common version).
    #[error("{0}")]
    Tls(String),
    /// The server sent something the protocol does not allow.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server refused the login.
    #[error("authentication of user {user:?} failed: {message}")]
    Auth {
        /// The user (never the password).
        user: String,
        /// The server's message.
        message: String,
    },
    /// The server returned an error packet.
    #[error("server error {code} ({state}) {context}: {message}")]
    Server {
        /// MySQL error code (e.g. 1236 for a purged binlog).
        code: u16,
        /// SQLSTATE.
        state: String,
        /// The server's message.
        message: String,
        /// What we asked.
        context: String,
    },
    /// A binlog event could not be decoded.
    #[error("binlog {position}: {source}")]
    Decode {
        /// `file:offset` of the event.
        position: String,
        /// The decoder's error.
        #[source]
        source: DecodeError,
    },
    /// Schema tracking failed: DDL that cannot be applied, or a TABLE_MAP that does not match
    /// the table's definition (the error names the table, column and position).
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
}

impl Error {
    pub(crate) fn io(op: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            op: op.into(),
            source,
        }
    }

    /// Whether reconnecting and retrying may help (network failures, timeouts, a killed
    /// connection), as opposed to configuration, authentication or data errors.
    #[must_use]
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Io { .. } | Error::Timeout(_) => true,
            // 1927 ER_CONNECTION_KILLED (MariaDB), 1317 query interrupted, 2013 lost connection.
            Error::Server { code, .. } => matches!(code, 1317 | 1927 | 2013 | 1053),
            _ => false,
        }
    }

    /// The server's error code, for server errors.
    #[must_use]
    pub fn server_code(&self) -> Option<u16> {
        match self {
            Error::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}
