//! QUERY_EVENT (2) and MariaDB's QUERY_COMPRESSED_EVENT (165): a statement, or BEGIN/COMMIT
//! around row events, and the DDL that schema tracking reads.
//!
//! Post-header: | 4 thread id | 4 exec time | 1 db name length | 2 error code | 2 status-vars
//! length (binlog v4) |. Body: | status vars | db name | NUL | statement (to the end) |.
//! In the compressed form the statement is `0x80|n`, an n-byte big-endian uncompressed length,
//! then zlib data.
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/classmysql_1_1binlog_1_1event_1_1Query__event.html>

use std::io::Read;

use bytes::Bytes;

use crate::binlog::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::binlog::reader::Reader;

/// Status variables of a QUERY event that matter for decoding and schema tracking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryStatus {
    /// `Q_FLAGS2_CODE` (autocommit, foreign key checks, ...).
    pub flags2: Option<u32>,
    /// `Q_SQL_MODE_CODE`.
    pub sql_mode: Option<u64>,
    /// `Q_CHARSET_CODE`: client character set, connection collation, server collation.
    pub charset: Option<(u16, u16, u16)>,
    /// `Q_CHARSET_DATABASE_CODE`: collation of the default database.
    pub database_collation: Option<u16>,
    /// `Q_TIME_ZONE_CODE`.
    pub time_zone: Option<Bytes>,
    /// `Q_MICROSECONDS`: microseconds of the statement start.
    pub microseconds: Option<u32>,
    /// `Q_DDL_LOGGED_WITH_XID` (MySQL 8.0 atomic DDL) or MariaDB `Q_XID`.
    pub xid: Option<u64>,
    /// `Q_DEFAULT_COLLATION_FOR_UTF8MB4`.
    pub default_collation_for_utf8mb4: Option<u16>,
    /// `Q_UPDATED_DB_NAMES`: databases the statement changed (None when not logged or too
    /// many).
    pub updated_dbs: Option<Vec<Bytes>>,
    /// Status variables after an unknown code were not interpreted.
    pub unparsed_from: Option<u64>,
}

/// A QUERY event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryEvent {
    /// The connection that ran the statement.
    pub thread_id: u32,
    /// Seconds the statement took.
    pub exec_time: u32,
    /// Error code of the statement on the source (0 when it succeeded).
    pub error_code: u16,
    /// Decoded status variables.
    pub status: QueryStatus,
    /// Default database (`USE db`), possibly empty.
    pub schema: Bytes,
    /// The statement text (decompressed for QUERY_COMPRESSED).
    pub query: Bytes,
}

impl QueryEvent {
    /// Decodes the body (`r` positioned after the common header, checksum removed).
    ///
    /// # Errors
    /// Truncated or malformed input; a statement whose decompressed size exceeds `max_len`.
    pub fn decode(
        r: &mut Reader,
        post_header_len: u8,
        compressed: bool,
        max_len: usize,
    ) -> DecodeResult<Self> {
        let thread_id = r.try_u32("query.thread_id")?;
        let exec_time = r.try_u32("query.exec_time")?;
        let db_len = r.try_u8("query.db_len")?;
        let error_code = r.try_u16("query.error_code")?;
        let status_len = if post_header_len >= 13 {
            r.try_u16("query.status_vars_len")?
        } else {
            0
        };
        // Skip post-header fields this decoder does not know (future formats).
        let extra = usize::from(post_header_len).saturating_sub(13);
        r.try_skip(extra, "query.post_header")?;
        let mut status_r = r.try_sub(usize::from(status_len), "query.status_vars")?;
        let status = decode_status(&mut status_r)?;
        let schema = r.try_bytes(usize::from(db_len), "query.db_name")?;
        r.try_skip(1, "query.db_name_nul")?;
        let query = if compressed {
            uncompress(r, max_len)?
        } else {
            r.rest()
        };
        Ok(Self {
            thread_id,
            exec_time,
            error_code,
            status,
            schema,
            query,
        })
    }
}

fn decode_status(r: &mut Reader) -> DecodeResult<QueryStatus> {
    let mut s = QueryStatus::default();
    while !r.is_empty() {
        let at = r.offset();
        let code = r.try_u8("query.status_code")?;
        match code {
            0 => s.flags2 = Some(r.try_u32("Q_FLAGS2_CODE")?),
            1 => s.sql_mode = Some(r.try_u64("Q_SQL_MODE_CODE")?),
            2 => {
                let n = r.try_u8("Q_CATALOG_CODE")?;
                r.try_skip(usize::from(n).saturating_add(1), "Q_CATALOG_CODE")?;
            }
            3 => r.try_skip(4, "Q_AUTO_INCREMENT")?,
            4 => {
                s.charset = Some((
                    r.try_u16("Q_CHARSET_CODE")?,
                    r.try_u16("Q_CHARSET_CODE")?,
                    r.try_u16("Q_CHARSET_CODE")?,
                ));
            }
            5 => {
                let n = r.try_u8("Q_TIME_ZONE_CODE")?;
                s.time_zone = Some(r.try_bytes(usize::from(n), "Q_TIME_ZONE_CODE")?);
            }
            6 => {
                let n = r.try_u8("Q_CATALOG_NZ_CODE")?;
                r.try_skip(usize::from(n), "Q_CATALOG_NZ_CODE")?;
            }
            7 => r.try_skip(2, "Q_LC_TIME_NAMES_CODE")?,
            8 => s.database_collation = Some(r.try_u16("Q_CHARSET_DATABASE_CODE")?),
            9 => r.try_skip(8, "Q_TABLE_MAP_FOR_UPDATE_CODE")?,
            10 => r.try_skip(4, "Q_MASTER_DATA_WRITTEN_CODE")?,
            11 => {
                let n = r.try_u8("Q_INVOKER")?;
                r.try_skip(usize::from(n), "Q_INVOKER.user")?;
                let n = r.try_u8("Q_INVOKER")?;
                r.try_skip(usize::from(n), "Q_INVOKER.host")?;
            }
            12 => {
                let n = r.try_u8("Q_UPDATED_DB_NAMES")?;
                // 254 = OVER_MAX_DBS_IN_EVENT_MTS: no names follow.
                if n == 254 {
                    s.updated_dbs = None;
                } else {
                    let mut dbs = Vec::with_capacity(usize::from(n).min(r.remaining()));
                    for _ in 0..n {
                        dbs.push(r.try_cstr("Q_UPDATED_DB_NAMES")?);
                    }
                    s.updated_dbs = Some(dbs);
                }
            }
            13 => s.microseconds = Some(r.try_u24("Q_MICROSECONDS")?),
            14 => r.try_skip(8, "Q_COMMIT_TS")?,
            15 => r.try_skip(8, "Q_COMMIT_TS2")?,
            16 => r.try_skip(1, "Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP")?,
            17 => s.xid = Some(r.try_u64("Q_DDL_LOGGED_WITH_XID")?),
            18 => {
                s.default_collation_for_utf8mb4 =
                    Some(r.try_u16("Q_DEFAULT_COLLATION_FOR_UTF8MB4")?);
            }
            19 => r.try_skip(1, "Q_SQL_REQUIRE_PRIMARY_KEY")?,
            20 => r.try_skip(1, "Q_DEFAULT_TABLE_ENCRYPTION")?,
            // MariaDB: Q_HRNOW (3-byte microseconds), Q_XID (8), Q_GTID_FLAGS3 (1).
            128 => s.microseconds = Some(r.try_u24("Q_HRNOW")?),
            129 => s.xid = Some(r.try_u64("Q_XID")?),
            130 => r.try_skip(1, "Q_GTID_FLAGS3")?,
            131 => {
                // MariaDB 11.2 Q_CHARACTER_SET_COLLATIONS: count, then count × (u16, u16).
                let n = r.try_u8("Q_CHARACTER_SET_COLLATIONS")?;
                r.try_skip(
                    usize::from(n).saturating_mul(4),
                    "Q_CHARACTER_SET_COLLATIONS",
                )?;
            }
            _ => {
                // The status block has a known length, so the statement is still found: the
                // rest of the block is left uninterpreted rather than guessed.
                s.unparsed_from = Some(at);
                r.rest();
            }
        }
    }
    Ok(s)
}

/// MariaDB's compressed-buffer format (`binlog_buf_uncompress`).
pub(crate) fn uncompress(r: &mut Reader, max_len: usize) -> DecodeResult<Bytes> {
    let at = r.offset();
    let head = r.try_u8("compressed.header")?;
    if head & 0x80 == 0 {
        return Err(DecodeError::invalid(
            "compressed.header",
            at,
            "compressed flag not set",
        ));
    }
    let lenlen = usize::from(head & 0x07);
    if !(1..=4).contains(&lenlen) {
        return Err(DecodeError::invalid(
            "compressed.header",
            at,
            "length of length outside 1..=4",
        ));
    }
    let len_bytes = r.try_slice(lenlen, "compressed.length")?;
    let len = len_bytes
        .iter()
        .fold(0u64, |acc, &b| acc << 8 | u64::from(b));
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > max_len {
        return Err(DecodeError::new(
            DecodeErrorKind::TooLarge {
                len: len as u64,
                limit: max_len as u64,
            },
            "compressed.length",
            at,
        ));
    }
    let data_at = r.offset();
    let data = r.rest();
    // Never trust the declared size for the allocation: grow as data actually decompresses.
    let mut out = Vec::with_capacity(len.min(data.len().saturating_mul(8)).min(1 << 20));
    let mut z = flate2::read::ZlibDecoder::new(data.as_ref()).take((len as u64).saturating_add(1));
    z.read_to_end(&mut out)
        .map_err(|_| DecodeError::invalid("compressed.data", data_at, "not valid zlib data"))?;
    if out.len() != len {
        return Err(DecodeError::invalid(
            "compressed.data",
            data_at,
            "uncompressed size differs from the declared length",
        ));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn a_huge_declared_length_is_not_allocated_up_front() {
        // 0x84: compressed, 4 length bytes declaring 2 GiB, then garbage instead of zlib.
        let mut data = vec![0x84, 0x80, 0, 0, 0];
        data.extend_from_slice(&[0x84; 64]);
        let mut r = Reader::new(Bytes::from(data), 0);
        let err = uncompress(&mut r, usize::MAX).unwrap_err();
        assert!(err.to_string().contains("zlib"), "{err}");
        // Over the cap: refused before reading.
        let mut r = Reader::new(Bytes::from_static(&[0x84, 0x80, 0, 0, 0, 1, 2]), 0);
        assert!(matches!(
            uncompress(&mut r, 1 << 20).unwrap_err().kind(),
            DecodeErrorKind::TooLarge { .. }
        ));
    }
}
