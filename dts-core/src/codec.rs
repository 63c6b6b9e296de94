//! The [`Codec`] trait: turns a [`ChangeEvent`] into a message key and value.

use bytes::BytesMut;

use crate::event::{ChangeEvent, Operation};

/// Encodes events into message keys and values, into caller-owned buffers.
///
/// The pipeline calls the codec on the source's task, one event at a time in source order (see
/// [`SourceContext::send_all`](crate::SourceContext::send_all)), so a codec
/// may keep per-table caches in `&mut self`.
pub trait Codec: Send + 'static {
    /// The codec's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Whether `event` becomes a record at all. Events not accepted are still checkpointed in
    /// order. The default accepts everything but heartbeats.
    fn accepts(&self, event: &ChangeEvent) -> bool {
        event.op != Operation::Heartbeat
    }

    /// Appends the message key of `event` to `out`; leave `out` empty for no key.
    ///
    /// # Errors
    /// When the event cannot be represented.
    fn encode_key(&mut self, event: &ChangeEvent, out: &mut BytesMut) -> Result<(), Self::Error>;

    /// Appends the message value of `event` to `out`.
    ///
    /// # Errors
    /// When the event cannot be represented.
    fn encode_value(&mut self, event: &ChangeEvent, out: &mut BytesMut) -> Result<(), Self::Error>;
}

impl<C: Codec + ?Sized> Codec for Box<C> {
    type Error = C::Error;

    fn accepts(&self, event: &ChangeEvent) -> bool {
        (**self).accepts(event)
    }

    fn encode_key(&mut self, event: &ChangeEvent, out: &mut BytesMut) -> Result<(), Self::Error> {
        (**self).encode_key(event, out)
    }

    fn encode_value(&mut self, event: &ChangeEvent, out: &mut BytesMut) -> Result<(), Self::Error> {
        (**self).encode_value(event, out)
    }
}
