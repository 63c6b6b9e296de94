//! A rows event decoded against a table map, both from the input (the first byte splits
//! them): every row of every image. Never panics, never loops.
#![no_main]

use bytes::Bytes;
use dts_mysql_source::binlog::{Event, EventDecoder, RowPlan};
use libfuzzer_sys::fuzz_target;

fn event(ty: u8, body: &[u8]) -> Bytes {
    let size = (19 + body.len()) as u32;
    let mut e = vec![0, 0, 0, 0, ty, 1, 0, 0, 0];
    e.extend_from_slice(&size.to_le_bytes());
    e.extend_from_slice(&[0; 6]);
    e.extend_from_slice(body);
    Bytes::from(e)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let Some((&kind, rest)) = rest.split_first() else { return };
    let split = usize::from(split).min(rest.len());
    let (map, rows) = rest.split_at(split);
    let mut d = EventDecoder::default();
    if d.decode(&event(19, map)).is_err() {
        return;
    }
    let ty = [23, 24, 25, 30, 31, 32, 39, 166, 167, 168, 169, 170, 171][usize::from(kind) % 13];
    let Ok(ev) = d.decode(&event(ty, rows)) else { return };
    if let Event::Rows(r) = &ev.event {
        let plan = RowPlan::new(&r.table);
        for row in r.rows(&plan) {
            if row.is_err() {
                break;
            }
        }
    }
});
