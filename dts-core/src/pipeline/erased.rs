//! Object-safe forms of the typed traits, produced by blanket impls; users never see them.

use std::num::NonZeroU32;
use std::sync::Arc;

use bytes::BytesMut;
use futures::future::BoxFuture;

use crate::checkpoint::CheckpointStore;
use crate::codec::Codec;
use crate::error::BoxError;
use crate::event::ChangeEvent;
use crate::position::Checkpoint;
use crate::sink::{Delivery, Sink, SinkRecord};
use crate::source::{Source, SourceContext};

pub(crate) trait DynSource: Send {
    fn run(self: Box<Self>, cx: SourceContext) -> BoxFuture<'static, Result<(), BoxError>>;
}

impl<S: Source> DynSource for S {
    fn run(self: Box<Self>, cx: SourceContext) -> BoxFuture<'static, Result<(), BoxError>> {
        Box::pin(async move { Source::run(*self, cx).await.map_err(Into::into) })
    }
}

pub(crate) trait DynCodec: Send {
    fn accepts(&self, event: &ChangeEvent) -> bool;
    fn encode_key(&mut self, event: &ChangeEvent, out: &mut BytesMut) -> Result<(), BoxError>;
    fn encode_value(&mut self, event: &ChangeEvent, out: &mut BytesMut) -> Result<(), BoxError>;
}

impl<C: Codec> DynCodec for C {
    fn accepts(&self, event: &ChangeEvent) -> bool {
        Codec::accepts(self, event)
    }
    fn encode_key(&mut self, event: &ChangeEvent, out: &mut BytesMut) -> Result<(), BoxError> {
        Codec::encode_key(self, event, out).map_err(Into::into)
    }
    fn encode_value(&mut self, event: &ChangeEvent, out: &mut BytesMut) -> Result<(), BoxError> {
        Codec::encode_value(self, event, out).map_err(Into::into)
    }
}

pub(crate) trait DynSink: Send {
    fn partition_counts<'a>(
        &'a mut self,
        topics: &'a [Arc<str>],
    ) -> BoxFuture<'a, Result<Vec<NonZeroU32>, BoxError>>;
    fn send(&mut self, record: SinkRecord) -> BoxFuture<'_, Result<Delivery, BoxError>>;
    fn try_send(&mut self, record: SinkRecord) -> Result<Result<Delivery, SinkRecord>, BoxError>;
    fn submit(&mut self) -> BoxFuture<'_, Result<(), BoxError>>;
    fn flush(&mut self) -> BoxFuture<'_, Result<(), BoxError>>;
}

impl<S: Sink> DynSink for S {
    fn partition_counts<'a>(
        &'a mut self,
        topics: &'a [Arc<str>],
    ) -> BoxFuture<'a, Result<Vec<NonZeroU32>, BoxError>> {
        Box::pin(async move {
            Sink::partition_counts(self, topics)
                .await
                .map_err(Into::into)
        })
    }
    fn send(&mut self, record: SinkRecord) -> BoxFuture<'_, Result<Delivery, BoxError>> {
        Box::pin(async move { Sink::send(self, record).await.map_err(Into::into) })
    }
    fn try_send(&mut self, record: SinkRecord) -> Result<Result<Delivery, SinkRecord>, BoxError> {
        Sink::try_send(self, record).map_err(Into::into)
    }
    fn submit(&mut self) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(async move { Sink::submit(self).await.map_err(Into::into) })
    }
    fn flush(&mut self) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(async move { Sink::flush(self).await.map_err(Into::into) })
    }
}

pub(crate) trait DynCheckpointStore: Send + Sync {
    fn load(&self) -> BoxFuture<'_, Result<Option<Checkpoint>, BoxError>>;
    fn commit<'a>(&'a self, checkpoint: &'a Checkpoint) -> BoxFuture<'a, Result<(), BoxError>>;
}

impl<S: CheckpointStore> DynCheckpointStore for S {
    fn load(&self) -> BoxFuture<'_, Result<Option<Checkpoint>, BoxError>> {
        Box::pin(async move { CheckpointStore::load(self).await.map_err(Into::into) })
    }
    fn commit<'a>(&'a self, checkpoint: &'a Checkpoint) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            CheckpointStore::commit(self, checkpoint)
                .await
                .map_err(Into::into)
        })
    }
}
