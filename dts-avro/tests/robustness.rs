//! The reader never panics: truncations, byte mutations and random input give a
//! `DecodeError` (or, for mutations that still form a record, a record), never a panic or an
//! allocation beyond the input's size.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::BytesMut;
use dts_avro::{DecodeErrorKind, DtsAvroConfig, DtsRecord};
use dts_core::Codec;
use proptest::prelude::*;

fn encoded(ev: &dts_core::ChangeEvent) -> Vec<u8> {
    let mut out = BytesMut::new();
    DtsAvroConfig::new("8.0.36")
        .build()
        .encode_value(ev, &mut out)
        .unwrap();
    out.to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_strict_prefix_is_an_error(ev in common::event()) {
        let bytes = encoded(&ev);
        prop_assert!(DtsRecord::decode(&bytes).is_ok());
        let step = (bytes.len() / 200).max(1);
        for end in (0..bytes.len()).step_by(step) {
            let err = DtsRecord::decode(&bytes[..end]).unwrap_err();
            prop_assert!(err.offset() <= end, "{err} for a prefix of {end}");
        }
    }

    #[test]
    fn mutations_never_panic(
        ev in common::event(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = encoded(&ev);
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        match DtsRecord::decode(&bytes) {
            // Still a record: it writes and reads back to the same thing.
            Ok(rec) => {
                let mut again = BytesMut::new();
                rec.encode(&mut again);
                let back = DtsRecord::decode(&again).unwrap();
                prop_assert_eq!(back.to_json(), rec.to_json());
            }
            Err(e) => prop_assert!(e.offset() < bytes.len() + 1, "{}", e),
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = DtsRecord::decode(&bytes) {
            prop_assert!(e.offset() <= bytes.len(), "{}", e);
        }
    }
}

#[test]
fn huge_lengths_and_counts_are_refused_before_allocating() {
    // version 0, id 0, ts 0, then sourcePosition with a length of 2^62.
    let mut huge = vec![0, 0, 0];
    huge.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    let err = DtsRecord::decode(&huge).unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::LengthTooLarge(_)),
        "{err}"
    );
    assert_eq!((err.what(), err.offset()), ("sourcePosition", 3));
    // A negative length.
    let err = DtsRecord::decode(&[0, 0, 0, 0x03]).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::OutOfRange(-2));
}
