//! `caching_sha2_password` full authentication without TLS (MySQL 8's default plugin; MariaDB
//! has no server side for it, so a minimal fake server plays MySQL 8 here): the password goes
//! RSA-encrypted with the server's public key — fetched when allowed, or read from a file — and
//! never in the clear; without either, a clear error.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use dts_mysql_source::Error;
use dts_mysql_source::protocol::{ConnectOptions, Connection};
use openssl::pkey::Private;
use openssl::rsa::{Padding, Rsa};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

#[path = "common/fake_server.rs"]
mod fake_server;
use fake_server::{read_packet, send_handshake, write_packet};

const SCRAMBLE: &[u8; 20] = b"0123456789abcdefghij";
const PASSWORD: &str = "s3cret-pw";

/// What the fake server saw.
#[derive(Debug, Default)]
struct Seen {
    asked_for_key: bool,
    decrypted_ok: bool,
    cleartext_seen: bool,
}

/// A MySQL 8 that knows `PASSWORD` but has it not cached: full authentication.
async fn fake_mysql8(listener: TcpListener, key: Rsa<Private>) -> Seen {
    let (mut s, _) = listener.accept().await.unwrap();
    let mut seen = Seen::default();
    send_handshake(&mut s, "8.0.36", SCRAMBLE, "caching_sha2_password").await;
    let Some((_, response)) = read_packet(&mut s).await else {
        return seen;
    };
    if response
        .windows(PASSWORD.len())
        .any(|w| w == PASSWORD.as_bytes())
    {
        seen.cleartext_seen = true;
    }
    write_packet(&mut s, 2, &[0x01, 0x04]).await; // perform full authentication
    let Some((mut seq, mut pkt)) = read_packet(&mut s).await else {
        return seen; // the client gave up (no TLS, no key)
    };
    if pkt == [0x02] {
        seen.asked_for_key = true;
        let mut answer = vec![0x01];
        answer.extend_from_slice(&key.public_key_to_pem().unwrap());
        write_packet(&mut s, seq + 1, &answer).await;
        let Some(next) = read_packet(&mut s).await else {
            return seen;
        };
        (seq, pkt) = next;
    }
    if pkt
        .windows(PASSWORD.len())
        .any(|w| w == PASSWORD.as_bytes())
    {
        seen.cleartext_seen = true;
    }
    let mut plain = vec![0u8; usize::try_from(key.size()).unwrap()];
    let ok = match key.private_decrypt(&pkt, &mut plain, Padding::PKCS1_OAEP) {
        Ok(n) => {
            plain.truncate(n);
            for (b, k) in plain.iter_mut().zip(SCRAMBLE.iter().cycle()) {
                *b ^= k;
            }
            plain == [PASSWORD.as_bytes(), b"\0"].concat()
        }
        Err(_) => false,
    };
    seen.decrypted_ok = ok;
    if ok {
        write_packet(&mut s, seq + 1, &[0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]).await;
    } else {
        let mut err = vec![0xff];
        err.extend_from_slice(&1045u16.to_le_bytes());
        err.extend_from_slice(
            b"#28000Access denied for user 'dts'@'localhost' (using password: YES)",
        );
        write_packet(&mut s, seq + 1, &err).await;
    }
    // Keep the socket open until the client is done with it.
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).await.ok();
    seen
}

/// Connects to a fresh fake server; returns the outcome and what the server saw.
async fn attempt(password: &str, retrieval: bool, key_file: bool) -> (Result<(), Error>, Seen) {
    let key = Rsa::generate(2048).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(fake_mysql8(listener, key.clone()));
    let mut opts = ConnectOptions::new("127.0.0.1", port, "dts", password);
    opts.allow_public_key_retrieval = retrieval;
    let path = std::env::temp_dir().join(format!("dts-sha2-{}-{port}.pem", std::process::id()));
    if key_file {
        std::fs::write(&path, key.public_key_to_pem().unwrap()).unwrap();
        opts.server_public_key = Some(path.clone());
    }
    // Dropping the connection closes it, which lets the server finish.
    let outcome = Connection::connect(&opts).await.map(drop);
    let seen = server.await.unwrap();
    std::fs::remove_file(&path).ok();
    (outcome, seen)
}

#[tokio::test]
async fn the_key_is_fetched_when_allowed_and_the_password_goes_encrypted() {
    let (outcome, seen) = attempt(PASSWORD, true, false).await;
    outcome.unwrap();
    assert!(seen.asked_for_key && seen.decrypted_ok, "{seen:?}");
    assert!(
        !seen.cleartext_seen,
        "the password never crosses in the clear"
    );
}

#[tokio::test]
async fn a_configured_key_file_is_used_without_asking() {
    let (outcome, seen) = attempt(PASSWORD, false, true).await;
    outcome.unwrap();
    assert!(!seen.asked_for_key && seen.decrypted_ok, "{seen:?}");
    assert!(!seen.cleartext_seen);
}

#[tokio::test]
async fn a_wrong_password_is_refused_by_the_server() {
    let (outcome, seen) = attempt("not-the-password", true, false).await;
    let err = outcome.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(!seen.decrypted_ok);
    assert!(!err.to_string().contains("not-the-password"), "{err}");
}

#[tokio::test]
async fn without_tls_or_a_key_it_is_a_clear_error() {
    let (outcome, seen) = attempt(PASSWORD, false, false).await;
    let err = outcome.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(
        text.contains("tls") && text.contains("allow_public_key_retrieval"),
        "says how to fix it: {text}"
    );
    assert!(!text.contains(PASSWORD));
    assert!(!seen.cleartext_seen);
}
