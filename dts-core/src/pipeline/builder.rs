//! [`PipelineBuilder`]: wires a source, codec, partitioner, sink and checkpoint store.

use std::fmt;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Pipeline;
use super::erased::{DynCheckpointStore, DynCodec, DynSink, DynSource};
use crate::checkpoint::{CheckpointStore, MemoryCheckpointStore};
use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::partition::{Partitioner, TopicRouter};
use crate::progress::ProgressReporter;
use crate::sink::Sink;
use crate::source::Source;

/// Tuning of a pipeline; see the builder setters for meaning and defaults.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) channel_capacity: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) checkpoint_interval: Duration,
    pub(crate) progress_interval: Duration,
    pub(crate) caught_up_threshold: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            channel_capacity: 1024,
            max_in_flight: 64 * 1024,
            checkpoint_interval: Duration::from_secs(1),
            progress_interval: Duration::from_secs(1),
            caught_up_threshold: Duration::from_secs(5),
        }
    }
}

/// Builds a [`Pipeline`]. Source, codec, partitioner, sink and topics are required.
#[must_use]
pub struct PipelineBuilder {
    source: Option<Box<dyn DynSource>>,
    codec: Option<Box<dyn DynCodec>>,
    partitioner: Option<std::sync::Arc<dyn Partitioner>>,
    sink: Option<Box<dyn DynSink>>,
    topics: Option<TopicRouter>,
    store: Box<dyn DynCheckpointStore>,
    settings: Settings,
}

impl fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("source", &self.source.is_some())
            .field("codec", &self.codec.is_some())
            .field("partitioner", &self.partitioner.is_some())
            .field("sink", &self.sink.is_some())
            .field("topics", &self.topics)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Default for PipelineBuilder {
    fn default() -> Self {
        Self {
            source: None,
            codec: None,
            partitioner: None,
            sink: None,
            topics: None,
            store: Box::new(MemoryCheckpointStore::new()),
            settings: Settings::default(),
        }
    }
}

impl PipelineBuilder {
    /// Where events come from.
    pub fn source(mut self, source: impl Source) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// How events become message keys and values.
    pub fn codec(mut self, codec: impl Codec) -> Self {
        self.codec = Some(Box::new(codec));
        self
    }

    /// How records are spread over partitions.
    pub fn partitioner(mut self, partitioner: impl Partitioner) -> Self {
        self.partitioner = Some(std::sync::Arc::new(partitioner));
        self
    }

    /// Where records go.
    pub fn sink(mut self, sink: impl Sink) -> Self {
        self.sink = Some(Box::new(sink));
        self
    }

    /// Which topic each record goes to.
    pub fn topics(mut self, topics: TopicRouter) -> Self {
        self.topics = Some(topics);
        self
    }

    /// Where checkpoints are saved and resumed from (default: in memory, lost on exit).
    pub fn checkpoint_store(mut self, store: impl CheckpointStore) -> Self {
        self.store = Box::new(store);
        self
    }

    /// Events the source may send ahead of the sink stage (default 1024). Bounds memory together
    /// with [`max_in_flight`](Self::max_in_flight).
    pub fn channel_capacity(mut self, events: usize) -> Self {
        self.settings.channel_capacity = events;
        self
    }

    /// Records sent but not yet acknowledged before the pipeline stops reading (default 65536:
    /// enough to keep a Kafka producer with a 20 ms linger busy at ~1M records/s).
    pub fn max_in_flight(mut self, records: usize) -> Self {
        self.settings.max_in_flight = records;
        self
    }

    /// How often an advanced checkpoint is committed (default 1 s); a final one is committed on
    /// stop.
    pub fn checkpoint_interval(mut self, interval: Duration) -> Self {
        self.settings.checkpoint_interval = interval;
        self
    }

    /// How often the events-per-second rate is recomputed (default 1 s).
    pub fn progress_interval(mut self, interval: Duration) -> Self {
        self.settings.progress_interval = interval;
        self
    }

    /// Lag under which incremental migration counts as caught up (default 5 s).
    pub fn caught_up_threshold(mut self, lag: Duration) -> Self {
        self.settings.caught_up_threshold = lag;
        self
    }

    /// Checks the parts and settings.
    ///
    /// # Errors
    /// [`Error::MissingPart`] when a required part was not given, [`Error::InvalidSetting`]
    /// for a zero capacity or interval.
    pub fn build(self) -> Result<Pipeline> {
        let s = &self.settings;
        for (name, zero) in [
            ("channel_capacity", s.channel_capacity == 0),
            ("max_in_flight", s.max_in_flight == 0),
            ("checkpoint_interval", s.checkpoint_interval.is_zero()),
            ("progress_interval", s.progress_interval.is_zero()),
        ] {
            if zero {
                return Err(Error::InvalidSetting {
                    name,
                    reason: "must be greater than 0".into(),
                });
            }
        }
        let progress = ProgressReporter::new(s.caught_up_threshold);
        Ok(Pipeline {
            source: self.source.ok_or(Error::MissingPart("source"))?,
            codec: self.codec.ok_or(Error::MissingPart("codec"))?,
            partitioner: self.partitioner.ok_or(Error::MissingPart("partitioner"))?,
            sink: self.sink.ok_or(Error::MissingPart("sink"))?,
            topics: self.topics.ok_or(Error::MissingPart("topics"))?,
            store: self.store,
            settings: self.settings,
            progress,
            stop: CancellationToken::new(),
        })
    }
}
