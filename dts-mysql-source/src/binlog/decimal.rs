//! MySQL's binary DECIMAL (`decimal2bin`) → exact text.
//!
//! The number is stored as groups of 9 decimal digits in 4 big-endian bytes, with the leading
//! integer group and the trailing fraction group shortened to the bytes their digits need
//! (`DIG2BYTES`). The sign is the inverted top bit of the first byte; negative numbers have
//! every byte inverted.

use bytes::{BufMut, BytesMut};

use super::error::{DecodeError, DecodeResult};

const DIG_PER_DEC: u32 = 9;
const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
const POW10: [u32; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

fn dig2bytes(digits: u32) -> usize {
    DIG2BYTES.get(digits as usize).copied().unwrap_or(4)
}

/// Bytes a DECIMAL(precision, scale) occupies.
///
/// # Errors
/// `scale > precision` or `precision > 65`.
#[allow(clippy::arithmetic_side_effects)] // precision ≤ 65, checked first
pub fn binary_size(precision: u8, scale: u8) -> Result<usize, &'static str> {
    if precision == 0 || precision > 65 || scale > 30 || scale > precision {
        return Err("precision/scale outside MySQL's DECIMAL limits");
    }
    let intg = u32::from(precision - scale);
    let frac = u32::from(scale);
    Ok((intg / DIG_PER_DEC) as usize * 4
        + dig2bytes(intg % DIG_PER_DEC)
        + (frac / DIG_PER_DEC) as usize * 4
        + dig2bytes(frac % DIG_PER_DEC))
}

/// Decodes `data` (exactly [`binary_size`] bytes) into decimal text appended to `out`
/// (`-12.340`: exactly `scale` fraction digits, no leading zeros, `0` for a zero integer part).
///
/// # Errors
/// Wrong length, or a digit group out of range (corrupt data). `offset` is used in errors.
// Arithmetic here is on digit counts ≤ 65 and group values < 10^9, checked as read.
#[allow(clippy::arithmetic_side_effects)]
pub fn decode_into(
    data: &[u8],
    precision: u8,
    scale: u8,
    out: &mut BytesMut,
    offset: u64,
) -> DecodeResult<()> {
    let size = binary_size(precision, scale)
        .map_err(|why| DecodeError::invalid("decimal", offset, why))?;
    if data.len() != size {
        return Err(DecodeError::truncated(
            "decimal",
            offset,
            size as u64,
            data.len() as u64,
        ));
    }
    // Normalise into a stack buffer: sign bit flipped back, negative numbers un-inverted.
    let mut buf = [0u8; 32];
    let Some(dst) = buf.get_mut(..size) else {
        return Err(DecodeError::invalid(
            "decimal",
            offset,
            "wider than DECIMAL(65,30)",
        ));
    };
    dst.copy_from_slice(data);
    let negative = dst.first().is_some_and(|&b| b & 0x80 == 0);
    if let Some(b) = dst.first_mut() {
        *b ^= 0x80;
    }
    if negative {
        dst.iter_mut().for_each(|b| *b = !*b);
    }

    let intg = u32::from(precision - scale);
    let frac = u32::from(scale);
    // Digit widths of the groups, in storage order.
    let widths = std::iter::once(intg % DIG_PER_DEC)
        .filter(|&w| w > 0)
        .chain(std::iter::repeat_n(
            DIG_PER_DEC,
            (intg / DIG_PER_DEC) as usize,
        ))
        .chain(std::iter::repeat_n(
            DIG_PER_DEC,
            (frac / DIG_PER_DEC) as usize,
        ))
        .chain(std::iter::once(frac % DIG_PER_DEC).filter(|&w| w > 0));

    let mut digits = [0u8; 72];
    let mut n = 0usize;
    let mut pos = 0usize;
    for width in widths {
        let nbytes = dig2bytes(width);
        let raw = dst.get(pos..pos + nbytes).unwrap_or_default();
        pos += nbytes;
        let value = raw.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b));
        let limit = POW10.get(width as usize).copied().unwrap_or(u32::MAX);
        if value >= limit {
            return Err(DecodeError::invalid(
                "decimal",
                offset,
                "digit group out of range",
            ));
        }
        let mut v = value;
        for i in (0..width as usize).rev() {
            if let Some(slot) = digits.get_mut(n + i) {
                *slot = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
        n += width as usize;
    }
    let all = digits.get(..n).unwrap_or_default();
    let (int_digits, frac_digits) = all.split_at((intg as usize).min(all.len()));
    let skip = int_digits.iter().take_while(|&&d| d == b'0').count();
    let int_digits = int_digits.get(skip..).unwrap_or_default();
    let is_zero = int_digits.is_empty() && frac_digits.iter().all(|&d| d == b'0');
    if negative && !is_zero {
        out.put_u8(b'-');
    }
    if int_digits.is_empty() {
        out.put_u8(b'0');
    } else {
        out.put_slice(int_digits);
    }
    if !frac_digits.is_empty() {
        out.put_u8(b'.');
        out.put_slice(frac_digits);
    }
    Ok(())
}

#[cfg(test)]
#[allow(
    clippy::arithmetic_side_effects,
    clippy::string_slice,
    clippy::cast_possible_truncation
)]
mod tests {
    use super::*;

    fn dec(data: &[u8], p: u8, s: u8) -> String {
        let mut out = BytesMut::new();
        decode_into(data, p, s, &mut out, 0).unwrap();
        String::from_utf8(out.to_vec()).unwrap()
    }

    /// Encodes like MySQL's decimal2bin, for tests only.
    pub(crate) fn encode(text: &str, p: u8, s: u8) -> Vec<u8> {
        let neg = text.starts_with('-');
        let t = text.trim_start_matches('-');
        let (i, f) = t.split_once('.').unwrap_or((t, ""));
        let intg = u32::from(p - s);
        let frac = u32::from(s);
        let i = format!("{:0>width$}", i, width = intg as usize);
        let f = format!("{:0<width$}", f, width = frac as usize);
        let mut out = Vec::new();
        let (intg0, intg0x) = (intg / 9, intg % 9);
        let mut pos = 0usize;
        let put = |digits: &str, out: &mut Vec<u8>| {
            let n = digits.len() as u32;
            let v: u32 = if digits.is_empty() {
                0
            } else {
                digits.parse().unwrap()
            };
            let nb = dig2bytes(n);
            let be = v.to_be_bytes();
            out.extend_from_slice(&be[4 - nb..]);
        };
        put(&i[..intg0x as usize], &mut out);
        pos += intg0x as usize;
        for _ in 0..intg0 {
            put(&i[pos..pos + 9], &mut out);
            pos += 9;
        }
        let (frac0, frac0x) = (frac / 9, frac % 9);
        let mut fp = 0;
        for _ in 0..frac0 {
            put(&f[fp..fp + 9], &mut out);
            fp += 9;
        }
        put(&f[fp..fp + frac0x as usize], &mut out);
        out[0] ^= 0x80;
        if neg {
            for b in &mut out {
                *b = !*b;
            }
        }
        out
    }

    #[test]
    fn known_values() {
        // DECIMAL(10,4) 1234.5678 from the MySQL docs layout.
        for (text, p, s) in [
            ("1234.5678", 10, 4),
            ("-1234.5678", 10, 4),
            ("0.0000", 10, 4),
            ("-12.340", 8, 3),
            (
                "99999999999999999999999999999999999.999999999999999999999999999999",
                65,
                30,
            ),
            (
                "-99999999999999999999999999999999999.999999999999999999999999999999",
                65,
                30,
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345",
                65,
                0,
            ),
            ("0.5", 1, 1),
            ("-0.000000001", 10, 9),
            ("7", 1, 0),
        ] {
            let bin = encode(text, p, s);
            assert_eq!(bin.len(), binary_size(p, s).unwrap(), "{text}");
            assert_eq!(dec(&bin, p, s), text, "{text} DECIMAL({p},{s})");
        }
    }

    #[test]
    fn strips_leading_zeros_and_rejects_garbage() {
        assert_eq!(dec(&encode("000012.5", 10, 1), 10, 1), "12.5");
        let mut out = BytesMut::new();
        assert!(
            decode_into(&[0xff; 5], 10, 0, &mut out, 0).is_err(),
            "group > 999999999"
        );
        assert!(
            decode_into(&[0x80; 3], 10, 0, &mut out, 0).is_err(),
            "wrong length"
        );
        assert!(decode_into(&[], 66, 0, &mut out, 0).is_err());
    }
}
