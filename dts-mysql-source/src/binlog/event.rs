//! [`Event`] and the [`EventDecoder`] that turns raw events into them.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use dts_core::MariaDbGtid;

use super::error::{DecodeError, DecodeErrorKind, DecodeResult};
use super::events::format_description::{ChecksumAlg, FormatDescriptionEvent};
use super::events::gtid::{self, GtidEvent, MariaGtidEvent, PreviousGtidsEvent};
use super::events::query::QueryEvent;
use super::events::rows::{RowsEvent, RowsKind};
use super::events::table_map::TableMapEvent;
use super::events::transaction_payload::TransactionPayloadEvent;
use super::header::{EventHeader, EventType, HEADER_LEN};
use super::reader::Reader;

/// A decoded event body.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// FORMAT_DESCRIPTION.
    FormatDescription(FormatDescriptionEvent),
    /// ROTATE: the next file and the position in it.
    Rotate {
        /// Position in the next file.
        position: u64,
        /// The next file name.
        next_file: Bytes,
    },
    /// QUERY (and MariaDB QUERY_COMPRESSED, decompressed).
    Query(QueryEvent),
    /// XID: a transaction committed.
    Xid {
        /// The XA transaction id.
        xid: u64,
    },
    /// TABLE_MAP.
    TableMap(Arc<TableMapEvent>),
    /// A rows event (WRITE/UPDATE/DELETE/PARTIAL_UPDATE, any version, decompressed).
    Rows(RowsEvent),
    /// MySQL GTID, ANONYMOUS_GTID or GTID_TAGGED (8.4+, with [`GtidEvent::tag`]).
    Gtid(GtidEvent),
    /// MySQL PREVIOUS_GTIDS.
    PreviousGtids(PreviousGtidsEvent),
    /// MariaDB GTID.
    MariaGtid(MariaGtidEvent),
    /// MariaDB GTID_LIST.
    MariaGtidList(Vec<MariaDbGtid>),
    /// MariaDB BINLOG_CHECKPOINT.
    MariaBinlogCheckpoint {
        /// The binlog file needed for crash recovery.
        file: Bytes,
    },
    /// MariaDB ANNOTATE_ROWS: the statement of the following rows events.
    MariaAnnotateRows {
        /// The statement.
        query: Bytes,
    },
    /// MySQL ROWS_QUERY: the statement of the following rows events.
    RowsQuery {
        /// The statement.
        query: Bytes,
    },
    /// INTVAR.
    Intvar {
        /// 1 LAST_INSERT_ID, 2 INSERT_ID.
        kind: u8,
        /// The value.
        value: u64,
    },
    /// RAND seeds.
    Rand {
        /// Seed 1.
        seed1: u64,
        /// Seed 2.
        seed2: u64,
    },
    /// USER_VAR.
    UserVar {
        /// Variable name.
        name: Bytes,
        /// `None` for NULL; else (type, charset, raw value).
        value: Option<(u8, u32, Bytes)>,
    },
    /// INCIDENT.
    Incident {
        /// Incident type.
        kind: u16,
        /// Message.
        message: Bytes,
    },
    /// STOP.
    Stop,
    /// HEARTBEAT (v1: the current file name; v2: raw fields).
    Heartbeat {
        /// v1: log file name; v2: serialized fields.
        body: Bytes,
    },
    /// XA_PREPARE.
    XaPrepare {
        /// One-phase commit.
        one_phase: bool,
        /// The XID, raw.
        xid: Bytes,
    },
    /// TRANSACTION_PAYLOAD (inner events via [`EventDecoder::payload_events`]).
    TransactionPayload(TransactionPayloadEvent),
    /// Any other type (old LOAD DATA events, IGNORABLE, future types): passed through.
    Other {
        /// The body, raw (checksum removed).
        body: Bytes,
    },
}

/// One decoded event: header, body, and the raw bytes it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedEvent {
    /// The common header.
    pub header: EventHeader,
    /// The body.
    pub event: Event,
}

/// Limits and switches of an [`EventDecoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Verify CRC32 checksums when the format description says events carry them.
    pub verify_checksums: bool,
    /// Largest event accepted (the server's `max_allowed_packet` cap is 1 GiB).
    pub max_event_size: usize,
    /// Largest decompressed size of a compressed event or transaction payload.
    pub max_uncompressed_size: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            verify_checksums: true,
            max_event_size: 1 << 30,
            max_uncompressed_size: 4 << 30,
        }
    }
}

/// Decodes events in order, keeping the state later events need: the format description and
/// the table maps.
#[derive(Debug)]
pub struct EventDecoder {
    fde: FormatDescriptionEvent,
    tables: HashMap<u64, Arc<TableMapEvent>>,
    options: DecodeOptions,
}

impl Default for EventDecoder {
    fn default() -> Self {
        Self::new(DecodeOptions::default())
    }
}

impl EventDecoder {
    /// A decoder expecting a FORMAT_DESCRIPTION event first.
    #[must_use]
    pub fn new(options: DecodeOptions) -> Self {
        Self {
            fde: FormatDescriptionEvent::v4_default(),
            tables: HashMap::new(),
            options,
        }
    }

    /// Declares the checksum algorithm of events that arrive before the stream's
    /// FORMAT_DESCRIPTION (the artificial ROTATE a server sends first on a replication
    /// connection carries the server's checksum). The FDE, once seen, decides again.
    pub fn assume_checksum(&mut self, checksum: ChecksumAlg) {
        self.fde.checksum = checksum;
    }

    /// The format description in force.
    #[must_use]
    pub fn format(&self) -> &FormatDescriptionEvent {
        &self.fde
    }

    /// The table map in force for `table_id`.
    #[must_use]
    pub fn table(&self, table_id: u64) -> Option<&Arc<TableMapEvent>> {
        self.tables.get(&table_id)
    }

    /// Decodes one complete event (header, body and checksum if any).
    ///
    /// # Errors
    /// A [`DecodeError`] naming the event type, field and offset; a checksum mismatch.
    pub fn decode(&mut self, raw: &Bytes) -> DecodeResult<DecodedEvent> {
        self.decode_inner(raw, true)
    }

    /// The inner events of a transaction payload, decoded with this decoder's state.
    ///
    /// # Errors
    /// Items fail as [`decode`](Self::decode) does, or when the payload is corrupt or exceeds
    /// [`DecodeOptions::max_uncompressed_size`].
    pub fn payload_events<'a>(
        &'a mut self,
        payload: &TransactionPayloadEvent,
    ) -> impl Iterator<Item = DecodeResult<DecodedEvent>> + 'a {
        let inner = payload.events(
            self.options.max_uncompressed_size,
            self.options.max_event_size,
        );
        inner.map(move |raw| raw.and_then(|raw| self.decode_inner(&raw, false)))
    }

    fn decode_inner(&mut self, raw: &Bytes, checksummed: bool) -> DecodeResult<DecodedEvent> {
        let header = EventHeader::parse(raw)?;
        let ty = header.event_type;
        let size = header.event_size as usize;
        if size > self.options.max_event_size {
            return Err(DecodeError::new(
                DecodeErrorKind::TooLarge {
                    len: size as u64,
                    limit: self.options.max_event_size as u64,
                },
                "event",
                9,
            )
            .in_event(ty));
        }
        if size != raw.len() {
            return Err(
                DecodeError::truncated("event", 0, size as u64, raw.len() as u64).in_event(ty),
            );
        }
        if ty == EventType::FormatDescription {
            let fde = FormatDescriptionEvent::decode(raw).map_err(|e| e.in_event(ty))?;
            self.fde = fde.clone();
            // A new FDE starts a new file or stream: old table ids are void.
            self.tables.clear();
            return Ok(DecodedEvent {
                header,
                event: Event::FormatDescription(fde),
            });
        }
        let checksum_len = if checksummed {
            self.fde.checksum_len()
        } else {
            0
        };
        let body_end = size
            .checked_sub(checksum_len)
            .filter(|&e| e >= HEADER_LEN)
            .ok_or_else(|| {
                DecodeError::truncated(
                    "checksum",
                    HEADER_LEN as u64,
                    checksum_len as u64,
                    size.saturating_sub(HEADER_LEN) as u64,
                )
                .in_event(ty)
            })?;
        if checksummed && self.options.verify_checksums && self.fde.checksum == ChecksumAlg::Crc32 {
            let stored = raw
                .get(body_end..)
                .and_then(|s| <[u8; 4]>::try_from(s).ok())
                .map(u32::from_le_bytes)
                .unwrap_or(0);
            let computed = crc32fast::hash(raw.get(..body_end).unwrap_or_default());
            if stored != computed {
                return Err(DecodeError::new(
                    DecodeErrorKind::Checksum { stored, computed },
                    "checksum",
                    body_end as u64,
                )
                .in_event(ty));
            }
        }
        let mut r = Reader::new(raw.slice(HEADER_LEN..body_end), HEADER_LEN as u64);
        let event = self
            .decode_body(&header, &mut r)
            .map_err(|e| e.in_event(ty))?;
        Ok(DecodedEvent { header, event })
    }

    fn post_header(&self, ty: EventType, default: u8) -> u8 {
        self.fde.post_header_len(ty).unwrap_or(default)
    }

    fn decode_body(&mut self, header: &EventHeader, r: &mut Reader) -> DecodeResult<Event> {
        let ty = header.event_type;
        let max = usize::try_from(self.options.max_uncompressed_size).unwrap_or(usize::MAX);
        Ok(match ty {
            EventType::Rotate => {
                let position = if self.fde.binlog_version > 1 {
                    r.try_u64("rotate.position")?
                } else {
                    4
                };
                Event::Rotate {
                    position,
                    next_file: r.rest(),
                }
            }
            EventType::Query | EventType::MariaQueryCompressed => Event::Query(QueryEvent::decode(
                r,
                self.post_header(ty, 13),
                ty == EventType::MariaQueryCompressed,
                max,
            )?),
            EventType::Xid => Event::Xid {
                xid: r.try_u64("xid")?,
            },
            EventType::TableMap => {
                let map = Arc::new(TableMapEvent::decode(r, self.post_header(ty, 8))?);
                // Reuse the cached map when identical, so plans keyed on it stay valid.
                let map = match self.tables.get(&map.table_id) {
                    Some(old) if **old == *map => old.clone(),
                    _ => {
                        // Kept until the table id is reused: not tied to this packet.
                        let map = Arc::new(map.detached());
                        self.tables.insert(map.table_id, map.clone());
                        map
                    }
                };
                Event::TableMap(map)
            }
            EventType::WriteRowsV1
            | EventType::UpdateRowsV1
            | EventType::DeleteRowsV1
            | EventType::WriteRowsV2
            | EventType::UpdateRowsV2
            | EventType::DeleteRowsV2
            | EventType::PartialUpdateRows
            | EventType::MariaWriteRowsCompressedV1
            | EventType::MariaUpdateRowsCompressedV1
            | EventType::MariaDeleteRowsCompressedV1
            | EventType::MariaWriteRowsCompressed
            | EventType::MariaUpdateRowsCompressed
            | EventType::MariaDeleteRowsCompressed => {
                let (kind, v2, compressed) = match ty {
                    EventType::WriteRowsV1 => (RowsKind::Write, false, false),
                    EventType::UpdateRowsV1 => (RowsKind::Update, false, false),
                    EventType::DeleteRowsV1 => (RowsKind::Delete, false, false),
                    EventType::WriteRowsV2 => (RowsKind::Write, true, false),
                    EventType::UpdateRowsV2 => (RowsKind::Update, true, false),
                    EventType::DeleteRowsV2 => (RowsKind::Delete, true, false),
                    EventType::PartialUpdateRows => (RowsKind::PartialUpdate, true, false),
                    EventType::MariaWriteRowsCompressedV1 => (RowsKind::Write, false, true),
                    EventType::MariaUpdateRowsCompressedV1 => (RowsKind::Update, false, true),
                    EventType::MariaDeleteRowsCompressedV1 => (RowsKind::Delete, false, true),
                    EventType::MariaWriteRowsCompressed => (RowsKind::Write, true, true),
                    EventType::MariaUpdateRowsCompressed => (RowsKind::Update, true, true),
                    _ => (RowsKind::Delete, true, true),
                };
                let post = self.post_header(ty, if v2 { 10 } else { 8 });
                let tables = &self.tables;
                Event::Rows(RowsEvent::decode(r, kind, post, compressed, max, |id| {
                    tables.get(&id).cloned()
                })?)
            }
            EventType::Gtid | EventType::AnonymousGtid => {
                Event::Gtid(GtidEvent::decode(r, ty == EventType::AnonymousGtid)?)
            }
            EventType::GtidTagged => Event::Gtid(GtidEvent::decode_tagged(r)?),
            EventType::PreviousGtids => Event::PreviousGtids(PreviousGtidsEvent::decode(r)?),
            EventType::MariaGtid => Event::MariaGtid(MariaGtidEvent::decode(r, header.server_id)?),
            EventType::MariaGtidList => Event::MariaGtidList(gtid::decode_gtid_list(r)?),
            EventType::MariaBinlogCheckpoint => Event::MariaBinlogCheckpoint {
                file: gtid::decode_binlog_checkpoint(r)?,
            },
            EventType::MariaAnnotateRows => Event::MariaAnnotateRows { query: r.rest() },
            EventType::RowsQuery => {
                // One length byte (truncated at 255, so ignored), then the statement.
                r.try_skip(1, "rows_query.length")?;
                Event::RowsQuery { query: r.rest() }
            }
            EventType::Intvar => Event::Intvar {
                kind: r.try_u8("intvar.type")?,
                value: r.try_u64("intvar.value")?,
            },
            EventType::Rand => Event::Rand {
                seed1: r.try_u64("rand.seed1")?,
                seed2: r.try_u64("rand.seed2")?,
            },
            EventType::UserVar => {
                let n = r.try_u32("user_var.name_length")?;
                let name = r.try_bytes(n as usize, "user_var.name")?;
                let is_null = r.try_u8("user_var.is_null")? != 0;
                let value = if is_null {
                    None
                } else {
                    let t = r.try_u8("user_var.type")?;
                    let charset = r.try_u32("user_var.charset")?;
                    let n = r.try_u32("user_var.value_length")?;
                    Some((t, charset, r.try_bytes(n as usize, "user_var.value")?))
                };
                r.rest(); // optional flags byte
                Event::UserVar { name, value }
            }
            EventType::Incident => {
                let kind = r.try_u16("incident.type")?;
                let message = if r.is_empty() {
                    Bytes::new()
                } else {
                    let n = r.try_u8("incident.message_length")?;
                    r.try_bytes(usize::from(n), "incident.message")?
                };
                Event::Incident { kind, message }
            }
            EventType::Stop => Event::Stop,
            EventType::Heartbeat | EventType::HeartbeatV2 => Event::Heartbeat { body: r.rest() },
            EventType::XaPrepare => {
                let one_phase = r.try_u8("xa_prepare.one_phase")? != 0;
                Event::XaPrepare {
                    one_phase,
                    xid: r.rest(),
                }
            }
            EventType::TransactionPayload => {
                Event::TransactionPayload(TransactionPayloadEvent::decode(r)?)
            }
            _ => Event::Other { body: r.rest() },
        })
    }
}
