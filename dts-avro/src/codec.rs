//! [`DtsAvroCodec`]: the [`Codec`] writing DTS Avro records, configured by [`DtsAvroConfig`].

use bytes::BytesMut;
use dts_core::{ChangeEvent, Codec, Operation};

use crate::encode::{Encoder, PartsCache, ddl_object_name, put_escaped_text};
use crate::error::{Error, Result};
use crate::key::write_message_key;

/// Which optional `tags` the codec writes. Every tag is on by default; a tag whose value is
/// unknown for an event (no GTID, a zero read time or server id, no thread id) is left out
/// whatever this says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct TagsConfig {
    /// `pk_uk_info` on row records of tables with keys: `{"PRIMARY":["id"],"uk":["a","b"]}`.
    pub pk_uk_info: bool,
    /// `metaVersion` on row records: the table definition version as decimal text (63 bits),
    /// which changes whenever the column list or keys change.
    pub meta_version: bool,
    /// `readerThroughoutTime`: when the source read the event, ms since the epoch.
    pub reader_throughout_time: bool,
    /// `server_id`: the server id that wrote the event.
    pub server_id: bool,
    /// `thread_id`: the thread (connection) id that wrote the event.
    pub thread_id: bool,
    /// `GTID` on DDL, BEGIN and COMMIT records: the transaction's GTID.
    pub gtid: bool,
    /// `commitTimestamp` on DDL records: the statement's binlog timestamp, seconds since the
    /// epoch (the same as `sourceTimestamp`).
    pub commit_timestamp: bool,
}

impl Default for TagsConfig {
    fn default() -> Self {
        Self::ALL
    }
}

impl TagsConfig {
    /// Every tag.
    pub const ALL: Self = Self {
        pk_uk_info: true,
        meta_version: true,
        reader_throughout_time: true,
        server_id: true,
        thread_id: true,
        gtid: true,
        commit_timestamp: true,
    };

    /// No tag: `tags` is always the empty map.
    pub const NONE: Self = Self {
        pk_uk_info: false,
        meta_version: false,
        reader_throughout_time: false,
        server_id: false,
        thread_id: false,
        gtid: false,
        commit_timestamp: false,
    };
}

/// Configuration of [`DtsAvroCodec`]: plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DtsAvroConfig {
    /// `source.version`: what `SELECT VERSION()` returns on the source (e.g. `8.0.28` or
    /// `10.11.6-MariaDB`). Empty by default; set it.
    pub server_version: String,
    /// Write BEGIN and COMMIT records (default `false`: DTS leaves them out unless asked).
    pub emit_transaction_markers: bool,
    /// Write HEARTBEAT records (default `false`).
    pub emit_heartbeats: bool,
    /// Which optional tags to write.
    pub tags: TagsConfig,
}

impl Default for DtsAvroConfig {
    fn default() -> Self {
        Self {
            server_version: String::new(),
            emit_transaction_markers: false,
            emit_heartbeats: false,
            tags: TagsConfig::ALL,
        }
    }
}

impl DtsAvroConfig {
    /// A configuration for a source whose `SELECT VERSION()` is `server_version`, with every
    /// other setting at its default.
    pub fn new(server_version: impl Into<String>) -> Self {
        Self {
            server_version: server_version.into(),
            ..Self::default()
        }
    }

    /// Builds the codec.
    #[must_use]
    pub fn build(&self) -> DtsAvroCodec {
        DtsAvroCodec::new(self.clone())
    }
}

/// Writes each event as one DTS Avro `Record` (the message value) with the documented key
/// ([`key_text`](crate::key_text) gives the rules).
///
/// Keeps per-table parts (escaped `objectName`, the `fields` array, `pk_uk_info`,
/// `metaVersion`, per-column union heads) for each table's current definition version, so that
/// encoding a row only writes varints and copies bytes: no heap allocation per record once a
/// table has been seen and `out` has room.
///
/// # Examples
///
/// ```
/// # use std::sync::Arc;
/// # use bytes::BytesMut;
/// # use dts_core::{ChangeEvent, Codec, ColumnDef, ColumnType, KeyDef, TableId, TableSchema, Value};
/// # use dts_avro::{DtsAvroConfig, DtsRecord};
/// let table = Arc::new(TableSchema::new(
///     TableId::new("shop", "orders"),
///     vec![ColumnDef::new("id", ColumnType::BigInt)],
///     Some(KeyDef { name: "PRIMARY".into(), columns: vec![0] }),
///     vec![],
/// )?);
/// let mut codec = DtsAvroConfig::new("8.0.36").build();
/// let event = ChangeEvent::insert(table, vec![Value::Int(42)]);
/// let (mut key, mut value) = (BytesMut::new(), BytesMut::new());
/// codec.encode_key(&event, &mut key)?;
/// codec.encode_value(&event, &mut value)?;
/// assert_eq!(&key[..], b"shop.orders:42");
/// let record = DtsRecord::decode(&value)?;
/// assert_eq!(record.operation, dts_avro::Operation::Insert);
/// assert_eq!(record.object_name.as_deref(), Some("shop.orders"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DtsAvroCodec {
    config: DtsAvroConfig,
    encoder: Encoder,
    cache: PartsCache,
}

impl DtsAvroCodec {
    /// A codec with `config`.
    #[must_use]
    pub fn new(config: DtsAvroConfig) -> Self {
        Self {
            encoder: Encoder::new(&config.server_version, config.tags),
            config,
            cache: PartsCache::default(),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &DtsAvroConfig {
        &self.config
    }
}

impl Codec for DtsAvroCodec {
    type Error = Error;

    /// Row and DDL events always; BEGIN/COMMIT when `emit_transaction_markers`, HEARTBEAT when
    /// `emit_heartbeats`.
    fn accepts(&self, event: &ChangeEvent) -> bool {
        match event.op {
            Operation::Begin | Operation::Commit => self.config.emit_transaction_markers,
            Operation::Heartbeat => self.config.emit_heartbeats,
            _ => true,
        }
    }

    /// Appends the message key: `<objectName>` or `<objectName>:<key text>` (nothing for
    /// BEGIN, COMMIT and HEARTBEAT).
    ///
    /// # Errors
    /// When the event's table definition cannot be encoded or its key values cannot be written
    /// (see [`key_text`](crate::key_text)); `out` is then unchanged.
    fn encode_key(&mut self, event: &ChangeEvent, out: &mut BytesMut) -> Result<()> {
        if event.op.is_row() {
            let table = event.table.as_ref().ok_or(Error::MissingTable {
                op: crate::encode::operation(event.op)?.symbol(),
            })?;
            let parts = self.cache.get(table)?;
            return write_message_key(event, Some(parts.object_name_text()), out);
        }
        if event.op == Operation::Ddl
            && let Some(db) = ddl_object_name(event)
        {
            put_escaped_text(out, db);
        }
        Ok(())
    }

    /// Appends the Avro binary of the event's `Record`.
    ///
    /// # Errors
    /// When the event cannot be written faithfully: a row event without table or image, an
    /// image whose length differs from the column count, a value whose variant does not fit
    /// its column, an ENUM/SET value without label, a GEOMETRY without SRID, JSON that is not
    /// UTF-8, a DDL event without statement, a record id above `i64::MAX`. `out` is then
    /// unchanged.
    fn encode_value(&mut self, event: &ChangeEvent, out: &mut BytesMut) -> Result<()> {
        let parts = match (&event.table, event.op.is_row()) {
            (Some(table), true) => Some(self.cache.get(table)?),
            _ => None,
        };
        self.encoder.encode(event, parts, out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use dts_core::{ColumnDef, ColumnType, TableId, TableSchema, Value};

    use super::*;

    fn table(cols: usize) -> Arc<TableSchema> {
        let columns = (0..cols)
            .map(|i| ColumnDef::new(format!("c{i}"), ColumnType::Int))
            .collect();
        Arc::new(TableSchema::new(TableId::new("d", "t"), columns, None, vec![]).unwrap())
    }

    #[test]
    fn accepts_markers_only_when_enabled() {
        let mut config = DtsAvroConfig::new("8.0");
        let off = config.build();
        config.emit_transaction_markers = true;
        config.emit_heartbeats = true;
        let on = config.build();
        for op in [Operation::Begin, Operation::Commit, Operation::Heartbeat] {
            let ev = ChangeEvent::new(op);
            assert!(!off.accepts(&ev), "{op}");
            assert!(on.accepts(&ev), "{op}");
        }
        let row = ChangeEvent::insert(table(1), vec![Value::Int(1)]);
        assert!(off.accepts(&row));
        assert!(off.accepts(&ChangeEvent::new(Operation::Ddl)));
    }

    #[test]
    fn cache_keeps_a_few_versions_per_table_and_stays_bounded() {
        let mut codec = DtsAvroConfig::new("8.0").build();
        let mut out = BytesMut::new();
        let tables: Vec<_> = (1..=6).map(table).collect();
        let mut encode = |codec: &mut DtsAvroCodec, t: &Arc<TableSchema>| {
            let ev = ChangeEvent::insert(t.clone(), vec![Value::Int(1); t.columns().len()]);
            codec.encode_value(&ev, &mut out).unwrap();
        };
        // Two versions interleaved (around a DDL): each built once.
        for _ in 0..5 {
            encode(&mut codec, &tables[0]);
            encode(&mut codec, &tables[1]);
        }
        assert_eq!((codec.cache.len(), codec.cache.builds()), (2, 2));
        // The same definition in a new Arc is not rebuilt.
        encode(&mut codec, &table(1));
        assert_eq!(codec.cache.builds(), 2);
        // Many versions of one table: at most VERSIONS_PER_TABLE kept.
        for t in &tables {
            encode(&mut codec, t);
        }
        assert_eq!((codec.cache.len(), codec.cache.builds()), (4, 6));
        encode(&mut codec, &tables[5]);
        assert_eq!(codec.cache.builds(), 6);
    }

    #[test]
    fn errors_leave_the_buffer_unchanged() {
        let mut codec = DtsAvroConfig::new("8.0").build();
        let mut out = BytesMut::from(&b"prefix"[..]);
        let ev = ChangeEvent::insert(
            table(2),
            vec![Value::Int(1), Value::Date(Default::default())],
        );
        let err = codec.encode_value(&ev, &mut out).unwrap_err();
        assert!(err.to_string().contains("column c1 of d.t"), "{err}");
        assert_eq!(&out[..], b"prefix");
        let mut ev = ChangeEvent::insert(table(1), vec![Value::Int(1)]);
        ev.id = u64::MAX;
        assert!(codec.encode_value(&ev, &mut out).is_err());
        assert_eq!(&out[..], b"prefix");
    }
}
