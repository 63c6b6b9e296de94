//! Sinks with controllable acknowledgements.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dts_core::{AckBoard, Delivery, Sink, SinkRecord};
use tokio::sync::{mpsc, oneshot, watch};

/// The error of the test sinks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestSinkError {
    /// The sink was told to refuse this record.
    #[error("test sink refused record #{0}")]
    Refused(u64),
    /// The sink is closed.
    #[error("test sink closed")]
    Closed,
}

fn oneshot_delivery(rx: oneshot::Receiver<Result<(), String>>) -> Delivery {
    Delivery::new(async move {
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err("delivery dropped without an acknowledgement".into()),
        }
    })
}

/// Acknowledges every record at once and keeps them. Optionally fails the delivery of the
/// record with a given index (0-based, in send order).
#[derive(Clone, Debug)]
pub struct CollectSink {
    records: Arc<Mutex<Vec<SinkRecord>>>,
    partitions: NonZeroU32,
    fail_delivery_of: Option<u64>,
    flushes: Arc<AtomicU64>,
}

impl CollectSink {
    /// A sink whose topics have `partitions` partitions (at least 1).
    #[must_use]
    pub fn new(partitions: u32) -> Self {
        Self {
            records: Arc::default(),
            partitions: NonZeroU32::new(partitions).unwrap_or(NonZeroU32::MIN),
            fail_delivery_of: None,
            flushes: Arc::default(),
        }
    }

    /// The delivery of record `index` fails.
    #[must_use]
    pub fn failing_at(mut self, index: u64) -> Self {
        self.fail_delivery_of = Some(index);
        self
    }

    /// The records received so far (clones share them).
    #[must_use]
    pub fn records(&self) -> Vec<SinkRecord> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many times `flush` was called.
    #[must_use]
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }
}

impl Sink for CollectSink {
    type Error = TestSinkError;

    async fn partition_count(&mut self, _topic: &str) -> Result<NonZeroU32, TestSinkError> {
        Ok(self.partitions)
    }

    async fn send(&mut self, record: SinkRecord) -> Result<Delivery, TestSinkError> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let index = records.len() as u64;
        records.push(record);
        Ok(if self.fail_delivery_of == Some(index) {
            Delivery::failed(TestSinkError::Refused(index))
        } else {
            Delivery::acknowledged()
        })
    }

    async fn flush(&mut self) -> Result<(), TestSinkError> {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct ManualState {
    next: u64,
    pending: BTreeMap<u64, oneshot::Sender<Result<(), String>>>,
    records: Vec<SinkRecord>,
}

/// Each delivery stays pending until the test acknowledges or fails it through the
/// [`ManualSinkHandle`].
#[derive(Debug)]
pub struct ManualSink {
    state: Arc<Mutex<ManualState>>,
    pending_tx: watch::Sender<usize>,
}

/// Controls a [`ManualSink`] from the test.
#[derive(Clone, Debug)]
pub struct ManualSinkHandle {
    state: Arc<Mutex<ManualState>>,
    pending_tx: watch::Sender<usize>,
}

impl ManualSink {
    /// A sink and its handle.
    #[must_use]
    pub fn new() -> (Self, ManualSinkHandle) {
        let state = Arc::new(Mutex::new(ManualState::default()));
        let (pending_tx, _) = watch::channel(0);
        (
            Self {
                state: state.clone(),
                pending_tx: pending_tx.clone(),
            },
            ManualSinkHandle { state, pending_tx },
        )
    }
}

impl ManualSinkHandle {
    fn resolve(&self, index: u64, outcome: Result<(), String>) -> bool {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(tx) = s.pending.remove(&index) else {
            return false;
        };
        let left = s.pending.len();
        drop(s);
        let _ignored = tx.send(outcome);
        self.pending_tx.send_replace(left);
        true
    }

    /// Acknowledges record `index` (send order, 0-based); `false` if it is not pending.
    pub fn ack(&self, index: u64) -> bool {
        self.resolve(index, Ok(()))
    }

    /// Fails the delivery of record `index`.
    pub fn fail(&self, index: u64, reason: &str) -> bool {
        self.resolve(index, Err(reason.to_owned()))
    }

    /// Indexes of the records awaiting acknowledgement.
    #[must_use]
    pub fn pending(&self) -> Vec<u64> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pending
            .keys()
            .copied()
            .collect()
    }

    /// Records received so far.
    #[must_use]
    pub fn records(&self) -> Vec<SinkRecord> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .records
            .clone()
    }

    /// Waits until at least `n` records were sent.
    pub async fn wait_for_records(&self, n: usize) {
        let mut rx = self.pending_tx.subscribe();
        loop {
            if self
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .records
                .len()
                >= n
            {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

impl Sink for ManualSink {
    type Error = TestSinkError;

    async fn partition_count(&mut self, _topic: &str) -> Result<NonZeroU32, TestSinkError> {
        Ok(NonZeroU32::MIN)
    }

    async fn send(&mut self, record: SinkRecord) -> Result<Delivery, TestSinkError> {
        let (tx, rx) = oneshot::channel();
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let index = s.next;
        s.next += 1;
        s.pending.insert(index, tx);
        s.records.push(record);
        let left = s.pending.len();
        drop(s);
        self.pending_tx.send_replace(left);
        Ok(oneshot_delivery(rx))
    }

    async fn flush(&mut self) -> Result<(), TestSinkError> {
        let mut rx = self.pending_tx.subscribe();
        rx.wait_for(|&n| n == 0)
            .await
            .map(|_| ())
            .map_err(|_| TestSinkError::Closed)
    }
}

/// Counters of a [`SlowSink`].
#[derive(Clone, Debug, Default)]
pub struct SlowSinkStats {
    received: Arc<AtomicU64>,
    acked: Arc<AtomicU64>,
}

impl SlowSinkStats {
    /// Records accepted by `send`.
    #[must_use]
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Records acknowledged.
    #[must_use]
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }
}

/// A sink like a producer with a bounded queue and a slow broker: `send` waits while `queue`
/// records are unacknowledged, and records are acknowledged one by one, pausing `delay` every
/// `every` records. Record payloads are dropped once acknowledged.
#[derive(Debug)]
pub struct SlowSink {
    tx: mpsc::Sender<(SinkRecord, oneshot::Sender<Result<(), String>>)>,
    stats: SlowSinkStats,
    acked_rx: watch::Receiver<u64>,
}

impl SlowSink {
    /// Starts the acknowledging task (needs a tokio runtime).
    #[must_use]
    pub fn new(queue: usize, delay: Duration, every: u64) -> Self {
        let (tx, mut rx) = mpsc::channel::<(SinkRecord, oneshot::Sender<_>)>(queue.max(1));
        let stats = SlowSinkStats::default();
        let (acked_tx, acked_rx) = watch::channel(0u64);
        let acked = stats.acked.clone();
        tokio::spawn(async move {
            let mut n = 0u64;
            while let Some((record, done)) = rx.recv().await {
                n += 1;
                if every > 0 && n.is_multiple_of(every) {
                    tokio::time::sleep(delay).await;
                }
                drop(record);
                let _ignored = done.send(Ok(()));
                acked.fetch_add(1, Ordering::Relaxed);
                acked_tx.send_replace(n);
            }
        });
        Self {
            tx,
            stats,
            acked_rx,
        }
    }

    /// Shared counters.
    #[must_use]
    pub fn stats(&self) -> SlowSinkStats {
        self.stats.clone()
    }
}

impl Sink for SlowSink {
    type Error = TestSinkError;

    async fn partition_count(&mut self, _topic: &str) -> Result<NonZeroU32, TestSinkError> {
        Ok(NonZeroU32::MIN)
    }

    async fn send(&mut self, record: SinkRecord) -> Result<Delivery, TestSinkError> {
        let (done_tx, done_rx) = oneshot::channel();
        self.tx
            .send((record, done_tx))
            .await
            .map_err(|_| TestSinkError::Closed)?;
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        Ok(oneshot_delivery(done_rx))
    }

    async fn flush(&mut self) -> Result<(), TestSinkError> {
        let target = self.stats.received();
        self.acked_rx
            .wait_for(|&n| n >= target)
            .await
            .map(|_| ())
            .map_err(|_| TestSinkError::Closed)
    }
}

/// Reports outcomes through an [`AckBoard`] from a background thread, in batches of `batch`
/// records resolved in reverse order (the way a Kafka client's delivery callback reports records
/// of different partitions out of order). Optionally fails the record with a given index.
#[derive(Debug)]
pub struct BoardSink {
    board: AckBoard,
    batch: usize,
    fail_at: Option<u64>,
    held: Vec<u64>,
    sent: u64,
    partitions: NonZeroU32,
}

impl BoardSink {
    /// Resolves records `batch` at a time (and whatever is left on `flush`).
    #[must_use]
    pub fn new(batch: usize) -> Self {
        Self {
            board: AckBoard::new(),
            batch: batch.max(1),
            fail_at: None,
            held: Vec::new(),
            sent: 0,
            partitions: NonZeroU32::MIN,
        }
    }

    /// The delivery of record `index` (0-based, in send order) fails.
    #[must_use]
    pub fn failing_at(mut self, index: u64) -> Self {
        self.fail_at = Some(index);
        self
    }

    fn release(&mut self) {
        let seqs = std::mem::take(&mut self.held);
        let board = self.board.clone();
        let fail_at = self.fail_at;
        let first = self.sent - seqs.len() as u64;
        std::thread::spawn(move || {
            for (i, seq) in seqs.iter().enumerate().rev() {
                let index = first + i as u64;
                let outcome = if fail_at == Some(index) {
                    Err(TestSinkError::Refused(index).into())
                } else {
                    Ok(())
                };
                board.resolve(*seq, outcome);
            }
        });
    }
}

impl Sink for BoardSink {
    type Error = TestSinkError;

    async fn partition_count(&mut self, _topic: &str) -> Result<NonZeroU32, TestSinkError> {
        Ok(self.partitions)
    }

    async fn send(&mut self, record: SinkRecord) -> Result<Delivery, TestSinkError> {
        self.held.push(record.seq);
        self.sent += 1;
        let delivery = self.board.delivery(&record);
        if self.held.len() >= self.batch {
            self.release();
        }
        Ok(delivery)
    }

    async fn flush(&mut self) -> Result<(), TestSinkError> {
        self.release();
        Ok(())
    }
}
