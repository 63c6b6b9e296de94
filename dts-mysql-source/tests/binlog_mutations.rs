//! Random mutations and truncations of real events (from the fixture corpus) never make the
//! decoder panic: every input yields an event or a `DecodeError`. Checksums are not verified
//! here, so that mutated bytes reach the body decoders instead of being stopped at the CRC.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::OnceLock;

use bytes::Bytes;
use dts_mysql_source::binlog::{
    BinlogFile, DecodeOptions, Event, EventDecoder, EventType, RowPlan,
};
use proptest::prelude::*;

struct Sample {
    /// FDE and table maps in force before `event`.
    context: Vec<Bytes>,
    event: Bytes,
}

fn options() -> DecodeOptions {
    DecodeOptions {
        verify_checksums: false,
        max_event_size: 1 << 24,
        max_uncompressed_size: 1 << 24,
    }
}

fn samples() -> &'static Vec<Sample> {
    static SAMPLES: OnceLock<Vec<Sample>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let dir = dts_test_utils::binlog_fixtures_dir()
            .filter(|d| d.is_dir())
            .expect("binlog fixture corpus not found: set DTS_BINLOG_FIXTURES (this test never passes without it)");
        let files = [
            "rust_mysql_common/mariadb-bin.000001",
            "rust_mysql_common/json.binlog.000001",
            "rust_mysql_common/json-opaque.binlog",
            "rust_mysql_common/vector.binlog",
            "rust_mysql_common/mysql-enum-string-set.000001",
            "rust_mysql_common/transaction_compression.000001",
            "rust_mysql_common/binlog_transaction_with_GTID_TAG.000001",
            "rust_mysql_common/binlog-invisible-columns.000001",
            "rust_mysql_common/ver_trunk_row_v2.001",
            "mysql-cdc-rs/8.0/02_query_bigger/binlog.000733",
            "mysql-cdc-rs/5.7/14_user_var/log.bin",
            "zalora-binlog-parser/mysql-bin.06",
            "mariadb-poc/domain_id_0/mariadb-repl-bin.000010",
        ];
        let mut out = Vec::new();
        for f in files {
            let data = Bytes::from(std::fs::read(dir.join(f)).unwrap());
            let mut pos = 4usize;
            let mut context: Vec<Bytes> = Vec::new();
            let mut file = BinlogFile::new(data.clone(), EventDecoder::new(options())).unwrap();
            while let Some(Ok((offset, ev))) = file.next_event() {
                let start = usize::try_from(offset).unwrap();
                let raw = data.slice(start..start + ev.header.event_size as usize);
                pos = start + raw.len();
                out.push(Sample { context: context.clone(), event: raw.clone() });
                match ev.header.event_type {
                    EventType::FormatDescription => context = vec![raw],
                    EventType::TableMap => context.push(raw),
                    _ => {}
                }
            }
            assert!(pos > 4, "{f}: nothing read");
        }
        out
    })
}

/// Decodes `raw` after `context`, walking every row and payload event; must not panic.
fn decode_all(context: &[Bytes], raw: &Bytes) {
    let mut d = EventDecoder::new(options());
    for c in context {
        d.decode(c).unwrap();
    }
    let Ok(ev) = d.decode(raw) else { return };
    match &ev.event {
        Event::Rows(rows) => {
            let plan = RowPlan::new(&rows.table);
            for row in rows.rows(&plan) {
                if row.is_err() {
                    break;
                }
            }
        }
        Event::TransactionPayload(p) => {
            let p = p.clone();
            for inner in d.payload_events(&p).take(10_000) {
                if inner.is_err() {
                    break;
                }
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Set { at: usize, value: u8 },
    Truncate { len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (
            any::<usize>(),
            prop_oneof![
                Just(0u8),
                Just(0xff),
                Just(0xfb),
                Just(0xfc),
                Just(0xfe),
                Just(0x80),
                any::<u8>()
            ]
        )
            .prop_map(|(at, value)| Mutation::Set { at, value }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
    ]
}

fn apply(event: &Bytes, mutations: &[Mutation]) -> Bytes {
    let mut v = event.to_vec();
    for m in mutations {
        match *m {
            // Keep the header's size field consistent with the buffer half of the time, so
            // that body decoders (not only the framing check) see the damage.
            Mutation::Flip { at, bit } if !v.is_empty() => {
                let i = 19.min(v.len() - 1) + at % v.len().saturating_sub(19).max(1);
                let i = i.min(v.len() - 1);
                v[i] ^= 1 << bit;
            }
            Mutation::Set { at, value } if !v.is_empty() => {
                let i = at % v.len();
                v[i] = value;
            }
            Mutation::Truncate { len } => {
                let keep = len % (v.len() + 1);
                v.truncate(keep);
                if v.len() >= 19 {
                    let size = u32::try_from(v.len()).unwrap().to_le_bytes();
                    v[9..13].copy_from_slice(&size);
                }
            }
            _ => {}
        }
    }
    Bytes::from(v)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_events_never_panic(index in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..6)) {
        let samples = samples();
        let s = &samples[index % samples.len()];
        decode_all(&s.context, &apply(&s.event, &mutations));
    }

    #[test]
    fn truncated_events_never_panic(index in any::<usize>(), cut in any::<usize>()) {
        let samples = samples();
        let s = &samples[index % samples.len()];
        let keep = cut % (s.event.len() + 1);
        decode_all(&s.context, &s.event.slice(..keep));
    }
}

#[test]
fn every_sample_decodes_unmutated() {
    for s in samples() {
        decode_all(&s.context, &s.event);
    }
    assert!(samples().len() > 200, "{}", samples().len());
}
