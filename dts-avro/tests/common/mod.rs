//! Shared by the property tests: the published schema, an independent oracle mapping a
//! `ChangeEvent` to the `apache_avro::types::Value` of its record (written from the tables of
//! DTS-AVRO.md, not from the encoder), and generators of random tables and events.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use apache_avro::Schema;
use apache_avro::types::Value as A;
use bytes::Bytes;
use dts_avro::{DtsAvroConfig, TagsConfig};
use dts_core::{
    BinlogPosition, ChangeEvent, ColumnDef, ColumnType, Date, DateTime, Ddl, Decimal, KeyDef,
    Operation, TableId, TableSchema, Time, Value,
};
use proptest::prelude::*;
use serde_json::Value as Json;

/// `com.alibaba.dts.formats.avro.Record` parsed from the shared contract
/// (`DTS_AVRO_SCHEMA`, else `../shared/dts-avro/Record.avsc`): a missing file fails the test.
pub(crate) static SHARED_RECORD: LazyLock<Schema> = LazyLock::new(|| {
    let path = std::env::var_os("DTS_AVRO_SCHEMA").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/dts-avro/Record.avsc"
            ))
        },
        PathBuf::from,
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the DTS Avro contract {}: {e} (set DTS_AVRO_SCHEMA)",
            path.display()
        )
    });
    let Json::Array(items) = serde_json::from_str::<Json>(&text).unwrap() else {
        panic!("{} is not an array of named types", path.display())
    };
    let texts: Vec<String> = items.iter().map(Json::to_string).collect();
    let schemata = Schema::parse_list(&texts).unwrap();
    let record = schemata
        .iter()
        .find(|s| s.name().is_some_and(|n| n.name == "Record"))
        .unwrap();
    Schema::parse_str(&record.independent_canonical_form(&schemata).unwrap()).unwrap()
});

fn s(v: impl Into<String>) -> A {
    A::String(v.into())
}

fn rec(fields: Vec<(&str, A)>) -> A {
    A::Record(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn opt_int(v: Option<i64>) -> A {
    match v {
        None => A::Union(0, Box::new(A::Null)),
        Some(v) => A::Union(1, Box::new(A::Int(i32::try_from(v).unwrap()))),
    }
}

fn datetime(m: [Option<i64>; 7]) -> A {
    let names = ["year", "month", "day", "hour", "minute", "second", "millis"];
    rec(names.iter().zip(m).map(|(n, v)| (*n, opt_int(v))).collect())
}

/// The image item of `v` in column `c`, per the type table of DTS-AVRO.md.
pub(crate) fn item(c: &ColumnDef, v: &Value) -> A {
    let (branch, value) = match (c.ty, v) {
        (_, Value::Null) => return A::Union(0, Box::new(A::Null)),
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
                _ => unreachable!(),
            };
            (
                1,
                rec(vec![("precision", A::Int(precision)), ("value", s(text))]),
            )
        }
        (ColumnType::Bit, Value::Bit(b)) => {
            let m = i32::try_from(c.length.unwrap_or(1)).unwrap();
            (
                1,
                rec(vec![("precision", A::Int(m)), ("value", s(b.to_string()))]),
            )
        }
        (ColumnType::Decimal, Value::Decimal(d)) => (
            3,
            rec(vec![
                ("value", s(d.as_str())),
                (
                    "precision",
                    A::Int(i32::try_from(c.precision.unwrap_or(10)).unwrap()),
                ),
                (
                    "scale",
                    A::Int(i32::try_from(c.scale.unwrap_or(0)).unwrap()),
                ),
            ]),
        ),
        (ColumnType::Float | ColumnType::Double, Value::Float(_) | Value::Double(_)) => {
            let x = match v {
                Value::Float(f) => f64::from(*f),
                Value::Double(f) => *f,
                _ => unreachable!(),
            };
            let ps = |p: Option<u32>| p.map_or(-1, |p| i32::try_from(p).unwrap());
            (
                4,
                rec(vec![
                    ("value", A::Double(x)),
                    ("precision", A::Int(ps(c.precision))),
                    ("scale", A::Int(ps(c.scale))),
                ]),
            )
        }
        (ColumnType::Date, Value::Date(d)) => (
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
        (ColumnType::Time, Value::Time(t)) => {
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
        (ColumnType::DateTime, Value::DateTime(dt)) => (
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
        (ColumnType::Timestamp, Value::Timestamp { secs, micros }) => (
            5,
            rec(vec![
                ("timestamp", A::Long(i64::try_from(*secs).unwrap())),
                ("millis", A::Int(i32::try_from(*micros).unwrap())),
            ]),
        ),
        (ColumnType::Year, Value::Year(y)) => (
            6,
            datetime([Some((*y).into()), None, None, None, None, None, None]),
        ),
        (ColumnType::Char | ColumnType::VarChar, Value::String(b)) => (
            2,
            rec(vec![
                ("charset", s(c.charset.clone().unwrap())),
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
        (
            ColumnType::TinyBlob | ColumnType::Blob | ColumnType::MediumBlob | ColumnType::LongBlob,
            Value::Bytes(b),
        ) => (
            10,
            rec(vec![("type", s("BLOB")), ("value", A::Bytes(b.to_vec()))]),
        ),
        (ty, Value::String(b)) if ty.is_text() => (
            10,
            rec(vec![("type", s("TEXT")), ("value", A::Bytes(b.to_vec()))]),
        ),
        (ColumnType::Enum, Value::Enum(i)) => {
            let label = if *i == 0 {
                ""
            } else {
                c.enum_label(*i).unwrap()
            };
            (11, rec(vec![("type", s("ENUM")), ("value", s(label))]))
        }
        (ColumnType::Set, Value::Set(bits)) => (
            11,
            rec(vec![
                ("type", s("SET")),
                ("value", s(c.set_labels(*bits).unwrap().join(","))),
            ]),
        ),
        (ColumnType::Json, Value::Json(b)) => (
            11,
            rec(vec![
                ("type", s("JSON")),
                ("value", s(std::str::from_utf8(b).unwrap())),
            ]),
        ),
        (ColumnType::Geometry, Value::Geometry(b)) => (
            8,
            rec(vec![
                ("type", s("GEOMETRY")),
                ("value", A::Bytes(b[4..].to_vec())),
            ]),
        ),
        (ColumnType::Vector, Value::Vector(b)) => (
            10,
            rec(vec![("type", s("BINARY")), ("value", A::Bytes(b.to_vec()))]),
        ),
        other => panic!("the generator made {other:?}"),
    };
    A::Union(branch, Box::new(value))
}

fn escape(name: &str) -> String {
    name.replace('.', "\\u002E")
}

fn position(p: Option<&BinlogPosition>) -> String {
    p.and_then(|p| Some(format!("{}@{}", p.offset, p.file_sequence()?)))
        .unwrap_or_default()
}

/// The tags of `ev`, in the order the codec documents.
pub(crate) fn tags(ev: &ChangeEvent, t: TagsConfig) -> Vec<(String, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    let common = |out: &mut Vec<(&str, String)>| {
        if t.reader_throughout_time && ev.read_ts_ms != 0 {
            out.push(("readerThroughoutTime", ev.read_ts_ms.to_string()));
        }
        if t.server_id && ev.server_id != 0 {
            out.push(("server_id", ev.server_id.to_string()));
        }
        if let Some(id) = ev.thread_id.filter(|_| t.thread_id) {
            out.push(("thread_id", id.to_string()));
        }
    };
    match ev.op {
        op if op.is_row() => {
            let table = ev.table.as_deref().unwrap();
            if t.pk_uk_info {
                let keys: Vec<String> = table
                    .primary_key()
                    .into_iter()
                    .chain(table.unique_keys())
                    .map(|k| {
                        let cols: Vec<Json> = k
                            .columns
                            .iter()
                            .map(|&i| Json::from(table.columns()[i].name.clone()))
                            .collect();
                        format!("{}:{}", Json::from(k.name.clone()), Json::from(cols))
                    })
                    .collect();
                if !keys.is_empty() {
                    out.push(("pk_uk_info", format!("{{{}}}", keys.join(","))));
                }
            }
            if t.meta_version {
                out.push((
                    "metaVersion",
                    (table.version() & (u64::MAX >> 1)).to_string(),
                ));
            }
            common(&mut out);
        }
        Operation::Ddl => {
            common(&mut out);
            if let Some(g) = ev.gtid.as_deref().filter(|_| t.gtid) {
                out.push(("GTID", g.to_owned()));
            }
            if t.commit_timestamp {
                out.push(("commitTimestamp", (ev.source_ts_ms / 1000).to_string()));
            }
        }
        op => {
            common(&mut out);
            if let Some(g) = ev
                .gtid
                .as_deref()
                .filter(|_| t.gtid && op != Operation::Heartbeat)
            {
                out.push(("GTID", g.to_owned()));
            }
        }
    }
    out.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The record of `ev` as an apache-avro value, with `tags` as the map `tags_map` makes.
pub(crate) fn expected(
    ev: &ChangeEvent,
    config: &DtsAvroConfig,
    tags_map: HashMap<String, A>,
) -> A {
    let null = || A::Union(0, Box::new(A::Null));
    let (op, symbol) = match ev.op {
        Operation::Insert => (0, "INSERT"),
        Operation::Update => (1, "UPDATE"),
        Operation::Delete => (2, "DELETE"),
        Operation::Ddl => (3, "DDL"),
        Operation::Begin => (4, "BEGIN"),
        Operation::Commit => (5, "COMMIT"),
        Operation::Heartbeat => (8, "HEARTBEAT"),
        Operation::Init => (16, "INIT"),
        other => panic!("{other}"),
    };
    let image = |row: Option<&Vec<Value>>| match row {
        None => null(),
        Some(row) => {
            let table = ev.table.as_deref().unwrap();
            A::Union(
                2,
                Box::new(A::Array(
                    table
                        .columns()
                        .iter()
                        .zip(row)
                        .map(|(c, v)| item(c, v))
                        .collect(),
                )),
            )
        }
    };
    let (object, fields, before, after) = match ev.op {
        op if op.is_row() => {
            let t = ev.table.as_deref().unwrap();
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
            let before = matches!(op, Operation::Update | Operation::Delete);
            let after = op != Operation::Delete;
            (
                A::Union(
                    1,
                    Box::new(s(format!(
                        "{}.{}",
                        escape(t.id().db()),
                        escape(t.id().table())
                    ))),
                ),
                A::Union(2, Box::new(A::Array(fields))),
                image(ev.before.as_ref().filter(|_| before)),
                image(ev.after.as_ref().filter(|_| after)),
            )
        }
        Operation::Ddl => {
            let ddl = ev.ddl.as_deref().unwrap();
            let db = ddl
                .table
                .as_ref()
                .map(|t| t.db().to_owned())
                .or(ddl.db.as_deref().map(str::to_owned));
            (
                db.map_or_else(null, |d| A::Union(1, Box::new(s(escape(&d))))),
                null(),
                null(),
                A::Union(1, Box::new(s(ddl.sql.clone()))),
            )
        }
        _ => (null(), null(), null(), null()),
    };
    let ts = i64::try_from(ev.source_ts_ms / 1000).unwrap();
    rec(vec![
        ("version", A::Int(0)),
        ("id", A::Long(i64::try_from(ev.id).unwrap())),
        ("sourceTimestamp", A::Long(ts)),
        ("sourcePosition", s(position(ev.position.as_ref()))),
        (
            "safeSourcePosition",
            s(position(ev.safe_position.as_ref().or(ev.position.as_ref()))),
        ),
        ("sourceTxid", s("0")),
        (
            "source",
            rec(vec![
                ("sourceType", A::Enum(0, "MySQL".into())),
                ("version", s(config.server_version.clone())),
            ]),
        ),
        ("operation", A::Enum(op, symbol.into())),
        ("objectName", object),
        ("processTimestamps", null()),
        ("tags", A::Map(tags_map)),
        ("fields", fields),
        ("beforeImages", before),
        ("afterImages", after),
        ("bornTimestamp", A::Long(ts)),
    ])
}

/// A `HashMap` of `entries` whose iteration order is the order given: apache-avro writes a
/// map in its `HashMap`'s order, the codec in its documented tag order, so the exact bytes
/// compare only when both orders agree. Maps are rebuilt (each with fresh random hash keys)
/// until they do.
pub(crate) fn ordered_map(entries: &[(String, String)]) -> HashMap<String, A> {
    for _ in 0..1_000_000 {
        let map: HashMap<String, A> = entries
            .iter()
            .map(|(k, v)| (k.clone(), A::String(v.clone())))
            .collect();
        if map
            .keys()
            .map(String::as_str)
            .eq(entries.iter().map(|(k, _)| k.as_str()))
        {
            return map;
        }
    }
    panic!("no HashMap iterated {entries:?} in order");
}

// ---------------------------------------------------------------------------- generators ---

const TYPES: [ColumnType; 31] = [
    ColumnType::TinyInt,
    ColumnType::SmallInt,
    ColumnType::MediumInt,
    ColumnType::Int,
    ColumnType::BigInt,
    ColumnType::Decimal,
    ColumnType::Float,
    ColumnType::Double,
    ColumnType::Bit,
    ColumnType::Year,
    ColumnType::Date,
    ColumnType::Time,
    ColumnType::DateTime,
    ColumnType::Timestamp,
    ColumnType::Char,
    ColumnType::VarChar,
    ColumnType::Binary,
    ColumnType::VarBinary,
    ColumnType::TinyText,
    ColumnType::Text,
    ColumnType::MediumText,
    ColumnType::LongText,
    ColumnType::TinyBlob,
    ColumnType::Blob,
    ColumnType::MediumBlob,
    ColumnType::LongBlob,
    ColumnType::Enum,
    ColumnType::Set,
    ColumnType::Json,
    ColumnType::Geometry,
    ColumnType::Vector,
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_][a-z0-9_]{0,10}", "[a-z.]{1,6}", "\\PC{1,8}",]
}

pub(crate) fn column() -> impl Strategy<Value = ColumnDef> {
    (
        name(),
        proptest::sample::select(&TYPES[..]),
        any::<bool>(),
        prop_oneof![
            Just("utf8mb4"),
            Just("latin1"),
            Just("gbk"),
            Just("utf8mb3")
        ],
        proptest::option::of(0u32..=65),
        proptest::option::of(0u32..=30),
        1u64..=64,
        proptest::collection::vec(name(), 1..6),
        proptest::option::of(0u8..=6),
    )
        .prop_map(
            |(name, ty, unsigned, charset, precision, scale, bits, labels, fsp)| {
                let mut c = ColumnDef::new(name, ty);
                c.unsigned = unsigned && ty.is_integer();
                if ty.is_text() {
                    c.charset = Some(charset.to_owned());
                }
                match ty {
                    ColumnType::Decimal | ColumnType::Float | ColumnType::Double => {
                        c.precision = precision;
                        c.scale = scale;
                    }
                    ColumnType::Bit => c.length = Some(bits),
                    ColumnType::Enum | ColumnType::Set => c.labels = labels,
                    ColumnType::Time | ColumnType::DateTime | ColumnType::Timestamp => c.fsp = fsp,
                    _ => {}
                }
                c
            },
        )
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from),
        1 => (any::<u8>(), 0usize..70_000).prop_map(|(b, n)| Bytes::from(vec![b; n])),
    ]
}

fn text() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        3 => "\\PC{0,40}".prop_map(Bytes::from),
        1 => bytes(64),
    ]
}

fn non_null(c: &ColumnDef) -> BoxedStrategy<Value> {
    let ty = c.ty;
    match ty {
        _ if ty.is_integer() && c.unsigned => any::<u64>().prop_map(Value::UInt).boxed(),
        _ if ty.is_integer() => prop_oneof![
            Just(Value::Int(i64::MIN)),
            Just(Value::Int(i64::MAX)),
            any::<i64>().prop_map(Value::Int),
        ]
        .boxed(),
        ColumnType::Bit => {
            let m = c.length.unwrap_or(1);
            any::<u64>()
                .prop_map(move |b| Value::Bit(if m >= 64 { b } else { b & ((1 << m) - 1) }))
                .boxed()
        }
        ColumnType::Decimal => {
            let scale = usize::try_from(c.scale.unwrap_or(0)).unwrap();
            (
                any::<bool>(),
                "[0-9]{1,35}",
                proptest::collection::vec(0u8..10, scale..=scale),
            )
                .prop_map(|(neg, int, frac)| {
                    let mut t = String::new();
                    if neg {
                        t.push('-');
                    }
                    t.push_str(&int);
                    if !frac.is_empty() {
                        t.push('.');
                        t.extend(frac.iter().map(|d| char::from(b'0' + d)));
                    }
                    Value::Decimal(Decimal::from_text(Bytes::from(t)).unwrap())
                })
                .boxed()
        }
        ColumnType::Float => {
            let f = proptest::num::f32::POSITIVE
                | proptest::num::f32::NEGATIVE
                | proptest::num::f32::NORMAL
                | proptest::num::f32::SUBNORMAL
                | proptest::num::f32::ZERO
                | proptest::num::f32::INFINITE;
            f.prop_map(Value::Float).boxed()
        }
        ColumnType::Double => {
            let f = proptest::num::f64::POSITIVE
                | proptest::num::f64::NEGATIVE
                | proptest::num::f64::NORMAL
                | proptest::num::f64::SUBNORMAL
                | proptest::num::f64::ZERO
                | proptest::num::f64::INFINITE;
            f.prop_map(Value::Double).boxed()
        }
        ColumnType::Year => prop_oneof![Just(0u16), 1901u16..=2155]
            .prop_map(Value::Year)
            .boxed(),
        ColumnType::Date => date().prop_map(Value::Date).boxed(),
        ColumnType::Time => (any::<bool>(), 0u16..=838, 0u8..60, 0u8..60, 0u32..1_000_000)
            .prop_map(|(negative, hours, minutes, seconds, micros)| {
                Value::Time(Time {
                    negative,
                    hours,
                    minutes,
                    seconds,
                    micros,
                })
            })
            .boxed(),
        ColumnType::DateTime => (date(), 0u8..24, 0u8..60, 0u8..60, 0u32..1_000_000)
            .prop_map(|(date, hour, minute, second, micros)| {
                Value::DateTime(DateTime {
                    date,
                    hour,
                    minute,
                    second,
                    micros,
                })
            })
            .boxed(),
        ColumnType::Timestamp => (0u64..=u64::from(u32::MAX), 0u32..1_000_000)
            .prop_map(|(secs, micros)| Value::Timestamp { secs, micros })
            .boxed(),
        _ if ty.is_text() => text().prop_map(Value::String).boxed(),
        ColumnType::Binary
        | ColumnType::VarBinary
        | ColumnType::TinyBlob
        | ColumnType::Blob
        | ColumnType::MediumBlob
        | ColumnType::LongBlob => bytes(300).prop_map(Value::Bytes).boxed(),
        ColumnType::Enum => {
            let n = u16::try_from(c.labels.len()).unwrap();
            (0..=n).prop_map(Value::Enum).boxed()
        }
        ColumnType::Set => {
            let n = c.labels.len();
            any::<u64>()
                .prop_map(move |b| Value::Set(b & ((1 << n) - 1)))
                .boxed()
        }
        ColumnType::Json => "\\PC{0,60}"
            .prop_map(|s| Value::Json(Bytes::from(s)))
            .boxed(),
        ColumnType::Geometry => proptest::collection::vec(any::<u8>(), 4..80)
            .prop_map(|b| Value::Geometry(Bytes::from(b)))
            .boxed(),
        ColumnType::Vector => proptest::collection::vec(any::<f32>(), 0..8)
            .prop_map(|v| Value::Vector(v.iter().flat_map(|f| f.to_le_bytes()).collect()))
            .boxed(),
        other => panic!("{other:?}"),
    }
}

fn date() -> impl Strategy<Value = Date> {
    (0u16..=9999, 0u8..=12, 0u8..=31).prop_map(|(year, month, day)| Date { year, month, day })
}

fn row(columns: &[ColumnDef]) -> BoxedStrategy<Vec<Value>> {
    columns
        .iter()
        .map(|c| prop_oneof![1 => Just(Value::Null), 4 => non_null(c)].boxed())
        .collect::<Vec<_>>()
        .boxed()
}

/// A random table: 1 to 12 columns of any type, maybe a primary key and unique keys.
pub(crate) fn table() -> impl Strategy<Value = Arc<TableSchema>> {
    (
        name(),
        name(),
        proptest::collection::vec(column(), 1..12),
        any::<bool>(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(db, t, columns, pk, a, b)| {
            let n = columns.len();
            let (a, b) = (a.index(n), b.index(n));
            let primary = pk.then(|| KeyDef {
                name: "PRIMARY".into(),
                columns: vec![a],
            });
            let uks = vec![KeyDef {
                name: "uk".into(),
                columns: if a == b { vec![a] } else { vec![b, a] },
            }];
            Arc::new(TableSchema::new(TableId::new(db, t), columns, primary, uks).unwrap())
        })
}

/// A random event of any operation, with random metadata.
pub(crate) fn event() -> impl Strategy<Value = ChangeEvent> {
    let meta = (
        0u64..=i64::MAX.unsigned_abs(),
        any::<u64>(),
        prop_oneof![Just(0u64), any::<u64>()],
        any::<u32>(),
        proptest::option::of(any::<u32>()),
        proptest::option::of((
            prop_oneof![Just("mysql-bin"), Just("binlog")],
            0u32..1_000_000,
            any::<u64>(),
        )),
        proptest::option::of("[0-9a-f-]{5,40}"),
    );
    (
        table(),
        0u8..8,
        meta,
        "\\PC{0,80}",
        proptest::option::of(name()),
    )
        .prop_flat_map(|(t, op, meta, sql, ddl_db)| {
            let r = row(t.columns());
            (
                Just(t),
                Just(op),
                Just(meta),
                Just(sql),
                Just(ddl_db),
                r.clone(),
                r,
            )
        })
        .prop_map(|(t, op, meta, sql, ddl_db, before, after)| {
            let mut ev = match op {
                0 => ChangeEvent::init(t, after),
                1 => ChangeEvent::insert(t, after),
                2 => ChangeEvent::update(t, before, after),
                3 => ChangeEvent::delete(t, before),
                4 => ChangeEvent::ddl(Ddl {
                    db: ddl_db.map(Into::into),
                    table: None,
                    sql,
                }),
                5 => ChangeEvent::new(Operation::Begin),
                6 => ChangeEvent::new(Operation::Commit),
                _ => ChangeEvent::new(Operation::Heartbeat),
            };
            let (id, ts, read, server, thread, pos, gtid) = meta;
            ev.id = id;
            ev.source_ts_ms = ts;
            ev.read_ts_ms = read;
            ev.server_id = server;
            ev.thread_id = thread;
            ev.position =
                pos.map(|(base, seq, off)| BinlogPosition::new(format!("{base}.{seq:06}"), off));
            ev.gtid = gtid.map(Into::into);
            ev
        })
}

/// A random tag selection.
pub(crate) fn tags_config() -> impl Strategy<Value = TagsConfig> {
    proptest::collection::vec(any::<bool>(), 7).prop_map(|b| TagsConfig {
        pk_uk_info: b[0],
        meta_version: b[1],
        reader_throughout_time: b[2],
        server_id: b[3],
        thread_id: b[4],
        gtid: b[5],
        commit_timestamp: b[6],
    })
}
