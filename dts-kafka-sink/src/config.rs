//! [`KafkaSinkConfig`]: plain data, validated by [`KafkaSink::new`](crate::KafkaSink::new).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use dts_core::Secret;
use rdkafka::ClientConfig;

use crate::error::{Error, Result};

/// How the client talks to the brokers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SecurityProtocol {
    /// No encryption, no authentication.
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    fn is_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

impl std::str::FromStr for SecurityProtocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "plaintext" => Ok(SecurityProtocol::Plaintext),
            "ssl" => Ok(SecurityProtocol::Ssl),
            "sasl_plaintext" => Ok(SecurityProtocol::SaslPlaintext),
            "sasl_ssl" => Ok(SecurityProtocol::SaslSsl),
            other => Err(format!(
                "security protocol {other:?}: expected plaintext, ssl, sasl_plaintext or sasl_ssl"
            )),
        }
    }
}

/// SASL mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaslMechanism {
    /// PLAIN.
    Plain,
    /// SCRAM-SHA-256.
    ScramSha256,
    /// SCRAM-SHA-512.
    ScramSha512,
}

impl SaslMechanism {
    fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl std::str::FromStr for SaslMechanism {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(SaslMechanism::Plain),
            "SCRAM-SHA-256" => Ok(SaslMechanism::ScramSha256),
            "SCRAM-SHA-512" => Ok(SaslMechanism::ScramSha512),
            other => Err(format!(
                "SASL mechanism {other:?}: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
            )),
        }
    }
}

/// Where and how to produce. Plain data; `Debug` never shows the password.
///
/// Defaults favour safety and throughput: `acks=all`, idempotence on, lz4 compression, 20 ms
/// linger, 1 MB batches, TCP_NODELAY, a 20 ms first reconnect backoff, and no topic
/// auto-creation by metadata requests. For
/// brokers older than 0.10 (`ApiVersionRequest` unsupported), set
/// `client_options` `api.version.request=false` and `broker.version.fallback=<version>`; brokers
/// from 0.10.1 negotiate versions themselves (idempotence needs 0.11+: set
/// `enable_idempotence = false` for 0.10.x).
#[derive(Clone)]
pub struct KafkaSinkConfig {
    /// `host:port[,host:port…]`.
    pub bootstrap_servers: String,
    /// Transport security.
    pub security_protocol: SecurityProtocol,
    /// SASL mechanism (SASL protocols only).
    pub sasl_mechanism: Option<SaslMechanism>,
    /// SASL user name.
    pub username: Option<String>,
    /// SASL password.
    pub password: Option<Secret>,
    /// CA certificate file for TLS (system roots when unset).
    pub ssl_ca_location: Option<PathBuf>,
    /// Idempotent producer (needs brokers ≥ 0.11).
    pub enable_idempotence: bool,
    /// `compression.type`: `none`, `gzip`, `snappy`, `lz4` (default) or `zstd` (brokers ≥ 2.1).
    pub compression: String,
    /// `linger.ms`.
    pub linger: Duration,
    /// `batch.size` in bytes. The default is librdkafka's own, 1,000,000: the broker's work
    /// is mostly per request, and with 256 KiB batches tansu spent about twice the CPU per 1M
    /// binlog rows (0.8-1.8 s against 0.4-1.1 s) for a few % less on the client, where
    /// glibc hands the larger batch buffers back to the kernel after each batch.
    pub batch_bytes: u64,
    /// `queue.buffering.max.messages`: records queued in the client before `send` waits.
    pub queue_max_messages: u64,
    /// `message.max.bytes`: the largest record the client sends.
    pub message_max_bytes: u64,
    /// How long to wait for metadata, flushes and topic creation.
    pub timeout: Duration,
    /// How often the partition counts of the topics in use are read again while records are
    /// sent: a changed count stops the task (DTS forbids changing it; records of one key would
    /// land in another partition).
    pub partition_recheck: Duration,
    /// Any other librdkafka option, passed as is (wins over the settings above).
    pub client_options: BTreeMap<String, String>,
}

impl KafkaSinkConfig {
    /// Defaults for `bootstrap_servers`.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: None,
            username: None,
            password: None,
            ssl_ca_location: None,
            enable_idempotence: true,
            compression: "lz4".into(),
            linger: Duration::from_millis(20),
            batch_bytes: 1_000_000,
            queue_max_messages: 100_000,
            message_max_bytes: 1_000_000,
            timeout: Duration::from_secs(30),
            partition_recheck: Duration::from_secs(30),
            client_options: BTreeMap::new(),
        }
    }

    /// The librdkafka configuration.
    ///
    /// # Errors
    /// SASL without mechanism, user or password; a mechanism without a SASL protocol.
    pub fn client_config(&self) -> Result<ClientConfig> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers)
            .set("security.protocol", self.security_protocol.as_str())
            .set("acks", "all")
            .set(
                "enable.idempotence",
                if self.enable_idempotence {
                    "true"
                } else {
                    "false"
                },
            )
            .set("compression.type", &self.compression)
            .set("linger.ms", self.linger.as_millis().to_string())
            .set("batch.size", self.batch_bytes.to_string())
            .set(
                "queue.buffering.max.messages",
                self.queue_max_messages.to_string(),
            )
            .set("message.max.bytes", self.message_max_bytes.to_string())
            .set("message.timeout.ms", "300000")
            // librdkafka's producer asks metadata with auto-creation allowed by default, so on
            // a broker with `auto.create.topics.enable` (Kafka's default) merely checking a
            // missing topic created it, with the broker's partition count instead of ours.
            .set("allow.auto.create.topics", "false")
            // TCP_NODELAY, as the Java clients always do: with Nagle's algorithm the first
            // requests of a connection waited for a delayed ACK (the first metadata request of
            // an idempotent producer took ~50 ms on a local broker instead of ~1 ms).
            .set("socket.nagle.disable", "true")
            // librdkafka spaces connection attempts by half of this (at least 11 ms); with its
            // default of 100 ms, the connection to the broker learnt from the bootstrap
            // metadata waited ~40 ms at every start. Retries after failures still back off
            // exponentially, up to `reconnect.backoff.max.ms` (10 s).
            .set("reconnect.backoff.ms", "20");
        // message.copy.max.bytes stays at librdkafka's default (batches copy messages up to
        // 64 KiB). Referencing them instead (0) cut page faults (~80k -> ~20k over 1M binlog
        // rows) but cost ~0.1 s more CPU and ~20 MiB more RSS in 12 runs of alternating order;
        // an earlier, unalternated comparison had suggested the opposite.
        if self.security_protocol.is_sasl() {
            let mech = self
                .sasl_mechanism
                .ok_or_else(|| Error::Config("sasl_mechanism is required for SASL".into()))?;
            let user = self
                .username
                .as_deref()
                .ok_or_else(|| Error::Config("username is required for SASL".into()))?;
            let pass = self
                .password
                .as_ref()
                .ok_or_else(|| Error::Config("password is required for SASL".into()))?;
            c.set("sasl.mechanisms", mech.as_str())
                .set("sasl.username", user)
                .set("sasl.password", pass.expose());
        } else if self.sasl_mechanism.is_some() {
            return Err(Error::Config(
                "sasl_mechanism needs security_protocol sasl_plaintext or sasl_ssl".into(),
            ));
        }
        if let Some(ca) = &self.ssl_ca_location {
            c.set("ssl.ca.location", ca.to_string_lossy());
        }
        for (k, v) in &self.client_options {
            c.set(k, v);
        }
        Ok(c)
    }
}

/// Whether a librdkafka option carries a secret (`sasl.password`, `ssl.key.password`,
/// `sasl.oauthbearer.client.secret`, `ssl.keystore.password`, …): shown as `***` in `Debug`.
fn is_secret_option(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password") || k.contains("secret") || k.ends_with(".pem")
}

impl std::fmt::Debug for KafkaSinkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let options: BTreeMap<&str, &str> = self
            .client_options
            .iter()
            .map(|(k, v)| {
                let shown = if is_secret_option(k) { "***" } else { v };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("KafkaSinkConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("security_protocol", &self.security_protocol)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("ssl_ca_location", &self.ssl_ca_location)
            .field("enable_idempotence", &self.enable_idempotence)
            .field("compression", &self.compression)
            .field("linger", &self.linger)
            .field("batch_bytes", &self.batch_bytes)
            .field("queue_max_messages", &self.queue_max_messages)
            .field("message_max_bytes", &self.message_max_bytes)
            .field("timeout", &self.timeout)
            .field("partition_recheck", &self.partition_recheck)
            .field("client_options", &options)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let mut cfg = KafkaSinkConfig::new("k:9092");
        let c = cfg.client_config().unwrap();
        for (key, value) in [
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("compression.type", "lz4"),
            ("batch.size", "1000000"),
            ("allow.auto.create.topics", "false"),
            ("socket.nagle.disable", "true"),
            ("reconnect.backoff.ms", "20"),
        ] {
            assert_eq!(c.get(key), Some(value), "{key}");
        }
        assert_eq!(
            c.get("message.copy.max.bytes"),
            None,
            "librdkafka's default"
        );
        // A passed-through option wins.
        cfg.client_options
            .insert("socket.nagle.disable".into(), "false".into());
        let c = cfg.client_config().unwrap();
        assert_eq!(c.get("socket.nagle.disable"), Some("false"));
    }

    #[test]
    fn sasl_settings_and_no_password_in_debug() {
        let mut cfg = KafkaSinkConfig::new("k:9092");
        cfg.security_protocol = SecurityProtocol::SaslSsl;
        assert!(cfg.client_config().is_err(), "SASL without mechanism");
        cfg.sasl_mechanism = Some(SaslMechanism::ScramSha512);
        cfg.username = Some("u".into());
        cfg.password = Some(Secret::new("hunter2"));
        let c = cfg.client_config().unwrap();
        assert_eq!(c.get("sasl.mechanisms"), Some("SCRAM-SHA-512"));
        assert_eq!(c.get("acks"), Some("all"));
        assert!(!format!("{cfg:?}").contains("hunter2"));
        // A secret passed through as a librdkafka option is hidden too.
        cfg.client_options
            .insert("sasl.password".into(), "swordfish".into());
        cfg.client_options
            .insert("ssl.key.password".into(), "tuna".into());
        cfg.client_options.insert("linger.ms".into(), "7".into());
        let shown = format!("{cfg:?}");
        assert!(
            !shown.contains("swordfish") && !shown.contains("tuna"),
            "{shown}"
        );
        assert!(shown.contains("\"linger.ms\": \"7\""), "{shown}");
        let mut plain = KafkaSinkConfig::new("k:9092");
        plain.sasl_mechanism = Some(SaslMechanism::Plain);
        assert!(plain.client_config().is_err());
    }
}
