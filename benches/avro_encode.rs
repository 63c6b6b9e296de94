//! DTS Avro encoding speed: `DtsAvroCodec` (hand-written encoder) against `apache-avro`
//! building the same record as a `Value` and writing it with `to_avro_datum` and the same
//! schema, on sysbench-like INSERTs and on UPDATEs of a 30-column mixed-type table.
//!
//! `cargo bench -p dts-benches --bench avro_encode`
//!
//! Criterion reports time, records/s and bytes/s per case; a summary at the end prints
//! records/s, MiB/s and the ratio ours / apache-avro measured in the same run. Allocations per
//! record are counted by the `avro_alloc` bench (dhat's counting allocator would slow
//! `apache-avro` down here and flatter the ratio).

#[path = "avro_shapes.rs"]
mod shapes;

use std::hint::black_box;
use std::time::{Duration, Instant};

use apache_avro::to_avro_datum;
use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group};
use dts_avro::{DtsAvroCodec, DtsAvroConfig, DtsRecord, record_schema};
use dts_core::{ChangeEvent, Codec};

const N: u64 = 1_000;

fn codec() -> DtsAvroCodec {
    DtsAvroConfig::new(shapes::server_version()).build()
}

/// Encodes every event's value with our codec into one reused buffer; returns the bytes
/// written.
fn ours(codec: &mut DtsAvroCodec, events: &[ChangeEvent], buf: &mut BytesMut) -> usize {
    let mut total = 0;
    for ev in events {
        codec.encode_value(ev, buf).expect("encode");
        total += buf.len();
        black_box(&buf[..]);
        buf.clear();
    }
    total
}

/// Builds each record as an apache-avro `Value` and writes it; returns the bytes written.
fn apache(events: &[ChangeEvent]) -> usize {
    events
        .iter()
        .map(|ev| {
            let datum =
                to_avro_datum(record_schema(), shapes::apache_record(ev)).expect("apache-avro");
            black_box(&datum);
            datum.len()
        })
        .sum()
}

fn shapes_list() -> [(&'static str, Vec<ChangeEvent>); 2] {
    [
        ("sysbench_insert", shapes::sysbench(N)),
        ("mixed30_update", shapes::mixed30(N)),
    ]
}

/// Both encoders write records of the same size that both readers accept.
fn check_same_records(events: &[ChangeEvent]) -> u64 {
    let mut codec = codec();
    let mut buf = BytesMut::new();
    let mut bytes = 0;
    for ev in events.iter().take(50) {
        codec.encode_value(ev, &mut buf).expect("encode");
        let theirs = to_avro_datum(record_schema(), shapes::apache_record(ev)).expect("apache");
        assert_eq!(buf.len(), theirs.len(), "record sizes differ");
        let a = DtsRecord::decode(&buf).expect("ours decodes");
        let b = DtsRecord::decode(&theirs).expect("theirs decodes");
        let sorted = |r: &DtsRecord| {
            let mut t = r.tags.clone();
            t.sort();
            t
        };
        assert_eq!(sorted(&a), sorted(&b));
        assert_eq!(
            (a.fields, a.before_images, a.after_images),
            (b.fields, b.before_images, b.after_images)
        );
        buf.clear();
    }
    let mut total = 0;
    for ev in events {
        codec.encode_value(ev, &mut buf).expect("encode");
        total += buf.len();
        buf.clear();
    }
    bytes += u64::try_from(total).expect("fits");
    bytes
}

fn encode(c: &mut Criterion) {
    for (name, events) in shapes_list() {
        let bytes = check_same_records(&events);
        let mut group = c.benchmark_group(format!("avro_encode/{name}"));
        group.throughput(Throughput::ElementsAndBytes { elements: N, bytes });
        group.measurement_time(Duration::from_secs(4));
        let mut codec = codec();
        let mut buf = BytesMut::with_capacity(1 << 16);
        group.bench_function("dts_avro", |b| {
            b.iter(|| ours(&mut codec, &events, &mut buf));
        });
        group.bench_function("apache_avro", |b| b.iter(|| apache(&events)));
        group.finish();
    }
}

/// Runs `f` (one pass over `n` records) repeatedly for about `budget`; records/s.
fn rate(n: u64, budget: Duration, mut f: impl FnMut() -> usize) -> f64 {
    // Warm up.
    black_box(f());
    let start = Instant::now();
    let mut passes = 0u32;
    while start.elapsed() < budget {
        black_box(f());
        passes += 1;
    }
    let records = f64::from(passes) * f64::from(u32::try_from(n).unwrap_or(u32::MAX));
    records / start.elapsed().as_secs_f64()
}

fn summary() {
    println!("\nDTS Avro encode summary (same run, single thread):");
    println!(
        "{:<18} {:>14} {:>10} {:>14} {:>10} {:>7}",
        "shape", "ours rec/s", "ours MiB/s", "apache rec/s", "apache MiB/s", "ratio"
    );
    for (name, events) in shapes_list() {
        let bytes = check_same_records(&events);
        #[allow(clippy::cast_precision_loss)]
        let per_record = bytes as f64 / N as f64;
        let mut codec = codec();
        let mut buf = BytesMut::with_capacity(1 << 16);
        let budget = Duration::from_secs(2);
        let ours_rate = rate(N, budget, || ours(&mut codec, &events, &mut buf));
        let apache_rate = rate(N, budget, || apache(&events));
        let mib = |r: f64| r * per_record / (1024.0 * 1024.0);
        println!(
            "{name:<18} {ours_rate:>14.0} {:>10.1} {apache_rate:>14.0} {:>10.1} {:>6.1}x",
            mib(ours_rate),
            mib(apache_rate),
            ours_rate / apache_rate
        );
    }
}

criterion_group!(benches, encode);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
