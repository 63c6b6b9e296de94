//! A slow sink keeps memory bounded: the source is held back instead of buffering.
//!
//! dhat's counting global allocator measures the peak of live heap bytes while 80 MiB of events
//! flow through a pipeline whose sink acknowledges slowly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use dts_core::{
    BinlogPosition, CancellationToken, ChangeEvent, MemoryCheckpointStore, PartitionZero, Pipeline,
    Position, Source, SourceContext, TopicRouter, Value,
};
use dts_test_utils::{SlowSink, TestCodec, test_table};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const EVENTS: u64 = 20_000;
const PAYLOAD: usize = 4096;

/// Generates events lazily (a fresh 4 KiB payload each), as a real source reads them.
struct Generator {
    produced: Arc<AtomicU64>,
}

impl Source for Generator {
    type Error = std::convert::Infallible;

    async fn run(self, cx: SourceContext) -> Result<(), Self::Error> {
        let table = test_table();
        for i in 0..EVENTS {
            let row = vec![
                Value::Int(i64::try_from(i).unwrap()),
                Value::Bytes(Bytes::from(vec![7u8; PAYLOAD])),
            ];
            let ev = ChangeEvent::insert(table.clone(), row)
                .at(BinlogPosition::new("mysql-bin.000001", i))
                .with_checkpoint(Position::binlog(BinlogPosition::new(
                    "mysql-bin.000001",
                    i + 1,
                )));
            if cx.send(ev).await.is_err() {
                return Ok(());
            }
            self.produced.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_sink_holds_the_source_back_and_memory_stays_bounded() {
    const CHANNEL: usize = 16;
    const IN_FLIGHT: usize = 64;
    const SINK_QUEUE: usize = 32;
    let produced = Arc::new(AtomicU64::new(0));
    let sink = SlowSink::new(SINK_QUEUE, Duration::from_millis(2), 128);
    let stats = sink.stats();
    let store = MemoryCheckpointStore::new();
    let _profiler = dhat::Profiler::builder().testing().build();
    let baseline = dhat::HeapStats::get().curr_bytes;

    let pipeline = Pipeline::builder()
        .source(Generator {
            produced: produced.clone(),
        })
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(sink)
        .topics(TopicRouter::new("t"))
        .checkpoint_store(store.clone())
        .channel_capacity(CHANNEL)
        .max_in_flight(IN_FLIGHT)
        .build()
        .unwrap();

    // Watch how far the source runs ahead of the sink while it runs.
    let watcher = {
        let produced = produced.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            let mut max_ahead = 0u64;
            loop {
                let p = produced.load(Ordering::Relaxed);
                let r = stats.acked();
                max_ahead = max_ahead.max(p.saturating_sub(r));
                if r >= EVENTS {
                    return max_ahead;
                }
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
        })
    };
    let report = pipeline.run(CancellationToken::new()).await.unwrap();
    let max_ahead = watcher.await.unwrap();
    // dhat's peak is the maximum of live bytes since the profiler started.
    let peak = dhat::HeapStats::get().max_bytes.saturating_sub(baseline);

    assert_eq!(report.records_acked, EVENTS, "nothing dropped");
    assert_eq!(stats.received(), EVENTS);
    match store.get().unwrap().position {
        Position::Binlog { binlog, .. } => assert_eq!(binlog.offset, EVENTS),
        other => panic!("{other:?}"),
    }
    // Events between source and acknowledgement: two channels, the in-flight cap, the sink
    // queue, and one in each stage's hands.
    let bound_events = 2 * CHANNEL + IN_FLIGHT + SINK_QUEUE + 4;
    let bound = bound_events as u64;
    eprintln!(
        "backpressure: {EVENTS} events x {PAYLOAD} B = {} MiB sent; source ran at most {max_ahead} \
         events ahead of acknowledgements (bound {bound}); peak live heap {:.2} MiB",
        (EVENTS * PAYLOAD as u64) >> 20,
        peak as f64 / (1 << 20) as f64,
    );
    assert!(
        max_ahead <= bound,
        "source ran {max_ahead} events ahead (bound {bound}): no backpressure"
    );
    // Payload held at most `bound` events (x2 for the encoded copy) plus fixed overhead;
    // without backpressure it would be the whole 80 MiB.
    let limit = 2 * bound_events * PAYLOAD + (4 << 20);
    assert!(peak < limit, "peak live heap {peak} B exceeds {limit} B");
}
