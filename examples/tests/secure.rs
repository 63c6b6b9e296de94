//! `dts-migrate` into a broker that requires SCRAM-SHA-512 over TLS (`scripts/kafka-secure.sh`),
//! configured with the README's keys (`security_protocol`, `sasl_mechanism`, `username`,
//! `password_env`, `ssl_ca_location`): a schema + full migration of a live MariaDB table ends by
//! itself and its records are read back over SASL_SSL; with a wrong password `--precheck-only`
//! fails on the destination naming the refusal. The password never appears in the output.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use dts_test_utils::kafka::read_from_start;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{fresh_database, unique_topic};
use dts_avro::DtsRecord;
use rdkafka::ClientConfig;
use rdkafka::Message;

use dts_test_utils::kafka_secure as env;

const PASSWORD_ENV: &str = "DTS_TEST_KAFKA_PASSWORD";

fn write_config(path: &Path, port: &str, db: &str, topic: &str, checkpoint: &Path) {
    std::fs::write(
        path,
        format!(
            "[source]\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"dts\"\npassword = \"dts_pw\"\nserver_id = 5890\ntables = [\"{db}.t\"]\n\
             [kafka]\nbootstrap_servers = \"{servers}\"\ntopic = \"{topic}\"\npartition_policy = \"hash-primary-key\"\ncreate_topics = true\npartitions = 2\n\
             security_protocol = \"sasl_ssl\"\nsasl_mechanism = \"SCRAM-SHA-512\"\nusername = \"{user}\"\npassword_env = \"{PASSWORD_ENV}\"\nssl_ca_location = \"{ca}\"\n\
             [task]\nmigration_types = [\"schema\", \"full\"]\ncheckpoint = \"{}\"\n",
            checkpoint.display(),
            servers = env("DTS_KAFKA_SASL_SSL_BOOTSTRAP"),
            user = env("DTS_KAFKA_SCRAM512_USER"),
            ca = env("DTS_KAFKA_TLS_CA"),
        ),
    )
    .unwrap();
}

/// Runs `dts-migrate` with `args` and the Kafka password in `PASSWORD_ENV`; at most 2 minutes.
fn run(args: &[&str], password: &str) -> (Output, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dts-migrate"))
        .args(args)
        .env(PASSWORD_ENV, password)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_over_sasl_ssl_with_scram_sha_512() {
    let db = format!("dts_secure_{}", std::process::id());
    let topic = unique_topic(&db);
    let (port, mut a) = fresh_database(
        &db,
        &[
            format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, s VARCHAR(20))"),
            format!("INSERT INTO {db}.t SELECT seq, CONCAT('s', seq) FROM {db}.seq_1_to_300"),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dts.toml");
    write_config(&config, &port, &db, &topic, &dir.path().join("cp.json"));
    let config = config.to_str().unwrap();
    let password = env("DTS_KAFKA_SCRAM512_PASSWORD");

    // A wrong password: the destination precheck fails, naming the refusal, not the password.
    let wrong = "wrong-kafka-password-8123";
    let (out, text) = run(&["--config", config, "--precheck-only"], wrong);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("[fail] CHECK_CONN_DEST"), "{text}");
    assert!(text.contains("refused"), "{text}");
    assert!(!text.contains(wrong), "the password leaked: {text}");

    // The right one: schema + full migration ends by itself.
    let (out, text) = run(&["--config", config, "--progress", "json"], &password);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains(&password), "the password leaked: {text}");

    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", env("DTS_KAFKA_SASL_SSL_BOOTSTRAP"))
        .set("security.protocol", "sasl_ssl")
        .set("sasl.mechanisms", "SCRAM-SHA-512")
        .set("sasl.username", env("DTS_KAFKA_SCRAM512_USER"))
        .set("sasl.password", &password)
        .set("ssl.ca.location", env("DTS_KAFKA_TLS_CA"));
    let consumer = read_from_start(&config, "dts-secure-test", &topic, 0..2);
    let (mut ddl, mut rows) = (0, Vec::new());
    let deadline = Instant::now() + Duration::from_secs(30);
    while ddl + rows.len() < 301 && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let json = DtsRecord::decode(m.unwrap().payload().unwrap())
                .unwrap()
                .to_json();
            match json["operation"].as_str() {
                Some("DDL") => ddl += 1,
                Some("INIT") => rows.push(json["afterImages"].to_string()),
                other => panic!("{other:?}: {json}"),
            }
        }
    }
    rows.sort();
    rows.dedup();
    assert_eq!((ddl, rows.len()), (1, 300), "the DDL and every row");
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}
