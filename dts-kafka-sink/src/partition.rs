//! The three DTS partition policies, exactly as `DTS-AVRO.md` specifies them.
//!
//! `javaHash(s)` is Java's `String.hashCode()` over the UTF-16 code units of `s`; the partition
//! is `(javaHash & 0x7fffffff) % partitions`.
//!
//! | policy | hashed text | DDL | keyless rows |
//! |---|---|---|---|
//! | [`PartitionPolicy::Zero`] | — (everything to 0) | 0 | 0 |
//! | [`PartitionPolicy::DbTable`] | `db.table` | with its table, else 0 | by `db.table` |
//! | [`PartitionPolicy::PrimaryKey`] | the key text of [`dts_avro::key_text`] | 0 | 0 |
//!
//! Under [`PartitionPolicy::PrimaryKey`] an UPDATE that changes the key is sent as a DELETE of the
//! old row (placed by the old key) followed by an INSERT of the new row (placed by the new key), as
//! Debezium does: a single UPDATE record can only sit in one partition, and then a consumer
//! reading partitions independently could apply it before the old key's earlier records. The
//! replay test (`examples/tests/replay.rs`) fails without this split.

use std::cell::RefCell;
use std::num::NonZeroU32;

use bytes::BytesMut;

use dts_core::{ChangeEvent, Operation, Partitioner, Value};

/// Java's `String.hashCode()`.
#[must_use]
pub fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

fn bucket(hash: i32, partitions: NonZeroU32) -> u32 {
    (hash.cast_unsigned() & 0x7fff_ffff) % partitions.get()
}

/// How records are spread over a topic's partitions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PartitionPolicy {
    /// Every record to partition 0 (global order).
    #[default]
    Zero,
    /// Hash of `db.table`: one table's records in one partition (table order).
    DbTable,
    /// Hash of the primary (or unique) key: one row's records in one partition (row order).
    PrimaryKey,
}

impl std::str::FromStr for PartitionPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "partition-zero" => Ok(PartitionPolicy::Zero),
            "hash-db-table" => Ok(PartitionPolicy::DbTable),
            "hash-primary-key" => Ok(PartitionPolicy::PrimaryKey),
            other => Err(format!(
                "partition policy {other:?}: expected partition-zero, hash-db-table or hash-primary-key"
            )),
        }
    }
}

/// The [`Partitioner`] of a [`PartitionPolicy`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DtsPartitioner {
    policy: PartitionPolicy,
}

impl DtsPartitioner {
    /// A partitioner for `policy`.
    #[must_use]
    pub fn new(policy: PartitionPolicy) -> Self {
        Self { policy }
    }
}

thread_local! {
    /// Key texts are written here, not into a new `String` per event (the hot path).
    static KEY_TEXT: RefCell<(BytesMut, BytesMut)> = RefCell::default();
}

/// Java's `String.hashCode` of the concatenation of `parts`, without concatenating.
/// `a` and `b` are the same value (floating-point values bit for bit: `0.0` and `-0.0` have
/// different texts), so their key texts are the same.
fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

fn java_hash_parts(parts: &[&str]) -> i32 {
    parts
        .iter()
        .flat_map(|p| p.encode_utf16())
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

impl Partitioner for DtsPartitioner {
    fn partition(&self, event: &ChangeEvent, partitions: NonZeroU32) -> u32 {
        match self.policy {
            PartitionPolicy::Zero => 0,
            PartitionPolicy::DbTable => match event.table_id() {
                Some(t) => bucket(java_hash_parts(&[t.db(), ".", t.table()]), partitions),
                None => 0,
            },
            PartitionPolicy::PrimaryKey => {
                if event.op == Operation::Ddl || !event.op.is_row() {
                    return 0;
                }
                KEY_TEXT.with_borrow_mut(|(text, _)| {
                    text.clear();
                    match dts_avro::write_key_text(event, text) {
                        // Key text is UTF-8 (invalid bytes are escaped): borrowed, not copied.
                        Ok(true) => bucket(java_hash(&String::from_utf8_lossy(text)), partitions),
                        _ => 0,
                    }
                })
            }
        }
    }

    /// Under the hash-of-key policy, an UPDATE that changes the key text is split: its DELETE
    /// goes with the old key, its INSERT with the new one.
    fn splits_update(&self, event: &ChangeEvent) -> bool {
        if !matches!(self.policy, PartitionPolicy::PrimaryKey) || event.op != Operation::Update {
            return false;
        }
        let (Some(table), Some(before), Some(after)) = (&event.table, &event.before, &event.after)
        else {
            return false;
        };
        // Most updates keep their key: identical key values have identical key text, so the
        // text is only built when a key value changed.
        if let Some(key) = table.row_key()
            && key.columns.iter().all(
                |&c| matches!((before.get(c), after.get(c)), (Some(a), Some(b)) if identical(a, b)),
            )
        {
            return false;
        }
        KEY_TEXT.with_borrow_mut(|(old, new)| {
            old.clear();
            new.clear();
            // The same text the records' keys carry: split exactly when it changes. A key that
            // cannot be written is not split here; the codec refuses it with its error.
            matches!(
                (
                    dts_avro::write_row_key_text(table, before, old),
                    dts_avro::write_row_key_text(table, after, new),
                ),
                (Ok(true), Ok(true)) if old != new
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_string_hash_code() {
        // Values of "".hashCode(), "a".hashCode(), "hello".hashCode(), "mydb.t1".hashCode() in Java.
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("a"), 97);
        assert_eq!(java_hash("hello"), 99_162_322);
        assert_eq!(java_hash("polygenelubricants"), i32::MIN);
        // Non-BMP characters hash as their two UTF-16 surrogates.
        assert_eq!(java_hash("😀"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn hash_of_parts_is_hash_of_their_concatenation() {
        for (db, t) in [
            ("mydb", "t1"),
            ("", ""),
            ("shop", "orders_😀"),
            ("a.b", "c"),
        ] {
            assert_eq!(
                java_hash_parts(&[db, ".", t]),
                java_hash(&format!("{db}.{t}"))
            );
        }
    }

    #[test]
    fn negative_hashes_are_made_non_negative() {
        let p = NonZeroU32::new(7).unwrap();
        assert_eq!(bucket(i32::MIN, p), 0);
        assert_eq!(bucket(-1, p), 0x7fff_ffff % 7);
    }

    #[test]
    fn policies_parse() {
        assert_eq!("hash-primary-key".parse(), Ok(PartitionPolicy::PrimaryKey));
        assert!("hash".parse::<PartitionPolicy>().is_err());
    }

    #[test]
    fn only_key_changing_updates_split_and_only_by_key_hash() {
        use dts_core::Value;
        let t = dts_test_utils::test_table();
        let row =
            |id: i64, v: &str| vec![Value::Int(id), Value::Bytes(v.as_bytes().to_vec().into())];
        let moved = ChangeEvent::update(t.clone(), row(1, "a"), row(2, "a"));
        let same = ChangeEvent::update(t.clone(), row(1, "a"), row(1, "b"));
        let by_key = DtsPartitioner::new(PartitionPolicy::PrimaryKey);
        assert!(by_key.splits_update(&moved));
        assert!(!by_key.splits_update(&same));
        for policy in [PartitionPolicy::Zero, PartitionPolicy::DbTable] {
            assert!(
                !DtsPartitioner::new(policy).splits_update(&moved),
                "{policy:?}"
            );
        }
        let insert = ChangeEvent::insert(t, row(1, "a"));
        assert!(!by_key.splits_update(&insert));
    }

    #[test]
    fn a_float_key_moving_between_zero_and_minus_zero_splits() {
        use dts_core::{ColumnDef, ColumnType, KeyDef, TableId, TableSchema, Value};
        let t = std::sync::Arc::new(
            TableSchema::new(
                TableId::new("d", "f"),
                vec![ColumnDef::new("k", ColumnType::Double)],
                Some(KeyDef {
                    name: "PRIMARY".into(),
                    columns: vec![0],
                }),
                vec![],
            )
            .unwrap(),
        );
        let by_key = DtsPartitioner::new(PartitionPolicy::PrimaryKey);
        let update = |a: f64, b: f64| {
            ChangeEvent::update(t.clone(), vec![Value::Double(a)], vec![Value::Double(b)])
        };
        // 0.0 == -0.0 as numbers, but their key texts ("0", "-0") hash differently.
        assert!(by_key.splits_update(&update(0.0, -0.0)));
        assert!(!by_key.splits_update(&update(1.5, 1.5)));
        assert!(by_key.splits_update(&update(1.5, 2.5)));
    }
}
