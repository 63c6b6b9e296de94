//! Hand-written decoder of one DTS Avro `Record` ([`DtsRecord::decode`]).
//!
//! Reads the fields in schema order with a bounds-checked cursor: every length and item count
//! is checked against the remaining input before anything is allocated, every union branch and
//! enum ordinal against the schema, so no input panics or allocates more than its own size
//! (times a small constant). Arrays and maps accept every block layout the Avro specification
//! allows (several blocks, negative counts with a byte size), as other writers may use them.

use crate::error::{DecodeError, DecodeErrorKind};
use crate::record::{
    DateTime, DtsRecord, EmptyObject, Field, FieldValue, Fields, Images, Operation, Source,
    SourceType,
};
use crate::wire::Reader;

pub(crate) fn decode_record(value: &[u8]) -> Result<DtsRecord, DecodeError> {
    let mut r = Reader::new(value);
    let record = DtsRecord {
        version: r.int("version")?,
        id: r.long("id")?,
        source_timestamp: r.long("sourceTimestamp")?,
        source_position: r.str("sourcePosition")?.to_owned(),
        safe_source_position: r.str("safeSourcePosition")?.to_owned(),
        source_txid: r.str("sourceTxid")?.to_owned(),
        source: Source {
            source_type: enum_symbol(&mut r, "source.sourceType", SourceType::count(), |o| {
                SourceType::from_ordinal(o)
            })?,
            version: r.str("source.version")?.to_owned(),
        },
        operation: enum_symbol(
            &mut r,
            "operation",
            Operation::count(),
            Operation::from_ordinal,
        )?,
        object_name: match r.branch("objectName", 2)? {
            0 => None,
            _ => Some(r.str("objectName")?.to_owned()),
        },
        process_timestamps: match r.branch("processTimestamps", 2)? {
            0 => None,
            _ => Some(array(&mut r, "processTimestamps", |r| {
                r.long("processTimestamps")
            })?),
        },
        tags: array(&mut r, "tags", |r| {
            Ok((r.str("tags")?.to_owned(), r.str("tags")?.to_owned()))
        })?,
        fields: match r.branch("fields", 3)? {
            0 => Fields::Null,
            1 => Fields::Text(r.str("fields")?.to_owned()),
            _ => Fields::List(array(&mut r, "fields", |r| {
                Ok(Field {
                    name: r.str("Field.name")?.to_owned(),
                    data_type_number: r.int("Field.dataTypeNumber")?,
                })
            })?),
        },
        before_images: images(&mut r, "beforeImages")?,
        after_images: images(&mut r, "afterImages")?,
        born_timestamp: r.long("bornTimestamp")?,
    };
    if r.remaining() > 0 {
        return Err(DecodeError::new(
            "bornTimestamp",
            r.position(),
            DecodeErrorKind::TrailingBytes(r.remaining()),
        ));
    }
    Ok(record)
}

fn enum_symbol<T>(
    r: &mut Reader<'_>,
    what: &'static str,
    count: u8,
    from: impl Fn(u8) -> Option<T>,
) -> Result<T, DecodeError> {
    let at = r.position();
    let ordinal = r.ordinal(what, count)?;
    from(ordinal).ok_or_else(|| {
        DecodeError::new(what, at, DecodeErrorKind::BadEnumSymbol(i64::from(ordinal)))
    })
}

/// An Avro array or map body: blocks until a zero count. Every item of our schema takes at
/// least one byte, so a count is never trusted beyond the remaining input.
fn array<'a, T>(
    r: &mut Reader<'a>,
    what: &'static str,
    mut item: impl FnMut(&mut Reader<'a>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let mut out = Vec::new();
    loop {
        let count = r.block_count(what)?;
        if count == 0 {
            return Ok(out);
        }
        out.reserve(count);
        for _ in 0..count {
            let before = r.position();
            out.push(item(r)?);
            if r.position() == before {
                // Cannot happen with this schema (no zero-size items); guards the bound above.
                return Err(DecodeError::new(what, before, DecodeErrorKind::Truncated));
            }
        }
    }
}

fn images(r: &mut Reader<'_>, what: &'static str) -> Result<Images, DecodeError> {
    Ok(match r.branch(what, 3)? {
        0 => Images::Null,
        1 => Images::Text(r.str(what)?.to_owned()),
        _ => Images::Values(array(r, what, field_value)?),
    })
}

fn datetime(r: &mut Reader<'_>) -> Result<DateTime, DecodeError> {
    const NAMES: [&str; 7] = [
        "DateTime.year",
        "DateTime.month",
        "DateTime.day",
        "DateTime.hour",
        "DateTime.minute",
        "DateTime.second",
        "DateTime.millis",
    ];
    let mut members = [None; 7];
    for (m, what) in members.iter_mut().zip(NAMES) {
        *m = match r.branch(what, 2)? {
            0 => None,
            _ => Some(r.int(what)?),
        };
    }
    Ok(DateTime::from_members(members))
}

fn field_value(r: &mut Reader<'_>) -> Result<FieldValue, DecodeError> {
    Ok(match r.branch("image item", 13)? {
        0 => FieldValue::Null,
        1 => FieldValue::Integer {
            precision: r.int("Integer.precision")?,
            value: r.str("Integer.value")?.to_owned(),
        },
        2 => FieldValue::Character {
            charset: r.str("Character.charset")?.to_owned(),
            value: r.bytes("Character.value")?.to_vec(),
        },
        3 => FieldValue::Decimal {
            value: r.str("Decimal.value")?.to_owned(),
            precision: r.int("Decimal.precision")?,
            scale: r.int("Decimal.scale")?,
        },
        4 => FieldValue::Float {
            value: r.double("Float.value")?,
            precision: r.int("Float.precision")?,
            scale: r.int("Float.scale")?,
        },
        5 => FieldValue::Timestamp {
            timestamp: r.long("Timestamp.timestamp")?,
            millis: r.int("Timestamp.millis")?,
        },
        6 => FieldValue::DateTime(datetime(r)?),
        7 => FieldValue::TimestampWithTimeZone {
            value: datetime(r)?,
            timezone: r.str("TimestampWithTimeZone.timezone")?.to_owned(),
        },
        8 => FieldValue::BinaryGeometry {
            kind: r.str("BinaryGeometry.type")?.to_owned(),
            value: r.bytes("BinaryGeometry.value")?.to_vec(),
        },
        9 => FieldValue::TextGeometry {
            kind: r.str("TextGeometry.type")?.to_owned(),
            value: r.str("TextGeometry.value")?.to_owned(),
        },
        10 => FieldValue::BinaryObject {
            kind: r.str("BinaryObject.type")?.to_owned(),
            value: r.bytes("BinaryObject.value")?.to_vec(),
        },
        11 => FieldValue::TextObject {
            kind: r.str("TextObject.type")?.to_owned(),
            value: r.str("TextObject.value")?.to_owned(),
        },
        _ => FieldValue::EmptyObject(enum_symbol(
            r,
            "EmptyObject",
            EmptyObject::count(),
            EmptyObject::from_ordinal,
        )?),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use bytes::BytesMut;

    use super::*;

    /// A small valid record.
    pub(crate) fn minimal() -> DtsRecord {
        DtsRecord {
            version: 0,
            id: 1,
            source_timestamp: 2,
            source_position: "4@1".into(),
            safe_source_position: "4@1".into(),
            source_txid: "0".into(),
            source: Source {
                source_type: SourceType::MySql,
                version: "8.0.28".into(),
            },
            operation: Operation::Insert,
            object_name: Some("d.t".into()),
            process_timestamps: None,
            tags: vec![("k".into(), "v".into())],
            fields: Fields::List(vec![Field {
                name: "a".into(),
                data_type_number: 3,
            }]),
            before_images: Images::Null,
            after_images: Images::Values(vec![FieldValue::Integer {
                precision: 4,
                value: "1".into(),
            }]),
            born_timestamp: 2,
        }
    }

    #[test]
    fn round_trips_and_refuses_trailing_bytes() {
        let rec = minimal();
        let mut b = BytesMut::new();
        rec.encode(&mut b);
        assert_eq!(DtsRecord::decode(&b).unwrap(), rec);
        b.extend_from_slice(&[0]);
        let err = DtsRecord::decode(&b).unwrap_err();
        assert_eq!(err.kind(), DecodeErrorKind::TrailingBytes(1));
        assert_eq!(err.offset(), b.len() - 1);
    }

    #[test]
    fn accepts_multi_block_and_negative_count_arrays() {
        // processTimestamps written as two blocks, the second with a negative count + size.
        let mut rec = minimal();
        rec.process_timestamps = Some(vec![]);
        let mut b = BytesMut::new();
        rec.encode(&mut b);
        // Locate the empty processTimestamps array (branch 1 = 0x02, then the 0 terminator)
        // right after objectName "d.t".
        let at = b
            .windows(5)
            .position(|w| w == [0x06, b'd', b'.', b't', 0x02])
            .unwrap()
            + 5;
        assert_eq!(b[at], 0);
        let blocks = [
            0x02, 0x0a, /* -1 item, 1 byte */ 0x01, 0x02, 0x0c, 0x00,
        ];
        let mut patched = b[..at].to_vec();
        patched.extend_from_slice(&blocks);
        patched.extend_from_slice(&b[at + 1..]);
        let got = DtsRecord::decode(&patched).unwrap();
        assert_eq!(got.process_timestamps, Some(vec![5, 6]));
    }

    #[test]
    fn errors_name_the_field_and_offset() {
        let mut b = BytesMut::new();
        minimal().encode(&mut b);
        // Truncated inside sourcePosition.
        let err = DtsRecord::decode(&b[..5]).unwrap_err();
        assert_eq!(err.what(), "sourcePosition");
        // A bad operation ordinal: version 0, id 1, ts 2, 3 strings, source, then operation.
        let op_at = 1 + 1 + 1 + 4 + 4 + 2 + 1 + 7;
        let mut bad = b.to_vec();
        bad[op_at] = 0x40; // 32
        let err = DtsRecord::decode(&bad).unwrap_err();
        assert_eq!(
            (err.what(), err.offset(), err.kind()),
            ("operation", op_at, DecodeErrorKind::BadEnumSymbol(32))
        );
    }
}
