//! Binlog decoding throughput: ours vs `mysql_common` (feature `binlog`) on the same file, in
//! the same run. Both read every event and decode every row of every rows event into values.
//!
//! Input: a sysbench-like binlog written by the local MariaDB (`scripts/bench-binlog.sh`:
//! `sbtest(id INT PK, k INT, c CHAR(120), pad CHAR(60))`, 200k inserts, 100k updates, 50k
//! deletes), or any file named by `DTS_BENCH_BINLOG`.
//!
//! ```text
//! scripts/bench-binlog.sh && cargo bench -p dts-benches --bench binlog_decode
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dts_mysql_source::binlog::{BinlogFile, DecodeOptions, Event, EventDecoder, RowPlan};

fn input() -> (PathBuf, Bytes) {
    let path = std::env::var_os("DTS_BENCH_BINLOG").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data/sbtest.binlog"),
        PathBuf::from,
    );
    let data = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run scripts/bench-binlog.sh first (or set DTS_BENCH_BINLOG)",
            path.display()
        )
    });
    (path, Bytes::from(data))
}

/// Our decoder: every event, every row value. Returns rows decoded.
fn ours(data: &Bytes) -> u64 {
    let mut file =
        BinlogFile::new(data.clone(), EventDecoder::new(DecodeOptions::default())).expect("binlog");
    let mut plans: HashMap<u64, RowPlan> = HashMap::new();
    let mut rows = 0u64;
    while let Some(ev) = file.next_event() {
        let (_, ev) = ev.expect("event");
        if let Event::Rows(r) = &ev.event {
            let plan = plans
                .entry(r.table_id)
                .or_insert_with(|| RowPlan::new(&r.table));
            for row in r.rows(plan) {
                black_box(row.expect("row"));
                rows += 1;
            }
        }
    }
    rows
}

/// mysql_common: every event, every row value.
fn theirs(data: &[u8]) -> u64 {
    use mysql_common::binlog::BinlogFile as MyFile;
    use mysql_common::binlog::consts::BinlogVersion;
    use mysql_common::binlog::events::{EventData, TableMapEvent};
    let file = MyFile::new(BinlogVersion::Version4, data).expect("binlog");
    let mut maps: HashMap<u64, TableMapEvent<'static>> = HashMap::new();
    let mut rows = 0u64;
    for ev in file {
        let ev = ev.expect("event");
        match ev.read_data().expect("event data") {
            Some(EventData::TableMapEvent(t)) => {
                maps.insert(t.table_id(), t.into_owned());
            }
            Some(EventData::RowsEvent(r)) => {
                let tme = &maps[&r.table_id()];
                for row in r.rows(tme) {
                    let (before, after) = row.expect("row");
                    black_box((
                        before.map(mysql_common::binlog::row::BinlogRow::unwrap),
                        after.map(mysql_common::binlog::row::BinlogRow::unwrap),
                    ));
                    rows += 1;
                }
            }
            other => {
                black_box(other);
            }
        }
    }
    rows
}

fn decode(c: &mut Criterion) {
    let (path, data) = input();
    let n_ours = ours(&data);
    let n_theirs = theirs(&data);
    assert_eq!(n_ours, n_theirs, "both decoders must see the same rows");
    eprintln!(
        "{}: {} bytes, {n_ours} row changes",
        path.display(),
        data.len()
    );
    let mut group = c.benchmark_group("binlog_decode");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(10);
    group.bench_function("dts", |b| b.iter(|| ours(&data)));
    group.bench_function("mysql_common", |b| b.iter(|| theirs(&data)));
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
