//! One test per row of the type table of `DTS-AVRO.md`, plus the per-record rules: escaping,
//! `pk_uk_info`, `metaVersion`, tags, positions, image length, operations and errors.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use dts_avro::{
    DateTime as Dt, DtsAvroCodec, DtsAvroConfig, DtsRecord, Error, FieldValue, Fields, Images,
    Operation, TagsConfig,
};
use dts_core::{
    BinlogPosition, ChangeEvent, Codec, ColumnDef, ColumnType, Date, DateTime, Ddl, Decimal,
    KeyDef, Operation as CoreOp, TableId, TableSchema, Time, Value,
};

fn codec() -> DtsAvroCodec {
    DtsAvroConfig::new("8.0.36").build()
}

fn one_column(column: ColumnDef) -> Arc<TableSchema> {
    Arc::new(TableSchema::new(TableId::new("db", "t"), vec![column], None, vec![]).unwrap())
}

fn decode(ev: &ChangeEvent) -> DtsRecord {
    let mut out = BytesMut::new();
    codec().encode_value(ev, &mut out).unwrap();
    // Every record must also be valid for apache-avro.
    apache_avro::from_avro_datum(dts_avro::record_schema(), &mut &out[..], None).unwrap();
    DtsRecord::decode(&out).unwrap()
}

/// The (dataTypeNumber, after-image item) of `value` in a one-column table of `column`.
fn item(column: ColumnDef, value: Value) -> (i32, FieldValue) {
    let rec = decode(&ChangeEvent::insert(one_column(column), vec![value]));
    let Fields::List(fields) = rec.fields else {
        panic!("{:?}", rec.fields)
    };
    let Images::Values(mut values) = rec.after_images else {
        panic!("{:?}", rec.after_images)
    };
    assert_eq!((fields.len(), values.len()), (1, 1));
    (fields[0].data_type_number, values.remove(0))
}

fn col(ty: ColumnType) -> ColumnDef {
    ColumnDef::new("c", ty)
}

fn integer(precision: i32, value: &str) -> FieldValue {
    FieldValue::Integer {
        precision,
        value: value.into(),
    }
}

fn err(column: ColumnDef, value: Value) -> Error {
    let ev = ChangeEvent::insert(one_column(column), vec![value]);
    codec().encode_value(&ev, &mut BytesMut::new()).unwrap_err()
}

#[test]
fn integers_signed_and_unsigned() {
    let cases = [
        (ColumnType::TinyInt, 1, 1, Value::Int(-128), "-128"),
        (ColumnType::SmallInt, 2, 2, Value::Int(32767), "32767"),
        (
            ColumnType::MediumInt,
            9,
            3,
            Value::UInt(16_777_215),
            "16777215",
        ),
        (
            ColumnType::Int,
            3,
            4,
            Value::Int(i64::from(i32::MIN)),
            "-2147483648",
        ),
        (
            ColumnType::BigInt,
            8,
            8,
            Value::Int(i64::MIN),
            "-9223372036854775808",
        ),
        (
            ColumnType::BigInt,
            8,
            8,
            Value::UInt(u64::MAX),
            "18446744073709551615",
        ),
    ];
    for (ty, code, precision, value, text) in cases {
        assert_eq!(
            item(col(ty), value),
            (code, integer(precision, text)),
            "{ty:?}"
        );
    }
}

#[test]
fn bit() {
    let mut c = col(ColumnType::Bit);
    c.length = Some(12);
    assert_eq!(
        item(c, Value::Bit(0b1010_0000_0001)),
        (16, integer(12, "2561"))
    );
    // BIT without a declared length is BIT(1).
    assert_eq!(
        item(col(ColumnType::Bit), Value::Bit(1)),
        (16, integer(1, "1"))
    );
}

#[test]
fn decimal() {
    let mut c = col(ColumnType::Decimal);
    c.precision = Some(7);
    c.scale = Some(3);
    let v = Value::Decimal(Decimal::from_text(Bytes::from("-12.340")).unwrap());
    assert_eq!(
        item(c, v),
        (
            246,
            FieldValue::Decimal {
                value: "-12.340".into(),
                precision: 7,
                scale: 3
            }
        )
    );
}

#[test]
fn float_and_double() {
    // FLOAT widened exactly from f32: 0.1f32 is 0.100000001490116..., not 0.1.
    let (code, v) = item(col(ColumnType::Float), Value::Float(0.1));
    assert_eq!(code, 4);
    assert_eq!(
        v,
        FieldValue::Float {
            value: f64::from(0.1f32),
            precision: -1,
            scale: -1
        }
    );
    let mut c = col(ColumnType::Double);
    c.precision = Some(10);
    c.scale = Some(4);
    assert_eq!(
        item(c, Value::Double(-1.5e300)),
        (
            5,
            FieldValue::Float {
                value: -1.5e300,
                precision: 10,
                scale: 4
            }
        )
    );
}

fn dt(m: [Option<i32>; 7]) -> FieldValue {
    FieldValue::DateTime(Dt::from_members(m))
}

#[test]
fn date_including_the_zero_date() {
    let d = |year, month, day| Value::Date(Date { year, month, day });
    assert_eq!(
        item(col(ColumnType::Date), d(2024, 2, 29)),
        (
            10,
            dt([Some(2024), Some(2), Some(29), None, None, None, None])
        )
    );
    assert_eq!(
        item(col(ColumnType::Date), d(0, 0, 0)),
        (10, dt([Some(0), Some(0), Some(0), None, None, None, None]))
    );
}

#[test]
fn time_with_large_hours_and_negative_values() {
    let t = |negative, hours, minutes, seconds, micros| {
        Value::Time(Time {
            negative,
            hours,
            minutes,
            seconds,
            micros,
        })
    };
    assert_eq!(
        item(col(ColumnType::Time), t(false, 838, 59, 59, 0)),
        (
            11,
            dt([None, None, None, Some(838), Some(59), Some(59), Some(0)])
        )
    );
    assert_eq!(
        item(col(ColumnType::Time), t(true, 1, 2, 3, 500_000)),
        (
            11,
            dt([
                None,
                None,
                None,
                Some(-1),
                Some(-2),
                Some(-3),
                Some(-500_000)
            ])
        )
    );
}

#[test]
fn datetime_with_microseconds() {
    let v = Value::DateTime(DateTime {
        date: Date {
            year: 9999,
            month: 12,
            day: 31,
        },
        hour: 23,
        minute: 59,
        second: 58,
        micros: 999_999,
    });
    assert_eq!(
        item(col(ColumnType::DateTime), v),
        (
            12,
            dt([
                Some(9999),
                Some(12),
                Some(31),
                Some(23),
                Some(59),
                Some(58),
                Some(999_999)
            ])
        )
    );
}

#[test]
fn timestamp() {
    let v = Value::Timestamp {
        secs: 2_147_483_647,
        micros: 123_456,
    };
    assert_eq!(
        item(col(ColumnType::Timestamp), v),
        (
            7,
            FieldValue::Timestamp {
                timestamp: 2_147_483_647,
                millis: 123_456
            }
        )
    );
}

#[test]
fn year() {
    assert_eq!(
        item(col(ColumnType::Year), Value::Year(2155)),
        (13, dt([Some(2155), None, None, None, None, None, None]))
    );
}

#[test]
fn char_and_varchar_with_their_charset() {
    for (ty, code, charset) in [
        (ColumnType::Char, 254, "latin1"),
        (ColumnType::VarChar, 253, "utf8mb4"),
        (ColumnType::VarChar, 253, "gbk"),
    ] {
        let mut c = col(ty);
        c.charset = Some(charset.into());
        let raw = Bytes::from_static(b"caf\xe9 \xf0\x9f\x98\x80");
        assert_eq!(
            item(c, Value::String(raw.clone())),
            (
                code,
                FieldValue::Character {
                    charset: charset.into(),
                    value: raw.to_vec()
                }
            )
        );
    }
    // A text column without charset is refused rather than guessed.
    let e = err(col(ColumnType::VarChar), Value::String(Bytes::new()));
    assert!(matches!(e, Error::MissingCharset { .. }), "{e}");
}

#[test]
fn binary_and_varbinary_are_charset_binary() {
    for (ty, code) in [(ColumnType::Binary, 254), (ColumnType::VarBinary, 253)] {
        let raw = Bytes::from_static(&[0, 1, 0xff]);
        assert_eq!(
            item(col(ty), Value::Bytes(raw.clone())),
            (
                code,
                FieldValue::Character {
                    charset: "binary".into(),
                    value: raw.to_vec()
                }
            )
        );
    }
}

#[test]
fn blob_family() {
    for (ty, code) in [
        (ColumnType::TinyBlob, 249),
        (ColumnType::Blob, 252),
        (ColumnType::MediumBlob, 250),
        (ColumnType::LongBlob, 251),
    ] {
        let raw = vec![7u8; 70_000];
        assert_eq!(
            item(col(ty), Value::Bytes(Bytes::from(raw.clone()))),
            (
                code,
                FieldValue::BinaryObject {
                    kind: "BLOB".into(),
                    value: raw
                }
            )
        );
    }
}

#[test]
fn text_family() {
    for (ty, code) in [
        (ColumnType::TinyText, 249),
        (ColumnType::Text, 252),
        (ColumnType::MediumText, 250),
        (ColumnType::LongText, 251),
    ] {
        let mut c = col(ty);
        c.charset = Some("utf8mb4".into());
        assert_eq!(
            item(c, Value::String(Bytes::from("ünïcode"))),
            (
                code,
                FieldValue::BinaryObject {
                    kind: "TEXT".into(),
                    value: "ünïcode".into()
                }
            )
        );
    }
}

fn labelled(ty: ColumnType, labels: &[&str]) -> ColumnDef {
    let mut c = col(ty);
    c.labels = labels.iter().map(|&l| l.to_owned()).collect();
    c
}

fn text_object(kind: &str, value: &str) -> FieldValue {
    FieldValue::TextObject {
        kind: kind.into(),
        value: value.into(),
    }
}

#[test]
fn enum_labels() {
    let c = labelled(ColumnType::Enum, &["small", "médium", "large"]);
    assert_eq!(
        item(c.clone(), Value::Enum(2)),
        (247, text_object("ENUM", "médium"))
    );
    // Index 0 is MySQL's empty error value.
    assert_eq!(
        item(c.clone(), Value::Enum(0)),
        (247, text_object("ENUM", ""))
    );
    let e = err(c, Value::Enum(4));
    assert!(
        matches!(&e, Error::UnknownLabel { kind: "ENUM", value: 4, column, table, .. }
            if column == "c" && table == "db.t"),
        "{e}"
    );
}

#[test]
fn set_labels() {
    let c = labelled(ColumnType::Set, &["a", "b", "c"]);
    assert_eq!(
        item(c.clone(), Value::Set(0b101)),
        (248, text_object("SET", "a,c"))
    );
    assert_eq!(
        item(c.clone(), Value::Set(0)),
        (248, text_object("SET", ""))
    );
    let e = err(c, Value::Set(0b1000));
    assert!(
        matches!(
            e,
            Error::UnknownLabel {
                kind: "SET",
                value: 8,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn json() {
    let text = r#"{"a":[1,2,{"b":null}],"ü":"x"}"#;
    assert_eq!(
        item(col(ColumnType::Json), Value::Json(Bytes::from(text))),
        (245, text_object("JSON", text))
    );
    let e = err(
        col(ColumnType::Json),
        Value::Json(Bytes::from_static(b"\xff")),
    );
    assert!(matches!(e, Error::InvalidUtf8 { .. }), "{e}");
}

#[test]
fn geometry_strips_the_srid() {
    // SRID 4326, then the WKB of POINT(1 2).
    let mut internal = 4326u32.to_le_bytes().to_vec();
    let mut wkb = vec![1u8, 1, 0, 0, 0];
    wkb.extend_from_slice(&1f64.to_le_bytes());
    wkb.extend_from_slice(&2f64.to_le_bytes());
    internal.extend_from_slice(&wkb);
    assert_eq!(
        item(
            col(ColumnType::Geometry),
            Value::Geometry(Bytes::from(internal))
        ),
        (
            255,
            FieldValue::BinaryGeometry {
                kind: "GEOMETRY".into(),
                value: wkb
            }
        )
    );
    let e = err(
        col(ColumnType::Geometry),
        Value::Geometry(Bytes::from_static(&[1, 2])),
    );
    assert!(matches!(e, Error::InvalidGeometry { len: 2, .. }), "{e}");
}

#[test]
fn null_is_the_null_branch_in_every_type() {
    for ty in [
        ColumnType::Int,
        ColumnType::Decimal,
        ColumnType::Date,
        ColumnType::Enum,
        ColumnType::Json,
        ColumnType::Blob,
    ] {
        assert_eq!(item(col(ty), Value::Null).1, FieldValue::Null, "{ty:?}");
    }
}

#[test]
fn a_value_that_does_not_fit_its_column_names_table_and_column() {
    let e = err(col(ColumnType::Int), Value::Date(Date::default()));
    assert_eq!(
        e.to_string(),
        "column c of db.t is Int but holds a Date value"
    );
    let e = err(col(ColumnType::Date), Value::Int(1));
    assert!(
        matches!(e, Error::ValueMismatch { value: "Int", .. }),
        "{e}"
    );
}

fn orders() -> Arc<TableSchema> {
    let mut id = ColumnDef::new("id", ColumnType::BigInt);
    id.nullable = false;
    let mut email = ColumnDef::new("email", ColumnType::VarChar);
    email.charset = Some("utf8mb4".into());
    let region = ColumnDef::new("region", ColumnType::Int);
    Arc::new(
        TableSchema::new(
            TableId::new("my.shop", "or.ders"),
            vec![id, email, region],
            Some(KeyDef {
                name: "PRIMARY".into(),
                columns: vec![0],
            }),
            vec![KeyDef {
                name: "uk_email".into(),
                columns: vec![2, 1],
            }],
        )
        .unwrap(),
    )
}

fn order_row(id: i64) -> Vec<Value> {
    vec![
        Value::Int(id),
        Value::String(Bytes::from("a@b")),
        Value::Int(3),
    ]
}

#[test]
fn object_name_escapes_dots() {
    let rec = decode(&ChangeEvent::insert(orders(), order_row(1)));
    assert_eq!(
        rec.object_name.as_deref(),
        Some("my\\u002Eshop.or\\u002Eders")
    );
    let mut key = BytesMut::new();
    codec()
        .encode_key(&ChangeEvent::insert(orders(), order_row(1)), &mut key)
        .unwrap();
    assert_eq!(&key[..], b"my\\u002Eshop.or\\u002Eders:1");
    let ddl = ChangeEvent::ddl(Ddl {
        db: None,
        table: Some(TableId::new("my.shop", "x")),
        sql: "drop table x".into(),
    });
    assert_eq!(decode(&ddl).object_name.as_deref(), Some("my\\u002Eshop"));
}

#[test]
fn pk_uk_info_lists_primary_then_unique_keys() {
    let rec = decode(&ChangeEvent::insert(orders(), order_row(1)));
    assert_eq!(
        rec.tag("pk_uk_info"),
        Some(r#"{"PRIMARY":["id"],"uk_email":["region","email"]}"#)
    );
    let keyless = one_column(col(ColumnType::Int));
    let rec = decode(&ChangeEvent::insert(keyless, vec![Value::Int(1)]));
    assert_eq!(rec.tag("pk_uk_info"), None);
    assert!(rec.tag("metaVersion").is_some());
}

#[test]
fn meta_version_changes_with_the_column_list() {
    let version = |cols: &[(&str, ColumnType)]| {
        let columns = cols.iter().map(|(n, t)| ColumnDef::new(*n, *t)).collect();
        let t = Arc::new(TableSchema::new(TableId::new("d", "t"), columns, None, vec![]).unwrap());
        let row = vec![Value::Int(1); cols.len()];
        let v = decode(&ChangeEvent::insert(t, row))
            .tag("metaVersion")
            .unwrap()
            .to_owned();
        assert!(v.parse::<i64>().is_ok(), "{v} must parse as a Java long");
        v
    };
    let a = version(&[("a", ColumnType::Int)]);
    assert_eq!(a, version(&[("a", ColumnType::Int)]));
    assert_ne!(
        a,
        version(&[("a", ColumnType::Int), ("b", ColumnType::Int)])
    );
    assert_ne!(a, version(&[("b", ColumnType::Int)]));
    assert_ne!(a, version(&[("a", ColumnType::BigInt)]));

    // One codec, a table whose definition changes between records: the new parts are used.
    let mut codec = codec();
    let mut out = BytesMut::new();
    let t1 = one_column(col(ColumnType::Int));
    let mut cols = vec![col(ColumnType::Int), ColumnDef::new("d", ColumnType::Int)];
    cols[1].nullable = false;
    let t2 = Arc::new(TableSchema::new(TableId::new("db", "t"), cols, None, vec![]).unwrap());
    codec
        .encode_value(&ChangeEvent::insert(t1, vec![Value::Int(1)]), &mut out)
        .unwrap();
    let r1 = DtsRecord::decode(&out.split()).unwrap();
    codec
        .encode_value(
            &ChangeEvent::insert(t2, vec![Value::Int(1), Value::Int(2)]),
            &mut out,
        )
        .unwrap();
    let r2 = DtsRecord::decode(&out).unwrap();
    assert_ne!(r1.tag("metaVersion"), r2.tag("metaVersion"));
    assert!(matches!(r2.fields, Fields::List(ref f) if f.len() == 2));
}

#[test]
fn image_length_must_equal_the_column_count() {
    for row in [
        vec![Value::Int(1)],
        order_row(1).into_iter().chain([Value::Null]).collect(),
    ] {
        let ev = ChangeEvent::insert(orders(), row);
        let e = codec().encode_value(&ev, &mut BytesMut::new()).unwrap_err();
        assert!(matches!(e, Error::RowLength { expected: 3, .. }), "{e}");
    }
    let ev = ChangeEvent::update(orders(), order_row(1), vec![Value::Int(1)]);
    let e = codec().encode_value(&ev, &mut BytesMut::new()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::RowLength {
                image: "after",
                actual: 1,
                ..
            }
        ),
        "{e}"
    );
    // And every written image has exactly one item per field.
    let rec = decode(&ChangeEvent::update(orders(), order_row(1), order_row(2)));
    let (Fields::List(f), Images::Values(b), Images::Values(a)) =
        (&rec.fields, &rec.before_images, &rec.after_images)
    else {
        panic!("{rec:?}")
    };
    assert_eq!((f.len(), b.len(), a.len()), (3, 3, 3));
}

#[test]
fn operations_and_their_images() {
    let t = orders();
    let cases = [
        (
            ChangeEvent::init(t.clone(), order_row(1)),
            Operation::Init,
            false,
            true,
        ),
        (
            ChangeEvent::insert(t.clone(), order_row(1)),
            Operation::Insert,
            false,
            true,
        ),
        (
            ChangeEvent::update(t.clone(), order_row(1), order_row(2)),
            Operation::Update,
            true,
            true,
        ),
        (
            ChangeEvent::delete(t.clone(), order_row(1)),
            Operation::Delete,
            true,
            false,
        ),
    ];
    for (ev, op, before, after) in cases {
        let rec = decode(&ev);
        assert_eq!(rec.operation, op);
        assert_eq!(
            matches!(rec.before_images, Images::Values(_)),
            before,
            "{op}"
        );
        assert_eq!(matches!(rec.after_images, Images::Values(_)), after, "{op}");
        assert_eq!(rec.source.version, "8.0.36");
        assert_eq!(rec.source_txid, "0");
    }
    let mut missing = ChangeEvent::update(t, order_row(1), order_row(2));
    missing.before = None;
    let e = codec()
        .encode_value(&missing, &mut BytesMut::new())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::MissingImage {
                image: "before",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn positions_timestamps_and_tags() {
    let mut ev = ChangeEvent::insert(orders(), order_row(1))
        .at(BinlogPosition::new("mysql-bin.000078", 72469))
        .with_source_ts_ms(1_700_000_000_999);
    ev.safe_position = Some(BinlogPosition::new("mysql-bin.000078", 72347));
    ev.read_ts_ms = 1_700_000_001_234;
    ev.server_id = 7;
    ev.thread_id = Some(42);
    ev.id = 99;
    let rec = decode(&ev);
    assert_eq!(rec.id, 99);
    assert_eq!(
        (rec.source_timestamp, rec.born_timestamp),
        (1_700_000_000, 1_700_000_000)
    );
    assert_eq!(rec.source_position, "72469@78");
    assert_eq!(rec.safe_source_position, "72347@78");
    let keys: Vec<&str> = rec.tags.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "pk_uk_info",
            "metaVersion",
            "readerThroughoutTime",
            "server_id",
            "thread_id"
        ]
    );
    assert_eq!(rec.tag("readerThroughoutTime"), Some("1700000001234"));
    assert_eq!(rec.tag("server_id"), Some("7"));
    assert_eq!(rec.tag("thread_id"), Some("42"));

    // Without a safe position the event's own position is used; unknown positions are "".
    ev.safe_position = None;
    assert_eq!(decode(&ev).safe_source_position, "72469@78");
    ev.position = Some(BinlogPosition::new("binlog", 4));
    ev.safe_position = None;
    let rec = decode(&ev);
    assert_eq!(
        (
            rec.source_position.as_str(),
            rec.safe_source_position.as_str()
        ),
        ("", "")
    );
}

#[test]
fn ddl_records() {
    let mut ev = ChangeEvent::ddl(Ddl {
        db: Some("app".into()),
        table: None,
        sql: "CREATE DATABASE app".into(),
    })
    .with_source_ts_ms(1_700_000_000_500);
    ev.gtid = Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:23".into());
    ev.server_id = 1;
    let rec = decode(&ev);
    assert_eq!(rec.operation, Operation::Ddl);
    assert_eq!(rec.object_name.as_deref(), Some("app"));
    assert_eq!(rec.fields, Fields::Null);
    assert_eq!(rec.before_images, Images::Null);
    assert_eq!(rec.after_images, Images::Text("CREATE DATABASE app".into()));
    assert_eq!(
        rec.tag("GTID"),
        Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:23")
    );
    assert_eq!(rec.tag("commitTimestamp"), Some("1700000000"));
    assert_eq!(rec.tag("server_id"), Some("1"));
    assert_eq!(rec.tag("metaVersion"), None);
    let e = codec()
        .encode_value(&ChangeEvent::new(CoreOp::Ddl), &mut BytesMut::new())
        .unwrap_err();
    assert!(matches!(e, Error::MissingDdl), "{e}");
}

#[test]
fn transaction_markers_and_heartbeats() {
    let mut config = DtsAvroConfig::new("8.0.36");
    config.emit_transaction_markers = true;
    config.emit_heartbeats = true;
    let mut codec = config.build();
    for (op, expected) in [
        (CoreOp::Begin, Operation::Begin),
        (CoreOp::Commit, Operation::Commit),
        (CoreOp::Heartbeat, Operation::Heartbeat),
    ] {
        let mut ev = ChangeEvent::new(op);
        ev.gtid = Some("0-1-5".into());
        assert!(codec.accepts(&ev));
        let mut out = BytesMut::new();
        codec.encode_value(&ev, &mut out).unwrap();
        let rec = DtsRecord::decode(&out).unwrap();
        assert_eq!(rec.operation, expected);
        assert_eq!(rec.object_name, None);
        assert_eq!(
            (&rec.fields, &rec.before_images, &rec.after_images),
            (&Fields::Null, &Images::Null, &Images::Null)
        );
        assert_eq!(rec.tag("GTID").is_some(), op != CoreOp::Heartbeat);
        let mut key = BytesMut::new();
        codec.encode_key(&ev, &mut key).unwrap();
        assert!(key.is_empty(), "{op}: markers have no key");
    }
}

/// One codec over records whose read time, server or thread change one at a time (the codec
/// reuses the last record's tags when all three are the same).
#[test]
fn common_tags_follow_each_record_through_one_codec() {
    let mut codec = codec();
    let mut ev = ChangeEvent::insert(orders(), order_row(1));
    let steps: [(u64, u32, Option<u32>); 7] = [
        (1_000, 7, Some(42)),
        (1_000, 7, Some(42)),
        (1_001, 7, Some(42)),
        (1_001, 8, Some(42)),
        (1_001, 8, Some(43)),
        (1_001, 8, None),
        (0, 0, None),
    ];
    for (read, server, thread) in steps {
        ev.read_ts_ms = read;
        ev.server_id = server;
        ev.thread_id = thread;
        let mut out = BytesMut::new();
        codec.encode_value(&ev, &mut out).unwrap();
        let rec = DtsRecord::decode(&out).unwrap();
        let text = |n: u64| (n != 0).then(|| n.to_string());
        assert_eq!(
            (
                rec.tag("readerThroughoutTime").map(str::to_owned),
                rec.tag("server_id").map(str::to_owned),
                rec.tag("thread_id").map(str::to_owned),
            ),
            (
                text(read),
                text(u64::from(server)),
                thread.map(|t| t.to_string())
            ),
            "{read} {server} {thread:?}"
        );
    }
}

/// One codec over records whose position changes offset, then file, then goes away (the
/// codec reuses the last record's encoded position when it is the same).
#[test]
fn positions_follow_each_record_through_one_codec() {
    let mut codec = codec();
    let mut ev = ChangeEvent::insert(orders(), order_row(1));
    let steps = [
        (Some(("mysql-bin.000078", 100)), "100@78"),
        (Some(("mysql-bin.000078", 100)), "100@78"),
        (Some(("mysql-bin.000078", 200)), "200@78"),
        (Some(("mysql-bin.000079", 200)), "200@79"),
        (None, ""),
        (Some(("mysql-bin.000079", 200)), "200@79"),
    ];
    for (at, want) in steps {
        ev.position = at.map(|(file, offset)| BinlogPosition::new(file, offset));
        ev.safe_position = None;
        let mut out = BytesMut::new();
        codec.encode_value(&ev, &mut out).unwrap();
        let rec = DtsRecord::decode(&out).unwrap();
        assert_eq!(
            (
                rec.source_position.as_str(),
                rec.safe_source_position.as_str()
            ),
            (want, want),
            "{at:?}"
        );
    }
}

#[test]
fn tags_can_be_turned_off() {
    let mut ev = ChangeEvent::insert(orders(), order_row(1));
    ev.read_ts_ms = 5;
    ev.server_id = 5;
    let mut codec = DtsAvroConfig {
        tags: TagsConfig::NONE,
        ..DtsAvroConfig::new("x")
    }
    .build();
    let mut out = BytesMut::new();
    codec.encode_value(&ev, &mut out).unwrap();
    assert!(DtsRecord::decode(&out).unwrap().tags.is_empty());
}
