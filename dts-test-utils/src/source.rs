//! [`VecSource`] and [`TestCodec`].

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{BufMut, BytesMut};
use dts_core::{ChangeEvent, Codec, Source, SourceContext, Value};

/// Sends a fixed list of events, then either ends or (with [`VecSource::then_wait`]) waits for
/// shutdown like an incremental source would. Counts what it sent.
#[derive(Debug)]
pub struct VecSource {
    events: Vec<ChangeEvent>,
    wait_for_shutdown: bool,
    sent: Arc<AtomicU64>,
}

impl VecSource {
    /// A source of `events`.
    #[must_use]
    pub fn new(events: Vec<ChangeEvent>) -> Self {
        Self {
            events,
            wait_for_shutdown: false,
            sent: Arc::default(),
        }
    }

    /// After the events, wait for shutdown instead of ending.
    #[must_use]
    pub fn then_wait(mut self) -> Self {
        self.wait_for_shutdown = true;
        self
    }

    /// A counter of events sent so far (shared).
    #[must_use]
    pub fn sent_counter(&self) -> Arc<AtomicU64> {
        self.sent.clone()
    }
}

impl Source for VecSource {
    type Error = Infallible;

    async fn run(self, cx: SourceContext) -> Result<(), Infallible> {
        for event in self.events {
            if cx.is_shutdown() {
                return Ok(());
            }
            tokio::select! {
                biased;
                () = cx.shutdown().cancelled() => return Ok(()),
                sent = cx.send(event) => if sent.is_err() { return Ok(()) },
            }
            self.sent.fetch_add(1, Ordering::Relaxed);
        }
        if self.wait_for_shutdown {
            cx.shutdown().cancelled().await;
        }
        Ok(())
    }
}

/// Key = the record id as text; value = the id (8 bytes LE) followed by every byte-carrying
/// column value of the after (or before) image. Refuses events whose `server_id` is
/// `u32::MAX` (to test codec failures).
#[derive(Debug, Default)]
pub struct TestCodec;

/// The error of [`TestCodec`].
#[derive(Debug, thiserror::Error)]
#[error("test codec refuses this event")]
pub struct Refused;

impl Codec for TestCodec {
    type Error = Refused;

    fn encode_key(&mut self, event: &ChangeEvent, out: &mut BytesMut) -> Result<(), Refused> {
        out.put_slice(event.id.to_string().as_bytes());
        Ok(())
    }

    fn encode_value(&mut self, event: &ChangeEvent, out: &mut BytesMut) -> Result<(), Refused> {
        if event.server_id == u32::MAX {
            return Err(Refused);
        }
        out.put_u64_le(event.id);
        for v in event.after.iter().chain(&event.before).flatten() {
            if let Value::Bytes(b) | Value::String(b) = v {
                out.put_slice(b);
            }
        }
        Ok(())
    }
}
