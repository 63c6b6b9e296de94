//! The Kafka message key of a record, and the key text the hash-of-primary-key partition policy
//! hashes: see [`key_text`].

use std::fmt::{self, Write as _};

use bytes::{BufMut, BytesMut};
use dts_core::{ChangeEvent, ColumnDef, ColumnType, Operation, TableSchema, Value};

use crate::encode::variant_name;
use crate::error::{Error, Result};
use crate::wire::Decimal20;

/// The key text of a row event: its row key values in canonical text form, escaped and joined
/// by `,`. This is the text the hash-of-primary-key partition policy hashes (Java
/// `String.hashCode`), and the part after `:` of the message key.
///
/// `None` for events that are not row events and for tables without a primary or unique key.
///
/// # Message key
///
/// - Row records (INIT, INSERT, UPDATE, DELETE) of a table with a row key
///   ([`TableSchema::row_key`]: the primary key, else a unique key):
///   `<objectName>:<k1>,<k2>,…`.
/// - Other row records and DDL: `<objectName>` (`db.table`, or `db` for DDL).
/// - BEGIN, COMMIT, HEARTBEAT: no key.
///
/// `<objectName>` is the record's `objectName` (a `.` inside a name written `\u002E`). The key
/// values `<k1>,<k2>…` come from the after image (the before image for DELETE),
/// in key order, each in the canonical text form below with `,`, `:` and `\` escaped by a `\`.
/// The text is UTF-8 and, within one table, different keys always give different texts (so
/// log compaction never merges two rows).
///
/// | value | text (before escaping) |
/// |---|---|
/// | integers, BIT, YEAR | decimal: `-5`, `18446744073709551615` |
/// | DECIMAL | its exact text: `-12.340` |
/// | FLOAT, DOUBLE | shortest round-trip decimal (`1.5`, `0.1`), no exponent |
/// | DATE | `2024-02-29` |
/// | TIME | `-838:59:59`, `12:00:00.5` (fraction with the column's fsp digits; 6 when unknown) |
/// | DATETIME | `2024-02-29 12:00:00.123456` |
/// | TIMESTAMP | the UTC date and time, same form (the zero timestamp: `0000-00-00 00:00:00`) |
/// | CHAR, VARCHAR, TEXT, JSON | the bytes as text; a byte that is not UTF-8 is written `\xHH` |
/// | BINARY, VARBINARY, BLOB, GEOMETRY, VECTOR | lowercase hex of the bytes |
/// | ENUM | the label (index 0: the empty string) |
/// | SET | the labels joined by `,` (so escaped: `a\,b`) |
/// | NULL (a nullable unique key) | `\N` |
///
/// For example, a row `(id=7, region='eu:west')` of `shop.orders` with primary key
/// `(region, id)` has the key text `eu\:west,7` and the message key `shop.orders:eu\:west,7`.
///
/// An UPDATE that changes the key is keyed by its new key (its after image); a compacted topic
/// keeps the last record of the old key too.
///
/// # Errors
/// When the event's image is missing or too short for the key, or an ENUM/SET key value has no
/// label.
///
/// # Examples
///
/// ```
/// # use std::sync::Arc;
/// # use dts_core::{ChangeEvent, ColumnDef, ColumnType, KeyDef, TableId, TableSchema, Value};
/// let table = Arc::new(TableSchema::new(
///     TableId::new("shop", "orders"),
///     vec![ColumnDef::new("id", ColumnType::Int), ColumnDef::new("n", ColumnType::Int)],
///     Some(KeyDef { name: "PRIMARY".into(), columns: vec![0] }),
///     vec![],
/// )?);
/// let ev = ChangeEvent::insert(table, vec![Value::Int(7), Value::Int(1)]);
/// assert_eq!(dts_avro::key_text(&ev)?.as_deref(), Some("7"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn key_text(event: &ChangeEvent) -> Result<Option<String>> {
    let mut out = BytesMut::new();
    if !write_key_text(event, &mut out)? {
        return Ok(None);
    }
    // Built only from UTF-8 text (invalid bytes are escaped as `\xHH`).
    Ok(Some(String::from_utf8_lossy(&out).into_owned()))
}

/// Appends the key text of a row event to `out` (see [`key_text`]), without allocating
/// beyond `out`'s growth. Returns `false`, leaving `out` unchanged, when the event has no key
/// text.
///
/// # Errors
/// As [`key_text`]; `out` is left unchanged on error.
pub fn write_key_text(event: &ChangeEvent, out: &mut BytesMut) -> Result<bool> {
    let Some(table) = event.table.as_deref() else {
        return Ok(false);
    };
    let (row, image) = match event.op {
        Operation::Delete => (event.before.as_deref(), "before"),
        Operation::Init | Operation::Insert | Operation::Update => {
            (event.after.as_deref(), "after")
        }
        _ => return Ok(false),
    };
    let Some(key) = table.row_key() else {
        return Ok(false);
    };
    let row = row.ok_or_else(|| Error::MissingImage {
        op: op_name(event.op),
        table: table.id().to_string(),
        image,
    })?;
    let start = out.len();
    let result = write_key_values(table, &key.columns, row, image, out);
    if result.is_err() {
        out.truncate(start);
    }
    result.map(|()| true)
}

/// Appends the key text of `row`, an image of a row of `table` (see [`key_text`]). Returns
/// `false`, leaving `out` unchanged, when the table has no key.
///
/// # Errors
/// As [`key_text`]; `out` is left unchanged on error.
pub fn write_row_key_text(table: &TableSchema, row: &[Value], out: &mut BytesMut) -> Result<bool> {
    let Some(key) = table.row_key() else {
        return Ok(false);
    };
    let start = out.len();
    let result = write_key_values(table, &key.columns, row, "before", out);
    if result.is_err() {
        out.truncate(start);
    }
    result.map(|()| true)
}

fn op_name(op: Operation) -> &'static str {
    match op {
        Operation::Init => "INIT",
        Operation::Insert => "INSERT",
        Operation::Update => "UPDATE",
        _ => "DELETE",
    }
}

fn write_key_values(
    table: &TableSchema,
    columns: &[usize],
    row: &[Value],
    image: &'static str,
    out: &mut BytesMut,
) -> Result<()> {
    for (n, &i) in columns.iter().enumerate() {
        let (Some(column), Some(value)) = (table.columns().get(i), row.get(i)) else {
            return Err(Error::RowLength {
                table: table.id().to_string(),
                image,
                expected: table.columns().len(),
                actual: row.len(),
            });
        };
        if n > 0 {
            out.put_u8(b',');
        }
        write_value_text(table, column, value, out)?;
    }
    Ok(())
}

/// Writes text with `,`, `:` and `\` escaped.
struct Escaped<'a>(&'a mut BytesMut);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        put_escaped(self.0, s.as_bytes());
        Ok(())
    }
}

fn put_escaped(out: &mut BytesMut, s: &[u8]) {
    for &b in s {
        if matches!(b, b',' | b':' | b'\\') {
            out.put_u8(b'\\');
        }
        out.put_u8(b);
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn put_hex(out: &mut BytesMut, b: &[u8]) {
    for &x in b {
        out.put_u8(HEX[usize::from(x >> 4)]);
        out.put_u8(HEX[usize::from(x & 0xf)]);
    }
}

/// Text with every byte that is not part of valid UTF-8 written as `\xHH`.
fn put_text(out: &mut BytesMut, b: &[u8]) {
    for chunk in b.utf8_chunks() {
        put_escaped(out, chunk.valid().as_bytes());
        for &x in chunk.invalid() {
            out.put_slice(b"\\x");
            put_hex(out, &[x]);
        }
    }
}

fn is_binary(ty: ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::Binary
            | ColumnType::VarBinary
            | ColumnType::TinyBlob
            | ColumnType::Blob
            | ColumnType::MediumBlob
            | ColumnType::LongBlob
            | ColumnType::Geometry
            | ColumnType::Vector
    )
}

/// `.ffffff` cut to `fsp` digits (6 when the column does not say and there is a fraction).
fn fraction(w: &mut Escaped<'_>, micros: u32, fsp: Option<u8>) -> fmt::Result {
    let digits = fsp.map_or(if micros == 0 { 0 } else { 6 }, |f| f.min(6));
    if digits == 0 {
        return Ok(());
    }
    let scaled = micros / 10u32.pow(u32::from(6 - digits));
    write!(w, ".{scaled:0width$}", width = usize::from(digits))
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn write_value_text(
    table: &TableSchema,
    column: &ColumnDef,
    value: &Value,
    out: &mut BytesMut,
) -> Result<()> {
    let mismatch = || Error::ValueMismatch {
        table: table.id().to_string(),
        column: column.name.clone(),
        ty: column.ty,
        value: variant_name(value),
    };
    let unknown = |kind, value| Error::UnknownLabel {
        table: table.id().to_string(),
        column: column.name.clone(),
        kind,
        value,
        labels: column.labels.len(),
    };
    let mut w = Escaped(out);
    // fmt::Write into BytesMut cannot fail; `r` only carries the formatter's result.
    let r = match value {
        Value::Null => {
            w.0.put_slice(b"\\N");
            Ok(())
        }
        // Digits and `-` need no escaping: written directly (no formatter in the hot path).
        Value::Int(n) => {
            if *n < 0 {
                w.0.put_u8(b'-');
            }
            w.0.put_slice(Decimal20::new(n.unsigned_abs()).as_bytes());
            Ok(())
        }
        Value::UInt(n) | Value::Bit(n) => {
            w.0.put_slice(Decimal20::new(*n).as_bytes());
            Ok(())
        }
        Value::Year(y) => write!(w, "{y}"),
        Value::Float(f) => write!(w, "{f}"),
        Value::Double(f) => write!(w, "{f}"),
        Value::Decimal(d) => w.write_str(d.as_str()),
        Value::Date(d) => write!(w, "{:04}-{:02}-{:02}", d.year, d.month, d.day),
        Value::Time(t) => {
            let sign = if t.negative { "-" } else { "" };
            write!(w, "{sign}{:02}:{:02}:{:02}", t.hours, t.minutes, t.seconds)
                .and_then(|()| fraction(&mut w, t.micros, column.fsp))
        }
        Value::DateTime(dt) => write!(
            w,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            dt.date.year, dt.date.month, dt.date.day, dt.hour, dt.minute, dt.second
        )
        .and_then(|()| fraction(&mut w, dt.micros, column.fsp)),
        Value::Timestamp { secs, micros } => {
            let r = if *secs == 0 && *micros == 0 {
                w.write_str("0000-00-00 00:00:00")
            } else {
                let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
                let rem = secs % 86_400;
                let (y, m, d) = civil_from_days(days);
                write!(
                    w,
                    "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
                    rem / 3600,
                    rem % 3600 / 60,
                    rem % 60
                )
            };
            r.and_then(|()| fraction(&mut w, *micros, column.fsp))
        }
        Value::String(b)
        | Value::Bytes(b)
        | Value::Json(b)
        | Value::Geometry(b)
        | Value::Vector(b) => {
            if matches!(column.ty, ColumnType::Enum | ColumnType::Set) || !is_binary(column.ty) {
                put_text(w.0, b);
            } else {
                put_hex(w.0, b);
            }
            Ok(())
        }
        Value::Enum(i) => {
            let label = if *i == 0 {
                ""
            } else {
                column
                    .enum_label(*i)
                    .ok_or_else(|| unknown("ENUM", u64::from(*i)))?
            };
            w.write_str(label)
        }
        Value::Set(bits) => {
            let labels = &column.labels;
            if labels.len() < 64 && bits >> labels.len() != 0 {
                return Err(unknown("SET", *bits));
            }
            let chosen = labels
                .iter()
                .enumerate()
                .filter(|&(i, _)| i < 64 && bits & (1u64 << i) != 0);
            let mut r = Ok(());
            for (n, (_, l)) in chosen.enumerate() {
                if n > 0 {
                    r = r.and_then(|()| w.write_str(","));
                }
                r = r.and_then(|()| w.write_str(l));
            }
            r
        }
        _ => return Err(mismatch()),
    };
    // Writing to a BytesMut cannot fail.
    debug_assert!(r.is_ok());
    Ok(())
}

/// Appends the message key of `event` (see [`key_text`]) given its escaped
/// `objectName`; nothing when it has none.
pub(crate) fn write_message_key(
    event: &ChangeEvent,
    object_name: Option<&str>,
    out: &mut BytesMut,
) -> Result<()> {
    let Some(name) = object_name else {
        return Ok(());
    };
    let start = out.len();
    out.put_slice(name.as_bytes());
    out.put_u8(b':');
    match write_key_text(event, out) {
        Ok(true) => Ok(()),
        Ok(false) => {
            out.truncate(start + name.len());
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(2_932_896), (9999, 12, 31));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn integer_key_text_matches_decimal_formatting() {
        use dts_core::{KeyDef, TableId};
        let table = TableSchema::new(
            TableId::new("d", "t"),
            vec![
                ColumnDef::new("a", ColumnType::BigInt),
                ColumnDef::new("b", ColumnType::BigInt),
            ],
            Some(KeyDef {
                name: "PRIMARY".into(),
                columns: vec![0, 1],
            }),
            vec![],
        )
        .unwrap();
        for (a, b) in [
            (Value::Int(0), Value::UInt(0)),
            (Value::Int(-1), Value::UInt(u64::MAX)),
            (Value::Int(i64::MIN), Value::Bit(5)),
            (Value::Int(i64::MAX), Value::UInt(10)),
        ] {
            let expected = format!(
                "{},{}",
                match a {
                    Value::Int(n) => n.to_string(),
                    _ => unreachable!(),
                },
                match b {
                    Value::UInt(n) | Value::Bit(n) => n.to_string(),
                    _ => unreachable!(),
                }
            );
            let mut out = BytesMut::new();
            assert!(write_row_key_text(&table, &[a, b], &mut out).unwrap());
            assert_eq!(std::str::from_utf8(&out).unwrap(), expected);
        }
    }

    #[test]
    fn escaping_and_invalid_bytes() {
        let mut b = BytesMut::new();
        put_text(&mut b, b"a,b:c\\d\xffe");
        assert_eq!(&b[..], b"a\\,b\\:c\\\\d\\xffe");
    }
}
