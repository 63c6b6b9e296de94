//! [`DecodeError`]: cheap, `Copy`, with context (event type, field, byte offset).

use std::fmt;

use super::header::EventType;

/// What went wrong while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the field did: `needed` bytes, `available` left.
    Truncated {
        /// Bytes the field needs.
        needed: u64,
        /// Bytes left in the input.
        available: u64,
    },
    /// A value is outside what the format allows.
    Invalid(&'static str),
    /// The checksum does not match.
    Checksum {
        /// CRC32 stored in the event.
        stored: u32,
        /// CRC32 computed over the event.
        computed: u32,
    },
    /// A length or count exceeds the configured limit.
    TooLarge {
        /// The length found.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// A feature this decoder does not handle (a column type from before MySQL 5.0, ...).
    Unsupported(&'static str),
}

/// A decoding failure: what went wrong, in which event and field, at which byte offset.
///
/// The offset is relative to the start of the event (header included) when the event is
/// known, else to the start of the input; [`with_base`](Self::with_base) moves it to a file
/// offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
    what: &'static str,
    offset: u64,
    event: Option<EventType>,
    base: Option<u64>,
}

impl DecodeError {
    pub(crate) fn new(kind: DecodeErrorKind, what: &'static str, offset: u64) -> Self {
        Self {
            kind,
            what,
            offset,
            event: None,
            base: None,
        }
    }

    pub(crate) fn truncated(what: &'static str, offset: u64, needed: u64, available: u64) -> Self {
        Self::new(
            DecodeErrorKind::Truncated { needed, available },
            what,
            offset,
        )
    }

    pub(crate) fn invalid(what: &'static str, offset: u64, why: &'static str) -> Self {
        Self::new(DecodeErrorKind::Invalid(why), what, offset)
    }

    /// Sets the event this error happened in (kept if already set).
    #[must_use]
    pub fn in_event(mut self, event: EventType) -> Self {
        self.event.get_or_insert(event);
        self
    }

    /// Records the file (or stream) offset of the event, so that [`Display`](fmt::Display)
    /// names the absolute position too.
    #[must_use]
    pub fn with_base(mut self, base: u64) -> Self {
        self.base.get_or_insert(base);
        self
    }

    /// Shifts the offset (when a sub-decoder started inside a larger buffer).
    #[must_use]
    pub(crate) fn shifted(mut self, by: u64) -> Self {
        self.offset = self.offset.saturating_add(by);
        self
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// The field being decoded.
    #[must_use]
    pub fn field(&self) -> &'static str {
        self.what
    }

    /// Byte offset within the event (or input).
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The event type, when known.
    #[must_use]
    pub fn event(&self) -> Option<EventType> {
        self.event
    }

    /// The absolute offset of the event start, when known.
    #[must_use]
    pub fn event_position(&self) -> Option<u64> {
        self.base
    }

    /// `true` when more input would have helped (the error is a truncation).
    #[must_use]
    pub fn is_truncated(&self) -> bool {
        matches!(self.kind, DecodeErrorKind::Truncated { .. })
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DecodeErrorKind::Truncated { needed, available } => {
                write!(
                    f,
                    "truncated {}: needs {needed} bytes, {available} left",
                    self.what
                )?;
            }
            DecodeErrorKind::Invalid(why) => write!(f, "invalid {}: {why}", self.what)?,
            DecodeErrorKind::Checksum { stored, computed } => write!(
                f,
                "checksum mismatch: event says CRC32 {stored:#010x}, computed {computed:#010x}"
            )?,
            DecodeErrorKind::TooLarge { len, limit } => {
                write!(
                    f,
                    "{} of {len} bytes exceeds the limit of {limit}",
                    self.what
                )?;
            }
            DecodeErrorKind::Unsupported(what) => {
                write!(f, "unsupported {}: {what}", self.what)?;
            }
        }
        if let Some(event) = self.event {
            write!(f, " in {event} event")?;
        }
        match self.base {
            Some(base) => write!(
                f,
                " at byte {} of the event starting at {base} (absolute {})",
                self.offset,
                base.saturating_add(self.offset)
            ),
            None => write!(f, " at byte {}", self.offset),
        }
    }
}

impl std::error::Error for DecodeError {}

/// `Result` of decoding.
pub type DecodeResult<T> = Result<T, DecodeError>;
