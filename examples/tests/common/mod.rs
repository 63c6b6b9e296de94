//! Helpers shared by the end-to-end tests of `dts-migrate`: running it with JSON progress and
//! reading that progress back.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};

use dts_mysql_source::protocol::{ConnectOptions, Connection};
use serde_json::Value as Json;

/// The local MariaDB's port, and an admin connection with `db` created afresh and `statements`
/// run in it, in order.
pub(crate) async fn fresh_database(db: &str, statements: &[String]) -> (String, Connection) {
    let admin_url = dts_test_utils::mariadb_admin_url();
    let port = admin_url.rsplit(':').next().unwrap().to_owned();
    let mut a = Connection::connect(&ConnectOptions::from_url(&admin_url).unwrap())
        .await
        .unwrap();
    let fresh = [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
    ];
    for sql in fresh.iter().chain(statements) {
        a.execute(sql).await.unwrap();
    }
    (port, a)
}

/// The last JSON progress line `dts-migrate` wrote to `log`: records written, caught up, phase.
pub(crate) fn last_progress(log: &Path) -> (u64, bool, String) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let last = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Json>(l).ok());
    match last {
        Some(j) => (
            j["records"].as_u64().unwrap_or(0),
            j["caught_up"].as_bool().unwrap_or(false),
            j["phase"].as_str().unwrap_or("").to_owned(),
        ),
        None => (0, false, String::new()),
    }
}

/// Starts `dts-migrate --config config --progress json`, its progress going to `log`.
pub(crate) fn start(config: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dts-migrate"))
        .args(["--config", config.to_str().unwrap(), "--progress", "json"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// A topic name unique to this run: `{prefix}-{ms since the epoch}`.
pub(crate) fn unique_topic(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    )
}
