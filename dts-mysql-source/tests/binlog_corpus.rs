//! Every binlog of the real-server fixture corpus (`../shared/fixtures/binlogs`, or
//! `DTS_BINLOG_FIXTURES`) is read to the end, or fails with the error the file is meant to
//! provoke; framing matches `mariadb-binlog` (offsets recorded in `tests/data/mariadb-binlog.tsv`
//! by `scripts/binlog-expectations.sh`), event type counts match the corpus' `SOURCES.md`, and
//! values the corpus documents decode to exactly those values.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use dts_core::Value;
use dts_mysql_source::binlog::{
    BinlogFile, DecodeError, DecodeOptions, Event, EventDecoder, EventType, RowPlan,
};

fn corpus() -> PathBuf {
    match dts_test_utils::binlog_fixtures_dir() {
        Some(dir) if dir.is_dir() => dir,
        other => panic!(
            "binlog fixture corpus not found ({other:?}): set DTS_BINLOG_FIXTURES to \
             shared/fixtures/binlogs — this test never passes without it"
        ),
    }
}

fn binlog_files(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, base, out);
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".txt") || name.ends_with(".md") || name.starts_with("plaintext-") {
                continue;
            }
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn read(dir: &Path, file: &str) -> Bytes {
    let raw = std::fs::read(dir.join(file)).unwrap();
    if file.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        Bytes::from(out)
    } else {
        Bytes::from(raw)
    }
}

/// Event name as SOURCES.md spells it.
fn corpus_name(t: EventType) -> String {
    match t {
        EventType::FormatDescription => "FORMAT_DESCRIPTION".into(),
        EventType::WriteRowsV1 => "WRITE_ROWS_V1".into(),
        EventType::UpdateRowsV1 => "UPDATE_ROWS_V1".into(),
        EventType::DeleteRowsV1 => "DELETE_ROWS_V1".into(),
        EventType::WriteRowsV2 => "WRITE_ROWS_V2".into(),
        EventType::UpdateRowsV2 => "UPDATE_ROWS_V2".into(),
        EventType::DeleteRowsV2 => "DELETE_ROWS_V2".into(),
        EventType::MariaGtid => "MARIA_GTID".into(),
        EventType::MariaGtidList => "MARIA_GTID_LIST".into(),
        EventType::MariaBinlogCheckpoint => "MARIA_BINLOG_CHECKPOINT".into(),
        EventType::MariaAnnotateRows => "MARIA_ANNOTATE_ROWS".into(),
        other => other
            .name()
            .trim_end_matches("_EVENT")
            .trim_end_matches("_LOG")
            .to_owned(),
    }
}

struct Outcome {
    offsets: Vec<u64>,
    counts: BTreeMap<String, usize>,
    error: Option<DecodeError>,
    rows: Vec<(String, Vec<Option<Vec<Value>>>)>,
}

/// Reads a whole file, decoding every row of every rows event (in transaction payloads too).
fn parse(data: Bytes) -> Result<Outcome, DecodeError> {
    let mut file = BinlogFile::new(data, EventDecoder::new(DecodeOptions::default()))?;
    let mut out = Outcome {
        offsets: vec![],
        counts: BTreeMap::new(),
        error: None,
        rows: vec![],
    };
    let mut plans: HashMap<u64, RowPlan> = HashMap::new();
    let mut rows_of = |ev: &Event, out: &mut Outcome| -> Result<(), DecodeError> {
        if let Event::Rows(rows) = ev {
            let plan = plans
                .entry(rows.table_id)
                .or_insert_with(|| RowPlan::new(&rows.table));
            if *plan != RowPlan::new(&rows.table) {
                *plan = RowPlan::new(&rows.table);
            }
            for row in rows.rows(plan) {
                let row = row?;
                out.rows
                    .push((rows.table.name(), vec![row.before, row.after]));
            }
        }
        Ok(())
    };
    while let Some(next) = file.next_event() {
        match next {
            Ok((offset, ev)) => {
                out.offsets.push(offset);
                *out.counts
                    .entry(corpus_name(ev.header.event_type))
                    .or_default() += 1;
                if let Err(e) = rows_of(&ev.event, &mut out) {
                    out.error = Some(e.with_base(offset));
                    break;
                }
                if let Event::TransactionPayload(p) = &ev.event {
                    let inner: Vec<_> = file.decoder().payload_events(p).collect();
                    for inner in inner {
                        match inner {
                            Ok(ev) => {
                                if let Err(e) = rows_of(&ev.event, &mut out) {
                                    out.error = Some(e.with_base(offset));
                                }
                            }
                            Err(e) => out.error = Some(e.with_base(offset)),
                        }
                    }
                    if out.error.is_some() {
                        break;
                    }
                }
            }
            Err(e) => {
                out.error = Some(e);
                break;
            }
        }
    }
    Ok(out)
}

/// Files meant to fail, with a check of the failure.
fn expected_failure(file: &str, err: &DecodeError) -> bool {
    match file {
        "apecloud-mysql-binlog-connector-rust/non-binlog" => err.field() == "magic",
        "rust_mysql_common/binlog_truncated_event.000001" => {
            err.is_truncated() && err.event_position() == Some(4)
        }
        "rust_mysql_common/binlog_truncated_prev_gtid_event.000001" => {
            err.is_truncated() && err.event_position() == Some(120)
        }
        "rust_mysql_common/corrupt-relay-bin.000624" => {
            err.is_truncated() && err.event_position() == Some(91204)
        }
        // A pre-GA 5.1 ("wl2325") tree whose TABLE_MAP predates the released format.
        "rust_mysql_common/ver_5_1-wl2325_r.001" => {
            err.event() == Some(EventType::TableMap) && err.event_position() == Some(650)
        }
        // A JSON partial update (diffs) logged with binlog_row_image=MINIMAL: the before image
        // holds only the key, so the new document cannot be computed from the binlog. An
        // error naming the event, never a guessed or dropped value (DTS requires FULL images).
        "rust_mysql_common/json.binlog.000001" => {
            err.field() == "value.json_diff" && err.event_position() == Some(3750)
        }
        _ => false,
    }
}

fn mariadb_binlog_expectations() -> HashMap<String, (bool, Vec<u64>)> {
    let text = include_str!("data/mariadb-binlog.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut f = l.split('\t');
            let file = f.next().unwrap().to_owned();
            let ok = f.next().unwrap() == "ok";
            let offsets = f.next().unwrap();
            let offsets = if offsets == "-" {
                vec![]
            } else {
                offsets.split(',').map(|o| o.parse().unwrap()).collect()
            };
            (file, (ok, offsets))
        })
        .collect()
}

/// `file → {TYPE: count}` from the corpus' SOURCES.md tables.
fn sources_counts(dir: &Path) -> HashMap<String, BTreeMap<String, usize>> {
    let text = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap();
    let mut section = String::new();
    let mut out = HashMap::new();
    for line in text.lines() {
        if let Some(s) = line.strip_prefix("### ") {
            section = s.trim().to_owned();
            continue;
        }
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        if cols.len() < 8 || !cols[1].starts_with('`') {
            continue;
        }
        let name = cols[1].trim_matches('`');
        let counts: BTreeMap<String, usize> = cols[6]
            .split_whitespace()
            .filter_map(|t| {
                let (n, c) = t.split_once(':')?;
                Some((n.to_owned(), c.parse().ok()?))
            })
            .collect();
        if !counts.is_empty() {
            out.insert(format!("{section}/{name}"), counts);
        }
    }
    out
}

#[test]
fn every_fixture_parses_or_fails_as_intended() {
    let dir = corpus();
    let files = binlog_files(&dir);
    assert!(
        files.len() >= 70,
        "corpus looks incomplete: {} files",
        files.len()
    );
    let expectations = mariadb_binlog_expectations();
    let counts = sources_counts(&dir);
    let mut problems = Vec::new();
    let mut compared_counts = 0;
    for file in &files {
        let outcome = match parse(read(&dir, file)) {
            Ok(o) => o,
            Err(e) if expected_failure(file, &e) => continue,
            Err(e) => {
                problems.push(format!("{file}: {e}"));
                continue;
            }
        };
        match &outcome.error {
            Some(e) if expected_failure(file, e) => {}
            Some(e) => problems.push(format!("{file}: {e}")),
            None => {}
        }
        let expected_fail = [
            "non-binlog",
            "truncated",
            "corrupt-relay",
            "wl2325_r",
            "json.binlog",
        ]
        .iter()
        .any(|s| file.contains(s));
        if expected_fail && outcome.error.is_none() {
            problems.push(format!("{file}: expected a decoding error, read it all"));
        }
        if let Some((ok, theirs)) = expectations.get(file) {
            if *ok && outcome.error.is_none() && outcome.offsets != *theirs {
                problems.push(format!(
                    "{file}: offsets differ from mariadb-binlog: ours {:?} theirs {:?}",
                    outcome.offsets, theirs
                ));
            }
            if !theirs.iter().zip(&outcome.offsets).all(|(a, b)| a == b)
                || (outcome.error.is_none() && outcome.offsets.len() < theirs.len())
            {
                problems.push(format!(
                    "{file}: mariadb-binlog read events at {theirs:?}, we at {:?}",
                    outcome.offsets
                ));
            }
        } else {
            problems.push(format!(
                "{file}: no mariadb-binlog expectation (run scripts/binlog-expectations.sh)"
            ));
        }
        // SOURCES.md sections are the top folder; names keep sub-folders (`5.7/02_query/log.bin`).
        let section_key = {
            let (dir_part, name) = file.rsplit_once('/').unwrap();
            let top = dir_part.split('/').next().unwrap();
            let sub = dir_part.strip_prefix(top).unwrap().trim_start_matches('/');
            if sub.is_empty() {
                format!("{top}/{name}")
            } else {
                format!("{top}/{sub}/{name}")
            }
        };
        if let Some(expected) = counts.get(&section_key)
            && outcome.error.is_none()
        {
            compared_counts += 1;
            if &outcome.counts != expected {
                problems.push(format!(
                    "{file}: event counts {:?}, SOURCES.md says {expected:?}",
                    outcome.counts
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        compared_counts >= 50,
        "only {compared_counts} files had comparable event counts"
    );
}

fn rows(file: &str) -> Vec<(String, Vec<Option<Vec<Value>>>)> {
    let o = parse(read(&corpus(), file)).unwrap();
    assert!(
        o.error.is_none(),
        "{file}: {:?}",
        o.error.map(|e| e.to_string())
    );
    o.rows
}

fn json_texts(file: &str) -> Vec<String> {
    rows(file)
        .into_iter()
        .flat_map(|(_, images)| images.into_iter().flatten().flatten())
        .filter_map(|v| match v {
            Value::Json(j) => Some(String::from_utf8(j.to_vec()).unwrap()),
            _ => None,
        })
        .collect()
}

#[test]
fn json_opaque_values_match_mysql() {
    let got = json_texts("rust_mysql_common/json-opaque.binlog");
    let want = [
        r#"{"a": "base64:type15:VQ=="}"#,
        r#"{"b": "2012-03-18"}"#,
        r#"{"c": "2012-03-18 11:30:45.000000"}"#,
        r#"{"c": "87:31:46.654321"}"#,
        r#"{"d": 123.456}"#,
        r#"{"e": 9.00}"#,
        r#"{"e": [0, 1, true, false]}"#,
        r#"{"e": null}"#,
    ];
    assert_eq!(got, want);
}

#[test]
fn negative_time_beyond_24_hours() {
    let r = rows("rust_mysql_common/time_issue.000001");
    let Value::Time(t) = &r[0].1[1].as_ref().unwrap()[0] else {
        panic!("{r:?}")
    };
    assert_eq!(
        (t.negative, t.hours, t.minutes, t.seconds, t.micros),
        (true, 507, 48, 27, 0)
    );
}

#[test]
fn vector_values() {
    let r = rows("rust_mysql_common/vector.binlog");
    let Value::Vector(v) = &r[0].1[1].as_ref().unwrap()[1] else {
        panic!("{r:?}")
    };
    let floats: Vec<f32> = v
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(floats, [1.1, 2.2, 3.3]);
}

#[test]
fn bit_enum_set_and_minimal_images() {
    let r = rows("rust_mysql_common/mysql_type_bit.000001");
    let after = r[0].1[1].as_ref().unwrap();
    assert!(
        after.contains(&Value::Bit(0b100)) && after.contains(&Value::Bit(0b100000)),
        "{after:?}"
    );

    let r = rows("rust_mysql_common/mysql-enum-string-set.000001");
    let first = r[0].1[1].as_ref().unwrap();
    assert!(
        first.iter().any(|v| matches!(v, Value::Enum(_)))
            && first.iter().any(|v| matches!(v, Value::Set(_))),
        "{first:?}"
    );

    // binlog_row_image=MINIMAL: only col_1, col_3, col_5 present; col_5 is INT UNSIGNED
    // 3230202323 (needs the signedness of the right column).
    let r = rows("rust_mysql_common/minimal_row_metadata.000001");
    let after = r[0].1[1].as_ref().unwrap();
    assert_eq!(after.len(), 3, "{after:?}");
    assert_eq!(after[0], Value::Int(1));
    assert_eq!(after[2], Value::UInt(3_230_202_323));
}

#[test]
fn decimals_and_dates_from_mysql_8() {
    let r = rows("rust_mysql_common/binlog_transaction_with_GTID_TAG.000001");
    let after = r[0].1[1].as_ref().unwrap();
    assert_eq!(
        after[2],
        Value::Decimal(dts_core::Decimal::from_text(Bytes::from("250.00")).unwrap())
    );
}

#[test]
fn tagged_gtid_of_mysql_8_4() {
    let data = read(
        &corpus(),
        "rust_mysql_common/binlog_transaction_with_GTID_TAG.000001",
    );
    let mut file = BinlogFile::new(data, EventDecoder::default()).unwrap();
    let mut gtids = Vec::new();
    while let Some(ev) = file.next_event() {
        if let Event::Gtid(g) = ev.unwrap().1.event {
            gtids.push((g.gtid_text(), g.last_committed, g.sequence_number));
        }
    }
    assert_eq!(gtids.len(), 1);
    assert_eq!(gtids[0].0, "55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3");
    assert!(gtids[0].2 > gtids[0].1, "{gtids:?}");
}

/// The table maps the decoder keeps for later rows events hold no slice of the data they were
/// decoded from: the replication stream reads packets into shared buffers, and a kept slice
/// would keep a whole buffer alive for the rest of the stream.
#[test]
fn kept_table_maps_own_their_names() {
    let dir = corpus();
    let mut maps = 0;
    for name in binlog_files(&dir) {
        let data = read(&dir, &name);
        let range = data.as_ptr_range();
        let inside = |b: &Bytes| !b.is_empty() && range.contains(&b.as_ptr());
        let Ok(mut file) = BinlogFile::new(data.clone(), EventDecoder::default()) else {
            continue;
        };
        while let Some(Ok((_, ev))) = file.next_event() {
            if let Event::TableMap(map) = ev.event {
                maps += 1;
                let names = map.optional.column_names.iter().flatten();
                assert!(
                    !inside(&map.schema) && !inside(&map.table) && !names.clone().any(inside),
                    "{name}: a kept table map points into the file's buffer"
                );
            }
        }
    }
    assert!(maps > 100, "the corpus has table maps ({maps})");
}
