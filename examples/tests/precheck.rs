//! `dts-migrate --precheck-only` and failed prechecks write nothing to the destination: a missing
//! topic is reported as "will be created" (or fails without `create_topics`) but only created
//! when every check passed and the migration starts; warnings reach stderr (live MariaDB +
//! tansu).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{fresh_database, unique_topic};
use dts_kafka_sink::{Error, KafkaSink, KafkaSinkConfig};

fn write_config(path: &Path, port: &str, tables: &[&str], topic: &str, create: bool) {
    let tables = tables
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        path,
        format!(
            "[source]\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"dts\"\npassword = \"dts_pw\"\nserver_id = 5891\ntables = [{tables}]\n\
             [kafka]\nbootstrap_servers = \"{servers}\"\ntopic = \"{topic}\"\npartition_policy = \"hash-primary-key\"\ncreate_topics = {create}\npartitions = 3\n\
             [task]\nmigration_types = [\"schema\", \"full\"]\ncheckpoint = \"{}\"\n",
            path.with_extension("checkpoint.json").display(),
            servers = dts_test_utils::kafka_bootstrap(),
        ),
    )
    .unwrap();
}

fn run(args: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dts-migrate"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

/// The topic's partition count, or `None` when it does not exist.
async fn partitions(topic: &str) -> Option<u32> {
    let sink = KafkaSink::new(KafkaSinkConfig::new(dts_test_utils::kafka_bootstrap())).unwrap();
    match sink.ensure_topics(&[topic.to_owned()], None).await {
        Ok(found) => Some(found[topic]),
        Err(Error::MissingTopic(_)) => None,
        Err(e) => panic!("asking for {topic}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prechecks_never_create_topics() {
    let db = format!("dts_precheck_{}", std::process::id());
    let (port, _conn) = fresh_database(
        &db,
        &[
            format!("CREATE TABLE {db}.t (id INT PRIMARY KEY)"),
            format!("INSERT INTO {db}.t VALUES (1), (2)"),
            format!("CREATE TABLE {db}.nokey (v INT)"),
            format!("INSERT INTO {db}.nokey VALUES (1)"),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dts.toml");
    let config_arg = config.to_str().unwrap();

    // --precheck-only with create_topics: passes, says the topic will be created, creates nothing.
    let topic = unique_topic(&db);
    let t = format!("{db}.t");
    write_config(&config, &port, &[&t], &topic, true);
    let (out, text) = run(&["--config", config_arg, "--precheck-only"]);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "[pass] CHECK_TOPIC_DEST: missing topic(s) {topic} will be created with 3 partition(s)"
        )),
        "{text}"
    );
    assert_eq!(
        partitions(&topic).await,
        None,
        "precheck-only created {topic}"
    );

    // Without create_topics a missing topic fails the precheck.
    write_config(&config, &port, &[&t], &topic, false);
    let (out, text) = run(&["--config", config_arg, "--precheck-only"]);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("[fail] CHECK_CONN_DEST / CHECK_TOPIC_DEST"),
        "{text}"
    );
    assert_eq!(partitions(&topic).await, None);

    // A failing source check (the selected table does not exist) stops before the topic exists.
    write_config(&config, &port, &[&format!("{db}.missing")], &topic, true);
    let (out, text) = run(&["--config", config_arg]);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("[fail]"), "{text}");
    assert!(text.contains("nothing was written"), "{text}");
    assert_eq!(
        partitions(&topic).await,
        None,
        "a failed precheck created {topic}"
    );

    // All checks pass: the migration creates the topic with the configured count and runs; the
    // table without a key is copied with a warning on stderr.
    let nokey = format!("{db}.nokey");
    write_config(&config, &port, &[&t, &nokey], &topic, true);
    let (out, text) = run(&["--config", config_arg, "--progress", "json"]);
    assert!(out.status.success(), "{text}");
    assert_eq!(partitions(&topic).await, Some(3), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WARN") && stderr.contains("no primary or unique key"),
        "no warning for {nokey} on stderr: {stderr}"
    );
}

/// A broker that refuses connections: the destination check fails after `timeout_ms` with
/// the connection's own error, and the warnings librdkafka repeats (~80 a second) are logged
/// once per kind, not thousands of times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_broker_fails_the_precheck_with_its_reason_and_few_log_lines() {
    let db = format!("dts_precheck_down_{}", std::process::id());
    let (port, _conn) =
        fresh_database(&db, &[format!("CREATE TABLE {db}.t (id INT PRIMARY KEY)")]).await;
    // A port nothing listens on.
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dts.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"dts\"\npassword = \"dts_pw\"\nserver_id = 5892\ntables = [\"{db}.t\"]\n\
             [kafka]\nbootstrap_servers = \"{refused}\"\ntopic = \"t\"\ntimeout_ms = 3000\n\
             [task]\nmigration_types = [\"full\"]\ncheckpoint = \"{}\"\n",
            dir.path().join("ck.json").display(),
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (out, text) = run(&["--config", config.to_str().unwrap(), "--precheck-only"]);
    assert!(!out.status.success(), "{text}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{text}"
    );
    let fail = text
        .lines()
        .find(|l| l.starts_with("[fail] CHECK_CONN_DEST"))
        .unwrap_or_else(|| panic!("no failed CHECK_CONN_DEST:\n{text}"));
    assert!(fail.contains("Connection refused"), "{fail}");
    let warnings = text.matches("Kafka client error").count();
    assert!(
        (1..=20).contains(&warnings),
        "{warnings} client error lines in 3 s:\n{text}"
    );
}
