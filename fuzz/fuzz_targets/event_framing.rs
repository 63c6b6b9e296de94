//! Stream framing: arbitrary bytes pushed in arbitrary pieces split into events or report
//! `Partial`; the events cover exactly the bytes consumed. Never panics.
#![no_main]

use dts_mysql_source::binlog::{Frame, Framer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let mut framer = Framer::new(4, 1 << 20);
    let mut consumed = 0u64;
    for chunk in rest.chunks(usize::from(split).max(1)) {
        framer.push(chunk);
        loop {
            match framer.next_event() {
                Ok(Frame::Event { offset, bytes }) => {
                    assert_eq!(offset, 4 + consumed);
                    consumed += bytes.len() as u64;
                }
                Ok(Frame::Partial { .. }) => break,
                Err(_) => return,
            }
        }
    }
    assert_eq!(consumed + framer.buffered() as u64, rest.len() as u64);
});
