//! TABLE_MAP_EVENT (19): binds a table id to a table's column types for the rows events that
//! follow.
//!
//! Post-header: | 6 table id (4 in old formats) | 2 flags |.
//! Body: | 1 db length | db | NUL | 1 table length | table | NUL | lenenc column count |
//! count × 1 column type | lenenc metadata length | per-column metadata | null bitmap |
//! optional metadata TLVs (MySQL 8.0.1+, MariaDB 10.5+: `binlog_row_metadata`) |.
//!
//! Per-column metadata: FLOAT/DOUBLE/BLOB/GEOMETRY/JSON/VECTOR 1 byte (pack length);
//! VARCHAR 2 bytes LE (max length); BIT 2 bytes (bits mod 8, bytes); NEWDECIMAL 2 bytes
//! (precision, scale); STRING/ENUM/SET 2 bytes (real type, length) with CHAR > 255 encoded in
//! the type byte; TIME2/DATETIME2/TIMESTAMP2 1 byte (fsp).
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/classmysql_1_1binlog_1_1event_1_1Table__map__event.html>

use bytes::Bytes;

use crate::binlog::error::{DecodeError, DecodeResult};
use crate::binlog::reader::{Reader, to_usize};

/// `MYSQL_TYPE_*` codes used in TABLE_MAP and rows events.
#[allow(missing_docs)]
pub mod types {
    pub const DECIMAL: u8 = 0;
    pub const TINY: u8 = 1;
    pub const SHORT: u8 = 2;
    pub const LONG: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const NULL: u8 = 6;
    pub const TIMESTAMP: u8 = 7;
    pub const LONGLONG: u8 = 8;
    pub const INT24: u8 = 9;
    pub const DATE: u8 = 10;
    pub const TIME: u8 = 11;
    pub const DATETIME: u8 = 12;
    pub const YEAR: u8 = 13;
    pub const NEWDATE: u8 = 14;
    pub const VARCHAR: u8 = 15;
    pub const BIT: u8 = 16;
    pub const TIMESTAMP2: u8 = 17;
    pub const DATETIME2: u8 = 18;
    pub const TIME2: u8 = 19;
    pub const TYPED_ARRAY: u8 = 20;
    pub const VECTOR: u8 = 242;
    pub const JSON: u8 = 245;
    pub const NEWDECIMAL: u8 = 246;
    pub const ENUM: u8 = 247;
    pub const SET: u8 = 248;
    pub const TINY_BLOB: u8 = 249;
    pub const MEDIUM_BLOB: u8 = 250;
    pub const LONG_BLOB: u8 = 251;
    pub const BLOB: u8 = 252;
    pub const VAR_STRING: u8 = 253;
    pub const STRING: u8 = 254;
    pub const GEOMETRY: u8 = 255;
}

/// How one column's value is laid out in row images (decoded once from TABLE_MAP metadata).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColumnKind {
    /// TINYINT (1 byte).
    Tiny,
    /// SMALLINT (2 bytes).
    Short,
    /// MEDIUMINT (3 bytes).
    Int24,
    /// INT (4 bytes).
    Long,
    /// BIGINT (8 bytes).
    LongLong,
    /// FLOAT.
    Float,
    /// DOUBLE.
    Double,
    /// YEAR (1 byte).
    Year,
    /// DATE (3 bytes).
    Date,
    /// Old TIME (3 bytes).
    Time,
    /// TIME2 with fsp.
    Time2 {
        /// Fractional seconds precision.
        fsp: u8,
    },
    /// Old DATETIME (8 bytes).
    DateTime,
    /// DATETIME2 with fsp.
    DateTime2 {
        /// Fractional seconds precision.
        fsp: u8,
    },
    /// Old TIMESTAMP (4 bytes).
    Timestamp,
    /// TIMESTAMP2 with fsp.
    Timestamp2 {
        /// Fractional seconds precision.
        fsp: u8,
    },
    /// DECIMAL (binary).
    NewDecimal {
        /// Precision (digits).
        precision: u8,
        /// Scale.
        scale: u8,
    },
    /// BIT(M): big-endian, `bytes` long.
    Bit {
        /// Declared bits.
        bits: u16,
        /// Storage bytes.
        bytes: u8,
    },
    /// ENUM: index in `pack` bytes.
    Enum {
        /// 1 or 2.
        pack: u8,
    },
    /// SET: bitmap in `pack` bytes.
    Set {
        /// 1..=8.
        pack: u8,
    },
    /// CHAR/BINARY (STRING): length prefix of `len_bytes`.
    String {
        /// 1 or 2.
        len_bytes: u8,
        /// Declared maximum length in bytes.
        max_len: u16,
    },
    /// VARCHAR/VARBINARY: length prefix of `len_bytes`.
    VarString {
        /// 1 or 2.
        len_bytes: u8,
        /// Declared maximum length in bytes.
        max_len: u16,
    },
    /// BLOB/TEXT family: length prefix of `len_bytes` (1 TINY, 2 BLOB, 3 MEDIUM, 4 LONG).
    Blob {
        /// 1..=4.
        len_bytes: u8,
    },
    /// JSON (binary): length prefix of `len_bytes`.
    Json {
        /// 1..=4.
        len_bytes: u8,
    },
    /// GEOMETRY: length prefix of `len_bytes`.
    Geometry {
        /// 1..=4.
        len_bytes: u8,
    },
    /// VECTOR: length prefix of `len_bytes`.
    Vector {
        /// 1..=4.
        len_bytes: u8,
    },
    /// MYSQL_TYPE_NULL: no data.
    Null,
    /// A type row images cannot carry (pre-5.0 DECIMAL, TYPED_ARRAY, unknown codes).
    Unsupported(u8),
}

/// One column of a TABLE_MAP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnMeta {
    /// Type code as written in the TABLE_MAP (`STRING` for ENUM/SET too).
    pub wire_type: u8,
    /// The real type (`ENUM`/`SET`/`STRING` resolved from STRING metadata).
    pub real_type: u8,
    /// Raw metadata (0 when the type has none).
    pub meta: u16,
    /// The column may be NULL.
    pub nullable: bool,
    /// Value layout.
    pub kind: ColumnKind,
}

/// Optional metadata (`binlog_row_metadata=FULL` or MINIMAL).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OptionalMetadata {
    /// Per column: `Some(true)` unsigned, `Some(false)` signed; `None` for non-numeric columns.
    pub unsigned: Option<Vec<Option<bool>>>,
    /// Per column: the collation id of character, ENUM and SET columns.
    pub collations: Option<Vec<Option<u16>>>,
    /// Column names.
    pub column_names: Option<Vec<Bytes>>,
    /// Per ENUM column (in column order), its labels.
    pub enum_values: Option<Vec<Vec<Bytes>>>,
    /// Per SET column (in column order), its labels.
    pub set_values: Option<Vec<Vec<Bytes>>>,
    /// Per GEOMETRY column, its geometry type.
    pub geometry_types: Option<Vec<u64>>,
    /// Primary key columns, with the prefix length (0 = whole column).
    pub primary_key: Option<Vec<(usize, u64)>>,
    /// Per column: visible (`true`) or INVISIBLE.
    pub visibility: Option<Vec<bool>>,
    /// Per VECTOR column, its dimensions.
    pub vector_dimensions: Option<Vec<u64>>,
}

/// A TABLE_MAP event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMapEvent {
    /// The id rows events refer to.
    pub table_id: u64,
    /// Flags.
    pub flags: u16,
    /// Database name.
    pub schema: Bytes,
    /// Table name.
    pub table: Bytes,
    /// The columns.
    pub columns: Vec<ColumnMeta>,
    /// Optional metadata.
    pub optional: OptionalMetadata,
}

fn is_numeric(t: u8) -> bool {
    use types::*;
    matches!(
        t,
        TINY | SHORT | INT24 | LONG | LONGLONG | NEWDECIMAL | FLOAT | DOUBLE
    )
}

/// Columns the charset metadata lists (MySQL 9 counts VECTOR, a binary string, among them).
fn is_character(t: u8) -> bool {
    use types::*;
    matches!(
        t,
        STRING | VAR_STRING | VARCHAR | BLOB | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | VECTOR
    )
}

fn is_enum_or_set(t: u8) -> bool {
    t == types::ENUM || t == types::SET
}

/// Reads one column's metadata and works out its layout.
fn column_meta(r: &mut Reader, wire_type: u8) -> DecodeResult<(u16, u8, ColumnKind)> {
    use types::*;
    let at = r.offset();
    let bad = |why| DecodeError::invalid("table_map.column_metadata", at, why);
    let len_bytes = |n: u16| -> DecodeResult<u8> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=4).contains(n))
            .ok_or_else(|| bad("length-prefix size outside 1..=4"))
    };
    Ok(match wire_type {
        TINY => (0, wire_type, ColumnKind::Tiny),
        SHORT => (0, wire_type, ColumnKind::Short),
        INT24 => (0, wire_type, ColumnKind::Int24),
        LONG => (0, wire_type, ColumnKind::Long),
        LONGLONG => (0, wire_type, ColumnKind::LongLong),
        YEAR => (0, wire_type, ColumnKind::Year),
        DATE | NEWDATE => (0, wire_type, ColumnKind::Date),
        TIME => (0, wire_type, ColumnKind::Time),
        DATETIME => (0, wire_type, ColumnKind::DateTime),
        TIMESTAMP => (0, wire_type, ColumnKind::Timestamp),
        NULL => (0, wire_type, ColumnKind::Null),
        FLOAT | DOUBLE => {
            let m = r.try_u8("table_map.float_meta")?;
            (
                u16::from(m),
                wire_type,
                if wire_type == FLOAT {
                    ColumnKind::Float
                } else {
                    ColumnKind::Double
                },
            )
        }
        TIMESTAMP2 | DATETIME2 | TIME2 => {
            let fsp = r.try_u8("table_map.fsp")?;
            if fsp > 6 {
                return Err(bad("fractional seconds precision above 6"));
            }
            let kind = match wire_type {
                TIMESTAMP2 => ColumnKind::Timestamp2 { fsp },
                DATETIME2 => ColumnKind::DateTime2 { fsp },
                _ => ColumnKind::Time2 { fsp },
            };
            (u16::from(fsp), wire_type, kind)
        }
        BLOB | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | GEOMETRY | JSON | VECTOR => {
            let m = r.try_u8("table_map.blob_meta")?;
            let n = len_bytes(u16::from(m))?;
            let kind = match wire_type {
                GEOMETRY => ColumnKind::Geometry { len_bytes: n },
                JSON => ColumnKind::Json { len_bytes: n },
                VECTOR => ColumnKind::Vector { len_bytes: n },
                _ => ColumnKind::Blob { len_bytes: n },
            };
            (u16::from(m), wire_type, kind)
        }
        VARCHAR | VAR_STRING => {
            let max_len = r.try_u16("table_map.varchar_meta")?;
            let len_bytes = if max_len < 256 { 1 } else { 2 };
            (
                max_len,
                wire_type,
                ColumnKind::VarString { len_bytes, max_len },
            )
        }
        BIT => {
            let bits_mod = r.try_u8("table_map.bit_meta")?;
            let bytes = r.try_u8("table_map.bit_meta")?;
            if bits_mod > 7 || bytes > 8 || (bytes == 8 && bits_mod > 0) {
                return Err(bad("BIT wider than 64 bits"));
            }
            // bytes ≤ 8 and bits_mod ≤ 7, checked above.
            let bits = u16::from(bytes)
                .saturating_mul(8)
                .saturating_add(u16::from(bits_mod));
            let storage = bytes.saturating_add(u8::from(bits_mod > 0));
            (
                u16::from(bytes) << 8 | u16::from(bits_mod),
                wire_type,
                ColumnKind::Bit {
                    bits,
                    bytes: storage,
                },
            )
        }
        NEWDECIMAL => {
            let precision = r.try_u8("table_map.decimal_meta")?;
            let scale = r.try_u8("table_map.decimal_meta")?;
            crate::binlog::decimal::binary_size(precision, scale).map_err(bad)?;
            (
                u16::from(precision) << 8 | u16::from(scale),
                wire_type,
                ColumnKind::NewDecimal { precision, scale },
            )
        }
        STRING | ENUM | SET => {
            let b0 = r.try_u8("table_map.string_meta")?;
            let b1 = r.try_u8("table_map.string_meta")?;
            let meta = u16::from(b0) << 8 | u16::from(b1);
            // CHAR(N) with N*maxlen > 255 hides bits 8–9 of the length in the type byte.
            let (real, len) = if b0 != 0 && b0 & 0x30 != 0x30 {
                (
                    b0 | 0x30,
                    u16::from((b0 & 0x30) ^ 0x30) << 4 | u16::from(b1),
                )
            } else {
                (if b0 == 0 { wire_type } else { b0 }, u16::from(b1))
            };
            let kind = match real {
                ENUM => ColumnKind::Enum {
                    pack: u8::try_from(len)
                        .ok()
                        .filter(|p| (1..=2).contains(p))
                        .ok_or_else(|| bad("ENUM pack length outside 1..=2"))?,
                },
                SET => ColumnKind::Set {
                    pack: u8::try_from(len)
                        .ok()
                        .filter(|p| (1..=8).contains(p))
                        .ok_or_else(|| bad("SET pack length outside 1..=8"))?,
                },
                _ => ColumnKind::String {
                    len_bytes: if len < 256 { 1 } else { 2 },
                    max_len: len,
                },
            };
            (meta, real, kind)
        }
        other => (0, other, ColumnKind::Unsupported(other)),
    })
}

/// Reads a big-endian-bit-order bitmap of `n` bits (optional metadata style).
fn msb_bits(data: &[u8], n: usize) -> impl Iterator<Item = bool> + '_ {
    (0..n).map(move |i| data.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0))
}

impl TableMapEvent {
    /// The same map with every name copied out of the packet it was decoded from. A map kept
    /// for the rest of the stream must not hold on to that packet: packets are slices of a
    /// shared read buffer, so one kept name would keep a whole buffer alive.
    #[must_use]
    pub fn detached(&self) -> Self {
        let own = |b: &Bytes| Bytes::copy_from_slice(b);
        let own_all = |v: &Vec<Bytes>| v.iter().map(own).collect::<Vec<_>>();
        let o = &self.optional;
        Self {
            schema: own(&self.schema),
            table: own(&self.table),
            optional: OptionalMetadata {
                column_names: o.column_names.as_ref().map(own_all),
                enum_values: o
                    .enum_values
                    .as_ref()
                    .map(|v| v.iter().map(own_all).collect()),
                set_values: o
                    .set_values
                    .as_ref()
                    .map(|v| v.iter().map(own_all).collect()),
                ..o.clone()
            },
            ..self.clone()
        }
    }

    /// Decodes the body (`post_header_len` 6 for the old 4-byte table id, else 8).
    ///
    /// # Errors
    /// Truncated or malformed input; column counts the event cannot hold.
    pub fn decode(r: &mut Reader, post_header_len: u8) -> DecodeResult<Self> {
        let table_id = if post_header_len == 6 {
            u64::from(r.try_u32("table_map.table_id")?)
        } else {
            r.try_u48("table_map.table_id")?
        };
        let flags = r.try_u16("table_map.flags")?;
        let extra = usize::from(post_header_len).saturating_sub(8);
        r.try_skip(extra, "table_map.post_header")?;
        let n = r.try_u8("table_map.db_len")?;
        let schema = r.try_bytes(usize::from(n), "table_map.db")?;
        r.try_skip(1, "table_map.db_nul")?;
        let n = r.try_u8("table_map.table_len")?;
        let table = r.try_bytes(usize::from(n), "table_map.table")?;
        r.try_skip(1, "table_map.table_nul")?;
        let count = r.try_lenenc_len("table_map.column_count")?;
        let types = r.try_bytes(count, "table_map.column_types")?;
        let meta_len = r.try_lenenc_len("table_map.metadata_len")?;
        let mut meta_r = r.try_sub(meta_len, "table_map.metadata")?;
        let mut columns = Vec::with_capacity(count);
        for &t in &types {
            let (meta, real_type, kind) = column_meta(&mut meta_r, t)?;
            columns.push(ColumnMeta {
                wire_type: t,
                real_type,
                meta,
                nullable: false,
                kind,
            });
        }
        if !meta_r.is_empty() {
            return Err(meta_r.invalid("table_map.metadata", "longer than the columns need"));
        }
        let nulls = r.try_slice(count.div_ceil(8), "table_map.null_bitmap")?;
        for (i, c) in columns.iter_mut().enumerate() {
            c.nullable = nulls.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
        }
        let optional = decode_optional(r, &columns)?;
        Ok(Self {
            table_id,
            flags,
            schema,
            table,
            columns,
            optional,
        })
    }

    /// `db.table` (lossy UTF-8), for messages.
    #[must_use]
    pub fn name(&self) -> String {
        format!(
            "{}.{}",
            String::from_utf8_lossy(&self.schema),
            String::from_utf8_lossy(&self.table)
        )
    }
}

fn decode_optional(r: &mut Reader, columns: &[ColumnMeta]) -> DecodeResult<OptionalMetadata> {
    let mut m = OptionalMetadata::default();
    let n_numeric = columns.iter().filter(|c| is_numeric(c.real_type)).count();
    let character: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| is_character(c.real_type))
        .map(|(i, _)| i)
        .collect();
    let enum_set: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| is_enum_or_set(c.real_type))
        .map(|(i, _)| i)
        .collect();
    while !r.is_empty() {
        let kind = r.try_u8("table_map.optional.type")?;
        let len = r.try_lenenc_len("table_map.optional.length")?;
        let mut f = r.try_sub(len, "table_map.optional.value")?;
        match kind {
            1 => {
                let bits = f.try_slice(n_numeric.div_ceil(8), "SIGNEDNESS")?;
                let mut it = msb_bits(bits, n_numeric);
                m.unsigned = Some(
                    columns
                        .iter()
                        .map(|c| {
                            if is_numeric(c.real_type) {
                                it.next()
                            } else {
                                None
                            }
                        })
                        .collect(),
                );
            }
            2 | 10 => {
                // DEFAULT_CHARSET / ENUM_AND_SET_DEFAULT_CHARSET: default, then (index, collation).
                let targets = if kind == 2 { &character } else { &enum_set };
                let default = collation(&mut f)?;
                let mut per: Vec<Option<u16>> = m
                    .collations
                    .take()
                    .unwrap_or_else(|| vec![None; columns.len()]);
                for &c in targets {
                    if let Some(slot) = per.get_mut(c) {
                        *slot = Some(default);
                    }
                }
                while !f.is_empty() {
                    let at = f.offset();
                    let idx = to_usize(
                        f.try_lenenc("DEFAULT_CHARSET.index")?,
                        "DEFAULT_CHARSET.index",
                        at,
                    )?;
                    let coll = collation(&mut f)?;
                    let col = targets.get(idx).ok_or_else(|| {
                        DecodeError::invalid("DEFAULT_CHARSET.index", at, "no such column")
                    })?;
                    if let Some(slot) = per.get_mut(*col) {
                        *slot = Some(coll);
                    }
                }
                m.collations = Some(per);
            }
            3 | 11 => {
                // COLUMN_CHARSET / ENUM_AND_SET_COLUMN_CHARSET: one collation per target column.
                let targets = if kind == 3 { &character } else { &enum_set };
                let mut per: Vec<Option<u16>> = m
                    .collations
                    .take()
                    .unwrap_or_else(|| vec![None; columns.len()]);
                for &c in targets {
                    let coll = collation(&mut f)?;
                    if let Some(slot) = per.get_mut(c) {
                        *slot = Some(coll);
                    }
                }
                m.collations = Some(per);
            }
            4 => {
                let mut names = Vec::with_capacity(columns.len());
                while !f.is_empty() {
                    names.push(f.try_lenenc_bytes("COLUMN_NAME")?);
                }
                if names.len() != columns.len() {
                    return Err(f.invalid("COLUMN_NAME", "name count differs from column count"));
                }
                m.column_names = Some(names);
            }
            5 | 6 => {
                let mut all = Vec::new();
                while !f.is_empty() {
                    let n = f.try_lenenc_len("STR_VALUE.count")?;
                    let mut labels = Vec::with_capacity(n.min(f.remaining()));
                    for _ in 0..n {
                        labels.push(f.try_lenenc_bytes("STR_VALUE.label")?);
                    }
                    all.push(labels);
                }
                if kind == 5 {
                    m.set_values = Some(all);
                } else {
                    m.enum_values = Some(all);
                }
            }
            7 | 13 => {
                let mut v = Vec::new();
                while !f.is_empty() {
                    v.push(f.try_lenenc("GEOMETRY_TYPE")?);
                }
                if kind == 7 {
                    m.geometry_types = Some(v);
                } else {
                    m.vector_dimensions = Some(v);
                }
            }
            8 | 9 => {
                let mut pk = Vec::new();
                while !f.is_empty() {
                    let at = f.offset();
                    let idx =
                        to_usize(f.try_lenenc("PRIMARY_KEY.index")?, "PRIMARY_KEY.index", at)?;
                    if idx >= columns.len() {
                        return Err(DecodeError::invalid(
                            "PRIMARY_KEY.index",
                            at,
                            "no such column",
                        ));
                    }
                    let prefix = if kind == 9 {
                        f.try_lenenc("PRIMARY_KEY.prefix")?
                    } else {
                        0
                    };
                    pk.push((idx, prefix));
                }
                m.primary_key = Some(pk);
            }
            12 => {
                let bits = f.try_slice(columns.len().div_ceil(8), "COLUMN_VISIBILITY")?;
                m.visibility = Some(msb_bits(bits, columns.len()).collect());
            }
            // Unknown kinds are skipped: the TLV length says where the next one starts.
            _ => {}
        }
    }
    Ok(m)
}

fn collation(f: &mut Reader) -> DecodeResult<u16> {
    let at = f.offset();
    u16::try_from(f.try_lenenc("collation")?)
        .map_err(|_| DecodeError::invalid("collation", at, "above 65535"))
}
