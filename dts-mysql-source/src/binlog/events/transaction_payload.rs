//! TRANSACTION_PAYLOAD_EVENT (40, MySQL 8.0.20+ `binlog_transaction_compression`): a whole
//! transaction's events, compressed.
//!
//! Body: TLV fields, each `lenenc type | lenenc length | value`, until type 0 (end mark):
//! 1 payload size, 2 compression type (0 zstd, 255 none), 3 uncompressed size. Then the
//! payload: the inner events (header + body, no checksums), compressed.
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/classmysql_1_1binlog_1_1event_1_1Transaction__payload__event.html>

use std::io::Read;

use bytes::{Buf, Bytes};

use crate::binlog::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::binlog::header::{EventHeader, HEADER_LEN};
use crate::binlog::reader::Reader;

/// Compression of a transaction payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadCompression {
    /// zstd.
    Zstd,
    /// Not compressed.
    None,
}

/// A TRANSACTION_PAYLOAD event (compressed bytes; inner events via [`events`](Self::events)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionPayloadEvent {
    /// Compression.
    pub compression: PayloadCompression,
    /// Declared uncompressed size.
    pub uncompressed_size: u64,
    /// The compressed payload.
    pub payload: Bytes,
    /// Offset of the payload in the event.
    payload_offset: u64,
}

impl TransactionPayloadEvent {
    /// Decodes the body.
    ///
    /// # Errors
    /// Truncated or malformed fields; an unknown compression type.
    pub fn decode(r: &mut Reader) -> DecodeResult<Self> {
        let mut compression = None;
        let mut size = None;
        let mut uncompressed_size = 0;
        loop {
            let at = r.offset();
            let field = r.try_lenenc("payload.field_type")?;
            if field == 0 {
                break;
            }
            let len = r.try_lenenc_len("payload.field_length")?;
            let mut f = r.try_sub(len, "payload.field")?;
            match field {
                1 => size = Some(f.try_lenenc("payload.size")?),
                2 => {
                    compression = Some(match f.try_lenenc("payload.compression_type")? {
                        0 => PayloadCompression::Zstd,
                        255 => PayloadCompression::None,
                        _ => {
                            return Err(DecodeError::new(
                                DecodeErrorKind::Unsupported("compression type"),
                                "payload.compression_type",
                                at,
                            ));
                        }
                    });
                }
                3 => uncompressed_size = f.try_lenenc("payload.uncompressed_size")?,
                _ => {}
            }
        }
        let payload_offset = r.offset();
        let payload = r.rest();
        if let Some(size) = size
            && size != payload.len() as u64
        {
            {
                return Err(DecodeError::invalid(
                    "payload.size",
                    payload_offset,
                    "declared payload size differs from the event",
                ));
            }
        }
        let compression = compression.ok_or_else(|| {
            DecodeError::invalid("payload.compression_type", payload_offset, "missing")
        })?;
        Ok(Self {
            compression,
            uncompressed_size,
            payload,
            payload_offset,
        })
    }

    /// The inner events, decompressed incrementally: each item is one raw event (header and
    /// body, no checksum). At most `max_total` uncompressed bytes are produced, and no inner
    /// event larger than `max_event` is buffered, so a huge transaction is never held whole.
    ///
    /// # Errors
    /// Items are errors for corrupt compressed data, truncated inner events or a cap reached.
    #[must_use]
    pub fn events(&self, max_total: u64, max_event: usize) -> PayloadEvents {
        let reader: Box<dyn Read + Send> = match self.compression {
            PayloadCompression::None => Box::new(self.payload.clone().reader()),
            PayloadCompression::Zstd => {
                match zstd::stream::read::Decoder::new(self.payload.clone().reader()) {
                    Ok(d) => Box::new(d),
                    Err(_) => Box::new(std::io::empty()),
                }
            }
        };
        PayloadEvents {
            reader,
            produced: 0,
            max_total,
            max_event,
            done: false,
            base: self.payload_offset,
        }
    }
}

/// Iterator over the inner events of a [`TransactionPayloadEvent`].
pub struct PayloadEvents {
    reader: Box<dyn Read + Send>,
    produced: u64,
    max_total: u64,
    max_event: usize,
    done: bool,
    base: u64,
}

impl std::fmt::Debug for PayloadEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadEvents")
            .field("produced", &self.produced)
            .finish_non_exhaustive()
    }
}

impl PayloadEvents {
    fn read_exact_or_eof(&mut self, buf: &mut [u8]) -> DecodeResult<bool> {
        let mut filled = 0usize;
        while filled < buf.len() {
            let n = self
                .reader
                .read(buf.get_mut(filled..).unwrap_or_default())
                .map_err(|_| {
                    DecodeError::invalid("payload.data", self.base, "corrupt zstd data")
                })?;
            if n == 0 {
                if filled == 0 {
                    return Ok(false);
                }
                return Err(DecodeError::truncated(
                    "payload.inner_event",
                    self.produced,
                    buf.len() as u64,
                    filled as u64,
                ));
            }
            filled = filled.saturating_add(n);
        }
        Ok(true)
    }

    fn next_event(&mut self) -> DecodeResult<Option<Bytes>> {
        let mut head = [0u8; HEADER_LEN];
        if !self.read_exact_or_eof(&mut head)? {
            return Ok(None);
        }
        let header = EventHeader::parse(&head).map_err(|e| e.shifted(self.produced))?;
        let size = header.event_size as usize;
        if size > self.max_event {
            return Err(DecodeError::new(
                DecodeErrorKind::TooLarge {
                    len: size as u64,
                    limit: self.max_event as u64,
                },
                "payload.inner_event",
                self.produced,
            ));
        }
        let total = self.produced.saturating_add(size as u64);
        if total > self.max_total {
            return Err(DecodeError::new(
                DecodeErrorKind::TooLarge {
                    len: total,
                    limit: self.max_total,
                },
                "payload.uncompressed",
                self.produced,
            ));
        }
        // Grow with the data actually decompressed, never by the declared size alone.
        let mut event = Vec::with_capacity(size.min(1 << 20));
        event.extend_from_slice(&head);
        let body_len = size.saturating_sub(HEADER_LEN) as u64;
        let got = (&mut self.reader)
            .take(body_len)
            .read_to_end(&mut event)
            .map_err(|_| DecodeError::invalid("payload.data", self.base, "corrupt zstd data"))?;
        if (got as u64) < body_len {
            return Err(DecodeError::truncated(
                "payload.inner_event",
                self.produced,
                size as u64,
                HEADER_LEN.saturating_add(got) as u64,
            ));
        }
        self.produced = total;
        Ok(Some(Bytes::from(event)))
    }
}

impl Iterator for PayloadEvents {
    type Item = DecodeResult<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_event() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
