//! GTID events of both flavours.
//!
//! MySQL GTID_LOG_EVENT (33) / ANONYMOUS_GTID_LOG_EVENT (34):
//! | 1 flags | 16 source uuid | 8 gno | [1 lt type (2) | 8 last committed | 8 sequence number]
//! | [7 immediate commit ts (bit 55: original follows) | 7 original commit ts] | [lenenc
//! transaction length] | [4 immediate server version (bit 31: original follows) | 4 original] |
//!
//! PREVIOUS_GTIDS_LOG_EVENT (35): | 8 n_sids (high byte 1 = tagged format) | per sid: 16 uuid |
//! [tagged: varlen tag] | 8 n_intervals | per interval: 8 start, 8 end (exclusive) |
//!
//! MariaDB GTID_EVENT (162): | 8 sequence | 4 domain | 1 flags | [8 commit id if flags & 2] |
//! MariaDB GTID_LIST_EVENT (163): | 4 count (low 28 bits) | count × (4 domain, 4 server, 8 seq) |
//! MariaDB BINLOG_CHECKPOINT_EVENT (161): | 4 name length | name |
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/classmysql_1_1binlog_1_1event_1_1Gtid__event.html>,
//! <https://mariadb.com/kb/en/gtid_event/>

use bytes::Bytes;
use dts_core::{MariaDbGtid, MySqlGtidSet};

use crate::binlog::error::DecodeResult;
use crate::binlog::reader::Reader;

/// Formats a 16-byte server UUID as text.
#[must_use]
pub fn uuid_text(uuid: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(36);
    for (i, b) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        for nibble in [b >> 4, b & 0xf] {
            s.push(char::from(
                HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    s
}

/// A MySQL GTID or anonymous GTID event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GtidEvent {
    /// `true` for ANONYMOUS_GTID (GTID mode off).
    pub anonymous: bool,
    /// Flags (bit 0: may have been committed without row-based logging).
    pub flags: u8,
    /// Source server UUID.
    pub sid: [u8; 16],
    /// Transaction number.
    pub gno: i64,
    /// Logical clock: last committed.
    pub last_committed: Option<i64>,
    /// Logical clock: sequence number.
    pub sequence_number: Option<i64>,
    /// Commit time on this server, µs since the epoch (8.0.1+).
    pub immediate_commit_ts: Option<u64>,
    /// Commit time on the originating server, µs since the epoch (8.0.1+).
    pub original_commit_ts: Option<u64>,
    /// Size of the whole transaction in bytes (8.0.2+).
    pub transaction_length: Option<u64>,
    /// The GTID tag (GTID_TAGGED_LOG_EVENT, MySQL 8.4+).
    pub tag: Option<String>,
}

impl GtidEvent {
    /// Decodes the body.
    ///
    /// # Errors
    /// Truncated input.
    pub fn decode(r: &mut Reader, anonymous: bool) -> DecodeResult<Self> {
        let flags = r.try_u8("gtid.flags")?;
        let sid = r.try_array::<16>("gtid.sid")?;
        let gno = i64::from_le_bytes(r.try_array("gtid.gno")?);
        let mut ev = Self {
            anonymous,
            flags,
            sid,
            gno,
            last_committed: None,
            sequence_number: None,
            immediate_commit_ts: None,
            original_commit_ts: None,
            transaction_length: None,
            tag: None,
        };
        // Logical timestamps (5.7+): type 2, then two i64.
        if r.remaining() >= 17 && r.try_u8("gtid.lt_type")? == 2 {
            ev.last_committed = Some(i64::from_le_bytes(r.try_array("gtid.last_committed")?));
            ev.sequence_number = Some(i64::from_le_bytes(r.try_array("gtid.sequence_number")?));
            if r.remaining() >= 7 {
                let raw = u64::from_le_bytes(pad7(r.try_array("gtid.immediate_commit_ts")?));
                let immediate = raw & !(1 << 55);
                ev.immediate_commit_ts = Some(immediate);
                ev.original_commit_ts = Some(if raw & (1 << 55) != 0 {
                    u64::from_le_bytes(pad7(r.try_array("gtid.original_commit_ts")?))
                } else {
                    immediate
                });
                if !r.is_empty() {
                    ev.transaction_length = Some(r.try_lenenc("gtid.transaction_length")?);
                }
            }
        }
        // Server versions and commit-group fields that may follow are not needed.
        r.rest();
        Ok(ev)
    }

    /// Decodes a GTID_TAGGED_LOG_EVENT body (MySQL 8.4+, serialization library format v2):
    /// | 1 version (2) | varlen payload size (from the version byte) | varlen last
    /// non-ignorable field id | fields: varlen id, data |. Fields: 0 flags, 1 sid (16 varlen
    /// bytes), 2 gno (zig-zag), 3 tag (varlen length + text), 4 last committed (zig-zag),
    /// 5 sequence number (zig-zag), 6/7 immediate/original commit timestamp, 8 transaction
    /// length, 9/10 server versions, 11 commit group ticket (varlen).
    ///
    /// # Errors
    /// Truncated or malformed input, an unknown version or a non-ignorable unknown field.
    pub fn decode_tagged(r: &mut Reader) -> DecodeResult<Self> {
        let start = r.offset();
        let version = r.try_u8("gtid_tagged.version")?;
        if version != 2 {
            return Err(r.invalid("gtid_tagged.version", "unknown serialization version"));
        }
        let size = read_varlen(r, "gtid_tagged.payload_size")?;
        let last_non_ignorable = read_varlen(r, "gtid_tagged.last_non_ignorable_field")?;
        let consumed = r.offset().saturating_sub(start);
        let fields_len = size
            .checked_sub(consumed)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| r.invalid("gtid_tagged.payload_size", "smaller than its envelope"))?;
        let mut f = r.try_sub(fields_len, "gtid_tagged.fields")?;
        // Zig-zag: 2n → n, 2n+1 → −n−1.
        let zigzag =
            |v: u64| -> i64 { (v >> 1).cast_signed() ^ (v & 1).wrapping_neg().cast_signed() };
        let mut ev = Self {
            anonymous: false,
            flags: 0,
            sid: [0; 16],
            gno: 0,
            last_committed: None,
            sequence_number: None,
            immediate_commit_ts: None,
            original_commit_ts: None,
            transaction_length: None,
            tag: None,
        };
        while !f.is_empty() {
            let id = read_varlen(&mut f, "gtid_tagged.field_id")?;
            match id {
                0 => {
                    ev.flags = u8::try_from(read_varlen(&mut f, "gtid_tagged.flags")?)
                        .map_err(|_| f.invalid("gtid_tagged.flags", "above 255"))?;
                }
                1 => {
                    for b in &mut ev.sid {
                        *b = u8::try_from(read_varlen(&mut f, "gtid_tagged.sid")?)
                            .map_err(|_| f.invalid("gtid_tagged.sid", "byte above 255"))?;
                    }
                }
                2 => ev.gno = zigzag(read_varlen(&mut f, "gtid_tagged.gno")?),
                3 => {
                    let at = f.offset();
                    let n = crate::binlog::reader::to_usize(
                        read_varlen(&mut f, "gtid_tagged.tag")?,
                        "gtid_tagged.tag",
                        at,
                    )?;
                    let tag = f.try_bytes(n, "gtid_tagged.tag")?;
                    let tag = std::str::from_utf8(&tag).map_err(|_| {
                        crate::binlog::error::DecodeError::invalid(
                            "gtid_tagged.tag",
                            at,
                            "not UTF-8",
                        )
                    })?;
                    ev.tag = (!tag.is_empty()).then(|| tag.to_owned());
                }
                4 => {
                    ev.last_committed =
                        Some(zigzag(read_varlen(&mut f, "gtid_tagged.last_committed")?));
                }
                5 => {
                    ev.sequence_number =
                        Some(zigzag(read_varlen(&mut f, "gtid_tagged.sequence_number")?));
                }
                6 => {
                    ev.immediate_commit_ts =
                        Some(read_varlen(&mut f, "gtid_tagged.immediate_commit_ts")?);
                }
                7 => {
                    ev.original_commit_ts =
                        Some(read_varlen(&mut f, "gtid_tagged.original_commit_ts")?);
                }
                8 => {
                    ev.transaction_length =
                        Some(read_varlen(&mut f, "gtid_tagged.transaction_length")?);
                }
                9..=11 => {
                    read_varlen(&mut f, "gtid_tagged.field")?;
                }
                unknown if unknown <= last_non_ignorable => {
                    return Err(f.invalid(
                        "gtid_tagged.field_id",
                        "unknown field that may not be ignored",
                    ));
                }
                // An ignorable field of a newer format: its size is unknown, so stop here.
                _ => break,
            }
        }
        if ev.original_commit_ts.is_none() {
            ev.original_commit_ts = ev.immediate_commit_ts;
        }
        r.rest();
        Ok(ev)
    }

    /// `uuid:gno`, or `uuid:tag:gno` for tagged GTIDs.
    #[must_use]
    pub fn gtid_text(&self) -> String {
        match &self.tag {
            Some(tag) => format!("{}:{tag}:{}", uuid_text(&self.sid), self.gno),
            None => format!("{}:{}", uuid_text(&self.sid), self.gno),
        }
    }
}

fn pad7(b: [u8; 7]) -> [u8; 8] {
    let [a, b1, c, d, e, f, g] = b;
    [a, b1, c, d, e, f, g, 0]
}

/// PREVIOUS_GTIDS: the GTID set of every transaction before this file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviousGtidsEvent {
    /// The set.
    pub set: MySqlGtidSet,
}

impl PreviousGtidsEvent {
    /// Decodes the body.
    ///
    /// # Errors
    /// Truncated or malformed input (counts beyond the input, empty intervals).
    pub fn decode(r: &mut Reader) -> DecodeResult<Self> {
        let head = r.try_u64("previous_gtids.n_sids")?;
        let tagged = head >> 56 == 1;
        // Tagged: the format byte is repeated in bits 0–7 and the count is in bits 8–55.
        let n_sids = if tagged {
            (head >> 8) & 0xffff_ffff_ffff
        } else {
            head & 0x00ff_ffff_ffff_ffff
        };
        // Each sid needs at least 24 bytes: refuse counts the input cannot hold.
        if n_sids > (r.remaining() / 24) as u64 {
            return Err(r.invalid("previous_gtids.n_sids", "more sids than the event can hold"));
        }
        let mut set = MySqlGtidSet::new();
        for _ in 0..n_sids {
            let uuid = uuid_text(&r.try_array("previous_gtids.sid")?);
            let sid = if tagged {
                let n = read_varlen(r, "previous_gtids.tag_len")?;
                let at = r.offset();
                let n = crate::binlog::reader::to_usize(n, "previous_gtids.tag", at)?;
                let tag = r.try_bytes(n, "previous_gtids.tag")?;
                if tag.is_empty() {
                    uuid
                } else {
                    let tag = std::str::from_utf8(&tag).map_err(|_| {
                        crate::binlog::error::DecodeError::invalid(
                            "previous_gtids.tag",
                            at,
                            "not UTF-8",
                        )
                    })?;
                    format!("{uuid}:{tag}")
                }
            } else {
                uuid
            };
            let n = r.try_u64("previous_gtids.n_intervals")?;
            if n > (r.remaining() / 16) as u64 {
                return Err(r.invalid(
                    "previous_gtids.n_intervals",
                    "more intervals than the event can hold",
                ));
            }
            for _ in 0..n {
                let at = r.offset();
                let start = r.try_u64("previous_gtids.start")?;
                let end = r.try_u64("previous_gtids.end")?;
                if start == 0 || end <= start {
                    return Err(crate::binlog::error::DecodeError::invalid(
                        "previous_gtids.interval",
                        at,
                        "empty interval or interval starting at 0",
                    ));
                }
                set.add_interval(&sid, start, end.saturating_sub(1));
            }
        }
        Ok(Self { set })
    }
}

/// The variable-length unsigned integer of MySQL's serialization library (8.4+): the number of
/// trailing 1 bits of the first byte (before a 0) says how many more bytes follow.
pub(crate) fn read_varlen(r: &mut Reader, what: &'static str) -> DecodeResult<u64> {
    let first = r.try_u8(what)?;
    let extra = first.trailing_ones() as usize;
    if extra == 0 {
        return Ok(u64::from(first >> 1));
    }
    if extra > 8 {
        return Err(r.invalid(what, "varlen integer longer than 9 bytes"));
    }
    let rest = r.try_slice(extra, what)?;
    let mut buf = [0u8; 8];
    for (d, s) in buf.iter_mut().zip(rest) {
        *d = *s;
    }
    let tail = u64::from_le_bytes(buf);
    if extra == 8 {
        return Ok(tail);
    }
    let bits = u32::try_from(extra).unwrap_or(8);
    let low = u64::from(first) >> bits.saturating_add(1);
    Ok(tail.checked_shl(7u32.saturating_sub(bits)).unwrap_or(0) | low)
}

/// A MariaDB GTID event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MariaGtidEvent {
    /// The GTID (server id from the event header).
    pub gtid: MariaDbGtid,
    /// `FL_*` flags (1 standalone, 2 group commit id, 4 transactional, 8 allow parallel, ...).
    pub flags: u8,
    /// Group commit id, when flagged.
    pub commit_id: Option<u64>,
}

impl MariaGtidEvent {
    /// `FL_STANDALONE`: no COMMIT/XID follows (DDL and non-transactional statements).
    pub const STANDALONE: u8 = 1;

    /// Decodes the body; `server_id` comes from the event header.
    ///
    /// # Errors
    /// Truncated input.
    pub fn decode(r: &mut Reader, server_id: u32) -> DecodeResult<Self> {
        let sequence = r.try_u64("maria_gtid.sequence")?;
        let domain = r.try_u32("maria_gtid.domain")?;
        let flags = r.try_u8("maria_gtid.flags")?;
        let commit_id = if flags & 2 != 0 {
            Some(r.try_u64("maria_gtid.commit_id")?)
        } else {
            None
        };
        r.rest();
        Ok(Self {
            gtid: MariaDbGtid {
                domain,
                server: server_id,
                sequence,
            },
            flags,
            commit_id,
        })
    }

    /// `true` when no COMMIT/XID event ends the group.
    #[must_use]
    pub fn is_standalone(&self) -> bool {
        self.flags & Self::STANDALONE != 0
    }
}

/// Decodes a MariaDB GTID_LIST body.
///
/// # Errors
/// Truncated input or a count the event cannot hold.
pub fn decode_gtid_list(r: &mut Reader) -> DecodeResult<Vec<MariaDbGtid>> {
    let count = r.try_u32("gtid_list.count")? & 0x0fff_ffff;
    let count = count as usize;
    if count > r.remaining() / 16 {
        return Err(r.invalid("gtid_list.count", "more GTIDs than the event can hold"));
    }
    let mut list = Vec::with_capacity(count);
    for _ in 0..count {
        let domain = r.try_u32("gtid_list.domain")?;
        let server = r.try_u32("gtid_list.server")?;
        let sequence = r.try_u64("gtid_list.sequence")?;
        list.push(MariaDbGtid {
            domain,
            server,
            sequence,
        });
    }
    Ok(list)
}

/// Decodes a MariaDB BINLOG_CHECKPOINT body: the file name.
///
/// # Errors
/// Truncated input.
pub fn decode_binlog_checkpoint(r: &mut Reader) -> DecodeResult<Bytes> {
    let n = r.try_u32("binlog_checkpoint.len")?;
    r.try_bytes(n as usize, "binlog_checkpoint.file")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_formatting() {
        let u = [
            0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42,
            0x95, 0x62,
        ];
        assert_eq!(uuid_text(&u), "3e11fa47-71ca-11e1-9e33-c80aa9429562");
    }

    #[test]
    fn varlen() {
        let mut r = Reader::new(Bytes::from_static(&[0x0a]), 0);
        assert_eq!(read_varlen(&mut r, "v").unwrap(), 5);
    }
}
