//! [`DtsRecord`]: one decoded DTS Avro `Record`, with its parts ([`Operation`], [`Source`],
//! [`Field`], [`FieldValue`], ...), a general writer ([`DtsRecord::encode`]) and a JSON view
//! ([`DtsRecord::to_json`]).
//!
//! The types mirror the schema one to one (field order, union branches, enum symbols), so any
//! record any DTS producer wrote can be represented, not only what this crate's codec writes.

use std::fmt;

use bytes::{BufMut, BytesMut};
use serde_json::{Map, Value as Json, json};

use crate::error::DecodeError;
use crate::wire::{put_bytes, put_len, put_long};

/// One DTS Avro `com.alibaba.dts.formats.avro.Record`, decoded.
///
/// Fields are in schema order and named as in the schema (in snake case).
#[derive(Clone, Debug, PartialEq)]
pub struct DtsRecord {
    /// `version`: 0 for every known producer.
    pub version: i32,
    /// `id`: increasing record id within one task's output.
    pub id: i64,
    /// `sourceTimestamp`: source time of the change, seconds since the epoch.
    pub source_timestamp: i64,
    /// `sourcePosition`: `"<offset>@<binlog file sequence>"` for MySQL.
    pub source_position: String,
    /// `safeSourcePosition`: where a restart replays this record's transaction from.
    pub safe_source_position: String,
    /// `sourceTxid`: `"0"` for MySQL.
    pub source_txid: String,
    /// `source`: the source database kind and version.
    pub source: Source,
    /// `operation`.
    pub operation: Operation,
    /// `objectName`: `db.table` (row records), `db` (DDL), or null; a `.` inside a name is
    /// written `\u002E`.
    pub object_name: Option<String>,
    /// `processTimestamps`.
    pub process_timestamps: Option<Vec<i64>>,
    /// `tags`, in the order they were written.
    pub tags: Vec<(String, String)>,
    /// `fields`: the column list.
    pub fields: Fields,
    /// `beforeImages`.
    pub before_images: Images,
    /// `afterImages` (for DDL: the SQL text).
    pub after_images: Images,
    /// `bornTimestamp`.
    pub born_timestamp: i64,
}

/// `com.alibaba.dts.formats.avro.Source`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// `sourceType`.
    pub source_type: SourceType,
    /// `version`: the source server's version (`SELECT VERSION()`).
    pub version: String,
}

macro_rules! avro_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $symbol:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The symbol as the schema spells it.
            #[must_use]
            pub fn symbol(self) -> &'static str {
                match self {
                    $($name::$variant => $symbol,)*
                }
            }

            /// The ordinal: the position of the symbol in the schema, as written on the wire.
            #[must_use]
            pub fn ordinal(self) -> u8 {
                // Declared in schema order; the position of a variant in ALL is its ordinal.
                Self::ALL
                    .iter()
                    .position(|&v| v == self)
                    .and_then(|i| u8::try_from(i).ok())
                    .unwrap_or(0)
            }

            /// The symbol with ordinal `ordinal`, if the schema has one.
            #[must_use]
            pub fn from_ordinal(ordinal: u8) -> Option<Self> {
                Self::ALL.get(usize::from(ordinal)).copied()
            }

            /// How many symbols the schema has.
            pub(crate) fn count() -> u8 {
                u8::try_from(Self::ALL.len()).unwrap_or(u8::MAX)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.symbol())
            }
        }
    };
}

avro_enum! {
    /// `com.alibaba.dts.formats.avro.Operation`, in schema order.
    Operation {
        /// `INSERT`: a row inserted (binlog).
        Insert = "INSERT",
        /// `UPDATE`: a row updated (before and after images).
        Update = "UPDATE",
        /// `DELETE`: a row deleted.
        Delete = "DELETE",
        /// `DDL`: a DDL statement (SQL in `afterImages`).
        Ddl = "DDL",
        /// `BEGIN`: a transaction began.
        Begin = "BEGIN",
        /// `COMMIT`: a transaction committed.
        Commit = "COMMIT",
        /// `ROLLBACK`.
        Rollback = "ROLLBACK",
        /// `ABORT`.
        Abort = "ABORT",
        /// `HEARTBEAT`: the source is alive.
        Heartbeat = "HEARTBEAT",
        /// `CHECKPOINT`.
        Checkpoint = "CHECKPOINT",
        /// `COMMAND`.
        Command = "COMMAND",
        /// `FILL`.
        Fill = "FILL",
        /// `FINISH`.
        Finish = "FINISH",
        /// `CONTROL`.
        Control = "CONTROL",
        /// `RDB`.
        Rdb = "RDB",
        /// `NOOP`.
        Noop = "NOOP",
        /// `INIT`: a row of the full data migration (snapshot).
        Init = "INIT",
    }
}

avro_enum! {
    /// `com.alibaba.dts.formats.avro.SourceType`, in schema order.
    SourceType {
        /// `MySQL` (also used for MariaDB).
        MySql = "MySQL",
        /// `Oracle`.
        Oracle = "Oracle",
        /// `SQLServer`.
        SqlServer = "SQLServer",
        /// `PostgreSQL`.
        PostgreSql = "PostgreSQL",
        /// `MongoDB`.
        MongoDb = "MongoDB",
        /// `Redis`.
        Redis = "Redis",
        /// `DB2`.
        Db2 = "DB2",
        /// `PPAS`.
        Ppas = "PPAS",
        /// `DRDS`.
        Drds = "DRDS",
        /// `HBASE`.
        Hbase = "HBASE",
        /// `HDFS`.
        Hdfs = "HDFS",
        /// `FILE`.
        File = "FILE",
        /// `OTHER`.
        Other = "OTHER",
    }
}

avro_enum! {
    /// `com.alibaba.dts.formats.avro.EmptyObject`.
    EmptyObject {
        /// `NULL` (never written by this crate: SQL NULL is the null branch).
        Null = "NULL",
        /// `NONE`.
        None = "NONE",
    }
}

/// `com.alibaba.dts.formats.avro.Field`: one column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// `name`: the column name.
    pub name: String,
    /// `dataTypeNumber`: the MySQL type code (`MYSQL_TYPE_*`).
    pub data_type_number: i32,
}

/// The `fields` union: `null`, `string` or `array<Field>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fields {
    /// Branch 0 (DDL and transaction markers).
    Null,
    /// Branch 1 (not written by DTS for MySQL).
    Text(String),
    /// Branch 2: the columns in table order.
    List(Vec<Field>),
}

/// The `beforeImages` / `afterImages` union: `null`, `string` or an array of values.
#[derive(Clone, Debug, PartialEq)]
pub enum Images {
    /// Branch 0: no image.
    Null,
    /// Branch 1: text (the SQL of a DDL record, in `afterImages`).
    Text(String),
    /// Branch 2: one value per column, aligned with `fields`.
    Values(Vec<FieldValue>),
}

/// `com.alibaba.dts.formats.avro.DateTime`: every member optional (null when absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// `year`.
    pub year: Option<i32>,
    /// `month`.
    pub month: Option<i32>,
    /// `day`.
    pub day: Option<i32>,
    /// `hour` (a TIME may exceed 23).
    pub hour: Option<i32>,
    /// `minute`.
    pub minute: Option<i32>,
    /// `second`.
    pub second: Option<i32>,
    /// `millis`: **microseconds** in DTS output, despite the name.
    pub millis: Option<i32>,
}

impl DateTime {
    /// The members in schema order.
    #[must_use]
    pub fn members(&self) -> [Option<i32>; 7] {
        [
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.millis,
        ]
    }

    /// From the members in schema order.
    #[must_use]
    pub fn from_members(m: [Option<i32>; 7]) -> Self {
        let [year, month, day, hour, minute, second, millis] = m;
        Self {
            year,
            month,
            day,
            hour,
            minute,
            second,
            millis,
        }
    }
}

/// One item of an image: the union of the column value types, in schema branch order.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// Branch 0: SQL NULL.
    Null,
    /// Branch 1: `Integer` (integer and BIT columns).
    Integer {
        /// `precision`: storage bytes (BIT: bits).
        precision: i32,
        /// `value`: decimal text.
        value: String,
    },
    /// Branch 2: `Character` (CHAR, VARCHAR, BINARY, VARBINARY).
    Character {
        /// `charset`: the MySQL charset name, `binary` for binary strings.
        charset: String,
        /// `value`: the raw bytes in that charset.
        value: Vec<u8>,
    },
    /// Branch 3: `Decimal`.
    Decimal {
        /// `value`: exact decimal text.
        value: String,
        /// `precision`: M.
        precision: i32,
        /// `scale`: D.
        scale: i32,
    },
    /// Branch 4: `Float` (FLOAT, DOUBLE).
    Float {
        /// `value`.
        value: f64,
        /// `precision`, -1 when not declared.
        precision: i32,
        /// `scale`, -1 when not declared.
        scale: i32,
    },
    /// Branch 5: `Timestamp`.
    Timestamp {
        /// `timestamp`: UTC seconds since the epoch.
        timestamp: i64,
        /// `millis`: **microseconds** in DTS output.
        millis: i32,
    },
    /// Branch 6: `DateTime` (DATE, TIME, DATETIME, YEAR).
    DateTime(DateTime),
    /// Branch 7: `TimestampWithTimeZone`.
    TimestampWithTimeZone {
        /// `value`.
        value: DateTime,
        /// `timezone`.
        timezone: String,
    },
    /// Branch 8: `BinaryGeometry`.
    BinaryGeometry {
        /// `type`, e.g. `GEOMETRY`.
        kind: String,
        /// `value`: WKB.
        value: Vec<u8>,
    },
    /// Branch 9: `TextGeometry`.
    TextGeometry {
        /// `type`.
        kind: String,
        /// `value`: WKT.
        value: String,
    },
    /// Branch 10: `BinaryObject` (BLOB and TEXT families).
    BinaryObject {
        /// `type`: `BLOB`, `TEXT`, ...
        kind: String,
        /// `value`.
        value: Vec<u8>,
    },
    /// Branch 11: `TextObject` (ENUM, SET, JSON).
    TextObject {
        /// `type`: `ENUM`, `SET`, `JSON`, ...
        kind: String,
        /// `value`.
        value: String,
    },
    /// Branch 12: `EmptyObject`.
    EmptyObject(EmptyObject),
}

impl FieldValue {
    /// The union branch index of this value in the image item union.
    #[must_use]
    pub fn branch(&self) -> u8 {
        match self {
            FieldValue::Null => 0,
            FieldValue::Integer { .. } => 1,
            FieldValue::Character { .. } => 2,
            FieldValue::Decimal { .. } => 3,
            FieldValue::Float { .. } => 4,
            FieldValue::Timestamp { .. } => 5,
            FieldValue::DateTime(_) => 6,
            FieldValue::TimestampWithTimeZone { .. } => 7,
            FieldValue::BinaryGeometry { .. } => 8,
            FieldValue::TextGeometry { .. } => 9,
            FieldValue::BinaryObject { .. } => 10,
            FieldValue::TextObject { .. } => 11,
            FieldValue::EmptyObject(_) => 12,
        }
    }

    /// The schema name of the branch (`"null"`, `"Integer"`, ...).
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        BRANCH_NAMES
            .get(usize::from(self.branch()))
            .copied()
            .unwrap_or("null")
    }

    fn encode(&self, out: &mut BytesMut) {
        put_long(out, i64::from(self.branch()));
        match self {
            FieldValue::Null => {}
            FieldValue::Integer { precision, value } => {
                put_long(out, i64::from(*precision));
                put_bytes(out, value.as_bytes());
            }
            FieldValue::Character { charset, value } => {
                put_bytes(out, charset.as_bytes());
                put_bytes(out, value);
            }
            FieldValue::Decimal {
                value,
                precision,
                scale,
            } => {
                put_bytes(out, value.as_bytes());
                put_long(out, i64::from(*precision));
                put_long(out, i64::from(*scale));
            }
            FieldValue::Float {
                value,
                precision,
                scale,
            } => {
                out.put_f64_le(*value);
                put_long(out, i64::from(*precision));
                put_long(out, i64::from(*scale));
            }
            FieldValue::Timestamp { timestamp, millis } => {
                put_long(out, *timestamp);
                put_long(out, i64::from(*millis));
            }
            FieldValue::DateTime(dt) => encode_datetime(dt, out),
            FieldValue::TimestampWithTimeZone { value, timezone } => {
                encode_datetime(value, out);
                put_bytes(out, timezone.as_bytes());
            }
            FieldValue::BinaryGeometry { kind, value }
            | FieldValue::BinaryObject { kind, value } => {
                put_bytes(out, kind.as_bytes());
                put_bytes(out, value);
            }
            FieldValue::TextGeometry { kind, value } | FieldValue::TextObject { kind, value } => {
                put_bytes(out, kind.as_bytes());
                put_bytes(out, value.as_bytes());
            }
            FieldValue::EmptyObject(e) => put_long(out, i64::from(e.ordinal())),
        }
    }

    /// A JSON view: `null`, or `{"<type name>": {members}}` (the Avro JSON union form, with
    /// short type names). Bytes are shown as text when they are text (a charset other than
    /// `binary`, or a `TEXT`/`JSON`/`XML` object) and valid UTF-8, else as `{"hex": "…"}`.
    #[must_use]
    pub fn to_json(&self) -> Json {
        let inner = match self {
            FieldValue::Null => return Json::Null,
            FieldValue::Integer { precision, value } => {
                json!({"precision": precision, "value": value})
            }
            FieldValue::Character { charset, value } => {
                json!({"charset": charset, "value": bytes_json(value, charset != "binary")})
            }
            FieldValue::Decimal {
                value,
                precision,
                scale,
            } => json!({"value": value, "precision": precision, "scale": scale}),
            FieldValue::Float {
                value,
                precision,
                scale,
            } => json!({"value": float_json(*value), "precision": precision, "scale": scale}),
            FieldValue::Timestamp { timestamp, millis } => {
                json!({"timestamp": timestamp, "millis": millis})
            }
            FieldValue::DateTime(dt) => datetime_json(dt),
            FieldValue::TimestampWithTimeZone { value, timezone } => {
                json!({"value": datetime_json(value), "timezone": timezone})
            }
            FieldValue::BinaryGeometry { kind, value } => {
                json!({"type": kind, "value": bytes_json(value, false)})
            }
            FieldValue::BinaryObject { kind, value } => {
                let text = matches!(kind.as_str(), "TEXT" | "JSON" | "XML");
                json!({"type": kind, "value": bytes_json(value, text)})
            }
            FieldValue::TextGeometry { kind, value } | FieldValue::TextObject { kind, value } => {
                json!({"type": kind, "value": value})
            }
            FieldValue::EmptyObject(e) => Json::String(e.symbol().to_owned()),
        };
        let mut map = Map::new();
        map.insert(self.type_name().to_owned(), inner);
        Json::Object(map)
    }
}

/// Schema names of the image item union branches, by index.
pub(crate) const BRANCH_NAMES: [&str; 13] = [
    "null",
    "Integer",
    "Character",
    "Decimal",
    "Float",
    "Timestamp",
    "DateTime",
    "TimestampWithTimeZone",
    "BinaryGeometry",
    "TextGeometry",
    "BinaryObject",
    "TextObject",
    "EmptyObject",
];

fn encode_datetime(dt: &DateTime, out: &mut BytesMut) {
    for m in dt.members() {
        match m {
            None => out.put_u8(0),
            Some(v) => {
                out.put_u8(2);
                put_long(out, i64::from(v));
            }
        }
    }
}

fn datetime_json(dt: &DateTime) -> Json {
    json!({
        "year": dt.year, "month": dt.month, "day": dt.day, "hour": dt.hour,
        "minute": dt.minute, "second": dt.second, "millis": dt.millis,
    })
}

fn float_json(v: f64) -> Json {
    serde_json::Number::from_f64(v).map_or_else(|| Json::String(v.to_string()), Json::Number)
}

fn bytes_json(b: &[u8], text: bool) -> Json {
    if text && let Ok(s) = std::str::from_utf8(b) {
        return Json::String(s.to_owned());
    }
    json!({ "hex": hex(b) })
}

fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(DIGITS[usize::from(x >> 4)]));
        s.push(char::from(DIGITS[usize::from(x & 0xf)]));
    }
    s
}

impl Fields {
    fn encode(&self, out: &mut BytesMut) {
        match self {
            Fields::Null => out.put_u8(0),
            Fields::Text(t) => {
                out.put_u8(2);
                put_bytes(out, t.as_bytes());
            }
            Fields::List(list) => {
                out.put_u8(4);
                if !list.is_empty() {
                    put_len(out, list.len());
                    for f in list {
                        put_bytes(out, f.name.as_bytes());
                        put_long(out, i64::from(f.data_type_number));
                    }
                }
                out.put_u8(0);
            }
        }
    }

    fn to_json(&self) -> Json {
        match self {
            Fields::Null => Json::Null,
            Fields::Text(t) => Json::String(t.clone()),
            Fields::List(list) => list
                .iter()
                .map(|f| json!({"name": f.name, "dataTypeNumber": f.data_type_number}))
                .collect(),
        }
    }
}

impl Images {
    fn encode(&self, out: &mut BytesMut) {
        match self {
            Images::Null => out.put_u8(0),
            Images::Text(t) => {
                out.put_u8(2);
                put_bytes(out, t.as_bytes());
            }
            Images::Values(values) => {
                out.put_u8(4);
                if !values.is_empty() {
                    put_len(out, values.len());
                    for v in values {
                        v.encode(out);
                    }
                }
                out.put_u8(0);
            }
        }
    }

    fn to_json(&self) -> Json {
        match self {
            Images::Null => Json::Null,
            Images::Text(t) => Json::String(t.clone()),
            Images::Values(values) => values.iter().map(FieldValue::to_json).collect(),
        }
    }
}

impl DtsRecord {
    /// Decodes one message value: the Avro binary of one `Record`, nothing before or after it.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the field and byte offset when `value` is not exactly one valid
    /// record (truncated, bad union branch or enum ordinal, a length beyond the input, a string
    /// that is not UTF-8, bytes left over). Never panics, and never allocates more than a small
    /// multiple of `value.len()`.
    pub fn decode(value: &[u8]) -> Result<Self, DecodeError> {
        crate::decode::decode_record(value)
    }

    /// Appends the Avro binary of this record to `out` (the same bytes any Avro library writes
    /// for it, arrays and maps in one block).
    pub fn encode(&self, out: &mut BytesMut) {
        put_long(out, i64::from(self.version));
        put_long(out, self.id);
        put_long(out, self.source_timestamp);
        put_bytes(out, self.source_position.as_bytes());
        put_bytes(out, self.safe_source_position.as_bytes());
        put_bytes(out, self.source_txid.as_bytes());
        put_long(out, i64::from(self.source.source_type.ordinal()));
        put_bytes(out, self.source.version.as_bytes());
        put_long(out, i64::from(self.operation.ordinal()));
        match &self.object_name {
            None => out.put_u8(0),
            Some(name) => {
                out.put_u8(2);
                put_bytes(out, name.as_bytes());
            }
        }
        match &self.process_timestamps {
            None => out.put_u8(0),
            Some(ts) => {
                out.put_u8(2);
                if !ts.is_empty() {
                    put_len(out, ts.len());
                    for &t in ts {
                        put_long(out, t);
                    }
                }
                out.put_u8(0);
            }
        }
        if !self.tags.is_empty() {
            put_len(out, self.tags.len());
            for (k, v) in &self.tags {
                put_bytes(out, k.as_bytes());
                put_bytes(out, v.as_bytes());
            }
        }
        out.put_u8(0);
        self.fields.encode(out);
        self.before_images.encode(out);
        self.after_images.encode(out);
        put_long(out, self.born_timestamp);
    }

    /// The value of tag `key`, if present.
    #[must_use]
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `objectName` with `\u002E` turned back into `.`, split into database and table
    /// (`None` for the table of a DDL or marker record).
    #[must_use]
    pub fn db_table(&self) -> Option<(String, Option<String>)> {
        let name = self.object_name.as_deref()?;
        let mut parts = name.split('.').map(|p| p.replace("\\u002E", "."));
        let db = parts.next()?;
        Some((db, parts.next()))
    }

    /// A JSON object with every field, named as in the schema (`sourceTimestamp`, ...). Image
    /// items are shown as [`FieldValue::to_json`] describes.
    #[must_use]
    pub fn to_json(&self) -> Json {
        let tags: Map<String, Json> = self
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), Json::String(v.clone())))
            .collect();
        json!({
            "version": self.version,
            "id": self.id,
            "sourceTimestamp": self.source_timestamp,
            "sourcePosition": self.source_position,
            "safeSourcePosition": self.safe_source_position,
            "sourceTxid": self.source_txid,
            "source": {
                "sourceType": self.source.source_type.symbol(),
                "version": self.source.version,
            },
            "operation": self.operation.symbol(),
            "objectName": self.object_name,
            "processTimestamps": self.process_timestamps,
            "tags": tags,
            "fields": self.fields.to_json(),
            "beforeImages": self.before_images.to_json(),
            "afterImages": self.after_images.to_json(),
            "bornTimestamp": self.born_timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_ordinals_follow_the_schema() {
        assert_eq!(Operation::Insert.ordinal(), 0);
        assert_eq!(Operation::Ddl.ordinal(), 3);
        assert_eq!(Operation::Heartbeat.ordinal(), 8);
        assert_eq!(Operation::Init.ordinal(), 16);
        assert_eq!(Operation::count(), 17);
        assert_eq!(Operation::from_ordinal(16), Some(Operation::Init));
        assert_eq!(Operation::from_ordinal(17), None);
        assert_eq!(SourceType::MySql.symbol(), "MySQL");
        assert_eq!(SourceType::count(), 13);
        assert_eq!(EmptyObject::None.ordinal(), 1);
    }

    #[test]
    fn json_shows_text_as_text_and_binary_as_hex() {
        let text = FieldValue::Character {
            charset: "utf8mb4".into(),
            value: "héllo".into(),
        };
        assert_eq!(
            text.to_json(),
            json!({"Character": {"charset": "utf8mb4", "value": "héllo"}})
        );
        let bin = FieldValue::Character {
            charset: "binary".into(),
            value: vec![0, 0xab],
        };
        assert_eq!(
            bin.to_json(),
            json!({"Character": {"charset": "binary", "value": {"hex": "00ab"}}})
        );
        let nan = FieldValue::Float {
            value: f64::NAN,
            precision: -1,
            scale: -1,
        };
        assert_eq!(nan.to_json()["Float"]["value"], "NaN");
        assert_eq!(FieldValue::Null.to_json(), Json::Null);
        assert_eq!(
            FieldValue::EmptyObject(EmptyObject::None).to_json(),
            json!({"EmptyObject": "NONE"})
        );
    }

    #[test]
    fn db_table_unescapes_dots() {
        let mut r = crate::decode::tests::minimal();
        r.object_name = Some("my\\u002Edb.t\\u002E1".into());
        assert_eq!(
            r.db_table(),
            Some(("my.db".to_owned(), Some("t.1".to_owned())))
        );
    }
}
