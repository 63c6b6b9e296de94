//! The parser against a live MariaDB (`scripts/mariadb.sh`): tables covering every column type
//! are written with edge values, the binlog files are read back with our parser, and every
//! decoded value is compared with what `SELECT` returns (binary protocol) **and** with
//! `mysql_common`'s binlog decoder on the same events.
//!
//! Needs `DTS_MARIADB_ADMIN_URL` (fails, naming the script, without it). Reads the binlog files
//! from the server's datadir, so the server must be local (as the script's is).
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    clippy::string_slice,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::collections::HashMap;
use std::path::PathBuf;

use bytes::Bytes;
use dts_core::Value;
use dts_mysql_source::binlog::{
    BinlogFile, DecodeOptions, Event, EventDecoder, RowChange, RowPlan, TableMapEvent,
};
use mysql_async::prelude::*;
use mysql_async::{Conn, Value as MyValue};

/// Tests that change server-wide settings (log_bin_compress) take this exclusively; the others
/// share it, so that, e.g., the mysql_common oracle never meets MariaDB-compressed events (which
/// it cannot read) written while another test had compression on.
static GLOBALS: std::sync::LazyLock<tokio::sync::RwLock<()>> =
    std::sync::LazyLock::new(|| tokio::sync::RwLock::new(()));

async fn admin() -> Conn {
    let url = dts_test_utils::mariadb_admin_url();
    Conn::from_url(url)
        .await
        .expect("connect to the local MariaDB as admin")
}

/// Runs `work` and returns the binlog files it was written to (after a log rotation).
async fn capture(conn: &mut Conn, work: &[String]) -> Vec<PathBuf> {
    let start: (String, u64) = conn
        .query_first("SELECT @@log_bin_basename, 0")
        .await
        .unwrap()
        .unwrap();
    let first: String = conn
        .query_first::<mysql_async::Row, _>("SHOW MASTER STATUS")
        .await
        .unwrap()
        .map(|r| r.get::<String, _>(0).unwrap())
        .unwrap();
    for sql in work {
        conn.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql:.200}: {e}"));
    }
    conn.query_drop("FLUSH BINARY LOGS").await.unwrap();
    let current: String = conn
        .query_first::<mysql_async::Row, _>("SHOW MASTER STATUS")
        .await
        .unwrap()
        .map(|r| r.get::<String, _>(0).unwrap())
        .unwrap();
    let dir = PathBuf::from(&start.0).parent().unwrap().to_path_buf();
    let logs: Vec<String> = conn
        .query::<mysql_async::Row, _>("SHOW BINARY LOGS")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get::<String, _>(0).unwrap())
        .collect();
    logs.into_iter()
        .filter(|f| *f >= first && *f < current)
        .map(|f| dir.join(f))
        .collect()
}

/// Our decoding of every row change of `db`, with the table map of each.
fn ours(
    files: &[PathBuf],
    db: &str,
    plan_for: &dyn Fn(&TableMapEvent) -> RowPlan,
) -> Vec<(String, RowChange)> {
    let mut out = Vec::new();
    for path in files {
        let data = Bytes::from(std::fs::read(path).unwrap());
        let mut file = BinlogFile::new(data, EventDecoder::new(DecodeOptions::default())).unwrap();
        while let Some(ev) = file.next_event() {
            let (offset, ev) = ev.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if let Event::Rows(rows) = &ev.event {
                if rows.table.schema != db.as_bytes() {
                    continue;
                }
                let plan = plan_for(&rows.table);
                for row in rows.rows(&plan) {
                    let row = row.unwrap_or_else(|e| panic!("{}@{offset}: {e}", path.display()));
                    out.push((String::from_utf8_lossy(&rows.table.table).into_owned(), row));
                }
            }
        }
    }
    out
}

/// mysql_common's decoding of the same rows: (table, before, after).
type OracleRow = (String, Option<Vec<MyValue>>, Option<Vec<MyValue>>);

fn oracle(files: &[PathBuf], db: &str) -> Vec<OracleRow> {
    use mysql_common::binlog::BinlogFile as MyFile;
    use mysql_common::binlog::consts::BinlogVersion;
    use mysql_common::binlog::events::{EventData, TableMapEvent as Tme};
    use mysql_common::binlog::value::BinlogValue;
    let to_values = |row: mysql_common::binlog::row::BinlogRow| -> Vec<MyValue> {
        row.unwrap()
            .into_iter()
            .map(|v| match v {
                BinlogValue::Value(v) => v,
                other => panic!("oracle produced {other:?}"),
            })
            .collect()
    };
    let mut out = Vec::new();
    for path in files {
        let data = std::fs::read(path).unwrap();
        let file = MyFile::new(BinlogVersion::Version4, &data[..]).unwrap();
        let mut maps: HashMap<u64, Tme<'static>> = HashMap::new();
        for ev in file {
            let ev = ev.unwrap();
            match ev.read_data().unwrap() {
                Some(EventData::TableMapEvent(t)) => {
                    maps.insert(t.table_id(), t.into_owned());
                }
                Some(EventData::RowsEvent(r)) => {
                    let tme = &maps[&r.table_id()];
                    if tme.database_name_raw() != db.as_bytes() {
                        continue;
                    }
                    let table = tme.table_name().into_owned();
                    for row in r.rows(tme) {
                        let (before, after) = row.unwrap();
                        out.push((table.clone(), before.map(to_values), after.map(to_values)));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

#[derive(Clone, Debug)]
struct Col {
    name: String,
    data_type: String,
    unsigned: bool,
    binary: bool,
    labels: Vec<String>,
}

async fn columns(conn: &mut Conn, db: &str, table: &str) -> Vec<Col> {
    let rows: Vec<(String, String, String, Option<String>)> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await
        .unwrap();
    rows.into_iter()
        .map(|(name, data_type, column_type, charset)| {
            let labels = if data_type == "enum" || data_type == "set" {
                let inner = &column_type[column_type.find('(').unwrap() + 1..column_type.len() - 1];
                inner
                    .split(',')
                    .map(|l| l.trim_matches('\'').to_owned())
                    .collect()
            } else {
                vec![]
            };
            let binary = matches!(
                data_type.as_str(),
                "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob"
            ) || charset.as_deref() == Some("binary");
            Col {
                unsigned: column_type.contains("unsigned"),
                binary,
                name,
                data_type,
                labels,
            }
        })
        .collect()
}

fn plan_from_schema(cols: &[Col]) -> impl Fn(&TableMapEvent) -> RowPlan + '_ {
    move |map| {
        RowPlan::new(map)
            .with_unsigned(cols.iter().map(|c| c.unsigned))
            .with_binary(cols.iter().map(|c| c.binary))
    }
}

fn days_to_civil(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Whether our value equals what MariaDB returned for the column (binary protocol).
fn same(ours: &Value, theirs: &MyValue, col: &Col) -> bool {
    use MyValue as M;
    match (ours, theirs) {
        (Value::Null, M::NULL) => true,
        (Value::Int(a), M::Int(b)) => a == b,
        (Value::Int(a), M::UInt(b)) => i128::from(*a) == i128::from(*b),
        (Value::UInt(a), M::Int(b)) => i128::from(*a) == i128::from(*b),
        (Value::UInt(a), M::UInt(b)) => a == b,
        (Value::Year(a), M::Int(b)) => i64::from(*a) == *b,
        (Value::Float(a), M::Float(b)) => a.to_bits() == b.to_bits(),
        (Value::Float(a), M::Double(b)) => f64::from(*a).to_bits() == b.to_bits(),
        (Value::Double(a), M::Double(b)) => a.to_bits() == b.to_bits(),
        (Value::Decimal(a), M::Bytes(b)) => a.as_str().as_bytes() == &b[..],
        (Value::Bit(a), M::Bytes(b)) => {
            *a == b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x))
        }
        (Value::Bit(a), M::Int(b)) => i128::from(*a) == i128::from(*b),
        (Value::Date(d), M::Date(y, m, day, 0, 0, 0, 0)) => {
            (d.year, d.month, d.day) == (*y, *m, *day)
        }
        (Value::DateTime(d), M::Date(y, m, day, h, i, s, us)) => {
            (
                d.date.year,
                d.date.month,
                d.date.day,
                d.hour,
                d.minute,
                d.second,
                d.micros,
            ) == (*y, *m, *day, *h, *i, *s, *us)
        }
        (Value::Time(t), M::Time(neg, days, h, i, s, us)) => {
            let zero = t.hours == 0 && t.minutes == 0 && t.seconds == 0 && t.micros == 0;
            (t.negative == *neg || zero)
                && u32::from(t.hours) == days * 24 + u32::from(*h)
                && (t.minutes, t.seconds, t.micros) == (*i, *s, *us)
        }
        (Value::Timestamp { secs, micros }, M::Date(y, m, d, h, i, s, us)) => {
            if *secs == 0 && *micros == 0 {
                return (*y, *m, *d, *h, *i, *s, *us) == (0, 0, 0, 0, 0, 0, 0);
            }
            let secs = i64::try_from(*secs).unwrap();
            let (cy, cm, cd) = days_to_civil(secs.div_euclid(86_400));
            let sod = secs.rem_euclid(86_400);
            (cy, cm, cd, sod / 3600, (sod / 60) % 60, sod % 60, *micros)
                == (
                    i64::from(*y),
                    u32::from(*m),
                    u32::from(*d),
                    i64::from(*h),
                    i64::from(*i),
                    i64::from(*s),
                    *us,
                )
        }
        (Value::String(a) | Value::Bytes(a) | Value::Json(a) | Value::Geometry(a), M::Bytes(b)) => {
            a[..] == b[..]
        }
        (Value::Enum(i), M::Bytes(b)) => {
            col.labels
                .get(usize::from(*i).wrapping_sub(1))
                .map(String::as_bytes)
                == Some(&b[..])
                || (*i == 0 && b.is_empty())
        }
        (Value::Set(bits), M::Bytes(b)) => {
            let labels: Vec<&str> = col
                .labels
                .iter()
                .enumerate()
                .filter(|(k, _)| bits & (1 << k) != 0)
                .map(|(_, l)| l.as_str())
                .collect();
            labels.join(",").as_bytes() == &b[..]
        }
        _ => false,
    }
}

/// Where mysql_common 0.37 is provably wrong (checked against SELECT only):
/// - negative TIME(1)/TIME(2) values with a fraction: it subtracts 0x100 from an unsigned
///   fraction (overflow);
/// - negative signed MEDIUMINT: it does not sign-extend 24 bits (−8388608 comes out as
///   8388608, outside the type's range).
fn oracle_is_wrong(ours: &Value, theirs: &MyValue, col: &Col) -> bool {
    let time = matches!(ours, Value::Time(t) if t.negative && t.micros != 0)
        && matches!(col.name.as_str(), "t1" | "t2");
    let int24 = match (ours, theirs) {
        (Value::Int(a), MyValue::Int(b)) => {
            col.data_type == "mediumint" && *a < 0 && *b == a + (1 << 24)
        }
        _ => false,
    };
    time || int24
}

/// Our value vs mysql_common's decoding of the same binlog bytes.
fn same_as_oracle(ours: &Value, theirs: &MyValue) -> bool {
    use MyValue as M;
    match (ours, theirs) {
        (Value::Null, M::NULL) => true,
        (Value::Int(a), M::Int(b)) => a == b,
        (Value::UInt(a), M::UInt(b)) => a == b,
        (Value::UInt(a), M::Int(b)) => i128::from(*a) == i128::from(*b),
        (Value::Int(a), M::UInt(b)) => i128::from(*a) == i128::from(*b),
        (Value::Float(a), M::Float(b)) => a.to_bits() == b.to_bits(),
        (Value::Double(a), M::Double(b)) => a.to_bits() == b.to_bits(),
        (Value::Decimal(a), M::Bytes(b)) => a.as_str().as_bytes() == &b[..],
        // mysql_common leaves BINARY(N) with its trailing 0x00 padding stripped; we restore it.
        (Value::Bytes(a), M::Bytes(b)) if a.len() > b.len() => {
            a.starts_with(b) && a[b.len()..].iter().all(|&x| x == 0)
        }
        (Value::Year(a), M::Int(b)) => i64::from(*a) == *b,
        // mysql_common prints YEAR as text, and the zero year wrongly as 1900.
        (Value::Year(a), M::Bytes(b)) => {
            a.to_string().as_bytes() == &b[..] || (*a == 0 && &b[..] == b"1900")
        }
        // mysql_common returns SET as its raw little-endian bitmap.
        (Value::Set(a), M::Bytes(b)) => {
            *a == b.iter().rev().fold(0u64, |acc, &x| acc << 8 | u64::from(x))
        }
        (Value::Bit(a), M::Bytes(b)) => {
            *a == b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x))
        }
        (Value::Date(d), M::Date(y, m, day, 0, 0, 0, 0)) => {
            (d.year, d.month, d.day) == (*y, *m, *day)
        }
        (Value::DateTime(d), M::Date(y, m, day, h, i, s, us)) => {
            (
                d.date.year,
                d.date.month,
                d.date.day,
                d.hour,
                d.minute,
                d.second,
                d.micros,
            ) == (*y, *m, *day, *h, *i, *s, *us)
        }
        (Value::Time(t), M::Time(neg, days, h, i, s, us)) => {
            t.negative == *neg
                && u32::from(t.hours) == days * 24 + u32::from(*h)
                && (t.minutes, t.seconds, t.micros) == (*i, *s, *us)
        }
        (Value::Timestamp { secs, micros }, M::Bytes(b)) => {
            let text = String::from_utf8_lossy(b);
            let expect = if *micros == 0 && !text.contains('.') {
                secs.to_string()
            } else {
                format!("{secs}.{micros:06}")
            };
            text.starts_with(&expect[..expect.len().min(text.len())])
                && text.split('.').next() == Some(&secs.to_string())
        }
        (Value::Enum(a), M::Int(b)) => i64::from(*a) == *b,
        (Value::Set(a), M::UInt(b)) => a == b,
        (Value::Set(a), M::Int(b)) => i128::from(*a) == i128::from(*b),
        (Value::String(a) | Value::Bytes(a) | Value::Geometry(a) | Value::Json(a), M::Bytes(b)) => {
            a[..] == b[..]
        }
        _ => false,
    }
}

fn check_rows(
    label: &str,
    cols: &[Col],
    ours: &[Value],
    theirs: &[MyValue],
    eq: &dyn Fn(&Value, &MyValue, &Col) -> bool,
) {
    assert_eq!(ours.len(), theirs.len(), "{label}: column count");
    for ((o, t), c) in ours.iter().zip(theirs).zip(cols) {
        assert!(
            eq(o, t, c),
            "{label}: column {} ({}): ours {o:?}, theirs {t:?}",
            c.name,
            c.data_type
        );
    }
}

const ALL_TYPES: &str = "CREATE TABLE t (
  id INT PRIMARY KEY,
  ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
  mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED,
  d65 DECIMAL(65,30), d10 DECIMAL(10,2), d0 DECIMAL(20,0) UNSIGNED, d9 DECIMAL(9,9),
  f FLOAT, db DOUBLE, b1 BIT(1), b10 BIT(10), b64 BIT(64), y YEAR, dt DATE,
  t0 TIME, t1 TIME(1), t2 TIME(2), t3 TIME(3), t4 TIME(4), t5 TIME(5), t6 TIME(6),
  dt0 DATETIME, dt1 DATETIME(1), dt3 DATETIME(3), dt6 DATETIME(6),
  ts0 TIMESTAMP NULL, ts2 TIMESTAMP(2) NULL, ts5 TIMESTAMP(5) NULL, ts6 TIMESTAMP(6) NULL,
  c CHAR(10) CHARACTER SET utf8mb4, c255 CHAR(255) CHARACTER SET utf8mb4,
  vc VARCHAR(300) CHARACTER SET utf8mb4, vl VARCHAR(20) CHARACTER SET latin1, vs VARCHAR(10) CHARACTER SET latin1,
  bn BINARY(4), vb VARBINARY(20),
  tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT,
  tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB,
  e ENUM('a','b','c'), s SET('x','y','z'), j JSON, g GEOMETRY
) ENGINE=InnoDB";

const MIN_ROW: &str = "(1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  '-99999999999999999999999999999999999.999999999999999999999999999999', -99999999.99, 0, -0.999999999,
  -3.40282e38, -1.7976931348623157e308, 0, 0, 0, 1901, '0000-00-00',
  '-838:59:59', '-838:59:59.9', '-838:59:59.99', '-838:59:59.999', '-838:59:59.9999', '-838:59:59.99999', '-838:59:59.000000',
  '0000-00-00 00:00:00', '1000-01-01 00:00:00.1', '1000-01-01 00:00:00.001', '0000-00-00 00:00:00.000000',
  '1970-01-01 00:00:01', '1970-01-01 00:00:01.01', '1970-01-01 00:00:01.00001', '1970-01-01 00:00:01.000001',
  '', '', '', '', '', 0x00000000, '', '', '', '', '', '', '', '', '',
  'a', '', '{}', ST_GeomFromText('POINT(0 0)'))";

const MAX_ROW: &str = "(2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
  '99999999999999999999999999999999999.999999999999999999999999999999', 99999999.99, 99999999999999999999, 0.999999999,
  3.40282e38, 1.7976931348623157e308, 1, 1023, 18446744073709551615, 2155, '9999-12-31',
  '838:59:59', '838:59:59.9', '838:59:59.99', '838:59:59.999', '838:59:59.9999', '838:59:59.99999', '838:59:59.999999',
  '9999-12-31 23:59:59', '9999-12-31 23:59:59.9', '9999-12-31 23:59:59.999', '9999-12-31 23:59:59.999999',
  '2038-01-19 03:14:07', '2038-01-19 03:14:07.99', '2038-01-19 03:14:07.99999', '2038-01-19 03:14:07.999999',
  'ａbc😀', REPEAT('😀', 255), CONCAT(REPEAT('漢', 299), '😀'), 0x636166E9, 'zz', 0xDEADBEEF, 0x00FF00FF00,
  REPEAT('t', 255), REPEAT('x', 65535), REPEAT('m', 100000), REPEAT('😀', 70000),
  REPEAT(0xAB, 255), REPEAT(0xCD, 65535), REPEAT(0xEF, 100000), REPEAT(0x01, 300000),
  'c', 'x,y,z', '{\"a\": [1, 2.5, {\"b\": null}], \"s\": \"\\\\u00e9\"}', ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))', 4326))";

/// Every column but the key NULL.
fn null_row(columns: usize) -> String {
    format!("(3{})", ", NULL".repeat(columns - 1))
}

const MIXED_ROW: &str = "(4, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1,
  '-0.000000000000000000000000000001', '0.01', 1, 0.000000001,
  -1.5, 0.1, 0, 512, 9223372036854775808, 0, '2024-02-29',
  '-00:00:01', '-00:00:00.1', '-00:00:01.01', '-00:00:00.001', '-00:00:01.0001', '-00:00:00.00001', '-00:00:00.000001',
  '2024-02-29 12:34:56', '2024-02-29 12:34:56.5', '2024-02-29 12:34:56.123', '2024-02-29 12:34:56.000001',
  '2024-02-29 12:34:56', '2024-02-29 12:34:56.5', '2024-02-29 12:34:56.12345', '2024-02-29 12:34:56.654321',
  NULL, 'x', NULL, 'a', NULL, 0x01, NULL, 'ü', NULL, '', NULL, 'b', NULL, 0x00, NULL,
  'b', 'y', 'null', NULL)";

#[tokio::test]
async fn every_type_round_trips_against_select_and_mysql_common() {
    let _shared = GLOBALS.read().await;
    let mut conn = admin().await;
    let db = format!("dts_types_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
        format!("USE {db}"),
        "SET SESSION sql_mode = ''".to_owned(),
        "SET SESSION time_zone = '+00:00'".to_owned(),
        // Return stored bytes as they are (latin1 columns unconverted).
        "SET SESSION character_set_results = 'binary'".to_owned(),
        ALL_TYPES.to_owned(),
    ] {
        conn.query_drop(sql).await.unwrap();
    }
    let cols = columns(&mut conn, &db, "t").await;
    assert_eq!(cols.len(), 56);
    let null = null_row(cols.len());
    let select = "SELECT * FROM t ORDER BY id";
    let inserts: Vec<String> = [MIN_ROW, MAX_ROW, null.as_str(), MIXED_ROW]
        .iter()
        .map(|r| format!("INSERT INTO t VALUES {r}"))
        .collect();
    let mut work = inserts.clone();
    work.push("UPDATE t SET ti = 5, vc = 'changed', j = '[1]', ts6 = '2001-01-01 00:00:00.5' WHERE id = 2".into());
    work.push("UPDATE t SET id = 40 WHERE id = 4".into());
    work.push("DELETE FROM t WHERE id = 1".into());
    // Snapshots of the table after the inserts and at the end, through the binary protocol.
    let mut after_inserts = Vec::new();
    let mut all_work = Vec::new();
    for (k, sql) in work.iter().enumerate() {
        all_work.push(sql.clone());
        if k == inserts.len() - 1 {
            let files = capture(&mut conn, &all_work).await;
            after_inserts = conn
                .exec::<mysql_async::Row, _, _>(select, ())
                .await
                .unwrap();
            all_work.clear();
            check_against(&db, &cols, &files, &after_inserts, None);
        }
    }
    let files = capture(&mut conn, &all_work).await;
    let end = conn
        .exec::<mysql_async::Row, _, _>(select, ())
        .await
        .unwrap();
    check_against(&db, &cols, &files, &end, Some(&after_inserts));
    conn.query_drop(format!("DROP DATABASE {db}"))
        .await
        .unwrap();
}

/// With the inserts' files: every after image equals the SELECT. With the later files
/// (`before_rows` = the table before them): updates' before images equal the old rows, after
/// images the new ones, and deletes' before images the old rows.
fn check_against(
    db: &str,
    cols: &[Col],
    files: &[PathBuf],
    rows_now: &[mysql_async::Row],
    before_rows: Option<&[mysql_async::Row]>,
) {
    let plan = plan_from_schema(cols);
    let decoded = ours(files, db, &plan);
    let oracle_rows = oracle(files, db);
    assert_eq!(
        decoded.len(),
        oracle_rows.len(),
        "row changes: ours vs mysql_common"
    );
    let unplanned = ours(files, db, &|m: &TableMapEvent| RowPlan::new(m));
    let values = |r: &mysql_async::Row| -> Vec<MyValue> { r.clone().unwrap() };
    let by_id = |rows: &[mysql_async::Row], id: i64| -> Vec<MyValue> {
        rows.iter()
            .find(|r| r.get::<i64, _>(0) == Some(id))
            .map(values)
            .unwrap_or_else(|| panic!("no row {id}"))
    };
    let id_of = |img: &[Value]| match img[0] {
        Value::Int(i) => i,
        ref other => panic!("id {other:?}"),
    };
    let eq = |o: &Value, t: &MyValue, c: &Col| same(o, t, c);
    let mut mismatches = Vec::new();
    for (k, ((_, change), (_, ob, oa))) in decoded.iter().zip(&oracle_rows).enumerate() {
        // Same bytes, mysql_common's reading (no signedness metadata: compare our plain plan).
        let (_, plain) = &unplanned[k];
        for (mine, theirs) in [(&plain.before, ob), (&plain.after, oa)] {
            match (mine, theirs) {
                (Some(m), Some(t)) => {
                    assert_eq!(m.len(), t.len());
                    for ((a, b), c) in m.iter().zip(t).zip(cols) {
                        if oracle_is_wrong(a, b, c) {
                            continue;
                        }
                        if !same_as_oracle(a, b) {
                            mismatches.push(format!(
                                "row change {k}, column {} ({}): ours {a:?}, mysql_common {b:?}",
                                c.name, c.data_type
                            ));
                        }
                    }
                }
                (None, None) => {}
                other => panic!("row change {k}: image presence differs: {other:?}"),
            }
        }
        match (&change.before, &change.after, before_rows) {
            (None, Some(after), None) => check_rows(
                &format!("insert {k}"),
                cols,
                after,
                &by_id(rows_now, id_of(after)),
                &eq,
            ),
            (Some(before), Some(after), Some(old)) => {
                check_rows(
                    &format!("update {k} before"),
                    cols,
                    before,
                    &by_id(old, id_of(before)),
                    &eq,
                );
                check_rows(
                    &format!("update {k} after"),
                    cols,
                    after,
                    &by_id(rows_now, id_of(after)),
                    &eq,
                );
            }
            (Some(before), None, Some(old)) => check_rows(
                &format!("delete {k}"),
                cols,
                before,
                &by_id(old, id_of(before)),
                &eq,
            ),
            other => panic!("unexpected row change {k}: {other:?}"),
        }
    }
    assert!(
        mismatches.is_empty(),
        "differences from mysql_common:\n{}",
        mismatches.join("\n")
    );
    let expected = if before_rows.is_none() { 4 } else { 3 };
    assert_eq!(decoded.len(), expected, "row changes decoded");
}

#[tokio::test]
async fn full_row_metadata_gives_the_same_values_without_schema_hints() {
    let _shared = GLOBALS.read().await;
    let mut conn = admin().await;
    let db = format!("dts_meta_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
        format!("USE {db}"),
        "SET SESSION sql_mode = ''".into(),
        ALL_TYPES.to_owned(),
    ] {
        conn.query_drop(sql).await.unwrap();
    }
    let cols = columns(&mut conn, &db, "t").await;
    let old: String = conn
        .query_first("SELECT @@GLOBAL.binlog_row_metadata")
        .await
        .unwrap()
        .unwrap();
    conn.query_drop("SET GLOBAL binlog_row_metadata = 'FULL'")
        .await
        .unwrap();
    // A new connection picks up the global setting.
    let mut c2 = admin().await;
    c2.query_drop(format!("USE {db}")).await.unwrap();
    c2.query_drop("SET SESSION sql_mode = ''").await.unwrap();
    let work: Vec<String> = [MIN_ROW, MAX_ROW, MIXED_ROW]
        .iter()
        .map(|r| format!("INSERT INTO t VALUES {r}"))
        .collect();
    let files = capture(&mut c2, &work).await;
    conn.query_drop(format!("SET GLOBAL binlog_row_metadata = '{old}'"))
        .await
        .unwrap();
    let from_schema = ours(&files, &db, &plan_from_schema(&cols));
    let from_metadata = ours(&files, &db, &|m: &TableMapEvent| {
        assert!(
            m.optional.unsigned.is_some() && m.optional.column_names.is_some(),
            "FULL metadata missing"
        );
        RowPlan::new(m)
    });
    assert_eq!(from_schema.len(), 3);
    assert_eq!(from_schema, from_metadata);
    conn.query_drop(format!("DROP DATABASE {db}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn thousand_columns_and_a_twenty_mib_row() {
    let _shared = GLOBALS.read().await;
    let mut conn = admin().await;
    let db = format!("dts_wide_{}", std::process::id());
    let cols: Vec<String> = (0..1000).map(|i| format!("c{i} INT")).collect();
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
        format!("USE {db}"),
    ] {
        conn.query_drop(sql).await.unwrap();
    }
    conn.query_drop(format!(
        "CREATE TABLE wide ({}) ENGINE=InnoDB",
        cols.join(", ")
    ))
    .await
    .unwrap();
    conn.query_drop("CREATE TABLE big (id INT PRIMARY KEY, b LONGBLOB)")
        .await
        .unwrap();
    let values: Vec<String> = (0..1000)
        .map(|i| {
            if i % 7 == 3 {
                "NULL".into()
            } else {
                (i * 1000 - 500_000).to_string()
            }
        })
        .collect();
    let big: Vec<u8> = (0..20 * 1024 * 1024)
        .map(|i: u32| (i % 251) as u8)
        .collect();
    let start = capture(&mut conn, &[]).await;
    drop(start);
    conn.query_drop(format!("INSERT INTO wide VALUES ({})", values.join(", ")))
        .await
        .unwrap();
    conn.exec_drop("INSERT INTO big VALUES (1, ?)", (big.clone(),))
        .await
        .unwrap();
    let files = capture(&mut conn, &[]).await;
    let decoded = ours(&files, &db, &|m: &TableMapEvent| RowPlan::new(m));
    assert_eq!(decoded.len(), 2);
    let wide = decoded[0].1.after.as_ref().unwrap();
    assert_eq!(wide.len(), 1000);
    for (i, v) in wide.iter().enumerate() {
        let want = if i % 7 == 3 {
            Value::Null
        } else {
            Value::Int(i64::try_from(i).unwrap() * 1000 - 500_000)
        };
        assert_eq!(*v, want, "column c{i}");
    }
    let row = decoded[1].1.after.as_ref().unwrap();
    match &row[1] {
        Value::Bytes(b) => assert!(
            b.len() == big.len() && b[..] == big[..],
            "20 MiB blob differs"
        ),
        other => panic!("{other:?}"),
    }
    conn.query_drop(format!("DROP DATABASE {db}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn mariadb_compressed_events_decode() {
    let _exclusive = GLOBALS.write().await;
    use dts_mysql_source::binlog::EventType;
    let mut conn = admin().await;
    let db = format!("dts_zip_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
    ] {
        conn.query_drop(sql).await.unwrap();
    }
    let old: (String, u64) = conn
        .query_first("SELECT @@GLOBAL.log_bin_compress, @@GLOBAL.log_bin_compress_min_len")
        .await
        .unwrap()
        .unwrap();
    conn.query_drop("SET GLOBAL log_bin_compress = ON, GLOBAL log_bin_compress_min_len = 10")
        .await
        .unwrap();
    let mut c2 = admin().await;
    let work: Vec<String> = vec![
        format!("CREATE TABLE {db}.z (id INT PRIMARY KEY, note TEXT, n BIGINT UNSIGNED)"),
        format!(
            "INSERT INTO {db}.z VALUES (1, REPEAT('compress me ', 200), 18446744073709551615), (2, 'short', 0)"
        ),
        format!("UPDATE {db}.z SET note = REPEAT('changed ', 300) WHERE id = 1"),
        format!("DELETE FROM {db}.z WHERE id = 2"),
    ];
    let files = capture(&mut c2, &work).await;
    conn.query_drop(format!(
        "SET GLOBAL log_bin_compress = {}, GLOBAL log_bin_compress_min_len = {}",
        if old.0 == "ON" || old.0 == "1" {
            "ON"
        } else {
            "OFF"
        },
        old.1
    ))
    .await
    .unwrap();

    // The server really compressed them, and we decoded them.
    let mut seen = Vec::new();
    let mut ddl = None;
    for path in &files {
        let mut file = BinlogFile::new(
            Bytes::from(std::fs::read(path).unwrap()),
            EventDecoder::default(),
        )
        .unwrap();
        while let Some(ev) = file.next_event() {
            let (_, ev) = ev.unwrap();
            if let Event::Query(q) = &ev.event
                && q.query.windows(12).any(|w| w == b"CREATE TABLE")
                && q.query.windows(db.len()).any(|w| w == db.as_bytes())
            {
                ddl = Some((
                    ev.header.event_type,
                    String::from_utf8_lossy(&q.query).into_owned(),
                ));
            }
            if let Event::Rows(r) = &ev.event
                && r.table.schema == db.as_bytes()
            {
                seen.push(ev.header.event_type);
            }
        }
    }
    let (ddl_type, ddl_text) = ddl.expect("CREATE TABLE found");
    assert_eq!(ddl_type, EventType::MariaQueryCompressed);
    assert!(ddl_text.contains("note TEXT"), "{ddl_text}");
    assert!(
        seen.contains(&EventType::MariaWriteRowsCompressedV1)
            && seen.contains(&EventType::MariaUpdateRowsCompressedV1)
            && seen.contains(&EventType::MariaDeleteRowsCompressedV1),
        "{seen:?}"
    );
    let cols = vec![
        Col {
            name: "id".into(),
            data_type: "int".into(),
            unsigned: false,
            binary: false,
            labels: vec![],
        },
        Col {
            name: "note".into(),
            data_type: "text".into(),
            unsigned: false,
            binary: false,
            labels: vec![],
        },
        Col {
            name: "n".into(),
            data_type: "bigint".into(),
            unsigned: true,
            binary: false,
            labels: vec![],
        },
    ];
    let decoded = ours(&files, &db, &plan_from_schema(&cols));
    assert_eq!(decoded.len(), 4);
    assert_eq!(
        decoded[0].1.after.as_ref().unwrap()[1],
        Value::String(Bytes::from("compress me ".repeat(200)))
    );
    assert_eq!(
        decoded[0].1.after.as_ref().unwrap()[2],
        Value::UInt(u64::MAX)
    );
    assert_eq!(
        decoded[2].1.after.as_ref().unwrap()[1],
        Value::String(Bytes::from("changed ".repeat(300)))
    );
    assert_eq!(decoded[3].1.before.as_ref().unwrap()[0], Value::Int(2));
    conn.query_drop(format!("DROP DATABASE {db}"))
        .await
        .unwrap();
}
