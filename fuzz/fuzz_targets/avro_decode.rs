//! DTS Avro record decoding never panics, and a record that decodes writes back to bytes that
//! decode to the same record.
#![no_main]

use bytes::BytesMut;
use dts_avro::DtsRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = DtsRecord::decode(data) else { return };
    let mut again = BytesMut::new();
    record.encode(&mut again);
    let back = DtsRecord::decode(&again).expect("a written record decodes");
    // JSON compares NaN floats as equal text.
    assert_eq!(back.to_json(), record.to_json());
});
