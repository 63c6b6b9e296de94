//! [`Value`]: one MySQL column value, without loss.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A calendar date as MySQL stores it: zero parts are allowed (`0000-00-00`, `2024-00-00`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Date {
    /// 0..=9999.
    pub year: u16,
    /// 0..=12 (0 in zero dates).
    pub month: u8,
    /// 0..=31 (0 in zero dates).
    pub day: u8,
}

/// A `TIME` value: a signed duration from `-838:59:59.000000` to `838:59:59.000000`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Time {
    /// The sign: `true` for negative durations.
    pub negative: bool,
    /// Hours, 0..=838.
    pub hours: u16,
    /// 0..=59.
    pub minutes: u8,
    /// 0..=59.
    pub seconds: u8,
    /// 0..=999_999.
    pub micros: u32,
}

/// A `DATETIME` value (no time zone), zero parts allowed.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct DateTime {
    /// The date part.
    pub date: Date,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
    /// 0..=999_999.
    pub micros: u32,
}

/// An exact decimal number as text: an optional `-`, digits, and an optional `.` with digits,
/// exactly as many fraction digits as the column's scale (`-12.340`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decimal(Bytes);

impl Decimal {
    /// Wraps decimal text, checking its shape.
    ///
    /// # Errors
    /// Returns the input back when it is not `-?[0-9]+(\.[0-9]+)?`.
    pub fn from_text(text: Bytes) -> Result<Self, Bytes> {
        let digits = text.strip_prefix(b"-").unwrap_or(&text);
        let (int, frac) = match digits.iter().position(|&b| b == b'.') {
            Some(dot) => digits.split_at(dot),
            None => (digits, &b""[..]),
        };
        let frac = frac.strip_prefix(b".");
        let ok = !int.is_empty()
            && int.iter().all(u8::is_ascii_digit)
            && frac.is_none_or(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit));
        if ok { Ok(Self(text)) } else { Err(text) }
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Checked to be ASCII in `from_text`.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The text as bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({})", self.as_str())
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One column value, in the form MySQL stores it, with nothing lost.
///
/// Interpretation needs the column's [`ColumnDef`](crate::ColumnDef): the charset of
/// [`Value::String`], the labels of [`Value::Enum`] and [`Value::Set`], the fsp of temporal
/// values. Byte-carrying variants are [`Bytes`], usually zero-copy views of the event buffer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A signed integer (TINYINT..BIGINT without `UNSIGNED`).
    Int(i64),
    /// An unsigned integer (TINYINT..BIGINT `UNSIGNED`).
    UInt(u64),
    /// `FLOAT`, exactly as stored (4-byte IEEE).
    Float(f32),
    /// `DOUBLE`.
    Double(f64),
    /// `DECIMAL`, exact.
    Decimal(Decimal),
    /// `BIT(M)`: the bits, right-aligned.
    Bit(u64),
    /// `YEAR` (0 for the zero year, else 1901..=2155).
    Year(u16),
    /// `DATE`.
    Date(Date),
    /// `TIME`.
    Time(Time),
    /// `DATETIME`.
    DateTime(DateTime),
    /// `TIMESTAMP`: UTC seconds since the epoch and microseconds (0,0 is the zero timestamp).
    Timestamp {
        /// Seconds since 1970-01-01 UTC.
        secs: u64,
        /// 0..=999_999.
        micros: u32,
    },
    /// Text (CHAR, VARCHAR, TEXT family): raw bytes in the column's charset.
    String(Bytes),
    /// Binary data (BINARY, VARBINARY, BLOB family).
    Bytes(Bytes),
    /// `ENUM`: the 1-based index of the label (0 is MySQL's empty error value).
    Enum(u16),
    /// `SET`: one bit per label, bit 0 = the first label.
    Set(u64),
    /// `JSON` as UTF-8 JSON text.
    Json(Bytes),
    /// `GEOMETRY`: MySQL's internal form, a 4-byte little-endian SRID then WKB.
    Geometry(Bytes),
    /// `VECTOR`: little-endian IEEE floats.
    Vector(Bytes),
}

impl Value {
    /// `true` for SQL `NULL`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Approximate size in bytes of the value's payload, for throttles and memory accounting.
    #[must_use]
    pub fn payload_len(&self) -> usize {
        match self {
            Value::Decimal(d) => d.as_bytes().len(),
            Value::String(b)
            | Value::Bytes(b)
            | Value::Json(b)
            | Value::Geometry(b)
            | Value::Vector(b) => b.len(),
            _ => 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_shape_is_checked() {
        for ok in ["0", "-12.340", "123456789012345678901234567890.5"] {
            assert_eq!(Decimal::from_text(Bytes::from(ok)).unwrap().as_str(), ok);
        }
        for bad in ["", "-", "1.", ".5", "1e5", "--1", "1.2.3", " 1"] {
            assert!(Decimal::from_text(Bytes::from(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn value_stays_small() {
        // Rows hold many values: keep the enum at Bytes + tag.
        assert!(
            std::mem::size_of::<Value>() <= 40,
            "{}",
            std::mem::size_of::<Value>()
        );
    }
}
