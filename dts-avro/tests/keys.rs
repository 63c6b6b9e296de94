//! The Kafka message key and the key text (DTS-AVRO.md "Kafka message key").
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use dts_avro::{DtsAvroConfig, key_text};
use dts_core::{
    ChangeEvent, Codec, ColumnDef, ColumnType, Date, DateTime, Ddl, KeyDef, TableId, TableSchema,
    Time, Value,
};

fn table(
    columns: Vec<ColumnDef>,
    pk: Option<Vec<usize>>,
    uks: Vec<Vec<usize>>,
) -> Arc<TableSchema> {
    Arc::new(
        TableSchema::new(
            TableId::new("db", "t"),
            columns,
            pk.map(|columns| KeyDef {
                name: "PRIMARY".into(),
                columns,
            }),
            uks.into_iter()
                .enumerate()
                .map(|(i, columns)| KeyDef {
                    name: format!("uk{i}"),
                    columns,
                })
                .collect(),
        )
        .unwrap(),
    )
}

fn text(ty: ColumnType) -> ColumnDef {
    let mut c = ColumnDef::new(format!("{ty:?}"), ty);
    c.charset = Some("utf8mb4".into());
    c
}

fn message_key(ev: &ChangeEvent) -> String {
    let mut out = BytesMut::new();
    DtsAvroConfig::new("8.0")
        .build()
        .encode_key(ev, &mut out)
        .unwrap();
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn composite_key_in_key_order_with_escaping() {
    let t = table(
        vec![
            ColumnDef::new("id", ColumnType::Int),
            text(ColumnType::VarChar),
        ],
        Some(vec![1, 0]),
        vec![],
    );
    let ev = ChangeEvent::insert(
        t,
        vec![Value::Int(7), Value::String(Bytes::from("eu:west,1\\x"))],
    );
    assert_eq!(key_text(&ev).unwrap().unwrap(), "eu\\:west\\,1\\\\x,7");
    assert_eq!(message_key(&ev), "db.t:eu\\:west\\,1\\\\x,7");
}

#[test]
fn delete_uses_the_before_image_update_the_after_image() {
    let t = table(
        vec![ColumnDef::new("id", ColumnType::Int)],
        Some(vec![0]),
        vec![],
    );
    let del = ChangeEvent::delete(t.clone(), vec![Value::Int(3)]);
    assert_eq!(message_key(&del), "db.t:3");
    let upd = ChangeEvent::update(t, vec![Value::Int(3)], vec![Value::Int(4)]);
    assert_eq!(message_key(&upd), "db.t:4");
}

#[test]
fn unique_key_when_no_primary_key_and_null_as_backslash_n() {
    let mut a = ColumnDef::new("a", ColumnType::Int);
    a.nullable = true;
    let t = table(
        vec![a, ColumnDef::new("b", ColumnType::Int)],
        None,
        vec![vec![0]],
    );
    let ev = ChangeEvent::insert(t, vec![Value::Null, Value::Int(1)]);
    assert_eq!(message_key(&ev), "db.t:\\N");
}

#[test]
fn tables_without_keys_ddl_and_markers() {
    let t = table(vec![ColumnDef::new("a", ColumnType::Int)], None, vec![]);
    let ev = ChangeEvent::insert(t, vec![Value::Int(1)]);
    assert_eq!(key_text(&ev).unwrap(), None);
    assert_eq!(message_key(&ev), "db.t");
    let ddl = ChangeEvent::ddl(Ddl {
        db: Some("a.b".into()),
        table: None,
        sql: "CREATE DATABASE `a.b`".into(),
    });
    assert_eq!(key_text(&ddl).unwrap(), None);
    assert_eq!(message_key(&ddl), "a\\u002Eb");
    assert_eq!(
        message_key(&ChangeEvent::new(dts_core::Operation::Begin)),
        ""
    );
}

#[test]
fn canonical_text_of_every_kind_of_value() {
    let mut ts = ColumnDef::new("ts", ColumnType::Timestamp);
    ts.fsp = Some(3);
    let mut en = ColumnDef::new("e", ColumnType::Enum);
    en.labels = vec!["x".into(), "y".into()];
    let mut set = ColumnDef::new("s", ColumnType::Set);
    set.labels = vec!["x".into(), "y".into()];
    let columns = vec![
        ColumnDef::new("u", ColumnType::BigInt),
        ColumnDef::new("f", ColumnType::Double),
        ColumnDef::new("d", ColumnType::Date),
        ColumnDef::new("tm", ColumnType::Time),
        ColumnDef::new("dt", ColumnType::DateTime),
        ts,
        ColumnDef::new("bin", ColumnType::VarBinary),
        text(ColumnType::VarChar),
        en,
        set,
    ];
    let n = columns.len();
    let t = table(columns, Some((0..n).collect()), vec![]);
    let row = vec![
        Value::UInt(u64::MAX),
        Value::Double(0.1),
        Value::Date(Date {
            year: 2024,
            month: 2,
            day: 29,
        }),
        Value::Time(Time {
            negative: true,
            hours: 838,
            minutes: 59,
            seconds: 59,
            micros: 0,
        }),
        Value::DateTime(DateTime {
            date: Date {
                year: 1,
                month: 1,
                day: 1,
            },
            hour: 0,
            minute: 0,
            second: 0,
            micros: 5,
        }),
        Value::Timestamp {
            secs: 1_709_164_800,
            micros: 120_000,
        },
        Value::Bytes(Bytes::from_static(&[0x00, 0xff])),
        Value::String(Bytes::from_static(b"caf\xe9")),
        Value::Enum(2),
        Value::Set(0b11),
    ];
    let ev = ChangeEvent::insert(t, row);
    assert_eq!(
        key_text(&ev).unwrap().unwrap(),
        [
            "18446744073709551615",
            "0.1",
            "2024-02-29",
            "-838\\:59\\:59",
            "0001-01-01 00\\:00\\:00.000005",
            "2024-02-29 00\\:00\\:00.120",
            "00ff",
            "caf\\xe9",
            "y",
            "x\\,y",
        ]
        .join(",")
    );
}

#[test]
fn unknown_enum_label_in_a_key_is_an_error_and_writes_nothing() {
    let mut en = ColumnDef::new("e", ColumnType::Enum);
    en.labels = vec!["x".into()];
    let t = table(vec![en], Some(vec![0]), vec![]);
    let ev = ChangeEvent::insert(t, vec![Value::Enum(9)]);
    assert!(key_text(&ev).is_err());
    let mut out = BytesMut::from(&b"k"[..]);
    assert!(
        DtsAvroConfig::new("8.0")
            .build()
            .encode_key(&ev, &mut out)
            .is_err()
    );
    assert_eq!(&out[..], b"k");
}
