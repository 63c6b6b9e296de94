//! The run loop: one task per stage, the sink stage on the caller's task.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::ack::AckTracker;
use super::builder::Settings;
use super::encode::{AckMeta, Batch, EncodeChannel, Encoded, Routing, Shared};
use super::erased::{DynCheckpointStore, DynSink};
use super::{Pipeline, PipelineReport};
use crate::error::{BoxError, Error, Result};
use crate::partition::TopicRouter;
use crate::position::{Checkpoint, Position};
use crate::progress::{Phase, ProgressReporter};
use crate::schema::TableId;
use crate::sink::{AckBoard, DeliveryInner, SinkRecord};
use crate::source::SourceContext;

impl Pipeline {
    /// Runs until the source is exhausted, `shutdown` is cancelled (or
    /// [`PipelineHandle::stop`](super::PipelineHandle::stop) is called), or a part fails.
    ///
    /// Loads the last checkpoint first and hands it to the source to resume from.
    ///
    /// # Errors
    /// The first failure of the checkpoint store, source, codec or sink. Everything
    /// acknowledged before it is checkpointed.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future stops the stages abruptly without a final
    /// checkpoint. Cancel `shutdown` instead.
    pub async fn run(self, shutdown: CancellationToken) -> Result<PipelineReport> {
        let started = Instant::now();
        let Pipeline {
            source,
            codec,
            partitioner,
            mut sink,
            topics,
            store,
            settings,
            progress,
            stop,
        } = self;
        let resume = store
            .load()
            .await
            .map_err(|source| Error::CheckpointStore { op: "load", source })?;
        let next_id = Arc::new(AtomicU64::new(resume.as_ref().map_or(1, |c| c.next_id)));
        let partitions = match partition_counts(sink.as_mut(), &topics).await {
            Ok(p) => p,
            Err(e) => {
                progress.set_phase(Phase::Failed);
                return Err(e);
            }
        };

        // One token for the source: cancelled by the caller's shutdown, a handle's stop, or a
        // failure downstream.
        let source_stop = stop.child_token();
        let forward = {
            let (shutdown, stop) = (shutdown.clone(), stop.clone());
            tokio::spawn(async move {
                tokio::select! {
                    () = shutdown.cancelled() => stop.cancel(),
                    () = stop.cancelled() => {}
                }
            })
        };

        let tasks = TaskTracker::new();
        let routing = Routing {
            topics,
            partitioner,
            partitions,
        };
        // Events are encoded on the source's task and reach the sink stage in bursts: one
        // channel operation and one wake-up per burst. The channel holds at most
        // `channel_capacity` events.
        let (channel, shared, encoded_rx) = EncodeChannel::new(
            codec,
            routing,
            next_id.clone(),
            settings.channel_capacity,
            source_stop.clone(),
        );
        let cx = SourceContext::encoding(
            channel,
            source_stop.clone(),
            resume.clone(),
            progress.clone(),
        );
        let source_task: JoinHandle<Result<(), BoxError>> = tasks.spawn(source.run(cx));
        tasks.close();

        let mut stage = SinkStage {
            sink,
            store,
            settings,
            progress: progress.clone(),
            next_id,
            tracker: AckTracker::new(),
            pending: None,
            committed: resume.clone(),
            commits: 0,
            events: 0,
            records: 0,
            acked: 0,
            acked_at_last_rate: 0,
        };
        let sink_result = stage.run(encoded_rx, &shared, &source_stop).await;
        // The sink stage ends when it failed or when the source ended (by itself, or after an
        // encoding failure): either way the source must stop too.
        shared.close();
        source_stop.cancel();
        let source_result = join("source", source_task).await;
        tasks.wait().await;
        forward.abort();

        let encode_result = shared.take_failure().map_or(Ok(()), Err);
        let result = sink_result
            .and(encode_result)
            .and(source_result.and_then(|r| r.map_err(Error::Source)));
        progress.set_phase(if result.is_ok() {
            Phase::Done
        } else {
            Phase::Failed
        });
        result?;
        Ok(PipelineReport {
            events: stage.events,
            records: stage.records,
            records_acked: stage.acked,
            checkpoint: stage.committed,
            checkpoints_committed: stage.commits,
            elapsed: started.elapsed(),
            shut_down: stop.is_cancelled(),
        })
    }
}

async fn join<T>(stage: &'static str, task: JoinHandle<T>) -> Result<T> {
    task.await.map_err(|e| Error::Stage {
        stage,
        reason: e.to_string(),
    })
}

/// The partition count of every topic `topics` may route to, asked of the sink once.
async fn partition_counts(
    sink: &mut dyn DynSink,
    topics: &TopicRouter,
) -> Result<HashMap<Arc<str>, NonZeroU32>> {
    let mut wanted: Vec<Arc<str>> = Vec::new();
    for topic in topics.topics() {
        if !wanted.contains(topic) {
            wanted.push(topic.clone());
        }
    }
    let counts = sink
        .partition_counts(&wanted)
        .await
        .map_err(|source| Error::Partitions {
            topic: wanted.join(", "),
            source,
        })?;
    if counts.len() != wanted.len() {
        return Err(Error::Stage {
            stage: "sink",
            reason: format!(
                "asked the partition counts of {} topic(s), got {}",
                wanted.len(),
                counts.len()
            ),
        });
    }
    Ok(wanted.into_iter().zip(counts).collect())
}

struct SinkStage {
    sink: Box<dyn DynSink>,
    store: Box<dyn DynCheckpointStore>,
    settings: Settings,
    progress: ProgressReporter,
    next_id: Arc<AtomicU64>,
    tracker: AckTracker<AckMeta>,
    /// The newest checkpoint covered by the acknowledged prefix, not yet committed.
    pending: Option<Arc<Position>>,
    committed: Option<Checkpoint>,
    commits: u64,
    events: u64,
    records: u64,
    acked: u64,
    acked_at_last_rate: u64,
}

type Outcome = (u64, Result<(), BoxError>);

/// Records sent before the sink stage calls [`Sink::submit`](crate::sink::Sink::submit) and
/// looks at acknowledgements, when batches keep arriving.
const MAX_BURST: usize = 1024;

/// Waits until at least one of `boards` has outcomes and moves them all into `out`.
fn drain_boards(boards: &[AckBoard], out: &mut Vec<Outcome>) -> impl Future<Output = ()> {
    std::future::poll_fn(move |cx| {
        let mut ready = false;
        for board in boards {
            ready |= board.poll_drain(cx, out).is_ready();
        }
        if ready {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
}

impl SinkStage {
    async fn run(
        &mut self,
        mut rx: mpsc::UnboundedReceiver<Batch>,
        room: &Shared,
        source_stop: &CancellationToken,
    ) -> Result<()> {
        let mut in_flight = FuturesUnordered::new();
        let mut boards: Vec<AckBoard> = Vec::new();
        let mut outcomes: Vec<Outcome> = Vec::new();
        let mut held = Vec::new().into_iter();
        let mut checkpoint_tick = tokio::time::interval(self.settings.checkpoint_interval);
        checkpoint_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rate_tick = tokio::time::interval(self.settings.progress_interval);
        rate_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_rate = Instant::now();
        let mut draining = false;

        let result: Result<()> = async {
            loop {
                // Send what the in-flight cap allows of the batch in hand.
                let mut sent = 0usize;
                loop {
                    while held.len() > 0 {
                        if self.tracker.len() >= self.settings.max_in_flight {
                            // Acknowledged records still count until released.
                            self.release_acked();
                            if self.tracker.len() >= self.settings.max_in_flight {
                                break;
                            }
                        }
                        let Some(encoded) = held.next() else { break };
                        sent += 1;
                        match self.send(encoded).await? {
                            None => {}
                            Some((seq, DeliveryInner::Ready(outcome))) => {
                                let outcome = outcome
                                    .unwrap_or_else(|| Err("delivery already consumed".into()));
                                self.acknowledge(seq, outcome)?;
                            }
                            Some((seq, DeliveryInner::Future(fut))) => {
                                in_flight.push(async move { (seq, fut.await) });
                            }
                            Some((_, DeliveryInner::Board(board, _)))
                                if !boards.iter().any(|b| b.same(&board)) =>
                            {
                                boards.push(board);
                            }
                            Some((_, DeliveryInner::Board(..))) => {}
                        }
                    }
                    // Batches already waiting join the burst: one `submit` for all of them, so a
                    // sink that enqueues bursts at once gets longer ones when it falls behind.
                    if held.len() == 0
                        && sent > 0
                        && sent < MAX_BURST
                        && self.tracker.len() < self.settings.max_in_flight
                        && let Ok((events, batch)) = rx.try_recv()
                    {
                        room.release(events);
                        held = batch.into_iter();
                        continue;
                    }
                    break;
                }
                if sent > 0 {
                    // A sink may hold the burst back to enqueue it at once.
                    self.sink.submit().await.map_err(|source| Error::Sink {
                        what: "the records just sent".to_owned(),
                        source,
                    })?;
                    self.release_acked();
                }
                tokio::select! {
                    biased;
                    () = drain_boards(&boards, &mut outcomes), if !boards.is_empty() => {
                        for (seq, outcome) in outcomes.drain(..) {
                            self.acknowledge(seq, outcome)?;
                        }
                        self.release_acked();
                    }
                    Some((seq, outcome)) = in_flight.next(), if !in_flight.is_empty() => {
                        self.acknowledge(seq, outcome)?;
                        self.release_acked();
                    }
                    () = source_stop.cancelled(), if !draining => {
                        draining = true;
                        self.progress.set_phase(Phase::Draining);
                    }
                    _ = checkpoint_tick.tick() => self.commit().await?,
                    _ = rate_tick.tick() => {
                        let secs = last_rate.elapsed().as_secs_f64();
                        last_rate = Instant::now();
                        self.update_rate(secs);
                    }
                    next = rx.recv(), if held.len() == 0
                        && self.tracker.len() < self.settings.max_in_flight => {
                        let Some((events, batch)) = next else { break };
                        room.release(events);
                        held = batch.into_iter();
                    }
                }
            }
            // The source finished and everything it sent was handed to the sink: flush, wait.
            self.progress.set_phase(Phase::Draining);
            self.sink.flush().await.map_err(Error::Flush)?;
            while let Some((seq, outcome)) = in_flight.next().await {
                self.acknowledge(seq, outcome)?;
            }
            self.release_acked();
            while !self.tracker.is_empty() && !boards.is_empty() {
                drain_boards(&boards, &mut outcomes).await;
                for (seq, outcome) in outcomes.drain(..) {
                    self.acknowledge(seq, outcome)?;
                }
                self.release_acked();
            }
            Ok(())
        }
        .await;
        // Success or failure: save what the acknowledged prefix covers (never past a failure).
        self.release_acked();
        let committed = self.commit().await;
        result.and(committed)
    }

    /// Sends one encoded event; records it in the tracker.
    async fn send(&mut self, encoded: Encoded) -> Result<Option<(u64, DeliveryInner)>> {
        let Encoded { meta, record } = encoded;
        self.events += 1;
        let (Some(routed), Some(op)) = (record, meta.origin.as_ref().map(|o| o.op)) else {
            // Not a record: acknowledged at once, in order.
            let seq = self.tracker.push(meta);
            self.tracker.ack(seq).map_err(|e| stage_error(&e))?;
            return Ok(None);
        };
        let seq = self.tracker.next_seq();
        let record = SinkRecord {
            topic: routed.topic,
            partition: routed.partition,
            key: routed.key,
            value: routed.value,
            timestamp_ms: None,
            op,
            seq,
        };
        let delivery = match self.sink.try_send(record) {
            Ok(Ok(delivery)) => delivery,
            // The sink would have to wait: the asynchronous path.
            Ok(Err(record)) => self
                .sink
                .send(record)
                .await
                .map_err(|source| sink_error(&meta, source))?,
            Err(source) => return Err(sink_error(&meta, source)),
        };
        self.records += 1;
        let pushed = self.tracker.push(meta);
        debug_assert_eq!(pushed, seq);
        Ok(Some((seq, delivery.into_inner())))
    }

    fn acknowledge(&mut self, seq: u64, outcome: Result<(), BoxError>) -> Result<()> {
        if let Err(source) = outcome {
            let what = self.tracker.get(seq).map_or_else(
                || format!("record #{seq}"),
                |m| m.describe(|| format!("record #{seq}")),
            );
            return Err(Error::Sink { what, source });
        }
        self.tracker.ack(seq).map_err(|e| stage_error(&e))?;
        Ok(())
    }

    /// Moves the acknowledged prefix into progress and the pending checkpoint.
    fn release_acked(&mut self) {
        let mut popped = false;
        let mut acked = 0u64;
        let mut newest_ts = 0u64;
        let mut newest_position = None;
        // Snapshot rows come in runs of one table: counted per run, not per row.
        let mut rows: Vec<(TableId, u64)> = Vec::new();
        while let Some((_, meta)) = self.tracker.pop_acked() {
            popped = true;
            acked += u64::from(meta.origin.is_some());
            if meta.source_ts_ms > 0 {
                newest_ts = meta.source_ts_ms;
            }
            if let Some(p) = meta.position {
                newest_position = Some(p);
            }
            if let Some(t) = meta.snapshot_row_of {
                match rows.last_mut() {
                    Some((last, n)) if *last == t => *n += 1,
                    _ => rows.push((t, 1)),
                }
            }
            if let Some(cp) = meta.checkpoint {
                self.pending = Some(cp);
            }
        }
        if !popped {
            return;
        }
        self.acked += acked;
        let total = self.acked;
        let events = self.events;
        self.progress.with(|p, last_ts| {
            p.records_acked = total;
            p.events_received = events;
            if newest_ts > 0 {
                *last_ts = newest_ts;
            }
            if let Some(pos) = newest_position {
                p.position = Some(Position::binlog(pos));
            }
            for (t, n) in rows {
                p.tables.entry(t).or_default().rows_done += n;
            }
        });
    }

    fn update_rate(&mut self, secs: f64) {
        if secs <= 0.0 {
            return;
        }
        let delta = self.acked - self.acked_at_last_rate;
        self.acked_at_last_rate = self.acked;
        #[allow(clippy::cast_precision_loss)] // a rate for display
        let rate = delta as f64 / secs;
        self.progress.with(|p, _| p.events_per_sec = rate);
    }

    /// Commits the pending checkpoint if it moved.
    async fn commit(&mut self) -> Result<()> {
        let Some(position) = self.pending.take() else {
            return Ok(());
        };
        let checkpoint = Checkpoint::new((*position).clone(), self.next_id.load(Ordering::Relaxed));
        if self
            .committed
            .as_ref()
            .is_some_and(|c| c.position == checkpoint.position)
        {
            return Ok(());
        }
        self.store
            .commit(&checkpoint)
            .await
            .map_err(|source| Error::CheckpointStore {
                op: "commit",
                source,
            })?;
        self.commits += 1;
        self.progress
            .with(|p, _| p.checkpoint = Some(checkpoint.position.clone()));
        self.committed = Some(checkpoint);
        Ok(())
    }
}

/// The sink's failure to take the record `meta` describes.
fn sink_error(meta: &AckMeta, source: BoxError) -> Error {
    Error::Sink {
        what: meta.describe(|| "record".to_owned()),
        source,
    }
}

fn stage_error(e: &dyn std::error::Error) -> Error {
    Error::Stage {
        stage: "sink",
        reason: e.to_string(),
    }
}
