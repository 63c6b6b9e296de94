//! Inputs of the DTS Avro benches: realistic row events, and the same records built as
//! `apache_avro::types::Value`s the way an encoder based on `apache-avro` has to build them.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::types::Value as A;
use bytes::Bytes;
use dts_core::{
    BinlogPosition, ChangeEvent, ColumnDef, ColumnType, Date, DateTime, Decimal, KeyDef, Operation,
    TableId, TableSchema, Time, Value,
};

const SERVER_VERSION: &str = "8.0.36";

/// The server version both encoders write.
pub(crate) fn server_version() -> &'static str {
    SERVER_VERSION
}

fn text(name: &str, ty: ColumnType, length: u64) -> ColumnDef {
    let mut c = ColumnDef::new(name, ty);
    c.charset = Some("utf8mb4".into());
    c.length = Some(length);
    c
}

fn not_null(mut c: ColumnDef) -> ColumnDef {
    c.nullable = false;
    c
}

fn table(name: &str, columns: Vec<ColumnDef>) -> Arc<TableSchema> {
    Arc::new(
        TableSchema::new(
            TableId::new("sbtest", name),
            columns,
            Some(KeyDef {
                name: "PRIMARY".into(),
                columns: vec![0],
            }),
            vec![],
        )
        .expect("valid table"),
    )
}

/// sysbench's `c` and `pad`: groups of 11 digits joined by `-`.
fn sysbench_text(seed: u64, groups: usize) -> Bytes {
    let mut s = String::new();
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    for g in 0..groups {
        if g > 0 {
            s.push('-');
        }
        for _ in 0..11 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            s.push(char::from(b'0' + u8::try_from((x >> 33) % 10).unwrap_or(0)));
        }
    }
    Bytes::from(s)
}

fn with_meta(mut ev: ChangeEvent, i: u64) -> ChangeEvent {
    ev.position = Some(BinlogPosition::new("mysql-bin.000078", 4 + i * 420));
    ev.safe_position = Some(BinlogPosition::new("mysql-bin.000078", 4 + (i / 10) * 4200));
    ev.source_ts_ms = 1_700_000_000_000 + i;
    ev.read_ts_ms = 1_700_000_000_050 + i;
    ev.server_id = 1;
    ev.thread_id = Some(17);
    ev.id = 1_700_000_000_000_000 + i;
    ev
}

fn int(i: u64) -> i64 {
    i64::try_from(i).unwrap_or(i64::MAX)
}

/// `n` INSERTs into sysbench's `sbtest1 (id INT PRIMARY KEY, k INT, c CHAR(120), pad CHAR(60))`.
pub(crate) fn sysbench(n: u64) -> Vec<ChangeEvent> {
    let t = table(
        "sbtest1",
        vec![
            not_null(ColumnDef::new("id", ColumnType::Int)),
            not_null(ColumnDef::new("k", ColumnType::Int)),
            not_null(text("c", ColumnType::Char, 120)),
            not_null(text("pad", ColumnType::Char, 60)),
        ],
    );
    (0..n)
        .map(|i| {
            let row = vec![
                Value::Int(int(i + 1)),
                Value::Int(int(i * 7919 % 100_000)),
                Value::String(sysbench_text(i, 10)),
                Value::String(sysbench_text(i + 1, 5)),
            ];
            with_meta(ChangeEvent::insert(t.clone(), row), i)
        })
        .collect()
}

/// `n` UPDATEs (full before and after images) of a 30-column table of mixed types.
pub(crate) fn mixed30(n: u64) -> Vec<ChangeEvent> {
    let mut dec = ColumnDef::new("price", ColumnType::Decimal);
    dec.precision = Some(12);
    dec.scale = Some(2);
    let mut en = ColumnDef::new("status", ColumnType::Enum);
    en.labels = vec!["new".into(), "paid".into(), "shipped".into()];
    let mut set = ColumnDef::new("flags", ColumnType::Set);
    set.labels = vec!["a".into(), "b".into(), "c".into(), "d".into()];
    let mut bit = ColumnDef::new("mask", ColumnType::Bit);
    bit.length = Some(8);
    let mut unsigned = ColumnDef::new("big_u", ColumnType::BigInt);
    unsigned.unsigned = true;
    let mut fsp3 = ColumnDef::new("t3", ColumnType::Time);
    fsp3.fsp = Some(3);
    let mut dt6 = ColumnDef::new("dt6", ColumnType::DateTime);
    dt6.fsp = Some(6);
    let columns = vec![
        not_null(ColumnDef::new("id", ColumnType::BigInt)),
        ColumnDef::new("tiny", ColumnType::TinyInt),
        ColumnDef::new("small", ColumnType::SmallInt),
        ColumnDef::new("medium", ColumnType::MediumInt),
        ColumnDef::new("i", ColumnType::Int),
        unsigned,
        dec,
        ColumnDef::new("ratio", ColumnType::Float),
        ColumnDef::new("score", ColumnType::Double),
        bit,
        ColumnDef::new("d", ColumnType::Date),
        fsp3,
        ColumnDef::new("dt", ColumnType::DateTime),
        dt6,
        ColumnDef::new("ts", ColumnType::Timestamp),
        ColumnDef::new("y", ColumnType::Year),
        text("code", ColumnType::Char, 10),
        text("name", ColumnType::VarChar, 255),
        text("email", ColumnType::VarChar, 255),
        ColumnDef::new("uuid", ColumnType::Binary),
        ColumnDef::new("token", ColumnType::VarBinary),
        text("note", ColumnType::Text, 65_535),
        ColumnDef::new("blob", ColumnType::Blob),
        en,
        set,
        ColumnDef::new("attrs", ColumnType::Json),
        ColumnDef::new("location", ColumnType::Geometry),
        text("tag", ColumnType::TinyText, 255),
        ColumnDef::new("missing", ColumnType::Int),
        text("comment", ColumnType::VarChar, 255),
    ];
    let t = table("mixed30", columns);
    let date = Date {
        year: 2024,
        month: 5,
        day: 17,
    };
    let row = |i: u64| {
        let mut point = 4326u32.to_le_bytes().to_vec();
        point.extend_from_slice(&[1, 1, 0, 0, 0]);
        point.extend_from_slice(&13.4_f64.to_le_bytes());
        point.extend_from_slice(&52.5_f64.to_le_bytes());
        vec![
            Value::Int(int(i + 1)),
            Value::Int(-7),
            Value::Int(1234),
            Value::Int(-80_000),
            Value::Int(int(i % 1_000_000)),
            Value::UInt(u64::MAX - i),
            Value::Decimal(
                Decimal::from_text(Bytes::from(format!("{}.{:02}", i % 10_000, i % 100)))
                    .expect("decimal"),
            ),
            Value::Float(0.25),
            Value::Double(1234.5678),
            Value::Bit(0b1010_0101),
            Value::Date(date),
            Value::Time(Time {
                negative: false,
                hours: 12,
                minutes: 34,
                seconds: 56,
                micros: 789_000,
            }),
            Value::DateTime(DateTime {
                date,
                hour: 10,
                minute: 11,
                second: 12,
                micros: 0,
            }),
            Value::DateTime(DateTime {
                date,
                hour: 10,
                minute: 11,
                second: 12,
                micros: 123_456,
            }),
            Value::Timestamp {
                secs: 1_715_940_000 + i,
                micros: 0,
            },
            Value::Year(2024),
            Value::String(Bytes::from_static(b"ABC-123456")),
            Value::String(Bytes::from(format!("Customer Número {i}"))),
            Value::String(Bytes::from(format!("customer{i}@example.com"))),
            Value::Bytes(Bytes::from(vec![0xab; 16])),
            Value::Bytes(Bytes::from(vec![0x5a; 32])),
            Value::String(Bytes::from(vec![b'n'; 200])),
            Value::Bytes(Bytes::from(vec![0x11; 100])),
            Value::Enum(2),
            Value::Set(0b0101),
            Value::Json(Bytes::from_static(
                br#"{"color":"red","size":[1,2,3],"gift":false}"#,
            )),
            Value::Geometry(Bytes::from(point)),
            Value::String(Bytes::from_static(b"tag")),
            Value::Null,
            Value::String(Bytes::from_static(b"")),
        ]
    };
    (0..n)
        .map(|i| with_meta(ChangeEvent::update(t.clone(), row(i), row(i + 1)), i))
        .collect()
}

// --------------------------------------------------------------- apache-avro ---

fn s(v: impl Into<String>) -> A {
    A::String(v.into())
}

fn rec(fields: Vec<(&str, A)>) -> A {
    A::Record(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn null() -> A {
    A::Union(0, Box::new(A::Null))
}

fn i32_of<T: TryInto<i32>>(v: T) -> i32 {
    v.try_into().unwrap_or(i32::MAX)
}

fn opt_int(v: Option<i64>) -> A {
    v.map_or_else(null, |v| A::Union(1, Box::new(A::Int(i32_of(v)))))
}

fn datetime(m: [Option<i64>; 7]) -> A {
    let names = ["year", "month", "day", "hour", "minute", "second", "millis"];
    rec(names.iter().zip(m).map(|(n, v)| (*n, opt_int(v))).collect())
}

fn item(c: &ColumnDef, v: &Value) -> A {
    let (branch, value) = match (c.ty, v) {
        (_, Value::Null) => return null(),
        (ty, Value::Int(_) | Value::UInt(_)) if ty.is_integer() => {
            let precision = match ty {
                ColumnType::TinyInt => 1,
                ColumnType::SmallInt => 2,
                ColumnType::MediumInt => 3,
                ColumnType::Int => 4,
                _ => 8,
            };
            let text = match v {
                Value::Int(n) => n.to_string(),
                Value::UInt(n) => n.to_string(),
                _ => String::new(),
            };
            (
                1,
                rec(vec![("precision", A::Int(precision)), ("value", s(text))]),
            )
        }
        (ColumnType::Bit, Value::Bit(b)) => (
            1,
            rec(vec![
                ("precision", A::Int(i32_of(c.length.unwrap_or(1)))),
                ("value", s(b.to_string())),
            ]),
        ),
        (ColumnType::Decimal, Value::Decimal(d)) => (
            3,
            rec(vec![
                ("value", s(d.as_str())),
                ("precision", A::Int(i32_of(c.precision.unwrap_or(10)))),
                ("scale", A::Int(i32_of(c.scale.unwrap_or(0)))),
            ]),
        ),
        (_, Value::Float(_) | Value::Double(_)) => {
            let x = match v {
                Value::Float(f) => f64::from(*f),
                Value::Double(f) => *f,
                _ => 0.0,
            };
            let ps = |p: Option<u32>| p.map_or(-1, i32_of);
            (
                4,
                rec(vec![
                    ("value", A::Double(x)),
                    ("precision", A::Int(ps(c.precision))),
                    ("scale", A::Int(ps(c.scale))),
                ]),
            )
        }
        (_, Value::Date(d)) => (
            6,
            datetime([
                Some(d.year.into()),
                Some(d.month.into()),
                Some(d.day.into()),
                None,
                None,
                None,
                None,
            ]),
        ),
        (_, Value::Time(t)) => {
            let k = if t.negative { -1 } else { 1 };
            (
                6,
                datetime([
                    None,
                    None,
                    None,
                    Some(k * i64::from(t.hours)),
                    Some(k * i64::from(t.minutes)),
                    Some(k * i64::from(t.seconds)),
                    Some(k * i64::from(t.micros)),
                ]),
            )
        }
        (_, Value::DateTime(dt)) => (
            6,
            datetime([
                Some(dt.date.year.into()),
                Some(dt.date.month.into()),
                Some(dt.date.day.into()),
                Some(dt.hour.into()),
                Some(dt.minute.into()),
                Some(dt.second.into()),
                Some(dt.micros.into()),
            ]),
        ),
        (_, Value::Timestamp { secs, micros }) => (
            5,
            rec(vec![
                (
                    "timestamp",
                    A::Long(i64::try_from(*secs).unwrap_or(i64::MAX)),
                ),
                ("millis", A::Int(i32_of(*micros))),
            ]),
        ),
        (_, Value::Year(y)) => (
            6,
            datetime([Some((*y).into()), None, None, None, None, None, None]),
        ),
        (ColumnType::Char | ColumnType::VarChar, Value::String(b)) => (
            2,
            rec(vec![
                ("charset", s(c.charset.clone().unwrap_or_default())),
                ("value", A::Bytes(b.to_vec())),
            ]),
        ),
        (ColumnType::Binary | ColumnType::VarBinary, Value::Bytes(b)) => (
            2,
            rec(vec![
                ("charset", s("binary")),
                ("value", A::Bytes(b.to_vec())),
            ]),
        ),
        (ty, Value::String(b)) if ty.is_text() => (
            10,
            rec(vec![("type", s("TEXT")), ("value", A::Bytes(b.to_vec()))]),
        ),
        (_, Value::Bytes(b)) => (
            10,
            rec(vec![("type", s("BLOB")), ("value", A::Bytes(b.to_vec()))]),
        ),
        (_, Value::Enum(i)) => (
            11,
            rec(vec![
                ("type", s("ENUM")),
                ("value", s(c.enum_label(*i).unwrap_or_default())),
            ]),
        ),
        (_, Value::Set(bits)) => (
            11,
            rec(vec![
                ("type", s("SET")),
                (
                    "value",
                    s(c.set_labels(*bits).unwrap_or_default().join(",")),
                ),
            ]),
        ),
        (_, Value::Json(b)) => (
            11,
            rec(vec![
                ("type", s("JSON")),
                ("value", s(String::from_utf8_lossy(b))),
            ]),
        ),
        (_, Value::Geometry(b)) => (
            8,
            rec(vec![
                ("type", s("GEOMETRY")),
                ("value", A::Bytes(b.get(4..).unwrap_or_default().to_vec())),
            ]),
        ),
        _ => return null(),
    };
    A::Union(branch, Box::new(value))
}

fn position(p: Option<&BinlogPosition>) -> String {
    p.and_then(|p| Some(format!("{}@{}", p.offset, p.file_sequence()?)))
        .unwrap_or_default()
}

/// The record of a row event as an `apache-avro` value: what `DtsAvroCodec` writes with its
/// default configuration.
pub(crate) fn apache_record(ev: &ChangeEvent) -> A {
    let Some(t) = ev.table.as_deref() else {
        return A::Null;
    };
    let image = |row: Option<&Vec<Value>>| {
        row.map_or_else(null, |row| {
            A::Union(
                2,
                Box::new(A::Array(
                    t.columns()
                        .iter()
                        .zip(row)
                        .map(|(c, v)| item(c, v))
                        .collect(),
                )),
            )
        })
    };
    let fields = t
        .columns()
        .iter()
        .map(|c| {
            rec(vec![
                ("name", s(c.name.clone())),
                ("dataTypeNumber", A::Int(c.ty.type_code().into())),
            ])
        })
        .collect();
    let mut tags = HashMap::new();
    if let Some(pk) = t.primary_key() {
        let cols: Vec<String> = pk
            .columns
            .iter()
            .filter_map(|&i| t.columns().get(i))
            .map(|c| format!("\"{}\"", c.name))
            .collect();
        tags.insert(
            "pk_uk_info".to_owned(),
            s(format!("{{\"{}\":[{}]}}", pk.name, cols.join(","))),
        );
    }
    tags.insert(
        "metaVersion".to_owned(),
        s((t.version() & (u64::MAX >> 1)).to_string()),
    );
    tags.insert(
        "readerThroughoutTime".to_owned(),
        s(ev.read_ts_ms.to_string()),
    );
    tags.insert("server_id".to_owned(), s(ev.server_id.to_string()));
    if let Some(id) = ev.thread_id {
        tags.insert("thread_id".to_owned(), s(id.to_string()));
    }
    let (op, symbol) = match ev.op {
        Operation::Update => (1, "UPDATE"),
        Operation::Delete => (2, "DELETE"),
        Operation::Init => (16, "INIT"),
        _ => (0, "INSERT"),
    };
    let ts = i64::try_from(ev.source_ts_ms / 1000).unwrap_or(i64::MAX);
    rec(vec![
        ("version", A::Int(0)),
        ("id", A::Long(i64::try_from(ev.id).unwrap_or(i64::MAX))),
        ("sourceTimestamp", A::Long(ts)),
        ("sourcePosition", s(position(ev.position.as_ref()))),
        ("safeSourcePosition", s(position(ev.safe_position.as_ref()))),
        ("sourceTxid", s("0")),
        (
            "source",
            rec(vec![
                ("sourceType", A::Enum(0, "MySQL".into())),
                ("version", s(SERVER_VERSION)),
            ]),
        ),
        ("operation", A::Enum(op, symbol.into())),
        (
            "objectName",
            A::Union(
                1,
                Box::new(s(format!("{}.{}", t.id().db(), t.id().table()))),
            ),
        ),
        ("processTimestamps", null()),
        ("tags", A::Map(tags)),
        ("fields", A::Union(2, Box::new(A::Array(fields)))),
        ("beforeImages", image(ev.before.as_ref())),
        ("afterImages", image(ev.after.as_ref())),
        ("bornTimestamp", A::Long(ts)),
    ])
}
