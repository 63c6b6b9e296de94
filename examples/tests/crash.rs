//! Crash test of `dts-migrate` (live MariaDB + tansu): killed with SIGKILL during the snapshot
//! and again during the binlog phase while writes run, restarted from its checkpoint each time;
//! then every partition is read back and replayed per key in offset order → equals `SELECT *`.
//! Duplicates are allowed (at-least-once), losses are not; the count is printed.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use dts_test_utils::kafka::{plain, read_from_start};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{fresh_database, last_progress, start, unique_topic};

use dts_avro::DtsRecord;
use rdkafka::Message;
use serde_json::Value as Json;

fn wait_for(log: &std::path::Path, what: &str, cond: impl Fn(u64, bool, &str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (records, caught_up, phase) = last_progress(log);
        if cond(records, caught_up, &phase) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn image_value(item: &Json) -> String {
    // {"Integer": {"value": "12", ...}} → "12"
    item.as_object()
        .and_then(|o| o.values().next())
        .and_then(|v| v["value"].as_str())
        .unwrap_or("NULL")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// The second run is killed and waited for inside the write loop (at i == 200).
#[allow(clippy::zombie_processes)]
async fn kill_9_during_snapshot_and_binlog_then_restart_loses_nothing() {
    let bootstrap = dts_test_utils::kafka_bootstrap();
    let db = format!("dts_crash_{}", std::process::id());
    let topic = unique_topic(&db);
    let (port, mut a) = fresh_database(
        &db,
        &[
            format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(20))"),
            format!(
                "INSERT INTO {db}.t SELECT seq, seq % 97, CONCAT('s', seq) FROM {db}.seq_1_to_60000"
            ),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dts.toml");
    let checkpoint = dir.path().join("checkpoint.json");
    std::fs::write(
        &config,
        format!(
            "[source]\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"dts\"\npassword = \"dts_pw\"\nserver_id = 5888\ntables = [\"{db}.t\"]\n\
             [kafka]\nbootstrap_servers = \"{bootstrap}\"\ntopic = \"{topic}\"\npartition_policy = \"hash-primary-key\"\ncreate_topics = true\npartitions = 3\n\
             [task]\nmigration_types = [\"schema\", \"full\", \"incremental\"]\ncheckpoint = \"{}\"\nchunk_rows = 3000\nparallelism = 2\n",
            checkpoint.display()
        ),
    )
    .unwrap();

    // 1: kill -9 in the middle of the snapshot.
    let log1 = dir.path().join("run1.log");
    let mut p = start(&config, &log1);
    wait_for(&log1, "snapshot progress", |r, _, _| r >= 15_000);
    p.kill().unwrap();
    p.wait().unwrap();
    assert!(
        checkpoint.exists(),
        "a checkpoint was saved before the crash"
    );

    // 2: restart; during the binlog phase, writes run; kill -9 again.
    let log2 = dir.path().join("run2.log");
    let mut p = start(&config, &log2);
    wait_for(&log2, "incremental phase", |_, _, phase| {
        phase == "incremental"
    });
    for i in 0..400 {
        a.execute(&format!(
            "UPDATE {db}.t SET v = v + 1000 WHERE id = {}",
            1 + i * 37
        ))
        .await
        .unwrap();
        a.execute(&format!(
            "INSERT INTO {db}.t VALUES ({}, {i}, 'new')",
            100_000 + i
        ))
        .await
        .unwrap();
        a.execute(&format!("DELETE FROM {db}.t WHERE id = {}", 2 + i * 53))
            .await
            .unwrap();
        if i == 200 {
            p.kill().unwrap();
            p.wait().unwrap();
        }
    }

    // 3: restart and let it catch up, then stop it gracefully.
    let log3 = dir.path().join("run3.log");
    let mut p = start(&config, &log3);
    wait_for(&log3, "catching up", |_, caught_up, phase| {
        phase == "incremental" && caught_up
    });
    std::thread::sleep(Duration::from_secs(2));
    // SIGINT: flush, checkpoint, exit 0.
    Command::new("kill")
        .args(["-INT", &p.id().to_string()])
        .status()
        .unwrap();
    let status = p.wait().unwrap();
    assert!(status.success(), "graceful stop: {status}");

    // Read everything back and replay per key in offset order.
    let consumer = read_from_start(&plain(&bootstrap), "dts-crash", &topic, 0..3);
    let mut state: BTreeMap<i64, (String, String)> = BTreeMap::new();
    let mut total = 0u64;
    let mut idle = Instant::now();
    while idle.elapsed() < Duration::from_secs(5) {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            idle = Instant::now();
            let rec = DtsRecord::decode(m.payload().unwrap()).unwrap().to_json();
            let op = rec["operation"].as_str().unwrap().to_owned();
            if !matches!(op.as_str(), "INIT" | "INSERT" | "UPDATE" | "DELETE") {
                continue;
            }
            total += 1;
            if let Some(before) = rec["beforeImages"].as_array() {
                state.remove(&image_value(&before[0]).parse::<i64>().unwrap());
            }
            if let Some(after) = rec["afterImages"].as_array() {
                let id: i64 = image_value(&after[0]).parse().unwrap();
                state.insert(id, (image_value(&after[1]), image_value(&after[2])));
            }
        }
    }
    let rows = a
        .query(&format!("SELECT id, v, s FROM {db}.t"))
        .await
        .unwrap();
    let mut expected: BTreeMap<i64, (String, String)> = BTreeMap::new();
    for r in rows.rows {
        let text = |k: usize| String::from_utf8_lossy(r[k].as_ref().unwrap()).into_owned();
        expected.insert(text(0).parse().unwrap(), (text(1), text(2)));
    }
    let missing: Vec<_> = expected
        .iter()
        .filter(|(k, v)| state.get(*k) != Some(*v))
        .take(5)
        .collect();
    let extra: Vec<_> = state
        .iter()
        .filter(|(k, _)| !expected.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "replay differs: missing/wrong {missing:?}, extra {extra:?}"
    );
    let changes = 60_000 + 400 * 3;
    eprintln!(
        "crash test: {total} row records read for {changes} source changes: {} duplicates from two kill -9",
        total.saturating_sub(changes)
    );
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}
