//! The [`Source`] trait and the [`SourceContext`] a source runs with.

use std::future::Future;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::event::ChangeEvent;
use crate::pipeline::encode::EncodeChannel;
use crate::position::Checkpoint;
use crate::progress::ProgressReporter;

/// Produces [`ChangeEvent`]s: the pipeline calls [`run`](Source::run) once, on its own task.
///
/// # Contract
/// - Push model: the source calls [`SourceContext::send`] for each event, in source order. `send`
///   waits while the pipeline is full (backpressure); it never drops.
/// - Resume: when [`SourceContext::resume_from`] is `Some`, start from that checkpoint's
///   position; everything before it was delivered.
/// - Checkpoints: set [`ChangeEvent::checkpoint`] on an event when the source could resume from
///   that point once it and everything before it are delivered (the end of a transaction, a
///   finished snapshot chunk). The pipeline saves it only then.
/// - Stop: return `Ok(())` soon after [`SourceContext::shutdown`] is cancelled, or when
///   [`SourceContext::send`] fails (the pipeline stopped), or when there is nothing more to read
///   (a task without incremental migration). Return `Err` on a failure; the pipeline then drains
///   what was sent and stops with that error.
pub trait Source: Send + 'static {
    /// The source's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Reads until stopped, exhausted or failed.
    fn run(self, cx: SourceContext) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The pipeline stopped accepting events (its downstream failed or it was dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the pipeline is no longer accepting events")]
pub struct PipelineClosed;

/// What a [`Source`] runs with: the event channel, the shutdown signal, the resume point and a
/// progress reporter.
#[derive(Debug)]
pub struct SourceContext {
    out: Out,
    shutdown: CancellationToken,
    resume: Option<Checkpoint>,
    progress: ProgressReporter,
}

/// Where a context's events go.
#[derive(Debug)]
enum Out {
    /// A plain channel ([`SourceContext::detached`]).
    Channel(mpsc::Sender<ChangeEvent>),
    /// A pipeline: encoded on the sending task, handed to the sink stage in bursts.
    Pipeline(Box<EncodeChannel>),
}

impl SourceContext {
    pub(crate) fn encoding(
        channel: EncodeChannel,
        shutdown: CancellationToken,
        resume: Option<Checkpoint>,
        progress: ProgressReporter,
    ) -> Self {
        Self {
            out: Out::Pipeline(Box::new(channel)),
            shutdown,
            resume,
            progress,
        }
    }

    /// A context wired to a plain channel, for running a source outside a pipeline (tests,
    /// tools).
    #[must_use]
    pub fn detached(
        tx: mpsc::Sender<ChangeEvent>,
        shutdown: CancellationToken,
        resume: Option<Checkpoint>,
    ) -> Self {
        Self {
            out: Out::Channel(tx),
            shutdown,
            resume,
            progress: ProgressReporter::default(),
        }
    }

    /// Sends one event, waiting while the pipeline is full.
    ///
    /// # Errors
    /// [`PipelineClosed`] when the pipeline no longer accepts events: stop reading.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped before completing, the event was not sent.
    pub async fn send(&self, event: ChangeEvent) -> Result<(), PipelineClosed> {
        match &self.out {
            Out::Channel(tx) => tx.send(event).await.map_err(|_| PipelineClosed),
            Out::Pipeline(channel) => channel.send(&mut vec![event]).await,
        }
    }

    /// Sends `events` in order, leaving `events` empty (its capacity kept for the next burst),
    /// waiting while the pipeline is full. In a pipeline a burst is encoded on the calling task
    /// and handed over at once: sources should send rows in bursts (a few hundred) rather than
    /// one by one.
    ///
    /// # Errors
    /// [`PipelineClosed`] when the pipeline no longer accepts events: stop reading.
    ///
    /// # Cancel safety
    /// Events still in `events` when the future is dropped were not sent; the ones removed
    /// were.
    pub async fn send_all(&self, events: &mut Vec<ChangeEvent>) -> Result<(), PipelineClosed> {
        match &self.out {
            Out::Channel(tx) => {
                while !events.is_empty() {
                    let n = events.len().min(tx.max_capacity());
                    let permits = tx.reserve_many(n).await.map_err(|_| PipelineClosed)?;
                    for (permit, event) in permits.zip(events.drain(..n)) {
                        permit.send(event);
                    }
                }
                Ok(())
            }
            Out::Pipeline(channel) => channel.send(events).await,
        }
    }

    /// Cancelled when the source must stop reading.
    #[must_use]
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// `true` once the source must stop.
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// The checkpoint to resume from, when the task ran before.
    #[must_use]
    pub fn resume_from(&self) -> Option<&Checkpoint> {
        self.resume.as_ref()
    }

    /// Where to report phase and table estimates.
    #[must_use]
    pub fn progress(&self) -> &ProgressReporter {
        &self.progress
    }
}
