//! [`SchemaHistory`]: every table's definitions, each with the binlog position from which it
//! is in force.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use dts_core::{BinlogPosition, ColumnDef, KeyDef, TableId, TableSchema};

use super::charset::{charset_of_collation, default_collation, qualify_collation};
use super::column::{convert_column, resolve};
use super::ddl::{
    AlterOp, ColumnPosition, ColumnSpec, CreateTable, KeyKind, KeyPart, KeySpec, Statement,
    TableName, parse_in,
};
use super::{Dialect, Flavor, SchemaError, SchemaErrorKind};

/// What kind of statement [`SchemaHistory::apply_ddl`] applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DdlKind {
    /// `CREATE TABLE` (any form).
    CreateTable,
    /// `ALTER TABLE`.
    AlterTable,
    /// `RENAME TABLE`.
    RenameTable,
    /// `DROP TABLE`.
    DropTable,
    /// `TRUNCATE TABLE`.
    TruncateTable,
    /// `CREATE INDEX`.
    CreateIndex,
    /// `DROP INDEX`.
    DropIndex,
    /// `CREATE DATABASE`.
    CreateDatabase,
    /// `ALTER DATABASE`.
    AlterDatabase,
    /// `DROP DATABASE`.
    DropDatabase,
    /// Not DDL on tables or databases.
    Other,
}

/// One table a statement changed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TableChange {
    /// Created (also `CREATE OR REPLACE` and `… LIKE`).
    Created(TableId),
    /// Its columns, keys or default charset changed.
    Altered(TableId),
    /// Renamed (by `RENAME TABLE` or `ALTER TABLE … RENAME`).
    Renamed {
        /// The old name.
        from: TableId,
        /// The new name.
        to: TableId,
    },
    /// Dropped (also by `DROP DATABASE`).
    Dropped(TableId),
    /// Emptied; the definition is unchanged.
    Truncated(TableId),
}

/// What [`SchemaHistory::apply_ddl`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DdlOutcome {
    kind: DdlKind,
    changes: Vec<TableChange>,
    needs_reload: Vec<TableId>,
}

impl DdlOutcome {
    fn new(kind: DdlKind) -> Self {
        Self {
            kind,
            changes: Vec::new(),
            needs_reload: Vec::new(),
        }
    }

    /// The kind of statement.
    #[must_use]
    pub fn kind(&self) -> DdlKind {
        self.kind
    }

    /// Whether the statement was DDL on tables or databases (it may still have changed
    /// nothing, e.g. `CREATE TABLE IF NOT EXISTS` of an existing table).
    #[must_use]
    pub fn is_ddl(&self) -> bool {
        self.kind != DdlKind::Other
    }

    /// The tables changed, in statement order.
    #[must_use]
    pub fn changes(&self) -> &[TableChange] {
        &self.changes
    }

    /// Tables whose definition the statement does not tell, to be read from the server and
    /// [`insert`](SchemaHistory::insert)ed: `CREATE TABLE … SELECT`, `… LIKE` or `ALTER`/
    /// `RENAME` of a table not tracked, MariaDB system versioning.
    #[must_use]
    pub fn needs_reload(&self) -> &[TableId] {
        &self.needs_reload
    }

    /// The table, when the statement is about exactly one (the `Ddl` event's `table`).
    #[must_use]
    pub fn table(&self) -> Option<&TableId> {
        let mut ids = self.changes.iter().map(|c| match c {
            TableChange::Created(t)
            | TableChange::Altered(t)
            | TableChange::Dropped(t)
            | TableChange::Truncated(t)
            | TableChange::Renamed { to: t, .. } => t,
        });
        let first = ids.next()?;
        ids.all(|t| t == first).then_some(first)
    }
}

/// Compares binlog positions: the file's base name, then its numeric suffix as a number (so
/// `binlog.1000000` follows `binlog.999999`), then the offset.
pub(crate) fn cmp_position(a: &BinlogPosition, b: &BinlogPosition) -> Ordering {
    fn split(file: &str) -> (&str, &str) {
        match file.rsplit_once('.') {
            Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                (base, n.trim_start_matches('0'))
            }
            _ => (file, ""),
        }
    }
    let (ab, an) = split(&a.file);
    let (bb, bn) = split(&b.file);
    ab.cmp(bb)
        .then(an.len().cmp(&bn.len()))
        .then(an.cmp(bn))
        .then_with(|| a.file.cmp(&b.file))
        .then(a.offset.cmp(&b.offset))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IndexKind {
    Primary,
    Unique,
    Other,
}

/// An index by column *names* (`None` for an expression part), so that it survives column
/// moves and renames.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Index {
    name: String,
    kind: IndexKind,
    parts: Vec<Option<String>>,
}

/// One definition of a table and what later DDL on it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TableState {
    schema: Arc<TableSchema>,
    indexes: Vec<Index>,
    /// The table's default charset and collation (`None` when unknown: the database's).
    charset: Option<String>,
    collation: Option<String>,
}

#[derive(Clone, Debug)]
struct Version {
    at: BinlogPosition,
    state: Option<Arc<TableState>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Charset {
    charset: String,
    collation: Option<String>,
}

/// Table definitions through time (see the [module docs](super)).
///
/// Per table, a list of versions `(position, definition or dropped)`, sorted by position. The
/// latest is [`get`](Self::get); the one in force at a position is [`get_at`](Self::get_at).
/// Every table DDL names is tracked, whether or not the caller selected it.
#[derive(Clone, Debug, Default)]
pub struct SchemaHistory {
    tables: BTreeMap<TableId, Vec<Version>>,
    databases: BTreeMap<String, Charset>,
    server: Option<Charset>,
    lower_case_table_names: bool,
}

pub(crate) fn eq_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || (!a.is_ascii() && a.to_lowercase() == b.to_lowercase())
}

fn unknown_column(table: &TableId, column: &str) -> SchemaError {
    SchemaError::new(SchemaErrorKind::UnknownColumn {
        table: table.clone(),
        column: column.to_owned(),
    })
}

/// Where an index position lands after statement-order placement.
fn find_column(columns: &[ColumnDef], name: &str) -> Option<usize> {
    columns.iter().position(|c| eq_name(&c.name, name))
}

fn index_kind(kind: KeyKind) -> IndexKind {
    match kind {
        KeyKind::Primary => IndexKind::Primary,
        KeyKind::Unique => IndexKind::Unique,
        _ => IndexKind::Other,
    }
}

/// MySQL's name for an unnamed index: its first column, then `_2`, `_3`, ... on collision.
fn index_name(indexes: &[Index], parts: &[Option<String>]) -> String {
    let base = parts
        .first()
        .cloned()
        .flatten()
        .unwrap_or_else(|| "functional_index".to_owned());
    let taken = |n: &str| eq_name(n, "PRIMARY") || indexes.iter().any(|i| eq_name(&i.name, n));
    if !taken(&base) {
        return base;
    }
    (2..100)
        .map(|i| format!("{base}_{i}"))
        .find(|n| !taken(n))
        .unwrap_or(base)
}

/// Adds a key to `indexes` (replacing the primary key for a primary key). `false` when
/// `if_not_exists` and the name is taken.
fn add_index(indexes: &mut Vec<Index>, key: &KeySpec, if_not_exists: bool) -> bool {
    let parts: Vec<Option<String>> = key
        .parts
        .iter()
        .map(|p| match p {
            KeyPart::Column { name, .. } => Some(name.clone()),
            KeyPart::Expression => None,
        })
        .collect();
    let kind = index_kind(key.kind);
    if kind == IndexKind::Primary {
        indexes.retain(|i| i.kind != IndexKind::Primary);
        indexes.insert(
            0,
            Index {
                name: "PRIMARY".to_owned(),
                kind,
                parts,
            },
        );
        return true;
    }
    let name = match &key.name {
        Some(n) => {
            if if_not_exists && indexes.iter().any(|i| eq_name(&i.name, n)) {
                return false;
            }
            n.clone()
        }
        None => index_name(indexes, &parts),
    };
    indexes.push(Index { name, kind, parts });
    true
}

/// The keys a column definition declares itself (`PRIMARY KEY`, `UNIQUE`, `SERIAL`).
fn column_keys(spec: &ColumnSpec) -> Vec<KeySpec> {
    let part = || {
        vec![KeyPart::Column {
            name: spec.def.name.clone(),
            prefix: None,
        }]
    };
    let mut keys = Vec::new();
    if spec.primary_key {
        keys.push(KeySpec {
            kind: KeyKind::Primary,
            name: Some("PRIMARY".to_owned()),
            parts: part(),
        });
    }
    if spec.unique {
        keys.push(KeySpec {
            kind: KeyKind::Unique,
            name: None,
            parts: part(),
        });
    }
    keys
}

/// Builds the schema: primary-key columns become NOT NULL; keys become column indexes.
fn build(
    id: TableId,
    mut columns: Vec<ColumnDef>,
    indexes: Vec<Index>,
    charset: Option<String>,
    collation: Option<String>,
) -> Result<TableState, SchemaError> {
    if columns.is_empty() {
        return Err(SchemaError::new(SchemaErrorKind::NoColumns { table: id }));
    }
    for (i, c) in columns.iter().enumerate() {
        if columns
            .iter()
            .skip(i + 1)
            .any(|o| eq_name(&o.name, &c.name))
        {
            return Err(SchemaError::new(SchemaErrorKind::DuplicateColumn {
                table: id,
                column: c.name.clone(),
            }));
        }
    }
    let mut primary = None;
    let mut unique = Vec::new();
    for index in &indexes {
        if index.kind == IndexKind::Other {
            continue;
        }
        let mut positions = Vec::with_capacity(index.parts.len());
        for part in &index.parts {
            let Some(name) = part else {
                positions.clear();
                break;
            };
            positions.push(find_column(&columns, name).ok_or_else(|| unknown_column(&id, name))?);
        }
        if positions.is_empty() {
            // A functional key part: not a key of columns.
            continue;
        }
        if index.kind == IndexKind::Primary {
            for &p in &positions {
                if let Some(c) = columns.get_mut(p) {
                    c.nullable = false;
                }
            }
            primary = Some(KeyDef {
                name: "PRIMARY".to_owned(),
                columns: positions,
            });
        } else {
            unique.push(KeyDef {
                name: index.name.clone(),
                columns: positions,
            });
        }
    }
    let schema = TableSchema::new(id, columns, primary, unique)
        .map_err(|e| SchemaError::new(SchemaErrorKind::InvalidKey(e)))?;
    Ok(TableState {
        schema: Arc::new(schema),
        indexes,
        charset,
        collation,
    })
}

/// The same table under another name.
fn renamed(state: &TableState, to: TableId) -> Result<TableState, SchemaError> {
    build(
        to,
        state.schema.columns().to_vec(),
        state.indexes.clone(),
        state.charset.clone(),
        state.collation.clone(),
    )
}

/// A statement being applied: changes are collected here and committed only when the whole
/// statement succeeded.
struct Txn<'h> {
    history: &'h SchemaHistory,
    default_db: Option<&'h str>,
    flavor: Flavor,
    tables: Vec<(TableId, Option<Arc<TableState>>)>,
    databases: Vec<(String, Option<Charset>)>,
    outcome: DdlOutcome,
}

impl Txn<'_> {
    fn id(&self, name: &TableName) -> Result<TableId, SchemaError> {
        let id = name.resolve(self.default_db).ok_or_else(|| {
            SchemaError::new(SchemaErrorKind::NoDatabase {
                table: name.name.clone(),
            })
        })?;
        Ok(self.history.fold_case(id))
    }

    fn lookup(&self, id: &TableId) -> Option<Arc<TableState>> {
        match self.tables.iter().rev().find(|(t, _)| t == id) {
            Some((_, state)) => state.clone(),
            None => self.history.current(id).cloned(),
        }
    }

    fn set(&mut self, id: TableId, state: Option<TableState>) {
        self.tables.push((id, state.map(Arc::new)));
    }

    fn database(&self, db: &str) -> Option<Charset> {
        match self.databases.iter().rev().find(|(d, _)| d == db) {
            Some((_, cs)) => cs.clone(),
            None => self.history.databases.get(db).cloned(),
        }
    }

    /// The default charset of new tables in `db`: the database's, else the server's.
    fn database_default(&self, db: &str) -> Option<Charset> {
        self.database(db).or_else(|| self.history.server.clone())
    }

    /// The charset new columns of `state` get.
    fn table_default(&self, id: &TableId, state: &TableState) -> (Option<String>, Option<String>) {
        match &state.charset {
            Some(cs) => (Some(cs.clone()), state.collation.clone()),
            None => match self.database_default(id.db()) {
                Some(c) => (Some(c.charset), c.collation),
                None => (None, None),
            },
        }
    }

    /// Charset and collation from `CHARACTER SET` / `COLLATE` values (either may be absent;
    /// `None` charset without collation: `fallback`).
    fn charset_pair(
        &self,
        charset: Option<&str>,
        collation: Option<&str>,
        fallback: Option<Charset>,
    ) -> (Option<String>, Option<String>) {
        match (charset, collation) {
            (Some(cs), Some(coll)) => (Some(cs.to_owned()), Some(qualify_collation(coll, cs))),
            (Some(cs), None) => (Some(cs.to_owned()), default_collation(cs, self.flavor)),
            (None, Some(coll)) => {
                let cs = charset_of_collation(coll).or_else(|| fallback.map(|f| f.charset));
                let coll = match &cs {
                    Some(cs) => qualify_collation(coll, cs),
                    None => coll.to_owned(),
                };
                (cs, Some(coll))
            }
            (None, None) => match fallback {
                Some(f) => (Some(f.charset), f.collation),
                None => (None, None),
            },
        }
    }

    fn apply(&mut self, st: &Statement) -> Result<(), SchemaError> {
        match st {
            Statement::CreateTable(ct) => self.create_table(ct),
            Statement::CreateTableLike {
                table,
                like,
                temporary,
                if_not_exists,
            } => {
                self.outcome.kind = DdlKind::CreateTable;
                let id = self.id(table)?;
                if *temporary || (*if_not_exists && self.lookup(&id).is_some()) {
                    return Ok(());
                }
                let source = self.id(like)?;
                match self.lookup(&source) {
                    Some(state) => {
                        let copy = renamed(&state, id.clone())?;
                        self.set(id.clone(), Some(copy));
                    }
                    None => {
                        self.forget(&id);
                        self.outcome.needs_reload.push(id.clone());
                    }
                }
                self.outcome.changes.push(TableChange::Created(id));
                Ok(())
            }
            Statement::AlterTable(a) => {
                self.outcome.kind = DdlKind::AlterTable;
                let id = self.id(&a.table)?;
                self.alter_table(id, &a.ops)
            }
            Statement::CreateIndex {
                table,
                key,
                if_not_exists,
            } => {
                self.outcome.kind = DdlKind::CreateIndex;
                let id = self.id(table)?;
                self.alter_table(
                    id,
                    &[AlterOp::AddKey {
                        key: key.clone(),
                        if_not_exists: *if_not_exists,
                    }],
                )
            }
            Statement::DropIndex {
                table,
                name,
                if_exists,
            } => {
                self.outcome.kind = DdlKind::DropIndex;
                let id = self.id(table)?;
                let op = if eq_name(name, "PRIMARY") {
                    AlterOp::DropPrimaryKey
                } else {
                    AlterOp::DropIndex {
                        name: name.clone(),
                        if_exists: *if_exists,
                    }
                };
                self.alter_table(id, &[op])
            }
            Statement::RenameTables(pairs) => {
                self.outcome.kind = DdlKind::RenameTable;
                for (from, to) in pairs {
                    let (from, to) = (self.id(from)?, self.id(to)?);
                    self.rename(from, to)?;
                }
                Ok(())
            }
            Statement::DropTables {
                tables,
                temporary,
                if_exists: _,
            } => {
                self.outcome.kind = DdlKind::DropTable;
                if *temporary {
                    return Ok(());
                }
                for t in tables {
                    let id = self.id(t)?;
                    self.forget(&id);
                    self.outcome.changes.push(TableChange::Dropped(id));
                }
                Ok(())
            }
            Statement::Truncate(t) => {
                self.outcome.kind = DdlKind::TruncateTable;
                let id = self.id(t)?;
                self.outcome.changes.push(TableChange::Truncated(id));
                Ok(())
            }
            Statement::CreateDatabase {
                name,
                if_not_exists,
                or_replace,
                charset,
                collation,
            } => {
                self.outcome.kind = DdlKind::CreateDatabase;
                let name = self.history.fold_db(name);
                let exists = self.database(&name).is_some()
                    || self
                        .history
                        .tables
                        .keys()
                        .any(|t| t.db() == name && self.lookup(t).is_some());
                if *if_not_exists && exists {
                    return Ok(());
                }
                if *or_replace {
                    self.drop_tables_of(&name);
                }
                let (cs, coll) = self.charset_pair(
                    charset.as_deref(),
                    collation.as_deref(),
                    self.history.server.clone(),
                );
                let value = cs.map(|charset| Charset {
                    charset,
                    collation: coll,
                });
                self.databases.push((name, value));
                Ok(())
            }
            Statement::AlterDatabase {
                name,
                charset,
                collation,
            } => {
                self.outcome.kind = DdlKind::AlterDatabase;
                let Some(name) = name.as_deref().or(self.default_db) else {
                    return Ok(());
                };
                let name = self.history.fold_db(name);
                if charset.is_none() && collation.is_none() {
                    return Ok(());
                }
                let current = self.database(&name);
                let (cs, coll) =
                    self.charset_pair(charset.as_deref(), collation.as_deref(), current);
                let value = cs.map(|charset| Charset {
                    charset,
                    collation: coll,
                });
                self.databases.push((name, value));
                Ok(())
            }
            Statement::DropDatabase { name, if_exists: _ } => {
                self.outcome.kind = DdlKind::DropDatabase;
                let name = self.history.fold_db(name);
                self.drop_tables_of(&name);
                self.databases.push((name, None));
                Ok(())
            }
            Statement::Other => Ok(()),
        }
    }

    fn drop_tables_of(&mut self, db: &str) {
        let ids: Vec<TableId> = self
            .history
            .tables
            .keys()
            .chain(self.tables.iter().map(|(t, _)| t))
            .filter(|t| t.db() == db)
            .cloned()
            .collect();
        let mut seen: Vec<TableId> = Vec::new();
        for id in ids {
            if seen.contains(&id) || self.lookup(&id).is_none() {
                continue;
            }
            seen.push(id.clone());
            self.set(id.clone(), None);
            self.outcome.changes.push(TableChange::Dropped(id));
        }
    }

    /// Records that `id` has no known definition from here on (when it had one).
    fn forget(&mut self, id: &TableId) {
        if self.lookup(id).is_some() {
            self.set(id.clone(), None);
        }
    }

    fn rename(&mut self, from: TableId, to: TableId) -> Result<(), SchemaError> {
        match self.lookup(&from) {
            Some(state) => {
                let moved = renamed(&state, to.clone())?;
                self.set(from.clone(), None);
                self.set(to.clone(), Some(moved));
            }
            None => {
                self.forget(&to);
                self.outcome.needs_reload.push(to.clone());
            }
        }
        self.outcome.changes.push(TableChange::Renamed { from, to });
        Ok(())
    }

    fn create_table(&mut self, ct: &CreateTable) -> Result<(), SchemaError> {
        self.outcome.kind = DdlKind::CreateTable;
        let id = self.id(&ct.table)?;
        if ct.temporary || (ct.if_not_exists && self.lookup(&id).is_some()) {
            return Ok(());
        }
        self.outcome.changes.push(TableChange::Created(id.clone()));
        if ct.select {
            self.forget(&id);
            self.outcome.needs_reload.push(id);
            return Ok(());
        }
        let (charset, collation) = self.charset_pair(
            ct.charset.as_deref(),
            ct.collation.as_deref(),
            self.database_default(id.db()),
        );
        let columns: Vec<ColumnDef> = ct
            .columns
            .iter()
            .map(|c| resolve(c, charset.as_deref(), collation.as_deref(), self.flavor))
            .collect();
        let mut indexes = Vec::new();
        for key in ct
            .columns
            .iter()
            .flat_map(column_keys)
            .chain(ct.keys.iter().cloned())
        {
            add_index(&mut indexes, &key, false);
        }
        let state = build(id.clone(), columns, indexes, charset, collation)?;
        if ct.system_versioning {
            self.outcome.needs_reload.push(id.clone());
        }
        self.set(id, Some(state));
        Ok(())
    }

    fn alter_table(&mut self, id: TableId, ops: &[AlterOp]) -> Result<(), SchemaError> {
        let rename_to = ops
            .iter()
            .rev()
            .find_map(|op| match op {
                AlterOp::RenameTable(t) => Some(t),
                _ => None,
            })
            .map(|t| self.id(t))
            .transpose()?;
        for op in ops {
            match op {
                AlterOp::PartitionToTable(t) => {
                    let t = self.id(t)?;
                    match self.lookup(&id) {
                        Some(state) => {
                            let copy = renamed(&state, t.clone())?;
                            self.set(t.clone(), Some(copy));
                        }
                        None => self.outcome.needs_reload.push(t.clone()),
                    }
                    self.outcome.changes.push(TableChange::Created(t));
                }
                AlterOp::TableToPartition(t) => {
                    let t = self.id(t)?;
                    self.forget(&t);
                    self.outcome.changes.push(TableChange::Dropped(t));
                }
                _ => {}
            }
        }
        let changes_definition = ops.iter().any(|op| {
            !matches!(
                op,
                AlterOp::RenameTable(_)
                    | AlterOp::PartitionToTable(_)
                    | AlterOp::TableToPartition(_)
            )
        });
        let Some(state) = self.lookup(&id) else {
            // Not tracked: the statement alone does not give the columns.
            match rename_to {
                Some(to) => self.rename(id, to)?,
                None if changes_definition => self.outcome.needs_reload.push(id),
                None => {}
            }
            return Ok(());
        };
        let mut new = self.alter_state(&id, &state, ops)?;
        if ops.iter().any(|op| matches!(op, AlterOp::SystemVersioning)) {
            self.outcome
                .needs_reload
                .push(rename_to.clone().unwrap_or_else(|| id.clone()));
        }
        let altered = new != *state;
        if altered {
            self.outcome.changes.push(TableChange::Altered(id.clone()));
        }
        match rename_to {
            Some(to) if to != id => {
                new = renamed(&new, to.clone())?;
                self.set(id.clone(), None);
                self.set(to.clone(), Some(new));
                self.outcome
                    .changes
                    .push(TableChange::Renamed { from: id, to });
            }
            _ if altered => self.set(id, Some(new)),
            _ => {}
        }
        Ok(())
    }

    /// MySQL's `mysql_prepare_alter_table`, on names: DROP/MODIFY/CHANGE/RENAME refer to the
    /// columns as they were; kept and changed columns stay in place, then added and moved ones
    /// are placed in statement order (`AFTER` names the new list).
    fn alter_state(
        &self,
        id: &TableId,
        state: &TableState,
        ops: &[AlterOp],
    ) -> Result<TableState, SchemaError> {
        // Table default charset first: it applies to the columns this statement defines.
        let mut charset = state.charset.clone();
        let mut collation = state.collation.clone();
        let mut convert = None;
        for op in ops {
            match op {
                AlterOp::DefaultCharset {
                    charset: cs,
                    collation: coll,
                } => {
                    let fallback = self.database_default(id.db());
                    let current = charset.clone().map(|charset| Charset {
                        charset,
                        collation: collation.clone(),
                    });
                    let (cs, coll) = match (cs, coll) {
                        (None, None) => self.charset_pair(None, None, fallback),
                        (None, Some(_)) => {
                            self.charset_pair(None, coll.as_deref(), current.or(fallback))
                        }
                        _ => self.charset_pair(cs.as_deref(), coll.as_deref(), fallback),
                    };
                    charset = cs;
                    collation = coll;
                }
                AlterOp::ConvertCharset {
                    charset: cs,
                    collation: coll,
                } => {
                    let (cs, coll) = self.charset_pair(
                        cs.as_deref(),
                        coll.as_deref(),
                        self.database_default(id.db()),
                    );
                    if let Some(cs) = &cs {
                        convert = Some((cs.clone(), coll.clone()));
                    }
                    charset = cs;
                    collation = coll;
                }
                _ => {}
            }
        }
        let draft = TableState {
            charset: charset.clone(),
            collation: collation.clone(),
            ..state.clone()
        };
        let (table_cs, table_coll) = self.table_default(id, &draft);

        let old = state.schema.columns();
        let find_old = |name: &str| find_column(old, name);
        #[derive(Clone)]
        enum Plan {
            Keep,
            Drop,
            Rename(String),
            Replace(usize),
        }
        let mut plan = vec![Plan::Keep; old.len()];
        // Per op: the resolved definition (ADD/MODIFY/CHANGE), `None` when skipped.
        let mut defs: Vec<Option<ColumnDef>> = vec![None; ops.len()];
        let resolve_spec = |spec: &ColumnSpec| {
            resolve(
                spec,
                table_cs.as_deref(),
                table_coll.as_deref(),
                self.flavor,
            )
        };
        for (i, op) in ops.iter().enumerate() {
            match op {
                AlterOp::DropColumn { name, if_exists } => match find_old(name) {
                    Some(c) => set_plan(&mut plan, c, Plan::Drop),
                    None if *if_exists => {}
                    None => return Err(unknown_column(id, name)),
                },
                AlterOp::ModifyColumn {
                    column, if_exists, ..
                }
                | AlterOp::ChangeColumn {
                    column, if_exists, ..
                } => {
                    let old_name = match op {
                        AlterOp::ChangeColumn { old, .. } => old,
                        _ => &column.def.name,
                    };
                    match find_old(old_name) {
                        Some(c) => {
                            set_plan(&mut plan, c, Plan::Replace(i));
                            if let Some(slot) = defs.get_mut(i) {
                                *slot = Some(resolve_spec(column));
                            }
                        }
                        None if *if_exists => {}
                        None => return Err(unknown_column(id, old_name)),
                    }
                }
                AlterOp::RenameColumn { from, to } => match find_old(from) {
                    Some(c) => set_plan(&mut plan, c, Plan::Rename(to.clone())),
                    None => return Err(unknown_column(id, from)),
                },
                AlterOp::AlterColumn { name, if_exists }
                    if find_old(name).is_none() && !*if_exists =>
                {
                    return Err(unknown_column(id, name));
                }
                AlterOp::AddColumn {
                    column,
                    if_not_exists,
                    ..
                } => {
                    let exists = find_old(&column.def.name).is_some()
                        || defs
                            .iter()
                            .flatten()
                            .any(|d| eq_name(&d.name, &column.def.name));
                    if !(*if_not_exists && exists)
                        && let Some(slot) = defs.get_mut(i)
                    {
                        *slot = Some(resolve_spec(column));
                    }
                }
                _ => {}
            }
        }

        let mut columns: Vec<ColumnDef> = Vec::with_capacity(old.len());
        let mut renames: Vec<(String, String)> = Vec::new();
        let mut dropped: Vec<String> = Vec::new();
        let mut deferred = vec![false; ops.len()];
        for (c, how) in old.iter().zip(&plan) {
            let convert_old = |mut def: ColumnDef| {
                if let Some((cs, coll)) = &convert {
                    convert_column(&mut def, cs, coll.as_deref(), self.flavor);
                }
                def
            };
            match how {
                Plan::Keep => columns.push(convert_old(c.clone())),
                Plan::Drop => dropped.push(c.name.clone()),
                Plan::Rename(to) => {
                    renames.push((c.name.clone(), to.clone()));
                    let mut def = convert_old(c.clone());
                    def.name.clone_from(to);
                    columns.push(def);
                }
                Plan::Replace(i) => {
                    let Some(def) = defs.get(*i).cloned().flatten() else {
                        continue;
                    };
                    if def.name != c.name {
                        renames.push((c.name.clone(), def.name.clone()));
                    }
                    let moved = matches!(
                        ops.get(*i),
                        Some(
                            AlterOp::ModifyColumn {
                                position: Some(_),
                                ..
                            } | AlterOp::ChangeColumn {
                                position: Some(_),
                                ..
                            }
                        )
                    );
                    if moved {
                        if let Some(d) = deferred.get_mut(*i) {
                            *d = true;
                        }
                    } else {
                        columns.push(def);
                    }
                }
            }
        }
        for (i, op) in ops.iter().enumerate() {
            let position = match op {
                AlterOp::AddColumn { position, .. } => position,
                AlterOp::ModifyColumn { position, .. } | AlterOp::ChangeColumn { position, .. }
                    if deferred.get(i) == Some(&true) =>
                {
                    position
                }
                _ => continue,
            };
            let Some(def) = defs.get(i).cloned().flatten() else {
                continue;
            };
            match position {
                None => columns.push(def),
                Some(ColumnPosition::First) => columns.insert(0, def),
                Some(ColumnPosition::After(after)) => {
                    let at =
                        find_column(&columns, after).ok_or_else(|| unknown_column(id, after))?;
                    columns.insert(at + 1, def);
                }
            }
        }

        // Keys: parts follow drops and renames (all by the old names, at once), then key
        // drops and renames, then new keys in statement order.
        let mut indexes: Vec<Index> = state
            .indexes
            .iter()
            .map(|index| Index {
                parts: index
                    .parts
                    .iter()
                    .filter(|p| {
                        p.as_deref()
                            .is_none_or(|n| !dropped.iter().any(|d| eq_name(d, n)))
                    })
                    .map(|p| {
                        p.as_deref().map(|n| {
                            renames
                                .iter()
                                .find(|(from, _)| eq_name(from, n))
                                .map_or_else(|| n.to_owned(), |(_, to)| to.clone())
                        })
                    })
                    .collect(),
                ..index.clone()
            })
            .filter(|index| !index.parts.is_empty())
            .collect();
        for op in ops {
            match op {
                AlterOp::DropPrimaryKey => indexes.retain(|i| i.kind != IndexKind::Primary),
                AlterOp::DropIndex { name, .. } | AlterOp::DropConstraint { name } => {
                    let constraint = matches!(op, AlterOp::DropConstraint { .. });
                    indexes.retain(|i| {
                        !(eq_name(&i.name, name) && (!constraint || i.kind != IndexKind::Other))
                    });
                }
                _ => {}
            }
        }
        for op in ops {
            if let AlterOp::RenameIndex { from, to } = op
                && let Some(i) = indexes.iter_mut().find(|i| eq_name(&i.name, from))
            {
                i.name.clone_from(to);
            }
        }
        for (i, op) in ops.iter().enumerate() {
            match op {
                AlterOp::AddColumn { column, .. }
                | AlterOp::ModifyColumn { column, .. }
                | AlterOp::ChangeColumn { column, .. }
                    if defs.get(i).is_some_and(Option::is_some) =>
                {
                    for key in column_keys(column) {
                        add_index(&mut indexes, &key, false);
                    }
                }
                AlterOp::AddKey { key, if_not_exists } => {
                    add_index(&mut indexes, key, *if_not_exists);
                }
                _ => {}
            }
        }
        build(id.clone(), columns, indexes, charset, collation)
    }
}

/// Sets a column's plan; the first operation on a column wins (MySQL rejects two).
fn set_plan<T>(plan: &mut [T], at: usize, value: T) {
    if let Some(slot) = plan.get_mut(at) {
        *slot = value;
    }
}

impl SchemaHistory {
    /// An empty history.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// With `lower_case_table_names` 1 or 2 the server stores database and table names in
    /// lower case: names in DDL are folded the same way. Set before anything is inserted.
    pub fn set_lower_case_table_names(&mut self, on: bool) {
        self.lower_case_table_names = on;
    }

    /// The server's default charset (`character_set_server`), for databases whose default
    /// is not known. `collation` `None`: the charset's default.
    pub fn set_server_charset(&mut self, charset: &str, collation: Option<&str>) {
        self.server = Some(Charset {
            charset: super::normalize_charset(charset),
            collation: collation.map(super::normalize_collation),
        });
    }

    /// A database's default charset (from `information_schema.SCHEMATA`), which tables
    /// created later without a charset take.
    pub fn set_database_charset(&mut self, db: &str, charset: &str, collation: Option<&str>) {
        let db = self.fold_db(db);
        self.databases.insert(
            db,
            Charset {
                charset: super::normalize_charset(charset),
                collation: collation.map(super::normalize_collation),
            },
        );
    }

    /// A database's default charset and collation, when known.
    #[must_use]
    pub fn database_charset(&self, db: &str) -> Option<(&str, Option<&str>)> {
        self.databases
            .get(db)
            .map(|c| (c.charset.as_str(), c.collation.as_deref()))
    }

    fn fold_db(&self, db: &str) -> String {
        if self.lower_case_table_names {
            db.to_lowercase()
        } else {
            db.to_owned()
        }
    }

    fn fold_case(&self, id: TableId) -> TableId {
        if self.lower_case_table_names {
            TableId::new(id.db().to_lowercase(), id.table().to_lowercase())
        } else {
            id
        }
    }

    fn current(&self, id: &TableId) -> Option<&Arc<TableState>> {
        self.tables.get(id)?.last()?.state.as_ref()
    }

    fn push_version(&mut self, id: TableId, at: BinlogPosition, state: Option<Arc<TableState>>) {
        let versions = self.tables.entry(id).or_default();
        let i = versions.partition_point(|v| cmp_position(&v.at, &at) != Ordering::Greater);
        versions.insert(i, Version { at, state });
    }

    /// Records `schema` (read from the server) as in force from `at`. Its default charset is
    /// taken as the database's; use [`insert_with_charset`](Self::insert_with_charset) when
    /// `information_schema.TABLES.TABLE_COLLATION` is known.
    pub fn insert(&mut self, at: BinlogPosition, schema: TableSchema) -> Arc<TableSchema> {
        self.insert_state(at, schema, None, None)
    }

    /// [`insert`](Self::insert) with the table's default charset and collation, which columns
    /// added later without a charset take.
    pub fn insert_with_charset(
        &mut self,
        at: BinlogPosition,
        schema: TableSchema,
        charset: &str,
        collation: Option<&str>,
    ) -> Arc<TableSchema> {
        self.insert_state(
            at,
            schema,
            Some(super::normalize_charset(charset)),
            collation.map(super::normalize_collation),
        )
    }

    fn insert_state(
        &mut self,
        at: BinlogPosition,
        schema: TableSchema,
        charset: Option<String>,
        collation: Option<String>,
    ) -> Arc<TableSchema> {
        let names = |k: &KeyDef| -> Vec<Option<String>> {
            k.columns
                .iter()
                .map(|&c| schema.columns().get(c).map(|c| c.name.clone()))
                .collect()
        };
        let mut indexes: Vec<Index> = schema
            .primary_key()
            .map(|k| Index {
                name: "PRIMARY".to_owned(),
                kind: IndexKind::Primary,
                parts: names(k),
            })
            .into_iter()
            .collect();
        indexes.extend(schema.unique_keys().iter().map(|k| Index {
            name: k.name.clone(),
            kind: IndexKind::Unique,
            parts: names(k),
        }));
        let schema = Arc::new(schema);
        let id = schema.id().clone();
        let state = TableState {
            schema: Arc::clone(&schema),
            indexes,
            charset,
            collation,
        };
        self.push_version(id, at, Some(Arc::new(state)));
        schema
    }

    /// The latest definition of `table`; `None` when unknown or dropped.
    #[must_use]
    pub fn get(&self, table: &TableId) -> Option<&Arc<TableSchema>> {
        self.current(table).map(|s| &s.schema)
    }

    /// The definition in force at `at` (the latest recorded at or before it); `None` when
    /// the table did not exist then, or nothing is recorded that early.
    #[must_use]
    pub fn get_at(&self, table: &TableId, at: &BinlogPosition) -> Option<&Arc<TableSchema>> {
        let versions = self.tables.get(table)?;
        let i = versions.partition_point(|v| cmp_position(&v.at, at) != Ordering::Greater);
        versions
            .get(i.checked_sub(1)?)?
            .state
            .as_ref()
            .map(|s| &s.schema)
    }

    /// Every recorded version of `table`, oldest first: the position and the definition
    /// (`None`: dropped).
    pub fn versions(
        &self,
        table: &TableId,
    ) -> impl Iterator<Item = (&BinlogPosition, Option<&Arc<TableSchema>>)> + '_ {
        self.tables
            .get(table)
            .into_iter()
            .flatten()
            .map(|v| (&v.at, v.state.as_ref().map(|s| &s.schema)))
    }

    /// The current definition of every table that exists.
    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableSchema>> + '_ {
        self.tables
            .values()
            .filter_map(|v| v.last()?.state.as_ref().map(|s| &s.schema))
    }

    /// Forgets versions no longer needed to decode from `at` on: per table, everything
    /// before the version in force at `at` (and tables dropped before it).
    pub fn prune(&mut self, at: &BinlogPosition) {
        self.tables.retain(|_, versions| {
            let i = versions.partition_point(|v| cmp_position(&v.at, at) != Ordering::Greater);
            if i > 1 {
                versions.drain(..i - 1);
            }
            !(versions.len() == 1 && versions.first().is_some_and(|v| v.state.is_none()) && i > 0)
        });
    }

    /// Applies one statement of a QUERY event at `at`: every table it creates, alters,
    /// renames or drops gets a new version there. `default_db` is the event's database
    /// (`USE db`). Statements that are not DDL change nothing and return
    /// [`DdlKind::Other`].
    ///
    /// All or nothing: on error nothing is recorded. Apply statements in binlog order (each
    /// applies to the latest definitions), and skip QUERY events with a non-zero error code
    /// (the statement failed on the source).
    ///
    /// # Errors
    /// A [`SchemaError`] with the statement and `at`: malformed DDL
    /// ([`SchemaErrorKind::Syntax`]), a column the table does not have
    /// ([`SchemaErrorKind::UnknownColumn`], e.g. `DROP COLUMN x` of a tracked table without
    /// `x`), a type this crate does not know, a table name without a database.
    pub fn apply_ddl(
        &mut self,
        default_db: Option<&str>,
        sql: &str,
        at: &BinlogPosition,
        dialect: impl Into<Dialect>,
    ) -> Result<DdlOutcome, SchemaError> {
        let dialect = dialect.into();
        let default_db = default_db.filter(|d| !d.is_empty());
        let st = parse_in(sql, dialect, default_db).map_err(|e| e.at(at))?;
        self.apply_statement(default_db, &st, at, dialect.flavor)
            .map_err(|e| e.in_statement(sql))
    }

    /// [`apply_ddl`](Self::apply_ddl) for a statement already parsed.
    ///
    /// # Errors
    /// As [`apply_ddl`](Self::apply_ddl), without the statement text.
    pub fn apply_statement(
        &mut self,
        default_db: Option<&str>,
        statement: &Statement,
        at: &BinlogPosition,
        flavor: Flavor,
    ) -> Result<DdlOutcome, SchemaError> {
        let folded = default_db.map(|d| self.fold_db(d));
        let mut txn = Txn {
            history: self,
            default_db: folded.as_deref(),
            flavor,
            tables: Vec::new(),
            databases: Vec::new(),
            outcome: DdlOutcome::new(DdlKind::Other),
        };
        txn.apply(statement).map_err(|e| e.at(at))?;
        let Txn {
            tables,
            databases,
            outcome,
            ..
        } = txn;
        // One version per table and statement: the last (`RENAME TABLE a TO b, b TO a`).
        for (i, (id, state)) in tables.iter().enumerate() {
            if tables.iter().skip(i + 1).all(|(later, _)| later != id) {
                self.push_version(id.clone(), at.clone(), state.clone());
            }
        }
        for (db, charset) in databases {
            match charset {
                Some(c) => {
                    self.databases.insert(db, c);
                }
                None => {
                    self.databases.remove(&db);
                }
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(file: &str, offset: u64) -> BinlogPosition {
        BinlogPosition::new(file, offset)
    }

    #[test]
    fn positions_compare_by_file_number() {
        assert_eq!(
            cmp_position(&pos("b.999999", 9), &pos("b.1000000", 4)),
            Ordering::Less
        );
        assert_eq!(
            cmp_position(&pos("b.000002", 9), &pos("b.000002", 4)),
            Ordering::Greater
        );
        assert_eq!(
            cmp_position(&pos("b.000002", 4), &pos("b.000002", 4)),
            Ordering::Equal
        );
    }

    #[test]
    fn index_names_follow_mysql() {
        let mut idx = Vec::new();
        let key = |name: Option<&str>, col: &str| KeySpec {
            kind: KeyKind::Unique,
            name: name.map(str::to_owned),
            parts: vec![KeyPart::Column {
                name: col.into(),
                prefix: None,
            }],
        };
        add_index(&mut idx, &key(None, "a"), false);
        add_index(&mut idx, &key(None, "a"), false);
        add_index(&mut idx, &key(None, "primary"), false);
        assert!(!add_index(&mut idx, &key(Some("A"), "b"), true));
        let names: Vec<&str> = idx.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["a", "a_2", "primary_2"]);
    }
}
