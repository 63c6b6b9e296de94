//! The graceful stop of `dts-migrate` (live MariaDB + tansu) when whoever read its progress
//! went away (`dts-migrate … 2>&1 | head`): SIGINT still flushes, checkpoints and exits 0.
//! Before the fix, the stop notice's `eprintln!` panicked on the closed pipe before the stop
//! was requested, and the process ran on.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{fresh_database, unique_topic};
use serde_json::Value as Json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_gracefully_after_the_progress_reader_went_away() {
    let bootstrap = dts_test_utils::kafka_bootstrap();
    let db = format!("dts_stop_{}", std::process::id());
    let topic = unique_topic(&db);
    let (port, _admin) = fresh_database(
        &db,
        &[
            format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT NOT NULL)"),
            format!("INSERT INTO {db}.t VALUES (1, 10), (2, 20), (3, 30)"),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dts.toml");
    let checkpoint = dir.path().join("checkpoint.json");
    std::fs::write(
        &config,
        format!(
            "[source]\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"dts\"\npassword = \"dts_pw\"\nserver_id = 5890\ntables = [\"{db}.t\"]\n\
             [kafka]\nbootstrap_servers = \"{bootstrap}\"\ntopic = \"{topic}\"\ncreate_topics = true\npartitions = 1\n\
             [task]\nmigration_types = [\"schema\", \"full\", \"incremental\"]\ncheckpoint = \"{}\"\n",
            checkpoint.display()
        ),
    )
    .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_dts-migrate"))
        .args(["--config", config.to_str().unwrap()])
        .args(["--progress", "json", "--progress-interval-ms", "20"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Read the progress until the binlog phase, then close the pipe.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let incremental = serde_json::from_str::<Json>(&line)
                .is_ok_and(|j| j["phase"] == "incremental" && j["records"].as_u64() >= Some(4));
            seen.push(line);
            if incremental {
                tx.send(Ok(())).ok();
                return; // drops the read end
            }
        }
        tx.send(Err(seen.join("\n"))).ok();
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(())) => {}
        Ok(Err(output)) => {
            child.kill().ok();
            panic!("dts-migrate ended before the binlog phase:\n{output}");
        }
        Err(_) => {
            child.kill().ok();
            panic!("dts-migrate did not reach the binlog phase in 60 s");
        }
    }
    // Progress lines now go to a closed pipe.
    std::thread::sleep(Duration::from_millis(300));

    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("dts-migrate did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful stop: {status}");
    let saved: Json = serde_json::from_str(&std::fs::read_to_string(&checkpoint).unwrap()).unwrap();
    // Past the full migration: in the binlog, or the snapshot marked done (no change since).
    let snapshot_done = saved["position"]["snapshot"]["tables"][0][1]["done"] == true;
    assert!(
        saved["position"].get("binlog").is_some() || snapshot_done,
        "the checkpoint is past the full migration: {saved}"
    );
}
