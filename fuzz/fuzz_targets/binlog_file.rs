//! A whole binlog file: magic, framing, every event body, every row, every payload. Never
//! panics; every failure is a `DecodeError`.
#![no_main]

use bytes::Bytes;
use dts_mysql_source::binlog::{BinlogFile, DecodeOptions, Event, EventDecoder, RowPlan};
use libfuzzer_sys::fuzz_target;

fn options() -> DecodeOptions {
    DecodeOptions { verify_checksums: false, max_event_size: 1 << 22, max_uncompressed_size: 1 << 22 }
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = BinlogFile::new(Bytes::copy_from_slice(data), EventDecoder::new(options())) else { return };
    while let Some(Ok((_, ev))) = file.next_event() {
        match &ev.event {
            Event::Rows(rows) => {
                let plan = RowPlan::new(&rows.table);
                for row in rows.rows(&plan) {
                    if row.is_err() {
                        break;
                    }
                }
            }
            Event::TransactionPayload(p) => {
                let p = p.clone();
                for inner in file.decoder().payload_events(&p) {
                    if inner.is_err() {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
});
