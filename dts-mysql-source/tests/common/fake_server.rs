//! Pieces of a minimal fake MySQL server, for the tests of what MariaDB cannot play (MySQL 8
//! `caching_sha2_password`, MySQL 8.4's statements): packet framing and the handshake.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Writes one packet with sequence number `seq`.
pub(crate) async fn write_packet(s: &mut TcpStream, seq: u8, payload: &[u8]) {
    let len = u32::try_from(payload.len()).unwrap().to_le_bytes();
    s.write_all(&[len[0], len[1], len[2], seq]).await.unwrap();
    s.write_all(payload).await.unwrap();
}

/// The next packet and its sequence number, or `None` when the client hung up.
pub(crate) async fn read_packet(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await.ok()?;
    let len = usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.ok()?;
    Some((head[3], body))
}

/// Sends a protocol-10 handshake: server `version`, the 20-byte `scramble`, auth `plugin`
/// (capabilities: long password, protocol 4.1, transactions, secure connection, plugin auth,
/// plugin auth lenenc data).
pub(crate) async fn send_handshake(
    s: &mut TcpStream,
    version: &str,
    scramble: &[u8; 20],
    plugin: &str,
) {
    let caps: u32 = 0x1 | 0x200 | 0x2000 | 0x8000 | 0x2_0000 | 0x8_0000;
    let mut g = vec![10u8];
    g.extend_from_slice(version.as_bytes());
    g.push(0);
    g.extend_from_slice(&7u32.to_le_bytes());
    g.extend_from_slice(&scramble[..8]);
    g.push(0);
    g.extend_from_slice(&u16::try_from(caps & 0xffff).unwrap().to_le_bytes());
    g.push(255);
    g.extend_from_slice(&2u16.to_le_bytes());
    g.extend_from_slice(&u16::try_from(caps >> 16).unwrap().to_le_bytes());
    g.push(21);
    g.extend_from_slice(&[0u8; 10]);
    g.extend_from_slice(&scramble[8..]);
    g.push(0);
    g.extend_from_slice(plugin.as_bytes());
    g.push(0);
    write_packet(s, 0, &g).await;
}
