//! The [`Sink`] trait, the [`SinkRecord`] it receives and the [`Delivery`] it returns.

use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use crate::error::BoxError;

/// One encoded record, routed to a topic and partition.
#[derive(Clone, PartialEq, Eq)]
pub struct SinkRecord {
    /// Destination topic.
    pub topic: Arc<str>,
    /// Destination partition, `< partition_count(topic)`.
    pub partition: u32,
    /// Message key.
    pub key: Option<Bytes>,
    /// Message value.
    pub value: Bytes,
    /// Message timestamp, ms since the epoch; `None` (what the pipeline sends) leaves it to the
    /// destination: for Kafka, the time the client takes the record, as Debezium, Maxwell and
    /// Canal do. The source time is in the record itself; as the message timestamp it made a
    /// broker's time-based retention count from the change, not from its arrival, so a
    /// migration replaying older binlogs could see its records deleted at once.
    pub timestamp_ms: Option<i64>,
    /// The operation the record carries. (The pipeline names the record's table and position
    /// in any error the sink reports about it.)
    pub op: crate::event::Operation,
    /// The pipeline's number for this record: unique and increasing within a run. A sink that
    /// reports outcomes through an [`AckBoard`] resolves them by this number.
    pub seq: u64,
}

/// What a record was made from — operation, table and binlog position — kept cheaply (shared
/// strings) and formatted only when an error needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The operation.
    pub op: crate::event::Operation,
    /// The table, if any.
    pub table: Option<crate::schema::TableId>,
    /// The binlog position, if any.
    pub position: Option<crate::position::BinlogPosition>,
}

impl Origin {
    /// The origin of `event`.
    #[must_use]
    pub fn of(event: &crate::event::ChangeEvent) -> Self {
        Self {
            op: event.op,
            table: event.table_id().cloned(),
            position: event.position.clone(),
        }
    }
}

/// `INSERT on db.t at mysql-bin.000001:4` (as [`ChangeEvent::describe`](crate::ChangeEvent::describe)).
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.op)?;
        if let Some(t) = &self.table {
            write!(f, " on {t}")?;
        }
        if let Some(p) = &self.position {
            write!(f, " at {p}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SinkRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkRecord")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("key_len", &self.key.as_ref().map(Bytes::len))
            .field("value_len", &self.value.len())
            .field("op", &self.op)
            .field("seq", &self.seq)
            .finish()
    }
}

/// Resolves when the destination acknowledged (or refused) one record.
///
/// Three kinds, all awaitable: already settled ([`acknowledged`](Self::acknowledged),
/// [`failed`](Self::failed)), a future ([`new`](Self::new)), or a ticket on an [`AckBoard`]
/// ([`AckBoard::delivery`]) — the allocation-free kind a high-rate sink should use: the pipeline
/// drains a board's outcomes in bulk instead of polling one future per record.
#[must_use = "a delivery must be awaited to know whether the record was written"]
pub struct Delivery {
    inner: DeliveryInner,
}

pub(crate) enum DeliveryInner {
    Ready(Option<Result<(), BoxError>>),
    Future(Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>),
    Board(AckBoard, u64),
}

impl Delivery {
    /// A delivery that resolves with `fut`.
    pub fn new(fut: impl Future<Output = Result<(), BoxError>> + Send + 'static) -> Self {
        Self {
            inner: DeliveryInner::Future(Box::pin(fut)),
        }
    }

    /// An already acknowledged delivery.
    pub fn acknowledged() -> Self {
        Self {
            inner: DeliveryInner::Ready(Some(Ok(()))),
        }
    }

    /// An already failed delivery.
    pub fn failed(error: impl Into<BoxError>) -> Self {
        Self {
            inner: DeliveryInner::Ready(Some(Err(error.into()))),
        }
    }

    pub(crate) fn into_inner(self) -> DeliveryInner {
        self.inner
    }
}

impl Future for Delivery {
    type Output = Result<(), BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.inner {
            DeliveryInner::Ready(outcome) => Poll::Ready(
                outcome
                    .take()
                    .unwrap_or_else(|| Err("delivery polled after it resolved".into())),
            ),
            DeliveryInner::Future(fut) => fut.as_mut().poll(cx),
            DeliveryInner::Board(board, ticket) => board.poll_one(*ticket, cx),
        }
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match &self.inner {
            DeliveryInner::Ready(_) => "Delivery(ready)",
            DeliveryInner::Future(_) => "Delivery(future)",
            DeliveryInner::Board(..) => "Delivery(board)",
        })
    }
}

/// Where a sink reports the outcomes of many records at once, from any thread (for instance a
/// Kafka client's delivery callback), without a future or an allocation per record.
///
/// The sink hands out `board.delivery(&record)` from [`Sink::send`] and later calls
/// [`resolve`](Self::resolve) with the record's [`seq`](SinkRecord::seq). The pipeline drains
/// the board in bulk; a [`Delivery`] of a board awaited on its own works too (slower).
#[derive(Clone, Default)]
pub struct AckBoard {
    inner: Arc<Mutex<BoardState>>,
}

#[derive(Default)]
struct BoardState {
    done: Vec<(u64, Result<(), BoxError>)>,
    /// The pipeline's drain, woken on every new outcome.
    drainer: Option<Waker>,
    /// Deliveries awaited one by one.
    waiters: Vec<Waker>,
}

impl AckBoard {
    /// An empty board.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The delivery of `record`, resolved by a later [`resolve`](Self::resolve) of its `seq`.
    pub fn delivery(&self, record: &SinkRecord) -> Delivery {
        Delivery {
            inner: DeliveryInner::Board(self.clone(), record.seq),
        }
    }

    /// Reports the outcome of the record numbered `seq`.
    pub fn resolve(&self, seq: u64, outcome: Result<(), BoxError>) {
        let (drainer, waiters) = {
            let mut state = self.lock();
            state.done.push((seq, outcome));
            (state.drainer.take(), std::mem::take(&mut state.waiters))
        };
        if let Some(w) = drainer {
            w.wake();
        }
        for w in waiters {
            w.wake();
        }
    }

    /// Whether `self` and `other` are the same board.
    #[must_use]
    pub fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Moves every outcome reported so far into `out`; pending (and registers `cx`) if none.
    pub(crate) fn poll_drain(
        &self,
        cx: &mut Context<'_>,
        out: &mut Vec<(u64, Result<(), BoxError>)>,
    ) -> Poll<()> {
        let mut state = self.lock();
        if state.done.is_empty() {
            state.drainer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        out.append(&mut state.done);
        Poll::Ready(())
    }

    fn poll_one(&self, seq: u64, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        let mut state = self.lock();
        if let Some(i) = state.done.iter().position(|(s, _)| *s == seq) {
            return Poll::Ready(state.done.swap_remove(i).1);
        }
        state.waiters.push(cx.waker().clone());
        Poll::Pending
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BoardState> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Debug for AckBoard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckBoard")
            .field("outcomes", &self.lock().done.len())
            .finish()
    }
}

/// Writes records to a destination: the pipeline drives it from one task (push model).
///
/// # Contract
/// - [`send`](Sink::send) enqueues one record and returns a [`Delivery`] that resolves when the
///   destination acknowledged it. When the sink's queue is full, `send` waits (backpressure):
///   it never drops a record. An error from `send` means the record was refused; it stops the
///   pipeline.
/// - A sink may hold records taken by [`try_send`](Sink::try_send) back, to enqueue them
///   together, until [`submit`](Sink::submit) (which the pipeline calls after each burst of
///   `try_send`s, before it waits for anything), [`send`](Sink::send) or
///   [`flush`](Sink::flush).
/// - Deliveries may resolve in any order; the pipeline checkpoints in source order.
/// - [`flush`](Sink::flush) returns once every record sent before it was acknowledged or failed.
/// - [`partition_count`](Sink::partition_count) is called once per topic before the first record
///   to it.
pub trait Sink: Send + 'static {
    /// The sink's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The number of partitions of `topic`.
    fn partition_count(
        &mut self,
        topic: &str,
    ) -> impl Future<Output = Result<NonZeroU32, Self::Error>> + Send;

    /// The number of partitions of each of `topics`, in order. The pipeline asks once, at
    /// start, for every topic it may route to; a sink that can answer for several topics in one
    /// request overrides this (the default asks [`partition_count`](Sink::partition_count) for
    /// each in turn).
    fn partition_counts(
        &mut self,
        topics: &[Arc<str>],
    ) -> impl Future<Output = Result<Vec<NonZeroU32>, Self::Error>> + Send {
        async move {
            let mut out = Vec::with_capacity(topics.len());
            for topic in topics {
                out.push(self.partition_count(topic).await?);
            }
            Ok(out)
        }
    }

    /// Enqueues `record`, waiting for capacity.
    fn send(
        &mut self,
        record: SinkRecord,
    ) -> impl Future<Output = Result<Delivery, Self::Error>> + Send;

    /// Enqueues `record` if that needs no waiting, else gives it back (the pipeline then calls
    /// [`send`](Sink::send)). The fast path of a sink whose enqueue is usually immediate: no
    /// future per record. The default gives every record back.
    ///
    /// # Errors
    /// As [`send`](Sink::send): the record was refused.
    #[allow(clippy::result_large_err)] // the record is handed back by value, not boxed
    fn try_send(
        &mut self,
        record: SinkRecord,
    ) -> Result<Result<Delivery, SinkRecord>, Self::Error> {
        Ok(Err(record))
    }

    /// Enqueues every record [`try_send`](Sink::try_send) took and held back, waiting for
    /// capacity if need be. The default does nothing (a sink that holds nothing back).
    ///
    /// # Errors
    /// The sink can no longer take records. (A record the destination refuses fails its
    /// delivery instead.)
    fn submit(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }

    /// Waits until every record sent so far is acknowledged or failed.
    fn flush(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    type Error = S::Error;

    fn partition_count(
        &mut self,
        topic: &str,
    ) -> impl Future<Output = Result<NonZeroU32, Self::Error>> + Send {
        (**self).partition_count(topic)
    }

    fn partition_counts(
        &mut self,
        topics: &[Arc<str>],
    ) -> impl Future<Output = Result<Vec<NonZeroU32>, Self::Error>> + Send {
        (**self).partition_counts(topics)
    }

    fn send(
        &mut self,
        record: SinkRecord,
    ) -> impl Future<Output = Result<Delivery, Self::Error>> + Send {
        (**self).send(record)
    }

    fn try_send(
        &mut self,
        record: SinkRecord,
    ) -> Result<Result<Delivery, SinkRecord>, Self::Error> {
        (**self).try_send(record)
    }

    fn submit(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        (**self).submit()
    }

    fn flush(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        (**self).flush()
    }
}
