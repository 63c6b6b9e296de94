//! Cross-checking a TABLE_MAP against the tracked definition, and the [`RowPlan`] a definition
//! gives.
//!
//! The TABLE_MAP is what the server used to write the rows; the definition is what we use to
//! name them. They must agree column by column, else values land under the wrong names. The
//! wire type is coarser than the declared type (CHAR and BINARY share STRING, every TEXT and
//! BLOB is BLOB with a length-prefix size), so the check is: the same number of columns, each
//! wire type one the declared type is written as, and — where the map carries them — the
//! same DECIMAL precision and scale, fractional-seconds precision, BIT width, ENUM/SET pack
//! length, column names, signedness and ENUM/SET labels (MySQL 8 `binlog_row_metadata=FULL`).

use std::sync::Arc;

use dts_core::{ColumnDef, ColumnType, TableId, TableSchema};

use crate::binlog::events::table_map::types;
use crate::binlog::{ColumnKind, ColumnMeta, RowPlan, TableMapEvent};

use super::history::SchemaHistory;
use super::{SchemaError, SchemaErrorKind};

/// Whether a column's values are bytes rather than text: BINARY/VARBINARY/BLOB, spatial and
/// VECTOR columns, and anything in the `binary` charset. The rows decoder's
/// [`RowPlan::with_binary`] input.
#[must_use]
pub fn is_binary(def: &ColumnDef) -> bool {
    matches!(
        def.ty,
        ColumnType::Binary
            | ColumnType::VarBinary
            | ColumnType::TinyBlob
            | ColumnType::Blob
            | ColumnType::MediumBlob
            | ColumnType::LongBlob
            | ColumnType::Geometry
            | ColumnType::Vector
    ) || (def.ty.is_text() && def.charset.as_deref() == Some("binary"))
}

/// The plan to decode `map`'s rows with `schema`: the map's layout, with signedness and
/// text/binary from the schema (which [`SchemaHistory::check_table_map`] checked against
/// the map).
#[must_use]
pub fn row_plan(map: &TableMapEvent, schema: &TableSchema) -> RowPlan {
    RowPlan::new(map)
        .with_unsigned(schema.columns().iter().map(|c| c.unsigned))
        .with_binary(schema.columns().iter().map(is_binary))
}

/// The type name of a `MYSQL_TYPE_*` code.
fn type_name(code: u8) -> &'static str {
    match code {
        types::DECIMAL => "DECIMAL",
        types::TINY => "TINY",
        types::SHORT => "SHORT",
        types::LONG => "LONG",
        types::FLOAT => "FLOAT",
        types::DOUBLE => "DOUBLE",
        types::NULL => "NULL",
        types::TIMESTAMP => "TIMESTAMP",
        types::LONGLONG => "LONGLONG",
        types::INT24 => "INT24",
        types::DATE => "DATE",
        types::TIME => "TIME",
        types::DATETIME => "DATETIME",
        types::YEAR => "YEAR",
        types::NEWDATE => "NEWDATE",
        types::VARCHAR => "VARCHAR",
        types::BIT => "BIT",
        types::TIMESTAMP2 => "TIMESTAMP2",
        types::DATETIME2 => "DATETIME2",
        types::TIME2 => "TIME2",
        types::TYPED_ARRAY => "TYPED_ARRAY",
        types::VECTOR => "VECTOR",
        types::JSON => "JSON",
        types::NEWDECIMAL => "NEWDECIMAL",
        types::ENUM => "ENUM",
        types::SET => "SET",
        types::TINY_BLOB => "TINY_BLOB",
        types::MEDIUM_BLOB => "MEDIUM_BLOB",
        types::LONG_BLOB => "LONG_BLOB",
        types::BLOB => "BLOB",
        types::VAR_STRING => "VAR_STRING",
        types::STRING => "STRING",
        types::GEOMETRY => "GEOMETRY",
        _ => "unknown type",
    }
}

/// `BLOB(252) with a 2-byte length`, `NEWDECIMAL(246) (10,2)`, `STRING(254) real ENUM(247)`.
fn describe(meta: &ColumnMeta) -> String {
    let mut s = format!("{}({})", type_name(meta.wire_type), meta.wire_type);
    if meta.real_type != meta.wire_type {
        s.push_str(&format!(
            " real {}({})",
            type_name(meta.real_type),
            meta.real_type
        ));
    }
    match meta.kind {
        ColumnKind::NewDecimal { precision, scale } => {
            s.push_str(&format!(" ({precision},{scale})"));
        }
        ColumnKind::Time2 { fsp }
        | ColumnKind::DateTime2 { fsp }
        | ColumnKind::Timestamp2 { fsp } => {
            s.push_str(&format!(" fsp {fsp}"));
        }
        ColumnKind::Bit { bits, .. } => s.push_str(&format!(" {bits} bits")),
        ColumnKind::Enum { pack } | ColumnKind::Set { pack } => {
            s.push_str(&format!(" {pack}-byte"));
        }
        ColumnKind::Blob { len_bytes }
        | ColumnKind::Json { len_bytes }
        | ColumnKind::Geometry { len_bytes }
        | ColumnKind::Vector { len_bytes } => {
            s.push_str(&format!(" with a {len_bytes}-byte length"));
        }
        _ => {}
    }
    s
}

/// The length-prefix size of a TEXT/BLOB type.
fn blob_len_bytes(ty: ColumnType) -> Option<u8> {
    Some(match ty {
        ColumnType::TinyText | ColumnType::TinyBlob => 1,
        ColumnType::Text | ColumnType::Blob => 2,
        ColumnType::MediumText | ColumnType::MediumBlob => 3,
        ColumnType::LongText | ColumnType::LongBlob => 4,
        _ => return None,
    })
}

/// SET storage bytes for `n` members (MySQL's `get_set_pack_length`).
fn set_pack(n: usize) -> u8 {
    match n.div_ceil(8) {
        0 | 1 => 1,
        2 => 2,
        3 => 3,
        4 => 4,
        _ => 8,
    }
}

/// Whether `meta` is how the server writes a column declared as `def`.
fn compatible(def: &ColumnDef, meta: &ColumnMeta) -> bool {
    use ColumnType as T;
    let w = meta.wire_type;
    let fsp = def.fsp.unwrap_or(0);
    match def.ty {
        T::TinyInt => w == types::TINY,
        T::SmallInt => w == types::SHORT,
        T::MediumInt => w == types::INT24,
        T::Int => w == types::LONG,
        T::BigInt => w == types::LONGLONG,
        T::Float => w == types::FLOAT,
        T::Double => w == types::DOUBLE,
        T::Decimal => match meta.kind {
            ColumnKind::NewDecimal { precision, scale } => {
                u32::from(precision) == def.precision.unwrap_or(10)
                    && u32::from(scale) == def.scale.unwrap_or(0)
            }
            _ => false,
        },
        T::Bit => match meta.kind {
            ColumnKind::Bit { bits, .. } => def.length.is_none_or(|l| u64::from(bits) == l),
            _ => false,
        },
        T::Year => w == types::YEAR,
        T::Date => w == types::DATE || w == types::NEWDATE,
        T::Time => match meta.kind {
            ColumnKind::Time2 { fsp: f } => f == fsp,
            ColumnKind::Time => true,
            _ => false,
        },
        T::DateTime => match meta.kind {
            ColumnKind::DateTime2 { fsp: f } => f == fsp,
            ColumnKind::DateTime => true,
            _ => false,
        },
        T::Timestamp => match meta.kind {
            ColumnKind::Timestamp2 { fsp: f } => f == fsp,
            ColumnKind::Timestamp => true,
            _ => false,
        },
        T::Char | T::Binary => w == types::STRING && meta.real_type == types::STRING,
        T::VarChar | T::VarBinary => w == types::VARCHAR || w == types::VAR_STRING,
        T::TinyText
        | T::Text
        | T::MediumText
        | T::LongText
        | T::TinyBlob
        | T::Blob
        | T::MediumBlob
        | T::LongBlob => match meta.kind {
            ColumnKind::Blob { len_bytes } => Some(len_bytes) == blob_len_bytes(def.ty),
            _ => false,
        },
        T::Enum => match meta.kind {
            ColumnKind::Enum { pack } => {
                def.labels.is_empty() || pack == if def.labels.len() > 255 { 2 } else { 1 }
            }
            _ => false,
        },
        T::Set => match meta.kind {
            ColumnKind::Set { pack } => def.labels.is_empty() || pack == set_pack(def.labels.len()),
            _ => false,
        },
        T::Json => w == types::JSON,
        T::Geometry => w == types::GEOMETRY,
        // MySQL 9 writes VECTOR; MariaDB 11.7's VECTOR is a VARBINARY on the wire.
        T::Vector => w == types::VECTOR || w == types::VARCHAR || w == types::VAR_STRING,
        _ => false,
    }
}

fn mismatch(table: &TableId, index: usize, def: &ColumnDef, wire: String) -> SchemaError {
    let declared = if def.column_type.is_empty() {
        format!("{:?}", def.ty)
    } else {
        def.column_type.clone()
    };
    SchemaError::new(SchemaErrorKind::ColumnMismatch {
        table: table.clone(),
        index,
        column: def.name.clone(),
        declared,
        wire,
    })
}

/// Checks `map` against `schema` (see the module docs).
pub(crate) fn check(schema: &TableSchema, map: &TableMapEvent) -> Result<(), SchemaError> {
    let table = schema.id();
    let columns = schema.columns();
    if columns.len() != map.columns.len() {
        return Err(SchemaError::new(SchemaErrorKind::ColumnCount {
            table: table.clone(),
            schema: columns.len(),
            map: map.columns.len(),
        }));
    }
    let names = map.optional.column_names.as_ref();
    let signs = map.optional.unsigned.as_ref();
    let mut enums = map.optional.enum_values.iter().flatten();
    let mut sets = map.optional.set_values.iter().flatten();
    for (i, (def, meta)) in columns.iter().zip(&map.columns).enumerate() {
        if !compatible(def, meta) {
            return Err(mismatch(table, i, def, describe(meta)));
        }
        if let Some(name) = names.and_then(|n| n.get(i)) {
            let name = String::from_utf8_lossy(name);
            if !super::history::eq_name(&name, &def.name) {
                return Err(mismatch(table, i, def, format!("the column name `{name}`")));
            }
        }
        if let Some(unsigned) = signs.and_then(|s| s.get(i).copied().flatten())
            && unsigned != def.unsigned
        {
            let sign = if unsigned { "unsigned" } else { "signed" };
            return Err(mismatch(
                table,
                i,
                def,
                format!("a {sign} {}", describe(meta)),
            ));
        }
        let labels = match def.ty {
            ColumnType::Enum => enums.next(),
            ColumnType::Set => sets.next(),
            _ => None,
        };
        if let Some(labels) = labels {
            let same_count = labels.len() == def.labels.len();
            // Labels are in the column's charset: compare those that read as UTF-8.
            let same_text = labels
                .iter()
                .zip(&def.labels)
                .all(|(wire, ours)| std::str::from_utf8(wire).map_or(true, |w| w == ours));
            if !(same_count && same_text) {
                let shown: Vec<String> = labels
                    .iter()
                    .map(|l| format!("'{}'", String::from_utf8_lossy(l)))
                    .collect();
                return Err(mismatch(
                    table,
                    i,
                    def,
                    format!("the labels ({})", shown.join(",")),
                ));
            }
        }
    }
    Ok(())
}

impl SchemaHistory {
    /// The current definition of the TABLE_MAP's table, checked against the map (see the
    /// [module docs](super)). Decode the map's rows with it (and [`row_plan`]).
    ///
    /// # Errors
    /// [`SchemaErrorKind::UnknownTable`] when no definition is known;
    /// [`SchemaErrorKind::ColumnCount`] / [`SchemaErrorKind::ColumnMismatch`] naming the
    /// table, the column index and name, and both types, when they disagree.
    pub fn check_table_map(&self, map: &TableMapEvent) -> Result<Arc<TableSchema>, SchemaError> {
        let id = self.map_table(map);
        let schema = self
            .get(&id)
            .ok_or_else(|| SchemaError::new(SchemaErrorKind::UnknownTable { table: id }))?;
        check(schema, map)?;
        Ok(Arc::clone(schema))
    }

    /// [`check_table_map`](Self::check_table_map) against the definition in force at `at`
    /// (replaying older binlog), the error carrying `at`.
    ///
    /// # Errors
    /// As [`check_table_map`](Self::check_table_map).
    pub fn check_table_map_at(
        &self,
        map: &TableMapEvent,
        at: &dts_core::BinlogPosition,
    ) -> Result<Arc<TableSchema>, SchemaError> {
        let id = self.map_table(map);
        let schema = self
            .get_at(&id, at)
            .ok_or_else(|| SchemaError::new(SchemaErrorKind::UnknownTable { table: id }).at(at))?;
        check(schema, map).map_err(|e| e.at(at))?;
        Ok(Arc::clone(schema))
    }

    fn map_table(&self, map: &TableMapEvent) -> TableId {
        TableId::new(
            String::from_utf8_lossy(&map.schema),
            String::from_utf8_lossy(&map.table),
        )
    }
}
