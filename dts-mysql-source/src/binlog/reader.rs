//! [`Reader`]: the one cursor every decoder reads through.
//!
//! Every read is checked (`try_*` → [`DecodeError`] naming the field and offset); byte strings
//! are zero-copy [`Bytes`] views of the input.

use bytes::Bytes;

use super::error::{DecodeError, DecodeResult};

/// A forward-only cursor over one buffer (usually one event).
#[derive(Clone, Debug)]
pub struct Reader {
    buf: Bytes,
    pos: usize,
    /// Offset of `buf[0]` within the event, for error messages.
    origin: u64,
}

impl Reader {
    /// A reader over `buf`, whose first byte is at offset `origin` of the event.
    #[must_use]
    pub fn new(buf: Bytes, origin: u64) -> Self {
        Self {
            buf,
            pos: 0,
            origin,
        }
    }

    /// Offset of the next byte, relative to the event start.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.origin.saturating_add(self.pos as u64)
    }

    /// Bytes left.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// `true` when nothing is left.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn truncated(&self, what: &'static str, needed: usize) -> DecodeError {
        DecodeError::truncated(what, self.offset(), needed as u64, self.remaining() as u64)
    }

    /// An `Invalid` error at the current offset.
    #[must_use]
    pub fn invalid(&self, what: &'static str, why: &'static str) -> DecodeError {
        DecodeError::invalid(what, self.offset(), why)
    }

    /// The next `n` bytes as a slice, advancing.
    ///
    /// # Errors
    /// Truncated when fewer than `n` bytes are left.
    #[inline]
    pub fn try_slice(&mut self, n: usize, what: &'static str) -> DecodeResult<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = self
                    .buf
                    .get(self.pos..end)
                    .ok_or_else(|| self.truncated(what, n))?;
                self.pos = end;
                Ok(s)
            }
            None => Err(self.truncated(what, n)),
        }
    }

    /// The next `n` bytes as a zero-copy [`Bytes`], advancing.
    ///
    /// # Errors
    /// Truncated when fewer than `n` bytes are left.
    #[inline]
    pub fn try_bytes(&mut self, n: usize, what: &'static str) -> DecodeResult<Bytes> {
        let start = self.pos;
        self.try_slice(n, what)?;
        Ok(self.buf.slice(start..self.pos))
    }

    /// Everything left, advancing to the end.
    pub fn rest(&mut self) -> Bytes {
        let start = self.pos.min(self.buf.len());
        self.pos = self.buf.len();
        self.buf.slice(start..)
    }

    /// Skips `n` bytes.
    ///
    /// # Errors
    /// Truncated when fewer than `n` bytes are left.
    pub fn try_skip(&mut self, n: usize, what: &'static str) -> DecodeResult<()> {
        self.try_slice(n, what).map(|_| ())
    }

    /// The next `N` bytes as an array.
    ///
    /// # Errors
    /// Truncated when fewer than `N` bytes are left.
    #[inline]
    pub fn try_array<const N: usize>(&mut self, what: &'static str) -> DecodeResult<[u8; N]> {
        let s = self.try_slice(N, what)?;
        <[u8; N]>::try_from(s).map_err(|_| DecodeError::invalid(what, 0, "length mismatch"))
    }

    /// Next byte.
    ///
    /// # Errors
    /// Truncated at the end.
    #[inline]
    pub fn try_u8(&mut self, what: &'static str) -> DecodeResult<u8> {
        let [b] = self.try_array::<1>(what)?;
        Ok(b)
    }

    /// Little-endian u16.
    ///
    /// # Errors
    /// Truncated.
    #[inline]
    pub fn try_u16(&mut self, what: &'static str) -> DecodeResult<u16> {
        Ok(u16::from_le_bytes(self.try_array(what)?))
    }

    /// Little-endian 24-bit unsigned.
    ///
    /// # Errors
    /// Truncated.
    #[inline]
    pub fn try_u24(&mut self, what: &'static str) -> DecodeResult<u32> {
        let [a, b, c] = self.try_array(what)?;
        Ok(u32::from_le_bytes([a, b, c, 0]))
    }

    /// Little-endian u32.
    ///
    /// # Errors
    /// Truncated.
    #[inline]
    pub fn try_u32(&mut self, what: &'static str) -> DecodeResult<u32> {
        Ok(u32::from_le_bytes(self.try_array(what)?))
    }

    /// Little-endian 48-bit unsigned.
    ///
    /// # Errors
    /// Truncated.
    #[inline]
    pub fn try_u48(&mut self, what: &'static str) -> DecodeResult<u64> {
        let [a, b, c, d, e, f] = self.try_array(what)?;
        Ok(u64::from_le_bytes([a, b, c, d, e, f, 0, 0]))
    }

    /// Little-endian u64.
    ///
    /// # Errors
    /// Truncated.
    #[inline]
    pub fn try_u64(&mut self, what: &'static str) -> DecodeResult<u64> {
        Ok(u64::from_le_bytes(self.try_array(what)?))
    }

    /// Little-endian unsigned of `n` (1..=8) bytes.
    ///
    /// # Errors
    /// Truncated, or `n` outside 1..=8.
    #[inline]
    pub fn try_uint_n(&mut self, n: usize, what: &'static str) -> DecodeResult<u64> {
        if !(1..=8).contains(&n) {
            return Err(self.invalid(what, "integer width outside 1..=8 bytes"));
        }
        let s = self.try_slice(n, what)?;
        let mut buf = [0u8; 8];
        for (d, s) in buf.iter_mut().zip(s) {
            *d = *s;
        }
        Ok(u64::from_le_bytes(buf))
    }

    /// MySQL length-encoded integer (`net_field_length`): `< 0xfb` itself, `0xfc` + u16,
    /// `0xfd` + u24, `0xfe` + u64. `0xfb` (NULL) and `0xff` are invalid here.
    ///
    /// # Errors
    /// Truncated, or an invalid first byte.
    #[inline]
    pub fn try_lenenc(&mut self, what: &'static str) -> DecodeResult<u64> {
        let at = self.offset();
        match self.try_u8(what)? {
            b @ 0..=0xfa => Ok(u64::from(b)),
            0xfc => self.try_u16(what).map(u64::from),
            0xfd => self.try_u24(what).map(u64::from),
            0xfe => self.try_u64(what),
            _ => Err(DecodeError::invalid(
                what,
                at,
                "bad length-encoded integer prefix",
            )),
        }
    }

    /// A length-encoded integer used as a length: also checked against the bytes left.
    ///
    /// # Errors
    /// As [`try_lenenc`](Self::try_lenenc), or when the length exceeds the input.
    pub fn try_lenenc_len(&mut self, what: &'static str) -> DecodeResult<usize> {
        let n = self.try_lenenc(what)?;
        match usize::try_from(n) {
            Ok(n) if n <= self.remaining() => Ok(n),
            _ => Err(DecodeError::truncated(
                what,
                self.offset(),
                n,
                self.remaining() as u64,
            )),
        }
    }

    /// A length-encoded byte string.
    ///
    /// # Errors
    /// Truncated or a bad length.
    pub fn try_lenenc_bytes(&mut self, what: &'static str) -> DecodeResult<Bytes> {
        let n = self.try_lenenc_len(what)?;
        self.try_bytes(n, what)
    }

    /// Bytes up to (not including) the next NUL, consuming the NUL.
    ///
    /// # Errors
    /// Truncated when there is no NUL.
    pub fn try_cstr(&mut self, what: &'static str) -> DecodeResult<Bytes> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let n = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| self.truncated(what, rest.len().saturating_add(1)))?;
        let s = self.try_bytes(n, what)?;
        self.try_skip(1, what)?;
        Ok(s)
    }

    /// A reader over the next `n` bytes (advancing this one past them).
    ///
    /// # Errors
    /// Truncated.
    pub fn try_sub(&mut self, n: usize, what: &'static str) -> DecodeResult<Reader> {
        let origin = self.offset();
        let b = self.try_bytes(n, what)?;
        Ok(Reader::new(b, origin))
    }
}

/// Converts a `u64` wire length to `usize`, or fails.
pub(crate) fn to_usize(n: u64, what: &'static str, offset: u64) -> DecodeResult<usize> {
    usize::try_from(n)
        .map_err(|_| DecodeError::invalid(what, offset, "length does not fit in memory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_checked() {
        let mut r = Reader::new(Bytes::from_static(&[1, 2, 3, 0xfc, 5, 0, b'a', 0]), 10);
        assert_eq!(r.try_u16("a").unwrap(), 0x0201);
        let err = r.try_u64("b").unwrap_err();
        assert!(err.is_truncated());
        assert_eq!(err.offset(), 12);
        assert_eq!(r.try_u8("c").unwrap(), 3);
        assert_eq!(r.try_lenenc("d").unwrap(), 5);
        assert_eq!(&r.try_cstr("e").unwrap()[..], b"a");
        assert!(r.is_empty());
        assert!(r.try_u8("f").is_err());
    }

    #[test]
    fn lengths_beyond_input_are_refused() {
        let mut r = Reader::new(
            Bytes::from_static(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            0,
        );
        assert!(r.try_lenenc_len("len").is_err());
        let mut r = Reader::new(Bytes::from_static(&[0xfb]), 0);
        assert!(r.try_lenenc("len").is_err());
        let mut r = Reader::new(Bytes::from_static(b"abc"), 0);
        assert!(r.try_cstr("s").is_err());
        assert!(r.try_uint_n(9, "n").is_err());
    }
}
