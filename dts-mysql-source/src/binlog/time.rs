//! Temporal column formats: DATE, TIME/TIME2, DATETIME/DATETIME2, TIMESTAMP/TIMESTAMP2, and
//! the packed `longlong` form used inside JSON opaque values.
//!
//! The `*2` formats (MySQL 5.6.4+) are big-endian with `(fsp + 1) / 2` fraction bytes:
//! fsp 1–2 → 1 byte (×10 000 µs), 3–4 → 2 bytes (×100 µs), 5–6 → 3 bytes (µs).
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_binlog_types.html>
// Field extraction is shifts and masks of fixed-width integers whose ranges are checked.
#![allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use dts_core::{Date, DateTime, Time};

use super::error::{DecodeError, DecodeResult};
use super::reader::Reader;

/// Fraction bytes of a `*2` temporal column with `fsp`.
#[must_use]
pub fn frac_bytes(fsp: u8) -> usize {
    usize::from(fsp.min(6).div_ceil(2))
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b))
}

/// Reads the `*2` fraction as microseconds (unsigned form: DATETIME2, TIMESTAMP2).
fn read_frac(r: &mut Reader, fsp: u8, what: &'static str) -> DecodeResult<u32> {
    let n = frac_bytes(fsp);
    if n == 0 {
        return Ok(0);
    }
    let at = r.offset();
    let v = be(r.try_slice(n, what)?) as u32;
    let micros = match n {
        1 => v * 10_000,
        2 => v * 100,
        _ => v,
    };
    if micros > 999_999 {
        return Err(DecodeError::invalid(what, at, "fraction above 999999 µs"));
    }
    Ok(micros)
}

/// DATE: 3 bytes little-endian, `day | month << 5 | year << 9`.
///
/// # Errors
/// Truncated input, or a month/day out of range.
pub fn read_date(r: &mut Reader) -> DecodeResult<Date> {
    let at = r.offset();
    let v = r.try_u24("date")?;
    let date = Date {
        year: (v >> 9) as u16,
        month: ((v >> 5) & 0x0f) as u8,
        day: (v & 0x1f) as u8,
    };
    if date.month > 12 {
        return Err(DecodeError::invalid("date", at, "month above 12"));
    }
    Ok(date)
}

fn check_hms(h: u32, m: u32, s: u32, what: &'static str, at: u64) -> DecodeResult<()> {
    if h > 838 || m > 59 || s > 59 {
        return Err(DecodeError::invalid(
            what,
            at,
            "hour, minute or second out of range",
        ));
    }
    Ok(())
}

/// Old TIME: 3 bytes, signed `HHMMSS` as a decimal number.
///
/// # Errors
/// Truncated or out-of-range input.
pub fn read_time_v1(r: &mut Reader) -> DecodeResult<Time> {
    let at = r.offset();
    let raw = r.try_u24("time")?;
    // Sign-extend 24 bits.
    let v = ((raw << 8) as i32) >> 8;
    let negative = v < 0;
    let a = v.unsigned_abs();
    let (h, m, s) = (a / 10_000, (a / 100) % 100, a % 100);
    check_hms(h, m, s, "time", at)?;
    Ok(Time {
        negative,
        hours: h as u16,
        minutes: m as u8,
        seconds: s as u8,
        micros: 0,
    })
}

/// Splits a packed TIME (`longlong`: hms << 24 | micros, signed) into its parts.
fn time_from_packed(packed: i64, what: &'static str, at: u64) -> DecodeResult<Time> {
    let negative = packed < 0;
    let a = packed.unsigned_abs();
    let hms = a >> 24;
    let micros = (a & 0xff_ffff) as u32;
    let h = ((hms >> 12) & 0x3ff) as u32;
    let m = ((hms >> 6) & 0x3f) as u32;
    let s = (hms & 0x3f) as u32;
    check_hms(h, m, s, what, at)?;
    if micros > 999_999 {
        return Err(DecodeError::invalid(what, at, "fraction above 999999 µs"));
    }
    Ok(Time {
        negative,
        hours: h as u16,
        minutes: m as u8,
        seconds: s as u8,
        micros,
    })
}

/// TIME2 (MySQL 5.6.4+): 3 bytes big-endian, offset by `0x800000`, then the fraction.
///
/// # Errors
/// Truncated or out-of-range input.
pub fn read_time2(r: &mut Reader, fsp: u8) -> DecodeResult<Time> {
    const INT_OFS: i64 = 0x80_0000;
    let at = r.offset();
    let packed = match frac_bytes(fsp) {
        0 => (be(r.try_slice(3, "time2")?) as i64 - INT_OFS) << 24,
        1 => {
            let mut int = be(r.try_slice(3, "time2")?) as i64 - INT_OFS;
            let mut frac = i64::from(r.try_u8("time2.frac")?);
            if int < 0 && frac != 0 {
                int += 1;
                frac -= 0x100;
            }
            (int << 24) + frac * 10_000
        }
        2 => {
            let mut int = be(r.try_slice(3, "time2")?) as i64 - INT_OFS;
            let mut frac = be(r.try_slice(2, "time2.frac")?) as i64;
            if int < 0 && frac != 0 {
                int += 1;
                frac -= 0x1_0000;
            }
            (int << 24) + frac * 100
        }
        _ => be(r.try_slice(6, "time2")?) as i64 - 0x8000_0000_0000,
    };
    time_from_packed(packed, "time2", at)
}

fn datetime_from_int(
    ymdhms: u64,
    micros: u32,
    what: &'static str,
    at: u64,
) -> DecodeResult<DateTime> {
    let ymd = ymdhms >> 17;
    let ym = ymd >> 5;
    let hms = ymdhms & 0x1_ffff;
    let dt = DateTime {
        date: Date {
            year: (ym / 13) as u16,
            month: (ym % 13) as u8,
            day: (ymd & 0x1f) as u8,
        },
        hour: (hms >> 12) as u8,
        minute: ((hms >> 6) & 0x3f) as u8,
        second: (hms & 0x3f) as u8,
        micros,
    };
    if dt.date.year > 9999 || dt.hour > 23 || dt.minute > 59 || dt.second > 59 {
        return Err(DecodeError::invalid(
            what,
            at,
            "date or time part out of range",
        ));
    }
    Ok(dt)
}

/// DATETIME2: 5 bytes big-endian (offset by `0x8000000000`), then the fraction.
///
/// # Errors
/// Truncated or out-of-range input.
pub fn read_datetime2(r: &mut Reader, fsp: u8) -> DecodeResult<DateTime> {
    let at = r.offset();
    let int = be(r.try_slice(5, "datetime2")?);
    let int = int
        .checked_sub(0x80_0000_0000)
        .ok_or_else(|| DecodeError::invalid("datetime2", at, "negative datetime"))?;
    let micros = read_frac(r, fsp, "datetime2.frac")?;
    datetime_from_int(int, micros, "datetime2", at)
}

/// Old DATETIME: 8 bytes little-endian `YYYYMMDDhhmmss` as a decimal number.
///
/// # Errors
/// Truncated or out-of-range input.
pub fn read_datetime_v1(r: &mut Reader) -> DecodeResult<DateTime> {
    let at = r.offset();
    let v = r.try_u64("datetime")?;
    let (d, t) = (v / 1_000_000, v % 1_000_000);
    let dt = DateTime {
        date: Date {
            year: (d / 10_000) as u16,
            month: ((d / 100) % 100) as u8,
            day: (d % 100) as u8,
        },
        hour: (t / 10_000) as u8,
        minute: ((t / 100) % 100) as u8,
        second: (t % 100) as u8,
        micros: 0,
    };
    if d / 10_000 > 9999
        || dt.date.month > 12
        || dt.date.day > 31
        || dt.hour > 23
        || dt.minute > 59
        || dt.second > 59
    {
        return Err(DecodeError::invalid(
            "datetime",
            at,
            "date or time part out of range",
        ));
    }
    Ok(dt)
}

/// TIMESTAMP2: 4 bytes big-endian seconds, then the fraction.
///
/// # Errors
/// Truncated or out-of-range input.
pub fn read_timestamp2(r: &mut Reader, fsp: u8) -> DecodeResult<(u64, u32)> {
    let secs = be(r.try_slice(4, "timestamp2")?);
    let micros = read_frac(r, fsp, "timestamp2.frac")?;
    Ok((secs, micros))
}

/// A packed DATETIME/DATE (`longlong`, as in JSON opaque values).
///
/// # Errors
/// Out-of-range parts.
pub fn datetime_from_packed(packed: i64, at: u64) -> DecodeResult<DateTime> {
    let a = packed.unsigned_abs();
    datetime_from_int(a >> 24, (a & 0xff_ffff) as u32, "json.datetime", at)
}

/// A packed TIME (`longlong`, as in JSON opaque values).
///
/// # Errors
/// Out-of-range parts.
pub fn time_from_packed_json(packed: i64, at: u64) -> DecodeResult<Time> {
    time_from_packed(packed, "json.time", at)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn r(b: &'static [u8]) -> Reader {
        Reader::new(Bytes::from_static(b), 0)
    }

    #[test]
    fn time2_negative_and_large() {
        // -838:59:59 with fsp 0: int = -(838<<12 | 59<<6 | 59) + 0x800000.
        let hms: i64 = 838 << 12 | 59 << 6 | 59;
        let v = (0x80_0000 - hms) as u32;
        let b = v.to_be_bytes();
        let t = read_time2(&mut Reader::new(Bytes::copy_from_slice(&b[1..]), 0), 0).unwrap();
        assert_eq!(
            t,
            Time {
                negative: true,
                hours: 838,
                minutes: 59,
                seconds: 59,
                micros: 0
            }
        );
        // fsp 6: 6 bytes, packed - 0x800000000000.
        let packed: i64 = -((hms << 24) + 123_456);
        let v = (packed + 0x8000_0000_0000) as u64;
        let b = v.to_be_bytes();
        let t = read_time2(&mut Reader::new(Bytes::copy_from_slice(&b[2..]), 0), 6).unwrap();
        assert_eq!(
            t,
            Time {
                negative: true,
                hours: 838,
                minutes: 59,
                seconds: 59,
                micros: 123_456
            }
        );
    }

    #[test]
    fn time2_negative_fraction_fsp2() {
        // -00:00:01.01 (fsp 2): MySQL stores int part -0 adjusted: int = -1+1 = 0 → raw
        // 0x7fffff, frac 0x100 - 1 = 0xff.
        let t = read_time2(&mut r(&[0x7f, 0xff, 0xff, 0xff]), 2).unwrap();
        assert_eq!(
            t,
            Time {
                negative: true,
                hours: 0,
                minutes: 0,
                seconds: 0,
                micros: 10_000
            }
        );
    }

    #[test]
    fn datetime2_with_fraction() {
        // 2021-04-12 22:57:32.123456
        let ym: u64 = 2021 * 13 + 4;
        let int = ((ym << 5 | 12) << 17) | (22 << 12 | 57 << 6 | 32);
        let b = (int + 0x80_0000_0000).to_be_bytes();
        let mut bytes = b[3..].to_vec();
        bytes.extend_from_slice(&123_456u32.to_be_bytes()[1..]);
        let dt = read_datetime2(&mut Reader::new(Bytes::from(bytes), 0), 6).unwrap();
        assert_eq!(
            dt,
            DateTime {
                date: Date {
                    year: 2021,
                    month: 4,
                    day: 12
                },
                hour: 22,
                minute: 57,
                second: 32,
                micros: 123_456
            }
        );
    }

    #[test]
    fn zero_date_and_bad_month() {
        assert_eq!(read_date(&mut r(&[0, 0, 0])).unwrap(), Date::default());
        let v: u32 = 13 << 5 | 2024 << 9;
        let b = v.to_le_bytes();
        assert!(read_date(&mut Reader::new(Bytes::copy_from_slice(&b[..3]), 0)).is_err());
    }
}
