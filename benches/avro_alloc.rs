//! Heap allocations per record of DTS Avro encoding, counted by dhat's global allocator:
//! `DtsAvroCodec` (key and value, steady state: tables seen, buffer reused) against
//! `apache-avro` (build the `Value`, `to_avro_datum`). Fails when ours allocates.
//!
//! `cargo bench -p dts-benches --bench avro_alloc`

#[path = "avro_shapes.rs"]
mod shapes;

use bytes::BytesMut;
use dts_avro::{DtsAvroConfig, record_schema};
use dts_core::{ChangeEvent, Codec};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const N: u64 = 1_000;

fn blocks_during(f: impl FnOnce()) -> u64 {
    let before = dhat::HeapStats::get().total_blocks;
    f();
    dhat::HeapStats::get().total_blocks - before
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let shapes: [(&str, Vec<ChangeEvent>); 2] = [
        ("sysbench_insert", shapes::sysbench(N)),
        ("mixed30_update", shapes::mixed30(N)),
    ];
    println!("allocations per record (dhat):");
    for (name, events) in &shapes {
        let mut codec = DtsAvroConfig::new(shapes::server_version()).build();
        let mut key = BytesMut::with_capacity(1 << 16);
        let mut value = BytesMut::with_capacity(1 << 16);
        let mut run = |codec: &mut dts_avro::DtsAvroCodec| {
            for ev in events {
                codec.encode_key(ev, &mut key).expect("key");
                codec.encode_value(ev, &mut value).expect("value");
                key.clear();
                value.clear();
            }
        };
        run(&mut codec); // warm up: per-table parts
        let ours = blocks_during(|| run(&mut codec));
        let apache = blocks_during(|| {
            for ev in events {
                let datum = apache_avro::to_avro_datum(record_schema(), shapes::apache_record(ev))
                    .expect("apache-avro");
                std::hint::black_box(datum);
            }
        });
        #[allow(clippy::cast_precision_loss)]
        let per = |b: u64| b as f64 / N as f64;
        println!(
            "{name:<18} dts-avro (key + value): {:>6.2}   apache-avro (value): {:>8.1}",
            per(ours),
            per(apache)
        );
        dhat::assert_eq!(ours, 0);
    }
}
