//! Packet framing: `| 3 length (LE) | 1 sequence | payload |`; a payload of 0xFFFFFF bytes
//! continues in the next packet.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};

/// Largest logical packet accepted (1 GiB, the server's `max_allowed_packet` ceiling).
pub const MAX_PACKET: usize = 1 << 30;

const CHUNK: usize = 0xff_ffff;

/// Room kept free in the read buffer before each read from the stream.
const READ_AHEAD: usize = 64 * 1024;

/// Reads and writes packets, tracking the sequence number.
///
/// Reads go straight from the stream into one buffer, and each packet is split off it
/// without a copy: no allocation, zero-fill or copy per packet. A packet keeps the buffer
/// it came from alive while it (or a value sliced from it) lives; the buffer is replaced
/// when the packets still in use leave it too little room.
#[derive(Debug)]
pub(crate) struct Framed<S> {
    stream: S,
    seq: u8,
    max: usize,
    rbuf: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Framed<S> {
    pub(crate) fn new(stream: S) -> Self {
        Self::with_seq(stream, 0)
    }

    /// The stream, once nothing read from it is left unconsumed (before the TLS upgrade the
    /// server sends nothing, so nothing can be).
    pub(crate) fn into_inner(self) -> Result<S> {
        if !self.rbuf.is_empty() {
            return Err(Error::Protocol(format!(
                "{} unexpected byte(s) from the server before the TLS handshake",
                self.rbuf.len()
            )));
        }
        Ok(self.stream)
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
            rbuf: BytesMut::new(),
        }
    }

    pub(crate) fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    pub(crate) fn reset_seq(&mut self) {
        self.seq = 0;
    }

    /// Reads from the stream until at least `n` bytes are buffered.
    async fn fill(&mut self, n: usize, what: &'static str) -> Result<()> {
        while self.rbuf.len() < n {
            let want = (n - self.rbuf.len()).max(READ_AHEAD);
            if self.rbuf.capacity() - self.rbuf.len() < want {
                self.rbuf.reserve(want);
            }
            let read = self
                .stream
                .read_buf(&mut self.rbuf)
                .await
                .map_err(|e| Error::io(what, e))?;
            if read == 0 {
                return Err(Error::io(
                    what,
                    std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
                ));
            }
        }
        Ok(())
    }

    /// Reads one logical packet (joining 16 MiB continuations).
    ///
    /// # Cancel safety
    /// Not cancel safe: a partially read packet is lost.
    pub(crate) async fn read(&mut self) -> Result<Bytes> {
        let mut joined: Option<BytesMut> = None;
        loop {
            self.fill(4, "reading a packet header").await?;
            // `fill` made sure of the 4 bytes.
            let Some(&[a, b, c, seq]) = self.rbuf.get(..4) else {
                return Err(Error::Protocol("packet header cut short".into()));
            };
            let len = usize::from(a) | usize::from(b) << 8 | usize::from(c) << 16;
            if seq != self.seq {
                return Err(Error::Protocol(format!(
                    "packet out of order: sequence {seq}, expected {}",
                    self.seq
                )));
            }
            self.seq = self.seq.wrapping_add(1);
            let so_far = joined.as_ref().map_or(0, BytesMut::len);
            if so_far.saturating_add(len) > self.max {
                return Err(Error::Protocol(format!(
                    "packet larger than {} bytes",
                    self.max
                )));
            }
            self.rbuf.advance(4);
            self.fill(len, "reading a packet").await?;
            let payload = self.rbuf.split_to(len);
            match (len < CHUNK, joined.as_mut()) {
                (true, None) => return Ok(payload.freeze()),
                (true, Some(j)) => {
                    j.extend_from_slice(&payload);
                    return Ok(joined.unwrap_or_default().freeze());
                }
                (false, Some(j)) => j.extend_from_slice(&payload),
                (false, None) => joined = Some(payload),
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
    async fn packets_that_arrive_together_are_split_apart() {
        let (mut a, b) = tokio::io::duplex(1 << 16);
        // Three packets in one write, the last one cut short by the end of the stream.
        a.write_all(&[3, 0, 0, 0, b'a', b'b', b'c', 0, 0, 0, 1, 2, 0, 0, 2, b'x'])
            .await
            .unwrap();
        drop(a);
        let mut r = Framed::new(b);
        assert_eq!(&r.read().await.unwrap()[..], b"abc");
        assert_eq!(&r.read().await.unwrap()[..], b"");
        let err = r.read().await.unwrap_err();
        assert!(err.to_string().contains("reading a packet"), "{err}");
    }

    #[tokio::test]
    async fn bytes_left_over_before_the_tls_upgrade_are_an_error() {
        let (mut a, b) = tokio::io::duplex(64);
        a.write_all(&[1, 0, 0, 0, b'g', 0x16, 0x03]).await.unwrap();
        let mut r = Framed::new(b);
        r.read().await.unwrap();
        let err = r.into_inner().unwrap_err();
        assert!(err.to_string().contains("2 unexpected byte(s)"), "{err}");
    }

    #[tokio::test]
    async fn out_of_order_sequence_is_an_error() {
        let (mut a, b) = tokio::io::duplex(64);
        a.write_all(&[1, 0, 0, 5, 0xaa]).await.unwrap();
        let err = Framed::new(b).read().await.unwrap_err();
        assert!(err.to_string().contains("out of order"), "{err}");
    }
}
