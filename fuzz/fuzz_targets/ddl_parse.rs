//! The DDL parser and the schema history never panic on any statement, and a statement that
//! fails changes nothing.
#![no_main]

use dts_core::{BinlogPosition, ColumnDef, ColumnType, KeyDef, TableId, TableSchema};
use dts_mysql_source::schema::{Flavor, SchemaHistory, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let Ok(sql) = std::str::from_utf8(rest) else { return };
    let flavor = if flags & 1 == 0 { Flavor::MySql } else { Flavor::MariaDb };
    let _ = parse(sql, flavor);
    let mut h = SchemaHistory::new();
    let t = TableSchema::new(
        TableId::new("d", "t"),
        vec![ColumnDef::new("id", ColumnType::Int), ColumnDef::new("v", ColumnType::VarChar)],
        Some(KeyDef { name: "PRIMARY".into(), columns: vec![0] }),
        vec![],
    )
    .expect("valid table");
    h.insert(BinlogPosition::new("b.000001", 4), t);
    let before: Vec<_> = h.tables().cloned().collect();
    if h.apply_ddl(Some("d"), sql, &BinlogPosition::new("b.000001", 100), flavor).is_err() {
        let after: Vec<_> = h.tables().cloned().collect();
        assert_eq!(before, after, "a failed statement changed the history");
    }
});
