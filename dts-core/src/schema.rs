//! Tables and columns: [`TableId`], [`ColumnDef`], [`ColumnType`], [`TableSchema`].

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A table, named by its database (schema) and table name, exactly as the server spells them.
///
/// Cheap to clone: one shared allocation (every record carries its table's id, and a clone
/// is one reference count, not two).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "TableNames", into = "TableNames")]
pub struct TableId(Arc<TableNames>);

/// The two names of a [`TableId`] (also its serialized form: `{"db": …, "table": …}`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
struct TableNames {
    db: Box<str>,
    table: Box<str>,
}

impl From<TableNames> for TableId {
    fn from(names: TableNames) -> Self {
        Self(Arc::new(names))
    }
}

impl From<TableId> for TableNames {
    fn from(id: TableId) -> Self {
        Arc::unwrap_or_clone(id.0)
    }
}

impl TableId {
    /// A table `db`.`table`.
    pub fn new(db: impl AsRef<str>, table: impl AsRef<str>) -> Self {
        Self(Arc::new(TableNames {
            db: db.as_ref().into(),
            table: table.as_ref().into(),
        }))
    }

    /// The database name.
    #[must_use]
    pub fn db(&self) -> &str {
        &self.0.db
    }

    /// The table name.
    #[must_use]
    pub fn table(&self) -> &str {
        &self.0.table
    }
}

impl fmt::Debug for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableId")
            .field("db", &self.db())
            .field("table", &self.table())
            .finish()
    }
}

/// `db.table`, unescaped (a `.` inside a name is not distinguishable here; codecs escape).
impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.db(), self.table())
    }
}

/// The declared SQL type of a column, one variant per MySQL/MariaDB type name.
///
/// The wire type of the binlog (`MYSQL_TYPE_*`) is coarser (TEXT and BLOB share one code, ENUM
/// hides in STRING); this is what `information_schema.COLUMNS.DATA_TYPE` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ColumnType {
    /// `TINYINT` (1 byte). `BOOL` is `TINYINT(1)`.
    TinyInt,
    /// `SMALLINT` (2 bytes).
    SmallInt,
    /// `MEDIUMINT` (3 bytes).
    MediumInt,
    /// `INT` (4 bytes).
    Int,
    /// `BIGINT` (8 bytes).
    BigInt,
    /// `DECIMAL(M,D)`: exact, up to 65 digits.
    Decimal,
    /// `FLOAT` (4-byte IEEE).
    Float,
    /// `DOUBLE` (8-byte IEEE).
    Double,
    /// `BIT(M)`, M in 1..=64.
    Bit,
    /// `YEAR`.
    Year,
    /// `DATE`.
    Date,
    /// `TIME(fsp)`: -838:59:59 to 838:59:59.
    Time,
    /// `DATETIME(fsp)`.
    DateTime,
    /// `TIMESTAMP(fsp)`: UTC seconds.
    Timestamp,
    /// `CHAR(N)` with a character set.
    Char,
    /// `VARCHAR(N)` with a character set.
    VarChar,
    /// `BINARY(N)`.
    Binary,
    /// `VARBINARY(N)`.
    VarBinary,
    /// `TINYTEXT`.
    TinyText,
    /// `TEXT`.
    Text,
    /// `MEDIUMTEXT`.
    MediumText,
    /// `LONGTEXT`.
    LongText,
    /// `TINYBLOB`.
    TinyBlob,
    /// `BLOB`.
    Blob,
    /// `MEDIUMBLOB`.
    MediumBlob,
    /// `LONGBLOB`.
    LongBlob,
    /// `ENUM(...)`.
    Enum,
    /// `SET(...)`.
    Set,
    /// `JSON` (MySQL binary JSON; on MariaDB an alias of LONGTEXT with a JSON check).
    Json,
    /// `GEOMETRY` and every spatial type (POINT, POLYGON, ...).
    Geometry,
    /// `VECTOR(N)` (MySQL 9 / MariaDB 11.7).
    Vector,
}

impl ColumnType {
    /// The classic MySQL field type code (`MYSQL_TYPE_*`) that DTS reports as `dataTypeNumber`.
    ///
    /// Fractional temporal types report their classic codes (7, 11, 12), never 17/18/19.
    #[must_use]
    pub fn type_code(self) -> u8 {
        match self {
            ColumnType::TinyInt => 1,
            ColumnType::SmallInt => 2,
            ColumnType::Int => 3,
            ColumnType::Float => 4,
            ColumnType::Double => 5,
            ColumnType::Timestamp => 7,
            ColumnType::BigInt => 8,
            ColumnType::MediumInt => 9,
            ColumnType::Date => 10,
            ColumnType::Time => 11,
            ColumnType::DateTime => 12,
            ColumnType::Year => 13,
            ColumnType::Bit => 16,
            ColumnType::Vector => 242,
            ColumnType::Json => 245,
            ColumnType::Decimal => 246,
            ColumnType::Enum => 247,
            ColumnType::Set => 248,
            ColumnType::TinyBlob | ColumnType::TinyText => 249,
            ColumnType::MediumBlob | ColumnType::MediumText => 250,
            ColumnType::LongBlob | ColumnType::LongText => 251,
            ColumnType::Blob | ColumnType::Text => 252,
            ColumnType::VarChar | ColumnType::VarBinary => 253,
            ColumnType::Char | ColumnType::Binary => 254,
            ColumnType::Geometry => 255,
        }
    }

    /// Parses `information_schema.COLUMNS.DATA_TYPE` (case-insensitive), e.g. `"varchar"`,
    /// `"point"`, `"bool"`.
    #[must_use]
    pub fn from_data_type(name: &str) -> Option<Self> {
        let lower = name.trim().to_ascii_lowercase();
        Some(match lower.as_str() {
            "tinyint" | "bool" | "boolean" => ColumnType::TinyInt,
            "smallint" => ColumnType::SmallInt,
            "mediumint" => ColumnType::MediumInt,
            "int" | "integer" => ColumnType::Int,
            "bigint" => ColumnType::BigInt,
            "decimal" | "numeric" | "dec" | "fixed" => ColumnType::Decimal,
            "float" => ColumnType::Float,
            "double" | "real" | "double precision" => ColumnType::Double,
            "bit" => ColumnType::Bit,
            "year" => ColumnType::Year,
            "date" => ColumnType::Date,
            "time" => ColumnType::Time,
            "datetime" => ColumnType::DateTime,
            "timestamp" => ColumnType::Timestamp,
            "char" => ColumnType::Char,
            "varchar" => ColumnType::VarChar,
            "binary" => ColumnType::Binary,
            "varbinary" => ColumnType::VarBinary,
            "tinytext" => ColumnType::TinyText,
            "text" => ColumnType::Text,
            "mediumtext" => ColumnType::MediumText,
            "longtext" => ColumnType::LongText,
            "tinyblob" => ColumnType::TinyBlob,
            "blob" => ColumnType::Blob,
            "mediumblob" => ColumnType::MediumBlob,
            "longblob" => ColumnType::LongBlob,
            "enum" => ColumnType::Enum,
            "set" => ColumnType::Set,
            "json" => ColumnType::Json,
            "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
            | "multipolygon" | "geometrycollection" | "geomcollection" => ColumnType::Geometry,
            "vector" => ColumnType::Vector,
            _ => return None,
        })
    }

    /// Integer types (TINYINT to BIGINT).
    #[must_use]
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            ColumnType::TinyInt
                | ColumnType::SmallInt
                | ColumnType::MediumInt
                | ColumnType::Int
                | ColumnType::BigInt
        )
    }

    /// Character types whose values are text in the column's charset (CHAR, VARCHAR, TEXT family).
    #[must_use]
    pub fn is_text(self) -> bool {
        matches!(
            self,
            ColumnType::Char
                | ColumnType::VarChar
                | ColumnType::TinyText
                | ColumnType::Text
                | ColumnType::MediumText
                | ColumnType::LongText
        )
    }
}

/// One column of a table, with every attribute of its MySQL type.
///
/// Plain data: the source fills it from `information_schema` and keeps it current with DDL.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ColumnDef {
    /// The column name.
    pub name: String,
    /// The declared type.
    pub ty: ColumnType,
    /// `UNSIGNED` (integers, DECIMAL, FLOAT, DOUBLE).
    pub unsigned: bool,
    /// `NULL` allowed.
    pub nullable: bool,
    /// The character set of text columns (`utf8mb4`, `latin1`, ...); `None` for others.
    pub charset: Option<String>,
    /// The collation of text columns; `None` for others.
    pub collation: Option<String>,
    /// Declared length: characters for CHAR/VARCHAR/TEXT, bytes for BINARY/VARBINARY/BLOB, bits
    /// for BIT, dimensions for VECTOR.
    pub length: Option<u64>,
    /// DECIMAL precision M, or FLOAT/DOUBLE precision when declared.
    pub precision: Option<u32>,
    /// DECIMAL scale D, or FLOAT/DOUBLE scale when declared.
    pub scale: Option<u32>,
    /// Fractional seconds precision (0..=6) of TIME, DATETIME, TIMESTAMP.
    pub fsp: Option<u8>,
    /// The labels of ENUM and SET, in declaration order (ENUM index 1 is `labels[0]`).
    pub labels: Vec<String>,
    /// The full declared type, e.g. `int(10) unsigned` (`information_schema.COLUMNS.COLUMN_TYPE`).
    pub column_type: String,
}

impl ColumnDef {
    /// A column with the given name and type and every other attribute empty (nullable, signed).
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Self {
        Self {
            name: name.into(),
            ty,
            unsigned: false,
            nullable: true,
            charset: None,
            collation: None,
            length: None,
            precision: None,
            scale: None,
            fsp: None,
            labels: Vec::new(),
            column_type: String::new(),
        }
    }

    /// The label of ENUM value `index` (1-based; 0 is MySQL's empty error value).
    #[must_use]
    pub fn enum_label(&self, index: u16) -> Option<&str> {
        let i = usize::from(index).checked_sub(1)?;
        self.labels.get(i).map(String::as_str)
    }

    /// The labels of the SET bits in `bits`, in declaration order; `None` when a bit has no
    /// label.
    #[must_use]
    pub fn set_labels(&self, bits: u64) -> Option<Vec<&str>> {
        if self.labels.len() < 64 && bits >> self.labels.len() != 0 {
            return None;
        }
        Some(
            self.labels
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1u64 << i) != 0)
                .map(|(_, l)| l.as_str())
                .collect(),
        )
    }
}

/// A named key (primary or unique) of a table, as column indexes into [`TableSchema::columns`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyDef {
    /// The index name (`PRIMARY` for the primary key).
    pub name: String,
    /// Column indexes, in key order.
    pub columns: Vec<usize>,
}

/// The definition of a table at one point of its history.
///
/// The [`version`](Self::version) is derived from the column list and keys, so it changes
/// whenever they change and is the same for the same definition in every process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    id: TableId,
    columns: Vec<ColumnDef>,
    primary_key: Option<KeyDef>,
    unique_keys: Vec<KeyDef>,
    version: u64,
}

/// A key refers to a column the table does not have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("key {key} of {table} refers to column #{column}, but the table has {columns} columns")]
pub struct InvalidKey {
    /// The table.
    pub table: String,
    /// The key name.
    pub key: String,
    /// The bad column index.
    pub column: usize,
    /// The number of columns.
    pub columns: usize,
}

impl TableSchema {
    /// A table definition.
    ///
    /// # Errors
    /// [`InvalidKey`] when a key names a column index out of range.
    pub fn new(
        id: TableId,
        columns: Vec<ColumnDef>,
        primary_key: Option<KeyDef>,
        unique_keys: Vec<KeyDef>,
    ) -> Result<Self, InvalidKey> {
        for key in primary_key.iter().chain(&unique_keys) {
            if let Some(&column) = key.columns.iter().find(|&&c| c >= columns.len()) {
                return Err(InvalidKey {
                    table: id.to_string(),
                    key: key.name.clone(),
                    column,
                    columns: columns.len(),
                });
            }
        }
        let version = definition_hash(&columns, primary_key.as_ref(), &unique_keys);
        Ok(Self {
            id,
            columns,
            primary_key,
            unique_keys,
            version,
        })
    }

    /// The table.
    #[must_use]
    pub fn id(&self) -> &TableId {
        &self.id
    }

    /// The columns in table order.
    #[must_use]
    pub fn columns(&self) -> &[ColumnDef] {
        &self.columns
    }

    /// The primary key, if any.
    #[must_use]
    pub fn primary_key(&self) -> Option<&KeyDef> {
        self.primary_key.as_ref()
    }

    /// The unique keys (other than the primary key), in index order.
    #[must_use]
    pub fn unique_keys(&self) -> &[KeyDef] {
        &self.unique_keys
    }

    /// The key that identifies a row: the primary key, else the first unique key whose columns
    /// are all `NOT NULL`, else the first unique key; `None` for a table without keys.
    #[must_use]
    pub fn row_key(&self) -> Option<&KeyDef> {
        self.primary_key.as_ref().or_else(|| {
            self.unique_keys
                .iter()
                .find(|k| {
                    k.columns
                        .iter()
                        .all(|&c| self.columns.get(c).is_some_and(|c| !c.nullable))
                })
                .or_else(|| self.unique_keys.first())
        })
    }

    /// The definition version: changes whenever columns or keys change.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The column called `name` (exact match), with its index.
    #[must_use]
    pub fn column(&self, name: &str) -> Option<(usize, &ColumnDef)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }
}

/// FNV-1a over a canonical rendering of the definition: stable across processes and releases
/// (unlike `std::hash`), so a restarted task reports the same version for the same table.
fn definition_hash(columns: &[ColumnDef], pk: Option<&KeyDef>, uks: &[KeyDef]) -> u64 {
    struct Fnv(u64);
    impl Fnv {
        fn bytes(&mut self, b: &[u8]) {
            for &x in b {
                self.0 ^= u64::from(x);
                self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
            }
            // A separator so that ("ab","c") and ("a","bc") differ.
            self.0 ^= 0xff;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        fn num(&mut self, n: u64) {
            self.bytes(&n.to_le_bytes());
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    for c in columns {
        h.bytes(c.name.as_bytes());
        h.num(u64::from(c.ty.type_code()));
        h.bytes(format!("{:?}", c.ty).as_bytes());
        h.num(u64::from(c.unsigned) | u64::from(c.nullable) << 1);
        h.bytes(c.charset.as_deref().unwrap_or("").as_bytes());
        h.bytes(c.collation.as_deref().unwrap_or("").as_bytes());
        h.num(c.length.unwrap_or(u64::MAX));
        h.num(c.precision.map_or(u64::MAX, u64::from));
        h.num(c.scale.map_or(u64::MAX, u64::from));
        h.num(c.fsp.map_or(u64::MAX, u64::from));
        for l in &c.labels {
            h.bytes(l.as_bytes());
        }
        h.bytes(c.column_type.as_bytes());
    }
    for k in pk.into_iter().chain(uks) {
        h.bytes(k.name.as_bytes());
        for &c in &k.columns {
            h.num(c as u64);
        }
    }
    h.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_id_serializes_as_two_names_and_compares_by_them() {
        let id = TableId::new("shop", "orders");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, r#"{"db":"shop","table":"orders"}"#);
        let back: TableId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert_eq!(
            format!("{back:?}"),
            r#"TableId { db: "shop", table: "orders" }"#
        );
        assert!(TableId::new("a", "z") < TableId::new("b", "a"));
        assert!(TableId::new("a", "a") < TableId::new("a", "b"));
    }

    fn table(cols: &[(&str, ColumnType)]) -> TableSchema {
        let columns = cols.iter().map(|(n, t)| ColumnDef::new(*n, *t)).collect();
        TableSchema::new(
            TableId::new("db", "t"),
            columns,
            Some(KeyDef {
                name: "PRIMARY".into(),
                columns: vec![0],
            }),
            vec![],
        )
        .unwrap()
    }

    #[test]
    fn version_changes_with_columns_and_is_stable() {
        let a = table(&[("id", ColumnType::BigInt), ("b", ColumnType::VarChar)]);
        let same = table(&[("id", ColumnType::BigInt), ("b", ColumnType::VarChar)]);
        let added = table(&[
            ("id", ColumnType::BigInt),
            ("b", ColumnType::VarChar),
            ("c", ColumnType::Int),
        ]);
        let reordered = table(&[("b", ColumnType::VarChar), ("id", ColumnType::BigInt)]);
        let retyped = table(&[("id", ColumnType::BigInt), ("b", ColumnType::Text)]);
        let renamed = table(&[("id", ColumnType::BigInt), ("bb", ColumnType::VarChar)]);
        assert_eq!(a.version(), same.version());
        for other in [&added, &reordered, &retyped, &renamed] {
            assert_ne!(a.version(), other.version());
        }
    }

    #[test]
    fn keys_out_of_range_are_refused() {
        let err = TableSchema::new(
            TableId::new("db", "t"),
            vec![ColumnDef::new("a", ColumnType::Int)],
            Some(KeyDef {
                name: "PRIMARY".into(),
                columns: vec![1],
            }),
            vec![],
        )
        .unwrap_err();
        assert!(err.to_string().contains("db.t"), "{err}");
    }

    #[test]
    fn row_key_prefers_pk_then_not_null_unique() {
        let mut a = ColumnDef::new("a", ColumnType::Int);
        a.nullable = true;
        let mut b = ColumnDef::new("b", ColumnType::Int);
        b.nullable = false;
        let uk_a = KeyDef {
            name: "uk_a".into(),
            columns: vec![0],
        };
        let uk_b = KeyDef {
            name: "uk_b".into(),
            columns: vec![1],
        };
        let t =
            TableSchema::new(TableId::new("d", "t"), vec![a, b], None, vec![uk_a, uk_b]).unwrap();
        assert_eq!(t.row_key().unwrap().name, "uk_b");
    }

    #[test]
    fn enum_and_set_labels() {
        let mut c = ColumnDef::new("e", ColumnType::Set);
        c.labels = vec!["a".into(), "b".into(), "c".into()];
        assert_eq!(c.set_labels(0b101).unwrap(), vec!["a", "c"]);
        assert_eq!(c.set_labels(0b1000), None);
        assert_eq!(c.enum_label(2), Some("b"));
        assert_eq!(c.enum_label(0), None);
        assert_eq!(c.enum_label(4), None);
    }

    #[test]
    fn data_type_names() {
        assert_eq!(
            ColumnType::from_data_type("POINT"),
            Some(ColumnType::Geometry)
        );
        assert_eq!(
            ColumnType::from_data_type("mediumint"),
            Some(ColumnType::MediumInt)
        );
        assert_eq!(ColumnType::from_data_type("nope"), None);
        assert_eq!(ColumnType::Text.type_code(), 252);
        assert_eq!(ColumnType::Timestamp.type_code(), 7);
    }
}
