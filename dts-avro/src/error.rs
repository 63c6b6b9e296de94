//! The error types of `dts-avro`: [`Error`] for encoding, [`DecodeError`] for reading.

use std::fmt;

use dts_core::ColumnType;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong encoding or decoding DTS Avro.
///
/// Encoding errors name the table and column (never the value of a text or binary column, which
/// may be sensitive); they mean the event cannot be written faithfully, so nothing is written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A row event has no table definition.
    #[error("{op} event has no table definition")]
    MissingTable {
        /// The operation (`INSERT`, ...).
        op: &'static str,
    },
    /// A row event lacks the image its operation needs (e.g. an UPDATE without a before image).
    #[error("{op} event on {table} has no {image} image")]
    MissingImage {
        /// The operation.
        op: &'static str,
        /// `db.table`.
        table: String,
        /// `before` or `after`.
        image: &'static str,
    },
    /// A DDL event has no statement.
    #[error("DDL event has no statement")]
    MissingDdl,
    /// A row image does not have one value per column.
    #[error("{image} image of {table} has {actual} values but the table has {expected} columns")]
    RowLength {
        /// `db.table`.
        table: String,
        /// `before` or `after`.
        image: &'static str,
        /// The number of columns of the table.
        expected: usize,
        /// The number of values in the image.
        actual: usize,
    },
    /// A value's variant does not fit its column's type (e.g. a date in an INT column).
    #[error("column {column} of {table} is {ty:?} but holds a {value} value")]
    ValueMismatch {
        /// `db.table`.
        table: String,
        /// The column name.
        column: String,
        /// The column's type.
        ty: ColumnType,
        /// The value's variant (`Int`, `Date`, ...).
        value: &'static str,
    },
    /// A column type this codec has no DTS Avro form for (a type added to `ColumnType` later).
    #[error("column {column} of {table} is {ty:?}, which has no DTS Avro form")]
    UnsupportedColumnType {
        /// `db.table`.
        table: String,
        /// The column name.
        column: String,
        /// The column's type.
        ty: ColumnType,
    },
    /// An ENUM index or SET bit has no label in the column definition.
    #[error(
        "column {column} of {table}: {kind} value {value} has no label (the column has {labels} labels)"
    )]
    UnknownLabel {
        /// `db.table`.
        table: String,
        /// The column name.
        column: String,
        /// `ENUM` (value = 1-based index) or `SET` (value = the bits).
        kind: &'static str,
        /// The index or bits.
        value: u64,
        /// How many labels the column has.
        labels: usize,
    },
    /// A text column has no character set in its definition.
    #[error("column {column} of {table} is {ty:?} but its definition has no charset")]
    MissingCharset {
        /// `db.table`.
        table: String,
        /// The column name.
        column: String,
        /// The column's type.
        ty: ColumnType,
    },
    /// A value that must be UTF-8 text (JSON) is not.
    #[error("column {column} of {table}: {what} is not valid UTF-8")]
    InvalidUtf8 {
        /// `db.table`.
        table: String,
        /// The column name.
        column: String,
        /// What was checked.
        what: &'static str,
    },
    /// A GEOMETRY value is shorter than MySQL's 4-byte SRID prefix.
    #[error("column {column} of {table}: GEOMETRY value of {len} bytes has no SRID prefix")]
    InvalidGeometry {
        /// `db.table`.
        table: String,
        /// The column name.
        column: String,
        /// The value's length.
        len: usize,
    },
    /// A number does not fit the Avro field it goes to (e.g. a record id above `i64::MAX`).
    #[error("{what} {value} does not fit its Avro field")]
    OutOfRange {
        /// Which field or attribute.
        what: &'static str,
        /// The value.
        value: u64,
    },
    /// A column attribute (BIT length, DECIMAL precision, ...) does not fit its Avro `int`.
    #[error("column {column} of {table}: {what} {value} does not fit an Avro int")]
    ColumnAttribute {
        /// `db.table`.
        table: String,
        /// The column name.
        column: String,
        /// Which attribute.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// The event's operation has no DTS Avro form.
    #[error("operation {0} has no DTS Avro form")]
    UnsupportedOperation(String),
    /// A message value could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// Why a message value is not a valid DTS Avro `Record`: what was read, where, and what was
/// wrong.
///
/// Cheap to create and `Copy`: decoding untrusted input never allocates for an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    what: &'static str,
    offset: usize,
    kind: DecodeErrorKind,
}

/// What was wrong with the input, for [`DecodeError::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended in the middle of a value.
    Truncated,
    /// A variable-length integer is longer than 10 bytes or overflows 64 bits.
    BadVarint,
    /// A number does not fit its type (an `int` above 32 bits, a negative length).
    OutOfRange(i64),
    /// A length is larger than the bytes that remain.
    LengthTooLarge(u64),
    /// A string is not UTF-8.
    InvalidUtf8,
    /// A union branch index the schema does not have.
    BadUnionBranch(i64),
    /// An enum ordinal the schema does not have.
    BadEnumSymbol(i64),
    /// Bytes remain after `bornTimestamp`.
    TrailingBytes(usize),
}

impl DecodeError {
    pub(crate) fn new(what: &'static str, offset: usize, kind: DecodeErrorKind) -> Self {
        Self { what, offset, kind }
    }

    /// The field being read, as the schema names it (`"sourcePosition"`, `"afterImages"`,
    /// `"Integer.value"`).
    #[must_use]
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// Byte offset in the message value where the bad item starts.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What was wrong.
    #[must_use]
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid DTS Avro record: {} at byte {}: ",
            self.what, self.offset
        )?;
        match self.kind {
            DecodeErrorKind::Truncated => f.write_str("input ends early"),
            DecodeErrorKind::BadVarint => f.write_str("variable-length integer is too long"),
            DecodeErrorKind::OutOfRange(n) => write!(f, "{n} is out of range"),
            DecodeErrorKind::LengthTooLarge(n) => {
                write!(f, "length {n} exceeds the remaining input")
            }
            DecodeErrorKind::InvalidUtf8 => f.write_str("string is not UTF-8"),
            DecodeErrorKind::BadUnionBranch(n) => write!(f, "union branch {n} does not exist"),
            DecodeErrorKind::BadEnumSymbol(n) => write!(f, "enum ordinal {n} does not exist"),
            DecodeErrorKind::TrailingBytes(n) => {
                write!(f, "{n} bytes remain after the record")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_say_what_where_and_why() {
        let e = DecodeError::new("sourcePosition", 17, DecodeErrorKind::LengthTooLarge(99));
        assert_eq!(
            e.to_string(),
            "invalid DTS Avro record: sourcePosition at byte 17: length 99 exceeds the remaining input"
        );
        let wrapped = Error::from(e);
        assert_eq!(wrapped.to_string(), e.to_string());
        assert!(std::mem::size_of::<DecodeError>() <= 40);
    }
}
