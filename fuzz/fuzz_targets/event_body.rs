//! One event body of any type after a real FORMAT_DESCRIPTION (MySQL 8 or MariaDB, CRC32 or
//! not, chosen by the first byte): the header is made consistent so the body decoders see the
//! bytes. Never panics.
#![no_main]

use bytes::Bytes;
use dts_mysql_source::binlog::{DecodeOptions, EventDecoder};
use libfuzzer_sys::fuzz_target;

/// A minimal FDE: binlog v4, server version, 19-byte header, post-header lengths, checksum.
fn fde(version: &str, crc: bool) -> Bytes {
    let mut body = Vec::new();
    body.extend_from_slice(&4u16.to_le_bytes());
    let mut v = [0u8; 50];
    v[..version.len()].copy_from_slice(version.as_bytes());
    body.extend_from_slice(&v);
    body.extend_from_slice(&0u32.to_le_bytes());
    body.push(19);
    // Post-header lengths per type (MySQL 8.0 values for the common ones).
    let mut post = [0u8; 42];
    for (t, l) in [(2, 13), (4, 8), (15, 98), (16, 0), (19, 8), (23, 8), (24, 8), (25, 8), (30, 10), (31, 10), (32, 10), (33, 42), (34, 42), (35, 0), (39, 10), (40, 40)] {
        post[t - 1] = l;
    }
    body.extend_from_slice(&post);
    body.push(u8::from(crc));
    let size = 19 + body.len() + 4;
    let mut e = vec![0, 0, 0, 0, 15, 1, 0, 0, 0];
    e.extend_from_slice(&(size as u32).to_le_bytes());
    e.extend_from_slice(&[0; 6]);
    e.extend_from_slice(&body);
    let crc32 = crc32fast_hash(&e);
    e.extend_from_slice(&crc32.to_le_bytes());
    Bytes::from(e)
}

fn crc32fast_hash(data: &[u8]) -> u32 {
    // Bitwise CRC-32 (ISO-HDLC); speed does not matter here.
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else { return };
    let Some((&ty, body)) = rest.split_first() else { return };
    let version = if choice & 1 == 0 { "8.0.36" } else { "10.11.6-MariaDB-log" };
    let mut d = EventDecoder::new(DecodeOptions { verify_checksums: false, ..DecodeOptions::default() });
    d.decode(&fde(version, choice & 2 != 0)).expect("valid FDE");
    let size = (19 + body.len()) as u32;
    let mut e = vec![0, 0, 0, 0, ty, 1, 0, 0, 0];
    e.extend_from_slice(&size.to_le_bytes());
    e.extend_from_slice(&[0; 6]);
    e.extend_from_slice(body);
    let _ = d.decode(&Bytes::from(e));
});
