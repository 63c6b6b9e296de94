//! [`SchemaError`]: what went wrong parsing DDL, applying it, or checking a TABLE_MAP against
//! the schema.

use std::fmt;

use dts_core::{BinlogPosition, InvalidKey, TableId};

/// The longest statement text an error keeps (in characters).
const MAX_STATEMENT_CHARS: usize = 200;

/// What went wrong (see [`SchemaError::kind`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaErrorKind {
    /// The statement is not valid DDL where this parser reads it.
    #[error("syntax error at byte {offset}: {message}")]
    Syntax {
        /// Byte offset in the statement.
        offset: usize,
        /// What was expected and found.
        message: String,
    },
    /// A table name without a database, and no default database.
    #[error("table `{table}` has no database and the statement has no default database")]
    NoDatabase {
        /// The unqualified table name.
        table: String,
    },
    /// A column type this crate does not know (MariaDB `UUID`, `INET6`, Oracle-mode types, ...).
    #[error("column `{column}` of {table} has the unsupported type `{type_name}`")]
    UnsupportedType {
        /// The table.
        table: TableId,
        /// The column.
        column: String,
        /// The type name as written.
        type_name: String,
    },
    /// The statement names a column the tracked table does not have.
    #[error("{table} has no column `{column}`")]
    UnknownColumn {
        /// The table.
        table: TableId,
        /// The missing column.
        column: String,
    },
    /// The statement would give a table two columns with one name.
    #[error("{table} would have two columns named `{column}`")]
    DuplicateColumn {
        /// The table.
        table: TableId,
        /// The duplicated name.
        column: String,
    },
    /// The statement would leave a table without columns.
    #[error("{table} would have no columns")]
    NoColumns {
        /// The table.
        table: TableId,
    },
    /// A key refers to a column the table does not have.
    #[error(transparent)]
    InvalidKey(#[from] InvalidKey),
    /// A TABLE_MAP names a table with no schema at that position (never seen, or dropped).
    #[error("no schema is known for {table}")]
    UnknownTable {
        /// The table.
        table: TableId,
    },
    /// A TABLE_MAP has a different number of columns than the schema.
    #[error("{table}: the TABLE_MAP has {map} columns, the schema {schema}")]
    ColumnCount {
        /// The table.
        table: TableId,
        /// Columns in the schema.
        schema: usize,
        /// Columns in the TABLE_MAP.
        map: usize,
    },
    /// A TABLE_MAP column does not match the schema's column at the same index.
    #[error(
        "{table}: column #{index} `{column}` is `{declared}` in the schema but the TABLE_MAP \
         has {wire}"
    )]
    ColumnMismatch {
        /// The table.
        table: TableId,
        /// The 0-based column index.
        index: usize,
        /// The column name in the schema.
        column: String,
        /// The declared type in the schema (`COLUMN_TYPE` text).
        declared: String,
        /// What the TABLE_MAP says (wire type, metadata, name or labels).
        wire: String,
    },
}

/// A schema-tracking failure: the [kind](Self::kind), plus the statement (truncated to 200
/// characters) and binlog position it happened at, when known.
///
/// Boxed, so that `Result<_, SchemaError>` stays one pointer wide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError(Box<Details>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Details {
    kind: SchemaErrorKind,
    statement: Option<String>,
    position: Option<BinlogPosition>,
}

impl SchemaError {
    pub(crate) fn new(kind: SchemaErrorKind) -> Self {
        Self(Box::new(Details {
            kind,
            statement: None,
            position: None,
        }))
    }

    /// Attaches the statement (truncated); kept if already set.
    #[must_use]
    pub(crate) fn in_statement(mut self, sql: &str) -> Self {
        if self.0.statement.is_none() {
            let mut s: String = sql.trim().chars().take(MAX_STATEMENT_CHARS).collect();
            if sql.trim().chars().nth(MAX_STATEMENT_CHARS).is_some() {
                s.push('…');
            }
            self.0.statement = Some(s);
        }
        self
    }

    /// Attaches the binlog position the error happened at; kept if already set.
    #[must_use]
    pub fn at(mut self, position: &BinlogPosition) -> Self {
        if self.0.position.is_none() {
            self.0.position = Some(position.clone());
        }
        self
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &SchemaErrorKind {
        &self.0.kind
    }

    /// The statement, truncated to 200 characters (with `…`), when the error came from DDL.
    #[must_use]
    pub fn statement(&self) -> Option<&str> {
        self.0.statement.as_deref()
    }

    /// The binlog position, when known.
    #[must_use]
    pub fn position(&self) -> Option<&BinlogPosition> {
        self.0.position.as_ref()
    }

    /// The table the error is about, when it is about one: a caller that tracks only some
    /// tables can ignore errors about the others.
    #[must_use]
    pub fn table(&self) -> Option<&TableId> {
        match &self.0.kind {
            SchemaErrorKind::UnsupportedType { table, .. }
            | SchemaErrorKind::UnknownColumn { table, .. }
            | SchemaErrorKind::DuplicateColumn { table, .. }
            | SchemaErrorKind::NoColumns { table }
            | SchemaErrorKind::UnknownTable { table }
            | SchemaErrorKind::ColumnCount { table, .. }
            | SchemaErrorKind::ColumnMismatch { table, .. } => Some(table),
            _ => None,
        }
    }

    /// Whether this is a syntax error (the statement could not be read at all).
    #[must_use]
    pub fn is_syntax(&self) -> bool {
        matches!(self.0.kind, SchemaErrorKind::Syntax { .. })
    }
}

impl From<SchemaErrorKind> for SchemaError {
    fn from(kind: SchemaErrorKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.kind)?;
        if let Some(p) = &self.0.position {
            write!(f, " at binlog {p}")?;
        }
        if let Some(s) = &self.0.statement {
            write!(f, " in statement `{s}`")?;
        }
        Ok(())
    }
}

impl std::error::Error for SchemaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            SchemaErrorKind::InvalidKey(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_statements_are_truncated_and_the_message_has_the_context() {
        let sql = format!("ALTER TABLE t {}", "x".repeat(500));
        let e = SchemaError::new(SchemaErrorKind::UnknownColumn {
            table: TableId::new("d", "t"),
            column: "c".into(),
        })
        .in_statement(&sql)
        .at(&BinlogPosition::new("binlog.000001", 120));
        assert_eq!(e.statement().unwrap().chars().count(), 201);
        let text = e.to_string();
        assert!(
            text.starts_with("d.t has no column `c` at binlog binlog.000001:120 in statement"),
            "{text}"
        );
        assert_eq!(e.table(), Some(&TableId::new("d", "t")));
        assert_eq!(
            std::mem::size_of::<SchemaError>(),
            std::mem::size_of::<usize>()
        );
    }
}
