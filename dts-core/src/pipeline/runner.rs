//! The run loop: one task per stage, the sink stage on the caller's task.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::ack::AckTracker;
use super::builder::Settings;
use super::erased::{DynCheckpointStore, DynCodec, DynSink};
use super::{Pipeline, PipelineReport};
use crate::error::{BoxError, Error, Result};
use crate::event::{ChangeEvent, Operation};
use crate::partition::{Partitioner, TopicRouter};
use crate::position::{BinlogPosition, Checkpoint, Position};
use crate::progress::{Phase, ProgressReporter};
use crate::schema::TableId;
use crate::sink::{AckBoard, DeliveryInner, Origin, SinkRecord};
use crate::source::SourceContext;

/// An event after the encode stage: what the sink stage needs of it. The event itself (its row
/// images) is dropped by the encode stage, on the thread that decoded it, not by the sink stage.
struct Encoded {
    meta: AckMeta,
    /// `None` when the codec does not accept the event (it is only checkpointed).
    record: Option<Routed>,
}

/// An encoded record with its topic and partition.
struct Routed {
    topic: Arc<str>,
    partition: u32,
    key: Option<Bytes>,
    value: Bytes,
    timestamp_ms: Option<i64>,
}

/// What the sink stage remembers of an event until it is acknowledged.
struct AckMeta {
    /// The record's operation, table and position (records only), for error messages.
    origin: Option<Origin>,
    checkpoint: Option<Arc<Position>>,
    position: Option<BinlogPosition>,
    source_ts_ms: u64,
    snapshot_row_of: Option<TableId>,
    is_record: bool,
}

/// Where the encode stage sends records: the topic router, the partitioner and each topic's
/// partition count (read from the sink before the stages start).
struct Routing {
    topics: TopicRouter,
    partitioner: Arc<dyn Partitioner>,
    partitions: HashMap<Arc<str>, NonZeroU32>,
}

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
        let (event_tx, event_rx) = mpsc::channel(settings.channel_capacity);
        // Events cross from the encode stage to the sink stage in batches of up to `batch`: one
        // channel operation and one wake-up per batch instead of per event. The batches in the
        // channel hold at most about `channel_capacity` events, as the first channel does.
        let batch = settings.channel_capacity.clamp(1, MAX_BATCH);
        let (encoded_tx, encoded_rx) = mpsc::channel((settings.channel_capacity / batch).max(1));
        let cx = SourceContext::new(
            event_tx,
            source_stop.clone(),
            resume.clone(),
            progress.clone(),
        );
        let source_task: JoinHandle<Result<(), BoxError>> = tasks.spawn(source.run(cx));
        let routing = Routing {
            topics,
            partitioner,
            partitions,
        };
        let encode_task = tasks.spawn(encode_stage(
            codec,
            routing,
            event_rx,
            encoded_tx,
            next_id.clone(),
            batch,
        ));
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
        let sink_result = stage.run(encoded_rx, &source_stop).await;
        // The sink stage ends when it failed or when the encode stage ended (the source ended,
        // or the codec failed): either way the source must stop too.
        source_stop.cancel();
        let source_result = join("source", source_task).await;
        let encode_result = join("encode", encode_task).await;
        tasks.wait().await;
        forward.abort();

        let result = sink_result
            .and(encode_result.and_then(|r| r))
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
    let mut out = HashMap::new();
    for topic in topics.topics() {
        if out.contains_key(topic) {
            continue;
        }
        let n = sink
            .partition_count(topic)
            .await
            .map_err(|source| Error::Partitions {
                topic: topic.to_string(),
                source,
            })?;
        out.insert(topic.clone(), n);
    }
    Ok(out)
}

/// The most events moved between stages at once.
const MAX_BATCH: usize = 256;

/// Encodes events in order; assigns record ids.
///
/// Ids are `max(previous + 1, now in µs)` (the clock read once per batch): strictly increasing in a run, and above every id of
/// an earlier run as long as the wall clock does not go back (the checkpoint's `next_id` is a
/// floor too), even when that run crashed after sending records it never checkpointed.
async fn encode_stage(
    mut codec: Box<dyn DynCodec>,
    routing: Routing,
    mut rx: mpsc::Receiver<ChangeEvent>,
    tx: mpsc::Sender<Vec<Encoded>>,
    next_id: Arc<AtomicU64>,
    batch: usize,
) -> Result<()> {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut id = next_id.load(Ordering::Relaxed);
    let mut events = Vec::with_capacity(batch);
    while rx.recv_many(&mut events, batch).await > 0 {
        // One clock read per batch: ids stay strictly increasing and above the wall clock.
        id = id.max(now_micros());
        let mut out = Vec::with_capacity(events.len() + 1);
        for mut event in events.drain(..) {
            // An UPDATE whose old and new rows go to different places is sent as DELETE of the
            // old row then INSERT of the new one, so each key's records stay in one partition,
            // in order.
            if event.op == Operation::Update && routing.partitioner.splits_update(&event) {
                let mut delete = event.clone();
                delete.op = Operation::Delete;
                delete.after = None;
                delete.checkpoint = None;
                event.op = Operation::Insert;
                event.before = None;
                match encode_one(
                    codec.as_mut(),
                    &routing,
                    delete,
                    &mut buf,
                    &mut id,
                    &next_id,
                ) {
                    Ok(e) => out.push(e),
                    Err(e) => return fail_after(&tx, out, e).await,
                }
            }
            match encode_one(codec.as_mut(), &routing, event, &mut buf, &mut id, &next_id) {
                Ok(e) => out.push(e),
                Err(e) => return fail_after(&tx, out, e).await,
            }
        }
        if tx.send(out).await.is_err() {
            // The sink stage stopped (it failed); its error is reported.
            break;
        }
    }
    Ok(())
}

fn now_micros() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros(),
    )
    .unwrap_or(u64::MAX)
}

/// Hands the events encoded before a codec failure to the sink stage, then fails with it.
async fn fail_after(
    tx: &mpsc::Sender<Vec<Encoded>>,
    done: Vec<Encoded>,
    error: Error,
) -> Result<()> {
    if !done.is_empty() {
        // If the sink stage is gone, its own error is reported beside this one.
        tx.send(done).await.ok();
    }
    Err(error)
}

/// Assigns `event` its record id, encodes and routes it (events the codec does not accept pass
/// as they are, for their checkpoints), and drops it: only what the sink stage needs goes on.
fn encode_one(
    codec: &mut dyn DynCodec,
    routing: &Routing,
    mut event: ChangeEvent,
    buf: &mut BytesMut,
    id: &mut u64,
    next_id: &AtomicU64,
) -> Result<Encoded> {
    let record = if codec.accepts(&event) {
        event.id = *id;
        *id = event.id.saturating_add(1);
        next_id.store(*id, Ordering::Relaxed);
        let encode_err = |source| Error::Encode {
            what: event.describe(),
            source,
        };
        if buf.capacity() < 4096 {
            buf.reserve(64 * 1024);
        }
        codec.encode_key(&event, buf).map_err(encode_err)?;
        let key = buf.split().freeze();
        codec.encode_value(&event, buf).map_err(encode_err)?;
        let value = buf.split().freeze();
        let topic = routing.topics.topic_for(&event);
        let partitions = routing.partitions.get(topic).ok_or_else(|| Error::Stage {
            stage: "encode",
            reason: format!("no partition count for topic {topic:?}"),
        })?;
        let partition = routing.partitioner.partition(&event, *partitions);
        if partition >= partitions.get() {
            return Err(Error::PartitionOutOfRange {
                topic: topic.to_string(),
                partition,
                partitions: partitions.get(),
            });
        }
        Some(Routed {
            topic: topic.clone(),
            partition,
            key: (!key.is_empty()).then_some(key),
            value,
            timestamp_ms: i64::try_from(event.source_ts_ms).ok().filter(|&t| t > 0),
        })
    } else {
        None
    };
    let meta = AckMeta {
        origin: record.is_some().then(|| Origin::of(&event)),
        checkpoint: event.checkpoint.take(),
        position: event.position.take(),
        source_ts_ms: event.source_ts_ms,
        snapshot_row_of: (event.op == Operation::Init)
            .then(|| event.table_id().cloned())
            .flatten(),
        is_record: record.is_some(),
    };
    Ok(Encoded { meta, record })
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
        mut rx: mpsc::Receiver<Vec<Encoded>>,
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
                let mut sent = false;
                while held.len() > 0 {
                    if self.tracker.len() >= self.settings.max_in_flight {
                        // Acknowledged records still count until released.
                        self.release_acked();
                        if self.tracker.len() >= self.settings.max_in_flight {
                            break;
                        }
                    }
                    let Some(encoded) = held.next() else { break };
                    sent = true;
                    match self.send(encoded).await? {
                        None => {}
                        Some((seq, DeliveryInner::Ready(outcome))) => {
                            let outcome =
                                outcome.unwrap_or_else(|| Err("delivery already consumed".into()));
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
                if sent {
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
                        let Some(batch) = next else { break };
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
        let (Some(routed), Some(origin)) = (record, meta.origin.clone()) else {
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
            timestamp_ms: routed.timestamp_ms,
            origin,
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
            let origin = self.tracker.get(seq).and_then(|m| m.origin.as_ref());
            let what = origin.map_or_else(|| format!("record #{seq}"), ToString::to_string);
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
            acked += u64::from(meta.is_record);
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
        what: meta
            .origin
            .as_ref()
            .map_or_else(|| "record".to_owned(), ToString::to_string),
        source,
    }
}

fn stage_error(e: &dyn std::error::Error) -> Error {
    Error::Stage {
        stage: "sink",
        reason: e.to_string(),
    }
}
