//! Pipeline behaviour with in-memory sources and sinks: ordered checkpoints, failures,
//! shutdown, resume, progress.
#![allow(clippy::unwrap_used)]

use std::num::NonZeroU32;
use std::time::Duration;

use bytes::Bytes;
use dts_core::{
    BinlogPosition, CancellationToken, ChangeEvent, Checkpoint, Error, MemoryCheckpointStore,
    Operation, PartitionZero, Partitioner, Phase, Pipeline, Position, Source, SourceContext,
    TopicRouter, Value,
};
use dts_test_utils::{BoardSink, CollectSink, ManualSink, TestCodec, VecSource, test_table};

fn pos(offset: u64) -> Position {
    Position::binlog(BinlogPosition::new("mysql-bin.000001", offset))
}

fn offset_of(cp: &Option<Checkpoint>) -> Option<u64> {
    match cp.as_ref().map(|c| &c.position) {
        Some(Position::Binlog { binlog, .. }) => Some(binlog.offset),
        _ => None,
    }
}

/// `n` inserts; event `i` carries checkpoint offset `i` when `checkpoint_every` divides `i`.
fn inserts(n: u64, checkpoint_every: u64) -> Vec<ChangeEvent> {
    let t = test_table();
    (0..n)
        .map(|i| {
            let row = vec![
                Value::Int(i64::try_from(i).unwrap()),
                Value::Bytes(Bytes::from_static(b"x")),
            ];
            let ev = ChangeEvent::insert(t.clone(), row)
                .at(BinlogPosition::new("mysql-bin.000001", i))
                .with_source_ts_ms(1_700_000_000_000 + i);
            if i % checkpoint_every == 0 {
                ev.with_checkpoint(pos(i))
            } else {
                ev
            }
        })
        .collect()
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Runs `pipeline`; its error, which must come within 10 s (`why` says why it must fail).
async fn fails_within_10s(pipeline: Pipeline, why: &str) -> Error {
    tokio::time::timeout(
        Duration::from_secs(10),
        pipeline.run(CancellationToken::new()),
    )
    .await
    .unwrap_or_else(|_| panic!("timed out: {why}"))
    .expect_err(why)
}

#[tokio::test]
async fn out_of_order_acks_never_checkpoint_past_an_unacked_record() {
    let (sink, acks) = ManualSink::new();
    let store = MemoryCheckpointStore::new();
    let pipeline = Pipeline::builder()
        .source(VecSource::new(inserts(10, 1)).then_wait())
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(sink)
        .topics(TopicRouter::new("t"))
        .checkpoint_store(store.clone())
        .checkpoint_interval(Duration::from_millis(5))
        .build()
        .unwrap();
    let handle = pipeline.handle();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(pipeline.run(shutdown.clone()));
    acks.wait_for_records(10).await;

    let checkpoint = || offset_of(&store.get());
    let stays = |expected: Option<u64>| {
        let store = store.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(60)).await;
            assert_eq!(
                offset_of(&store.get()),
                expected,
                "checkpoint moved past an unacked record"
            );
        }
    };
    for i in [5, 6, 7, 9] {
        assert!(acks.ack(i));
    }
    stays(None).await;
    for i in [2, 0, 1] {
        assert!(acks.ack(i));
    }
    eventually("checkpoint at 2", || checkpoint() == Some(2)).await;
    stays(Some(2)).await;
    assert!(acks.ack(4));
    stays(Some(2)).await;
    assert!(acks.ack(3));
    eventually("checkpoint at 7", || checkpoint() == Some(7)).await;
    stays(Some(7)).await;
    assert!(acks.ack(8));
    eventually("checkpoint at 9", || checkpoint() == Some(9)).await;
    assert_eq!(handle.progress().records_acked, 10);

    shutdown.cancel();
    let report = run.await.unwrap().unwrap();
    assert_eq!((report.records, report.records_acked), (10, 10));
    assert_eq!(offset_of(&report.checkpoint), Some(9));
    assert_eq!(report.checkpoints_committed, store.commits());
}

#[tokio::test]
async fn only_transaction_ends_are_checkpointed() {
    // Checkpoints only on every 4th event (a "commit"): acknowledging 0..=6 may only expose 4.
    let (sink, acks) = ManualSink::new();
    let store = MemoryCheckpointStore::new();
    let pipeline = Pipeline::builder()
        .source(VecSource::new(inserts(9, 4)).then_wait())
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(sink)
        .topics(TopicRouter::new("t"))
        .checkpoint_store(store.clone())
        .checkpoint_interval(Duration::from_millis(5))
        .build()
        .unwrap();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(pipeline.run(shutdown.clone()));
    acks.wait_for_records(9).await;
    for i in 0..=6 {
        acks.ack(i);
    }
    eventually("checkpoint at 4", || offset_of(&store.get()) == Some(4)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(offset_of(&store.get()), Some(4));
    acks.ack(7);
    acks.ack(8);
    eventually("checkpoint at 8", || offset_of(&store.get()) == Some(8)).await;
    shutdown.cancel();
    run.await.unwrap().unwrap();
}

#[tokio::test]
async fn non_record_events_are_checkpointed_in_order() {
    // A heartbeat carrying a checkpoint (not a record for the codec) must wait for the record
    // before it.
    let t = test_table();
    let events = vec![
        ChangeEvent::insert(t.clone(), vec![Value::Int(1), Value::Null]),
        ChangeEvent::checkpoint_marker(pos(100)),
        ChangeEvent::insert(t, vec![Value::Int(2), Value::Null]),
        ChangeEvent::checkpoint_marker(pos(200)),
    ];
    let (sink, acks) = ManualSink::new();
    let store = MemoryCheckpointStore::new();
    let pipeline = Pipeline::builder()
        .source(VecSource::new(events).then_wait())
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(sink)
        .topics(TopicRouter::new("t"))
        .checkpoint_store(store.clone())
        .checkpoint_interval(Duration::from_millis(5))
        .build()
        .unwrap();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(pipeline.run(shutdown.clone()));
    acks.wait_for_records(2).await;
    assert_eq!(acks.records().len(), 2, "heartbeats are not records");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        store.get(),
        None,
        "marker after an unacked record was committed"
    );
    acks.ack(1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(store.get(), None);
    acks.ack(0);
    eventually("checkpoint at 200", || offset_of(&store.get()) == Some(200)).await;
    shutdown.cancel();
    let report = run.await.unwrap().unwrap();
    assert_eq!((report.events, report.records), (4, 2));
}

/// The sink stage learns a record's table and binlog file only when they change: an error
/// about a record after changes of both (with markers that have neither in between) still
/// names its own, and progress shows the newest position with its file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_records_own_table_and_file_after_changes() {
    let t = test_table();
    let u = std::sync::Arc::new(
        dts_core::TableSchema::new(
            dts_core::TableId::new("db", "u"),
            t.columns().to_vec(),
            t.primary_key().cloned(),
            vec![],
        )
        .unwrap(),
    );
    let mut events = Vec::new();
    let mut records = 0u64;
    for i in 0..60u64 {
        let table = if (i / 10) % 2 == 0 { &t } else { &u };
        let file = if i < 25 {
            "mysql-bin.000001"
        } else {
            "mysql-bin.000002"
        };
        let row = vec![Value::Int(i64::try_from(i).unwrap()), Value::Null];
        events
            .push(ChangeEvent::insert(table.clone(), row).at(BinlogPosition::new(file, 1000 + i)));
        records += 1;
        if i % 7 == 0 {
            events.push(ChangeEvent::checkpoint_marker(pos(i)));
        }
    }
    assert_eq!(records, 60);
    // Record #33 is event i = 33: table u (10..20 and 30..40), the second file (25..).
    let pipeline = Pipeline::builder()
        .source(VecSource::new(events).then_wait())
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(BoardSink::new(4).failing_at(33))
        .topics(TopicRouter::new("t"))
        .checkpoint_store(MemoryCheckpointStore::new())
        .build()
        .unwrap();
    let err = fails_within_10s(pipeline, "a failed outcome must stop the pipeline").await;
    let text = err.to_string();
    assert!(
        text.contains("refused record #33")
            && text.contains("INSERT on db.u at mysql-bin.000002:1033"),
        "{text}"
    );
}

#[tokio::test]
async fn a_failing_delivery_stops_the_pipeline_with_no_checkpoint_past_it() {
    let sink = CollectSink::new(1).failing_at(5);
    let store = MemoryCheckpointStore::new();
    let pipeline = Pipeline::builder()
        .source(VecSource::new(inserts(10, 1)).then_wait())
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(sink.clone())
        .topics(TopicRouter::new("t"))
        .checkpoint_store(store.clone())
        .build()
        .unwrap();
    let err = fails_within_10s(
        pipeline,
        "a failing sink must stop the pipeline, even with a source that never ends",
    )
    .await;
    let text = err.to_string();
    assert!(matches!(err, Error::Sink { .. }), "{err:?}");
    assert!(
        text.contains("refused record #5") && text.contains("mysql-bin.000001:5"),
        "{text}"
    );
    let committed = offset_of(&store.get());
    assert!(
        committed.is_none_or(|o| o < 5),
        "checkpoint {committed:?} covers the failed record"
    );
    assert_eq!(
        committed,
        Some(4),
        "the acknowledged prefix before the failure is saved"
    );
}

#[tokio::test]
async fn a_failure_among_out_of_order_acks_keeps_the_checkpoint_before_it() {
    let (sink, acks) = ManualSink::new();
    let store = MemoryCheckpointStore::new();
    let pipeline = Pipeline::builder()
        .source(VecSource::new(inserts(6, 1)).then_wait())
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(sink)
        .topics(TopicRouter::new("t"))
        .checkpoint_store(store.clone())
        .build()
        .unwrap();
    let run = tokio::spawn(pipeline.run(CancellationToken::new()));
    acks.wait_for_records(6).await;
    for i in [0, 1, 4, 5] {
        acks.ack(i);
    }
    acks.fail(3, "broker said no");
    let err = run.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("broker said no"), "{err}");
    assert_eq!(offset_of(&store.get()), Some(1));
}

#[tokio::test]
async fn shutdown_drains_flushes_and_checkpoints_exactly_once() {
    let sink = CollectSink::new(1);
    let store = MemoryCheckpointStore::new();
    let pipeline = Pipeline::builder()
        .source(VecSource::new(inserts(100, 1)).then_wait())
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(sink.clone())
        .topics(TopicRouter::new("t"))
        .checkpoint_store(store.clone())
        .checkpoint_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let handle = pipeline.handle();
    let run = tokio::spawn(pipeline.run(CancellationToken::new()));
    // The first interval tick fires at once, before anything is acknowledged.
    eventually("100 records", || sink.records().len() == 100).await;
    handle.stop();
    let report = run.await.unwrap().unwrap();
    assert!(report.shut_down);
    assert_eq!((report.records, report.records_acked), (100, 100));
    assert_eq!(store.commits(), 1, "exactly one checkpoint, the final one");
    assert_eq!(report.checkpoints_committed, 1);
    assert_eq!(offset_of(&store.get()), Some(99));
    assert!(sink.flushes() >= 1, "the sink was flushed");
    assert_eq!(handle.progress().phase, Phase::Done);
}

#[tokio::test]
async fn shutdown_waits_for_pending_deliveries() {
    let (sink, acks) = ManualSink::new();
    let store = MemoryCheckpointStore::new();
    let pipeline = Pipeline::builder()
        .source(VecSource::new(inserts(10, 1)).then_wait())
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(sink)
        .topics(TopicRouter::new("t"))
        .checkpoint_store(store.clone())
        .checkpoint_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(pipeline.run(shutdown.clone()));
    acks.wait_for_records(10).await;
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !run.is_finished(),
        "returned before pending deliveries were acknowledged"
    );
    for i in (0..10).rev() {
        acks.ack(i);
    }
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.records_acked, 10);
    assert_eq!(store.commits(), 1);
    assert_eq!(offset_of(&store.get()), Some(9));
}

#[tokio::test]
async fn a_source_that_ends_ends_the_pipeline() {
    let sink = CollectSink::new(1);
    let pipeline = Pipeline::builder()
        .source(VecSource::new(inserts(7, 1)))
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(sink.clone())
        .topics(TopicRouter::new("t"))
        .build()
        .unwrap();
    let report = pipeline.run(CancellationToken::new()).await.unwrap();
    assert!(!report.shut_down);
    assert_eq!(report.records_acked, 7);
    assert_eq!(offset_of(&report.checkpoint), Some(6));
}

#[tokio::test]
async fn codec_failure_names_the_event() {
    let mut events = inserts(5, 1);
    events[3].server_id = u32::MAX; // TestCodec refuses it
    let store = MemoryCheckpointStore::new();
    let pipeline = Pipeline::builder()
        .source(VecSource::new(events).then_wait())
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(CollectSink::new(1))
        .topics(TopicRouter::new("t"))
        .checkpoint_store(store.clone())
        .build()
        .unwrap();
    let err = fails_within_10s(pipeline, "the pipeline must fail").await;
    let text = err.to_string();
    assert!(matches!(err, Error::Encode { .. }), "{err:?}");
    assert!(
        text.contains("INSERT on db.t at mysql-bin.000001:3"),
        "{text}"
    );
    assert_eq!(offset_of(&store.get()), Some(2));
}

/// A source that records what it was told to resume from.
struct ResumeProbe(tokio::sync::oneshot::Sender<Option<Checkpoint>>);

impl Source for ResumeProbe {
    type Error = std::convert::Infallible;
    async fn run(self, cx: SourceContext) -> Result<(), Self::Error> {
        self.0.send(cx.resume_from().cloned()).unwrap();
        let t = test_table();
        cx.send(ChangeEvent::insert(t, vec![Value::Int(1), Value::Null]).with_checkpoint(pos(7)))
            .await
            .unwrap();
        Ok(())
    }
}

#[tokio::test]
async fn resume_hands_the_checkpoint_to_the_source_and_ids_keep_increasing() {
    let far_future_id = u64::MAX / 2;
    let store = MemoryCheckpointStore::with(Checkpoint::new(pos(5), far_future_id));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let sink = CollectSink::new(1);
    let pipeline = Pipeline::builder()
        .source(ResumeProbe(tx))
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(sink.clone())
        .topics(TopicRouter::new("t"))
        .checkpoint_store(store.clone())
        .build()
        .unwrap();
    pipeline.run(CancellationToken::new()).await.unwrap();
    assert_eq!(offset_of(&rx.await.unwrap()), Some(5));
    let key = sink.records()[0].key.clone().unwrap();
    assert_eq!(
        std::str::from_utf8(&key).unwrap(),
        far_future_id.to_string()
    );
    let saved = store.get().unwrap();
    assert_eq!(offset_of(&Some(saved.clone())), Some(7));
    assert!(saved.next_id > far_future_id);
}

#[tokio::test]
async fn ids_strictly_increase() {
    let sink = CollectSink::new(1);
    let pipeline = Pipeline::builder()
        .source(VecSource::new(inserts(500, 1)))
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(sink.clone())
        .topics(TopicRouter::new("t"))
        .build()
        .unwrap();
    pipeline.run(CancellationToken::new()).await.unwrap();
    let ids: Vec<u64> = sink
        .records()
        .iter()
        .map(|r| {
            std::str::from_utf8(r.key.as_ref().unwrap())
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 500);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids not strictly increasing"
    );
}

struct Fixed(u32);
impl Partitioner for Fixed {
    fn partition(&self, _: &ChangeEvent, _: NonZeroU32) -> u32 {
        self.0
    }
}

#[tokio::test]
async fn partitions_route_and_out_of_range_is_an_error() {
    let sink = CollectSink::new(4);
    let t = test_table();
    let routes = TopicRouter::new("default").route(t.id().clone(), "per-table");
    let pipeline = Pipeline::builder()
        .source(VecSource::new(inserts(3, 1)))
        .codec(TestCodec)
        .partitioner(Fixed(3))
        .sink(sink.clone())
        .topics(routes.clone())
        .build()
        .unwrap();
    pipeline.run(CancellationToken::new()).await.unwrap();
    assert!(
        sink.records()
            .iter()
            .all(|r| r.partition == 3 && &*r.topic == "per-table")
    );

    let pipeline = Pipeline::builder()
        .source(VecSource::new(inserts(3, 1)).then_wait())
        .codec(TestCodec)
        .partitioner(Fixed(4))
        .sink(CollectSink::new(4))
        .topics(routes)
        .build()
        .unwrap();
    let err = pipeline.run(CancellationToken::new()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::PartitionOutOfRange {
                partition: 4,
                partitions: 4,
                ..
            }
        ),
        "{err}"
    );
}

/// A sink that knows only some topics; counts the partition-count questions.
struct KnowsTopics {
    known: &'static [&'static str],
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

#[derive(Debug, thiserror::Error)]
#[error("topic {0} does not exist")]
struct NoTopic(String);

impl dts_core::Sink for KnowsTopics {
    type Error = NoTopic;
    async fn partition_count(&mut self, topic: &str) -> Result<NonZeroU32, NoTopic> {
        self.asked.lock().unwrap().push(topic.to_owned());
        if self.known.contains(&topic) {
            Ok(NonZeroU32::new(2).unwrap())
        } else {
            Err(NoTopic(topic.to_owned()))
        }
    }
    async fn send(&mut self, _: dts_core::SinkRecord) -> Result<dts_core::Delivery, NoTopic> {
        self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(dts_core::Delivery::acknowledged())
    }
    async fn flush(&mut self) -> Result<(), NoTopic> {
        Ok(())
    }
}

#[tokio::test]
async fn partition_counts_are_read_once_per_topic_before_anything_is_sent() {
    let t = test_table();
    let other = dts_core::TableId::new("db", "other");
    let run = |known: &'static [&'static str]| {
        let asked = std::sync::Arc::default();
        let sent = std::sync::Arc::default();
        let sink = KnowsTopics {
            known,
            asked: std::sync::Arc::clone(&asked),
            sent: std::sync::Arc::clone(&sent),
        };
        let pipeline = Pipeline::builder()
            .source(VecSource::new(inserts(20, 1)))
            .codec(TestCodec)
            .partitioner(PartitionZero)
            .sink(sink)
            .topics(
                TopicRouter::new("default")
                    .route(t.id().clone(), "per-table")
                    .route(other.clone(), "default"),
            )
            .build()
            .unwrap();
        (pipeline, asked, sent)
    };

    let (pipeline, asked, sent) = run(&["default", "per-table"]);
    let report = pipeline.run(CancellationToken::new()).await.unwrap();
    assert_eq!(report.records, 20);
    assert_eq!(sent.load(std::sync::atomic::Ordering::Relaxed), 20);
    let mut asked = asked.lock().unwrap().clone();
    asked.sort();
    assert_eq!(asked, ["default", "per-table"], "each topic asked once");

    // A topic no record has reached yet still stops the task before anything is sent.
    let (pipeline, _, sent) = run(&["default"]);
    let handle = pipeline.handle();
    let err = pipeline.run(CancellationToken::new()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Partitions { topic, .. } if topic.contains("per-table")),
        "{err}"
    );
    assert!(err.to_string().contains("per-table"), "{err}");
    assert_eq!(sent.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert_eq!(handle.progress().phase, Phase::Failed);
}

#[tokio::test]
async fn progress_counts_snapshot_rows_lag_and_caught_up() {
    let t = test_table();
    let now_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let mut events: Vec<ChangeEvent> = (0..5)
        .map(|i| ChangeEvent::init(t.clone(), vec![Value::Int(i), Value::Null]))
        .collect();
    events.push(
        ChangeEvent::insert(t.clone(), vec![Value::Int(9), Value::Null]).with_source_ts_ms(now_ms),
    );
    struct Phased(Vec<ChangeEvent>);
    impl Source for Phased {
        type Error = std::convert::Infallible;
        async fn run(self, cx: SourceContext) -> Result<(), Self::Error> {
            cx.progress().set_phase(Phase::Snapshot);
            cx.progress().set_table_estimate(&TableIdOf::id(), Some(5));
            for e in self.0 {
                if e.op == Operation::Insert {
                    cx.progress().set_table_done(&TableIdOf::id());
                    cx.progress().set_phase(Phase::Incremental);
                }
                cx.send(e).await.unwrap();
            }
            cx.shutdown().cancelled().await;
            Ok(())
        }
    }
    struct TableIdOf;
    impl TableIdOf {
        fn id() -> dts_core::TableId {
            test_table().id().clone()
        }
    }
    let pipeline = Pipeline::builder()
        .source(Phased(events))
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(CollectSink::new(1))
        .topics(TopicRouter::new("t"))
        .caught_up_threshold(Duration::from_secs(60))
        .build()
        .unwrap();
    let handle = pipeline.handle();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(pipeline.run(shutdown.clone()));
    eventually("6 acked", || handle.progress().records_acked == 6).await;
    let p = handle.progress();
    assert_eq!(p.phase, Phase::Incremental);
    let tp = &p.tables[t.id()];
    assert_eq!(
        (tp.rows_done, tp.rows_estimated, tp.done),
        (5, Some(5), true)
    );
    assert_eq!(p.tables_done(), (1, 1));
    let lag = p
        .lag
        .expect("lag known after an acked event with a source time");
    assert!(lag < Duration::from_secs(60), "{lag:?}");
    assert!(p.caught_up);
    shutdown.cancel();
    run.await.unwrap().unwrap();
}

#[test]
fn missing_parts_and_bad_settings_are_refused() {
    let err = Pipeline::builder().codec(TestCodec).build().unwrap_err();
    assert!(err.to_string().contains("source"), "{err}");
    let err = Pipeline::builder()
        .source(VecSource::new(vec![]))
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(CollectSink::new(1))
        .topics(TopicRouter::new("t"))
        .max_in_flight(0)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("max_in_flight"), "{err}");
}

/// Splits every UPDATE whose first column changes, like a hash-of-key partitioner on a key change.
struct SplitKeyChanges;

impl Partitioner for SplitKeyChanges {
    fn partition(&self, event: &ChangeEvent, _: NonZeroU32) -> u32 {
        match event
            .after
            .as_ref()
            .or(event.before.as_ref())
            .map(|r| &r[0])
        {
            Some(Value::Int(k)) => u32::try_from(k % 2).unwrap(),
            _ => 0,
        }
    }

    fn splits_update(&self, event: &ChangeEvent) -> bool {
        event.before.as_ref().map(|r| &r[0]) != event.after.as_ref().map(|r| &r[0])
    }
}

#[tokio::test]
async fn a_key_changing_update_is_sent_as_delete_then_insert_with_the_checkpoint_on_the_insert() {
    let t = test_table();
    let row = |k: i64, v: &'static [u8]| vec![Value::Int(k), Value::Bytes(Bytes::from_static(v))];
    let events = vec![
        ChangeEvent::update(t.clone(), row(1, b"old"), row(1, b"same-key"))
            .with_checkpoint(pos(10)),
        ChangeEvent::update(t.clone(), row(1, b"x"), row(2, b"moved")).with_checkpoint(pos(20)),
    ];
    let sink = CollectSink::new(2);
    let report = Pipeline::builder()
        .source(VecSource::new(events))
        .codec(TestCodec)
        .partitioner(SplitKeyChanges)
        .sink(sink.clone())
        .topics(TopicRouter::new("t"))
        .build()
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    let got: Vec<(Operation, u32)> = sink.records().iter().map(|r| (r.op, r.partition)).collect();
    assert_eq!(
        got,
        [
            (Operation::Update, 1),
            (Operation::Delete, 1),
            (Operation::Insert, 0)
        ],
        "the key change is split, each half placed by its own key"
    );
    assert_eq!(report.records_acked, 3);
    assert_eq!(offset_of(&report.checkpoint), Some(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_outcomes_out_of_order_are_checkpointed_in_order() {
    let store = MemoryCheckpointStore::new();
    let run = Pipeline::builder()
        .source(VecSource::new(inserts(1000, 10)))
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(BoardSink::new(64))
        .topics(TopicRouter::new("t"))
        .checkpoint_store(store.clone())
        .max_in_flight(100)
        .build()
        .unwrap()
        .run(CancellationToken::new());
    let report = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("every outcome is reported: the pipeline must end")
        .unwrap();
    assert_eq!(report.records, 1000);
    assert_eq!(report.records_acked, 1000);
    assert_eq!(offset_of(&store.get()), Some(990));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_board_outcome_stops_the_pipeline_with_no_checkpoint_past_it() {
    let store = MemoryCheckpointStore::new();
    let pipeline = Pipeline::builder()
        .source(VecSource::new(inserts(100, 1)).then_wait())
        .codec(TestCodec)
        .partitioner(PartitionZero)
        .sink(BoardSink::new(8).failing_at(37))
        .topics(TopicRouter::new("t"))
        .checkpoint_store(store.clone())
        .build()
        .unwrap();
    let err = fails_within_10s(
        pipeline,
        "a failed outcome must stop the pipeline, even with a source that never ends",
    )
    .await;
    let text = err.to_string();
    assert!(
        text.contains("refused record #37") && text.contains("mysql-bin.000001:37"),
        "{text}"
    );
    let committed = offset_of(&store.get());
    assert!(
        committed.is_none_or(|o| o < 37),
        "checkpoint {committed:?} covers the failed record"
    );
}

/// A sink whose topic `tN` has N partitions; keeps each record's topic and partition.
struct CountedTopics(std::sync::Arc<std::sync::Mutex<Vec<(String, u32)>>>);

impl dts_core::Sink for CountedTopics {
    type Error = NoTopic;
    async fn partition_count(&mut self, topic: &str) -> Result<NonZeroU32, NoTopic> {
        topic
            .strip_prefix('t')
            .and_then(|n| n.parse().ok())
            .and_then(NonZeroU32::new)
            .ok_or_else(|| NoTopic(topic.to_owned()))
    }
    async fn send(&mut self, r: dts_core::SinkRecord) -> Result<dts_core::Delivery, NoTopic> {
        self.0
            .lock()
            .unwrap()
            .push((r.topic.to_string(), r.partition));
        Ok(dts_core::Delivery::acknowledged())
    }
    async fn flush(&mut self) -> Result<(), NoTopic> {
        Ok(())
    }
}

/// The last partition of whatever count it is given.
struct LastPartition;
impl Partitioner for LastPartition {
    fn partition(&self, _: &ChangeEvent, partitions: NonZeroU32) -> u32 {
        partitions.get() - 1
    }
}

/// Records alternating between two topics with different partition counts each get their own
/// topic's count (the encoder remembers the last topic's count; switching must not reuse it).
#[tokio::test]
async fn alternating_topics_each_get_their_own_partition_count() {
    let t = test_table();
    let u = std::sync::Arc::new(
        dts_core::TableSchema::new(
            dts_core::TableId::new("db", "u"),
            t.columns().to_vec(),
            t.primary_key().cloned(),
            vec![],
        )
        .unwrap(),
    );
    let events: Vec<ChangeEvent> = (0..40)
        .map(|i| {
            let table = if i % 3 == 0 { u.clone() } else { t.clone() };
            ChangeEvent::insert(table, vec![Value::Int(i), Value::Null])
        })
        .collect();
    let seen = std::sync::Arc::default();
    let pipeline = Pipeline::builder()
        .source(VecSource::new(events))
        .codec(TestCodec)
        .partitioner(LastPartition)
        .sink(CountedTopics(std::sync::Arc::clone(&seen)))
        .topics(TopicRouter::new("t7").route(u.id().clone(), "t3"))
        .build()
        .unwrap();
    pipeline.run(CancellationToken::new()).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 40);
    for (i, (topic, partition)) in seen.iter().enumerate() {
        let expected = if i % 3 == 0 { ("t3", 2) } else { ("t7", 6) };
        assert_eq!((topic.as_str(), *partition), expected, "record {i}");
    }
}
