//! The servers `scripts/test.sh` starts are really there and really what they claim to be:
//! a MariaDB that speaks the MySQL protocol, and a broker that speaks Kafka's.
//! These tests fail (never skip) when the scripts were not run.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn host_port(url_or_addr: &str) -> String {
    // mysql://user:pass@host:port[/db] or host:port
    let rest = url_or_addr
        .split_once("://")
        .map_or(url_or_addr, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('/').next().unwrap().to_owned()
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

#[test]
fn mariadb_greets_with_a_protocol_10_handshake() {
    let addr = host_port(&dts_test_utils::mariadb_url());
    let mut s = connect(&addr);
    let mut header = [0u8; 4];
    s.read_exact(&mut header).unwrap();
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).unwrap();
    assert_eq!(payload[0], 10, "protocol version");
    let end = payload[1..].iter().position(|&b| b == 0).unwrap() + 1;
    let version = std::str::from_utf8(&payload[1..end]).unwrap();
    assert!(version.contains("MariaDB"), "server version {version:?}");
}

#[test]
fn kafka_broker_answers_api_versions() {
    let addr = dts_test_utils::kafka_bootstrap();
    let mut s = connect(&host_port(&addr));
    // ApiVersions v0: api_key 18, version 0, correlation id 7, client id "dts-test".
    let client = b"dts-test";
    let mut body = Vec::new();
    body.extend_from_slice(&18i16.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&7i32.to_be_bytes());
    body.extend_from_slice(&i16::try_from(client.len()).unwrap().to_be_bytes());
    body.extend_from_slice(client);
    let mut req = i32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    req.extend_from_slice(&body);
    s.write_all(&req).unwrap();

    let mut size = [0u8; 4];
    s.read_exact(&mut size).unwrap();
    let mut resp = vec![0u8; usize::try_from(i32::from_be_bytes(size)).unwrap()];
    s.read_exact(&mut resp).unwrap();
    let be16 = |at: usize| i16::from_be_bytes([resp[at], resp[at + 1]]);
    assert_eq!(
        i32::from_be_bytes(resp[0..4].try_into().unwrap()),
        7,
        "correlation id"
    );
    assert_eq!(be16(4), 0, "error code");
    let n = usize::try_from(i32::from_be_bytes(resp[6..10].try_into().unwrap())).unwrap();
    let keys: Vec<i16> = (0..n).map(|i| be16(10 + i * 6)).collect();
    for (key, name) in [
        (0, "Produce"),
        (1, "Fetch"),
        (3, "Metadata"),
        (19, "CreateTopics"),
    ] {
        assert!(
            keys.contains(&key),
            "broker lacks {name} (api key {key}); has {keys:?}"
        );
    }
}
