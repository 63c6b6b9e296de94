//! Pipeline overhead: events/s through source ▶ codec ▶ partitioner ▶ sink with in-memory
//! parts (the sink acknowledges at once), i.e. what the pipeline itself costs per event.
//!
//! `cargo bench -p dts-benches --bench pipeline`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dts_benches::inserts;
use dts_core::{CancellationToken, PartitionZero, Pipeline, TopicRouter};
use dts_test_utils::{CollectSink, TestCodec, VecSource, test_table};

fn pipeline(c: &mut Criterion) {
    const N: u64 = 20_000;
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let table = test_table();
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(N));
    group.sample_size(20);
    group.bench_function("in_memory_20k_inserts", |b| {
        b.to_async(&rt).iter_batched(
            || inserts(&table, N, 64),
            |events| async move {
                let report = Pipeline::builder()
                    .source(VecSource::new(events))
                    .codec(TestCodec)
                    .partitioner(PartitionZero)
                    .sink(CollectSink::new(1))
                    .topics(TopicRouter::new("bench"))
                    .build()
                    .expect("pipeline")
                    .run(CancellationToken::new())
                    .await
                    .expect("run");
                assert_eq!(report.records_acked, N);
            },
            criterion::BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
