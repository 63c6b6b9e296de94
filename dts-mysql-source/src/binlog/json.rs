//! MySQL binary JSON → JSON text, formatted as MySQL prints it (`{"a": 1, "b": [true, null]}`).
//!
//! | type | value |
//! |---|---|
//! | 0x00 / 0x01 | small / large object: count, size, key entries (offset, u16 length), value entries, keys, values |
//! | 0x02 / 0x03 | small / large array: count, size, value entries, values |
//! | 0x04 | literal: 0 null, 1 true, 2 false |
//! | 0x05–0x0a | int16, uint16, int32, uint32, int64, uint64 |
//! | 0x0b | double |
//! | 0x0c | string: variable-length size, UTF-8 |
//! | 0x0f | opaque: MySQL field type, variable-length size, data |
//!
//! Offsets and counts are 2 bytes in the small forms, 4 in the large; literal, int16 and uint16
//! values (and int32/uint32 in the large forms) are inlined in their value entry.
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/json__binary_8h.html>
// Offsets are bounded by the (checked) document length; arithmetic on them cannot overflow.
#![allow(clippy::arithmetic_side_effects)]

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};

use super::decimal;
use super::error::{DecodeError, DecodeResult};
use super::time;

/// Deepest nesting accepted (MySQL's own limit is 100).
pub const MAX_DEPTH: usize = 150;

struct Doc<'a> {
    data: &'a [u8],
    /// Offset of `data` in the event, for errors.
    base: u64,
}

impl Doc<'_> {
    fn err(&self, at: usize, why: &'static str) -> DecodeError {
        DecodeError::invalid("json", self.base + at as u64, why)
    }

    fn slice(&self, at: usize, len: usize) -> DecodeResult<&[u8]> {
        at.checked_add(len)
            .and_then(|end| self.data.get(at..end))
            .ok_or_else(|| {
                DecodeError::truncated(
                    "json",
                    self.base + at as u64,
                    len as u64,
                    self.data.len().saturating_sub(at) as u64,
                )
            })
    }

    fn uint(&self, at: usize, len: usize) -> DecodeResult<u64> {
        let s = self.slice(at, len)?;
        Ok(s.iter().rev().fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
    }

    fn array<const N: usize>(&self, at: usize) -> DecodeResult<[u8; N]> {
        self.slice(at, N)?
            .try_into()
            .map_err(|_| self.err(at, "short value"))
    }

    fn u8(&self, at: usize) -> DecodeResult<u8> {
        self.slice(at, 1)?
            .first()
            .copied()
            .ok_or_else(|| self.err(at, "empty"))
    }
}

/// Converts a binary JSON document into text appended to `out`.
///
/// An empty document (a JSON column set to `''` by a non-strict server, or NULL handled by the
/// caller) becomes `null`, as MySQL's own decoder prints it.
///
/// # Errors
/// Truncated or malformed documents, nesting deeper than [`MAX_DEPTH`].
pub fn to_text(data: &[u8], out: &mut BytesMut, base: u64) -> DecodeResult<()> {
    if data.is_empty() {
        out.put_slice(b"null");
        return Ok(());
    }
    let doc = Doc { data, base };
    let ty = doc.u8(0)?;
    write_value(&doc, ty, 1, data.len(), out, 0)
}

/// Writes the value of type `ty` whose bytes start at `at` (within a container ending at `end`).
fn write_value(
    doc: &Doc<'_>,
    ty: u8,
    at: usize,
    end: usize,
    out: &mut BytesMut,
    depth: usize,
) -> DecodeResult<()> {
    if depth > MAX_DEPTH {
        return Err(doc.err(at, "nested deeper than 150 levels"));
    }
    match ty {
        0x00 => write_container(doc, at, end, false, true, out, depth),
        0x01 => write_container(doc, at, end, true, true, out, depth),
        0x02 => write_container(doc, at, end, false, false, out, depth),
        0x03 => write_container(doc, at, end, true, false, out, depth),
        0x04 => write_literal(doc, doc.u8(at)?, at, out),
        0x05 => write_num(out, i16::from_le_bytes(doc.array(at)?)),
        0x06 => write_num(out, doc.uint(at, 2)?),
        0x07 => write_num(out, i32::from_le_bytes(doc.array(at)?)),
        0x08 => write_num(out, doc.uint(at, 4)?),
        0x09 => write_num(out, i64::from_le_bytes(doc.array(at)?)),
        0x0a => write_num(out, doc.uint(at, 8)?),
        0x0b => {
            let v = f64::from_bits(doc.uint(at, 8)?);
            write_double(out, v);
            Ok(())
        }
        0x0c => {
            let (len, n) = read_varlen(doc, at)?;
            let s = doc.slice(at + n, len)?;
            let s = std::str::from_utf8(s).map_err(|_| doc.err(at, "string is not UTF-8"))?;
            write_string(out, s);
            Ok(())
        }
        0x0f => write_opaque(doc, at, out),
        _ => Err(doc.err(at, "unknown value type")),
    }
}

/// Appends formatted text (writing to a `BytesMut` cannot fail).
fn put_fmt(out: &mut BytesMut, args: std::fmt::Arguments<'_>) {
    if out.write_fmt(args).is_err() {
        out.put_slice(b"?");
    }
}

fn write_num<T: std::fmt::Display>(out: &mut BytesMut, v: T) -> DecodeResult<()> {
    put_fmt(out, format_args!("{v}"));
    Ok(())
}

/// Shortest round-trip form, with `.0` on integral values as MySQL prints doubles.
fn write_double(out: &mut BytesMut, v: f64) {
    if v.is_finite() {
        put_fmt(out, format_args!("{v:?}"));
    } else {
        out.put_slice(b"null");
    }
}

fn write_literal(doc: &Doc<'_>, v: u8, at: usize, out: &mut BytesMut) -> DecodeResult<()> {
    out.put_slice(match v {
        0 => b"null",
        1 => b"true",
        2 => b"false",
        _ => return Err(doc.err(at, "unknown literal")),
    });
    Ok(())
}

/// MySQL's variable-length size: 7 bits per byte, high bit = more, at most 5 bytes.
fn read_varlen(doc: &Doc<'_>, at: usize) -> DecodeResult<(usize, usize)> {
    let mut len: u64 = 0;
    for i in 0..5 {
        let b = doc.u8(at + i)?;
        len |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let len = usize::try_from(len).map_err(|_| doc.err(at, "length too large"))?;
            return Ok((len, i + 1));
        }
    }
    Err(doc.err(at, "variable-length size longer than 5 bytes"))
}

/// Writes `s` as a JSON string literal (escaped as MySQL does).
pub(crate) fn write_string_pub(out: &mut BytesMut, s: &str) {
    write_string(out, s);
}

fn write_string(out: &mut BytesMut, s: &str) {
    out.put_u8(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.put_slice(bytes.get(start..i).unwrap_or_default());
        match esc {
            Some(e) => out.put_slice(e),
            None => {
                put_fmt(out, format_args!("\\u{b:04x}"));
            }
        }
        start = i + 1;
    }
    out.put_slice(bytes.get(start..).unwrap_or_default());
    out.put_u8(b'"');
}

#[allow(clippy::too_many_arguments)]
fn write_container(
    doc: &Doc<'_>,
    at: usize,
    end: usize,
    large: bool,
    object: bool,
    out: &mut BytesMut,
    depth: usize,
) -> DecodeResult<()> {
    let w = if large { 4 } else { 2 };
    let count = usize::try_from(doc.uint(at, w)?).map_err(|_| doc.err(at, "count too large"))?;
    let size = usize::try_from(doc.uint(at + w, w)?).map_err(|_| doc.err(at, "size too large"))?;
    // Every offset below is relative to `at` and must stay within `size`.
    let limit = at
        .checked_add(size)
        .filter(|&l| l <= end.max(at))
        .ok_or_else(|| doc.err(at, "container larger than its parent"))?;
    let header = 2 * w;
    let key_entry = if object { w + 2 } else { 0 };
    let value_entry = 1 + w;
    let entries = count
        .checked_mul(key_entry + value_entry)
        .and_then(|e| e.checked_add(header));
    if entries.is_none_or(|e| e > size) {
        return Err(doc.err(at, "more entries than the container can hold"));
    }
    out.put_u8(if object { b'{' } else { b'[' });
    for i in 0..count {
        if i > 0 {
            out.put_slice(b", ");
        }
        if object {
            let ke = at + header + i * key_entry;
            let key_off =
                usize::try_from(doc.uint(ke, w)?).map_err(|_| doc.err(ke, "offset too large"))?;
            let key_len = usize::try_from(doc.uint(ke + w, 2)?)
                .map_err(|_| doc.err(ke, "length too large"))?;
            if key_off.checked_add(key_len).is_none_or(|e| e > size) {
                return Err(doc.err(ke, "key outside its object"));
            }
            let key = doc.slice(at + key_off, key_len)?;
            let key = std::str::from_utf8(key).map_err(|_| doc.err(ke, "key is not UTF-8"))?;
            write_string(out, key);
            out.put_slice(b": ");
        }
        let ve = at + header + count * key_entry + i * value_entry;
        let ty = doc.u8(ve)?;
        let inlined = matches!(ty, 0x04..=0x06) || (large && matches!(ty, 0x07 | 0x08));
        if inlined {
            write_value(doc, ty, ve + 1, limit, out, depth + 1)?;
        } else {
            let off = usize::try_from(doc.uint(ve + 1, w)?)
                .map_err(|_| doc.err(ve, "offset too large"))?;
            if off >= size {
                return Err(doc.err(ve, "value outside its container"));
            }
            write_value(doc, ty, at + off, limit, out, depth + 1)?;
        }
    }
    out.put_u8(if object { b'}' } else { b']' });
    Ok(())
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8], out: &mut BytesMut) {
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let sym = |shift: u32| {
            BASE64
                .get(((n >> shift) & 63) as usize)
                .copied()
                .unwrap_or(b'=')
        };
        out.put_u8(sym(18));
        out.put_u8(sym(12));
        out.put_u8(if chunk.len() > 1 { sym(6) } else { b'=' });
        out.put_u8(if chunk.len() > 2 { sym(0) } else { b'=' });
    }
}

/// Opaque values: DECIMAL as a number, DATE/TIME/DATETIME/TIMESTAMP as quoted text, anything
/// else as `"base64:type<N>:<data>"` (as MySQL prints them).
fn write_opaque(doc: &Doc<'_>, at: usize, out: &mut BytesMut) -> DecodeResult<()> {
    let field_type = doc.u8(at)?;
    let (len, n) = read_varlen(doc, at + 1)?;
    let data = doc.slice(at + 1 + n, len)?;
    let data_at = doc.base + (at + 1 + n) as u64;
    match field_type {
        246 => {
            // [precision, scale, decimal binary]
            let (&p, rest) = data
                .split_first()
                .ok_or_else(|| doc.err(at, "short decimal"))?;
            let (&s, bin) = rest
                .split_first()
                .ok_or_else(|| doc.err(at, "short decimal"))?;
            decimal::decode_into(bin, p, s, out, data_at)
        }
        10 | 12 | 7 => {
            let packed = i64::from_le_bytes(
                data.try_into()
                    .map_err(|_| doc.err(at, "temporal value is not 8 bytes"))?,
            );
            let dt = time::datetime_from_packed(packed, data_at)?;
            let d = dt.date;
            if field_type == 10 {
                put_fmt(
                    out,
                    format_args!("\"{:04}-{:02}-{:02}\"", d.year, d.month, d.day),
                );
            } else {
                put_fmt(
                    out,
                    format_args!(
                        "\"{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}\"",
                        d.year, d.month, d.day, dt.hour, dt.minute, dt.second, dt.micros
                    ),
                );
            }
            Ok(())
        }
        11 => {
            let packed = i64::from_le_bytes(
                data.try_into()
                    .map_err(|_| doc.err(at, "temporal value is not 8 bytes"))?,
            );
            let t = time::time_from_packed_json(packed, data_at)?;
            let sign = if t.negative { "-" } else { "" };
            put_fmt(
                out,
                format_args!(
                    "\"{sign}{:02}:{:02}:{:02}.{:06}\"",
                    t.hours, t.minutes, t.seconds, t.micros
                ),
            );
            Ok(())
        }
        _ => {
            put_fmt(out, format_args!("\"base64:type{field_type}:"));
            base64(data, out);
            out.put_u8(b'"');
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: &[u8]) -> String {
        let mut out = BytesMut::new();
        to_text(b, &mut out, 0).unwrap();
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn scalars_and_containers() {
        assert_eq!(text(&[0x04, 0x01]), "true");
        assert_eq!(text(&[0x05, 0xff, 0xff]), "-1");
        assert_eq!(text(&[0x0c, 0x02, b'h', b'i']), "\"hi\"");
        assert_eq!(text(&[0x0b, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f]), "1.5");
        // small array [1, "a"]: count 2, size, entries (type, offset/inline)
        let arr = [0x02, 2, 0, 12, 0, 0x05, 1, 0, 0x0c, 10, 0, 1, b'a'];
        assert_eq!(text(&arr), "[1, \"a\"]");
        // small object {"k": true}: count 1, size, key entry (off 11, len 1), value entry, key
        let obj = [0x00, 1, 0, 12, 0, 11, 0, 1, 0, 0x04, 1, 0, b'k'];
        assert_eq!(text(&obj), "{\"k\": true}");
        assert_eq!(text(&[0x0c, 0x02, b'"', 0x01]), "\"\\\"\\u0001\"");
    }

    #[test]
    fn malformed_documents_are_errors() {
        let mut out = BytesMut::new();
        for bad in [
            &[0x0c, 0x05, b'a'][..],
            &[0x02, 0xff, 0xff, 4, 0],
            &[0x04, 9],
            &[0x20],
            &[0x0c, 0x80, 0x80, 0x80, 0x80, 0x80],
        ] {
            assert!(to_text(bad, &mut out, 0).is_err(), "{bad:?}");
        }
        // deep nesting: arrays each holding one array
        let mut deep = Vec::new();
        for _ in 0..200 {
            deep.extend_from_slice(&[0x02, 1, 0, 0xff, 0, 0x02, 7, 0]);
        }
        assert!(to_text(&deep, &mut out, 0).is_err());
    }

    #[test]
    fn base64_encoding() {
        let mut out = BytesMut::new();
        base64(b"U", &mut out);
        assert_eq!(&out[..], b"VQ==");
    }
}
