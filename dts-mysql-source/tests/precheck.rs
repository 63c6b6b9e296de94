//! Prechecks against real servers: the well-configured MariaDB passes with the minimal-grant
//! DTS user; each item fails, with its id and a hint, on a misconfigured server or user.
#![allow(clippy::unwrap_used)]

use dts_core::TableId;
use dts_mysql_source::precheck::{self, CheckStatus, PrecheckOptions, PrecheckReport};
use dts_mysql_source::protocol::{ConnectOptions, Connection};

fn opts(url: &str) -> ConnectOptions {
    ConnectOptions::from_url(url).unwrap()
}

fn status(r: &PrecheckReport, id: &str) -> CheckStatus {
    r.item(id)
        .unwrap_or_else(|| panic!("no item {id}: {r:#?}"))
        .status
}

fn assert_fails_with_hint(r: &PrecheckReport, id: &str) {
    let item = r.item(id).unwrap();
    assert_eq!(item.status, CheckStatus::Fail, "{item}");
    assert!(item.hint.is_some(), "{item} has no hint");
}

async fn setup(db: &str) {
    let mut a = Connection::connect(&opts(&dts_test_utils::mariadb_admin_url()))
        .await
        .unwrap();
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
        format!("CREATE TABLE {db}.with_pk (id INT PRIMARY KEY)"),
        format!("CREATE TABLE {db}.with_uk (a INT NOT NULL, UNIQUE KEY (a))"),
        format!("CREATE TABLE {db}.no_key (a INT)"),
        format!("CREATE TABLE {db}.part1 (a INT) ENGINE=MyISAM"),
        format!("CREATE TABLE {db}.merged (a INT) ENGINE=MRG_MYISAM UNION=({db}.part1)"),
        format!("CREATE VIEW {db}.v AS SELECT 1 AS x"),
    ] {
        a.execute(&sql).await.unwrap();
    }
}

#[tokio::test]
async fn a_well_configured_server_passes() {
    let db = format!("dts_pre_ok_{}", std::process::id());
    setup(&db).await;
    let o = PrecheckOptions {
        tables: vec![
            TableId::new(db.as_str(), "with_pk"),
            TableId::new(db.as_str(), "with_uk"),
        ],
        incremental: true,
        start_file: None,
        server_id: 5401,
    };
    let r = precheck::run(&opts(&dts_test_utils::mariadb_url()), &o).await;
    for item in &r.items {
        assert_eq!(item.status, CheckStatus::Pass, "{item}");
    }
    assert!(r.passed());
    assert_eq!(r.items.len(), 15, "every item is reported");
}

#[tokio::test]
async fn table_problems_are_reported_per_item() {
    let db = format!("dts_pre_tables_{}", std::process::id());
    setup(&db).await;
    let o = PrecheckOptions {
        tables: vec![
            TableId::new(db.as_str(), "no_key"),
            TableId::new(db.as_str(), "merged"),
            TableId::new(db.as_str(), "missing"),
            TableId::new(db.as_str(), "v"),
        ],
        incremental: true,
        start_file: Some("mysql-bin.000000".into()),
        server_id: 1, // the server's own id
    };
    let r = precheck::run(&opts(&dts_test_utils::mariadb_url()), &o).await;
    assert_eq!(status(&r, "CHECK_TABLE_PK"), CheckStatus::Warn);
    assert!(r.item("CHECK_TABLE_PK").unwrap().message.contains("no_key"));
    assert_fails_with_hint(&r, "CHECK_TABLE_EXIST");
    let missing = &r.item("CHECK_TABLE_EXIST").unwrap().message;
    assert!(
        missing.contains("missing") && missing.contains(".v (a VIEW"),
        "{missing}"
    );
    assert_fails_with_hint(&r, "CHECK_ENGINE");
    assert!(
        r.item("CHECK_ENGINE")
            .unwrap()
            .message
            .contains("MRG_MYISAM")
    );
    assert_fails_with_hint(&r, "CHECK_BINLOG_EXIST");
    assert!(
        r.item("CHECK_BINLOG_EXIST")
            .unwrap()
            .message
            .contains("oldest: mysql-bin.")
    );
    assert_fails_with_hint(&r, "CHECK_SERVER_ID");
    assert!(!r.passed());
}

#[tokio::test]
async fn a_statement_binlog_server_fails_the_binlog_items() {
    let url = dts_test_utils::mariadb_stmt_url();
    let o = PrecheckOptions {
        tables: vec![],
        incremental: true,
        start_file: None,
        server_id: 5401,
    };
    let r = precheck::run(&opts(&url), &o).await;
    assert_fails_with_hint(&r, "CHECK_BINLOG_MODE");
    assert!(
        r.item("CHECK_BINLOG_MODE")
            .unwrap()
            .message
            .contains("STATEMENT")
    );
    assert_fails_with_hint(&r, "CHECK_BINLOG_ROW_IMAGE");
    assert_eq!(status(&r, "CHECK_BINLOG_ON"), CheckStatus::Pass);
    // Without incremental migration the binlog settings only warn.
    let o = PrecheckOptions {
        incremental: false,
        ..o
    };
    let r = precheck::run(&opts(&url), &o).await;
    assert_eq!(status(&r, "CHECK_BINLOG_MODE"), CheckStatus::Warn);
}

#[tokio::test]
async fn a_user_without_replication_grants_fails_the_privilege_items() {
    let db = format!("dts_pre_priv_{}", std::process::id());
    setup(&db).await;
    let user = format!("dts_norepl_{}", std::process::id());
    let mut a = Connection::connect(&opts(&dts_test_utils::mariadb_admin_url()))
        .await
        .unwrap();
    a.execute(&format!("DROP USER IF EXISTS '{user}'@'%'"))
        .await
        .unwrap();
    a.execute(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'pw_{user}'"
    ))
    .await
    .unwrap();
    a.execute(&format!("GRANT SELECT ON {db}.with_pk TO '{user}'@'%'"))
        .await
        .unwrap();
    let mut o = opts(&dts_test_utils::mariadb_url());
    o.user.clone_from(&user);
    o.password = format!("pw_{user}").into();
    let checks = PrecheckOptions {
        tables: vec![
            TableId::new(db.as_str(), "with_pk"),
            TableId::new(db.as_str(), "with_uk"),
        ],
        incremental: true,
        start_file: None,
        server_id: 5401,
    };
    let r = precheck::run(&o, &checks).await;
    assert_fails_with_hint(&r, "CHECK_PRIV_REPLICATION_SLAVE");
    assert_fails_with_hint(&r, "CHECK_PRIV_REPLICATION_CLIENT");
    assert_fails_with_hint(&r, "CHECK_PRIV_SELECT");
    assert!(
        r.item("CHECK_PRIV_SELECT")
            .unwrap()
            .message
            .contains("with_uk")
    );
    assert_eq!(status(&r, "CHECK_PRIV_SHOW_VIEW"), CheckStatus::Warn);
    a.execute(&format!("DROP USER '{user}'@'%'")).await.unwrap();
}

#[tokio::test]
async fn connection_and_login_failures_stop_the_later_items() {
    let mut o = opts(&dts_test_utils::mariadb_url());
    o.password = "wrong-password-123".into();
    let r = precheck::run(&o, &PrecheckOptions::default()).await;
    assert_eq!(status(&r, "CHECK_CONN_SRC"), CheckStatus::Pass);
    assert_fails_with_hint(&r, "CHECK_AUTH_SRC");
    assert_eq!(status(&r, "CHECK_BINLOG_MODE"), CheckStatus::Fail);
    assert!(!format!("{r:?}").contains("wrong-password-123"));
    assert_eq!(r.items.len(), 15);

    let mut o = opts(&dts_test_utils::mariadb_url());
    o.port = 1;
    let r = precheck::run(&o, &PrecheckOptions::default()).await;
    assert_fails_with_hint(&r, "CHECK_CONN_SRC");
    assert!(r.item("CHECK_CONN_SRC").unwrap().message.contains(":1"));
}

#[tokio::test]
async fn an_untrusted_tls_certificate_fails_the_auth_item_and_tls_that_works_passes() {
    use dts_mysql_source::protocol::{TlsMode, TlsOptions};
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: start the server with `eval \"$(scripts/mariadb.sh start)\"`"
            )
        })
    };
    let mut o = opts(&dts_test_utils::mariadb_url());
    o.tls = TlsOptions::new(TlsMode::VerifyCa).with_ca(var("DTS_MARIADB_TLS_OTHER_CA"));
    let r = precheck::run(&o, &PrecheckOptions::default()).await;
    assert_eq!(status(&r, "CHECK_CONN_SRC"), CheckStatus::Pass);
    assert_fails_with_hint(&r, "CHECK_AUTH_SRC");
    let item = r.item("CHECK_AUTH_SRC").unwrap();
    assert!(item.message.contains("verify-ca"), "{item}");
    assert!(item.hint.as_deref().unwrap().contains("tls_ca"), "{item}");

    o.tls = TlsOptions::new(TlsMode::VerifyCa).with_ca(var("DTS_MARIADB_TLS_CA"));
    let r = precheck::run(&o, &PrecheckOptions::default()).await;
    let item = r.item("CHECK_AUTH_SRC").unwrap();
    assert_eq!(item.status, CheckStatus::Pass, "{item}");
    assert!(item.message.contains("over TLS"), "{item}");
}
