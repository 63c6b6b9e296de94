//! `dts-tail`: print the DTS Avro records of a Kafka topic as JSON, one line per record.
//!
//! ```text
//! dts-tail --topic dts [--bootstrap HOST:PORT] [--partition P]... [--offset N]
//!          [--idle-ms MS | --follow] [--max N]
//! ```
//!
//! Reads every partition of the topic (or the ones given with `--partition`) with explicit
//! partition assignment, no consumer group: nothing is committed and any number of `dts-tail`
//! can run at once. Starts at the beginning of each partition, or at offset `N` with
//! `--offset`. Each message value is decoded as one DTS Avro `Record` and printed as
//!
//! ```text
//! {"topic":"dts","partition":0,"offset":12,"key":"shop.orders:42","record":{...}}
//! ```
//!
//! with `record` as `DtsRecord::to_json` shows it (`operation`, `objectName`, `fields`,
//! `afterImages`, ...). A value that is not a valid record prints `"error"` (what, where) and
//! `"value_hex"` instead of `record`, and the exit status is then 2.
//!
//! Stops once no record arrived for `--idle-ms` (default 5000), or after `--max` records; with
//! `--follow` runs until interrupted. The bootstrap servers default to `DTS_KAFKA_BOOTSTRAP`.
//! Extra librdkafka settings can be passed as `-X key=value` (e.g. `-X security.protocol=ssl`).

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dts_avro::DtsRecord;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value as Json, json};

const USAGE: &str = "usage: dts-tail --topic TOPIC [--bootstrap HOST:PORT] [--partition P]... \
[--offset N] [--idle-ms MS | --follow] [--max N] [-X key=value]...

Prints the DTS Avro records of TOPIC as JSON lines (topic, partition, offset, key, record).
  --bootstrap HOST:PORT  Kafka bootstrap servers (default: $DTS_KAFKA_BOOTSTRAP)
  --partition P          read only partition P (repeatable; default: every partition)
  --offset N             start at offset N of each partition (default: the beginning)
  --idle-ms MS           stop after MS milliseconds without a record (default 5000)
  --follow               never stop on idle
  --max N                stop after N records
  -X key=value           extra librdkafka setting";

#[derive(Debug)]
struct Args {
    bootstrap: String,
    topic: String,
    partitions: Vec<i32>,
    offset: Option<i64>,
    idle: Duration,
    follow: bool,
    max: Option<u64>,
    extra: Vec<(String, String)>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Option<Args>> {
    let mut bootstrap = std::env::var("DTS_KAFKA_BOOTSTRAP").ok();
    let mut topic = None;
    let mut partitions = Vec::new();
    let mut offset = None;
    let mut idle = Duration::from_millis(5000);
    let mut follow = false;
    let mut max = None;
    let mut extra = Vec::new();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--bootstrap" => bootstrap = Some(value("--bootstrap")?),
            "--topic" => topic = Some(value("--topic")?),
            "--partition" => partitions.push(
                value("--partition")?
                    .parse()
                    .context("--partition takes a partition number")?,
            ),
            "--offset" => {
                let n: i64 = value("--offset")?
                    .parse()
                    .context("--offset takes a number")?;
                if n < 0 {
                    bail!("--offset must not be negative");
                }
                offset = Some(n);
            }
            "--idle-ms" => {
                idle = Duration::from_millis(
                    value("--idle-ms")?
                        .parse()
                        .context("--idle-ms takes milliseconds")?,
                );
            }
            "--follow" => follow = true,
            "--max" => max = Some(value("--max")?.parse().context("--max takes a number")?),
            "-X" => {
                let kv = value("-X")?;
                let (k, v) = kv.split_once('=').context("-X takes key=value")?;
                extra.push((k.to_owned(), v.to_owned()));
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(Some(Args {
        bootstrap: bootstrap.context("no --bootstrap and DTS_KAFKA_BOOTSTRAP is not set")?,
        topic: topic.context("--topic is required")?,
        partitions,
        offset,
        idle,
        follow,
        max,
        extra,
    }))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The JSON line of one message.
fn line(
    topic: &str,
    partition: i32,
    offset: i64,
    key: Option<&[u8]>,
    value: &[u8],
) -> (Json, bool) {
    let key = key.map(|k| String::from_utf8_lossy(k).into_owned());
    match DtsRecord::decode(value) {
        Ok(record) => (
            json!({
                "topic": topic, "partition": partition, "offset": offset, "key": key,
                "record": record.to_json(),
            }),
            true,
        ),
        Err(e) => (
            json!({
                "topic": topic, "partition": partition, "offset": offset, "key": key,
                "error": e.to_string(), "value_hex": hex(value),
            }),
            false,
        ),
    }
}

fn run(args: &Args) -> Result<bool> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &args.bootstrap)
        // librdkafka needs a group id to assign partitions; nothing joins or commits to it.
        .set("group.id", "dts-tail")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false");
    for (k, v) in &args.extra {
        config.set(k, v);
    }
    let consumer: BaseConsumer = config.create().context("creating the Kafka consumer")?;

    let metadata = consumer
        .fetch_metadata(Some(&args.topic), Duration::from_secs(10))
        .with_context(|| format!("reading the metadata of topic {}", args.topic))?;
    let topic = metadata
        .topics()
        .iter()
        .find(|t| t.name() == args.topic)
        .with_context(|| format!("topic {} not found", args.topic))?;
    if let Some(err) = topic.error() {
        bail!("topic {}: {err:?}", args.topic);
    }
    let all: Vec<i32> = topic
        .partitions()
        .iter()
        .map(rdkafka::metadata::MetadataPartition::id)
        .collect();
    if all.is_empty() {
        bail!("topic {} has no partitions", args.topic);
    }
    let partitions = if args.partitions.is_empty() {
        all
    } else {
        for p in &args.partitions {
            if !all.contains(p) {
                bail!("topic {} has no partition {p} (it has {all:?})", args.topic);
            }
        }
        args.partitions.clone()
    };
    let start = args.offset.map_or(Offset::Beginning, Offset::Offset);
    let mut assignment = TopicPartitionList::new();
    for &p in &partitions {
        assignment
            .add_partition_offset(&args.topic, p, start)
            .context("building the assignment")?;
    }
    consumer
        .assign(&assignment)
        .context("assigning partitions")?;

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut printed = 0u64;
    let mut all_valid = true;
    let mut last = Instant::now();
    loop {
        if args.max.is_some_and(|m| printed >= m) {
            break;
        }
        if !args.follow && last.elapsed() >= args.idle {
            break;
        }
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            if closed_pipe(out.flush())? {
                return Ok(all_valid);
            }
            continue;
        };
        let message = message.context("reading from Kafka")?;
        last = Instant::now();
        let (json, valid) = line(
            message.topic(),
            message.partition(),
            message.offset(),
            message.key(),
            message.payload().unwrap_or_default(),
        );
        all_valid &= valid;
        let written = serde_json::to_writer(&mut out, &json)
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        if closed_pipe(written)? {
            return Ok(all_valid);
        }
        printed += 1;
    }
    closed_pipe(out.flush())?;
    Ok(all_valid)
}

/// `Ok(true)` when the reader went away (`dts-tail … | head`), a normal way to stop: the
/// status then still says whether every record printed so far was valid.
fn closed_pipe(written: io::Result<()>) -> Result<bool> {
    match written {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(true),
        Err(e) => Err(e.into()),
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            // `println!` would panic on a closed stdout (`dts-tail --help | true`).
            writeln!(io::stdout(), "{USAGE}").ok();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("dts-tail: {e:#}\n\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("dts-tail: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Args>> {
        parse_args(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_arguments() {
        let a = args(&[
            "--bootstrap",
            "h:1",
            "--topic",
            "t",
            "--partition",
            "2",
            "--offset",
            "5",
            "--idle-ms",
            "10",
            "--max",
            "3",
            "-X",
            "a=b",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (
                a.bootstrap.as_str(),
                a.topic.as_str(),
                a.partitions,
                a.offset
            ),
            ("h:1", "t", vec![2], Some(5))
        );
        assert_eq!(
            (a.idle, a.max, a.follow),
            (Duration::from_millis(10), Some(3), false)
        );
        assert_eq!(a.extra, vec![("a".to_owned(), "b".to_owned())]);
        assert!(args(&["--help"]).unwrap().is_none());
        assert!(args(&["--bootstrap", "h:1"]).is_err(), "no topic");
        assert!(args(&["--bootstrap", "h:1", "--topic", "t", "--offset", "-1"]).is_err());
        assert!(args(&["--bootstrap", "h:1", "--topic", "t", "--nope"]).is_err());
    }

    #[test]
    fn undecodable_values_are_shown_not_fatal() {
        let (json, valid) = line("t", 0, 7, Some(b"k"), &[0xff]);
        assert!(!valid);
        assert_eq!(json["offset"], 7);
        assert_eq!(json["value_hex"], "ff");
        assert!(
            json["error"].as_str().unwrap().contains("at byte 0"),
            "{json}"
        );
    }
}
