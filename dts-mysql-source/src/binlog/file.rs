//! Binlog files (`\xfebin` then events) and framing of event streams.

use bytes::{Bytes, BytesMut};

use super::error::{DecodeError, DecodeResult};
use super::event::{DecodedEvent, EventDecoder};
use super::header::{EventHeader, HEADER_LEN};

/// The 4 bytes every binlog file starts with.
pub const MAGIC: [u8; 4] = [0xfe, b'b', b'i', b'n'];

/// What [`Framer::next_event`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete event, with its start offset.
    Event {
        /// Offset of the event in the input.
        offset: u64,
        /// The raw event.
        bytes: Bytes,
    },
    /// More input is needed (not an error: a stream may still be arriving).
    Partial {
        /// Bytes buffered.
        have: usize,
        /// Bytes the next event needs in all (known once its header arrived).
        need: Option<usize>,
    },
}

/// Splits a byte stream into events by their `event_size`, without decoding them.
#[derive(Debug, Default)]
pub struct Framer {
    buf: BytesMut,
    offset: u64,
    max_event_size: Option<usize>,
}

impl Framer {
    /// A framer whose first byte is at `offset` (4 after a file's magic).
    #[must_use]
    pub fn new(offset: u64, max_event_size: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            offset,
            max_event_size: Some(max_event_size),
        }
    }

    /// Appends input.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered but not yet returned.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Offset of the next event.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next complete event, or what is missing.
    ///
    /// # Errors
    /// A header whose size is below 19 bytes or above the limit (the stream is corrupt and
    /// cannot be re-synchronised).
    pub fn next_event(&mut self) -> DecodeResult<Frame> {
        if self.buf.len() < HEADER_LEN {
            return Ok(Frame::Partial {
                have: self.buf.len(),
                need: None,
            });
        }
        let header = EventHeader::parse(&self.buf).map_err(|e| e.with_base(self.offset))?;
        let size = header.event_size as usize;
        if let Some(max) = self.max_event_size
            && size > max
        {
            {
                return Err(DecodeError::new(
                    super::error::DecodeErrorKind::TooLarge {
                        len: size as u64,
                        limit: max as u64,
                    },
                    "header.event_size",
                    9,
                )
                .in_event(header.event_type)
                .with_base(self.offset));
            }
        }
        if self.buf.len() < size {
            return Ok(Frame::Partial {
                have: self.buf.len(),
                need: Some(size),
            });
        }
        let bytes = self.buf.split_to(size).freeze();
        let offset = self.offset;
        self.offset = self.offset.saturating_add(size as u64);
        Ok(Frame::Event { offset, bytes })
    }
}

/// Reads every event of a binlog file held in memory.
#[derive(Debug)]
pub struct BinlogFile {
    data: Bytes,
    pos: usize,
    decoder: EventDecoder,
    failed: bool,
}

impl BinlogFile {
    /// Checks the magic and prepares to read events.
    ///
    /// # Errors
    /// The input does not start with `\xfebin`.
    pub fn new(data: Bytes, decoder: EventDecoder) -> DecodeResult<Self> {
        match data.get(..4) {
            Some(m) if m == MAGIC => Ok(Self {
                data,
                pos: 4,
                decoder,
                failed: false,
            }),
            Some(_) => Err(DecodeError::invalid(
                "magic",
                0,
                "not a binlog file (expected \\xfebin)",
            )),
            None => Err(DecodeError::truncated("magic", 0, 4, data.len() as u64)),
        }
    }

    /// The decoder (format and table maps in force).
    #[must_use]
    pub fn decoder(&mut self) -> &mut EventDecoder {
        &mut self.decoder
    }

    /// Offset of the next event.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.pos as u64
    }

    /// The next event with its file offset; `None` at the end of the file.
    ///
    /// # Errors
    /// A truncated last event (the file ends inside it), or any decoding error; after an
    /// error the iteration stops.
    pub fn next_event(&mut self) -> Option<DecodeResult<(u64, DecodedEvent)>> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let offset = self.pos as u64;
        let result = self.read_one(offset);
        if result.is_err() {
            self.failed = true;
        }
        Some(result.map_err(|e| e.with_base(offset)))
    }

    fn read_one(&mut self, offset: u64) -> DecodeResult<(u64, DecodedEvent)> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let header = EventHeader::parse(rest)?;
        let size = header.event_size as usize;
        if rest.len() < size {
            return Err(
                DecodeError::truncated("event", 0, size as u64, rest.len() as u64)
                    .in_event(header.event_type),
            );
        }
        let raw = self.data.slice(self.pos..self.pos.saturating_add(size));
        self.pos = self.pos.saturating_add(size);
        let ev = self.decoder.decode(&raw)?;
        Ok((offset, ev))
    }
}

impl Iterator for BinlogFile {
    type Item = DecodeResult<(u64, DecodedEvent)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event()
    }
}

/// Reads a whole file from disk and opens it.
///
/// # Errors
/// I/O errors (as `std::io::Error`), or a bad magic (as a decode error inside).
pub fn open(
    path: &std::path::Path,
    decoder: EventDecoder,
) -> std::io::Result<DecodeResult<BinlogFile>> {
    let data = std::fs::read(path)?;
    Ok(BinlogFile::new(Bytes::from(data), decoder))
}
