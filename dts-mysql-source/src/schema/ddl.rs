//! A hand-written parser for the MySQL/MariaDB DDL that changes table definitions.
//!
//! [`parse`] reads one statement into a [`Statement`]. Statements that cannot change a table
//! definition are [`Statement::Other`] after reading at most their first three words, so DML
//! logged in statement-based QUERY events, `BEGIN`, `GRANT`, `CREATE VIEW`/`TRIGGER`/
//! `PROCEDURE` (whose bodies may even contain DDL, which must not be applied) and `SET` never
//! cost a full tokenization and never fail.
//!
//! Grammar covered (keywords case-insensitive, names plain, `` `quoted` `` or, under
//! `ANSI_QUOTES`, `"quoted"`, optionally `db.`-qualified):
//!
//! - `CREATE [OR REPLACE] [TEMPORARY] TABLE [IF NOT EXISTS] t (element, …) [options]
//!   [partitioning] [[IGNORE|REPLACE] [AS] SELECT …]`, where an element is a column definition,
//!   `[CONSTRAINT [s]] PRIMARY KEY|UNIQUE [KEY|INDEX] [name] [USING t] (part, …) [options]`,
//!   `KEY|INDEX|FULLTEXT|SPATIAL …`, `[CONSTRAINT [s]] FOREIGN KEY … REFERENCES …`,
//!   `[CONSTRAINT [s]] CHECK (…)` or MariaDB's `PERIOD FOR …`;
//!   `CREATE TABLE t [(] LIKE other [)]`; `CREATE TABLE t [AS] SELECT|TABLE|VALUES …`.
//! - A column definition: a type (every MySQL/MariaDB type and alias: `BOOL`, `INTEGER`,
//!   `INT1`…`INT8`, `DEC`/`NUMERIC`/`FIXED`, `REAL`/`DOUBLE PRECISION`/`FLOAT(p)`,
//!   `CHARACTER [VARYING]`, `NATIONAL`/`NCHAR`/`NVARCHAR`, `LONG [VARCHAR|VARBINARY]`,
//!   `SERIAL`, the spatial types, `JSON`, `VECTOR(n)`) and any of `[NOT] NULL`, `DEFAULT v`,
//!   `AUTO_INCREMENT`, `UNIQUE [KEY]`, `[PRIMARY] KEY`, `COMMENT 's'`,
//!   `CHARACTER SET`/`CHARSET`/`COLLATE`/`BINARY`/`ASCII`/`UNICODE`/`BYTE`,
//!   `UNSIGNED`/`SIGNED`/`ZEROFILL`, `[GENERATED ALWAYS] AS (…) [VIRTUAL|STORED|PERSISTENT]`,
//!   `GENERATED ALWAYS AS ROW START|END`, `VISIBLE`/`INVISIBLE`, `ON UPDATE v`,
//!   `[CONSTRAINT [s]] CHECK (…) [[NOT] ENFORCED]`, `REFERENCES …`, `SRID n`,
//!   `COLUMN_FORMAT`, `STORAGE`, `[SECONDARY_]ENGINE_ATTRIBUTE`, `SERIAL DEFAULT VALUE`,
//!   MariaDB's `COMPRESSED`, `WITH[OUT] SYSTEM VERSIONING`, `REF_SYSTEM_ID`.
//!   Default values and expressions are skipped, not evaluated.
//! - `ALTER [ONLINE|OFFLINE] [IGNORE] TABLE [IF EXISTS] t [WAIT n|NOWAIT] op, …
//!   [partitioning]`, ops: `ADD [COLUMN] [IF NOT EXISTS] def [FIRST|AFTER c]`,
//!   `ADD [COLUMN] (def, …)`, `ADD` keys and constraints, `DROP [COLUMN] [IF EXISTS] c`,
//!   `DROP PRIMARY KEY`, `DROP INDEX|KEY [IF EXISTS] i`, `DROP FOREIGN KEY|CHECK|CONSTRAINT x`,
//!   `MODIFY [COLUMN] [IF EXISTS] def [FIRST|AFTER c]`,
//!   `CHANGE [COLUMN] [IF EXISTS] old def [FIRST|AFTER c]`, `RENAME COLUMN a TO b`,
//!   `RENAME INDEX|KEY a TO b`, `RENAME [TO|AS] t2`, `ALTER [COLUMN] c …`,
//!   `ALTER INDEX|CHECK|CONSTRAINT …`, `CONVERT TO CHARACTER SET x [COLLATE y]`,
//!   MariaDB's `CONVERT PARTITION p TO TABLE t` and `CONVERT TABLE t TO PARTITION …`,
//!   `ORDER BY …`, `[DEFAULT] CHARACTER SET|CHARSET|COLLATE [=] x` and every other table option
//!   or clause (`ENGINE=`, `ALGORITHM=`, `LOCK=`, `FORCE`, ...; read up to the next `,` and
//!   ignored), and partition operations (`PARTITION BY`, `ADD/DROP/… PARTITION`, ignored to
//!   the end of the statement).
//! - `RENAME TABLE[S] [IF EXISTS] a TO b, …`; `DROP [TEMPORARY] TABLE[S] [IF EXISTS] a, …`;
//!   `TRUNCATE [TABLE] t`; `CREATE [OR REPLACE] [ONLINE|OFFLINE] [UNIQUE|FULLTEXT|SPATIAL]
//!   INDEX [IF NOT EXISTS] i [USING t] ON t (…)`; `DROP INDEX [IF EXISTS] i ON t`;
//!   `CREATE [OR REPLACE] DATABASE|SCHEMA [IF NOT EXISTS] d [options]`,
//!   `ALTER DATABASE|SCHEMA [d] options`, `DROP DATABASE|SCHEMA [IF EXISTS] d`.
//!
//! Syntax errors are [`SchemaError`]s with [`SchemaErrorKind::Syntax`] (byte offset and what
//! was expected). Nothing here panics or recurses: every loop consumes a token.

use std::collections::VecDeque;

use dts_core::{ColumnDef, ColumnType, TableId};

use super::charset::{normalize_charset, normalize_collation};
use super::column::{blob_type_for_bytes, column_type_text};
use super::lexer::{Lexer, Token, TokenKind};
use super::{Dialect, Flavor, SchemaError, SchemaErrorKind};

/// A table name as written: `db.table` or `table`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableName {
    /// The database, when qualified.
    pub db: Option<String>,
    /// The table.
    pub name: String,
}

impl TableName {
    /// The table id, with `default_db` for an unqualified name; `None` when there is none.
    #[must_use]
    pub fn resolve(&self, default_db: Option<&str>) -> Option<TableId> {
        let db = self.db.as_deref().or(default_db)?;
        Some(TableId::new(db, self.name.as_str()))
    }
}

/// One parsed statement.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Statement {
    /// `CREATE TABLE … (…)` or `CREATE TABLE … SELECT`.
    CreateTable(CreateTable),
    /// `CREATE TABLE t LIKE other`.
    CreateTableLike {
        /// The new table.
        table: TableName,
        /// The table copied.
        like: TableName,
        /// `TEMPORARY`.
        temporary: bool,
        /// `IF NOT EXISTS`.
        if_not_exists: bool,
    },
    /// `ALTER TABLE`.
    AlterTable(AlterTable),
    /// `RENAME TABLE a TO b, …`, applied in order.
    RenameTables(Vec<(TableName, TableName)>),
    /// `DROP TABLE`.
    DropTables {
        /// The tables.
        tables: Vec<TableName>,
        /// `TEMPORARY`.
        temporary: bool,
        /// `IF EXISTS`.
        if_exists: bool,
    },
    /// `TRUNCATE TABLE`.
    Truncate(TableName),
    /// `CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX`.
    CreateIndex {
        /// The table.
        table: TableName,
        /// The index.
        key: KeySpec,
        /// `IF NOT EXISTS` (MariaDB).
        if_not_exists: bool,
    },
    /// `DROP INDEX i ON t`.
    DropIndex {
        /// The table.
        table: TableName,
        /// The index name.
        name: String,
        /// `IF EXISTS` (MariaDB).
        if_exists: bool,
    },
    /// `CREATE DATABASE`.
    CreateDatabase {
        /// The database.
        name: String,
        /// `IF NOT EXISTS`.
        if_not_exists: bool,
        /// `OR REPLACE` (MariaDB).
        or_replace: bool,
        /// `CHARACTER SET`, normalized.
        charset: Option<String>,
        /// `COLLATE`, normalized.
        collation: Option<String>,
    },
    /// `ALTER DATABASE`.
    AlterDatabase {
        /// The database (`None`: the default database).
        name: Option<String>,
        /// `CHARACTER SET`, normalized.
        charset: Option<String>,
        /// `COLLATE`, normalized.
        collation: Option<String>,
    },
    /// `DROP DATABASE`.
    DropDatabase {
        /// The database.
        name: String,
        /// `IF EXISTS`.
        if_exists: bool,
    },
    /// Anything that does not change a table definition.
    Other,
}

/// `CREATE TABLE` with a column list, or `… SELECT`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateTable {
    /// The table.
    pub table: TableName,
    /// `TEMPORARY`.
    pub temporary: bool,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// `OR REPLACE` (MariaDB).
    pub or_replace: bool,
    /// The columns, in order.
    pub columns: Vec<ColumnSpec>,
    /// Keys and indexes declared as table elements (not column attributes).
    pub keys: Vec<KeySpec>,
    /// The table's `[DEFAULT] CHARACTER SET`, normalized.
    pub charset: Option<String>,
    /// The table's `[DEFAULT] COLLATE`, normalized.
    pub collation: Option<String>,
    /// The columns (or more of them) come from a query: `… [AS] SELECT|TABLE|VALUES`.
    pub select: bool,
    /// MariaDB `WITH SYSTEM VERSIONING` (adds hidden `row_start`/`row_end` columns).
    pub system_versioning: bool,
}

/// A column definition.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColumnSpec {
    /// The column. `charset`/`collation` are only what the definition declares (normalized);
    /// the table's default applies when resolved into a table.
    pub def: ColumnDef,
    /// `ZEROFILL`.
    pub zerofill: bool,
    /// The integer display width or `YEAR(4)` width, when declared.
    pub display_width: Option<u64>,
    /// The `BINARY` attribute of a character type: the `_bin` collation of its charset.
    pub binary_collation: bool,
    /// `TEXT(n)`: the smallest TEXT type for `n` characters is chosen once the charset is
    /// known.
    pub text_length: Option<u64>,
    /// Column-level `PRIMARY KEY` (or `KEY`).
    pub primary_key: bool,
    /// Column-level `UNIQUE [KEY]` (or `SERIAL`).
    pub unique: bool,
    /// `AUTO_INCREMENT`.
    pub auto_increment: bool,
    /// A generated column.
    pub generated: Option<Generated>,
    /// `INVISIBLE`.
    pub invisible: bool,
    /// `COMMENT '…'`.
    pub comment: Option<String>,
    /// A `DEFAULT` clause was given.
    pub has_default: bool,
    /// The type name as written, lower case (`point`, `integer`), for `column_type`.
    pub(crate) type_name: String,
}

impl ColumnSpec {
    fn new(name: String) -> Self {
        Self {
            def: ColumnDef::new(name, ColumnType::Int),
            zerofill: false,
            display_width: None,
            binary_collation: false,
            text_length: None,
            primary_key: false,
            unique: false,
            auto_increment: false,
            generated: None,
            invisible: false,
            comment: None,
            has_default: false,
            type_name: String::new(),
        }
    }
}

/// How a generated column is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generated {
    /// `VIRTUAL` (the default): computed on read; still in MySQL's full row image.
    Virtual,
    /// `STORED` / `PERSISTENT`.
    Stored,
}

/// What kind of key or constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `PRIMARY KEY`.
    Primary,
    /// `UNIQUE`.
    Unique,
    /// `KEY` / `INDEX`.
    Index,
    /// `FULLTEXT`.
    Fulltext,
    /// `SPATIAL`.
    Spatial,
}

/// A key (index) definition.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeySpec {
    /// The kind.
    pub kind: KeyKind,
    /// The declared name (`PRIMARY` for the primary key; the `CONSTRAINT` name when the index
    /// has none), `None` when the server names it.
    pub name: Option<String>,
    /// The key parts.
    pub parts: Vec<KeyPart>,
}

/// One part of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPart {
    /// A column, or a prefix of it.
    Column {
        /// The column name.
        name: String,
        /// The prefix length, `col(n)`.
        prefix: Option<u64>,
    },
    /// An expression (MySQL 8 functional key part) or a MariaDB period.
    Expression,
}

/// `ALTER TABLE`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlterTable {
    /// The table.
    pub table: TableName,
    /// The operations that can change the definition, in statement order (ignored options
    /// are left out).
    pub ops: Vec<AlterOp>,
}

/// Where `FIRST` / `AFTER` puts a column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnPosition {
    /// `FIRST`.
    First,
    /// `AFTER c`.
    After(String),
}

/// One `ALTER TABLE` operation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlterOp {
    /// `ADD [COLUMN]`.
    AddColumn {
        /// The column.
        column: ColumnSpec,
        /// `FIRST` / `AFTER`; `None` appends.
        position: Option<ColumnPosition>,
        /// `IF NOT EXISTS` (MariaDB).
        if_not_exists: bool,
    },
    /// `DROP [COLUMN]`.
    DropColumn {
        /// The column.
        name: String,
        /// `IF EXISTS` (MariaDB).
        if_exists: bool,
    },
    /// `MODIFY [COLUMN]`: a new definition under the same name.
    ModifyColumn {
        /// The new definition.
        column: ColumnSpec,
        /// `FIRST` / `AFTER`; `None` keeps the place.
        position: Option<ColumnPosition>,
        /// `IF EXISTS` (MariaDB).
        if_exists: bool,
    },
    /// `CHANGE [COLUMN] old def`.
    ChangeColumn {
        /// The current name.
        old: String,
        /// The new definition (and name).
        column: ColumnSpec,
        /// `FIRST` / `AFTER`; `None` keeps the place.
        position: Option<ColumnPosition>,
        /// `IF EXISTS` (MariaDB).
        if_exists: bool,
    },
    /// `RENAME COLUMN a TO b`.
    RenameColumn {
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `ALTER [COLUMN] c SET DEFAULT …` and the like: the column must exist, nothing else
    /// changes.
    AlterColumn {
        /// The column.
        name: String,
        /// `IF EXISTS` (MariaDB).
        if_exists: bool,
    },
    /// `ADD` a key or index.
    AddKey {
        /// The key.
        key: KeySpec,
        /// `IF NOT EXISTS` (MariaDB).
        if_not_exists: bool,
    },
    /// `DROP PRIMARY KEY`.
    DropPrimaryKey,
    /// `DROP INDEX|KEY`.
    DropIndex {
        /// The index.
        name: String,
        /// `IF EXISTS`.
        if_exists: bool,
    },
    /// `DROP CONSTRAINT` (drops a unique key of that name, if any).
    DropConstraint {
        /// The constraint.
        name: String,
    },
    /// `RENAME INDEX|KEY a TO b`.
    RenameIndex {
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `RENAME [TO|AS] t2`.
    RenameTable(TableName),
    /// `CONVERT TO CHARACTER SET x [COLLATE y]` (`charset` `None`: `DEFAULT`, the database's).
    ConvertCharset {
        /// The charset, normalized.
        charset: Option<String>,
        /// The collation, normalized.
        collation: Option<String>,
    },
    /// `[DEFAULT] CHARACTER SET|CHARSET|COLLATE [=] x` table option: new columns' default.
    DefaultCharset {
        /// The charset, normalized.
        charset: Option<String>,
        /// The collation, normalized.
        collation: Option<String>,
    },
    /// MariaDB `CONVERT PARTITION p TO TABLE t`: `t` is created with this table's columns.
    PartitionToTable(TableName),
    /// MariaDB `CONVERT TABLE t TO PARTITION …`: `t` is dropped.
    TableToPartition(TableName),
    /// MariaDB `ADD|DROP SYSTEM VERSIONING` or `WITH SYSTEM VERSIONING` (hidden columns
    /// change: a reload is needed).
    SystemVersioning,
}

/// Parses one statement (a trailing `;` is allowed).
///
/// # Errors
/// [`SchemaErrorKind::Syntax`] for malformed DDL (the statement is attached);
/// [`SchemaErrorKind::UnsupportedType`] for a column type this crate does not know (the table's
/// database is empty when the name is unqualified).
pub fn parse(sql: &str, dialect: impl Into<Dialect>) -> Result<Statement, SchemaError> {
    parse_in(sql, dialect.into(), None)
}

/// [`parse`], naming unqualified tables in errors with `default_db`.
pub(crate) fn parse_in(
    sql: &str,
    dialect: Dialect,
    default_db: Option<&str>,
) -> Result<Statement, SchemaError> {
    let mut p = Parser {
        lexer: Lexer::new(sql, dialect),
        ahead: VecDeque::new(),
        flavor: dialect.flavor,
        table: None,
    };
    p.statement().map_err(|e| {
        let kind = match e {
            PErr::Syntax { offset, message } => SchemaErrorKind::Syntax { offset, message },
            PErr::Unsupported {
                table,
                column,
                type_name,
            } => SchemaErrorKind::UnsupportedType {
                table: table
                    .as_ref()
                    .and_then(|t| t.resolve(default_db))
                    .unwrap_or_else(|| TableId::new("", table.map(|t| t.name).unwrap_or_default())),
                column,
                type_name,
            },
        };
        SchemaError::new(kind).in_statement(sql)
    })
}

enum PErr {
    Syntax {
        offset: usize,
        message: String,
    },
    Unsupported {
        table: Option<TableName>,
        column: String,
        type_name: String,
    },
}

type PResult<T> = Result<T, PErr>;

/// A `CHARACTER SET` and a `COLLATE` value, either possibly absent.
type CharsetPair = (Option<String>, Option<String>);

static END: Token = Token {
    kind: TokenKind::End,
    offset: 0,
};

/// Table-element keywords that start a key or constraint rather than a column.
const KEY_STARTS: &[&str] = &[
    "CONSTRAINT",
    "PRIMARY",
    "UNIQUE",
    "KEY",
    "INDEX",
    "FULLTEXT",
    "SPATIAL",
    "FOREIGN",
    "CHECK",
];

/// Verbs that, followed by `PARTITION`, start a partition operation.
const PARTITION_VERBS: &[&str] = &[
    "ADD",
    "DROP",
    "DISCARD",
    "IMPORT",
    "TRUNCATE",
    "COALESCE",
    "REORGANIZE",
    "EXCHANGE",
    "ANALYZE",
    "CHECK",
    "OPTIMIZE",
    "REBUILD",
    "REPAIR",
];

struct Parser<'a> {
    lexer: Lexer<'a>,
    ahead: VecDeque<Token>,
    flavor: Flavor,
    /// The table being defined, for error messages.
    table: Option<TableName>,
}

impl Parser<'_> {
    // ---- token access ---------------------------------------------------------------------

    fn peek_at(&mut self, n: usize) -> &Token {
        while self.ahead.len() <= n {
            let t = self.lexer.next_token();
            self.ahead.push_back(t);
        }
        self.ahead.get(n).unwrap_or(&END)
    }

    fn peek(&mut self) -> &Token {
        self.peek_at(0)
    }

    fn next(&mut self) -> Token {
        self.peek_at(0);
        self.ahead.pop_front().unwrap_or_else(|| END.clone())
    }

    fn kw(&mut self, kw: &str) -> bool {
        self.peek().is_kw(kw)
    }

    fn kw_at(&mut self, n: usize, kw: &str) -> bool {
        self.peek_at(n).is_kw(kw)
    }

    fn any_kw(&mut self, kws: &[&str]) -> bool {
        kws.iter().any(|k| self.kw(k))
    }

    fn eat(&mut self, kw: &str) -> bool {
        let yes = self.kw(kw);
        if yes {
            self.next();
        }
        yes
    }

    /// Consumes the keywords `kws` if they all come next.
    fn eat_seq(&mut self, kws: &[&str]) -> bool {
        let all = kws.iter().enumerate().all(|(i, k)| self.kw_at(i, k));
        if all {
            for _ in kws {
                self.next();
            }
        }
        all
    }

    fn expect(&mut self, kw: &str) -> PResult<()> {
        if self.eat(kw) {
            Ok(())
        } else {
            Err(self.unexpected(kw))
        }
    }

    fn punct(&mut self, c: char) -> bool {
        self.peek().is_punct(c)
    }

    fn punct_at(&mut self, n: usize, c: char) -> bool {
        self.peek_at(n).is_punct(c)
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let yes = self.punct(c);
        if yes {
            self.next();
        }
        yes
    }

    fn expect_punct(&mut self, c: char) -> PResult<()> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{c}`")))
        }
    }

    fn at_end(&mut self) -> bool {
        self.peek().is_end()
    }

    fn unexpected(&mut self, expected: &str) -> PErr {
        let t = self.peek();
        PErr::Syntax {
            offset: t.offset,
            message: format!("expected {expected}, found {}", t.describe()),
        }
    }

    fn is_ident_at(&mut self, n: usize) -> bool {
        matches!(
            self.peek_at(n).kind,
            TokenKind::Word(_) | TokenKind::Quoted(_) | TokenKind::Str { double: true, .. }
        )
    }

    /// An identifier: a word, a quoted identifier, or a double-quoted string (which the
    /// server only accepts there under `ANSI_QUOTES`).
    fn ident(&mut self, what: &str) -> PResult<String> {
        if !self.is_ident_at(0) {
            return Err(self.unexpected(what));
        }
        match self.next().kind {
            TokenKind::Word(s) | TokenKind::Quoted(s) | TokenKind::Str { value: s, .. } => Ok(s),
            _ => Err(self.unexpected(what)),
        }
    }

    fn table_name(&mut self) -> PResult<TableName> {
        let first = self.ident("a table name")?;
        if self.eat_punct('.') {
            let name = self.ident("a table name")?;
            Ok(TableName {
                db: Some(first),
                name,
            })
        } else {
            Ok(TableName {
                db: None,
                name: first,
            })
        }
    }

    /// A charset or collation name: a word, quoted identifier or string.
    fn name_value(&mut self, what: &str) -> PResult<String> {
        match &self.peek().kind {
            TokenKind::Word(_) | TokenKind::Quoted(_) | TokenKind::Str { .. } => {}
            _ => return Err(self.unexpected(what)),
        }
        match self.next().kind {
            TokenKind::Word(s) | TokenKind::Quoted(s) | TokenKind::Str { value: s, .. } => Ok(s),
            _ => Err(self.unexpected(what)),
        }
    }

    fn string(&mut self, what: &str) -> PResult<String> {
        if !matches!(self.peek().kind, TokenKind::Str { .. }) {
            return Err(self.unexpected(what));
        }
        let mut out = String::new();
        // Adjacent strings concatenate: 'a' 'b' is 'ab'.
        while let TokenKind::Str { value, .. } = &self.peek().kind {
            out.push_str(value);
            self.next();
        }
        Ok(out)
    }

    fn number(&mut self, what: &str) -> PResult<u64> {
        if let TokenKind::Number(n) = &self.peek().kind
            && let Ok(v) = n.parse::<u64>()
        {
            self.next();
            return Ok(v);
        }
        Err(self.unexpected(what))
    }

    /// `( … )` with nesting, contents ignored.
    fn skip_parens(&mut self) -> PResult<()> {
        self.expect_punct('(')?;
        let mut depth = 1usize;
        loop {
            let t = self.next();
            match t.kind {
                TokenKind::Punct('(') => depth = depth.saturating_add(1),
                TokenKind::Punct(')') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Ok(());
                    }
                }
                TokenKind::End => {
                    return Err(PErr::Syntax {
                        offset: t.offset,
                        message: "unbalanced parentheses".to_owned(),
                    });
                }
                TokenKind::Error(e) => return Err(lex_error(t.offset, e)),
                _ => {}
            }
        }
    }

    /// Skips tokens (and parenthesized groups) up to a `,` or `)` at this depth or the end.
    fn skip_clause(&mut self) -> PResult<()> {
        loop {
            if self.at_end() || self.punct(',') || self.punct(')') {
                return Ok(());
            }
            if self.punct('(') {
                self.skip_parens()?;
                continue;
            }
            let t = self.next();
            if let TokenKind::Error(e) = t.kind {
                return Err(lex_error(t.offset, e));
            }
        }
    }

    /// Skips everything up to the end of the statement.
    fn skip_rest(&mut self) -> PResult<()> {
        while !self.at_end() {
            let t = self.next();
            if let TokenKind::Error(e) = t.kind {
                return Err(lex_error(t.offset, e));
            }
        }
        Ok(())
    }

    fn if_exists(&mut self) -> bool {
        self.eat_seq(&["IF", "EXISTS"])
    }

    fn if_not_exists(&mut self) -> bool {
        self.eat_seq(&["IF", "NOT", "EXISTS"])
    }

    /// MariaDB `WAIT n` / `NOWAIT`.
    fn wait_option(&mut self) -> PResult<()> {
        if self.eat("WAIT") {
            self.number("a number of seconds")?;
        } else {
            self.eat("NOWAIT");
        }
        Ok(())
    }

    // ---- statements -----------------------------------------------------------------------

    fn statement(&mut self) -> PResult<Statement> {
        if let TokenKind::Error(e) = self.peek().kind {
            let offset = self.peek().offset;
            return Err(lex_error(offset, e));
        }
        let st = if self.eat("CREATE") {
            self.create()?
        } else if self.eat("ALTER") {
            self.alter()?
        } else if self.eat("DROP") {
            self.drop()?
        } else if self.eat("RENAME") {
            self.rename()?
        } else if self.eat("TRUNCATE") {
            self.truncate()?
        } else {
            Statement::Other
        };
        if st != Statement::Other {
            self.finish()?;
        }
        Ok(st)
    }

    fn finish(&mut self) -> PResult<()> {
        while self.eat_punct(';') {}
        match self.peek().kind {
            TokenKind::End => Ok(()),
            TokenKind::Error(e) => {
                let offset = self.peek().offset;
                Err(lex_error(offset, e))
            }
            _ => Err(self.unexpected("the end of the statement")),
        }
    }

    fn create(&mut self) -> PResult<Statement> {
        let or_replace = self.eat_seq(&["OR", "REPLACE"]);
        let temporary = self.eat("TEMPORARY");
        if self.eat("TABLE") {
            return self.create_table(or_replace, temporary);
        }
        if temporary {
            return Ok(Statement::Other);
        }
        if self.eat("DATABASE") || self.eat("SCHEMA") {
            return self.create_database(or_replace);
        }
        let online = usize::from(self.kw("ONLINE") || self.kw("OFFLINE"));
        let kind = if self.kw_at(online, "UNIQUE") {
            Some(KeyKind::Unique)
        } else if self.kw_at(online, "FULLTEXT") {
            Some(KeyKind::Fulltext)
        } else if self.kw_at(online, "SPATIAL") {
            Some(KeyKind::Spatial)
        } else {
            None
        };
        let index_at = online.saturating_add(usize::from(kind.is_some()));
        if !self.kw_at(index_at, "INDEX") {
            return Ok(Statement::Other);
        }
        for _ in 0..=index_at {
            self.next();
        }
        let if_not_exists = self.if_not_exists();
        let name = self.ident("an index name")?;
        self.index_type()?;
        self.expect("ON")?;
        let table = self.table_name()?;
        let parts = self.key_parts()?;
        self.skip_rest()?;
        Ok(Statement::CreateIndex {
            table,
            key: KeySpec {
                kind: kind.unwrap_or(KeyKind::Index),
                name: Some(name),
                parts,
            },
            if_not_exists,
        })
    }

    fn create_table(&mut self, or_replace: bool, temporary: bool) -> PResult<Statement> {
        let if_not_exists = self.if_not_exists();
        let table = self.table_name()?;
        self.table = Some(table.clone());
        if self.eat("LIKE") {
            let like = self.table_name()?;
            return Ok(Statement::CreateTableLike {
                table,
                like,
                temporary,
                if_not_exists,
            });
        }
        if self.punct('(') && self.kw_at(1, "LIKE") {
            self.next();
            self.next();
            let like = self.table_name()?;
            self.expect_punct(')')?;
            return Ok(Statement::CreateTableLike {
                table,
                like,
                temporary,
                if_not_exists,
            });
        }
        let mut ct = CreateTable {
            table,
            temporary,
            if_not_exists,
            or_replace,
            columns: Vec::new(),
            keys: Vec::new(),
            charset: None,
            collation: None,
            select: false,
            system_versioning: false,
        };
        if self.punct('(') && !self.query_at(1) {
            self.next();
            loop {
                if self.key_start() {
                    if let (Some(key), _) = self.key_spec()? {
                        ct.keys.push(key);
                    }
                } else {
                    let column = self.column_spec()?;
                    ct.columns.push(column);
                }
                if self.eat_punct(',') {
                    continue;
                }
                self.expect_punct(')')?;
                break;
            }
        }
        self.create_table_options(&mut ct)?;
        if ct.columns.is_empty() && !ct.select {
            return Err(self.unexpected("column definitions"));
        }
        Ok(Statement::CreateTable(ct))
    }

    /// Whether a query (`SELECT`, `WITH`, `VALUES`, `TABLE`, `(`) starts at `n`.
    fn query_at(&mut self, n: usize) -> bool {
        ["SELECT", "WITH", "VALUES", "TABLE"]
            .iter()
            .any(|k| self.kw_at(n, k))
            || self.punct_at(n, '(')
    }

    fn create_table_options(&mut self, ct: &mut CreateTable) -> PResult<()> {
        loop {
            if self.at_end() {
                return Ok(());
            }
            if self.punct('(') {
                if self.query_at(1) {
                    ct.select = true;
                    return self.skip_rest();
                }
                self.skip_parens()?;
                continue;
            }
            if self.eat_seq(&["WITH", "SYSTEM", "VERSIONING"]) {
                ct.system_versioning = true;
                continue;
            }
            if self.any_kw(&["SELECT", "AS", "VALUES", "TABLE", "WITH"])
                || (self.any_kw(&["IGNORE", "REPLACE"])
                    && (self.kw_at(1, "AS") || self.query_at(1)))
            {
                ct.select = true;
                return self.skip_rest();
            }
            if let Some((charset, collation)) = self.charset_option()? {
                if charset.is_some() {
                    ct.charset = charset;
                }
                if collation.is_some() {
                    ct.collation = collation;
                }
                continue;
            }
            let t = self.next();
            if let TokenKind::Error(e) = t.kind {
                return Err(lex_error(t.offset, e));
            }
        }
    }

    /// `[DEFAULT] CHARACTER SET|CHARSET [=] x` or `[DEFAULT] COLLATE [=] x` as (charset,
    /// collation); `None` when neither comes next. A `DEFAULT` value is `(None, None)`.
    fn charset_option(&mut self) -> PResult<Option<CharsetPair>> {
        let d = usize::from(self.kw("DEFAULT"));
        let charset = if self.kw_at(d, "CHARACTER") && self.kw_at(d.saturating_add(1), "SET") {
            Some(d.saturating_add(2))
        } else if self.kw_at(d, "CHARSET") {
            Some(d.saturating_add(1))
        } else {
            None
        };
        let collate = charset.is_none() && self.kw_at(d, "COLLATE");
        let skip = match (charset, collate) {
            (Some(n), _) => n,
            (None, true) => d.saturating_add(1),
            (None, false) => return Ok(None),
        };
        for _ in 0..skip {
            self.next();
        }
        self.eat_punct('=');
        let value = self.name_value("a character set or collation name")?;
        let value = if value.eq_ignore_ascii_case("default") {
            None
        } else if collate {
            Some(normalize_collation(&value))
        } else {
            Some(normalize_charset(&value))
        };
        Ok(Some(if collate {
            (None, value)
        } else {
            (value, None)
        }))
    }

    fn create_database(&mut self, or_replace: bool) -> PResult<Statement> {
        let if_not_exists = self.if_not_exists();
        let name = self.ident("a database name")?;
        let (charset, collation) = self.database_options()?;
        Ok(Statement::CreateDatabase {
            name,
            if_not_exists,
            or_replace,
            charset,
            collation,
        })
    }

    fn database_options(&mut self) -> PResult<(Option<String>, Option<String>)> {
        let (mut charset, mut collation) = (None, None);
        while !self.at_end() {
            if let Some((cs, coll)) = self.charset_option()? {
                charset = cs.or(charset);
                collation = coll.or(collation);
                continue;
            }
            let t = self.next();
            if let TokenKind::Error(e) = t.kind {
                return Err(lex_error(t.offset, e));
            }
        }
        Ok((charset, collation))
    }

    fn alter(&mut self) -> PResult<Statement> {
        if self.eat("DATABASE") || self.eat("SCHEMA") {
            let options = [
                "DEFAULT",
                "CHARACTER",
                "CHARSET",
                "COLLATE",
                "ENCRYPTION",
                "READ",
                "COMMENT",
            ];
            let name = if self.any_kw(&options) {
                None
            } else {
                Some(self.ident("a database name")?)
            };
            if self.kw("UPGRADE") {
                self.skip_rest()?;
                return Ok(Statement::Other);
            }
            let (charset, collation) = self.database_options()?;
            return Ok(Statement::AlterDatabase {
                name,
                charset,
                collation,
            });
        }
        let online = usize::from(self.kw("ONLINE") || self.kw("OFFLINE"));
        let ignore = usize::from(self.kw_at(online, "IGNORE"));
        let table_at = online.saturating_add(ignore);
        if !self.kw_at(table_at, "TABLE") {
            return Ok(Statement::Other);
        }
        for _ in 0..=table_at {
            self.next();
        }
        self.if_exists();
        let table = self.table_name()?;
        self.table = Some(table.clone());
        self.wait_option()?;
        let mut ops = Vec::new();
        loop {
            if self.at_end() {
                break;
            }
            if self.partition_start() {
                self.skip_rest()?;
                break;
            }
            self.alter_op(&mut ops)?;
            if self.eat_punct(',') {
                if self.at_end() {
                    return Err(self.unexpected("an ALTER TABLE operation"));
                }
                continue;
            }
            if self.at_end() {
                break;
            }
            if self.partition_start() {
                self.skip_rest()?;
                break;
            }
            return Err(self.unexpected("`,` or the end of the statement"));
        }
        Ok(Statement::AlterTable(AlterTable { table, ops }))
    }

    /// A partitioning clause or partition operation, which runs to the end of the statement.
    fn partition_start(&mut self) -> bool {
        (self.kw("PARTITION") && self.kw_at(1, "BY"))
            || (self.kw("REMOVE") && self.kw_at(1, "PARTITIONING"))
            || (self.any_kw(PARTITION_VERBS) && self.kw_at(1, "PARTITION"))
    }

    fn position(&mut self) -> PResult<Option<ColumnPosition>> {
        if self.eat("FIRST") {
            Ok(Some(ColumnPosition::First))
        } else if self.eat("AFTER") {
            Ok(Some(ColumnPosition::After(self.ident("a column name")?)))
        } else {
            Ok(None)
        }
    }

    fn alter_op(&mut self, ops: &mut Vec<AlterOp>) -> PResult<()> {
        if self.eat("ADD") {
            return self.alter_add(ops);
        }
        if self.eat("DROP") {
            return self.alter_drop(ops);
        }
        if self.eat("MODIFY") {
            self.eat("COLUMN");
            let if_exists = self.if_exists();
            let column = self.column_spec()?;
            let position = self.position()?;
            ops.push(AlterOp::ModifyColumn {
                column,
                position,
                if_exists,
            });
            return Ok(());
        }
        if self.eat("CHANGE") {
            self.eat("COLUMN");
            let if_exists = self.if_exists();
            let old = self.ident("a column name")?;
            let column = self.column_spec()?;
            let position = self.position()?;
            ops.push(AlterOp::ChangeColumn {
                old,
                column,
                position,
                if_exists,
            });
            return Ok(());
        }
        if self.eat("RENAME") {
            if self.eat("COLUMN") {
                let from = self.ident("a column name")?;
                self.expect("TO")?;
                let to = self.ident("a column name")?;
                ops.push(AlterOp::RenameColumn { from, to });
            } else if self.eat("INDEX") || self.eat("KEY") {
                let from = self.ident("an index name")?;
                self.expect("TO")?;
                let to = self.ident("an index name")?;
                ops.push(AlterOp::RenameIndex { from, to });
            } else {
                let _ = self.eat("TO") || self.eat("AS");
                ops.push(AlterOp::RenameTable(self.table_name()?));
            }
            return Ok(());
        }
        if self.eat("ALTER") {
            if self.any_kw(&["INDEX", "KEY", "CHECK", "CONSTRAINT"]) {
                return self.skip_clause();
            }
            self.eat("COLUMN");
            let if_exists = self.if_exists();
            let name = self.ident("a column name")?;
            ops.push(AlterOp::AlterColumn { name, if_exists });
            return self.skip_clause();
        }
        if self.kw("CONVERT") {
            if self.kw_at(1, "TO") {
                self.next();
                self.next();
                if !(self.eat_seq(&["CHARACTER", "SET"]) || self.eat("CHARSET")) {
                    return Err(self.unexpected("CHARACTER SET"));
                }
                self.eat_punct('=');
                let cs = self.name_value("a character set name")?;
                let charset = (!cs.eq_ignore_ascii_case("default")).then(|| normalize_charset(&cs));
                let collation = if self.eat("COLLATE") {
                    self.eat_punct('=');
                    Some(normalize_collation(&self.name_value("a collation name")?))
                } else {
                    None
                };
                ops.push(AlterOp::ConvertCharset { charset, collation });
                return Ok(());
            }
            if self.kw_at(1, "PARTITION") {
                self.next();
                self.next();
                self.ident("a partition name")?;
                self.expect("TO")?;
                self.expect("TABLE")?;
                ops.push(AlterOp::PartitionToTable(self.table_name()?));
                return self.skip_clause();
            }
            if self.kw_at(1, "TABLE") {
                self.next();
                self.next();
                ops.push(AlterOp::TableToPartition(self.table_name()?));
                return self.skip_rest();
            }
        }
        if self.kw("ORDER") && self.kw_at(1, "BY") {
            self.next();
            self.next();
            loop {
                self.ident("a column name")?;
                let _ = self.eat("ASC") || self.eat("DESC");
                // `ORDER BY a, b` vs `ORDER BY a, ENGINE=…`: another column is a name followed
                // by `,`, ASC/DESC or the end.
                let more = self.punct(',')
                    && self.is_ident_at(1)
                    && (self.punct_at(2, ',')
                        || self.peek_at(2).is_end()
                        || self.kw_at(2, "ASC")
                        || self.kw_at(2, "DESC"));
                if !more {
                    return Ok(());
                }
                self.next();
            }
        }
        // Table options and clauses that do not change columns: read to the next `,`.
        loop {
            if self.at_end() || self.punct(',') || self.partition_start() {
                return Ok(());
            }
            if self.punct(')') {
                return Err(self.unexpected("an ALTER TABLE operation"));
            }
            if self.eat_seq(&["WITH", "SYSTEM", "VERSIONING"]) {
                ops.push(AlterOp::SystemVersioning);
                continue;
            }
            if let Some((charset, collation)) = self.charset_option()? {
                ops.push(AlterOp::DefaultCharset { charset, collation });
                continue;
            }
            if self.punct('(') {
                self.skip_parens()?;
                continue;
            }
            let t = self.next();
            if let TokenKind::Error(e) = t.kind {
                return Err(lex_error(t.offset, e));
            }
        }
    }

    fn alter_add(&mut self, ops: &mut Vec<AlterOp>) -> PResult<()> {
        let column_kw = self.eat("COLUMN");
        if !column_kw {
            if self.key_start() {
                if let (Some(key), if_not_exists) = self.key_spec()? {
                    ops.push(AlterOp::AddKey { key, if_not_exists });
                }
                return Ok(());
            }
            if self.eat_seq(&["SYSTEM", "VERSIONING"]) {
                ops.push(AlterOp::SystemVersioning);
                return Ok(());
            }
        }
        let if_not_exists = self.if_not_exists();
        if self.eat_punct('(') {
            loop {
                if self.key_start() {
                    if let (Some(key), if_not_exists) = self.key_spec()? {
                        ops.push(AlterOp::AddKey { key, if_not_exists });
                    }
                } else {
                    let column = self.column_spec()?;
                    ops.push(AlterOp::AddColumn {
                        column,
                        position: None,
                        if_not_exists,
                    });
                }
                if self.eat_punct(',') {
                    continue;
                }
                return self.expect_punct(')');
            }
        }
        let column = self.column_spec()?;
        let position = self.position()?;
        ops.push(AlterOp::AddColumn {
            column,
            position,
            if_not_exists,
        });
        Ok(())
    }

    fn alter_drop(&mut self, ops: &mut Vec<AlterOp>) -> PResult<()> {
        if self.eat_seq(&["PRIMARY", "KEY"]) {
            ops.push(AlterOp::DropPrimaryKey);
        } else if self.eat("INDEX") || self.eat("KEY") {
            let if_exists = self.if_exists();
            let name = self.ident("an index name")?;
            ops.push(AlterOp::DropIndex { name, if_exists });
        } else if self.eat_seq(&["FOREIGN", "KEY"]) {
            self.if_exists();
            self.ident("a foreign key name")?;
        } else if self.eat("CHECK") {
            self.ident("a constraint name")?;
        } else if self.eat("CONSTRAINT") {
            self.if_exists();
            let name = self.ident("a constraint name")?;
            ops.push(AlterOp::DropConstraint { name });
        } else if self.eat_seq(&["SYSTEM", "VERSIONING"]) {
            ops.push(AlterOp::SystemVersioning);
        } else if self.eat_seq(&["PERIOD", "FOR"]) {
            self.ident("a period name")?;
        } else {
            self.eat("COLUMN");
            let if_exists = self.if_exists();
            let name = self.ident("a column name")?;
            // `DROP COLUMN c RESTRICT|CASCADE` is accepted (and ignored) by MySQL.
            let _ = self.eat("RESTRICT") || self.eat("CASCADE");
            ops.push(AlterOp::DropColumn { name, if_exists });
        }
        Ok(())
    }

    fn rename(&mut self) -> PResult<Statement> {
        if !(self.eat("TABLE") || self.eat("TABLES")) {
            return Ok(Statement::Other);
        }
        self.if_exists();
        let mut pairs = Vec::new();
        loop {
            let from = self.table_name()?;
            self.wait_option()?;
            self.expect("TO")?;
            let to = self.table_name()?;
            pairs.push((from, to));
            if !self.eat_punct(',') {
                return Ok(Statement::RenameTables(pairs));
            }
        }
    }

    fn drop(&mut self) -> PResult<Statement> {
        let temporary = self.eat("TEMPORARY");
        if self.eat("TABLE") || self.eat("TABLES") {
            let if_exists = self.if_exists();
            let mut tables = Vec::new();
            loop {
                tables.push(self.table_name()?);
                if !self.eat_punct(',') {
                    break;
                }
            }
            self.wait_option()?;
            let _ = self.eat("RESTRICT") || self.eat("CASCADE");
            return Ok(Statement::DropTables {
                tables,
                temporary,
                if_exists,
            });
        }
        if temporary {
            return Ok(Statement::Other);
        }
        if self.eat("DATABASE") || self.eat("SCHEMA") {
            let if_exists = self.if_exists();
            let name = self.ident("a database name")?;
            return Ok(Statement::DropDatabase { name, if_exists });
        }
        let online = usize::from(self.kw("ONLINE") || self.kw("OFFLINE"));
        if !self.kw_at(online, "INDEX") {
            return Ok(Statement::Other);
        }
        for _ in 0..=online {
            self.next();
        }
        let if_exists = self.if_exists();
        let name = self.ident("an index name")?;
        self.expect("ON")?;
        let table = self.table_name()?;
        self.skip_rest()?;
        Ok(Statement::DropIndex {
            table,
            name,
            if_exists,
        })
    }

    fn truncate(&mut self) -> PResult<Statement> {
        self.eat("TABLE");
        let table = self.table_name()?;
        self.wait_option()?;
        Ok(Statement::Truncate(table))
    }

    // ---- keys -----------------------------------------------------------------------------

    fn key_start(&mut self) -> bool {
        self.any_kw(KEY_STARTS) || (self.kw("PERIOD") && self.kw_at(1, "FOR"))
    }

    /// A key or constraint; `None` for the ones that do not make an index we track (foreign
    /// keys, checks, periods). The flag is `IF NOT EXISTS`.
    fn key_spec(&mut self) -> PResult<(Option<KeySpec>, bool)> {
        let mut symbol = None;
        if self.eat("CONSTRAINT") && !self.any_kw(&["PRIMARY", "UNIQUE", "FOREIGN", "CHECK"]) {
            symbol = Some(self.ident("a constraint name")?);
        }
        if self.eat_seq(&["PERIOD", "FOR"]) {
            self.ident("a period name")?;
            self.skip_parens()?;
            return Ok((None, false));
        }
        if self.eat("CHECK") {
            self.skip_parens()?;
            self.enforced();
            return Ok((None, false));
        }
        if self.eat("FOREIGN") {
            self.expect("KEY")?;
            let if_not_exists = self.if_not_exists();
            if !self.punct('(') {
                self.ident("an index name")?;
            }
            self.skip_parens()?;
            self.references()?;
            return Ok((None, if_not_exists));
        }
        let kind = if self.eat("PRIMARY") {
            self.expect("KEY")?;
            KeyKind::Primary
        } else if self.eat("UNIQUE") {
            let _ = self.eat("KEY") || self.eat("INDEX");
            KeyKind::Unique
        } else if self.eat("FULLTEXT") {
            let _ = self.eat("KEY") || self.eat("INDEX");
            KeyKind::Fulltext
        } else if self.eat("SPATIAL") {
            let _ = self.eat("KEY") || self.eat("INDEX");
            KeyKind::Spatial
        } else if self.eat("KEY") || self.eat("INDEX") {
            KeyKind::Index
        } else {
            return Err(self.unexpected("a key definition"));
        };
        let if_not_exists = self.if_not_exists();
        let mut name = None;
        if !self.punct('(') && !self.kw("USING") && !self.kw("TYPE") {
            name = Some(self.ident("an index name")?);
        }
        self.index_type()?;
        let parts = self.key_parts()?;
        self.skip_clause()?;
        let name = if kind == KeyKind::Primary {
            Some("PRIMARY".to_owned())
        } else {
            name.or(symbol)
        };
        Ok((Some(KeySpec { kind, name, parts }), if_not_exists))
    }

    /// `USING BTREE|HASH|RTREE` or MariaDB `TYPE …`.
    fn index_type(&mut self) -> PResult<()> {
        if self.eat("USING") || self.eat("TYPE") {
            self.ident("an index type")?;
        }
        Ok(())
    }

    fn key_parts(&mut self) -> PResult<Vec<KeyPart>> {
        self.expect_punct('(')?;
        let mut parts = Vec::new();
        loop {
            if self.punct('(') {
                self.skip_parens()?;
                parts.push(KeyPart::Expression);
            } else {
                let name = self.ident("a key column")?;
                let prefix = if self.eat_punct('(') {
                    let n = self.number("a prefix length")?;
                    self.expect_punct(')')?;
                    Some(n)
                } else {
                    None
                };
                if self.eat_seq(&["WITHOUT", "OVERLAPS"]) {
                    parts.push(KeyPart::Expression);
                } else {
                    parts.push(KeyPart::Column { name, prefix });
                }
            }
            let _ = self.eat("ASC") || self.eat("DESC");
            if self.eat_punct(',') {
                continue;
            }
            self.expect_punct(')')?;
            return Ok(parts);
        }
    }

    fn enforced(&mut self) {
        let _ = self.eat_seq(&["NOT", "ENFORCED"]) || self.eat("ENFORCED");
    }

    /// `REFERENCES t [(cols)] [MATCH …] [ON DELETE|UPDATE action]…`.
    fn references(&mut self) -> PResult<()> {
        self.expect("REFERENCES")?;
        self.table_name()?;
        if self.punct('(') {
            self.skip_parens()?;
        }
        loop {
            if self.eat("MATCH") {
                self.ident("FULL, PARTIAL or SIMPLE")?;
            } else if self.kw("ON") && (self.kw_at(1, "DELETE") || self.kw_at(1, "UPDATE")) {
                self.next();
                self.next();
                // RESTRICT | CASCADE | SET NULL | SET DEFAULT | NO ACTION
                let _ = self.eat("SET") || self.eat("NO");
                self.ident("a referential action")?;
            } else {
                return Ok(());
            }
        }
    }

    // ---- columns --------------------------------------------------------------------------

    fn column_spec(&mut self) -> PResult<ColumnSpec> {
        let name = self.ident("a column name")?;
        let mut spec = ColumnSpec::new(name);
        self.data_type(&mut spec)?;
        self.column_attributes(&mut spec)?;
        spec.def.column_type = column_type_text(
            &spec.def,
            spec.zerofill,
            spec.display_width,
            &spec.type_name,
            self.flavor,
        );
        Ok(spec)
    }

    /// `(n[, m])` when present: the numbers.
    fn type_args(&mut self) -> PResult<Vec<u64>> {
        let mut out = Vec::new();
        if self.eat_punct('(') {
            loop {
                out.push(self.number("a number")?);
                if !self.eat_punct(',') {
                    break;
                }
            }
            self.expect_punct(')')?;
        }
        Ok(out)
    }

    fn required_length(&mut self) -> PResult<u64> {
        if !self.punct('(') {
            return Err(self.unexpected("`(` and a length"));
        }
        let args = self.type_args()?;
        args.first()
            .copied()
            .ok_or_else(|| self.unexpected("a length"))
    }

    fn labels(&mut self) -> PResult<Vec<String>> {
        self.expect_punct('(')?;
        let mut labels = Vec::new();
        loop {
            // A charset introducer (`_utf8mb4'a'`) or `N'a'` before the string.
            if matches!(self.peek().kind, TokenKind::Word(_))
                && matches!(self.peek_at(1).kind, TokenKind::Str { .. })
            {
                self.next();
            }
            let label = self.string("an ENUM/SET label")?;
            // MySQL strips trailing spaces from ENUM and SET members.
            labels.push(label.trim_end_matches(' ').to_owned());
            if self.eat_punct(',') {
                continue;
            }
            self.expect_punct(')')?;
            return Ok(labels);
        }
    }

    fn data_type(&mut self, spec: &mut ColumnSpec) -> PResult<()> {
        let TokenKind::Word(word) = &self.peek().kind else {
            return Err(self.unexpected("a data type"));
        };
        let upper = word.to_ascii_uppercase();
        self.next();
        let def = &mut spec.def;
        let mut name = upper.to_ascii_lowercase();
        let int = |ty| -> (ColumnType, &'static str) {
            (
                ty,
                match ty {
                    ColumnType::TinyInt => "tinyint",
                    ColumnType::SmallInt => "smallint",
                    ColumnType::MediumInt => "mediumint",
                    ColumnType::BigInt => "bigint",
                    _ => "int",
                },
            )
        };
        let integer = match upper.as_str() {
            "TINYINT" | "INT1" => Some(int(ColumnType::TinyInt)),
            "SMALLINT" | "INT2" => Some(int(ColumnType::SmallInt)),
            "MEDIUMINT" | "INT3" | "MIDDLEINT" => Some(int(ColumnType::MediumInt)),
            "INT" | "INTEGER" | "INT4" => Some(int(ColumnType::Int)),
            "BIGINT" | "INT8" => Some(int(ColumnType::BigInt)),
            _ => None,
        };
        if let Some((ty, base)) = integer {
            def.ty = ty;
            name = base.to_owned();
            spec.display_width = self.type_args()?.first().copied();
            spec.type_name = name;
            return Ok(());
        }
        match upper.as_str() {
            "BOOL" | "BOOLEAN" => {
                def.ty = ColumnType::TinyInt;
                spec.display_width = Some(1);
                name = "tinyint".to_owned();
            }
            "SERIAL" => {
                def.ty = ColumnType::BigInt;
                def.unsigned = true;
                def.nullable = false;
                spec.auto_increment = true;
                spec.unique = true;
                name = "bigint".to_owned();
            }
            "DECIMAL" | "DEC" | "NUMERIC" | "FIXED" => {
                def.ty = ColumnType::Decimal;
                let args = self.type_args()?;
                def.precision = Some(to_u32(args.first().copied().unwrap_or(10)));
                def.scale = Some(to_u32(args.get(1).copied().unwrap_or(0)));
                name = "decimal".to_owned();
            }
            "FLOAT" | "FLOAT4" | "FLOAT8" | "DOUBLE" | "REAL" => {
                if upper == "DOUBLE" {
                    self.eat("PRECISION");
                }
                let args = self.type_args()?;
                let double = matches!(upper.as_str(), "DOUBLE" | "REAL" | "FLOAT8");
                def.ty = match args.as_slice() {
                    // FLOAT(p): p <= 24 is FLOAT, 25..=53 DOUBLE, no precision kept.
                    [p] if !double && *p > 24 => ColumnType::Double,
                    _ if double => ColumnType::Double,
                    _ => ColumnType::Float,
                };
                if let [m, d] = args.as_slice() {
                    def.precision = Some(to_u32(*m));
                    def.scale = Some(to_u32(*d));
                } else {
                    // What information_schema reports as NUMERIC_PRECISION (digits), no scale.
                    def.precision = Some(if def.ty == ColumnType::Double { 22 } else { 12 });
                }
                name = if def.ty == ColumnType::Double {
                    "double"
                } else {
                    "float"
                }
                .to_owned();
            }
            "BIT" => {
                def.ty = ColumnType::Bit;
                def.length = Some(self.type_args()?.first().copied().unwrap_or(1));
            }
            "YEAR" => {
                def.ty = ColumnType::Year;
                spec.display_width = self.type_args()?.first().copied();
            }
            "DATE" => def.ty = ColumnType::Date,
            "TIME" | "DATETIME" | "TIMESTAMP" => {
                def.ty = match upper.as_str() {
                    "TIME" => ColumnType::Time,
                    "DATETIME" => ColumnType::DateTime,
                    _ => ColumnType::Timestamp,
                };
                let offset = self.peek().offset;
                let fsp = self.type_args()?.first().copied().unwrap_or(0);
                def.fsp = Some(u8::try_from(fsp).ok().filter(|f| *f <= 6).ok_or_else(|| {
                    PErr::Syntax {
                        offset,
                        message: format!("fractional seconds precision {fsp} above 6"),
                    }
                })?);
            }
            "CHAR" | "CHARACTER" | "NCHAR" | "NVARCHAR" | "NATIONAL" | "VARCHAR"
            | "VARCHARACTER" => {
                let mut national = matches!(upper.as_str(), "NCHAR" | "NVARCHAR");
                let mut varying = matches!(upper.as_str(), "NVARCHAR" | "VARCHAR" | "VARCHARACTER");
                if upper == "NATIONAL" {
                    national = true;
                    if self.eat("VARCHAR") {
                        varying = true;
                    } else if self.eat("CHAR") || self.eat("CHARACTER") {
                        varying = self.eat("VARYING");
                    } else {
                        return Err(self.unexpected("CHAR or VARCHAR"));
                    }
                } else if !varying {
                    varying = self.eat("VARYING");
                }
                if !varying && !national && self.eat("BYTE") {
                    def.ty = ColumnType::Binary;
                    def.length = Some(self.type_args()?.first().copied().unwrap_or(1));
                    name = "binary".to_owned();
                } else if varying {
                    def.ty = ColumnType::VarChar;
                    def.length = Some(self.required_length()?);
                    name = "varchar".to_owned();
                } else {
                    def.ty = ColumnType::Char;
                    def.length = Some(self.type_args()?.first().copied().unwrap_or(1));
                    name = "char".to_owned();
                }
                if national {
                    def.charset = Some("utf8mb3".to_owned());
                }
            }
            "BINARY" => {
                def.ty = ColumnType::Binary;
                def.length = Some(self.type_args()?.first().copied().unwrap_or(1));
            }
            "VARBINARY" => {
                def.ty = ColumnType::VarBinary;
                def.length = Some(self.required_length()?);
            }
            "TINYTEXT" => def.ty = ColumnType::TinyText,
            "TEXT" => {
                def.ty = ColumnType::Text;
                spec.text_length = self.type_args()?.first().copied();
            }
            "MEDIUMTEXT" => def.ty = ColumnType::MediumText,
            "LONGTEXT" => def.ty = ColumnType::LongText,
            "TINYBLOB" => def.ty = ColumnType::TinyBlob,
            "BLOB" => {
                def.ty = match self.type_args()?.first() {
                    Some(&n) => blob_type_for_bytes(n, false),
                    None => ColumnType::Blob,
                };
            }
            "MEDIUMBLOB" => def.ty = ColumnType::MediumBlob,
            "LONGBLOB" => def.ty = ColumnType::LongBlob,
            "LONG" => {
                if self.eat("VARBINARY") {
                    def.ty = ColumnType::MediumBlob;
                } else {
                    let _ = self.eat("VARCHAR") || self.eat_seq(&["CHAR", "VARYING"]);
                    def.ty = ColumnType::MediumText;
                }
            }
            "ENUM" | "SET" => {
                def.ty = if upper == "ENUM" {
                    ColumnType::Enum
                } else {
                    ColumnType::Set
                };
                def.labels = self.labels()?;
            }
            "JSON" => {
                if self.flavor == Flavor::MariaDb {
                    // MariaDB: an alias of LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin.
                    def.ty = ColumnType::LongText;
                    def.charset = Some("utf8mb4".to_owned());
                    def.collation = Some("utf8mb4_bin".to_owned());
                    name = "longtext".to_owned();
                } else {
                    def.ty = ColumnType::Json;
                }
            }
            "GEOMETRY" | "POINT" | "LINESTRING" | "POLYGON" | "MULTIPOINT" | "MULTILINESTRING"
            | "MULTIPOLYGON" | "GEOMETRYCOLLECTION" | "GEOMCOLLECTION" => {
                def.ty = ColumnType::Geometry;
            }
            "VECTOR" => {
                def.ty = ColumnType::Vector;
                def.length = Some(self.required_length()?);
            }
            _ => {
                return Err(PErr::Unsupported {
                    table: self.table.clone(),
                    column: spec.def.name.clone(),
                    type_name: upper.to_ascii_lowercase(),
                });
            }
        }
        spec.type_name = name;
        Ok(())
    }

    fn column_attributes(&mut self, spec: &mut ColumnSpec) -> PResult<()> {
        loop {
            if self.at_end()
                || self.punct(',')
                || self.punct(')')
                || self.any_kw(&["FIRST", "AFTER"])
                || self.partition_start()
            {
                return Ok(());
            }
            let def = &mut spec.def;
            if self.eat("UNSIGNED") {
                def.unsigned = true;
            } else if self.eat("SIGNED") {
            } else if self.eat("ZEROFILL") {
                spec.zerofill = true;
                spec.def.unsigned = true;
            } else if self.eat("NOT") {
                if self.eat("NULL") {
                    spec.def.nullable = false;
                } else if !(self.eat("SECONDARY") || self.eat("ENFORCED")) {
                    return Err(self.unexpected("NULL"));
                }
            } else if self.eat("NULL") {
                def.nullable = true;
            } else if self.eat("DEFAULT") {
                self.skip_value()?;
                spec.has_default = true;
            } else if self.eat("AUTO_INCREMENT") {
                spec.auto_increment = true;
            } else if self.eat("UNIQUE") {
                self.eat("KEY");
                spec.unique = true;
            } else if self.eat("PRIMARY") {
                self.expect("KEY")?;
                spec.primary_key = true;
            } else if self.eat("KEY") {
                spec.primary_key = true;
            } else if self.eat("COMMENT") {
                spec.comment = Some(self.string("a comment string")?);
            } else if self.eat("COLLATE") {
                self.eat_punct('=');
                spec.def.collation =
                    Some(normalize_collation(&self.name_value("a collation name")?));
            } else if self.eat_seq(&["CHARACTER", "SET"]) || self.eat("CHARSET") {
                self.eat_punct('=');
                spec.def.charset =
                    Some(normalize_charset(&self.name_value("a character set name")?));
            } else if self.eat("BINARY") {
                spec.binary_collation = true;
            } else if self.eat("ASCII") {
                def.charset = Some("latin1".to_owned());
            } else if self.eat("UNICODE") {
                def.charset = Some("ucs2".to_owned());
            } else if self.eat("BYTE") {
                def.charset = Some("binary".to_owned());
            } else if self.eat("COLUMN_FORMAT") || self.eat("STORAGE") {
                self.ident("a column format or storage")?;
            } else if self.eat("ENGINE_ATTRIBUTE") || self.eat("SECONDARY_ENGINE_ATTRIBUTE") {
                self.eat_punct('=');
                self.string("an attribute string")?;
            } else if self.eat("GENERATED") {
                self.expect("ALWAYS")?;
                self.expect("AS")?;
                self.generated(spec)?;
            } else if self.eat("AS") {
                self.generated(spec)?;
            } else if self.eat("VIRTUAL") {
                spec.generated = Some(Generated::Virtual);
            } else if self.eat("STORED") || self.eat("PERSISTENT") {
                spec.generated = Some(Generated::Stored);
            } else if self.eat("VISIBLE") {
                spec.invisible = false;
            } else if self.eat("INVISIBLE") {
                spec.invisible = true;
            } else if self.kw("ON") && self.kw_at(1, "UPDATE") {
                self.next();
                self.next();
                self.skip_value()?;
            } else if self.eat("CONSTRAINT") {
                if !self.kw("CHECK") {
                    self.ident("a constraint name")?;
                }
                self.expect("CHECK")?;
                self.skip_parens()?;
                self.enforced();
            } else if self.eat("CHECK") {
                self.skip_parens()?;
                self.enforced();
            } else if self.kw("REFERENCES") {
                self.references()?;
            } else if self.eat("SRID") {
                self.number("an SRID")?;
            } else if self.eat("SERIAL") {
                self.expect("DEFAULT")?;
                self.expect("VALUE")?;
                spec.def.nullable = false;
                spec.auto_increment = true;
                spec.unique = true;
            } else if self.eat("COMPRESSED") {
                if self.eat_punct('=') {
                    self.ident("a compression method")?;
                }
            } else if self.eat_seq(&["WITH", "SYSTEM", "VERSIONING"])
                || self.eat_seq(&["WITHOUT", "SYSTEM", "VERSIONING"])
            {
            } else if self.eat("REF_SYSTEM_ID") {
                self.eat_punct('=');
                self.number("an SRID")?;
            } else {
                return Err(self.unexpected("a column attribute"));
            }
        }
    }

    /// After `[GENERATED ALWAYS] AS`: `(expr)` or MariaDB's `ROW START|END`.
    fn generated(&mut self, spec: &mut ColumnSpec) -> PResult<()> {
        if self.eat("ROW") {
            if !(self.eat("START") || self.eat("END")) {
                return Err(self.unexpected("START or END"));
            }
            return Ok(());
        }
        self.skip_parens()?;
        spec.generated = Some(Generated::Virtual);
        Ok(())
    }

    /// Skips a `DEFAULT` / `ON UPDATE` value: a literal, a function call, `(expr)`, an
    /// introduced string, MariaDB's `NEXT VALUE FOR s`, or an unparenthesized operator chain.
    fn skip_value(&mut self) -> PResult<()> {
        loop {
            while self.punct('-') || self.punct('+') || self.punct('~') || self.punct('!') {
                self.next();
            }
            self.skip_primary()?;
            let operator = matches!(
                self.peek().kind,
                TokenKind::Punct('+' | '-' | '*' | '/' | '%' | '|' | '&' | '^' | '<' | '>' | '=')
            );
            if !operator {
                return Ok(());
            }
            while matches!(
                self.peek().kind,
                TokenKind::Punct('+' | '-' | '*' | '/' | '%' | '|' | '&' | '^' | '<' | '>' | '=')
            ) {
                self.next();
            }
        }
    }

    fn skip_primary(&mut self) -> PResult<()> {
        match &self.peek().kind {
            TokenKind::Punct('(') => self.skip_parens(),
            TokenKind::Punct('.') => {
                // `.5`
                self.next();
                self.number("a number").map(drop)
            }
            TokenKind::Str { .. } => self.string("a string").map(drop),
            TokenKind::Number(_) | TokenKind::Quoted(_) => {
                self.next();
                Ok(())
            }
            TokenKind::Word(_) => {
                if self.any_kw(&["NEXT", "PREVIOUS"]) && self.kw_at(1, "VALUE") {
                    self.next();
                    self.next();
                    self.expect("FOR")?;
                    self.table_name()?;
                    return Ok(());
                }
                if self.eat("INTERVAL") {
                    // `INTERVAL 1 DAY` (MariaDB prints unparenthesized default expressions).
                    self.skip_primary()?;
                    self.ident("an interval unit")?;
                    return Ok(());
                }
                self.next();
                if matches!(self.peek().kind, TokenKind::Str { .. }) {
                    // `_utf8mb4'x'`, `b'01'`, `x'ff'`, `DATE '2020-01-01'`.
                    self.string("a string")?;
                } else if self.punct('(') {
                    self.skip_parens()?;
                }
                Ok(())
            }
            _ => Err(self.unexpected("a value")),
        }
    }
}

fn lex_error(offset: usize, why: &'static str) -> PErr {
    PErr::Syntax {
        offset,
        message: why.to_owned(),
    }
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(sql: &str) -> Statement {
        parse(sql, Flavor::MySql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn create(sql: &str) -> CreateTable {
        match p(sql) {
            Statement::CreateTable(ct) => ct,
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn alter(sql: &str) -> Vec<AlterOp> {
        match p(sql) {
            Statement::AlterTable(a) => a.ops,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn non_ddl_is_other() {
        for sql in [
            "BEGIN",
            "COMMIT",
            "",
            "  -- nothing\n",
            "INSERT INTO t VALUES ('unterminated",
            "UPDATE t SET a = 1",
            "GRANT ALL ON *.* TO x",
            "CREATE USER 'a'@'%'",
            "CREATE DEFINER=`root`@`localhost` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET x=1",
            "CREATE OR REPLACE VIEW v AS SELECT 1",
            "CREATE PROCEDURE p() BEGIN ALTER TABLE t ADD c INT; END",
            "/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50013 DEFINER=`u`@`%` SQL SECURITY DEFINER */ /*!50001 VIEW `v` AS select 1 */",
            "DROP VIEW v",
            "DROP TEMPORARY SEQUENCE s",
            "ALTER USER x",
            "RENAME USER a TO b",
            "SET NAMES utf8mb4",
            "SAVEPOINT x",
            "XA START 'x'",
        ] {
            assert_eq!(p(sql), Statement::Other, "{sql}");
        }
    }

    #[test]
    fn create_table_columns_and_keys() {
        let ct = create(
            "CREATE TABLE IF NOT EXISTS `d`.`t` (\
               id int(10) unsigned NOT NULL AUTO_INCREMENT,\
               `name` varchar(20) CHARACTER SET latin1 COLLATE latin1_bin DEFAULT 'x' COMMENT 'c',\
               price DECIMAL(10,2) DEFAULT -1.5,\
               e ENUM('a','b''c', 'd  ') NOT NULL DEFAULT 'a',\
               PRIMARY KEY (id), UNIQUE KEY uk (`name`(10), price DESC), KEY (price),\
               CONSTRAINT fk FOREIGN KEY (id) REFERENCES o (id) ON DELETE CASCADE ON UPDATE SET NULL,\
               CHECK (price > 0)\
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='CHARSET=x'",
        );
        assert_eq!(ct.table.db.as_deref(), Some("d"));
        assert!(ct.if_not_exists);
        assert_eq!(ct.columns.len(), 4);
        let id = &ct.columns[0].def;
        assert_eq!(
            (id.ty, id.unsigned, id.nullable, id.column_type.as_str()),
            (ColumnType::Int, true, false, "int(10) unsigned")
        );
        let name = &ct.columns[1].def;
        assert_eq!(name.charset.as_deref(), Some("latin1"));
        assert_eq!(name.collation.as_deref(), Some("latin1_bin"));
        assert_eq!(ct.columns[1].comment.as_deref(), Some("c"));
        assert_eq!(ct.columns[2].def.column_type, "decimal(10,2)");
        assert_eq!(ct.columns[3].def.labels, ["a", "b'c", "d"]);
        assert_eq!(ct.columns[3].def.column_type, "enum('a','b''c','d')");
        assert_eq!(ct.keys.len(), 3);
        assert_eq!(ct.keys[1].name.as_deref(), Some("uk"));
        assert_eq!(
            ct.keys[1].parts[0],
            KeyPart::Column {
                name: "name".into(),
                prefix: Some(10)
            }
        );
        assert_eq!(ct.keys[2].name, None);
        assert_eq!(ct.charset.as_deref(), Some("utf8mb4"));
        assert_eq!(ct.collation.as_deref(), Some("utf8mb4_bin"));
        assert!(!ct.select);
    }

    #[test]
    fn create_table_select_and_like() {
        assert!(create("CREATE TABLE t SELECT * FROM o").select);
        assert!(create("CREATE TABLE t (a INT) ENGINE=InnoDB AS SELECT 1").select);
        assert!(create("CREATE TABLE t (SELECT 1)").select);
        assert!(create("CREATE TABLE t (a int) IGNORE SELECT 1").select);
        assert!(!create("CREATE TABLE t (a int) START TRANSACTION").select);
        assert!(matches!(
            p("CREATE TABLE t LIKE d.o"),
            Statement::CreateTableLike { .. }
        ));
        assert!(matches!(
            p("create table t (like o)"),
            Statement::CreateTableLike { .. }
        ));
        assert!(parse("CREATE TABLE t", Flavor::MySql).is_err());
    }

    #[test]
    fn alter_operations() {
        let ops = alter(
            "ALTER TABLE t ADD COLUMN a INT FIRST, ADD b INT AFTER a, ADD (c INT, d INT), \
             DROP COLUMN IF EXISTS x, DROP y, MODIFY z BIGINT AFTER b, CHANGE COLUMN o n TEXT, \
             RENAME COLUMN p TO q, RENAME INDEX i TO j, ADD PRIMARY KEY (a), DROP PRIMARY KEY, \
             ADD UNIQUE INDEX u (b), DROP INDEX u, DROP KEY v, ALTER COLUMN a SET DEFAULT 1, \
             ALTER c DROP DEFAULT, CONVERT TO CHARACTER SET utf8 COLLATE utf8_bin, \
             DEFAULT CHARSET=latin1, ENGINE=InnoDB, ALGORITHM=INPLACE, LOCK=NONE, \
             ADD INDEX (c), ADD FULLTEXT (d), ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES o (a), \
             ADD CHECK (a > 0), DROP FOREIGN KEY f, DROP CHECK c1, ORDER BY a, b, FORCE, \
             RENAME TO t2",
        );
        assert!(matches!(
            &ops[0],
            AlterOp::AddColumn {
                position: Some(ColumnPosition::First),
                ..
            }
        ));
        assert!(matches!(
            &ops[1],
            AlterOp::AddColumn { position: Some(ColumnPosition::After(a)), .. } if a == "a"
        ));
        assert!(matches!(
            &ops[4],
            AlterOp::DropColumn {
                if_exists: true,
                ..
            }
        ));
        let kinds: Vec<&str> = ops
            .iter()
            .map(|o| match o {
                AlterOp::AddColumn { .. } => "add",
                AlterOp::DropColumn { .. } => "drop",
                AlterOp::ModifyColumn { .. } => "modify",
                AlterOp::ChangeColumn { .. } => "change",
                AlterOp::RenameColumn { .. } => "rename_col",
                AlterOp::RenameIndex { .. } => "rename_idx",
                AlterOp::AddKey { .. } => "add_key",
                AlterOp::DropPrimaryKey => "drop_pk",
                AlterOp::DropIndex { .. } => "drop_idx",
                AlterOp::AlterColumn { .. } => "alter_col",
                AlterOp::ConvertCharset { .. } => "convert",
                AlterOp::DefaultCharset { .. } => "charset",
                AlterOp::RenameTable(_) => "rename",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "add",
                "add",
                "add",
                "add",
                "drop",
                "drop",
                "modify",
                "change",
                "rename_col",
                "rename_idx",
                "add_key",
                "drop_pk",
                "add_key",
                "drop_idx",
                "drop_idx",
                "alter_col",
                "alter_col",
                "convert",
                "charset",
                "add_key",
                "add_key",
                "rename"
            ]
        );
        assert!(matches!(
            &ops[17],
            AlterOp::ConvertCharset { charset: Some(c), collation: Some(k) }
                if c == "utf8mb3" && k == "utf8mb3_bin"
        ));
    }

    #[test]
    fn alter_partitions_and_options_are_ignored() {
        assert!(alter("ALTER TABLE t DROP PARTITION p1, p2").is_empty());
        assert!(alter("ALTER TABLE t ENGINE=InnoDB PARTITION BY HASH (a) PARTITIONS 4").is_empty());
        assert_eq!(
            alter("ALTER TABLE t ADD c INT, ALGORITHM=INSTANT PARTITION BY KEY() PARTITIONS 2")
                .len(),
            1
        );
        assert!(alter("ALTER TABLE t REMOVE PARTITIONING").is_empty());
        assert!(alter("ALTER TABLE t").is_empty());
        assert!(alter("ALTER ONLINE IGNORE TABLE t FORCE").is_empty());
        assert!(alter("ALTER TABLE t COMMENT 'x, y', STATS_PERSISTENT=0").is_empty());
    }

    #[test]
    fn other_statements() {
        assert_eq!(
            p("RENAME TABLE a TO b, d.c TO d.e"),
            Statement::RenameTables(vec![
                (
                    TableName {
                        db: None,
                        name: "a".into()
                    },
                    TableName {
                        db: None,
                        name: "b".into()
                    }
                ),
                (
                    TableName {
                        db: Some("d".into()),
                        name: "c".into()
                    },
                    TableName {
                        db: Some("d".into()),
                        name: "e".into()
                    }
                ),
            ])
        );
        assert!(matches!(
            p("DROP TABLE IF EXISTS `a`,b /* generated by server */"),
            Statement::DropTables { tables, if_exists: true, temporary: false } if tables.len() == 2
        ));
        assert!(matches!(
            p("DROP /*!40005 TEMPORARY */ TABLE IF EXISTS `t`"),
            Statement::DropTables {
                temporary: true,
                ..
            }
        ));
        assert!(matches!(p("TRUNCATE t"), Statement::Truncate(_)));
        assert!(matches!(p("truncate table d.t;"), Statement::Truncate(_)));
        assert!(matches!(
            p("CREATE UNIQUE INDEX u USING BTREE ON t (a, b(3)) ALGORITHM=INPLACE"),
            Statement::CreateIndex {
                key: KeySpec {
                    kind: KeyKind::Unique,
                    ..
                },
                ..
            }
        ));
        assert!(matches!(
            p("DROP INDEX u ON t LOCK=NONE"),
            Statement::DropIndex { .. }
        ));
        assert_eq!(
            p("CREATE DATABASE IF NOT EXISTS d DEFAULT CHARACTER SET utf8 COLLATE utf8_bin"),
            Statement::CreateDatabase {
                name: "d".into(),
                if_not_exists: true,
                or_replace: false,
                charset: Some("utf8mb3".into()),
                collation: Some("utf8mb3_bin".into())
            }
        );
        assert_eq!(
            p("ALTER SCHEMA CHARACTER SET = latin1"),
            Statement::AlterDatabase {
                name: None,
                charset: Some("latin1".into()),
                collation: None
            }
        );
        assert!(matches!(
            p("DROP SCHEMA IF EXISTS d"),
            Statement::DropDatabase { .. }
        ));
    }

    #[test]
    fn types_and_aliases() {
        let ct = create(
            "CREATE TABLE t (a BOOL, b INTEGER, c DEC(5), d NUMERIC, e REAL, f DOUBLE PRECISION(8,2), \
             g FLOAT(30), h FLOAT(10), i CHARACTER VARYING(5), j NATIONAL CHAR(3), k NVARCHAR(4), \
             l LONG, m LONG VARBINARY, n POINT SRID 4326, o SERIAL, p TIME(3), q DATETIME(6), \
             r BIT(5), s YEAR, u SET('x','y'), v BLOB(300), w TEXT(100), x VECTOR(3), y JSON, \
             z INT1 ZEROFILL, aa MIDDLEINT, ab CHAR, ac BINARY(4), ad VARBINARY(9), ae FLOAT4, \
             af NCHAR VARYING(2))",
        );
        let c: Vec<(ColumnType, &str)> = ct
            .columns
            .iter()
            .map(|c| (c.def.ty, c.def.column_type.as_str()))
            .collect();
        use ColumnType as T;
        assert_eq!(
            c,
            [
                (T::TinyInt, "tinyint(1)"),
                (T::Int, "int"),
                (T::Decimal, "decimal(5,0)"),
                (T::Decimal, "decimal(10,0)"),
                (T::Double, "double"),
                (T::Double, "double(8,2)"),
                (T::Double, "double"),
                (T::Float, "float"),
                (T::VarChar, "varchar(5)"),
                (T::Char, "char(3)"),
                (T::VarChar, "varchar(4)"),
                (T::MediumText, "mediumtext"),
                (T::MediumBlob, "mediumblob"),
                (T::Geometry, "point"),
                (T::BigInt, "bigint unsigned"),
                (T::Time, "time(3)"),
                (T::DateTime, "datetime(6)"),
                (T::Bit, "bit(5)"),
                (T::Year, "year"),
                (T::Set, "set('x','y')"),
                (T::Blob, "blob"),
                (T::Text, "text"),
                (T::Vector, "vector(3)"),
                (T::Json, "json"),
                (T::TinyInt, "tinyint(3) unsigned zerofill"),
                (T::MediumInt, "mediumint"),
                (T::Char, "char(1)"),
                (T::Binary, "binary(4)"),
                (T::VarBinary, "varbinary(9)"),
                (T::Float, "float"),
                (T::VarChar, "varchar(2)"),
            ]
        );
        assert_eq!(ct.columns[9].def.charset.as_deref(), Some("utf8mb3"));
        let serial = &ct.columns[14];
        assert!(serial.unique && serial.auto_increment && !serial.def.nullable);
        assert_eq!(ct.columns[15].def.fsp, Some(3));
        assert_eq!(ct.columns[17].def.length, Some(5));
    }

    #[test]
    fn mariadb_json_is_longtext() {
        let Statement::CreateTable(ct) =
            parse("CREATE TABLE t (j JSON, i INT)", Flavor::MariaDb).unwrap()
        else {
            panic!()
        };
        let j = &ct.columns[0].def;
        assert_eq!(j.ty, ColumnType::LongText);
        assert_eq!(j.column_type, "longtext");
        assert_eq!(j.collation.as_deref(), Some("utf8mb4_bin"));
        assert_eq!(ct.columns[1].def.column_type, "int(11)");
    }

    #[test]
    fn column_attributes() {
        let ct = create(
            "CREATE TABLE t (\
               a TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),\
               b INT GENERATED ALWAYS AS (a + 1) STORED NOT NULL,\
               c INT AS (b * 2) VIRTUAL INVISIBLE,\
               d VARCHAR(5) BINARY,\
               e BIT(3) DEFAULT b'101',\
               f VARCHAR(3) DEFAULT _utf8mb4'x' COLLATE utf8mb4_bin,\
               g INT PRIMARY KEY,\
               h INT UNIQUE KEY,\
               i INT REFERENCES o (i) ON DELETE NO ACTION,\
               j INT CONSTRAINT ck CHECK (j > 0) NOT ENFORCED,\
               k INT DEFAULT (1 + 2) COLUMN_FORMAT FIXED STORAGE DISK,\
               l DOUBLE DEFAULT 1.5e-3,\
               m INT DEFAULT 1+1,\
               n DATETIME DEFAULT current_timestamp() + INTERVAL 1 DAY NOT NULL,\
               o INT DEFAULT NEXT VALUE FOR s1\
             )",
        );
        assert!(!ct.columns[0].def.nullable && ct.columns[0].has_default);
        assert_eq!(ct.columns[1].generated, Some(Generated::Stored));
        assert_eq!(ct.columns[2].generated, Some(Generated::Virtual));
        assert!(ct.columns[2].invisible);
        assert!(ct.columns[3].binary_collation);
        assert_eq!(ct.columns[5].def.collation.as_deref(), Some("utf8mb4_bin"));
        assert!(ct.columns[6].primary_key);
        assert!(ct.columns[7].unique);
        assert_eq!(ct.columns.len(), 15);
        assert!(!ct.columns[13].def.nullable);
    }

    #[test]
    fn versioned_comments_and_quoting() {
        assert_eq!(
            p("/*!40101 SET character_set_client = utf8 */; CREATE TABLE t (a INT)"),
            Statement::Other,
            "one statement per call: this one is SET"
        );
        let ct = create(
            "CREATE TABLE `my.db`.`we``ird` (\n\
               `a.b` int /*!80023 INVISIBLE */, -- trailing\n\
               /* c */ `x` /*M!100301 INT */ int # more\n\
             ) /*!50100 PARTITION BY HASH (`a.b`) PARTITIONS 4 */",
        );
        assert_eq!(ct.table.db.as_deref(), Some("my.db"));
        assert_eq!(ct.table.name, "we`ird");
        assert_eq!(ct.columns[0].def.name, "a.b");
        assert!(ct.columns[0].invisible);
        assert_eq!(ct.columns[1].def.name, "x");
        let maria = parse(
            "CREATE TABLE t (a /*M!100301 INT */ /*!99999 NOT NULL */)",
            Flavor::MariaDb,
        )
        .unwrap();
        let Statement::CreateTable(ct) = maria else {
            panic!()
        };
        assert!(!ct.columns[0].def.nullable);
    }

    #[test]
    fn syntax_errors_carry_offset_and_statement() {
        let e = parse("ALTER TABLE t ADD COLUMN c", Flavor::MySql).unwrap_err();
        assert!(e.is_syntax(), "{e}");
        assert!(e.statement().unwrap().starts_with("ALTER TABLE t"));
        let e = parse("CREATE TABLE t (a UUID)", Flavor::MariaDb).unwrap_err();
        assert!(
            matches!(e.kind(), SchemaErrorKind::UnsupportedType { type_name, .. } if type_name == "uuid"),
            "{e}"
        );
        assert!(parse("ALTER TABLE t ADD c INT,", Flavor::MySql).is_err());
        assert!(parse("ALTER TABLE t ADD c INT) x", Flavor::MySql).is_err());
        assert!(parse("DROP TABLE t; DROP TABLE u", Flavor::MySql).is_err());
    }
}
