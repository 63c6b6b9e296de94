//! Table definitions as of every binlog position.
//!
//! Rows events carry values, not column names: the names, signedness, charsets and ENUM labels
//! come from the table definition *in force when the rows were written*. Reading the live
//! definition instead (what go-mysql, Canal and ape-dts do when they replay an older binlog)
//! puts values under the wrong columns after any `ADD`/`DROP`/reorder. So the source keeps a
//! [`SchemaHistory`]:
//!
//! 1. the loader [`insert`](SchemaHistory::insert)s each table's definition read from
//!    `information_schema` at the starting position (and the databases' default charsets with
//!    [`set_database_charset`](SchemaHistory::set_database_charset));
//! 2. every QUERY event goes through [`apply_ddl`](SchemaHistory::apply_ddl), which parses the
//!    statement with the hand-written [`ddl`] parser and records the new definition of every
//!    table it creates, alters, renames or drops, *at that position*;
//! 3. every TABLE_MAP goes through [`check_table_map`](SchemaHistory::check_table_map) (or
//!    [`check_table_map_at`](SchemaHistory::check_table_map_at) when replaying), which returns
//!    the definition to decode its rows with, or an error naming the table, the column and both
//!    types when the map and the definition disagree: columns are never mislabelled;
//! 4. [`row_plan`] turns the definition into the [`RowPlan`](crate::binlog::RowPlan) the rows
//!    decoder needs.
//!
//! # Parsed DDL
//!
//! `CREATE [OR REPLACE] [TEMPORARY] TABLE [IF NOT EXISTS]` with columns, keys and options,
//! `… LIKE`, `… [AS] SELECT`; `ALTER [ONLINE] [IGNORE] TABLE` with `ADD/DROP/MODIFY/CHANGE/
//! RENAME/ALTER COLUMN`, keys, `CONVERT TO CHARACTER SET`, table options and partitioning;
//! `RENAME TABLE`, `DROP [TEMPORARY] TABLE`, `TRUNCATE`, `CREATE/DROP INDEX`,
//! `CREATE/ALTER/DROP DATABASE`. Everything else (DML in statement-based events, `BEGIN`,
//! `GRANT`, views, routines, ...) is [`Statement::Other`]. See [`ddl`] for the details.
//!
//! # Decisions where MySQL leaves room
//!
//! - **Charsets.** A text column without a charset takes its table's default, which takes its
//!   database's default (set by the loader, or by `CREATE/ALTER DATABASE`), which takes the
//!   server's ([`set_server_charset`](SchemaHistory::set_server_charset)); unknown stays `None`.
//!   A charset named without a collation gets the charset's default collation from a built-in
//!   table (MySQL 8.0 defaults for [`Flavor::MySql`]; the collation is informational, the
//!   charset is what decoding needs). `utf8` is reported as `utf8mb3`, as current servers do.
//!   `CHARACTER SET binary` turns CHAR/VARCHAR/TEXT into BINARY/VARBINARY/BLOB, as MySQL does.
//! - **MariaDB `JSON`** is an alias of `LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`
//!   (its binlog type is BLOB), so with [`Flavor::MariaDb`] it becomes
//!   [`ColumnType::LongText`](dts_core::ColumnType::LongText) with `column_type` `longtext`;
//!   with [`Flavor::MySql`] it is [`ColumnType::Json`](dts_core::ColumnType::Json).
//! - **`column_type`** (like `information_schema.COLUMNS.COLUMN_TYPE`) is informational:
//!   integer display widths are shown when declared (MySQL 8.0 drops them, 5.7 shows them; the
//!   DDL text shows what its server does) and always for MariaDB, which always shows them.
//! - **Nullability** follows the DDL (`TIMESTAMP` without `NULL`/`NOT NULL` is nullable; with
//!   `explicit_defaults_for_timestamp=OFF` the server makes it `NOT NULL`). A primary key makes
//!   its columns `NOT NULL`. The TABLE_MAP check does not compare nullability.
//! - **Keys** are kept by column name, so they stay right through column adds, drops,
//!   reorders and renames. Unnamed keys get MySQL's names (the first column, then `_2`, `_3`).
//!   A unique key with an expression part (MySQL 8 functional index) is not reported as a key.
//!   `DROP INDEX` of a name not tracked is a no-op (indexes created before the tracking began
//!   are known only if they are primary or unique).
//! - **Temporary tables** are not tracked: their rows are never in a row-based binlog, and
//!   `DROP TEMPORARY TABLE t` must not drop the real `t`.
//! - **Versioned comments** `/*!NNNNN … */` are always read as SQL (the server that logged the
//!   statement ran them); `/*M!… */` only for MariaDB.
//! - **Positions.** A version recorded at position `p` is in force at every position `>= p`
//!   (file names compare by their numeric suffix), so either the start or the end position of
//!   the DDL event may be used, as long as it is used consistently.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod charset;
mod check;
mod column;
pub mod ddl;
mod error;
mod history;
mod lexer;

pub use charset::{default_collation, normalize_charset, normalize_collation};
pub use check::{is_binary, row_plan};
pub use ddl::{Statement, parse};
pub use error::{SchemaError, SchemaErrorKind};
pub use history::{DdlKind, DdlOutcome, SchemaHistory, TableChange};

/// The server family: decides MariaDB-only comments and what `JSON` means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// MySQL (and Percona Server).
    #[default]
    MySql,
    /// MariaDB.
    MariaDb,
}

/// How to read SQL text: the server [`Flavor`] and the `sql_mode` switches that change
/// tokenizing.
///
/// A QUERY event carries the statement's `sql_mode` ([`QueryStatus::sql_mode`]); build the
/// dialect with [`from_sql_mode`](Self::from_sql_mode) to read it exactly as the server did.
///
/// [`QueryStatus::sql_mode`]: crate::binlog::QueryStatus::sql_mode
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Dialect {
    pub(crate) flavor: Flavor,
    pub(crate) ansi_quotes: bool,
    pub(crate) no_backslash_escapes: bool,
}

/// `sql_mode` bit of `ANSI_QUOTES`.
const MODE_ANSI_QUOTES: u64 = 1 << 2;
/// `sql_mode` bit of `NO_BACKSLASH_ESCAPES`.
const MODE_NO_BACKSLASH_ESCAPES: u64 = 1 << 20;

impl Dialect {
    /// The default `sql_mode` of `flavor` (no `ANSI_QUOTES`, backslash escapes on).
    #[must_use]
    pub fn new(flavor: Flavor) -> Self {
        Self {
            flavor,
            ansi_quotes: false,
            no_backslash_escapes: false,
        }
    }

    /// The dialect of a statement logged with `sql_mode` (the binlog's bit set).
    #[must_use]
    pub fn from_sql_mode(flavor: Flavor, sql_mode: u64) -> Self {
        Self {
            flavor,
            ansi_quotes: sql_mode & MODE_ANSI_QUOTES != 0,
            no_backslash_escapes: sql_mode & MODE_NO_BACKSLASH_ESCAPES != 0,
        }
    }

    /// The server family.
    #[must_use]
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// `"…"` quotes identifiers (`ANSI_QUOTES`).
    #[must_use]
    pub fn ansi_quotes(&self) -> bool {
        self.ansi_quotes
    }

    /// Backslash is an ordinary character in strings (`NO_BACKSLASH_ESCAPES`).
    #[must_use]
    pub fn no_backslash_escapes(&self) -> bool {
        self.no_backslash_escapes
    }
}

impl From<Flavor> for Dialect {
    fn from(flavor: Flavor) -> Self {
        Self::new(flavor)
    }
}
