//! # dts-core
//!
//! The data model, traits and pipeline of **dts**, an SDK that moves MySQL and MariaDB tables
//! into Apache Kafka (schema, full data and binlog migration) the way Alibaba Cloud DTS does.
//!
//! - Model: [`TableId`], [`ColumnDef`], [`TableSchema`] (with a definition
//!   [`version`](TableSchema::version)), a lossless [`Value`], [`ChangeEvent`] with its
//!   [`Operation`], [`Position`] (binlog file/offset, MySQL and MariaDB GTID sets, snapshot
//!   progress) and [`Checkpoint`].
//! - Traits: [`Source`], [`Codec`], [`Partitioner`], [`Sink`] (whose [`Delivery`] resolves on
//!   acknowledgement) and [`CheckpointStore`] ([`MemoryCheckpointStore`],
//!   [`FileCheckpointStore`]).
//! - [`Pipeline`]: wires them with bounded channels, an ordered acknowledgement tracker and
//!   graceful shutdown; [`PipelineHandle`] shows live [`Progress`].
//!
//! ## Guarantees
//!
//! - **At-least-once.** A checkpoint is committed only after the sink acknowledged every
//!   record before it ([`AckTracker`]); a restart from it loses nothing, and may repeat records
//!   after it.
//! - **Order.** Records reach the sink in source order; the partitioner decides which records
//!   share a partition (and so keep their relative order in Kafka).
//! - **Bounded memory.** Channels are bounded and in-flight records are capped: a slow sink
//!   slows the source, never drops.
//! - **Graceful stop.** Cancelling the shutdown token stops the source, drains, flushes and
//!   commits a final checkpoint before [`Pipeline::run`] returns.
//!
//! ## Example
//!
//! ```no_run
//! # use dts_core::*;
//! # #[allow(dead_code)]
//! # async fn demo(
//! #     source: impl Source, codec: impl Codec, sink: impl Sink,
//! # ) -> Result<(), Error> {
//! let pipeline = Pipeline::builder()
//!     .source(source)
//!     .codec(codec)
//!     .partitioner(PartitionZero)
//!     .sink(sink)
//!     .topics(TopicRouter::new("dts"))
//!     .checkpoint_store(FileCheckpointStore::new("dts-checkpoint.json"))
//!     .build()?;
//! let handle = pipeline.handle();
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! let report = pipeline.run(shutdown).await?;
//! println!("{} records, checkpoint {:?}", report.records_acked, report.checkpoint);
//! # let _ = handle; Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod checkpoint;
mod codec;
mod error;
mod event;
mod partition;
mod pipeline;
mod position;
mod progress;
mod schema;
mod secret;
mod sink;
mod source;
mod value;

pub use checkpoint::{CheckpointStore, FileCheckpointStore, MemoryCheckpointStore};
pub use codec::Codec;
pub use error::{BoxError, Error, Result};
pub use event::{ChangeEvent, Ddl, Operation, Row, recycle_row, row_with_capacity};
pub use partition::{PartitionZero, Partitioner, TopicRouter};
pub use pipeline::{
    AckTracker, Pipeline, PipelineBuilder, PipelineHandle, PipelineReport, UnknownSequence,
};
pub use position::{
    BinlogPosition, Checkpoint, ChunkPositions, GtidSet, MariaDbGtid, MariaDbGtidList,
    MySqlGtidSet, Position, SnapshotPosition, TableSnapshotProgress,
};
pub use progress::{Phase, Progress, ProgressReporter, TableProgress};
pub use schema::{ColumnDef, ColumnType, InvalidKey, KeyDef, TableId, TableSchema};
pub use secret::Secret;
pub use sink::{AckBoard, Delivery, Origin, Sink, SinkRecord};
pub use source::{PipelineClosed, Source, SourceContext};
pub use value::{Date, DateTime, Decimal, Time, Value};

/// Re-exported so users need not depend on tokio-util for the shutdown token.
pub use tokio_util::sync::CancellationToken;
