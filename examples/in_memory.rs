//! The pipeline with in-memory parts: a source of generated inserts, the test codec, and a sink
//! that acknowledges slowly. Shows progress while it runs and the report at the end.
//!
//! ```text
//! cargo run -p dts-examples --bin in-memory -- 200000
//! ```

use std::time::Duration;

use bytes::Bytes;
use dts::core::{
    BinlogPosition, CancellationToken, ChangeEvent, MemoryCheckpointStore, PartitionZero, Pipeline,
    Position, TopicRouter, Value,
};
use dts_test_utils::{SlowSink, TestCodec, VecSource, test_table};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|e| format!("row count {arg:?}: {e}"))?,
        None => 100_000,
    };
    let table = test_table();
    let events = (0..n)
        .map(|i| {
            let row = vec![
                Value::Int(i64::try_from(i)?),
                Value::Bytes(Bytes::from_static(b"row")),
            ];
            let offset = 4 + i * 100;
            Ok(ChangeEvent::insert(table.clone(), row)
                .at(BinlogPosition::new("mysql-bin.000001", offset))
                .with_checkpoint(Position::binlog(BinlogPosition::new(
                    "mysql-bin.000001",
                    offset + 100,
                ))))
        })
        .collect::<Result<Vec<_>, std::num::TryFromIntError>>()?;

    let store = MemoryCheckpointStore::new();
    let pipeline = Pipeline::builder()
        .source(VecSource::new(events))
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(SlowSink::new(1024, Duration::from_millis(1), 4096))
        .topics(TopicRouter::new("demo"))
        .checkpoint_store(store)
        .build()?;
    let handle = pipeline.handle();
    let watcher = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let p = handle.progress();
            eprintln!(
                "{:>11} {:>9} acked {:>10.0}/s",
                p.phase.as_str(),
                p.records_acked,
                p.events_per_sec
            );
        }
    });
    let report = pipeline.run(CancellationToken::new()).await?;
    watcher.abort();
    println!(
        "{} records acknowledged in {:?} ({:.0}/s); checkpoint {}",
        report.records_acked,
        report.elapsed,
        report.records_acked as f64 / report.elapsed.as_secs_f64(),
        report
            .checkpoint
            .map_or_else(|| "none".to_owned(), |c| c.position.to_string()),
    );
    Ok(())
}
