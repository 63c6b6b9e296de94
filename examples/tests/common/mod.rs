//! Helpers shared by the end-to-end tests of `dts-migrate`: running it with JSON progress and
//! reading that progress back.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value as Json;

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
