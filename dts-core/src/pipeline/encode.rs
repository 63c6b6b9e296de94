//! Encoding on the source's task: [`SourceContext::send_all`](crate::SourceContext::send_all)
//! encodes, routes and partitions a burst of events where they were decoded, and hands the
//! sink stage one batch.
//!
//! A separate encode task cost a channel operation per event, a hop to another thread, and
//! every row image freed (and every shared buffer's reference count touched) on a thread other
//! than the one that made it; on two cores that was a tenth of the binlog phase's CPU.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Bytes, BytesMut};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::erased::DynCodec;
use crate::error::{Error, Result};
use crate::event::{ChangeEvent, Operation};
use crate::partition::{Partitioner, TopicRouter};
use crate::position::{BinlogPosition, Position};
use crate::schema::TableId;
use crate::sink::Origin;
use crate::source::PipelineClosed;

/// An event after encoding: what the sink stage needs of it. The event itself (its row images)
/// is dropped on the thread that decoded it.
pub(super) struct Encoded {
    pub(super) meta: AckMeta,
    /// `None` when the codec does not accept the event (it is only checkpointed).
    pub(super) record: Option<Routed>,
}

/// An encoded record with its topic and partition.
pub(super) struct Routed {
    pub(super) topic: Arc<str>,
    pub(super) partition: u32,
    pub(super) key: Option<Bytes>,
    pub(super) value: Bytes,
}

/// What the sink stage remembers of an event until it is acknowledged.
pub(super) struct AckMeta {
    /// The record's operation and table (its position is [`position`](Self::position)), for
    /// error messages; `None` when the event is not a record (only checkpointed).
    pub(super) origin: Option<Origin>,
    pub(super) checkpoint: Option<Arc<Position>>,
    pub(super) position: Option<BinlogPosition>,
    pub(super) source_ts_ms: u64,
    pub(super) snapshot_row_of: Option<TableId>,
}

/// Where records go: the topic router, the partitioner and each topic's partition count (read
/// from the sink before the source starts).
pub(super) struct Routing {
    pub(super) topics: TopicRouter,
    pub(super) partitioner: Arc<dyn Partitioner>,
    pub(super) partitions: HashMap<Arc<str>, NonZeroU32>,
}

/// A batch for the sink stage: how many events it came from (room to give back) and what they
/// became.
pub(super) type Batch = (usize, Vec<Encoded>);

/// The state the pipeline keeps of the source's channel: the room left (in events) and the
/// first encoding failure.
#[derive(Debug)]
pub(super) struct Shared {
    room: Semaphore,
    /// The most events taken at once (the room's size).
    capacity: usize,
    failure: Mutex<Option<Error>>,
}

impl Shared {
    /// The sink stage took a batch made of `events` events.
    pub(super) fn release(&self, events: usize) {
        self.room.add_permits(events);
    }

    /// The sink stage ended: a source waiting for room stops waiting.
    pub(super) fn close(&self) {
        self.room.close();
    }

    /// The encoding failure that stopped the source, if any.
    pub(super) fn take_failure(&self) -> Option<Error> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// The source's end of the pipeline: encodes and hands over bursts in order. Owned by the
/// [`SourceContext`](crate::SourceContext): when the source ends, the sender goes with it and
/// the sink stage sees the end.
pub(crate) struct EncodeChannel {
    state: Mutex<EncodeState>,
    tx: mpsc::UnboundedSender<Batch>,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl std::fmt::Debug for EncodeChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodeChannel")
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

struct EncodeState {
    codec: Box<dyn DynCodec>,
    routing: Routing,
    buf: BytesMut,
    /// The next record id.
    id: u64,
    next_id: Arc<AtomicU64>,
    /// The last topic's partition count, matched by pointer (the router hands out one shared
    /// name per topic): most records skip hashing the topic name.
    last_partitions: Option<(Arc<str>, NonZeroU32)>,
}

impl EncodeChannel {
    /// A channel holding at most `capacity` events (at least 1) not yet taken by the sink
    /// stage; an encoding failure cancels `stop`.
    pub(super) fn new(
        codec: Box<dyn DynCodec>,
        routing: Routing,
        next_id: Arc<AtomicU64>,
        capacity: usize,
        stop: CancellationToken,
    ) -> (Self, Arc<Shared>, mpsc::UnboundedReceiver<Batch>) {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        let shared = Arc::new(Shared {
            room: Semaphore::new(capacity),
            capacity,
            failure: Mutex::new(None),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let id = next_id.load(Ordering::Relaxed);
        let channel = Self {
            state: Mutex::new(EncodeState {
                codec,
                routing,
                buf: BytesMut::with_capacity(64 * 1024),
                id,
                next_id,
                last_partitions: None,
            }),
            tx,
            shared: shared.clone(),
            stop,
        };
        (channel, shared, rx)
    }

    /// Encodes `events` in order and hands them to the sink stage, leaving `events` empty;
    /// waits while the channel is full.
    ///
    /// # Errors
    /// [`PipelineClosed`] when the sink stage stopped, or encoding failed (the failure is kept
    /// for the pipeline's result and the source is asked to stop).
    pub(crate) async fn send(&self, events: &mut Vec<ChangeEvent>) -> Result<(), PipelineClosed> {
        while !events.is_empty() {
            let n = events.len().min(self.shared.capacity);
            let permits = self
                .shared
                .room
                .acquire_many(u32::try_from(n).unwrap_or(u32::MAX))
                .await
                .map_err(|_| PipelineClosed)?;
            // The room comes back when the sink stage takes the batch.
            permits.forget();
            let failure = {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                let mut out = Vec::with_capacity(n + 1);
                let result = state.encode_all(events.drain(..n), &mut out);
                // Sent under the lock: batches keep the order of their record ids.
                if self.tx.send((n, out)).is_err() {
                    return Err(PipelineClosed);
                }
                result.err()
            };
            if let Some(e) = failure {
                let mut slot = self
                    .shared
                    .failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                slot.get_or_insert(e);
                drop(slot);
                self.stop.cancel();
                events.clear();
                return Err(PipelineClosed);
            }
        }
        Ok(())
    }
}

impl EncodeState {
    /// Encodes `events` into `out`; stops at the first failure (what was encoded before it is
    /// in `out`).
    ///
    /// Ids are `max(previous + 1, now in µs)` (the clock read once per burst): strictly
    /// increasing in a run, and above every id of an earlier run as long as the wall clock does
    /// not go back (the checkpoint's `next_id` is a floor too), even when that run crashed after
    /// sending records it never checkpointed.
    fn encode_all(
        &mut self,
        events: impl Iterator<Item = ChangeEvent>,
        out: &mut Vec<Encoded>,
    ) -> Result<()> {
        self.id = self.id.max(now_micros());
        for mut event in events {
            // An UPDATE whose old and new rows go to different places is sent as DELETE of the
            // old row then INSERT of the new one, so each key's records stay in one partition,
            // in order.
            if event.op == Operation::Update && self.routing.partitioner.splits_update(&event) {
                let mut delete = event.clone();
                delete.op = Operation::Delete;
                delete.after = None;
                delete.checkpoint = None;
                event.op = Operation::Insert;
                event.before = None;
                out.push(self.encode_one(delete)?);
            }
            out.push(self.encode_one(event)?);
        }
        Ok(())
    }

    /// Assigns `event` its record id, encodes and routes it (events the codec does not accept
    /// pass as they are, for their checkpoints), and drops it: only what the sink stage needs
    /// goes on.
    fn encode_one(&mut self, mut event: ChangeEvent) -> Result<Encoded> {
        let record = if self.codec.accepts(&event) {
            event.id = self.id;
            self.id = event.id.saturating_add(1);
            self.next_id.store(self.id, Ordering::Relaxed);
            let encode_err = |source| Error::Encode {
                what: event.describe(),
                source,
            };
            let buf = &mut self.buf;
            if buf.capacity() < 4096 {
                buf.reserve(64 * 1024);
            }
            self.codec.encode_key(&event, buf).map_err(encode_err)?;
            let key = buf.split().freeze();
            self.codec.encode_value(&event, buf).map_err(encode_err)?;
            let value = buf.split().freeze();
            let routing = &self.routing;
            let topic = routing.topics.topic_for(&event);
            let partitions = match &self.last_partitions {
                Some((last, n)) if Arc::ptr_eq(last, topic) => *n,
                _ => {
                    let n = *routing.partitions.get(topic).ok_or_else(|| Error::Stage {
                        stage: "encode",
                        reason: format!("no partition count for topic {topic:?}"),
                    })?;
                    self.last_partitions = Some((topic.clone(), n));
                    n
                }
            };
            let partition = routing.partitioner.partition(&event, partitions);
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
            })
        } else {
            None
        };
        let meta = AckMeta {
            // The position is the meta's own (moved, not cloned): one shared count less to
            // touch per record on each side of the sink stage.
            origin: record.is_some().then(|| Origin {
                op: event.op,
                table: event.table_id().cloned(),
                position: None,
            }),
            checkpoint: event.checkpoint.take(),
            position: event.position.take(),
            source_ts_ms: event.source_ts_ms,
            snapshot_row_of: (event.op == Operation::Init)
                .then(|| event.table_id().cloned())
                .flatten(),
        };
        // Encoded: the rows' allocations go back to this thread's pool for the source.
        for row in [event.before.take(), event.after.take()]
            .into_iter()
            .flatten()
        {
            crate::event::recycle_row(row);
        }
        Ok(Encoded { meta, record })
    }
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

impl AckMeta {
    /// `UPDATE on db.t at mysql-bin.000001:4`, or `what` when the event is not a record.
    pub(super) fn describe(&self, what: impl FnOnce() -> String) -> String {
        match &self.origin {
            Some(o) => Origin {
                op: o.op,
                table: o.table.clone(),
                position: self.position.clone(),
            }
            .to_string(),
            None => what(),
        }
    }
}
