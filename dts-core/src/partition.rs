//! The [`Partitioner`] trait and the [`TopicRouter`] that picks a record's topic.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use crate::event::ChangeEvent;
use crate::schema::TableId;

/// Chooses the partition of a record.
pub trait Partitioner: Send + Sync + 'static {
    /// The partition of `event` among `partitions`; must be `< partitions`.
    fn partition(&self, event: &ChangeEvent, partitions: NonZeroU32) -> u32;

    /// `true` when this UPDATE must be sent as a DELETE of its old row followed by an INSERT of
    /// its new row because the two rows are placed by different keys (a primary-key change under
    /// a hash-of-key policy): otherwise the key's earlier records and the UPDATE would sit in
    /// different partitions and a consumer could apply them out of order. Default: never.
    fn splits_update(&self, event: &ChangeEvent) -> bool {
        let _ = event;
        false
    }
}

impl<P: Partitioner + ?Sized> Partitioner for Box<P> {
    fn partition(&self, event: &ChangeEvent, partitions: NonZeroU32) -> u32 {
        (**self).partition(event, partitions)
    }

    fn splits_update(&self, event: &ChangeEvent) -> bool {
        (**self).splits_update(event)
    }
}

impl<P: Partitioner + ?Sized> Partitioner for Arc<P> {
    fn partition(&self, event: &ChangeEvent, partitions: NonZeroU32) -> u32 {
        (**self).partition(event, partitions)
    }

    fn splits_update(&self, event: &ChangeEvent) -> bool {
        (**self).splits_update(event)
    }
}

/// Everything to partition 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct PartitionZero;

impl Partitioner for PartitionZero {
    fn partition(&self, _: &ChangeEvent, _: NonZeroU32) -> u32 {
        0
    }
}

/// Picks the topic of each record: one default topic, and per-table overrides.
#[derive(Clone, Debug)]
pub struct TopicRouter {
    default: Arc<str>,
    per_table: HashMap<TableId, Arc<str>>,
}

impl TopicRouter {
    /// Every record to `default`.
    pub fn new(default: impl Into<Arc<str>>) -> Self {
        Self {
            default: default.into(),
            per_table: HashMap::new(),
        }
    }

    /// Records of `table` (rows and its DDL) to `topic`.
    #[must_use]
    pub fn route(mut self, table: TableId, topic: impl Into<Arc<str>>) -> Self {
        self.per_table.insert(table, topic.into());
        self
    }

    /// The topic of `event`.
    #[must_use]
    pub fn topic_for(&self, event: &ChangeEvent) -> &Arc<str> {
        if self.per_table.is_empty() {
            return &self.default;
        }
        event
            .table_id()
            .and_then(|t| self.per_table.get(t))
            .unwrap_or(&self.default)
    }

    /// Every topic a record may go to (the default first).
    pub fn topics(&self) -> impl Iterator<Item = &Arc<str>> {
        std::iter::once(&self.default).chain(self.per_table.values())
    }
}
