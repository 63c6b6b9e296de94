//! Replay test of `dts-migrate` for each DTS partition policy (live MariaDB + tansu): tables with a
//! single key, a composite key and no key, and one with a column of every kind of type (integers
//! of each width signed and unsigned, FLOAT, DOUBLE, DECIMAL, CHAR/VARCHAR/TEXT in utf8mb4 and
//! latin1, BINARY/VARBINARY/BLOB, DATE, DATETIME, TIMESTAMP, TIME, YEAR, ENUM, SET, BIT, JSON);
//! writes (also of key columns) during the snapshot and after; an `ALTER TABLE … ADD COLUMN`
//! mid-stream. When caught up the task is stopped, every
//! partition is read by its own consumer, each record's partition is checked against the
//! DTS-AVRO.md formula, and the records replayed per key in offset order equal `SELECT *`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use dts_test_utils::kafka::{plain, read_from_start};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{fresh_database, last_progress, start, unique_topic};

use dts_avro::DtsRecord;
use dts_kafka_sink::java_hash;
use dts_mysql_source::protocol::Connection;
use rdkafka::Message;
use rdkafka::consumer::Consumer;
use serde_json::Value as Json;

const PARTITIONS: i32 = 4;

type Row = BTreeMap<String, String>;

/// Waits until the task is caught up and its record count has not moved for 3 s.
fn wait_settled(log: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut last = (u64::MAX, Instant::now());
    loop {
        let (records, caught_up, _) = last_progress(log);
        if records != last.0 {
            last = (records, Instant::now());
        } else if caught_up && last.1.elapsed() > Duration::from_secs(3) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "dts-migrate did not settle: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn partition_of(text: &str) -> i32 {
    i32::try_from((java_hash(text).cast_unsigned() & 0x7fff_ffff) % PARTITIONS.cast_unsigned())
        .unwrap()
}

/// The text of a value as the `ty` table's SELECT (below) writes it, decoded from the DTS Avro
/// field strictly as a consumer would: bytes by their declared charset, date-times from their
/// parts, TIMESTAMP as epoch seconds and microseconds.
fn canon(v: &Json) -> String {
    let Some((kind, m)) = v.as_object().and_then(|o| o.iter().next()) else {
        return "NULL".to_owned();
    };
    let bytes = |x: &Json| -> Vec<u8> {
        match x {
            Json::String(s) => s.as_bytes().to_vec(),
            other => {
                let hex = other["hex"].as_str().unwrap();
                hex.as_bytes()
                    .chunks(2)
                    .map(|d| u8::from_str_radix(std::str::from_utf8(d).unwrap(), 16).unwrap())
                    .collect()
            }
        }
    };
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let int = |k: &str| m[k].as_i64();
    match kind.as_str() {
        "Integer" | "Decimal" => m["value"].as_str().unwrap().to_owned(),
        "Float" => format!("{}", m["value"].as_f64().unwrap()),
        "Character" => {
            let b = bytes(&m["value"]);
            match m["charset"].as_str().unwrap() {
                "binary" => hex(&b),
                // latin1 bytes are code points U+0000–U+00FF.
                "latin1" => b.iter().map(|&c| char::from(c)).collect(),
                _ => String::from_utf8(b).unwrap(),
            }
        }
        "BinaryObject" => {
            let b = bytes(&m["value"]);
            match m["type"].as_str().unwrap() {
                "BLOB" => hex(&b),
                _ => String::from_utf8(b).unwrap(),
            }
        }
        "TextObject" => m["value"].as_str().unwrap().to_owned(),
        "Timestamp" => format!(
            "{}.{:06}",
            m["timestamp"].as_i64().unwrap(),
            m["millis"].as_i64().unwrap_or(0)
        ),
        "DateTime" => match (int("year"), int("month"), int("hour")) {
            (Some(y), None, None) => format!("{y}"),
            (Some(y), Some(mo), None) => format!("{y:04}-{mo:02}-{:02}", int("day").unwrap()),
            (Some(y), Some(mo), Some(h)) => format!(
                "{y:04}-{mo:02}-{:02} {h:02}:{:02}:{:02}.{:06}",
                int("day").unwrap(),
                int("minute").unwrap(),
                int("second").unwrap(),
                int("millis").unwrap_or(0)
            ),
            (None, None, Some(h)) => {
                let (mi, se, us) = (
                    int("minute").unwrap(),
                    int("second").unwrap(),
                    int("millis").unwrap_or(0),
                );
                let negative = h < 0 || mi < 0 || se < 0 || us < 0;
                format!(
                    "{}{:02}:{:02}:{:02}.{:06}",
                    if negative { "-" } else { "" },
                    h.abs(),
                    mi.abs(),
                    se.abs(),
                    us.abs()
                )
            }
            other => panic!("unexpected DateTime parts {other:?}: {v}"),
        },
        other => panic!("unexpected value type {other}: {v}"),
    }
}

/// The every-type table, and a SELECT that writes each column as [`canon`] does.
const TY_COLUMNS: &str = "id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, \
     su SMALLINT UNSIGNED, mi MEDIUMINT, mu MEDIUMINT UNSIGNED, ii INT, iu INT UNSIGNED, \
     bi BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE, de DECIMAL(30,8), c CHAR(6), \
     vc VARCHAR(40), tx TEXT, l1 VARCHAR(20) CHARACTER SET latin1, bn BINARY(4), vb VARBINARY(10), \
     bl BLOB, da DATE, dt DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(3), yr YEAR, \
     en ENUM('a','bb','ccc'), st SET('x','y','z'), bt BIT(12), js JSON";
const TY_SELECT: &str = "id, ti, tu, si, su, mi, mu, ii, iu, bi, bu, CAST(f AS DOUBLE) AS f, d, de, c, \
     vc, tx, l1, LOWER(HEX(bn)) AS bn, LOWER(HEX(vb)) AS vb, LOWER(HEX(bl)) AS bl, da, \
     DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f') AS dt, \
     CONCAT(UNIX_TIMESTAMP(ts) DIV 1, '.', LPAD(MICROSECOND(ts), 6, '0')) AS ts, \
     TIME_FORMAT(tm, '%H:%i:%s.%f') AS tm, yr, en, st, CAST(bt AS UNSIGNED) AS bt, js";

/// A row of `ty` numbered `n` (every column set; some NULL by `n`).
#[allow(clippy::format_in_format_args)] // each column's SQL literal is built on its own
fn ty_values(n: i64) -> String {
    let null_or = |cond: bool, v: String| if cond { "NULL".to_owned() } else { v };
    format!(
        "({n}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        [-128, 127, 0, -1][usize::try_from(n % 4).unwrap()],
        [0, 255, 128][usize::try_from(n % 3).unwrap()],
        -32768 + n % 65536,
        n % 65536,
        -8_388_608 + n * 7,
        16_777_215 - n,
        -2_147_483_648 + n * 11,
        4_294_967_295u64 - u64::try_from(n).unwrap(),
        -9_223_372_036_854_775_807i64 + n,
        null_or(
            n % 7 == 0,
            format!(
                "{}",
                18_446_744_073_709_551_615u64 - u64::try_from(n).unwrap()
            )
        ),
        ["3.14159", "-0.1", "0.5", "123456.78"][usize::try_from(n % 4).unwrap()],
        null_or(n % 5 == 0, format!("{n}.0625e-3")),
        format!("-{n}.12345678"),
        format!("'c{}'", n % 100),
        format!("'héllo 😀 {n}'"),
        null_or(n % 6 == 0, format!("REPEAT('t{n} ', {})", n % 50)),
        format!("'café {n}'"),
        format!("0x{:08x}", n * 2_654_435_761 % 4_294_967_296),
        format!("0x00ff{:04x}", n % 65536),
        null_or(n % 4 == 0, format!("UNHEX(SHA2('{n}', 256))")),
        format!("'2024-02-{:02}'", 1 + n % 29),
        format!("'1999-12-31 23:59:{:02}.{:06}'", n % 60, n * 37 % 1_000_000),
        null_or(
            n % 3 == 0,
            format!(
                "FROM_UNIXTIME({}.{:03})",
                1_700_000_000 + n * 3600,
                n % 1000
            )
        ),
        [
            format!("'-838:59:58.{:03}'", n % 1000),
            format!("'{}:{:02}:{:02}.5'", n % 839, n % 60, n % 60),
            "'00:00:00'".to_owned(),
            format!("'-00:00:0{}.250'", n % 10),
        ][usize::try_from(n % 4).unwrap()],
        1901 + n % 254,
        ["'a'", "'bb'", "'ccc'", "NULL"][usize::try_from(n % 4).unwrap()],
        ["''", "'x'", "'y,z'", "'x,y,z'"][usize::try_from(n % 4).unwrap()],
        format!("b'{:b}'", n % 4096),
        format!("'{{\"n\": {n}, \"s\": [\"é\", 2.5, null]}}'"),
    )
}

/// Image → column name → canonical text ("NULL" for NULL).
fn image(rec: &Json, which: &str) -> Option<Row> {
    let names: Vec<&str> = rec["fields"]
        .as_array()?
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let values = rec[which].as_array()?;
    Some(
        names
            .iter()
            .zip(values)
            .map(|(n, v)| ((*n).to_owned(), canon(v)))
            .collect(),
    )
}

async fn writes(a: &mut Connection, db: &str, round: i64) {
    for i in 0..60 {
        let n = round * 1000 + i;
        for sql in [
            format!(
                "INSERT INTO {db}.k1 (id, v, s, d) VALUES ({}, {n}, 'w{n}', {n}.25)",
                100_000 + n
            ),
            format!(
                "UPDATE {db}.k1 SET v = v + 1, d = NULL WHERE id = {}",
                1 + i * 13
            ),
            format!("DELETE FROM {db}.k1 WHERE id = {}", 2 + i * 17 + round * 3),
            // Key change: the old key must disappear, the new one appear.
            format!(
                "UPDATE {db}.k1 SET id = {} WHERE id = {}",
                500_000 + n,
                3 + i * 19 + round
            ),
            format!("INSERT INTO {db}.k2 VALUES ({n}, 'w{n}', {n})"),
            format!(
                "UPDATE {db}.k2 SET b = CONCAT(b, 'x') WHERE a = {} AND b = 'b{}'",
                i * 7,
                i * 7
            ),
            format!("DELETE FROM {db}.k2 WHERE a = {}", 1 + i * 11),
            format!("INSERT INTO {db}.nk VALUES ({n}, 'n{n}')"),
            format!("UPDATE {db}.nk SET y = 'upd' WHERE x = {} LIMIT 1", i * 5),
            format!("DELETE FROM {db}.nk WHERE x = {} LIMIT 1", 1 + i * 9),
            format!("INSERT INTO {db}.ty VALUES {}", ty_values(100_000 + n)),
            format!(
                "UPDATE {db}.ty SET ti = ti DIV 2, f = f * 2, de = de + 1, vc = CONCAT(vc, '✓'), \
                 tm = '-01:02:03.400', ts = NULL, st = 'z', bt = b'1', js = '[]' WHERE id = {}",
                1 + i * 3
            ),
            format!("DELETE FROM {db}.ty WHERE id = {}", 2 + i * 3 + round),
            format!(
                "UPDATE {db}.ty SET id = {} WHERE id = {}",
                600_000 + n,
                3 + i * 3 + round * 90
            ),
        ] {
            a.execute(&sql).await.unwrap();
        }
    }
}

async fn select(a: &mut Connection, sql: &str) -> Vec<Row> {
    let r = a.query(sql).await.unwrap();
    r.rows
        .iter()
        .map(|row| {
            r.columns
                .iter()
                .zip(row)
                .map(|(c, v)| {
                    let text = v.as_ref().map_or("NULL".to_owned(), |b| {
                        String::from_utf8_lossy(b).into_owned()
                    });
                    (c.clone(), text)
                })
                .collect()
        })
        .collect()
}

#[allow(clippy::too_many_lines)]
async fn replay_with(policy: &str) {
    let admin_url = dts_test_utils::mariadb_admin_url();
    let bootstrap = dts_test_utils::kafka_bootstrap();
    let port = admin_url.rsplit(':').next().unwrap().to_owned();
    // The three policies run at once: each task registers as its own replica.
    let server_id = match policy {
        "partition-zero" => 5889,
        "hash-db-table" => 5890,
        _ => 5891,
    };
    let db = format!(
        "dts_replay_{}_{}",
        policy.replace('-', "_"),
        std::process::id()
    );
    let topic = unique_topic(&db);
    eprintln!("{policy}: topic {topic}");
    let (_, mut a) = fresh_database(
        &db,
        &[
            format!(
                "CREATE TABLE {db}.k1 (id INT PRIMARY KEY, v BIGINT NOT NULL, s VARCHAR(20), d DECIMAL(12,2))"
            ),
            format!("CREATE TABLE {db}.k2 (a INT, b VARCHAR(12), v INT, PRIMARY KEY (a, b))"),
            format!("CREATE TABLE {db}.nk (x INT, y VARCHAR(12))"),
            format!("CREATE TABLE {db}.ty ({TY_COLUMNS})"),
            format!(
                "INSERT INTO {db}.ty VALUES {}",
                (1..=400).map(ty_values).collect::<Vec<_>>().join(", ")
            ),
            format!(
                "INSERT INTO {db}.k1 SELECT seq, seq * 3, CONCAT('s', seq), seq / 4 FROM {db}.seq_1_to_6000"
            ),
            format!(
                "INSERT INTO {db}.k2 SELECT seq % 700, CONCAT('b', seq), seq FROM {db}.seq_1_to_4000"
            ),
            format!(
                "INSERT INTO {db}.nk SELECT seq % 300, CONCAT('n', seq % 7) FROM {db}.seq_1_to_2000"
            ),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dts.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"dts\"\npassword = \"dts_pw\"\nserver_id = {server_id}\ntables = [\"{db}.*\"]\n\
             [kafka]\nbootstrap_servers = \"{bootstrap}\"\ntopic = \"{topic}\"\npartition_policy = \"{policy}\"\ncreate_topics = true\npartitions = {PARTITIONS}\n\
             [task]\nmigration_types = [\"schema\", \"full\", \"incremental\"]\ncheckpoint = \"{}\"\nchunk_rows = 400\nparallelism = 2\n",
            dir.path().join("checkpoint.json").display()
        ),
    )
    .unwrap();
    let log = dir.path().join("run.log");
    let mut p = start(&config, &log);
    // Round 0 runs while the snapshot is being read, round 1 after it caught up.
    writes(&mut a, &db, 0).await;
    wait_settled(&log);
    writes(&mut a, &db, 1).await;
    a.execute(&format!(
        "ALTER TABLE {db}.k1 ADD COLUMN extra VARCHAR(10) DEFAULT 'dflt'"
    ))
    .await
    .unwrap();
    writes(&mut a, &db, 2).await;
    a.execute(&format!(
        "UPDATE {db}.k1 SET extra = CONCAT('e', id % 10) WHERE id % 5 = 0"
    ))
    .await
    .unwrap();
    wait_settled(&log);
    Command::new("kill")
        .args(["-INT", &p.id().to_string()])
        .status()
        .unwrap();
    let status = p.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(4).collect();
    eprintln!("{policy}: last progress lines: {tail:#?}");
    assert!(status.success(), "graceful stop: {status}");

    // Every partition by its own consumer; records in offset order within each.
    let mut keyed: BTreeMap<(String, String), Row> = BTreeMap::new();
    let mut keyless: Vec<Row> = Vec::new();
    let (mut records, mut ddl) = (0u64, 0u64);
    for part in 0..PARTITIONS {
        let consumer = read_from_start(
            &plain(&bootstrap),
            &format!("dts-replay-{part}"),
            &topic,
            [part],
        );
        // Read to the reported end offset and then on until nothing came for 8 s: tansu's
        // ListOffsets(latest) was seen lagging hundreds of records behind what Fetch returns
        // after the producer had exited, so the end offset alone would cut partitions short.
        let (_, high) = consumer
            .fetch_watermarks(&topic, part, Duration::from_secs(10))
            .unwrap();
        eprintln!("{policy}: partition {part}: reported end offset {high}");
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut next = 0;
        let mut idle = Instant::now();
        while next < high || idle.elapsed() < Duration::from_secs(8) {
            assert!(
                Instant::now() < deadline,
                "{policy}: partition {part} stuck at {next} of {high}"
            );
            let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            next = m.offset() + 1;
            idle = Instant::now();
            records += 1;
            let rec = DtsRecord::decode(m.payload().unwrap()).unwrap().to_json();
            let op = rec["operation"].as_str().unwrap().to_owned();
            let object = rec["objectName"].as_str().unwrap_or("").to_owned();
            let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
            let key_text = key.strip_prefix(&format!("{object}:")).map(str::to_owned);
            let row_op = matches!(op.as_str(), "INIT" | "INSERT" | "UPDATE" | "DELETE");
            // A DDL record's objectName is the database (as DTS writes it); its table, if any, is
            // the one named in the statement.
            let ddl_table = (op == "DDL")
                .then(|| {
                    let text = rec["afterImages"].as_str().unwrap_or("");
                    ["k1", "k2", "nk", "ty"]
                        .into_iter()
                        .find(|t| {
                            text.contains(&format!("`{t}`")) || text.contains(&format!(".{t} "))
                        })
                        .map(|t| format!("{object}.{t}"))
                })
                .flatten();
            let want = match policy {
                "partition-zero" => 0,
                "hash-db-table" if row_op => partition_of(&object),
                "hash-db-table" => ddl_table.as_deref().map_or(0, partition_of),
                "hash-primary-key" if row_op => key_text.as_deref().map_or(0, partition_of),
                _ => 0,
            };
            assert_eq!(
                m.partition(),
                want,
                "{policy}: {op} {object} key {key} in the wrong partition"
            );
            if op == "DDL" {
                ddl += 1;
            }
            if !row_op {
                continue;
            }
            let before = image(&rec, "beforeImages");
            let after = image(&rec, "afterImages");
            if object.ends_with(".nk") {
                assert!(key_text.is_none(), "keyless rows have no key: {key}");
                if let Some(b) = before {
                    let i = keyless.iter().position(|r| *r == b).unwrap_or_else(|| {
                        panic!("{policy}: keyless row {b:?} removed but never seen")
                    });
                    keyless.swap_remove(i);
                }
                keyless.extend(after);
                continue;
            }
            let table = object.rsplit('.').next().unwrap().to_owned();
            let key_of = |r: &Row| match table.as_str() {
                "k1" | "ty" => r["id"].clone(),
                _ => format!("{},{}", r["a"], r["b"]),
            };
            if let Some(b) = before {
                keyed.remove(&(table.clone(), key_of(&b)));
            }
            if let Some(mut after) = after {
                // Rows last written before the ALTER get its DEFAULT, as a consumer applying the
                // DDL record would give them.
                if table == "k1" {
                    after.entry("extra".into()).or_insert_with(|| "dflt".into());
                }
                assert_eq!(
                    key_text.as_deref(),
                    Some(key_of(&after).as_str()),
                    "message key"
                );
                keyed.insert((table.clone(), key_of(&after)), after);
            }
        }
    }
    assert!(
        ddl >= 5,
        "{policy}: 4 CREATE TABLE + 1 ALTER expected, {ddl} DDL records"
    );

    let mut expected: BTreeMap<(String, String), Row> = BTreeMap::new();
    for r in select(&mut a, &format!("SELECT * FROM {db}.k1")).await {
        expected.insert(("k1".into(), r["id"].clone()), r);
    }
    for r in select(&mut a, &format!("SELECT * FROM {db}.k2")).await {
        expected.insert(("k2".into(), format!("{},{}", r["a"], r["b"])), r);
    }
    for r in select(&mut a, &format!("SELECT {TY_SELECT} FROM {db}.ty")).await {
        expected.insert(("ty".into(), r["id"].clone()), r);
    }
    let wrong: Vec<_> = expected
        .iter()
        .filter(|(k, v)| keyed.get(*k) != Some(*v))
        .map(|(k, v)| (k, v, keyed.get(k)))
        .take(3)
        .collect();
    let extra: Vec<_> = keyed
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .take(3)
        .collect();
    assert!(
        wrong.is_empty() && extra.is_empty(),
        "{policy}: replay differs: wrong/missing {wrong:?}, extra {extra:?}"
    );
    let mut want_nk = select(&mut a, &format!("SELECT * FROM {db}.nk")).await;
    want_nk.sort();
    keyless.sort();
    assert_eq!(keyless.len(), want_nk.len(), "{policy}: keyless row count");
    assert!(keyless == want_nk, "{policy}: keyless rows differ");
    eprintln!(
        "replay {policy}: {records} records, {ddl} DDL, {} keyed + {} keyless rows equal SELECT",
        expected.len(),
        want_nk.len()
    );
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_equals_source_partition_zero() {
    replay_with("partition-zero").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_equals_source_hash_db_table() {
    replay_with("hash-db-table").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_equals_source_hash_primary_key() {
    replay_with("hash-primary-key").await;
}
