//! Enqueueing records through librdkafka's C API with a topic handle kept per topic — the only
//! unsafe code of the project.
//!
//! rdkafka's safe `BaseProducer::send` names the topic by string, so librdkafka looks the topic
//! up (a lock, a hash lookup, a reference count) for every record; that was ~4 % of the binlog
//! phase's CPU. Here the handle is made once per topic and reused.
//!
//! Records go in bursts through `rd_kafka_produce_batch` ([`Topics::produce_queued`]): one topic
//! lock, one clock read and one partition lookup per run of records to the same partition,
//! instead of per record. Enqueueing one record at a time (`rd_kafka_produceva`, [`Topics::produce`])
//! read-locked the topic for each, a lock the client's broker thread takes too; batches cut the
//! CPU of the binlog phase by ~15-25 % (alternated runs of 1M rows). The batch call cannot carry a
//! timestamp, so a record with its own timestamp goes one at a time.
//!
//! Payloads are copied by librdkafka (`RD_KAFKA_MSG_F_COPY`, into the same allocation as its
//! message), so no buffer of ours has to outlive a call.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::{CString, c_void};
use std::ptr;
use std::sync::Arc;

use rdkafka::bindings as rd;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{Producer, ThreadedProducer};

use dts_core::SinkRecord;

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
    /// Scratch for batches.
    messages: Messages,
}

/// A record taken by the sink and not yet enqueued, its partition and number checked.
pub(crate) struct Queued {
    pub(crate) record: SinkRecord,
    pub(crate) partition: i32,
    /// Comes back to the delivery callback (the record's `seq`).
    pub(crate) opaque: usize,
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
            messages: Messages::default(),
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
    fn produce(&mut self, p: &Produce<'_>) -> Result<(), RDKafkaErrorCode> {
        let rkt = self.handle(p.topic)?;
        let mem = |b: &[u8]| rd::rd_kafka_vu_s__bindgen_ty_1 {
            mem: rd::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 {
                ptr: not_null(b),
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

/// One record's place in a batch: its topic handle (`None`: the topic has none) and index in
/// the queue.
#[derive(Clone, Copy)]
struct Slot {
    rkt: Option<ptr::NonNull<rd::rd_kafka_topic_t>>,
    index: usize,
}

/// What became of the queued records that were not simply enqueued.
#[derive(Default)]
struct Status {
    /// (index, code), refused for good.
    refused: Vec<(usize, RDKafkaErrorCode)>,
    /// Indices left queued (the client's queue was full).
    kept: Vec<usize>,
}

impl Status {
    fn refuse(&mut self, r: impl IntoIterator<Item = (usize, RDKafkaErrorCode)>) {
        self.refused.extend(r);
    }

    fn keep(&mut self, k: impl IntoIterator<Item = usize>) {
        self.kept.extend(k);
    }

    /// Removes the enqueued and the refused records from `queued` (refused ones to `refused`);
    /// the kept ones stay in their order, which keeps each partition's order: they are, per
    /// partition, the last records of the queue.
    fn apply(mut self, queued: &mut Vec<Queued>, refused: &mut Vec<(Queued, RDKafkaErrorCode)>) {
        if self.refused.is_empty() && self.kept.is_empty() {
            queued.clear();
            return;
        }
        self.refused.sort_unstable_by_key(|&(i, _)| i);
        self.kept.sort_unstable();
        let (mut r, mut k) = (
            self.refused.into_iter().peekable(),
            self.kept.into_iter().peekable(),
        );
        let mut rest = Vec::new();
        for (i, q) in queued.drain(..).enumerate() {
            if let Some((_, code)) = r.next_if(|&(at, _)| at == i) {
                refused.push((q, code));
            } else if k.next_if_eq(&i).is_some() {
                rest.push(q);
            }
        }
        *queued = rest;
    }
}

/// Scratch entries for `rd_kafka_produce_batch`, emptied after each call.
#[derive(Default)]
pub(crate) struct Messages(Vec<rd::rd_kafka_message_t>);

// SAFETY: the entries' pointers are only set and used during one `produce_queued` call, on the
// thread making it; between calls the vector is empty.
unsafe impl Send for Messages {}
// SAFETY: as above; nothing is shared.
unsafe impl Sync for Messages {}

/// A present key or value is never a null pointer (null means a null key or value in Kafka); an
/// empty one points at a real byte so that even a zero-length copy reads valid memory.
fn not_null(b: &[u8]) -> *mut c_void {
    static EMPTY: [u8; 1] = [0];
    if b.is_empty() {
        EMPTY.as_ptr()
    } else {
        b.as_ptr()
    }
    .cast_mut()
    .cast::<c_void>()
}

impl Topics {
    /// Enqueues `queued`, in order within each topic and partition, with one
    /// `rd_kafka_produce_batch` per topic, its records grouped by partition. Records librdkafka
    /// refused for good (too large, unknown partition, a fatal producer error, …) move to
    /// `refused` with its code; when the client's queue is full, the records not enqueued stay
    /// in `queued`, in their order, for the next call.
    pub(crate) fn produce_queued(
        &mut self,
        queued: &mut Vec<Queued>,
        refused: &mut Vec<(Queued, RDKafkaErrorCode)>,
    ) {
        if queued.is_empty() {
            return;
        }
        if queued.iter().any(|q| q.record.timestamp_ms.is_some()) {
            self.produce_one_by_one(queued, refused);
            return;
        }
        let order = self.batch_order(queued);
        let mut status = Status::default();
        let mut start = 0;
        while start < order.len() {
            let first = &queued[order[start].index];
            let (rkt, topic) = (order[start].rkt, first.record.topic.clone());
            let end = order[start..]
                .iter()
                .position(|o| o.rkt != rkt)
                .map_or(order.len(), |n| start + n);
            let Some(rkt) = rkt else {
                let code = self
                    .handle(&topic)
                    .err()
                    .unwrap_or(RDKafkaErrorCode::InvalidTopic);
                status.refuse(order[start..end].iter().map(|o| (o.index, code)));
                start = end;
                continue;
            };
            self.messages.0.extend(order[start..end].iter().map(|o| {
                let q = &queued[o.index];
                rd::rd_kafka_message_t {
                    err: rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
                    rkt: ptr::null_mut(),
                    partition: q.partition,
                    payload: not_null(&q.record.value),
                    len: q.record.value.len(),
                    key: q.record.key.as_deref().map_or(ptr::null_mut(), not_null),
                    key_len: q.record.key.as_ref().map_or(0, bytes::Bytes::len),
                    offset: 0,
                    // rdkafka's `IntoOpaque` for `usize` is the number as a pointer: the
                    // delivery callback turns it back the same way.
                    _private: ptr::without_provenance_mut(q.opaque),
                }
            }));
            let messages = &mut self.messages.0;
            let count = i32::try_from(messages.len()).unwrap_or(i32::MAX);
            // SAFETY: `rkt` belongs to this client, which `self.producer` keeps alive;
            // `messages` holds `count` initialised entries whose key and value pointers (into
            // `queued`, untouched during the call) are valid for the call, and librdkafka copies
            // them (F_COPY) before returning; it writes only each entry's `err`. The opaque is a
            // plain number, never dereferenced. F_PARTITION: each entry's own partition.
            unsafe {
                rd::rd_kafka_produce_batch(
                    rkt.as_ptr(),
                    -1,
                    rd::RD_KAFKA_MSG_F_COPY | rd::RD_KAFKA_MSG_F_PARTITION,
                    messages.as_mut_ptr(),
                    count,
                );
            }
            let mut full_at = None;
            for (i, (o, m)) in order[start..end].iter().zip(messages.iter()).enumerate() {
                match m.err {
                    rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR => {}
                    // Full: this and every later entry of the call were not enqueued.
                    rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__QUEUE_FULL => {
                        full_at = Some(start + i);
                        break;
                    }
                    code => status.refuse([(o.index, RDKafkaErrorCode::from(code))]),
                }
            }
            messages.clear();
            if let Some(at) = full_at {
                status.keep(order[at..].iter().map(|o| o.index));
                break;
            }
            start = end;
        }
        status.apply(queued, refused);
    }

    /// The order to enqueue `queued` in: grouped by topic handle, then partition, each
    /// partition's records in their order. A counting sort when all go to one topic (the usual
    /// case); a topic without a handle comes last, with `rkt` `None`.
    fn batch_order(&mut self, queued: &[Queued]) -> Vec<Slot> {
        let first = &queued[0].record.topic;
        let one_topic = queued.iter().all(|q| Arc::ptr_eq(&q.record.topic, first));
        if one_topic {
            let rkt = self.handle(first).ok().and_then(ptr::NonNull::new);
            let max = queued.iter().map(|q| q.partition).max().unwrap_or(0);
            let buckets = usize::try_from(max).unwrap_or(0).saturating_add(1);
            if buckets <= 4 * queued.len() {
                let bucket = |q: &Queued| usize::try_from(q.partition).unwrap_or(0);
                let mut starts = vec![0usize; buckets + 1];
                for q in queued {
                    starts[bucket(q) + 1] += 1;
                }
                for i in 1..starts.len() {
                    starts[i] += starts[i - 1];
                }
                let mut order = vec![Slot { rkt, index: 0 }; queued.len()];
                for (index, q) in queued.iter().enumerate() {
                    let at = &mut starts[bucket(q)];
                    order[*at].index = index;
                    *at += 1;
                }
                return order;
            }
        }
        let mut keyed: Vec<(usize, i32, Slot)> = queued
            .iter()
            .enumerate()
            .map(|(index, q)| {
                let rkt = self
                    .handle(&q.record.topic)
                    .ok()
                    .and_then(ptr::NonNull::new);
                // Without a handle: last.
                let key = rkt.map_or(usize::MAX, |h| h.as_ptr().addr());
                (key, q.partition, Slot { rkt, index })
            })
            .collect();
        keyed.sort_unstable_by_key(|&(key, partition, slot)| (key, partition, slot.index));
        keyed.into_iter().map(|(_, _, slot)| slot).collect()
    }

    /// As [`produce_queued`](Self::produce_queued), one `rd_kafka_produceva` per record (which
    /// carries the record's timestamp).
    fn produce_one_by_one(
        &mut self,
        queued: &mut Vec<Queued>,
        refused: &mut Vec<(Queued, RDKafkaErrorCode)>,
    ) {
        let mut status = Status::default();
        for (i, q) in queued.iter().enumerate() {
            let produced = self.produce(&Produce {
                topic: &q.record.topic,
                partition: q.partition,
                key: q.record.key.as_deref(),
                value: &q.record.value,
                timestamp_ms: q.record.timestamp_ms,
                opaque: q.opaque,
            });
            match produced {
                Ok(()) => {}
                Err(RDKafkaErrorCode::QueueFull) => {
                    status.keep(i..queued.len());
                    break;
                }
                Err(code) => status.refuse([(i, code)]),
            }
        }
        status.apply(queued, refused);
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
