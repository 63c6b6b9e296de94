//! The error type of `dts-kafka-sink`. Never contains a password.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong writing to Kafka.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error("invalid Kafka sink configuration: {0}")]
    Config(String),
    /// librdkafka refused the client configuration.
    #[error("creating the Kafka client: {0}")]
    Client(#[source] Box<KafkaError>),
    /// The broker could not be reached or asked for metadata.
    #[error("reading metadata of {what} from {servers}: {source}{}", last_client_error_note(.last_client_error.as_deref()))]
    Metadata {
        /// Topic or cluster.
        what: String,
        /// Bootstrap servers.
        servers: String,
        /// The client's error.
        #[source]
        source: Box<KafkaError>,
        /// The last error the client reported meanwhile (such as "Connect to … failed:
        /// Connection refused"), which says more than the request's own error.
        last_client_error: Option<String>,
    },
    /// The brokers refused the connection: authentication failed or TLS could not be
    /// established (librdkafka's own reason, which never contains the password).
    #[error(
        "the Kafka brokers {servers} refused the client: {reason} (check security_protocol, sasl_mechanism, username, password and ssl_ca_location)"
    )]
    Refused {
        /// Bootstrap servers.
        servers: String,
        /// librdkafka's reason.
        reason: String,
    },
    /// A topic does not exist and is not to be created.
    #[error("topic {0:?} does not exist (create it, or set create_topics = true)")]
    MissingTopic(String),
    /// A topic's partition count changed while the task ran (DTS forbids it).
    #[error(
        "the partition count of topic {topic:?} changed from {was} to {now} while the task ran; partitioning would change under existing keys — restart the task"
    )]
    PartitionsChanged {
        /// Topic.
        topic: String,
        /// At start.
        was: u32,
        /// Now.
        now: u32,
    },
    /// A record is larger than the broker or producer accepts.
    #[error(
        "the record to {topic}[{partition}] with key {key:?} is {size} bytes, more than the producer or broker accepts (message.max.bytes): {source}"
    )]
    TooLarge {
        /// Topic.
        topic: Box<str>,
        /// Partition.
        partition: u32,
        /// Its key (as text).
        key: Box<str>,
        /// Key + value bytes.
        size: usize,
        /// The client's error.
        #[source]
        source: Box<KafkaError>,
    },
    /// The broker refused a record or the producer failed fatally.
    #[error("producing a record to {topic}[{partition}]: {source}")]
    Produce {
        /// Topic.
        topic: Box<str>,
        /// Partition.
        partition: u32,
        /// The client's error.
        #[source]
        source: Box<KafkaError>,
    },
    /// Flushing did not finish in time.
    #[error("flushing the producer: {0}")]
    Flush(#[source] Box<KafkaError>),
    /// Creating topics failed.
    #[error("creating topic {topic:?}: {message}")]
    CreateTopic {
        /// Topic.
        topic: String,
        /// The broker's answer.
        message: String,
    },
}

/// Error codes after which retrying cannot help: the record or the permissions are wrong.
#[must_use]
pub fn is_fatal(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::ClusterAuthorizationFailed
            | RDKafkaErrorCode::SaslAuthenticationFailed
            | RDKafkaErrorCode::Authentication
            | RDKafkaErrorCode::UnknownTopicOrPartition
            | RDKafkaErrorCode::UnknownTopic
    )
}

fn last_client_error_note(last: Option<&str>) -> String {
    last.map(|l| format!(" (last client error: {l})"))
        .unwrap_or_default()
}
