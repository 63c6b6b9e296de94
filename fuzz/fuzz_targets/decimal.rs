//! Binary DECIMAL → text: never panics; accepted values have the declared shape.
#![no_main]

use bytes::BytesMut;
use dts_mysql_source::binlog::decimal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [p, s, rest @ ..] = data else { return };
    let mut out = BytesMut::new();
    if decimal::decode_into(rest, *p, *s, &mut out, 0).is_ok() {
        let text = std::str::from_utf8(&out).expect("ASCII");
        let frac = text.split_once('.').map_or(0, |(_, f)| f.len());
        assert_eq!(frac, usize::from(*s), "{text}");
        assert!(dts_core::Decimal::from_text(out.clone().freeze()).is_ok(), "{text}");
    }
});
