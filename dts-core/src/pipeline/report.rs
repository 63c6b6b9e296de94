//! [`PipelineReport`]: what a finished run did.

use std::time::Duration;

use crate::position::Checkpoint;

/// The outcome of a [`Pipeline::run`](crate::Pipeline::run) that did not fail.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PipelineReport {
    /// Events received from the source.
    pub events: u64,
    /// Records sent to the sink.
    pub records: u64,
    /// Records acknowledged by the sink (equals `records` after a clean drain).
    pub records_acked: u64,
    /// The last checkpoint committed (by this run or, if it committed none, the one it resumed
    /// from).
    pub checkpoint: Option<Checkpoint>,
    /// Checkpoint commits made by this run.
    pub checkpoints_committed: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The run ended because shutdown was requested (rather than the source running out).
    pub shut_down: bool,
}
