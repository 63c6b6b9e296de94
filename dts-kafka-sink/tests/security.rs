//! KafkaSink against brokers that require authentication and/or TLS (`scripts/kafka-secure.sh`:
//! tansu with SCRAM users and PLAIN, socat terminating TLS with a throw-away CA): records
//! produced with SCRAM-SHA-256 over SASL_PLAINTEXT, SCRAM-SHA-512 over SASL_SSL, PLAIN over
//! both, and over SSL alone are read back by a consumer with the same settings; a wrong
//! password and an untrusted certificate fail with clear errors that never contain the
//! password. (tansu accepts any password with PLAIN, so the wrong-password case is SCRAM's.)
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use dts_core::{Secret, Sink, SinkRecord};
use dts_kafka_sink::{KafkaSink, KafkaSinkConfig, SaslMechanism, SecurityProtocol};
use dts_test_utils::kafka::{insert_record, read_from_start, read_n};
use rdkafka::Message;

use dts_test_utils::kafka_secure as env;

fn sasl(
    servers: &str,
    protocol: SecurityProtocol,
    mechanism: SaslMechanism,
    user: &str,
    password: &str,
) -> KafkaSinkConfig {
    let mut c = KafkaSinkConfig::new(servers);
    c.security_protocol = protocol;
    c.sasl_mechanism = Some(mechanism);
    c.username = Some(user.to_owned());
    c.password = Some(Secret::new(password));
    if protocol == SecurityProtocol::SaslSsl {
        c.ssl_ca_location = Some(PathBuf::from(env("DTS_KAFKA_TLS_CA")));
    }
    c.timeout = Duration::from_secs(15);
    c
}

fn record(topic: &str, seq: u64) -> SinkRecord {
    insert_record(
        topic,
        0,
        Some(Bytes::from(format!("k{seq}"))),
        Bytes::from(format!("value {seq}")),
        seq,
    )
}

/// Creates a topic, produces 20 records and reads them back with a consumer built from the
/// same settings.
async fn round_trip(config: KafkaSinkConfig, name: &str) {
    let topic = format!("dts-{name}-{}", std::process::id());
    let mut sink = KafkaSink::new(config.clone()).unwrap();
    let created = sink
        .ensure_topics(std::slice::from_ref(&topic), Some((1, 1)))
        .await
        .unwrap();
    assert_eq!(created[&topic], 1);
    for seq in 0..20 {
        sink.send(record(&topic, seq)).await.unwrap().await.unwrap();
    }
    sink.flush().await.unwrap();

    let mut consumer_config = config.client_config().unwrap();
    for producer_only in [
        "acks",
        "enable.idempotence",
        "compression.type",
        "linger.ms",
        "batch.size",
        "queue.buffering.max.messages",
        "message.max.bytes",
    ] {
        consumer_config.remove(producer_only);
    }
    let consumer = read_from_start(&consumer_config, &format!("dts-{name}"), &topic, [0]);
    let values: Vec<String> = read_n(&consumer, 20)
        .iter()
        .map(|m| String::from_utf8(m.payload().unwrap().to_vec()).unwrap())
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("value {i}")).collect();
    assert_eq!(values, expected, "{name}: every record, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_sha_256_over_sasl_plaintext() {
    let config = sasl(
        &env("DTS_KAFKA_SASL_BOOTSTRAP"),
        SecurityProtocol::SaslPlaintext,
        SaslMechanism::ScramSha256,
        &env("DTS_KAFKA_SCRAM256_USER"),
        &env("DTS_KAFKA_SCRAM256_PASSWORD"),
    );
    round_trip(config, "scram256").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_sha_512_over_sasl_ssl() {
    let config = sasl(
        &env("DTS_KAFKA_SASL_SSL_BOOTSTRAP"),
        SecurityProtocol::SaslSsl,
        SaslMechanism::ScramSha512,
        &env("DTS_KAFKA_SCRAM512_USER"),
        &env("DTS_KAFKA_SCRAM512_PASSWORD"),
    );
    round_trip(config, "scram512-ssl").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_over_sasl_plaintext_and_sasl_ssl() {
    for (servers, protocol, name) in [
        (
            "DTS_KAFKA_SASL_BOOTSTRAP",
            SecurityProtocol::SaslPlaintext,
            "plain",
        ),
        (
            "DTS_KAFKA_SASL_SSL_BOOTSTRAP",
            SecurityProtocol::SaslSsl,
            "plain-ssl",
        ),
    ] {
        let config = sasl(
            &env(servers),
            protocol,
            SaslMechanism::Plain,
            &env("DTS_KAFKA_PLAIN_USER"),
            &env("DTS_KAFKA_PLAIN_PASSWORD"),
        );
        round_trip(config, name).await;
    }
}

/// The SASL brokers really require authentication: without SASL the same client gets nothing
/// through (so the PLAIN round trip above did authenticate). tansu does not answer such a
/// client with an error; it stays silent, so this waits for the sink's timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sasl_brokers_refuse_a_client_without_sasl() {
    for servers in ["DTS_KAFKA_SASL_BOOTSTRAP", "DTS_KAFKA_SASL_SSL_BOOTSTRAP"] {
        let mut config = KafkaSinkConfig::new(env(servers));
        if servers == "DTS_KAFKA_SASL_SSL_BOOTSTRAP" {
            config.security_protocol = SecurityProtocol::Ssl;
            config.ssl_ca_location = Some(PathBuf::from(env("DTS_KAFKA_TLS_CA")));
        }
        config.timeout = Duration::from_secs(3);
        let sink = KafkaSink::new(config).unwrap();
        let err = sink
            .ensure_topics(&["dts-unauthenticated".to_owned()], Some((1, 1)))
            .await
            .expect_err("a broker requiring SASL must not serve a client without it");
        eprintln!("{servers}: refused as expected: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_with_the_brokers_ca() {
    let mut config = KafkaSinkConfig::new(env("DTS_KAFKA_SSL_BOOTSTRAP"));
    config.security_protocol = SecurityProtocol::Ssl;
    config.ssl_ca_location = Some(PathBuf::from(env("DTS_KAFKA_TLS_CA")));
    round_trip(config, "ssl").await;
}

/// The first request of a sink with `config` fails; returns the error text.
async fn refused(config: KafkaSinkConfig) -> String {
    let sink = KafkaSink::new(config).unwrap();
    let started = std::time::Instant::now();
    let err = sink
        .ensure_topics(&["dts-refused".to_owned()], Some((1, 1)))
        .await
        .expect_err("the broker must refuse this client");
    // At once, not after the 15 s timeout: the refusal is recognised as fatal.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let text = err.to_string();
    eprintln!("refused as expected: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_without_showing_it() {
    for (servers, protocol, mechanism, user) in [
        (
            "DTS_KAFKA_SASL_BOOTSTRAP",
            SecurityProtocol::SaslPlaintext,
            SaslMechanism::ScramSha256,
            "DTS_KAFKA_SCRAM256_USER",
        ),
        (
            "DTS_KAFKA_SASL_SSL_BOOTSTRAP",
            SecurityProtocol::SaslSsl,
            SaslMechanism::ScramSha512,
            "DTS_KAFKA_SCRAM512_USER",
        ),
    ] {
        let wrong = "not-the-password-5731";
        let config = sasl(&env(servers), protocol, mechanism, &env(user), wrong);
        assert!(!format!("{config:?}").contains(wrong));
        let text = refused(config).await;
        assert!(!text.contains(wrong), "{text}");
        assert!(
            text.to_lowercase().contains("authentication"),
            "names the cause: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_is_refused() {
    let mut config = KafkaSinkConfig::new(env("DTS_KAFKA_SSL_BOOTSTRAP"));
    config.security_protocol = SecurityProtocol::Ssl;
    config.ssl_ca_location = Some(PathBuf::from(env("DTS_KAFKA_TLS_OTHER_CA")));
    config.timeout = Duration::from_secs(15);
    let text = refused(config).await;
    assert!(
        text.contains("certificate verify failed"),
        "names the cause: {text}"
    );
}
