//! The [`Sink`] trait, the [`SinkRecord`] it receives and the [`Delivery`] it returns.

use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

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
    /// Message timestamp, ms since the epoch (the event's source time).
    pub timestamp_ms: Option<i64>,
    /// What the record is (operation, table, position), for error messages.
    pub origin: Origin,
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
            .field("origin", &self.origin)
            .finish()
    }
}

/// Resolves when the destination acknowledged (or refused) one record.
#[must_use = "a delivery must be awaited to know whether the record was written"]
pub struct Delivery {
    inner: Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>,
}

impl Delivery {
    /// A delivery that resolves with `fut`.
    pub fn new(fut: impl Future<Output = Result<(), BoxError>> + Send + 'static) -> Self {
        Self {
            inner: Box::pin(fut),
        }
    }

    /// An already acknowledged delivery.
    pub fn acknowledged() -> Self {
        Self::new(std::future::ready(Ok(())))
    }

    /// An already failed delivery.
    pub fn failed(error: impl Into<BoxError>) -> Self {
        Self::new(std::future::ready(Err(error.into())))
    }
}

impl Future for Delivery {
    type Output = Result<(), BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Delivery")
    }
}

/// Writes records to a destination: the pipeline drives it from one task (push model).
///
/// # Contract
/// - [`send`](Sink::send) enqueues one record and returns a [`Delivery`] that resolves when the
///   destination acknowledged it. When the sink's queue is full, `send` waits (backpressure):
///   it never drops a record. An error from `send` means the record was refused; it stops the
///   pipeline.
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

    /// Enqueues `record`, waiting for capacity.
    fn send(
        &mut self,
        record: SinkRecord,
    ) -> impl Future<Output = Result<Delivery, Self::Error>> + Send;

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

    fn send(
        &mut self,
        record: SinkRecord,
    ) -> impl Future<Output = Result<Delivery, Self::Error>> + Send {
        (**self).send(record)
    }

    fn flush(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        (**self).flush()
    }
}
