//! `stream_bench URL DB.TABLE FILE OFFSET ROWS [encode]`: incremental migration speed of
//! `MySqlSource` alone — the binlog streamed from FILE:OFFSET until ROWS row changes arrived,
//! events discarded after decoding (or, with `encode`, after encoding each into DTS Avro on
//! the consuming task). Tells how much of the end-to-end time the source (and the codec) take:
//! `scripts/bench-e2e.sh` measures the whole pipeline into Kafka.

use std::time::Instant;

use dts::core::{
    BinlogPosition, CancellationToken, Checkpoint, Codec, Operation, Position, Source,
    SourceContext,
};
use dts_avro::DtsAvroCodec;
use dts_mysql_source::protocol::ConnectOptions;
use dts_mysql_source::{MySqlSource, MySqlSourceConfig};

const USAGE: &str = "usage: stream_bench URL DB.TABLE FILE OFFSET ROWS [encode]";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or(USAGE)?;
    let table = args.next().ok_or(USAGE)?;
    let file = args.next().ok_or(USAGE)?;
    let offset: u64 = args.next().ok_or(USAGE)?.parse()?;
    let want: u64 = args.next().ok_or(USAGE)?.parse()?;
    let encode = args.next().as_deref() == Some("encode");

    // A server_id of its own per run: re-registering with the id of a replica stopped a moment
    // ago waits ~100 ms while MariaDB retires the old dump thread.
    let server_id = 50_000 + std::process::id() % 10_000;
    let mut config =
        MySqlSourceConfig::new(ConnectOptions::from_url(&url)?, server_id, vec![table]);
    config.schema_migration = false;
    config.full_migration = false;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<dts::core::ChangeEvent>(8192);
    let stop = CancellationToken::new();
    let resume = Checkpoint::new(Position::binlog(BinlogPosition::new(file, offset)), 1);
    let source = tokio::spawn(MySqlSource::new(config).run(SourceContext::detached(
        tx,
        stop.clone(),
        Some(resume),
    )));
    let started = Instant::now();
    let mut codec = DtsAvroCodec::new(dts_avro::DtsAvroConfig::default());
    let mut buf = bytes::BytesMut::with_capacity(1 << 16);
    let mut rows = 0u64;
    let mut bytes = 0usize;
    let mut events = Vec::with_capacity(256);
    while rx.recv_many(&mut events, 256).await > 0 {
        for ev in events.drain(..) {
            if matches!(
                ev.op,
                Operation::Insert | Operation::Update | Operation::Delete
            ) {
                rows += 1;
            }
            if encode {
                codec.encode_value(&ev, &mut buf)?;
                bytes += buf.len();
                buf.clear();
            }
        }
        if rows >= want {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    stop.cancel();
    drop(rx);
    source.await??;
    println!(
        "rows={rows} seconds={secs:.2} rows_per_sec={:.0} encoded_bytes={bytes}",
        rows as f64 / secs
    );
    Ok(())
}
