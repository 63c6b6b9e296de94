//! FORMAT_DESCRIPTION_EVENT (15): the binlog format of the events that follow.
//!
//! | size | field |
//! |---|---|
//! | 2 | binlog version (4) |
//! | 50 | server version, NUL-padded |
//! | 4 | create timestamp |
//! | 1 | common header length (19) |
//! | n | post-header length of each event type (index = type code − 1) |
//! | 1 | checksum algorithm (0 off, 1 CRC32) — servers ≥ MySQL 5.6.1 / MariaDB 5.3 only |
//! | 4 | CRC32 of this event (present whenever the algorithm byte is) |
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/classmysql_1_1binlog_1_1event_1_1Format__description__event.html>

use bytes::Bytes;

use crate::binlog::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::binlog::header::{EventType, HEADER_LEN};
use crate::binlog::reader::Reader;

/// How events end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumAlg {
    /// No checksum (the server predates checksums, or `binlog_checksum=NONE`).
    Off,
    /// A 4-byte CRC32 (ISO-HDLC, as zlib) over the event ends every event.
    Crc32,
}

/// The FORMAT_DESCRIPTION event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatDescriptionEvent {
    /// Binlog format version (4 for MySQL ≥ 5.0).
    pub binlog_version: u16,
    /// Server version string, e.g. `8.0.36` or `10.11.6-MariaDB-log`.
    pub server_version: String,
    /// When the file was created (0 in rotated-to files).
    pub create_timestamp: u32,
    /// Length of the common header (19).
    pub header_length: u8,
    post_header_lengths: Bytes,
    /// The checksum algorithm of the following events.
    pub checksum: ChecksumAlg,
    /// Whether this FDE itself carries the algorithm byte and a CRC32 field.
    pub has_checksum_field: bool,
}

/// Parses the leading `major.minor.patch` of a version string.
#[must_use]
pub fn version_triple(version: &str) -> (u32, u32, u32) {
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let mut next = || parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (next(), next(), next())
}

/// Whether a server of `version` writes the checksum-algorithm byte in its FDE.
fn has_checksum_alg(version: &str) -> bool {
    let v = version_triple(version);
    if version.contains("MariaDB") || version.contains("-maria-") {
        v >= (5, 3, 0)
    } else {
        v >= (5, 6, 1)
    }
}

impl FormatDescriptionEvent {
    /// The format a v4 stream has before its FDE arrives (MySQL 5.x defaults, CRC32 unknown:
    /// assumed off). Used only to decode the header and the FDE itself.
    #[must_use]
    pub fn v4_default() -> Self {
        Self {
            binlog_version: 4,
            server_version: String::new(),
            create_timestamp: 0,
            header_length: 19,
            post_header_lengths: Bytes::new(),
            checksum: ChecksumAlg::Off,
            has_checksum_field: false,
        }
    }

    /// Decodes the FDE from its whole event (`event` starts with the common header).
    ///
    /// # Errors
    /// Truncated or inconsistent input; a CRC32 mismatch when the FDE is checksummed.
    pub fn decode(event: &Bytes) -> DecodeResult<Self> {
        let mut r = Reader::new(event.clone(), 0);
        r.try_skip(HEADER_LEN, "header")?;
        let binlog_version = r.try_u16("binlog_version")?;
        let raw_version = r.try_slice(50, "server_version")?;
        let end = raw_version
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(raw_version.len());
        let server_version =
            String::from_utf8_lossy(raw_version.get(..end).unwrap_or_default()).into_owned();
        let create_timestamp = r.try_u32("create_timestamp")?;
        let header_length = r.try_u8("header_length")?;
        if usize::from(header_length) < HEADER_LEN {
            return Err(r.invalid("header_length", "shorter than 19 bytes"));
        }
        let has_checksum_field = has_checksum_alg(&server_version);
        let trailer = if has_checksum_field { 5 } else { 0 };
        let n = r
            .remaining()
            .checked_sub(trailer)
            .ok_or_else(|| r.invalid("checksum_alg", "event too short for its trailer"))?;
        let post_header_lengths = r.try_bytes(n, "post_header_lengths")?;
        let checksum = if has_checksum_field {
            let at = r.offset();
            let alg = r.try_u8("checksum_alg")?;
            let stored = r.try_u32("checksum")?;
            match alg {
                0 | 0xff => ChecksumAlg::Off,
                1 => {
                    let body_end = event.len().saturating_sub(4);
                    // The server computes the FDE's CRC with LOG_EVENT_BINLOG_IN_USE_F (0x1 of
                    // the flags at offset 17) cleared, and sets the flag while the file is open.
                    let mut crc = crc32fast::Hasher::new();
                    let body = event.get(..body_end).unwrap_or_default();
                    let (head, tail) = body.split_at(body.len().min(18));
                    match head.split_last() {
                        Some((&flags_lo, before)) if head.len() == 18 => {
                            crc.update(before);
                            crc.update(&[flags_lo & !0x01]);
                        }
                        _ => crc.update(head),
                    }
                    crc.update(tail);
                    let computed = crc.finalize();
                    if computed != stored {
                        return Err(DecodeError::new(
                            DecodeErrorKind::Checksum { stored, computed },
                            "checksum",
                            body_end as u64,
                        ));
                    }
                    ChecksumAlg::Crc32
                }
                _ => {
                    return Err(DecodeError::invalid(
                        "checksum_alg",
                        at,
                        "unknown algorithm",
                    ));
                }
            }
        } else {
            ChecksumAlg::Off
        };
        Ok(Self {
            binlog_version,
            server_version,
            create_timestamp,
            header_length,
            post_header_lengths,
            checksum,
            has_checksum_field,
        })
    }

    /// The post-header length the server declared for `event_type`, if it declared one.
    #[must_use]
    pub fn post_header_len(&self, event_type: EventType) -> Option<u8> {
        let index = usize::from(event_type.code()).checked_sub(1)?;
        self.post_header_lengths.get(index).copied()
    }

    /// Number of checksum bytes at the end of every following event.
    #[must_use]
    pub fn checksum_len(&self) -> usize {
        match self.checksum {
            ChecksumAlg::Off => 0,
            ChecksumAlg::Crc32 => 4,
        }
    }

    /// `true` when the server is MariaDB.
    #[must_use]
    pub fn is_mariadb(&self) -> bool {
        self.server_version.contains("MariaDB")
    }

    /// `(major, minor, patch)` of the server.
    #[must_use]
    pub fn version(&self) -> (u32, u32, u32) {
        version_triple(&self.server_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(version_triple("5.6.4-m7-debug-log"), (5, 6, 4));
        assert_eq!(
            version_triple("10.5.15-MariaDB-1:10.5.15+maria~focal-log"),
            (10, 5, 15)
        );
        assert!(has_checksum_alg("5.6.1"));
        assert!(!has_checksum_alg("5.6.0"));
        assert!(has_checksum_alg("5.5.30-MariaDB"));
        assert!(!has_checksum_alg("5.1.23-rc-debug-log"));
    }
}
