//! Table definitions and selections from information_schema of the live MariaDB.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use dts_core::{ColumnType, TableId};
use dts_mysql_source::catalog;
use dts_mysql_source::protocol::{ConnectOptions, Connection};

#[tokio::test]
async fn loads_every_attribute_and_expands_selections() {
    let mut a = Connection::connect(
        &ConnectOptions::from_url(&dts_test_utils::mariadb_admin_url()).unwrap(),
    )
    .await
    .unwrap();
    let db = format!("dts_cat_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db} CHARACTER SET latin1"),
        format!(
            "CREATE TABLE {db}.t (a INT UNSIGNED NOT NULL, b VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, \
             c DECIMAL(12,3), d DATETIME(4), e ENUM('x','it''s','y,z'), f SET('p','q'), g BIT(10), h TEXT, \
             i VARBINARY(8), j JSON, PRIMARY KEY (a), UNIQUE KEY uk_bc (b, c))"
        ),
        format!("CREATE TABLE {db}.u (x INT)"),
        format!("CREATE VIEW {db}.v AS SELECT 1"),
    ] {
        a.execute(&sql).await.unwrap();
    }
    let mut c =
        Connection::connect(&ConnectOptions::from_url(&dts_test_utils::mariadb_url()).unwrap())
            .await
            .unwrap();
    let t = catalog::load_table(&mut c, &TableId::new(db.as_str(), "t"))
        .await
        .unwrap();
    let cols = t.columns();
    assert_eq!(cols.len(), 10);
    assert!(cols[0].unsigned && !cols[0].nullable && cols[0].ty == ColumnType::Int);
    assert_eq!(
        (
            cols[1].charset.as_deref(),
            cols[1].collation.as_deref(),
            cols[1].length
        ),
        (Some("utf8mb4"), Some("utf8mb4_bin"), Some(20))
    );
    assert_eq!((cols[2].precision, cols[2].scale), (Some(12), Some(3)));
    assert_eq!(cols[3].fsp, Some(4));
    assert_eq!(cols[4].labels, ["x", "it's", "y,z"]);
    assert_eq!(cols[5].labels, ["p", "q"]);
    assert_eq!((cols[6].ty, cols[6].length), (ColumnType::Bit, Some(10)));
    assert_eq!(
        (cols[7].ty, cols[7].charset.as_deref()),
        (ColumnType::Text, Some("latin1"))
    );
    assert_eq!(
        (cols[8].ty, cols[8].charset.as_deref()),
        (ColumnType::VarBinary, None)
    );
    assert_eq!(cols[9].ty, ColumnType::LongText, "MariaDB JSON is LONGTEXT");
    assert_eq!(t.primary_key().unwrap().columns, [0]);
    assert_eq!(t.unique_keys()[0].name, "uk_bc");
    assert_eq!(t.unique_keys()[0].columns, [1, 2]);

    let all = catalog::expand_tables(&mut c, &[format!("{db}.*")])
        .await
        .unwrap();
    assert_eq!(
        all,
        [
            TableId::new(db.as_str(), "t"),
            TableId::new(db.as_str(), "u")
        ],
        "views are not tables"
    );
    let err = catalog::expand_tables(&mut c, &[format!("{db}.nope")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("matches no table"), "{err}");
    assert!(
        catalog::expand_tables(&mut c, &["nodot".into()])
            .await
            .is_err()
    );
    let ddl = catalog::show_create_table(&mut c, &TableId::new(db.as_str(), "t"))
        .await
        .unwrap();
    assert!(ddl.starts_with("CREATE TABLE `t`"), "{ddl}");
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}
