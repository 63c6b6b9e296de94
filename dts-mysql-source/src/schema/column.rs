//! From a parsed column definition to a [`ColumnDef`] of a table: charset inheritance, the
//! type changes charsets imply, and the `COLUMN_TYPE` text.

use dts_core::{ColumnDef, ColumnType};

use super::Flavor;
use super::charset::{
    charset_of_collation, default_collation, max_bytes_per_char, qualify_collation,
};
use super::ddl::ColumnSpec;

/// The smallest BLOB (or TEXT) type holding `bytes` bytes (MySQL's
/// `get_blob_type_from_length`).
pub(crate) fn blob_type_for_bytes(bytes: u64, text: bool) -> ColumnType {
    let (tiny, blob, medium, long) = if text {
        (
            ColumnType::TinyText,
            ColumnType::Text,
            ColumnType::MediumText,
            ColumnType::LongText,
        )
    } else {
        (
            ColumnType::TinyBlob,
            ColumnType::Blob,
            ColumnType::MediumBlob,
            ColumnType::LongBlob,
        )
    };
    match bytes {
        0..256 => tiny,
        256..65_536 => blob,
        65_536..16_777_216 => medium,
        _ => long,
    }
}

/// The maximum length in bytes of a TEXT/BLOB type (`CHARACTER_MAXIMUM_LENGTH`).
fn blob_max_bytes(ty: ColumnType) -> Option<u64> {
    Some(match ty {
        ColumnType::TinyText | ColumnType::TinyBlob => 255,
        ColumnType::Text | ColumnType::Blob => 65_535,
        ColumnType::MediumText | ColumnType::MediumBlob => 16_777_215,
        ColumnType::LongText | ColumnType::LongBlob => 4_294_967_295,
        _ => return None,
    })
}

/// Types whose values are characters in a charset (ENUM and SET labels too).
pub(crate) fn has_charset(ty: ColumnType) -> bool {
    ty.is_text() || matches!(ty, ColumnType::Enum | ColumnType::Set)
}

/// The binary type a character type becomes with `CHARACTER SET binary`.
fn binary_twin(ty: ColumnType) -> Option<ColumnType> {
    Some(match ty {
        ColumnType::Char => ColumnType::Binary,
        ColumnType::VarChar => ColumnType::VarBinary,
        ColumnType::TinyText => ColumnType::TinyBlob,
        ColumnType::Text => ColumnType::Blob,
        ColumnType::MediumText => ColumnType::MediumBlob,
        ColumnType::LongText => ColumnType::LongBlob,
        _ => return None,
    })
}

fn bin_collation(charset: &str) -> String {
    if charset == "binary" {
        "binary".to_owned()
    } else {
        format!("{charset}_bin")
    }
}

/// The column of a table whose default charset is `table_charset`/`table_collation`.
pub(crate) fn resolve(
    spec: &ColumnSpec,
    table_charset: Option<&str>,
    table_collation: Option<&str>,
    flavor: Flavor,
) -> ColumnDef {
    let mut def = spec.def.clone();
    if !has_charset(def.ty) {
        def.charset = None;
        def.collation = None;
        def.length = blob_max_bytes(def.ty).or(def.length);
        return def;
    }
    let before = def.ty;
    let (charset, collation) = match (def.charset.take(), def.collation.take()) {
        (Some(cs), Some(coll)) => {
            let coll = qualify_collation(&coll, &cs);
            (Some(cs), Some(coll))
        }
        (Some(cs), None) => {
            let coll = if spec.binary_collation {
                Some(bin_collation(&cs))
            } else {
                default_collation(&cs, flavor)
            };
            (Some(cs), coll)
        }
        (None, Some(coll)) => {
            let cs = charset_of_collation(&coll).or_else(|| table_charset.map(str::to_owned));
            let coll = match &cs {
                Some(cs) => qualify_collation(&coll, cs),
                None => coll,
            };
            (cs, Some(coll))
        }
        (None, None) => {
            let cs = table_charset.map(str::to_owned);
            let coll = if spec.binary_collation {
                cs.as_deref().map(bin_collation)
            } else if let Some(coll) = table_collation {
                Some(coll.to_owned())
            } else {
                cs.as_deref().and_then(|cs| default_collation(cs, flavor))
            };
            (cs, coll)
        }
    };
    def.charset = charset;
    def.collation = collation;
    if let (Some(n), ColumnType::Text) = (spec.text_length, def.ty) {
        // TEXT(n): the smallest type for n characters of the charset.
        let per_char = def.charset.as_deref().map_or(4, max_bytes_per_char);
        def.ty = blob_type_for_bytes(n.saturating_mul(per_char), true);
    }
    to_binary_if_needed(&mut def);
    def.length = blob_max_bytes(def.ty)
        .or_else(|| labels_length(&def))
        .or(def.length);
    if def.ty != before {
        def.column_type = column_type_text(
            &def,
            spec.zerofill,
            spec.display_width,
            &spec.type_name,
            flavor,
        );
    }
    def
}

/// `CHARACTER_MAXIMUM_LENGTH` of ENUM (the longest label) and SET (all labels joined with
/// commas), in characters.
fn labels_length(def: &ColumnDef) -> Option<u64> {
    let chars = |l: &String| u64::try_from(l.chars().count()).unwrap_or(u64::MAX);
    match def.ty {
        ColumnType::Enum => Some(def.labels.iter().map(chars).max().unwrap_or(0)),
        ColumnType::Set => Some(
            def.labels
                .iter()
                .map(chars)
                .fold(0u64, u64::saturating_add)
                .saturating_add(u64::try_from(def.labels.len().saturating_sub(1)).unwrap_or(0)),
        ),
        _ => None,
    }
}

/// `CHARACTER SET binary` on CHAR/VARCHAR/TEXT makes them BINARY/VARBINARY/BLOB.
fn to_binary_if_needed(def: &mut ColumnDef) {
    if def.charset.as_deref() != Some("binary") {
        return;
    }
    if let Some(twin) = binary_twin(def.ty) {
        def.ty = twin;
        def.charset = None;
        def.collation = None;
    }
}

/// `ALTER TABLE … CONVERT TO CHARACTER SET charset [COLLATE collation]` on one column: text
/// columns take the charset, and TEXT types grow so that they still hold as many characters
/// (MySQL: latin1 `TEXT` → utf8mb4 `MEDIUMTEXT`). Other columns are unchanged.
pub(crate) fn convert_column(
    def: &mut ColumnDef,
    charset: &str,
    collation: Option<&str>,
    flavor: Flavor,
) {
    if !has_charset(def.ty) {
        return;
    }
    let before = def.ty;
    let old_per_char = def.charset.as_deref().map(max_bytes_per_char);
    if let (Some(max), Some(old)) = (blob_max_bytes(def.ty), old_per_char) {
        let chars = max / old.max(1);
        def.ty = blob_type_for_bytes(chars.saturating_mul(max_bytes_per_char(charset)), true);
    }
    def.charset = Some(charset.to_owned());
    def.collation = match collation {
        Some(c) => Some(qualify_collation(c, charset)),
        None => default_collation(charset, flavor),
    };
    to_binary_if_needed(def);
    if matches!(def.ty, ColumnType::Binary | ColumnType::VarBinary) && def.ty != before {
        // CHAR(n) of an m-byte charset becomes BINARY(n*m): lengths count bytes now.
        def.length = def
            .length
            .map(|n| n.saturating_mul(old_per_char.unwrap_or(1)));
    }
    def.length = blob_max_bytes(def.ty).or(def.length);
    if def.ty != before {
        def.column_type = column_type_text(def, false, None, "", flavor);
    }
}

/// Default integer display widths (signed, unsigned) of MySQL 5.7 and MariaDB.
fn default_width(ty: ColumnType, unsigned: bool) -> u64 {
    let (signed, unsigned_w) = match ty {
        ColumnType::TinyInt => (4, 3),
        ColumnType::SmallInt => (6, 5),
        ColumnType::MediumInt => (9, 8),
        ColumnType::Int => (11, 10),
        _ => (20, 20),
    };
    if unsigned { unsigned_w } else { signed }
}

/// `information_schema.COLUMNS.COLUMN_TYPE`, as close as the DDL allows (informational).
pub(crate) fn column_type_text(
    def: &ColumnDef,
    zerofill: bool,
    display_width: Option<u64>,
    type_name: &str,
    flavor: Flavor,
) -> String {
    use ColumnType as T;
    let sized = |name: &str, n: Option<u64>| match n {
        Some(n) => format!("{name}({n})"),
        None => name.to_owned(),
    };
    let fraction = |name: &str| match def.fsp {
        Some(f) if f > 0 => format!("{name}({f})"),
        _ => name.to_owned(),
    };
    let mut s = match def.ty {
        T::TinyInt | T::SmallInt | T::MediumInt | T::Int | T::BigInt => {
            let base = match def.ty {
                T::TinyInt => "tinyint",
                T::SmallInt => "smallint",
                T::MediumInt => "mediumint",
                T::Int => "int",
                _ => "bigint",
            };
            let width = display_width.or_else(|| {
                (flavor == Flavor::MariaDb || zerofill).then(|| default_width(def.ty, def.unsigned))
            });
            sized(base, width)
        }
        T::Decimal => format!(
            "decimal({},{})",
            def.precision.unwrap_or(10),
            def.scale.unwrap_or(0)
        ),
        T::Float | T::Double => {
            let base = if def.ty == T::Float {
                "float"
            } else {
                "double"
            };
            match (def.precision, def.scale) {
                (Some(p), Some(d)) => format!("{base}({p},{d})"),
                _ => base.to_owned(),
            }
        }
        T::Bit => sized("bit", Some(def.length.unwrap_or(1))),
        T::Year => sized(
            "year",
            display_width.or((flavor == Flavor::MariaDb).then_some(4)),
        ),
        T::Date => "date".to_owned(),
        T::Time => fraction("time"),
        T::DateTime => fraction("datetime"),
        T::Timestamp => fraction("timestamp"),
        T::Char => sized("char", def.length),
        T::VarChar => sized("varchar", def.length),
        T::Binary => sized("binary", def.length),
        T::VarBinary => sized("varbinary", def.length),
        T::TinyText => "tinytext".to_owned(),
        T::Text => "text".to_owned(),
        T::MediumText => "mediumtext".to_owned(),
        T::LongText => "longtext".to_owned(),
        T::TinyBlob => "tinyblob".to_owned(),
        T::Blob => "blob".to_owned(),
        T::MediumBlob => "mediumblob".to_owned(),
        T::LongBlob => "longblob".to_owned(),
        T::Enum | T::Set => {
            let labels: Vec<String> = def
                .labels
                .iter()
                .map(|l| format!("'{}'", l.replace('\\', "\\\\").replace('\'', "''")))
                .collect();
            let base = if def.ty == T::Enum { "enum" } else { "set" };
            format!("{base}({})", labels.join(","))
        }
        T::Json => "json".to_owned(),
        T::Geometry => {
            if type_name.is_empty() {
                "geometry".to_owned()
            } else {
                type_name.to_owned()
            }
        }
        T::Vector => sized("vector", def.length),
        _ => type_name.to_owned(),
    };
    let numeric = def.ty.is_integer() || matches!(def.ty, T::Decimal | T::Float | T::Double);
    if numeric && def.unsigned {
        s.push_str(" unsigned");
    }
    if numeric && zerofill {
        s.push_str(" zerofill");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_sizes() {
        assert_eq!(blob_type_for_bytes(255, true), ColumnType::TinyText);
        assert_eq!(blob_type_for_bytes(256, false), ColumnType::Blob);
        assert_eq!(blob_type_for_bytes(262_140, true), ColumnType::MediumText);
        assert_eq!(blob_type_for_bytes(u64::MAX, false), ColumnType::LongBlob);
    }

    #[test]
    fn convert_grows_text_types() {
        let mut def = ColumnDef::new("t", ColumnType::Text);
        def.charset = Some("latin1".into());
        def.column_type = "text".into();
        convert_column(&mut def, "utf8mb4", None, Flavor::MySql);
        assert_eq!(def.ty, ColumnType::MediumText);
        assert_eq!(def.column_type, "mediumtext");
        assert_eq!(def.collation.as_deref(), Some("utf8mb4_0900_ai_ci"));
        // Shrinking never goes below what MySQL computes: utf8mb4 TEXT → latin1 TEXT.
        let mut def = ColumnDef::new("t", ColumnType::Text);
        def.charset = Some("utf8mb4".into());
        convert_column(&mut def, "latin1", Some("latin1_bin"), Flavor::MySql);
        assert_eq!(def.ty, ColumnType::Text);
        let mut def = ColumnDef::new("c", ColumnType::VarChar);
        def.charset = Some("latin1".into());
        convert_column(&mut def, "binary", None, Flavor::MySql);
        assert_eq!((def.ty, def.charset), (ColumnType::VarBinary, None));
    }
}
