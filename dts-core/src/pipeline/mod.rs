//! The pipeline: source ▶ codec ▶ partitioner ▶ sink, with ordered checkpoints.
//!
//! ```text
//! Source + encode (own task) ──bursts──▶ sink stage ──send──▶ Sink
//!   (events are encoded, routed and        │  ▲ deliveries (any order)
//!    partitioned where they are decoded)   ▼  │
//!                          AckTracker (contiguous acked prefix) ──▶ CheckpointStore
//! ```
//!
//! - The channel is bounded ([`PipelineBuilder::channel_capacity`] events) and the sink stage stops
//!   reading once [`PipelineBuilder::max_in_flight`] records await acknowledgement, so a slow
//!   sink slows the source; nothing is dropped.
//! - A checkpoint is committed only when every event before it was acknowledged (or was not a
//!   record at all), so a restart from it loses nothing (at-least-once).
//! - Stop: cancelling the shutdown token (or [`PipelineHandle::stop`]) asks the source to stop;
//!   what it already sent is encoded, sent and flushed, then the final checkpoint is committed
//!   and [`Pipeline::run`] returns a [`PipelineReport`].
//! - A failing sink, codec or source stops the pipeline with that error; the checkpoint then
//!   covers only the acknowledged prefix before the failure.

mod ack;
mod builder;
pub(crate) mod encode;
mod erased;
mod report;
mod runner;

use std::fmt;

use tokio_util::sync::CancellationToken;

pub use self::ack::{AckTracker, UnknownSequence};
pub use self::builder::PipelineBuilder;
use self::builder::Settings;
use self::erased::{DynCheckpointStore, DynCodec, DynSink, DynSource};
pub use self::report::PipelineReport;
use crate::partition::{Partitioner, TopicRouter};
use crate::progress::{Progress, ProgressReporter};

/// A wired pipeline, ready to [`run`](Self::run).
pub struct Pipeline {
    source: Box<dyn DynSource>,
    codec: Box<dyn DynCodec>,
    partitioner: std::sync::Arc<dyn Partitioner>,
    sink: Box<dyn DynSink>,
    topics: TopicRouter,
    store: Box<dyn DynCheckpointStore>,
    settings: Settings,
    progress: ProgressReporter,
    stop: CancellationToken,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("topics", &self.topics)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Starts building a pipeline.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// A handle to watch progress and stop the pipeline from elsewhere.
    #[must_use]
    pub fn handle(&self) -> PipelineHandle {
        PipelineHandle {
            progress: self.progress.clone(),
            stop: self.stop.clone(),
        }
    }
}

/// Watches and stops a running [`Pipeline`]; cheap to clone.
#[derive(Clone, Debug)]
pub struct PipelineHandle {
    progress: ProgressReporter,
    stop: CancellationToken,
}

impl PipelineHandle {
    /// The current progress.
    #[must_use]
    pub fn progress(&self) -> Progress {
        self.progress.snapshot()
    }

    /// Asks the pipeline to stop gracefully (drain, flush, final checkpoint).
    pub fn stop(&self) {
        self.stop.cancel();
    }
}
