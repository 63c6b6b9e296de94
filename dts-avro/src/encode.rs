//! The hand-written `Record` encoder: per-table parts computed once per table version
//! ([`TableParts`], cached in [`PartsCache`]), then per record only varints and copies into the
//! caller's buffer.
//!
//! Layout of one record (see `DTS-AVRO.md`): `version`, `id`, `sourceTimestamp`,
//! `sourcePosition`, `safeSourcePosition`, `sourceTxid`, `source`, `operation`, `objectName`,
//! `processTimestamps`, `tags`, `fields`, `beforeImages`, `afterImages`, `bornTimestamp`.
//! Arrays and maps are written as one block (count, items, `0`), as `apache-avro` and most
//! writers do; empty ones as the single `0`.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use dts_core::{
    BinlogPosition, ChangeEvent, ColumnDef, ColumnType, Operation as CoreOp, TableId, TableSchema,
    Value,
};

use crate::codec::TagsConfig;
use crate::error::{Error, Result};
use crate::record::Operation;
use crate::wire::{
    Decimal20, long_bytes, put_bytes, put_i64_text, put_len, put_long, put_u64_text,
};

/// Union branch indexes (already zig-zagged: branch `n` is written as the byte `2n`).
mod branch {
    pub(super) const NULL: u8 = 0;
    pub(super) const SECOND: u8 = 2;
    pub(super) const THIRD: u8 = 4;
    pub(super) const INTEGER: u8 = 2;
    pub(super) const CHARACTER: u8 = 4;
    pub(super) const DECIMAL: u8 = 6;
    pub(super) const FLOAT: u8 = 8;
    pub(super) const TIMESTAMP: u8 = 10;
    pub(super) const DATETIME: u8 = 12;
    pub(super) const BINARY_GEOMETRY: u8 = 16;
    pub(super) const BINARY_OBJECT: u8 = 20;
    pub(super) const TEXT_OBJECT: u8 = 22;
}

/// `.` inside a database or table name, as DTS writes it.
pub(crate) const ESCAPED_DOT: &str = "\\u002E";

/// Appends `name` with every `.` written as the six characters `\u002E`.
pub(crate) fn push_escaped_name(out: &mut String, name: &str) {
    for (i, part) in name.split('.').enumerate() {
        if i > 0 {
            out.push_str(ESCAPED_DOT);
        }
        out.push_str(part);
    }
}

/// Appends the Avro string of `name` escaped, without allocating.
fn put_escaped_name(out: &mut BytesMut, name: &str) {
    let dots = name.bytes().filter(|&b| b == b'.').count();
    put_len(out, name.len() + dots * (ESCAPED_DOT.len() - 1));
    put_escaped_text(out, name);
}

/// Appends `name` escaped (no length prefix), without allocating.
pub(crate) fn put_escaped_text(out: &mut BytesMut, name: &str) {
    for (i, part) in name.split('.').enumerate() {
        if i > 0 {
            out.put_slice(ESCAPED_DOT.as_bytes());
        }
        out.put_slice(part.as_bytes());
    }
}

/// The database a DDL record is about (its `objectName`, unescaped): the database of the table
/// it changes, else of the event's table, else the statement's default database.
pub(crate) fn ddl_object_name(ev: &ChangeEvent) -> Option<&str> {
    let ddl = ev.ddl.as_deref();
    ddl.and_then(|d| d.table.as_ref())
        .map(TableId::db)
        .or_else(|| ev.table.as_deref().map(|t| t.id().db()))
        .or_else(|| ddl.and_then(|d| d.db.as_deref()))
}

/// The escaped `db.table` of a table: the `objectName` of its row records.
pub(crate) fn object_name(id: &TableId) -> String {
    let mut s = String::with_capacity(id.db().len() + id.table().len() + 1);
    push_escaped_name(&mut s, id.db());
    s.push('.');
    push_escaped_name(&mut s, id.table());
    s
}

/// How the values of one column are written: the image item's union branch and the members
/// that do not depend on the value, precomputed.
#[derive(Debug)]
struct ColumnPlan {
    kind: Kind,
    /// Union branch and the members before the value.
    head: Box<[u8]>,
    /// Members after the value.
    tail: Box<[u8]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Integer,
    Bit,
    Decimal,
    Float,
    Date,
    Time,
    DateTime,
    Timestamp,
    Year,
    Character,
    Object,
    Enum,
    Set,
    Json,
    Geometry,
    Vector,
}

/// Everything about one table version that every record of it repeats, pre-encoded.
#[derive(Debug)]
pub(crate) struct TableParts {
    schema: Arc<TableSchema>,
    /// `objectName`: union branch 1 and the escaped `db.table`.
    object_name: Box<[u8]>,
    /// The escaped `db.table` (message key prefix).
    object_name_text: Box<str>,
    /// `fields`: union branch 2 and the array of `Field`.
    fields: Box<[u8]>,
    /// Map entry `pk_uk_info` → JSON, when the table has keys.
    pk_uk_info: Option<Box<[u8]>>,
    /// Map entry `metaVersion` → the version as text.
    meta_version: Box<[u8]>,
    columns: Box<[ColumnPlan]>,
}

impl TableParts {
    /// Precomputes the parts of `schema`.
    ///
    /// # Errors
    /// When a column cannot be represented (a text column without charset, a precision out of
    /// `int` range).
    pub(crate) fn build(schema: &Arc<TableSchema>) -> Result<Self> {
        let table = schema.id().to_string();
        let name = object_name(schema.id());
        let mut object = BytesMut::new();
        object.put_u8(branch::SECOND);
        put_bytes(&mut object, name.as_bytes());

        let mut fields = BytesMut::new();
        fields.put_u8(branch::THIRD);
        let cols = schema.columns();
        if !cols.is_empty() {
            put_len(&mut fields, cols.len());
            for c in cols {
                put_bytes(&mut fields, c.name.as_bytes());
                put_long(&mut fields, i64::from(c.ty.type_code()));
            }
        }
        fields.put_u8(0);

        let pk_uk_info = pk_uk_info_json(schema).map(|json| {
            let mut e = BytesMut::new();
            put_bytes(&mut e, b"pk_uk_info");
            put_bytes(&mut e, json.as_bytes());
            e.to_vec().into_boxed_slice()
        });
        let mut meta = BytesMut::new();
        put_bytes(&mut meta, b"metaVersion");
        put_u64_text(&mut meta, meta_version(schema));

        let columns = cols
            .iter()
            .map(|c| ColumnPlan::build(&table, c))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            schema: schema.clone(),
            object_name: object.to_vec().into_boxed_slice(),
            object_name_text: name.into_boxed_str(),
            fields: fields.to_vec().into_boxed_slice(),
            pk_uk_info,
            meta_version: meta.to_vec().into_boxed_slice(),
            columns: columns.into_boxed_slice(),
        })
    }

    /// The escaped `db.table`.
    pub(crate) fn object_name_text(&self) -> &str {
        &self.object_name_text
    }
}

/// The `metaVersion` tag: the table's definition version, kept to 63 bits so that consumers
/// parsing it as a Java `long` succeed.
pub(crate) fn meta_version(schema: &TableSchema) -> u64 {
    schema.version() & 0x7fff_ffff_ffff_ffff
}

/// `{"PRIMARY":["id"],"uk_email":["email"]}`: the primary key, then the unique keys, each with
/// its columns in key order; `None` for a table without keys.
pub(crate) fn pk_uk_info_json(schema: &TableSchema) -> Option<String> {
    let mut keys = schema
        .primary_key()
        .into_iter()
        .chain(schema.unique_keys())
        .peekable();
    keys.peek()?;
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let mut out = String::from("{");
    for (i, key) in keys.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&quote(&key.name));
        out.push_str(":[");
        let columns = key.columns.iter().filter_map(|&c| schema.columns().get(c));
        for (j, c) in columns.enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str(&quote(&c.name));
        }
        out.push(']');
    }
    out.push('}');
    Some(out)
}

/// A column attribute written as an Avro `int`.
fn int_member(table: &str, c: &ColumnDef, what: &'static str, v: u64) -> Result<i64> {
    i32::try_from(v)
        .map(i64::from)
        .map_err(|_| Error::ColumnAttribute {
            table: table.to_owned(),
            column: c.name.clone(),
            what,
            value: v,
        })
}

impl ColumnPlan {
    fn build(table: &str, c: &ColumnDef) -> Result<Self> {
        let string = |s: &str| {
            let mut b = BytesMut::new();
            put_bytes(&mut b, s.as_bytes());
            b.to_vec()
        };
        let head_with = |branch: u8, rest: &[u8]| {
            let mut h = vec![branch];
            h.extend_from_slice(rest);
            h
        };
        let signed_or_unknown = |v: Option<u32>, what| match v {
            Some(v) => int_member(table, c, what, u64::from(v)),
            None => Ok(-1),
        };
        let (kind, head, tail): (Kind, Vec<u8>, Vec<u8>) = match c.ty {
            ColumnType::TinyInt
            | ColumnType::SmallInt
            | ColumnType::MediumInt
            | ColumnType::Int
            | ColumnType::BigInt => {
                let bytes = match c.ty {
                    ColumnType::TinyInt => 1,
                    ColumnType::SmallInt => 2,
                    ColumnType::MediumInt => 3,
                    ColumnType::Int => 4,
                    _ => 8,
                };
                (
                    Kind::Integer,
                    head_with(branch::INTEGER, &long_bytes(bytes)),
                    vec![],
                )
            }
            ColumnType::Bit => {
                let m = int_member(table, c, "BIT length", c.length.unwrap_or(1))?;
                (
                    Kind::Bit,
                    head_with(branch::INTEGER, &long_bytes(m)),
                    vec![],
                )
            }
            ColumnType::Decimal => {
                // MySQL's defaults for a bare DECIMAL are (10, 0).
                let m = int_member(
                    table,
                    c,
                    "DECIMAL precision",
                    u64::from(c.precision.unwrap_or(10)),
                )?;
                let d = int_member(table, c, "DECIMAL scale", u64::from(c.scale.unwrap_or(0)))?;
                let mut tail = long_bytes(m);
                tail.extend_from_slice(&long_bytes(d));
                (Kind::Decimal, vec![branch::DECIMAL], tail)
            }
            ColumnType::Float | ColumnType::Double => {
                let p = signed_or_unknown(c.precision, "FLOAT precision")?;
                let s = signed_or_unknown(c.scale, "FLOAT scale")?;
                let mut tail = long_bytes(p);
                tail.extend_from_slice(&long_bytes(s));
                (Kind::Float, vec![branch::FLOAT], tail)
            }
            ColumnType::Date => (Kind::Date, vec![branch::DATETIME], vec![0; 4]),
            ColumnType::Time => (Kind::Time, vec![branch::DATETIME, 0, 0, 0], vec![]),
            ColumnType::DateTime => (Kind::DateTime, vec![branch::DATETIME], vec![]),
            ColumnType::Timestamp => (Kind::Timestamp, vec![branch::TIMESTAMP], vec![]),
            ColumnType::Year => (Kind::Year, vec![branch::DATETIME], vec![0; 6]),
            ColumnType::Char | ColumnType::VarChar => {
                let charset = c.charset.as_deref().ok_or_else(|| Error::MissingCharset {
                    table: table.to_owned(),
                    column: c.name.clone(),
                    ty: c.ty,
                })?;
                (
                    Kind::Character,
                    head_with(branch::CHARACTER, &string(charset)),
                    vec![],
                )
            }
            ColumnType::Binary | ColumnType::VarBinary => (
                Kind::Character,
                head_with(branch::CHARACTER, &string("binary")),
                vec![],
            ),
            ColumnType::TinyBlob
            | ColumnType::Blob
            | ColumnType::MediumBlob
            | ColumnType::LongBlob => (
                Kind::Object,
                head_with(branch::BINARY_OBJECT, &string("BLOB")),
                vec![],
            ),
            ColumnType::TinyText
            | ColumnType::Text
            | ColumnType::MediumText
            | ColumnType::LongText => (
                Kind::Object,
                head_with(branch::BINARY_OBJECT, &string("TEXT")),
                vec![],
            ),
            ColumnType::Enum => (
                Kind::Enum,
                head_with(branch::TEXT_OBJECT, &string("ENUM")),
                vec![],
            ),
            ColumnType::Set => (
                Kind::Set,
                head_with(branch::TEXT_OBJECT, &string("SET")),
                vec![],
            ),
            ColumnType::Json => (
                Kind::Json,
                head_with(branch::TEXT_OBJECT, &string("JSON")),
                vec![],
            ),
            ColumnType::Geometry => (
                Kind::Geometry,
                head_with(branch::BINARY_GEOMETRY, &string("GEOMETRY")),
                vec![],
            ),
            // Not in DTS's type table: the raw little-endian floats as a BINARY object.
            ColumnType::Vector => (
                Kind::Vector,
                head_with(branch::BINARY_OBJECT, &string("BINARY")),
                vec![],
            ),
            // ColumnType is non-exhaustive: a type added later has no form yet.
            _ => {
                return Err(Error::UnsupportedColumnType {
                    table: table.to_owned(),
                    column: c.name.clone(),
                    ty: c.ty,
                });
            }
        };
        Ok(Self {
            kind,
            head: head.into_boxed_slice(),
            tail: tail.into_boxed_slice(),
        })
    }
}

/// The name of a value's variant, for errors.
pub(crate) fn variant_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Int(_) => "Int",
        Value::UInt(_) => "UInt",
        Value::Float(_) => "Float",
        Value::Double(_) => "Double",
        Value::Decimal(_) => "Decimal",
        Value::Bit(_) => "Bit",
        Value::Year(_) => "Year",
        Value::Date(_) => "Date",
        Value::Time(_) => "Time",
        Value::DateTime(_) => "DateTime",
        Value::Timestamp { .. } => "Timestamp",
        Value::String(_) => "String",
        Value::Bytes(_) => "Bytes",
        Value::Enum(_) => "Enum",
        Value::Set(_) => "Set",
        Value::Json(_) => "Json",
        Value::Geometry(_) => "Geometry",
        Value::Vector(_) => "Vector",
        _ => "unknown",
    }
}

/// Appends a `["null","int"]` union holding `v`.
#[inline]
fn put_some_int(out: &mut BytesMut, v: i64) {
    out.put_u8(branch::SECOND);
    put_long(out, v);
}

/// Error context: which table and column a value belongs to.
struct At<'a> {
    schema: &'a TableSchema,
    column: &'a ColumnDef,
}

impl At<'_> {
    fn mismatch(&self, v: &Value) -> Error {
        Error::ValueMismatch {
            table: self.schema.id().to_string(),
            column: self.column.name.clone(),
            ty: self.column.ty,
            value: variant_name(v),
        }
    }

    fn unknown_label(&self, kind: &'static str, value: u64) -> Error {
        Error::UnknownLabel {
            table: self.schema.id().to_string(),
            column: self.column.name.clone(),
            kind,
            value,
            labels: self.column.labels.len(),
        }
    }

    fn invalid_utf8(&self, what: &'static str) -> Error {
        Error::InvalidUtf8 {
            table: self.schema.id().to_string(),
            column: self.column.name.clone(),
            what,
        }
    }
}

/// Appends an Avro string that must be UTF-8 (TextObject values).
fn put_utf8(out: &mut BytesMut, b: &[u8], at: &At<'_>, what: &'static str) -> Result<()> {
    if std::str::from_utf8(b).is_err() {
        return Err(at.invalid_utf8(what));
    }
    put_bytes(out, b);
    Ok(())
}

/// Appends the SET labels of `bits` joined by `,`, without allocating.
fn put_set(out: &mut BytesMut, bits: u64, at: &At<'_>) -> Result<()> {
    let labels = &at.column.labels;
    if labels.len() < 64 && bits >> labels.len() != 0 {
        return Err(at.unknown_label("SET", bits));
    }
    let chosen = || {
        labels
            .iter()
            .enumerate()
            .filter(move |&(i, _)| i < 64 && bits & (1u64 << i) != 0)
            .map(|(_, l)| l.as_bytes())
    };
    let count = chosen().count();
    let len: usize = chosen().map(<[u8]>::len).sum::<usize>() + count.saturating_sub(1);
    put_len(out, len);
    for (i, l) in chosen().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(l);
    }
    Ok(())
}

fn micros_member(micros: u32) -> Result<i64> {
    i32::try_from(micros)
        .map(i64::from)
        .map_err(|_| Error::OutOfRange {
            what: "microseconds",
            value: u64::from(micros),
        })
}

/// Appends one image item: the union branch and the value.
fn put_value(out: &mut BytesMut, plan: &ColumnPlan, v: &Value, at: &At<'_>) -> Result<()> {
    if let Value::Null = v {
        out.put_u8(branch::NULL);
        return Ok(());
    }
    out.put_slice(&plan.head);
    match (plan.kind, v) {
        (Kind::Integer, Value::Int(n)) => put_i64_text(out, *n),
        (Kind::Integer, Value::UInt(n)) | (Kind::Bit, Value::Bit(n) | Value::UInt(n)) => {
            put_u64_text(out, *n);
        }
        (Kind::Decimal, Value::Decimal(d)) => put_bytes(out, d.as_bytes()),
        (Kind::Float, Value::Float(f)) => out.put_f64_le(f64::from(*f)),
        (Kind::Float, Value::Double(f)) => out.put_f64_le(*f),
        (Kind::Date, Value::Date(d)) => {
            put_some_int(out, i64::from(d.year));
            put_some_int(out, i64::from(d.month));
            put_some_int(out, i64::from(d.day));
        }
        (Kind::Time, Value::Time(t)) => {
            let sign = if t.negative { -1 } else { 1 };
            put_some_int(out, sign * i64::from(t.hours));
            put_some_int(out, sign * i64::from(t.minutes));
            put_some_int(out, sign * i64::from(t.seconds));
            put_some_int(out, sign * micros_member(t.micros)?);
        }
        (Kind::DateTime, Value::DateTime(dt)) => {
            put_some_int(out, i64::from(dt.date.year));
            put_some_int(out, i64::from(dt.date.month));
            put_some_int(out, i64::from(dt.date.day));
            put_some_int(out, i64::from(dt.hour));
            put_some_int(out, i64::from(dt.minute));
            put_some_int(out, i64::from(dt.second));
            put_some_int(out, micros_member(dt.micros)?);
        }
        (Kind::Timestamp, Value::Timestamp { secs, micros }) => {
            let secs = i64::try_from(*secs).map_err(|_| Error::OutOfRange {
                what: "TIMESTAMP seconds",
                value: *secs,
            })?;
            put_long(out, secs);
            put_long(out, micros_member(*micros)?);
        }
        (Kind::Year, Value::Year(y)) => put_some_int(out, i64::from(*y)),
        (Kind::Character | Kind::Object, Value::String(b) | Value::Bytes(b))
        | (Kind::Vector, Value::Vector(b) | Value::Bytes(b)) => put_bytes(out, b),
        (Kind::Enum, Value::Enum(i)) => {
            // Index 0 is MySQL's error value: the empty string, as SELECT shows it.
            let label = if *i == 0 {
                ""
            } else {
                at.column
                    .enum_label(*i)
                    .ok_or_else(|| at.unknown_label("ENUM", u64::from(*i)))?
            };
            put_bytes(out, label.as_bytes());
        }
        (Kind::Set, Value::Set(bits)) => put_set(out, *bits, at)?,
        (Kind::Enum | Kind::Set, Value::String(b)) => put_utf8(out, b, at, "ENUM/SET label")?,
        (Kind::Json, Value::Json(b) | Value::String(b)) => put_utf8(out, b, at, "JSON text")?,
        (Kind::Geometry, Value::Geometry(b)) => {
            let wkb = b.get(4..).ok_or_else(|| Error::InvalidGeometry {
                table: at.schema.id().to_string(),
                column: at.column.name.clone(),
                len: b.len(),
            })?;
            put_bytes(out, wkb);
        }
        _ => return Err(at.mismatch(v)),
    }
    // Most types have no members after the value: no call for nothing.
    if !plan.tail.is_empty() {
        out.put_slice(&plan.tail);
    }
    Ok(())
}

/// Appends an image: union branch 2, then one item per column.
fn put_image(
    out: &mut BytesMut,
    parts: &TableParts,
    row: &[Value],
    image: &'static str,
) -> Result<()> {
    let schema = &*parts.schema;
    if row.len() != parts.columns.len() {
        return Err(Error::RowLength {
            table: schema.id().to_string(),
            image,
            expected: parts.columns.len(),
            actual: row.len(),
        });
    }
    out.put_u8(branch::THIRD);
    if !row.is_empty() {
        put_len(out, row.len());
        for ((plan, v), column) in parts.columns.iter().zip(row).zip(schema.columns()) {
            put_value(out, plan, v, &At { schema, column })?;
        }
    }
    out.put_u8(0);
    Ok(())
}

/// The file sequence of the last binlog file seen (events of one file share its name), so
/// that the name is parsed once per file, not twice per record.
#[derive(Debug, Default)]
struct LastFile(Option<(Arc<str>, Option<u64>)>);

impl LastFile {
    fn sequence(&mut self, p: &BinlogPosition) -> Option<u64> {
        match &self.0 {
            Some((file, seq)) if Arc::ptr_eq(file, &p.file) => *seq,
            _ => {
                let seq = p.file_sequence();
                self.0 = Some((p.file.clone(), seq));
                seq
            }
        }
    }
}

/// The last position written, as encoded. Every record of a transaction has the same
/// `safeSourcePosition` (its BEGIN), every row of one rows event the same `sourcePosition`, and
/// every snapshot row the same too: each is formatted once, not per record.
#[derive(Debug, Default)]
struct LastPosition(Option<(Arc<str>, u64, Vec<u8>)>);

impl LastPosition {
    /// As [`put_position`], from the cache when `p` is the last position written.
    fn put(&mut self, out: &mut BytesMut, p: Option<&BinlogPosition>, last: &mut LastFile) {
        let Some(p) = p else {
            out.put_u8(0);
            return;
        };
        if let Some((file, offset, bytes)) = &self.0
            && Arc::ptr_eq(file, &p.file)
            && *offset == p.offset
        {
            out.put_slice(bytes);
            return;
        }
        let start = out.len();
        put_position(out, Some(p), last);
        let written = out.get(start..).unwrap_or_default();
        // The buffer is reused: no allocation when the position changes (every record of
        // single-row transactions).
        match &mut self.0 {
            Some((file, offset, bytes)) => {
                if !Arc::ptr_eq(file, &p.file) {
                    *file = p.file.clone();
                }
                *offset = p.offset;
                bytes.clear();
                bytes.extend_from_slice(written);
            }
            None => self.0 = Some((p.file.clone(), p.offset, written.to_vec())),
        }
    }
}

/// Appends `"<offset>@<file sequence>"`, or `""` when the position or its sequence is unknown.
fn put_position(out: &mut BytesMut, p: Option<&BinlogPosition>, last: &mut LastFile) {
    let Some((p, seq)) = p.and_then(|p| Some((p, last.sequence(p)?))) else {
        out.put_u8(0);
        return;
    };
    let offset = Decimal20::new(p.offset);
    let seq = Decimal20::new(seq);
    put_len(out, offset.as_bytes().len() + 1 + seq.as_bytes().len());
    out.put_slice(offset.as_bytes());
    out.put_u8(b'@');
    out.put_slice(seq.as_bytes());
}

/// The common tags of the last record: its (read time, server, thread) and their encoding.
#[derive(Debug, Default)]
struct LastTags(Option<(u64, u32, Option<u32>)>, Vec<u8>);

/// Tag keys, as Avro strings.
mod tag {
    pub(super) const READER_THROUGHOUT_TIME: &[u8] = b"\x28readerThroughoutTime";
    pub(super) const SERVER_ID: &[u8] = b"\x12server_id";
    pub(super) const THREAD_ID: &[u8] = b"\x12thread_id";
    pub(super) const GTID: &[u8] = b"\x08GTID";
    pub(super) const COMMIT_TIMESTAMP: &[u8] = b"\x1ecommitTimestamp";
}

/// The per-codec constant parts: `sourceTxid` and `source`.
#[derive(Debug)]
pub(crate) struct Encoder {
    /// `sourceTxid` `"0"`, `source` {MySQL, version}.
    txid_and_source: Box<[u8]>,
    tags: TagsConfig,
    last_file: LastFile,
    last_position: LastPosition,
    last_safe: LastPosition,
    /// The common tags of the last record (read time, server, thread) and their encoding.
    last_tags: LastTags,
}

impl Encoder {
    pub(crate) fn new(server_version: &str, tags: TagsConfig) -> Self {
        let mut b = BytesMut::new();
        put_bytes(&mut b, b"0");
        b.put_u8(0); // SourceType.MySQL
        put_bytes(&mut b, server_version.as_bytes());
        Self {
            txid_and_source: b.to_vec().into_boxed_slice(),
            tags,
            last_file: LastFile::default(),
            last_position: LastPosition::default(),
            last_safe: LastPosition::default(),
            last_tags: LastTags::default(),
        }
    }

    /// Appends the record of `ev`; on error `out` is left as it was.
    pub(crate) fn encode(
        &mut self,
        ev: &ChangeEvent,
        parts: Option<&TableParts>,
        out: &mut BytesMut,
    ) -> Result<()> {
        let start = out.len();
        let result = self.encode_inner(ev, parts, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_inner(
        &mut self,
        ev: &ChangeEvent,
        parts: Option<&TableParts>,
        out: &mut BytesMut,
    ) -> Result<()> {
        let op = operation(ev.op)?;
        out.reserve(128 + ev.payload_len() + parts.map_or(0, |p| p.columns.len() * 24));
        let id = i64::try_from(ev.id).map_err(|_| Error::OutOfRange {
            what: "record id",
            value: ev.id,
        })?;
        // ms / 1000 always fits an i64.
        let ts = i64::try_from(ev.source_ts_ms / 1000).unwrap_or(i64::MAX);
        out.put_u8(0); // version
        put_long(out, id);
        put_long(out, ts);
        self.last_position
            .put(out, ev.position.as_ref(), &mut self.last_file);
        self.last_safe.put(
            out,
            ev.safe_position.as_ref().or(ev.position.as_ref()),
            &mut self.last_file,
        );
        out.put_slice(&self.txid_and_source);
        put_long(out, i64::from(op.ordinal()));
        match op {
            Operation::Insert | Operation::Update | Operation::Delete | Operation::Init => {
                let parts = parts.ok_or(Error::MissingTable { op: op.symbol() })?;
                self.row_body(ev, op, parts, out)?;
            }
            Operation::Ddl => self.ddl_body(ev, out)?,
            _ => self.marker_body(ev, op, out),
        }
        put_long(out, ts); // bornTimestamp
        Ok(())
    }

    fn row_body(
        &mut self,
        ev: &ChangeEvent,
        op: Operation,
        parts: &TableParts,
        out: &mut BytesMut,
    ) -> Result<()> {
        let missing = |image| Error::MissingImage {
            op: op.symbol(),
            table: parts.schema.id().to_string(),
            image,
        };
        let before = match op {
            Operation::Update | Operation::Delete => {
                Some(ev.before.as_deref().ok_or_else(|| missing("before"))?)
            }
            _ => None,
        };
        let after = match op {
            Operation::Delete => None,
            _ => Some(ev.after.as_deref().ok_or_else(|| missing("after"))?),
        };
        out.put_slice(&parts.object_name);
        out.put_u8(branch::NULL); // processTimestamps
        let t = &self.tags;
        let pk = parts.pk_uk_info.as_deref().filter(|_| t.pk_uk_info);
        let count =
            usize::from(pk.is_some()) + usize::from(t.meta_version) + self.common_tag_count(ev);
        if count > 0 {
            put_len(out, count);
            if let Some(pk) = pk {
                out.put_slice(pk);
            }
            if t.meta_version {
                out.put_slice(&parts.meta_version);
            }
            self.put_common_tags(ev, out);
        }
        out.put_u8(0);
        out.put_slice(&parts.fields);
        match before {
            Some(row) => put_image(out, parts, row, "before")?,
            None => out.put_u8(branch::NULL),
        }
        match after {
            Some(row) => put_image(out, parts, row, "after")?,
            None => out.put_u8(branch::NULL),
        }
        Ok(())
    }

    fn ddl_body(&mut self, ev: &ChangeEvent, out: &mut BytesMut) -> Result<()> {
        let ddl = ev.ddl.as_deref().ok_or(Error::MissingDdl)?;
        match ddl_object_name(ev) {
            Some(db) => {
                out.put_u8(branch::SECOND);
                put_escaped_name(out, db);
            }
            None => out.put_u8(branch::NULL),
        }
        out.put_u8(branch::NULL); // processTimestamps
        let t = self.tags;
        let gtid = ev.gtid.as_deref().filter(|_| t.gtid);
        let count = self.common_tag_count(ev)
            + usize::from(gtid.is_some())
            + usize::from(t.commit_timestamp);
        if count > 0 {
            put_len(out, count);
            self.put_common_tags(ev, out);
            if let Some(g) = gtid {
                out.put_slice(tag::GTID);
                put_bytes(out, g.as_bytes());
            }
            if t.commit_timestamp {
                out.put_slice(tag::COMMIT_TIMESTAMP);
                put_u64_text(out, ev.source_ts_ms / 1000);
            }
        }
        out.put_u8(0);
        out.put_u8(branch::NULL); // fields
        out.put_u8(branch::NULL); // beforeImages
        out.put_u8(branch::SECOND); // afterImages: the SQL text
        put_bytes(out, ddl.sql.as_bytes());
        Ok(())
    }

    fn marker_body(&mut self, ev: &ChangeEvent, op: Operation, out: &mut BytesMut) {
        out.put_u8(branch::NULL); // objectName
        out.put_u8(branch::NULL); // processTimestamps
        let gtid = ev
            .gtid
            .as_deref()
            .filter(|_| self.tags.gtid && op != Operation::Heartbeat);
        let count = self.common_tag_count(ev) + usize::from(gtid.is_some());
        if count > 0 {
            put_len(out, count);
            self.put_common_tags(ev, out);
            if let Some(g) = gtid {
                out.put_slice(tag::GTID);
                put_bytes(out, g.as_bytes());
            }
        }
        out.put_u8(0);
        out.put_slice(&[branch::NULL; 3]); // fields, beforeImages, afterImages
    }

    /// `readerThroughoutTime`, `server_id`, `thread_id`: each when enabled and known (a zero
    /// read time or server id means unknown).
    fn common_tag_count(&self, ev: &ChangeEvent) -> usize {
        let t = &self.tags;
        usize::from(t.reader_throughout_time && ev.read_ts_ms != 0)
            + usize::from(t.server_id && ev.server_id != 0)
            + usize::from(t.thread_id && ev.thread_id.is_some())
    }

    /// From the cache when read time, server and thread are those of the last record (records
    /// read in the same millisecond: most of them under load).
    fn put_common_tags(&mut self, ev: &ChangeEvent, out: &mut BytesMut) {
        let key = (ev.read_ts_ms, ev.server_id, ev.thread_id);
        if self.last_tags.0 == Some(key) {
            out.put_slice(&self.last_tags.1);
            return;
        }
        let start = out.len();
        self.write_common_tags(ev, out);
        let written = out.get(start..).unwrap_or_default();
        self.last_tags.0 = Some(key);
        self.last_tags.1.clear();
        self.last_tags.1.extend_from_slice(written);
    }

    fn write_common_tags(&self, ev: &ChangeEvent, out: &mut BytesMut) {
        let t = &self.tags;
        if t.reader_throughout_time && ev.read_ts_ms != 0 {
            out.put_slice(tag::READER_THROUGHOUT_TIME);
            put_u64_text(out, ev.read_ts_ms);
        }
        if t.server_id && ev.server_id != 0 {
            out.put_slice(tag::SERVER_ID);
            put_u64_text(out, u64::from(ev.server_id));
        }
        if t.thread_id
            && let Some(id) = ev.thread_id
        {
            out.put_slice(tag::THREAD_ID);
            put_u64_text(out, u64::from(id));
        }
    }
}

/// The DTS operation of a core operation.
pub(crate) fn operation(op: CoreOp) -> Result<Operation> {
    Ok(match op {
        CoreOp::Init => Operation::Init,
        CoreOp::Insert => Operation::Insert,
        CoreOp::Update => Operation::Update,
        CoreOp::Delete => Operation::Delete,
        CoreOp::Ddl => Operation::Ddl,
        CoreOp::Begin => Operation::Begin,
        CoreOp::Commit => Operation::Commit,
        CoreOp::Heartbeat => Operation::Heartbeat,
        other => return Err(Error::UnsupportedOperation(other.to_string())),
    })
}

/// How many definition versions of one table keep their parts (events of an old and a new
/// version may interleave around a DDL).
const VERSIONS_PER_TABLE: usize = 4;

/// Per-table parts, built once per (table, definition version). Bounded: at most
/// [`VERSIONS_PER_TABLE`] versions per table, the oldest replaced first.
#[derive(Debug, Default)]
pub(crate) struct PartsCache {
    entries: Vec<TableParts>,
    /// Per table, the indexes in `entries` of its cached versions, oldest first.
    index: HashMap<TableId, Vec<usize>>,
    /// The entry used last: most records are for the same table as the previous one.
    last: usize,
    /// How many times parts were built (for tests).
    builds: u64,
}

impl PartsCache {
    /// The parts of `schema`, built on first use of each definition version.
    ///
    /// # Errors
    /// When the definition cannot be encoded (see [`TableParts::build`]).
    pub(crate) fn get(&mut self, schema: &Arc<TableSchema>) -> Result<&TableParts> {
        let hit = |p: &TableParts| Arc::ptr_eq(&p.schema, schema);
        if !self.entries.get(self.last).is_some_and(hit) {
            self.last = self.find_or_build(schema)?;
        }
        self.entries
            .get(self.last)
            .ok_or(Error::MissingTable { op: "(cache)" })
    }

    fn find_or_build(&mut self, schema: &Arc<TableSchema>) -> Result<usize> {
        let slots = self.index.get(schema.id()).map_or(&[][..], Vec::as_slice);
        if let Some(&i) = slots.iter().find(|&&i| {
            self.entries
                .get(i)
                .is_some_and(|p| Arc::ptr_eq(&p.schema, schema))
        }) {
            return Ok(i);
        }
        for &i in slots {
            if let Some(p) = self.entries.get_mut(i)
                && p.schema.version() == schema.version()
                && *p.schema == **schema
            {
                // The same definition in another Arc: adopt it for the pointer fast path.
                p.schema = schema.clone();
                return Ok(i);
            }
        }
        let parts = TableParts::build(schema)?;
        self.builds += 1;
        let slots = self.index.entry(schema.id().clone()).or_default();
        if slots.len() < VERSIONS_PER_TABLE {
            self.entries.push(parts);
            let i = self.entries.len() - 1;
            slots.push(i);
            Ok(i)
        } else {
            // Replace the oldest version of this table.
            slots.rotate_left(1);
            let i = slots.last().copied().unwrap_or_default();
            if let Some(slot) = self.entries.get_mut(i) {
                *slot = parts;
            }
            Ok(i)
        }
    }

    /// How many (table, version) parts are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many times parts were built.
    #[cfg(test)]
    pub(crate) fn builds(&self) -> u64 {
        self.builds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_name_the_file_of_each_record_when_files_alternate() {
        let mut last = LastFile::default();
        let a = BinlogPosition::new("mysql-bin.000007", 120);
        let b = BinlogPosition::new("mysql-bin.000012", 4);
        let odd = BinlogPosition::new("no-number", 4);
        let mut out = BytesMut::new();
        for p in [&a, &b, &a, &odd, &b] {
            out.clear();
            put_position(&mut out, Some(p), &mut last);
            let expected = p
                .file_sequence()
                .map_or_else(String::new, |s| format!("{}@{s}", p.offset));
            let mut want = BytesMut::new();
            crate::wire::put_bytes(&mut want, expected.as_bytes());
            assert_eq!(out, want, "{p}");
        }
    }

    #[test]
    fn the_cached_safe_position_is_the_one_asked_for() {
        let mut last = LastFile::default();
        let mut safe = LastPosition::default();
        let file: Arc<str> = "mysql-bin.000007".into();
        let other: Arc<str> = "mysql-bin.000008".into();
        let at = |f: &Arc<str>, offset| BinlogPosition {
            file: f.clone(),
            ..BinlogPosition::new("x", offset)
        };
        for p in [
            at(&file, 120),
            at(&file, 120),
            at(&file, 7),
            at(&other, 7),
            at(&other, 7),
            at(&file, 120),
        ] {
            let (mut cached, mut plain) = (BytesMut::new(), BytesMut::new());
            safe.put(&mut cached, Some(&p), &mut last);
            put_position(&mut plain, Some(&p), &mut last);
            assert_eq!(cached, plain, "{p}");
        }
        let mut none = BytesMut::new();
        safe.put(&mut none, None, &mut last);
        assert_eq!(&none[..], [0]);
    }
}
