//! Reads table definitions from `information_schema` into [`TableSchema`]s, and expands table
//! selections (`db.table`, `db.*`).
//!
//! Call [`plain_session`] once on a connection before the functions here: they quote names as
//! string literals, which the server's default `sql_mode` may read differently.

use std::collections::BTreeMap;

use dts_core::{ColumnDef, ColumnType, KeyDef, TableId, TableSchema};

use crate::error::{Error, Result};
use crate::protocol::Connection;

/// Run first on every connection that reads the catalog or rows: the server's default
/// `sql_mode` may hold `NO_BACKSLASH_ESCAPES` (then [`quote_str`]'s `\\` would stay two
/// backslashes), `ANSI_QUOTES` (`SHOW CREATE TABLE` would quote names with `"`) or
/// `PAD_CHAR_TO_FULL_LENGTH` (snapshot `CHAR` values would keep the padding the binlog's
/// values do not have).
pub(crate) const PLAIN_SQL_MODE: &str = "SET SESSION sql_mode = ''";

/// Sets the connection's session `sql_mode` to the empty default (`PLAIN_SQL_MODE`), so that
/// the catalog functions read the same names and definitions whatever the server's default.
///
/// # Errors
/// Server and network errors.
pub async fn plain_session(conn: &mut Connection) -> Result<()> {
    conn.execute(PLAIN_SQL_MODE).await
}

/// Quotes a string literal for SQL (in a session with [`PLAIN_SQL_MODE`]).
pub(crate) fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// Quotes an identifier.
pub(crate) fn quote_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// `db`.`table`, quoted.
pub(crate) fn quote_table(t: &TableId) -> String {
    format!("{}.{}", quote_ident(t.db()), quote_ident(t.table()))
}

fn text(v: Option<&Option<bytes::Bytes>>) -> Option<String> {
    v.and_then(|b| b.as_ref())
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// Expands `db.table` and `db.*` patterns into the base tables they name, sorted. A pattern that
/// matches nothing is an error naming it.
///
/// # Errors
/// Malformed patterns, patterns that match no table, server errors.
pub async fn expand_tables(conn: &mut Connection, patterns: &[String]) -> Result<Vec<TableId>> {
    let mut out = Vec::new();
    for p in patterns {
        let (db, table) = p.split_once('.').ok_or_else(|| {
            Error::Config(format!("table {p:?} must be written db.table or db.*"))
        })?;
        let filter = if table == "*" {
            String::new()
        } else {
            format!(" AND TABLE_NAME = {}", quote_str(table))
        };
        let r = conn
            .query(&format!(
                "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} \
                 AND TABLE_TYPE = 'BASE TABLE'{filter} ORDER BY TABLE_NAME",
                quote_str(db)
            ))
            .await?;
        if r.rows.is_empty() {
            return Err(Error::Config(format!(
                "table selection {p:?} matches no table"
            )));
        }
        for row in &r.rows {
            if let Some(t) = text(row.first()) {
                out.push(TableId::new(db, t));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Parses the labels of `enum('a','b')` / `set(...)` column types (quotes doubled inside).
fn labels(column_type: &str) -> Vec<String> {
    let Some(inner) = column_type
        .find('(')
        .and_then(|i| column_type.get(i + 1..column_type.len().saturating_sub(1)))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_quote) {
            ('\'', false) => in_quote = true,
            ('\'', true) if chars.peek() == Some(&'\'') => {
                chars.next();
                cur.push('\'');
            }
            ('\'', true) => {
                in_quote = false;
                out.push(std::mem::take(&mut cur));
            }
            ('\\', true) => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (c, true) => cur.push(c),
            _ => {}
        }
    }
    out
}

fn num<T: std::str::FromStr>(s: Option<String>) -> Option<T> {
    s.and_then(|s| s.parse().ok())
}

/// Loads the definition of `table` as the server has it now.
///
/// # Errors
/// The table does not exist, a column type is unknown, server errors.
pub async fn load_table(conn: &mut Connection, table: &TableId) -> Result<TableSchema> {
    let cols = conn
        .query(&format!(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, CHARACTER_SET_NAME, COLLATION_NAME, \
             CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} ORDER BY ORDINAL_POSITION",
            quote_str(table.db()),
            quote_str(table.table())
        ))
        .await?;
    if cols.rows.is_empty() {
        return Err(Error::Config(format!(
            "table {table} does not exist (or is not visible to the user)"
        )));
    }
    let mut columns = Vec::with_capacity(cols.rows.len());
    for row in &cols.rows {
        let get = |i: usize| text(row.get(i));
        let name = get(0).unwrap_or_default();
        let data_type = get(1).unwrap_or_default();
        let column_type = get(2).unwrap_or_default();
        let ty = ColumnType::from_data_type(&data_type).ok_or_else(|| {
            Error::Config(format!(
                "column {table}.{name} has type {data_type}, which dts does not know"
            ))
        })?;
        let mut c = ColumnDef::new(name, ty);
        c.unsigned = column_type.contains("unsigned");
        c.nullable = get(3).as_deref() == Some("YES");
        c.charset = get(4);
        c.collation = get(5);
        c.length = match ty {
            ColumnType::Bit => num(get(7)),
            _ => num(get(6)),
        };
        if matches!(
            ty,
            ColumnType::Decimal | ColumnType::Float | ColumnType::Double
        ) {
            c.precision = num(get(7));
            c.scale = num(get(8));
        }
        if matches!(
            ty,
            ColumnType::Time | ColumnType::DateTime | ColumnType::Timestamp
        ) {
            c.fsp = num(get(9));
        }
        if matches!(ty, ColumnType::Enum | ColumnType::Set) {
            c.labels = labels(&column_type);
        }
        // MariaDB's JSON is LONGTEXT with a check constraint; information_schema says longtext.
        c.column_type = column_type;
        columns.push(c);
    }
    let keys = conn
        .query(&format!(
            "SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE, SEQ_IN_INDEX FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            quote_str(table.db()),
            quote_str(table.table())
        ))
        .await?;
    let mut by_index: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for row in &keys.rows {
        let index = text(row.first()).unwrap_or_default();
        let col = text(row.get(1)).unwrap_or_default();
        let Some(pos) = columns.iter().position(|c| c.name == col) else {
            // A functional index part has no column; such a key cannot identify rows here.
            by_index.insert(index, Vec::new());
            continue;
        };
        by_index.entry(index).or_default().push(pos);
    }
    let mut primary = None;
    let mut uniques = Vec::new();
    for (name, cols) in by_index {
        if cols.is_empty() {
            continue;
        }
        let key = KeyDef {
            name: name.clone(),
            columns: cols,
        };
        if name == "PRIMARY" {
            primary = Some(key);
        } else {
            uniques.push(key);
        }
    }
    TableSchema::new(table.clone(), columns, primary, uniques)
        .map_err(|e| Error::Config(e.to_string()))
}

/// Estimated row count (`information_schema.TABLES.TABLE_ROWS`).
///
/// # Errors
/// Server errors.
pub async fn estimate_rows(conn: &mut Connection, table: &TableId) -> Result<Option<u64>> {
    let r = conn
        .query(&format!(
            "SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {}",
            quote_str(table.db()),
            quote_str(table.table())
        ))
        .await?;
    Ok(num(r.first("n")))
}

/// `SHOW CREATE TABLE` text (for schema migration).
///
/// # Errors
/// Server errors.
pub async fn show_create_table(conn: &mut Connection, table: &TableId) -> Result<String> {
    let r = conn
        .query(&format!("SHOW CREATE TABLE {}", quote_table(table)))
        .await?;
    r.rows
        .first()
        .and_then(|row| text(row.get(1)))
        .ok_or_else(|| Error::Protocol(format!("SHOW CREATE TABLE {table} returned no definition")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_labels_with_quotes_and_commas() {
        assert_eq!(labels("enum('a','b,c','it''s')"), ["a", "b,c", "it's"]);
        assert_eq!(labels("set('x')"), ["x"]);
        assert!(labels("int(11)").is_empty());
    }
}

/// Default character sets: the server's, each database's, each table's (charset, collation).
#[derive(Clone, Debug, Default)]
pub struct Charsets {
    /// `@@character_set_server`, `@@collation_server`.
    pub server: Option<(String, String)>,
    /// Per database.
    pub databases: BTreeMap<String, (String, String)>,
    /// Per table.
    pub tables: BTreeMap<TableId, (String, String)>,
}

/// Reads the default character sets of the server, the databases of `tables`, and `tables`.
///
/// # Errors
/// Server errors.
pub async fn load_charsets(conn: &mut Connection, tables: &[TableId]) -> Result<Charsets> {
    let mut out = Charsets::default();
    let r = conn
        .query("SELECT @@character_set_server AS cs, @@collation_server AS co")
        .await?;
    if let (Some(cs), Some(co)) = (r.first("cs"), r.first("co")) {
        out.server = Some((cs, co));
    }
    let dbs: std::collections::BTreeSet<&str> = tables.iter().map(TableId::db).collect();
    for db in dbs {
        let r = conn
            .query(&format!(
                "SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA \
                 WHERE SCHEMA_NAME = {}",
                quote_str(db)
            ))
            .await?;
        if let (Some(cs), Some(co)) = (r.first("cs"), r.first("co")) {
            out.databases.insert(db.to_owned(), (cs, co));
        }
    }
    for t in tables {
        let r = conn
            .query(&format!(
                "SELECT c.CHARACTER_SET_NAME AS cs, t.TABLE_COLLATION AS co FROM information_schema.TABLES t \
                 JOIN information_schema.COLLATIONS c ON c.COLLATION_NAME = t.TABLE_COLLATION \
                 WHERE t.TABLE_SCHEMA = {} AND t.TABLE_NAME = {}",
                quote_str(t.db()),
                quote_str(t.table())
            ))
            .await?;
        if let (Some(cs), Some(co)) = (r.first("cs"), r.first("co")) {
            out.tables.insert(t.clone(), (cs, co));
        }
    }
    Ok(out)
}
