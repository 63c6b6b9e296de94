//! Packet framing: `| 3 length (LE) | 1 sequence | payload |`; a payload of 0xFFFFFF bytes
//! continues in the next packet.

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};

/// Largest logical packet accepted (1 GiB, the server's `max_allowed_packet` ceiling).
pub const MAX_PACKET: usize = 1 << 30;

const CHUNK: usize = 0xff_ffff;

/// Reads and writes packets, tracking the sequence number.
#[derive(Debug)]
pub(crate) struct Framed<S> {
    stream: S,
    seq: u8,
    max: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Framed<S> {
    pub(crate) fn new(stream: S) -> Self {
        Self {
            stream,
            seq: 0,
            max: MAX_PACKET,
        }
    }

    pub(crate) fn into_inner(self) -> S {
        self.stream
    }

    /// The sequence number of the next packet.
    pub(crate) fn seq(&self) -> u8 {
        self.seq
    }

    /// Continues the packet sequence on another stream (after the TLS upgrade).
    pub(crate) fn with_seq(stream: S, seq: u8) -> Self {
        Self {
            stream,
            seq,
            max: MAX_PACKET,
        }
    }

    pub(crate) fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    pub(crate) fn reset_seq(&mut self) {
        self.seq = 0;
    }

    /// Reads one logical packet (joining 16 MiB continuations).
    ///
    /// # Cancel safety
    /// Not cancel safe: a partially read packet is lost.
    pub(crate) async fn read(&mut self) -> Result<Bytes> {
        let mut out = BytesMut::new();
        loop {
            let mut head = [0u8; 4];
            self.stream
                .read_exact(&mut head)
                .await
                .map_err(|e| Error::io("reading a packet header", e))?;
            let [a, b, c, seq] = head;
            let len = usize::from(a) | usize::from(b) << 8 | usize::from(c) << 16;
            if seq != self.seq {
                return Err(Error::Protocol(format!(
                    "packet out of order: sequence {seq}, expected {}",
                    self.seq
                )));
            }
            self.seq = self.seq.wrapping_add(1);
            if out.len().saturating_add(len) > self.max {
                return Err(Error::Protocol(format!(
                    "packet larger than {} bytes",
                    self.max
                )));
            }
            let start = out.len();
            out.resize(start + len, 0);
            self.stream
                .read_exact(out.get_mut(start..).unwrap_or_default())
                .await
                .map_err(|e| Error::io("reading a packet", e))?;
            if len < CHUNK {
                return Ok(out.freeze());
            }
        }
    }

    /// Writes one logical packet (splitting at 16 MiB).
    pub(crate) async fn write(&mut self, payload: &[u8]) -> Result<()> {
        let mut buf = BytesMut::with_capacity(payload.len() + 4);
        let mut rest = payload;
        loop {
            let n = rest.len().min(CHUNK);
            let (chunk, tail) = rest.split_at(n);
            let len = u32::try_from(n).unwrap_or(0).to_le_bytes();
            buf.put_slice(len.get(..3).unwrap_or_default());
            buf.put_u8(self.seq);
            self.seq = self.seq.wrapping_add(1);
            buf.put_slice(chunk);
            rest = tail;
            if n < CHUNK {
                break;
            }
        }
        self.stream
            .write_all(&buf)
            .await
            .map_err(|e| Error::io("writing a packet", e))?;
        self.stream
            .flush()
            .await
            .map_err(|e| Error::io("writing a packet", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_including_16_mib_continuations() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let mut w = Framed::new(a);
        let mut r = Framed::new(b);
        let big = vec![7u8; CHUNK + 10];
        let writer = tokio::spawn(async move {
            w.write(b"hello").await.unwrap();
            w.write(&big).await.unwrap();
            w.write(&vec![1u8; CHUNK]).await.unwrap();
        });
        assert_eq!(&r.read().await.unwrap()[..], b"hello");
        assert_eq!(r.read().await.unwrap().len(), CHUNK + 10);
        // Exactly 0xFFFFFF bytes is followed by an empty packet.
        assert_eq!(r.read().await.unwrap().len(), CHUNK);
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn out_of_order_sequence_is_an_error() {
        let (mut a, b) = tokio::io::duplex(64);
        a.write_all(&[1, 0, 0, 5, 0xaa]).await.unwrap();
        let err = Framed::new(b).read().await.unwrap_err();
        assert!(err.to_string().contains("out of order"), "{err}");
    }
}
