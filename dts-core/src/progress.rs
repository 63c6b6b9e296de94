//! Live [`Progress`] of a pipeline: phase, per-table rows, rate, position, lag, caught-up.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::position::Position;
use crate::schema::TableId;

/// Which part of the migration is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Phase {
    /// Not started yet.
    #[default]
    Starting,
    /// Schema migration: table definitions being sent.
    Schema,
    /// Full data migration: tables being copied.
    Snapshot,
    /// Incremental migration: the binlog being streamed.
    Incremental,
    /// Stopping: in-flight records being flushed.
    Draining,
    /// Finished cleanly.
    Done,
    /// Stopped by an error.
    Failed,
}

impl Phase {
    /// Lower-case name (`snapshot`, `incremental`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Schema => "schema",
            Phase::Snapshot => "snapshot",
            Phase::Incremental => "incremental",
            Phase::Draining => "draining",
            Phase::Done => "done",
            Phase::Failed => "failed",
        }
    }
}

/// Full-data progress of one table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableProgress {
    /// Snapshot rows acknowledged by the sink.
    pub rows_done: u64,
    /// The source's estimate of the row count (`information_schema.TABLES.TABLE_ROWS`).
    pub rows_estimated: Option<u64>,
    /// Every row of the table was copied and acknowledged.
    pub done: bool,
}

/// A snapshot of a pipeline's progress.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// The current phase.
    pub phase: Phase,
    /// Per-table full-data progress.
    pub tables: BTreeMap<TableId, TableProgress>,
    /// Events received from the source.
    pub events_received: u64,
    /// Records acknowledged by the sink.
    pub records_acked: u64,
    /// Acknowledged events per second, over the last progress interval.
    pub events_per_sec: f64,
    /// The position of the last acknowledged event that carried one.
    pub position: Option<Position>,
    /// The last checkpoint saved.
    pub checkpoint: Option<Position>,
    /// Now minus the source time of the last acknowledged event.
    pub lag: Option<Duration>,
    /// Incremental migration is running and `lag` is below the caught-up threshold.
    pub caught_up: bool,
}

impl Progress {
    /// Tables whose full data is done, and all tables.
    #[must_use]
    pub fn tables_done(&self) -> (usize, usize) {
        (
            self.tables.values().filter(|t| t.done).count(),
            self.tables.len(),
        )
    }

    /// Snapshot rows done over all tables.
    #[must_use]
    pub fn rows_done(&self) -> u64 {
        self.tables.values().map(|t| t.rows_done).sum()
    }
}

#[derive(Debug, Default)]
struct State {
    progress: Progress,
    last_source_ts_ms: u64,
    caught_up_threshold: Duration,
}

/// Shared progress state: written by the source (phase, estimates) and the sink stage (acks),
/// read by anyone through a [`PipelineHandle`](crate::PipelineHandle).
#[derive(Clone, Debug, Default)]
pub struct ProgressReporter {
    state: Arc<Mutex<State>>,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl ProgressReporter {
    pub(crate) fn new(caught_up_threshold: Duration) -> Self {
        let state = State {
            caught_up_threshold,
            ..State::default()
        };
        Self {
            state: Arc::new(Mutex::new(state)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Progress is informational: a panic elsewhere must not hide it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the phase.
    pub fn set_phase(&self, phase: Phase) {
        self.lock().progress.phase = phase;
    }

    /// Registers a table for the full-data migration with an estimated row count.
    pub fn set_table_estimate(&self, table: &TableId, rows: Option<u64>) {
        self.lock()
            .progress
            .tables
            .entry(table.clone())
            .or_default()
            .rows_estimated = rows;
    }

    /// Marks a table's full data as copied and acknowledged.
    pub fn set_table_done(&self, table: &TableId) {
        self.lock()
            .progress
            .tables
            .entry(table.clone())
            .or_default()
            .done = true;
    }

    /// The current progress.
    #[must_use]
    pub fn snapshot(&self) -> Progress {
        let s = self.lock();
        let mut p = s.progress.clone();
        if s.last_source_ts_ms > 0 {
            let lag = Duration::from_millis(now_ms().saturating_sub(s.last_source_ts_ms));
            p.lag = Some(lag);
            p.caught_up = p.phase == Phase::Incremental && lag <= s.caught_up_threshold;
        }
        p
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Progress, &mut u64) -> R) -> R {
        let mut s = self.lock();
        let State {
            progress,
            last_source_ts_ms,
            ..
        } = &mut *s;
        f(progress, last_source_ts_ms)
    }
}
