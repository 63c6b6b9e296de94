//! Enqueueing a record through librdkafka's `rd_kafka_produceva` with a topic handle kept per
//! topic — the only unsafe code of the project.
//!
//! rdkafka's safe `BaseProducer::send` names the topic by string, so librdkafka looks the topic
//! up (a lock, a hash lookup, a reference count) for every record; that was ~4 % of the binlog
//! phase's CPU. Here the handle is made once per topic and reused. The payload is still copied
//! by librdkafka (`RD_KAFKA_MSG_F_COPY`, in the same allocation as its message), so no buffer of
//! ours has to outlive the call.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::{CString, c_void};
use std::ptr;
use std::sync::Arc;

use rdkafka::bindings as rd;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{Producer, ThreadedProducer};

use crate::sink::DeliveryContext;

/// A librdkafka topic handle owned by [`Topics`] (copied only into `Topics::last`; destroyed
/// once, from `Topics::handles`).
#[derive(Clone, Copy)]
struct TopicHandle(ptr::NonNull<rd::rd_kafka_topic_t>);

// SAFETY: librdkafka's API is thread safe (its INTRODUCTION.md: "The API is completely
// thread-safe"; rdkafka marks its own `NativeTopic` Send + Sync on the same basis); the handle
// is only used while its producer lives (see `Topics`).
unsafe impl Send for TopicHandle {}
// SAFETY: as above.
unsafe impl Sync for TopicHandle {}

/// The topic handles of one producer, destroyed before the producer (the struct keeps it
/// alive).
pub(crate) struct Topics {
    producer: Arc<ThreadedProducer<DeliveryContext>>,
    handles: HashMap<Arc<str>, TopicHandle>,
    /// The last topic used, matched by pointer: records mostly go to one topic, whose name
    /// is one shared `Arc`, so most records skip hashing the name.
    last: Option<(Arc<str>, TopicHandle)>,
}

/// One record to enqueue; `opaque` comes back to the delivery callback.
pub(crate) struct Produce<'a> {
    pub(crate) topic: &'a Arc<str>,
    pub(crate) partition: i32,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: &'a [u8],
    pub(crate) timestamp_ms: Option<i64>,
    pub(crate) opaque: usize,
}

impl Topics {
    pub(crate) fn new(producer: Arc<ThreadedProducer<DeliveryContext>>) -> Self {
        Self {
            producer,
            handles: HashMap::new(),
            last: None,
        }
    }

    fn handle(&mut self, topic: &Arc<str>) -> Result<*mut rd::rd_kafka_topic_t, RDKafkaErrorCode> {
        if let Some((last, h)) = &self.last
            && Arc::ptr_eq(last, topic)
        {
            return Ok(h.0.as_ptr());
        }
        if let Some(&h) = self.handles.get(topic) {
            self.last = Some((topic.clone(), h));
            return Ok(h.0.as_ptr());
        }
        let name = CString::new(topic.as_bytes()).map_err(|_| RDKafkaErrorCode::InvalidTopic)?;
        // SAFETY: the client pointer is valid while `self.producer` lives; `name` is a valid C
        // string for the call; a null configuration means the defaults.
        let raw = unsafe {
            rd::rd_kafka_topic_new(
                self.producer.client().native_ptr(),
                name.as_ptr(),
                ptr::null_mut(),
            )
        };
        let h = ptr::NonNull::new(raw).ok_or(RDKafkaErrorCode::InvalidTopic)?;
        self.handles.insert(topic.clone(), TopicHandle(h));
        self.last = Some((topic.clone(), TopicHandle(h)));
        Ok(h.as_ptr())
    }

    /// Enqueues `p` (librdkafka copies key and value). `Err` carries librdkafka's code, e.g.
    /// `QueueFull`; the record was then not enqueued.
    pub(crate) fn produce(&mut self, p: &Produce<'_>) -> Result<(), RDKafkaErrorCode> {
        let rkt = self.handle(p.topic)?;
        // A present key or value is never a null pointer (null means a null key or value in
        // Kafka); an empty one points at a real byte so that even a zero-length copy reads
        // valid memory.
        static EMPTY: [u8; 1] = [0];
        let mem = |b: &[u8]| rd::rd_kafka_vu_s__bindgen_ty_1 {
            mem: rd::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 {
                ptr: if b.is_empty() {
                    EMPTY.as_ptr()
                } else {
                    b.as_ptr()
                }
                .cast_mut()
                .cast::<c_void>(),
                size: b.len(),
            },
        };
        let vu = |vtype, u| rd::rd_kafka_vu_t { vtype, u };
        let mut args = [
            vu(
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_RKT,
                rd::rd_kafka_vu_s__bindgen_ty_1 { rkt },
            ),
            vu(
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_PARTITION,
                rd::rd_kafka_vu_s__bindgen_ty_1 { i32_: p.partition },
            ),
            vu(
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_MSGFLAGS,
                rd::rd_kafka_vu_s__bindgen_ty_1 {
                    i: rd::RD_KAFKA_MSG_F_COPY,
                },
            ),
            vu(rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_VALUE, mem(p.value)),
            vu(
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_OPAQUE,
                rd::rd_kafka_vu_s__bindgen_ty_1 {
                    // rdkafka's `IntoOpaque` for `usize` is the number as a pointer: the
                    // delivery callback turns it back the same way.
                    ptr: ptr::without_provenance_mut(p.opaque),
                },
            ),
            // Spare slots for the key and the timestamp, filled below when present; the unused
            // ones are never passed (`n` excludes them: produceva rejects an END entry).
            vu(
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_END,
                rd::rd_kafka_vu_s__bindgen_ty_1 { i: 0 },
            ),
            vu(
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_END,
                rd::rd_kafka_vu_s__bindgen_ty_1 { i: 0 },
            ),
        ];
        let mut n = 5;
        if let Some(k) = p.key {
            args[n] = vu(rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_KEY, mem(k));
            n += 1;
        }
        if let Some(ts) = p.timestamp_ms {
            args[n] = vu(
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_TIMESTAMP,
                rd::rd_kafka_vu_s__bindgen_ty_1 { i64_: ts },
            );
            n += 1;
        }
        // SAFETY: the client pointer is valid while `self.producer` lives; `rkt` belongs to this
        // client; `args[..n]` is an initialised array of `n` entries whose pointers (key and
        // value) are valid for the call, and librdkafka copies them (F_COPY) before returning;
        // the opaque is a plain number, never dereferenced.
        let error = unsafe {
            rd::rd_kafka_produceva(self.producer.client().native_ptr(), args.as_ptr(), n)
        };
        if error.is_null() {
            return Ok(());
        }
        // SAFETY: `error` is a non-null error object returned to us; read, then destroyed once.
        let code = unsafe {
            let code = rd::rd_kafka_error_code(error);
            rd::rd_kafka_error_destroy(error);
            code
        };
        Err(RDKafkaErrorCode::from(code))
    }
}

impl Drop for Topics {
    fn drop(&mut self) {
        for (_, h) in self.handles.drain() {
            // SAFETY: each handle was made by `rd_kafka_topic_new` on this producer, which is
            // still alive (`self.producer` is dropped after this), and is destroyed once.
            unsafe { rd::rd_kafka_topic_destroy(h.0.as_ptr()) };
        }
    }
}
