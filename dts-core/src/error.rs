//! The error type of `dts-core`.

use std::path::PathBuf;

/// A boxed error crossing a trait-object boundary (a source's, sink's or codec's own error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a pipeline, named after the operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The pipeline was built without a required part.
    #[error("pipeline is missing its {0}: call PipelineBuilder::{0}(..) before build()")]
    MissingPart(&'static str),
    /// A builder setting is out of range.
    #[error("invalid pipeline setting {name}: {reason}")]
    InvalidSetting {
        /// The setting.
        name: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The source failed.
    #[error("source failed: {0}")]
    Source(#[source] BoxError),
    /// The codec could not encode an event.
    #[error("encoding {what} failed: {source}")]
    Encode {
        /// The event (operation, table, position).
        what: String,
        /// The codec's error.
        #[source]
        source: BoxError,
    },
    /// The sink refused a record or failed to deliver it.
    #[error("sink failed for {what}: {source}")]
    Sink {
        /// The record (table, topic, partition, position).
        what: String,
        /// The sink's error.
        #[source]
        source: BoxError,
    },
    /// The sink could not flush.
    #[error("sink flush failed: {0}")]
    Flush(#[source] BoxError),
    /// The sink could not tell the partition counts of the topics records may go to.
    #[error("reading the partition counts of topic(s) {topic} failed: {source}")]
    Partitions {
        /// The topics asked for, comma-separated (the sink's error says which one failed).
        topic: String,
        /// The sink's error.
        #[source]
        source: BoxError,
    },
    /// The partitioner returned a partition outside `0..partitions`.
    #[error("partitioner chose partition {partition} of topic {topic:?}, which has {partitions}")]
    PartitionOutOfRange {
        /// The topic.
        topic: String,
        /// The chosen partition.
        partition: u32,
        /// The topic's partition count.
        partitions: u32,
    },
    /// Loading or saving a checkpoint failed.
    #[error("checkpoint {op} failed at {path}: {source}")]
    Checkpoint {
        /// `load` or `commit`.
        op: &'static str,
        /// The file (or store name).
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// The pipeline's checkpoint store failed.
    #[error("checkpoint store {op} failed: {source}")]
    CheckpointStore {
        /// `load` or `commit`.
        op: &'static str,
        /// The store's error.
        #[source]
        source: BoxError,
    },
    /// A stage of the pipeline ended unexpectedly (it panicked or was aborted).
    #[error("pipeline stage {stage} ended abnormally: {reason}")]
    Stage {
        /// The stage.
        stage: &'static str,
        /// What happened.
        reason: String,
    },
    /// A text form (position, GTID set) could not be parsed.
    #[error("cannot parse {what} from {input:?}: {reason}")]
    Parse {
        /// What was parsed.
        what: &'static str,
        /// The input (never a secret).
        input: String,
        /// Why.
        reason: &'static str,
    },
}

impl Error {
    /// Whether retrying the same operation may succeed (a transient source or sink failure).
    ///
    /// Configuration and data errors are not retriable.
    #[must_use]
    pub fn is_retriable(&self) -> bool {
        matches!(self, Error::Flush(_) | Error::Stage { .. })
    }
}
