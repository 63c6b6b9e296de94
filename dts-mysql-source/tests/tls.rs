//! TLS to the live MariaDB (`scripts/mariadb.sh` starts it with a throw-away CA and a server
//! certificate for DNS:localhost): the four modes, certificate and host-name checks, the binlog
//! stream over TLS, and a whole source run as a user the server only lets in over TLS.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::time::Duration;

use dts_core::{CancellationToken, Operation, Source, SourceContext};
use dts_mysql_source::binlog::{Event, EventDecoder};
use dts_mysql_source::protocol::{
    BinlogStart, ConnectOptions, Connection, ReplicaOptions, StreamItem, TlsMode, TlsOptions,
};
use dts_mysql_source::{Error, MySqlSource, MySqlSourceConfig};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test needs the server started by `scripts/mariadb.sh start` \
             (run `eval \"$(scripts/mariadb.sh start)\"` first, or use scripts/test.sh)"
        )
    })
}

fn ca() -> String {
    var("DTS_MARIADB_TLS_CA")
}

fn dts_user(host: &str, tls: TlsOptions) -> ConnectOptions {
    let mut o = ConnectOptions::from_url(&dts_test_utils::mariadb_url()).unwrap();
    o.host = host.to_owned();
    o.tls = tls;
    o
}

async fn cipher(c: &mut Connection) -> String {
    c.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await
        .unwrap()
        .first("Value")
        .unwrap_or_default()
}

#[tokio::test]
async fn each_mode_encrypts_or_not_as_configured() {
    let mut plain = Connection::connect(&dts_user("127.0.0.1", TlsOptions::default()))
        .await
        .unwrap();
    assert_eq!(cipher(&mut plain).await, "", "disabled: plain TCP");
    for (mode, host) in [
        (TlsMode::Required, "127.0.0.1"),
        (TlsMode::VerifyCa, "127.0.0.1"),
        (TlsMode::VerifyIdentity, "localhost"),
    ] {
        let opts = dts_user(host, TlsOptions::new(mode).with_ca(ca()));
        let mut c = Connection::connect(&opts)
            .await
            .unwrap_or_else(|e| panic!("{mode:?} to {host}: {e}"));
        let cipher = cipher(&mut c).await;
        assert!(!cipher.is_empty(), "{mode:?}: no TLS cipher in use");
        c.close().await.unwrap();
    }
    // `required` encrypts without checking who answers: no CA needed.
    let mut c = Connection::connect(&dts_user("127.0.0.1", TlsOptions::new(TlsMode::Required)))
        .await
        .unwrap();
    assert!(!cipher(&mut c).await.is_empty());
}

#[tokio::test]
async fn an_untrusted_certificate_or_a_wrong_host_name_is_refused() {
    // Signed by a CA we were not told to trust.
    let other = var("DTS_MARIADB_TLS_OTHER_CA");
    for (mode, host, ca) in [
        (TlsMode::VerifyCa, "127.0.0.1", Some(other.clone())),
        (TlsMode::VerifyCa, "127.0.0.1", None), // the system's roots do not know our CA
        (TlsMode::VerifyIdentity, "localhost", Some(other)),
        // Trusted CA, but the certificate names localhost, not 127.0.0.1.
        (TlsMode::VerifyIdentity, "127.0.0.1", Some(ca())),
    ] {
        let mut tls = TlsOptions::new(mode);
        tls.ca = ca.map(Into::into);
        let err = Connection::connect(&dts_user(host, tls))
            .await
            .expect_err("the certificate must be refused");
        let text = err.to_string();
        assert!(matches!(err, Error::Tls(_)), "{mode:?} {host}: {err:?}");
        assert!(
            text.contains(host) && text.contains(mode.as_str()),
            "names host and mode: {text}"
        );
        assert!(!text.contains("dts_pw"), "never the password: {text}");
    }
}

#[tokio::test]
async fn the_binlog_streams_over_tls() {
    let mut a = Connection::connect(
        &ConnectOptions::from_url(&dts_test_utils::mariadb_admin_url()).unwrap(),
    )
    .await
    .unwrap();
    let db = format!("dts_tls_stream_{}", std::process::id());
    a.execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .await
        .unwrap();
    a.execute(&format!("CREATE DATABASE {db}")).await.unwrap();
    a.execute(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY)"))
        .await
        .unwrap();
    let mut c = Connection::connect(&dts_user(
        "localhost",
        TlsOptions::new(TlsMode::VerifyIdentity).with_ca(ca()),
    ))
    .await
    .unwrap();
    let status = c.query("SHOW MASTER STATUS").await.unwrap();
    let (file, offset) = (
        status.first("File").unwrap(),
        status.first("Position").unwrap().parse().unwrap(),
    );
    a.execute(&format!(
        "INSERT INTO {db}.t SELECT seq FROM {db}.seq_1_to_2000"
    ))
    .await
    .unwrap();
    c.start_replication(&ReplicaOptions {
        server_id: 54_301,
        start: BinlogStart::Position { file, offset },
        heartbeat: Duration::from_secs(1),
        non_blocking: true,
    })
    .await
    .unwrap();
    let mut decoder = EventDecoder::default();
    let mut rows = 0;
    while let StreamItem::Event(raw) = c.next_event().await.unwrap() {
        let ev = decoder.decode(&raw).unwrap_or_else(|e| panic!("{e}"));
        if let Event::Rows(r) = &ev.event
            && r.table.schema == db.as_bytes()
        {
            let plan = dts_mysql_source::binlog::RowPlan::new(&r.table);
            rows += r.rows(&plan).count();
        }
    }
    assert_eq!(rows, 2000, "every row of the INSERT came over TLS");
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}

/// A user the server lets in only over TLS: the whole source (catalog, snapshot connections,
/// replication) must use TLS, or it fails.
#[tokio::test]
async fn a_whole_source_run_uses_tls_on_every_connection() {
    let mut a = Connection::connect(
        &ConnectOptions::from_url(&dts_test_utils::mariadb_admin_url()).unwrap(),
    )
    .await
    .unwrap();
    let db = format!("dts_tls_src_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
        format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))"),
        format!("INSERT INTO {db}.t SELECT seq, CONCAT('v', seq) FROM {db}.seq_1_to_3000"),
    ] {
        a.execute(&sql).await.unwrap();
    }
    for host in ["127.0.0.1", "localhost", "%"] {
        a.execute(&format!(
            "CREATE USER IF NOT EXISTS 'dts_tls'@'{host}' IDENTIFIED BY 'tls_pw' REQUIRE SSL"
        ))
        .await
        .unwrap();
        a.execute(&format!(
            "GRANT SELECT, REPLICATION CLIENT, REPLICATION SLAVE, SHOW VIEW ON *.* TO 'dts_tls'@'{host}'"
        ))
        .await
        .unwrap();
    }
    let port: u16 = var("DTS_MARIADB_PORT").parse().unwrap();
    let run = |tls: TlsOptions| {
        let mut connect = ConnectOptions::new("localhost", port, "dts_tls", "tls_pw");
        connect.tls = tls;
        let mut config = MySqlSourceConfig::new(connect, 54_302, vec![format!("{db}.t")]);
        config.incremental_migration = false;
        config.snapshot.chunk_rows = 500;
        config.snapshot.parallelism = 2;
        async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
            let cx = SourceContext::detached(tx, CancellationToken::new(), None);
            let collector = tokio::spawn(async move {
                let mut n = 0usize;
                while let Some(ev) = rx.recv().await {
                    n += usize::from(ev.op == Operation::Init);
                }
                n
            });
            let result = MySqlSource::new(config).run(cx).await;
            (result, collector.await.unwrap())
        }
    };
    let (refused, _) = run(TlsOptions::default()).await;
    let refused = refused.expect_err("the server requires TLS of this user");
    assert!(
        refused.to_string().contains("dts_tls"),
        "names the user: {refused}"
    );
    let (ok, rows) = run(TlsOptions::new(TlsMode::VerifyIdentity).with_ca(ca())).await;
    ok.unwrap();
    assert_eq!(rows, 3000, "every row read over TLS");
    for host in ["127.0.0.1", "localhost", "%"] {
        a.execute(&format!("DROP USER 'dts_tls'@'{host}'"))
            .await
            .unwrap();
    }
    a.execute(&format!("DROP DATABASE {db}")).await.unwrap();
}
