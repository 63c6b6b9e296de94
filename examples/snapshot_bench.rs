//! `snapshot_bench URL DB.TABLE [READERS...]`: full data migration speed of `MySqlSource` with
//! 1, 2, 4 (or the given) parallel chunk readers, rows/s, events discarded after decoding.
//! `scripts/bench-snapshot.sh` runs it on a 1M-row sysbench-like table next to
//! `mariadb -e "SELECT * …" > /dev/null`.

use std::time::Instant;

use dts::core::{CancellationToken, Operation, Source, SourceContext};
use dts_mysql_source::protocol::ConnectOptions;
use dts_mysql_source::snapshot::SnapshotOptions;
use dts_mysql_source::{MySqlSource, MySqlSourceConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: snapshot_bench URL DB.TABLE [READERS...]")?;
    let table = args
        .next()
        .ok_or("usage: snapshot_bench URL DB.TABLE [READERS...]")?;
    let mut readers: Vec<usize> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    if readers.is_empty() {
        readers = vec![1, 2, 4];
    }
    for n in readers {
        let mut config =
            MySqlSourceConfig::new(ConnectOptions::from_url(&url)?, 54_900, vec![table.clone()]);
        config.schema_migration = false;
        config.incremental_migration = false;
        config.snapshot = SnapshotOptions {
            chunk_rows: 50_000,
            parallelism: n,
            ..SnapshotOptions::default()
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel::<dts::core::ChangeEvent>(8192);
        let counter = tokio::spawn(async move {
            let mut rows = 0u64;
            while let Some(ev) = rx.recv().await {
                if ev.op == Operation::Init {
                    rows += 1;
                }
            }
            rows
        });
        let started = Instant::now();
        MySqlSource::new(config)
            .run(SourceContext::detached(tx, CancellationToken::new(), None))
            .await?;
        let rows = counter.await?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "readers={n} rows={rows} seconds={secs:.2} rows_per_sec={:.0}",
            rows as f64 / secs
        );
    }
    Ok(())
}
