//! `dts-migrate --config FILE.toml [--precheck-only] [--progress bar|json]`: migrates the
//! selected MySQL/MariaDB tables into Kafka as DTS Avro records — schema, full data and
//! incremental migration as the config says — like Alibaba Cloud DTS's "RDS for MySQL to
//! user-created Kafka".
//!
//! - Prechecks run first (source and destination); every item is printed; a failed item stops
//!   the task (`--precheck-only` exits 0 only if all pass).
//! - Progress: a one-line bar on a terminal, or `--progress json`: one JSON object per second on
//!   stderr (`phase`, `tables_done`, `tables_total`, `rows`, `events_per_sec`, `lag_ms`,
//!   `caught_up`, `position`); `--progress-interval-ms MS` changes the period.
//! - Warnings (a lost replication connection being re-established, a Kafka client error, a
//!   table copied without a key) are logged to stderr as text lines (`… WARN …`) between the
//!   JSON lines; `DTS_LOG` sets the level (`DTS_LOG=debug`, `DTS_LOG=off`).
//! - SIGINT/SIGTERM: stop gracefully (flush, checkpoint, exit 0). A task without incremental
//!   migration ends by itself after the full migration. A restart resumes from the checkpoint.
//!
//! ```toml
//! [source]
//! host = "127.0.0.1"
//! port = 3306
//! user = "dts"
//! password_env = "DTS_SOURCE_PASSWORD"   # or password = "..."
//! server_id = 5401
//! tls = "disabled"                       # disabled | required | verify-ca | verify-identity
//! # tls_ca = "ca.pem"                    # CA to trust when verifying (else the system's roots)
//! # resume = "gtid"                      # resume the binlog by GTID (MariaDB; e.g. after a failover)
//! # server_public_key = "mysql-rsa.pem"  # MySQL 8 caching_sha2_password without TLS: RSA key file,
//! # allow_public_key_retrieval = true    # or fetch the key from the server
//! tables = ["shop.orders", "shop.customers"]   # "db.*" selects every table of db
//!
//! [kafka]
//! bootstrap_servers = "127.0.0.1:9092"
//! topic = "dts"
//! partition_policy = "hash-primary-key"  # partition-zero | hash-db-table | hash-primary-key
//! create_topics = true
//! partitions = 4
//! # security_protocol = "sasl_ssl"      # plaintext | ssl | sasl_plaintext | sasl_ssl
//! # sasl_mechanism = "SCRAM-SHA-256"     # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
//! # username = "dts"
//! # password_env = "DTS_KAFKA_PASSWORD"  # or password = "..."
//! # ssl_ca_location = "kafka-ca.pem"     # CA to trust for SSL / SASL_SSL (else the system's roots)
//! # replication_factor = 3               # of created topics (default 1)
//! # timeout_ms = 30000                   # wait for the brokers: metadata, topic creation, flush
//! # [kafka.client_options]               # any librdkafka setting, e.g. for brokers 0.10.x:
//! # "api.version.request" = "false"      #   with "broker.version.fallback" = "0.10.1"
//!
//! [kafka.topic_mapping]
//! "shop.orders" = "orders"
//!
//! [task]
//! migration_types = ["schema", "full", "incremental"]
//! checkpoint = "dts-checkpoint.json"
//! ```

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use dts_avro::DtsAvroConfig;
use dts_core::{
    CancellationToken, FileCheckpointStore, Pipeline, Progress, Secret, TableId, TopicRouter,
};
use dts_kafka_sink::{DtsPartitioner, KafkaSink, KafkaSinkConfig, PartitionPolicy};
use dts_mysql_source::precheck::{self, CheckStatus, PrecheckOptions};
use dts_mysql_source::protocol::{ConnectOptions, Connection, TlsMode, TlsOptions};
use dts_mysql_source::snapshot::SnapshotOptions;
use dts_mysql_source::{MySqlSource, MySqlSourceConfig, catalog};
use serde::Deserialize;

/// Writes a line to stdout. A closed stdout (`dts-migrate … | head`) is not an error of the
/// migration: the write's failure is ignored, where `println!` would panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).ok();
    }};
}

/// [`out!`] for stderr (progress, notices): a reader of the progress that went away must not
/// stop the graceful stop or the migration.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stderr().lock(), $($arg)*).ok();
    }};
}

/// [`say!`] without the line end (the progress bar).
macro_rules! say_part {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stderr().lock(), $($arg)*).ok();
    }};
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    source: SourceConfig,
    kafka: KafkaConfig,
    #[serde(default)]
    task: TaskConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceConfig {
    host: String,
    #[serde(default = "default_port")]
    port: u16,
    user: String,
    password: Option<String>,
    password_env: Option<String>,
    server_id: u32,
    #[serde(default = "default_tls")]
    tls: String,
    /// PEM file of the CA to trust for verify-ca / verify-identity (else the system's roots).
    tls_ca: Option<PathBuf>,
    /// MySQL 8 `caching_sha2_password` without TLS: the server's RSA public key (PEM file).
    server_public_key: Option<PathBuf>,
    /// ... or fetch it from the server (off by default).
    #[serde(default)]
    allow_public_key_retrieval: bool,
    /// `position` (default) or `gtid`: how incremental migration resumes from a checkpoint.
    #[serde(default)]
    resume: Option<String>,
    tables: Vec<String>,
}

fn default_port() -> u16 {
    3306
}

fn default_tls() -> String {
    "disabled".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KafkaConfig {
    bootstrap_servers: String,
    topic: String,
    #[serde(default = "default_policy")]
    partition_policy: String,
    #[serde(default)]
    create_topics: bool,
    #[serde(default = "default_partitions")]
    partitions: u32,
    #[serde(default = "default_replication")]
    replication_factor: i32,
    security_protocol: Option<String>,
    sasl_mechanism: Option<String>,
    username: Option<String>,
    password: Option<String>,
    password_env: Option<String>,
    ssl_ca_location: Option<PathBuf>,
    #[serde(default)]
    topic_mapping: BTreeMap<String, String>,
    #[serde(default)]
    client_options: BTreeMap<String, String>,
    /// How long to wait for the brokers (default 30 s): metadata at start and at each partition
    /// re-check, topic creation, the final flush. Too short fails a healthy run on a slow
    /// broker.
    timeout_ms: Option<u64>,
}

fn default_policy() -> String {
    "partition-zero".into()
}

fn default_partitions() -> u32 {
    1
}

fn default_replication() -> i32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskConfig {
    #[serde(default = "default_types")]
    migration_types: Vec<String>,
    #[serde(default = "default_checkpoint")]
    checkpoint: PathBuf,
    #[serde(default)]
    chunk_rows: Option<u64>,
    #[serde(default)]
    parallelism: Option<usize>,
    #[serde(default)]
    emit_transaction_markers: bool,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self {
            migration_types: default_types(),
            checkpoint: default_checkpoint(),
            chunk_rows: None,
            parallelism: None,
            emit_transaction_markers: false,
        }
    }
}

fn default_types() -> Vec<String> {
    vec!["schema".into(), "full".into(), "incremental".into()]
}

fn default_checkpoint() -> PathBuf {
    "dts-checkpoint.json".into()
}

fn secret(
    inline: Option<&String>,
    env: Option<&String>,
    what: &str,
) -> anyhow::Result<Option<Secret>> {
    match (inline, env) {
        (Some(_), Some(_)) => bail!("{what}: give password or password_env, not both"),
        (Some(p), None) => Ok(Some(Secret::new(p.clone()))),
        (None, Some(var)) => std::env::var(var)
            .map(|p| Some(Secret::new(p)))
            .with_context(|| {
                format!("{what}: environment variable {var} (password_env) is not set")
            }),
        (None, None) => Ok(None),
    }
}

enum ProgressMode {
    Bar,
    Json,
}

fn progress_json(p: &Progress) -> String {
    let (done, total) = p.tables_done();
    serde_json::json!({
        "phase": p.phase.as_str(),
        "tables_done": done,
        "tables_total": total,
        "rows": p.rows_done(),
        "records": p.records_acked,
        "events_per_sec": p.events_per_sec.round(),
        "lag_ms": p.lag.map(|l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX)),
        "caught_up": p.caught_up,
        "position": p.position.as_ref().map(ToString::to_string),
        "checkpoint": p.checkpoint.as_ref().map(ToString::to_string),
    })
    .to_string()
}

async fn run() -> anyhow::Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let mut config_path = None;
    let mut precheck_only = false;
    let mut interval = Duration::from_secs(1);
    let mut mode = if std::io::stderr().is_terminal() {
        ProgressMode::Bar
    } else {
        ProgressMode::Json
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => {
                config_path = Some(PathBuf::from(args.next().context("--config takes a file")?));
            }
            "--precheck-only" => precheck_only = true,
            "--progress" => {
                mode = match args.next().as_deref() {
                    Some("bar") => ProgressMode::Bar,
                    Some("json") => ProgressMode::Json,
                    other => bail!("--progress takes bar or json, not {other:?}"),
                };
            }
            "--progress-interval-ms" => {
                let ms: u64 = args
                    .next()
                    .context("--progress-interval-ms takes a number")?
                    .parse()
                    .context("--progress-interval-ms takes a number of milliseconds")?;
                interval = Duration::from_millis(ms.max(10));
            }
            "-h" | "--help" => {
                out!(
                    "usage: dts-migrate --config FILE.toml [--precheck-only] [--progress bar|json] [--progress-interval-ms MS]"
                );
                return Ok(ExitCode::SUCCESS);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    let path = config_path.context("--config FILE.toml is required")?;
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let config: Config =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;

    // Source.
    let s = &config.source;
    let tls_mode: TlsMode = s.tls.parse().map_err(|e| anyhow::anyhow!("[source] {e}"))?;
    let tls = TlsOptions {
        mode: tls_mode,
        ca: s.tls_ca.clone(),
    };
    let password =
        secret(s.password.as_ref(), s.password_env.as_ref(), "[source]")?.unwrap_or_default();
    let mut connect = ConnectOptions::new(s.host.clone(), s.port, s.user.clone(), password);
    connect.tls = tls;
    connect.server_public_key = s.server_public_key.clone();
    connect.allow_public_key_retrieval = s.allow_public_key_retrieval;
    let types: Vec<&str> = config
        .task
        .migration_types
        .iter()
        .map(String::as_str)
        .collect();
    for t in &types {
        if !matches!(*t, "schema" | "full" | "incremental") {
            bail!("[task] migration_types: {t:?} is not schema, full or incremental");
        }
    }
    let incremental = types.contains(&"incremental");

    // Kafka.
    let k = &config.kafka;
    let policy: PartitionPolicy = k.partition_policy.parse().map_err(anyhow::Error::msg)?;
    let mut sink_config = KafkaSinkConfig::new(k.bootstrap_servers.clone());
    if let Some(p) = &k.security_protocol {
        sink_config.security_protocol = p.parse().map_err(anyhow::Error::msg)?;
    }
    if let Some(m) = &k.sasl_mechanism {
        sink_config.sasl_mechanism = Some(m.parse().map_err(anyhow::Error::msg)?);
    }
    sink_config.username.clone_from(&k.username);
    sink_config.password = secret(k.password.as_ref(), k.password_env.as_ref(), "[kafka]")?;
    sink_config.ssl_ca_location.clone_from(&k.ssl_ca_location);
    sink_config.client_options.clone_from(&k.client_options);
    if let Some(ms) = k.timeout_ms {
        // librdkafka takes timeouts as a C int of milliseconds.
        if ms == 0 || ms > u64::from(i32::MAX.unsigned_abs()) {
            bail!("[kafka] timeout_ms must be 1..=2147483647, not {ms}");
        }
        sink_config.timeout = Duration::from_millis(ms);
    }
    let mut topics = vec![k.topic.clone()];
    let mut router = TopicRouter::new(k.topic.as_str());
    for (table, topic) in &k.topic_mapping {
        let (db, t) = table
            .split_once('.')
            .with_context(|| format!("[kafka.topic_mapping] {table:?} must be db.table"))?;
        router = router.route(TableId::new(db, t), topic.as_str());
        topics.push(topic.clone());
    }
    topics.sort();
    topics.dedup();

    // Prechecks, source and destination at once; nothing is written (a missing topic is only
    // created once every check passed).
    let sink = KafkaSink::new(sink_config)?;
    let source_checks = async {
        let mut conn = Connection::connect(&connect).await.ok();
        if let Some(c) = conn.as_mut()
            && catalog::plain_session(c).await.is_err()
        {
            conn = None;
        }
        let tables = match conn.as_mut() {
            Some(c) => catalog::expand_tables(c, &s.tables)
                .await
                .unwrap_or_default(),
            None => vec![],
        };
        let report = precheck::run(
            &connect,
            &PrecheckOptions {
                tables: tables.clone(),
                incremental,
                start_file: None,
                server_id: s.server_id,
            },
        )
        .await;
        (conn, tables, report)
    };
    let ((conn, tables, report), destination) =
        tokio::join!(source_checks, sink.ensure_topics(&topics, None));
    let mut ok = true;
    for item in &report.items {
        out!("{item}");
        ok &= item.status != CheckStatus::Fail;
    }
    if tables.is_empty() && conn.is_some() {
        out!(
            "[fail] CHECK_TABLES_SELECTED: {:?} selects no table (fix: check [source] tables)",
            s.tables
        );
        ok = false;
    }
    let create = config
        .kafka
        .create_topics
        .then_some((k.partitions, k.replication_factor));
    let mut create_missing = false;
    match destination {
        Ok(found) => {
            out!(
                "[pass] CHECK_CONN_DEST: connected to {}",
                k.bootstrap_servers
            );
            out!("[pass] CHECK_AUTH_DEST: authorized");
            for (t, n) in &found {
                out!("[pass] CHECK_TOPIC_DEST: topic {t} has {n} partition(s)");
            }
        }
        Err(dts_kafka_sink::Error::MissingTopic(missing)) if create.is_some() => {
            out!(
                "[pass] CHECK_CONN_DEST: connected to {}",
                k.bootstrap_servers
            );
            out!("[pass] CHECK_AUTH_DEST: authorized");
            out!(
                "[pass] CHECK_TOPIC_DEST: missing topic(s) {missing} will be created with {} partition(s) when the migration starts",
                k.partitions
            );
            create_missing = true;
        }
        Err(e) => {
            out!(
                "[fail] CHECK_CONN_DEST / CHECK_TOPIC_DEST: {e} (fix: check bootstrap_servers, security settings, and that the topics exist or create_topics = true)"
            );
            ok = false;
        }
    }
    if precheck_only {
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if !ok {
        say!("dts-migrate: prechecks failed; nothing was written");
        return Ok(ExitCode::FAILURE);
    }
    if create_missing {
        sink.ensure_topics(&topics, create)
            .await
            .map_err(|e| anyhow::anyhow!("creating the topics: {e}"))?;
    }
    let version = conn
        .as_ref()
        .map(|c| c.server().version.clone())
        .unwrap_or_default();
    if let Some(c) = conn {
        c.close().await?;
    }

    let mut source_config = MySqlSourceConfig::new(connect, s.server_id, s.tables.clone());
    source_config.schema_migration = types.contains(&"schema");
    source_config.full_migration = types.contains(&"full");
    source_config.incremental_migration = incremental;
    source_config.resume_by_gtid = match s.resume.as_deref() {
        None | Some("position") => false,
        Some("gtid") => true,
        Some(other) => bail!("[source] resume = {other:?}: expected \"position\" or \"gtid\""),
    };
    let mut snapshot = SnapshotOptions::default();
    if let Some(n) = config.task.chunk_rows {
        snapshot.chunk_rows = n;
    }
    if let Some(n) = config.task.parallelism {
        snapshot.parallelism = n;
    }
    source_config.snapshot = snapshot;
    let mut codec = DtsAvroConfig::new(version);
    codec.emit_transaction_markers = config.task.emit_transaction_markers;
    let pipeline = Pipeline::builder()
        .source(MySqlSource::new(source_config))
        .codec(codec.build())
        .partitioner(DtsPartitioner::new(policy))
        .sink(sink)
        .topics(router)
        .checkpoint_store(FileCheckpointStore::new(config.task.checkpoint.clone()))
        .build()?;
    let handle = pipeline.handle();
    let shutdown = CancellationToken::new();
    {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => {}
            }
            // Cancelled first: nothing after this may keep the stop from happening.
            shutdown.cancel();
            say!("dts-migrate: stopping (flushing and saving the checkpoint)…");
        });
    }
    let reporter = tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let p = handle.progress();
            match mode {
                ProgressMode::Json => say!("{}", progress_json(&p)),
                ProgressMode::Bar => {
                    let (done, total) = p.tables_done();
                    say_part!(
                        "\r{:<11} tables {done}/{total}  rows {:>10}  records {:>10}  {:>8.0}/s  lag {:>6} ms  {}   ",
                        p.phase.as_str(),
                        p.rows_done(),
                        p.records_acked,
                        p.events_per_sec,
                        p.lag.map_or(0, |l| l.as_millis()),
                        if p.caught_up { "caught up" } else { "" }
                    );
                }
            }
        }
    });
    let result = pipeline.run(shutdown).await;
    reporter.abort();
    let report = result?;
    say!();
    out!(
        "dts-migrate: {} records written, checkpoint {}, in {:.1}s",
        report.records_acked,
        report
            .checkpoint
            .as_ref()
            .map_or_else(|| "none".to_owned(), |c| c.position.to_string()),
        report.elapsed.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Warnings (a lost replication connection being re-established, a Kafka client error, a table
/// copied without a key) go to stderr; `DTS_LOG` (e.g. `DTS_LOG=debug`) sets the level.
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("DTS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Another subscriber already set (embedding) is fine: theirs wins.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .ok();
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    match run().await {
        Ok(code) => code,
        Err(e) => {
            say!("dts-migrate: {e:#}");
            ExitCode::FAILURE
        }
    }
}
