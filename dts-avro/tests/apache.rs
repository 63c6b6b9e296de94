//! Property tests against `apache-avro` with the published `Record.avsc`: for random records of
//! random tables (every MySQL type, NULLs, long strings, unicode, extreme values, every
//! operation and tag selection), the codec's bytes equal `apache-avro`'s `to_avro_datum` of the
//! record built independently from the DTS-AVRO.md tables, `apache-avro` decodes them back to
//! that record, and `DtsRecord` decodes them and writes them again byte for byte.
#![allow(clippy::unwrap_used)]

mod common;

use apache_avro::{from_avro_datum, to_avro_datum};
use bytes::BytesMut;
use dts_avro::{DtsAvroConfig, DtsRecord, record_schema};
use dts_core::Codec;
use proptest::prelude::*;

use common::{SHARED_RECORD, event, expected, ordered_map, tags, tags_config};

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn same_bytes_as_apache_avro(ev in event(), tag_config in tags_config(), version in "\\PC{0,12}") {
        let config = DtsAvroConfig { tags: tag_config, ..DtsAvroConfig::new(version) };
        let mut codec = config.build();
        let mut ours = BytesMut::new();
        codec.encode_value(&ev, &mut ours).unwrap();

        let entries = tags(&ev, tag_config);
        let record = expected(&ev, &config, ordered_map(&entries));
        let apache = to_avro_datum(&SHARED_RECORD, record.clone()).unwrap();
        prop_assert_eq!(&ours[..], &apache[..]);
        // The crate's own schema writes the same bytes.
        prop_assert_eq!(&to_avro_datum(record_schema(), record.clone()).unwrap(), &apache);

        // apache-avro reads our bytes back to the same record.
        let back = from_avro_datum(&SHARED_RECORD, &mut &ours[..], None).unwrap();
        prop_assert_eq!(back, record);

        // So does our reader, and writing what it read gives the same bytes.
        let decoded = DtsRecord::decode(&ours).unwrap();
        prop_assert_eq!(&decoded.tags, &entries);
        let mut again = BytesMut::new();
        decoded.encode(&mut again);
        prop_assert_eq!(&again[..], &ours[..]);
        // And its JSON view never fails.
        prop_assert!(decoded.to_json().is_object());
    }
}
