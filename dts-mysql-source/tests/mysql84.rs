//! MySQL 8.4 removed `SHOW MASTER STATUS`; a minimal fake MySQL 8.4 (MariaDB cannot play it)
//! answers it with a syntax error and serves `SHOW BINARY LOG STATUS`: the client falls back.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use dts_mysql_source::protocol::{ConnectOptions, Connection};
use tokio::net::TcpListener;

#[path = "common/fake_server.rs"]
mod fake_server;
use fake_server::{read_packet, send_handshake, write_packet};

fn lenenc_str(out: &mut Vec<u8>, s: &str) {
    out.push(u8::try_from(s.len()).unwrap());
    out.extend_from_slice(s.as_bytes());
}

/// Serves one connection; returns the statements it was sent.
async fn fake_mysql84(listener: TcpListener) -> Vec<String> {
    let (mut s, _) = listener.accept().await.unwrap();
    send_handshake(
        &mut s,
        "8.4.3",
        b"abcdefghijklmnopqrst",
        "mysql_native_password",
    )
    .await;
    read_packet(&mut s).await.unwrap();
    let ok = [0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00];
    write_packet(&mut s, 2, &ok).await;
    let mut seen = Vec::new();
    while let Some((_, cmd)) = read_packet(&mut s).await {
        if cmd.first() != Some(&0x03) {
            break; // COM_QUIT
        }
        let sql = String::from_utf8_lossy(&cmd[1..]).into_owned();
        seen.push(sql.clone());
        if sql.eq_ignore_ascii_case("SHOW MASTER STATUS") {
            let mut err = vec![0xff];
            err.extend_from_slice(&1064u16.to_le_bytes());
            err.extend_from_slice(
                b"#42000You have an error in your SQL syntax near 'MASTER STATUS'",
            );
            write_packet(&mut s, 1, &err).await;
            continue;
        }
        assert_eq!(sql, "SHOW BINARY LOG STATUS");
        let names = ["File", "Position", "Executed_Gtid_Set"];
        write_packet(&mut s, 1, &[u8::try_from(names.len()).unwrap()]).await;
        let mut seq = 2;
        for name in names {
            let mut def = Vec::new();
            for part in ["def", "", "", "", name, name] {
                lenenc_str(&mut def, part);
            }
            def.extend_from_slice(&[0x0c, 0x21, 0x00, 0, 1, 0, 0, 0xfd, 0, 0, 0, 0, 0]);
            write_packet(&mut s, seq, &def).await;
            seq += 1;
        }
        let eof = [0xfe, 0x00, 0x00, 0x02, 0x00];
        write_packet(&mut s, seq, &eof).await;
        let mut row = Vec::new();
        for v in [
            "binlog.000042",
            "157",
            "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
        ] {
            lenenc_str(&mut row, v);
        }
        write_packet(&mut s, seq + 1, &row).await;
        write_packet(&mut s, seq + 2, &eof).await;
    }
    seen
}

#[tokio::test]
async fn the_binlog_position_is_read_where_show_master_status_is_gone() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(fake_mysql84(listener));
    let mut c = Connection::connect(&ConnectOptions::new("127.0.0.1", port, "dts", "pw"))
        .await
        .unwrap();
    let status = c.binlog_status().await.unwrap();
    assert_eq!(status.first("File").as_deref(), Some("binlog.000042"));
    assert_eq!(status.first("Position").as_deref(), Some("157"));
    c.close().await.unwrap();
    assert_eq!(
        server.await.unwrap(),
        ["SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"]
    );
}
