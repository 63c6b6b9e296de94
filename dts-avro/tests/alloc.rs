//! Zero heap allocations per record in steady state: once a table's parts are cached and the
//! output buffer has room, `encode_key` + `encode_value` allocate nothing (dhat counts every
//! allocation of the process).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use dts_avro::DtsAvroConfig;
use dts_core::{
    BinlogPosition, ChangeEvent, Codec, ColumnDef, ColumnType, Date, DateTime, Decimal, KeyDef,
    TableId, TableSchema, Time, Value,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn table(name: &str, columns: Vec<ColumnDef>) -> Arc<TableSchema> {
    Arc::new(
        TableSchema::new(
            TableId::new("sb.test", name),
            columns,
            Some(KeyDef {
                name: "PRIMARY".into(),
                columns: vec![0],
            }),
            vec![KeyDef {
                name: "uk".into(),
                columns: vec![1, 0],
            }],
        )
        .unwrap(),
    )
}

fn text(name: &str, ty: ColumnType) -> ColumnDef {
    let mut c = ColumnDef::new(name, ty);
    c.charset = Some("utf8mb4".into());
    c
}

/// Every value kind, so that every encoding path is measured.
fn mixed() -> (Arc<TableSchema>, Vec<Value>) {
    let mut en = ColumnDef::new("e", ColumnType::Enum);
    en.labels = vec!["a".into(), "b".into()];
    let mut set = ColumnDef::new("s", ColumnType::Set);
    set.labels = vec!["x".into(), "y".into(), "z".into()];
    let mut dec = ColumnDef::new("dec", ColumnType::Decimal);
    dec.precision = Some(12);
    dec.scale = Some(3);
    let columns = vec![
        ColumnDef::new("id", ColumnType::BigInt),
        ColumnDef::new("k", ColumnType::Int),
        ColumnDef::new("u", ColumnType::BigInt),
        ColumnDef::new("bit", ColumnType::Bit),
        dec,
        ColumnDef::new("f", ColumnType::Float),
        ColumnDef::new("d", ColumnType::Double),
        ColumnDef::new("date", ColumnType::Date),
        ColumnDef::new("time", ColumnType::Time),
        ColumnDef::new("dt", ColumnType::DateTime),
        ColumnDef::new("ts", ColumnType::Timestamp),
        ColumnDef::new("y", ColumnType::Year),
        text("c", ColumnType::Char),
        ColumnDef::new("bin", ColumnType::VarBinary),
        text("txt", ColumnType::Text),
        ColumnDef::new("blob", ColumnType::Blob),
        en,
        set,
        ColumnDef::new("j", ColumnType::Json),
        ColumnDef::new("g", ColumnType::Geometry),
        ColumnDef::new("n", ColumnType::Int),
    ];
    let date = Date {
        year: 2024,
        month: 5,
        day: 6,
    };
    let row = vec![
        Value::Int(-42),
        Value::Int(7),
        Value::UInt(u64::MAX),
        Value::Bit(1),
        Value::Decimal(Decimal::from_text(Bytes::from("-123.456")).unwrap()),
        Value::Float(1.5),
        Value::Double(-2.25),
        Value::Date(date),
        Value::Time(Time {
            negative: true,
            hours: 800,
            minutes: 1,
            seconds: 2,
            micros: 3,
        }),
        Value::DateTime(DateTime {
            date,
            hour: 1,
            minute: 2,
            second: 3,
            micros: 456_789,
        }),
        Value::Timestamp {
            secs: 1_700_000_000,
            micros: 1,
        },
        Value::Year(2024),
        Value::String(Bytes::from("héllo, wörld")),
        Value::Bytes(Bytes::from_static(&[0, 1, 2])),
        Value::String(Bytes::from("some text")),
        Value::Bytes(Bytes::from(vec![9u8; 300])),
        Value::Enum(2),
        Value::Set(0b101),
        Value::Json(Bytes::from(r#"{"a":1}"#)),
        Value::Geometry(Bytes::from(vec![0u8; 25])),
        Value::Null,
    ];
    (table("mixed", columns), row)
}

#[test]
fn no_allocation_per_record_in_steady_state() {
    let (mixed_table, mixed_row) = mixed();
    let sysbench = table(
        "sbtest1",
        vec![
            ColumnDef::new("id", ColumnType::Int),
            ColumnDef::new("k", ColumnType::Int),
            text("c", ColumnType::Char),
            text("pad", ColumnType::Char),
        ],
    );
    let sb_row = vec![
        Value::Int(1),
        Value::Int(2),
        Value::String(Bytes::from(vec![b'c'; 120])),
        Value::String(Bytes::from(vec![b'p'; 60])),
    ];
    let mut events = Vec::new();
    for i in 0..100u64 {
        let mut ev = match i % 3 {
            0 => ChangeEvent::insert(sysbench.clone(), sb_row.clone()),
            1 => ChangeEvent::update(mixed_table.clone(), mixed_row.clone(), mixed_row.clone()),
            _ => ChangeEvent::delete(mixed_table.clone(), mixed_row.clone()),
        };
        ev = ev
            .at(BinlogPosition::new("mysql-bin.000078", 1000 + i))
            .with_source_ts_ms(1_700_000_000_000);
        ev.id = 1_000_000 + i;
        ev.read_ts_ms = 1_700_000_000_123;
        ev.server_id = 3;
        ev.thread_id = Some(9);
        events.push(ev);
    }
    let mut codec = DtsAvroConfig::new("8.0.36").build();
    let mut key = BytesMut::with_capacity(1 << 16);
    let mut value = BytesMut::with_capacity(1 << 16);
    // Warm up: builds the per-table parts.
    for ev in &events {
        codec.encode_key(ev, &mut key).unwrap();
        codec.encode_value(ev, &mut value).unwrap();
        key.clear();
        value.clear();
    }

    let _profiler = dhat::Profiler::builder().testing().build();
    let before = dhat::HeapStats::get();
    let mut bytes = 0;
    for _ in 0..10 {
        for ev in &events {
            codec.encode_key(ev, &mut key).unwrap();
            codec.encode_value(ev, &mut value).unwrap();
            bytes += value.len();
            key.clear();
            value.clear();
        }
    }
    let after = dhat::HeapStats::get();
    assert!(bytes > 100_000, "{bytes}");
    dhat::assert_eq!(after.total_blocks - before.total_blocks, 0);
}
