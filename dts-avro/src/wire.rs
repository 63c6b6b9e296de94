//! Avro binary primitives: zig-zag varints, lengths, strings and bytes for writing, and a
//! bounds-checked [`Reader`] for reading.
//!
//! | Avro type | binary form |
//! |---|---|
//! | `int`, `long` | zig-zag, then base-128 varint, low group first (at most 10 bytes) |
//! | `string`, `bytes` | length as `long`, then the bytes |
//! | `double` | 8 bytes, little-endian IEEE 754 |
//! | `enum` | the ordinal as `int` |
//! | union | the branch index as `int`, then the value |
//! | array, map | blocks: item count as `long` (negative: `-count`, then the block size in bytes), items (map: key string, value), a `0` count ends |
//!
//! See <https://avro.apache.org/docs/1.11.1/specification/#binary-encoding>.

use bytes::{BufMut, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind};

/// Zig-zag mapping of a signed integer to an unsigned one (0, -1, 1, -2 → 0, 1, 2, 3).
#[inline]
pub(crate) fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)).cast_unsigned()
}

/// Appends the varint of an already zig-zagged value.
#[inline]
pub(crate) fn put_varint(out: &mut BytesMut, mut v: u64) {
    if v < 0x80 {
        out.put_u8(v.to_le_bytes()[0]);
        return;
    }
    let mut buf = [0u8; 10];
    let mut n = 0;
    while v >= 0x80 {
        buf[n] = v.to_le_bytes()[0] | 0x80;
        v >>= 7;
        n += 1;
    }
    buf[n] = v.to_le_bytes()[0];
    out.put_slice(&buf[..=n]);
}

/// Appends an Avro `long` (or `int`, `enum` ordinal, union index).
#[inline]
pub(crate) fn put_long(out: &mut BytesMut, n: i64) {
    put_varint(out, zigzag(n));
}

/// Appends a non-negative length or count as an Avro `long`.
#[inline]
pub(crate) fn put_len(out: &mut BytesMut, len: usize) {
    // A slice is at most isize::MAX bytes, so 2 * len fits a u64.
    put_varint(out, u64::try_from(len).unwrap_or(u64::MAX) << 1);
}

/// Appends Avro `bytes` (or a `string` given as UTF-8 bytes).
#[inline]
pub(crate) fn put_bytes(out: &mut BytesMut, b: &[u8]) {
    put_len(out, b.len());
    out.put_slice(b);
}

/// Appends the Avro `long` encoding of `n` into `buf`, returning the used prefix (for
/// precomputed parts).
pub(crate) fn long_bytes(n: i64) -> Vec<u8> {
    let mut b = BytesMut::with_capacity(10);
    put_long(&mut b, n);
    b.to_vec()
}

/// Decimal text of an unsigned integer, written into a stack buffer.
pub(crate) struct Decimal20 {
    buf: [u8; 20],
    start: usize,
}

impl Decimal20 {
    /// The digits of `n`, two at a time.
    #[inline]
    pub(crate) fn new(mut n: u64) -> Self {
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        let mut buf = [0u8; 20];
        let mut start = buf.len();
        while n >= 100 {
            let pair = usize::from((n % 100).to_le_bytes()[0]) * 2;
            n /= 100;
            start -= 2;
            buf[start..start + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        }
        let last = n.to_le_bytes()[0];
        if last >= 10 {
            let pair = usize::from(last) * 2;
            start -= 2;
            buf[start..start + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        } else {
            start -= 1;
            buf[start] = b'0' + last;
        }
        Self { buf, start }
    }

    /// The text.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// Appends an Avro `string` holding the decimal text of `n`.
#[inline]
pub(crate) fn put_u64_text(out: &mut BytesMut, n: u64) {
    put_bytes(out, Decimal20::new(n).as_bytes());
}

/// Appends an Avro `string` holding the decimal text of `n`.
#[inline]
pub(crate) fn put_i64_text(out: &mut BytesMut, n: i64) {
    let digits = Decimal20::new(n.unsigned_abs());
    let digits = digits.as_bytes();
    if n < 0 {
        put_len(out, digits.len() + 1);
        out.put_u8(b'-');
        out.put_slice(digits);
    } else {
        put_bytes(out, digits);
    }
}

/// A bounds-checked cursor over one message value. Every read checks the remaining input
/// first, so no input can make it panic or allocate more than the input's size.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub(crate) fn error(
        &self,
        what: &'static str,
        at: usize,
        kind: DecodeErrorKind,
    ) -> DecodeError {
        DecodeError::new(what, at, kind)
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let start = self.pos;
        let end = start
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| self.error(what, start, DecodeErrorKind::Truncated))?;
        let bytes = self
            .data
            .get(start..end)
            .ok_or_else(|| self.error(what, start, DecodeErrorKind::Truncated))?;
        self.pos = end;
        Ok(bytes)
    }

    /// A raw varint (before zig-zag decoding).
    pub(crate) fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut value = 0u64;
        for i in 0..10u32 {
            let byte = *self
                .data
                .get(self.pos)
                .ok_or_else(|| self.error(what, start, DecodeErrorKind::Truncated))?;
            self.pos += 1;
            let group = u64::from(byte & 0x7f);
            if i == 9 && byte > 1 {
                return Err(self.error(what, start, DecodeErrorKind::BadVarint));
            }
            value |= group << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error(what, start, DecodeErrorKind::BadVarint))
    }

    /// An Avro `long`.
    pub(crate) fn long(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        let z = self.varint(what)?;
        Ok((z >> 1).cast_signed() ^ -((z & 1).cast_signed()))
    }

    /// An Avro `int`.
    pub(crate) fn int(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        let start = self.pos;
        let n = self.long(what)?;
        i32::try_from(n).map_err(|_| self.error(what, start, DecodeErrorKind::OutOfRange(n)))
    }

    /// A union branch index, checked against the number of branches.
    pub(crate) fn branch(&mut self, what: &'static str, branches: u8) -> Result<u8, DecodeError> {
        let start = self.pos;
        let n = self.long(what)?;
        u8::try_from(n)
            .ok()
            .filter(|&b| b < branches)
            .ok_or_else(|| self.error(what, start, DecodeErrorKind::BadUnionBranch(n)))
    }

    /// An enum ordinal, checked against the number of symbols.
    pub(crate) fn ordinal(&mut self, what: &'static str, symbols: u8) -> Result<u8, DecodeError> {
        let start = self.pos;
        let n = self.long(what)?;
        u8::try_from(n)
            .ok()
            .filter(|&b| b < symbols)
            .ok_or_else(|| self.error(what, start, DecodeErrorKind::BadEnumSymbol(n)))
    }

    /// A length, checked to be non-negative and to fit the remaining input.
    fn length(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let start = self.pos;
        let n = self.long(what)?;
        let n = u64::try_from(n)
            .map_err(|_| self.error(what, start, DecodeErrorKind::OutOfRange(n)))?;
        usize::try_from(n)
            .ok()
            .filter(|&len| len <= self.remaining())
            .ok_or_else(|| self.error(what, start, DecodeErrorKind::LengthTooLarge(n)))
    }

    /// Avro `bytes`.
    pub(crate) fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.length(what)?;
        self.take(len, what)
    }

    /// Avro `string`.
    pub(crate) fn str(&mut self, what: &'static str) -> Result<&'a str, DecodeError> {
        let start = self.pos;
        let b = self.bytes(what)?;
        std::str::from_utf8(b).map_err(|_| self.error(what, start, DecodeErrorKind::InvalidUtf8))
    }

    /// Avro `double`.
    pub(crate) fn double(&mut self, what: &'static str) -> Result<f64, DecodeError> {
        let b = self.take(8, what)?;
        let arr: [u8; 8] = b
            .try_into()
            .map_err(|_| self.error(what, self.pos, DecodeErrorKind::Truncated))?;
        Ok(f64::from_le_bytes(arr))
    }

    /// The item count of the next array or map block (0 ends the array), with the block size
    /// skipped for negative counts. The count is checked against the remaining input assuming
    /// every item takes at least one byte, so it is safe to reserve that many items.
    pub(crate) fn block_count(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let start = self.pos;
        let n = self.long(what)?;
        let count = if n < 0 {
            let _size = self.long(what)?;
            n.unsigned_abs()
        } else {
            n.unsigned_abs()
        };
        usize::try_from(count)
            .ok()
            .filter(|&c| c <= self.remaining())
            .ok_or_else(|| self.error(what, start, DecodeErrorKind::LengthTooLarge(count)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(n: i64) -> Vec<u8> {
        long_bytes(n)
    }

    #[test]
    fn varints_match_the_avro_spec() {
        // Examples from the Avro specification.
        assert_eq!(long(0), [0x00]);
        assert_eq!(long(-1), [0x01]);
        assert_eq!(long(1), [0x02]);
        assert_eq!(long(-2), [0x03]);
        assert_eq!(long(2), [0x04]);
        assert_eq!(long(-64), [0x7f]);
        assert_eq!(long(64), [0x80, 0x01]);
        assert_eq!(long(i64::MAX).len(), 10);
        for n in [
            0,
            1,
            -1,
            63,
            -64,
            64,
            8191,
            -8192,
            i64::from(i32::MIN),
            i64::MIN,
            i64::MAX,
        ] {
            let b = long(n);
            let mut r = Reader::new(&b);
            assert_eq!(r.long("n").unwrap(), n);
            assert_eq!(r.remaining(), 0);
        }
    }

    /// Every length of varint, at and around each boundary, in a buffer with bytes before it:
    /// the plain one-byte-at-a-time encoding, and it decodes back.
    #[test]
    fn varints_of_every_length_match_the_plain_encoding() {
        fn plain(mut v: u64) -> Vec<u8> {
            let mut out = Vec::new();
            while v >= 0x80 {
                out.push(v.to_le_bytes()[0] | 0x80);
                v >>= 7;
            }
            out.push(v.to_le_bytes()[0]);
            out
        }
        let mut values = vec![0, u64::MAX, 0x5555_5555_5555_5555];
        for bits in (7..64).step_by(7) {
            let edge = 1u64 << bits;
            values.extend([edge - 1, edge, edge + 1, edge | (edge >> 1)]);
        }
        for v in values {
            let mut out = BytesMut::from(&b"xy"[..]);
            put_varint(&mut out, v);
            assert_eq!(&out[..2], b"xy");
            assert_eq!(&out[2..], plain(v), "{v:#x}");
            let mut r = Reader::new(&out[2..]);
            assert_eq!(r.varint("v").unwrap(), v);
            assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn decimal_text_of_every_length() {
        let mut n = 1u64;
        for _ in 0..19 {
            for m in [n - 1, n, n + 1, n * 9 / 2, n * 5 + 3] {
                assert_eq!(Decimal20::new(m).as_bytes(), m.to_string().as_bytes());
            }
            n *= 10;
        }
        assert_eq!(
            Decimal20::new(u64::MAX).as_bytes(),
            u64::MAX.to_string().as_bytes()
        );
    }

    #[test]
    fn decimal_text() {
        for n in [0u64, 7, 10, 99, 100, 18_446_744_073_709_551_615] {
            assert_eq!(Decimal20::new(n).as_bytes(), n.to_string().as_bytes());
        }
        let mut b = BytesMut::new();
        put_i64_text(&mut b, i64::MIN);
        let mut r = Reader::new(&b);
        assert_eq!(r.str("s").unwrap(), i64::MIN.to_string());
    }

    #[test]
    fn reader_refuses_bad_input_without_panicking() {
        let mut r = Reader::new(&[0xff; 11]);
        assert_eq!(r.long("n").unwrap_err().kind(), DecodeErrorKind::BadVarint);
        let mut r = Reader::new(&[0x80]);
        assert_eq!(r.long("n").unwrap_err().kind(), DecodeErrorKind::Truncated);
        // A length of 1000 with 1 byte left.
        let mut b = BytesMut::new();
        put_long(&mut b, 1000);
        b.put_u8(b'x');
        let err = Reader::new(&b).bytes("s").unwrap_err();
        assert_eq!(err.kind(), DecodeErrorKind::LengthTooLarge(1000));
        assert_eq!(err.offset(), 0);
        let err = Reader::new(&[0x01]).bytes("s").unwrap_err();
        assert_eq!(err.kind(), DecodeErrorKind::OutOfRange(-1));
        let err = Reader::new(&[0x02, 0xff]).str("s").unwrap_err();
        assert_eq!(err.kind(), DecodeErrorKind::InvalidUtf8);
        let big = long(i64::from(i32::MAX) + 1);
        assert!(matches!(
            Reader::new(&big).int("i").unwrap_err().kind(),
            DecodeErrorKind::OutOfRange(_)
        ));
        assert_eq!(
            Reader::new(&[0x06]).branch("u", 3).unwrap_err().kind(),
            DecodeErrorKind::BadUnionBranch(3)
        );
        assert_eq!(
            Reader::new(&[0x01, 0x02])
                .block_count("a")
                .unwrap_err()
                .kind(),
            DecodeErrorKind::LengthTooLarge(1)
        );
    }
}
