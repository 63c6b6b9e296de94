//! WRITE/UPDATE/DELETE_ROWS events v0/v1/v2 (23–25, 30–32), MariaDB's compressed forms
//! (166–171) and PARTIAL_UPDATE_ROWS (39).
//!
//! Post-header: | 6 table id (4 in old formats) | 2 flags | [v2: 2 extra-data length
//! (including itself) | extra data] |.
//! Body: | lenenc column count | columns-present bitmap | [UPDATE: after-image bitmap] | rows |.
//! Each row image: a NULL bitmap over the present columns, then the values of the present,
//! non-NULL columns in column order. UPDATE rows hold a before and an after image.
//! Bitmaps here are LSB-first. In the MariaDB compressed forms the rows are compressed
//! (`0x80|n`, n-byte big-endian length, zlib).
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/classmysql_1_1binlog_1_1event_1_1Rows__event.html>

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use dts_core::{Decimal, Value};

use super::table_map::{ColumnKind, ColumnMeta, TableMapEvent};
use crate::binlog::error::{DecodeError, DecodeResult};
use crate::binlog::reader::Reader;
use crate::binlog::{decimal, json, time};

/// Which rows event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowsKind {
    /// Inserted rows: after images.
    Write,
    /// Updated rows: before and after images.
    Update,
    /// Deleted rows: before images.
    Delete,
    /// Updated rows whose JSON columns may hold partial updates.
    PartialUpdate,
}

/// A rows event, with the TABLE_MAP it refers to. Rows are decoded on demand with
/// [`rows`](Self::rows).
#[derive(Clone, Debug, PartialEq)]
pub struct RowsEvent {
    /// The kind.
    pub kind: RowsKind,
    /// The table id (matches [`TableMapEvent::table_id`]).
    pub table_id: u64,
    /// Flags (`STMT_END_F` = 1: last rows event of the statement).
    pub flags: u16,
    /// v2 extra data (NDB info, partition info), raw.
    pub extra: Bytes,
    /// Number of columns the images describe.
    pub column_count: usize,
    /// Columns present in the before image (or the only image of WRITE).
    present_before: Bytes,
    /// Columns present in the after image (UPDATE only).
    present_after: Option<Bytes>,
    /// The row data (decompressed).
    data: Bytes,
    /// Offset of `data` in the event, for errors.
    data_offset: u64,
    /// The table map in force.
    pub table: Arc<TableMapEvent>,
}

/// One changed row: before and/or after image, each a value per *present* column in column
/// order (every column for full row images).
#[derive(Clone, Debug, PartialEq)]
pub struct RowChange {
    /// The old row (UPDATE, DELETE).
    pub before: Option<Vec<Value>>,
    /// The new row (WRITE, UPDATE).
    pub after: Option<Vec<Value>>,
}

impl RowsEvent {
    /// `STMT_END_F`.
    pub const STMT_END: u16 = 1;

    /// Decodes the body; `table` resolves the table id to its map.
    ///
    /// # Errors
    /// Truncated input; an unknown table id; a column count that differs from the map.
    pub fn decode(
        r: &mut Reader,
        kind: RowsKind,
        post_header_len: u8,
        compressed: bool,
        max_len: usize,
        table: impl FnOnce(u64) -> Option<Arc<TableMapEvent>>,
    ) -> DecodeResult<Self> {
        let id_at = r.offset();
        let table_id = if post_header_len == 6 {
            u64::from(r.try_u32("rows.table_id")?)
        } else {
            r.try_u48("rows.table_id")?
        };
        let flags = r.try_u16("rows.flags")?;
        let extra = if post_header_len >= 10 {
            let n = r.try_u16("rows.extra_len")?;
            let n = usize::from(n)
                .checked_sub(2)
                .ok_or_else(|| r.invalid("rows.extra_len", "below 2"))?;
            r.try_bytes(n, "rows.extra")?
        } else {
            Bytes::new()
        };
        let table = table(table_id).ok_or_else(|| {
            DecodeError::invalid(
                "rows.table_id",
                id_at,
                "no TABLE_MAP event for this table id",
            )
        })?;
        let count_at = r.offset();
        let column_count = r.try_lenenc("rows.column_count")?;
        // A count, not a length: it must equal the map's (checked below), so it fits in usize.
        let column_count = usize::try_from(column_count).unwrap_or(usize::MAX);
        if column_count != table.columns.len() {
            return Err(DecodeError::invalid(
                "rows.column_count",
                count_at,
                "differs from the column count of the table map",
            ));
        }
        let bitmap_len = column_count.div_ceil(8);
        let present_before = r.try_bytes(bitmap_len, "rows.columns_present")?;
        let present_after = match kind {
            RowsKind::Update | RowsKind::PartialUpdate => {
                Some(r.try_bytes(bitmap_len, "rows.columns_present_after")?)
            }
            _ => None,
        };
        let data_offset = r.offset();
        let data = if compressed {
            super::query::uncompress(r, max_len)?
        } else {
            r.rest()
        };
        Ok(Self {
            kind,
            table_id,
            flags,
            extra,
            column_count,
            present_before,
            present_after,
            data,
            data_offset,
            table,
        })
    }

    /// `true` when every image holds every column (`binlog_row_image=FULL`).
    #[must_use]
    pub fn is_full_image(&self) -> bool {
        let full = |b: &Bytes| (0..self.column_count).all(|i| bit(b, i));
        full(&self.present_before) && self.present_after.as_ref().is_none_or(full)
    }

    /// Which columns the before (or only) image holds.
    pub fn present_before(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.column_count).map(|i| bit(&self.present_before, i))
    }

    /// Which columns the after image of an UPDATE holds.
    pub fn present_after(&self) -> Option<impl Iterator<Item = bool> + '_> {
        self.present_after
            .as_ref()
            .map(|b| (0..self.column_count).map(move |i| bit(b, i)))
    }

    /// Iterates the rows, decoding values with `plan` (built from the same table map).
    #[must_use]
    pub fn rows<'a>(&'a self, plan: &'a RowPlan) -> RowsIter<'a> {
        RowsIter {
            event: self,
            plan,
            r: Reader::new(self.data.clone(), self.data_offset),
            scratch: BytesMut::new(),
            failed: false,
        }
    }
}

fn bit(bitmap: &[u8], i: usize) -> bool {
    bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

/// How to decode each column of a table map: layout plus signedness and text/binary, from the
/// map's optional metadata or from the caller's schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowPlan {
    columns: Vec<PlannedColumn>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PlannedColumn {
    kind: ColumnKind,
    unsigned: bool,
    binary: bool,
}

impl RowPlan {
    /// A plan from the map alone. Without signedness metadata integers are read as signed;
    /// without charset metadata CHAR/VARCHAR are text and BLOBs binary.
    #[must_use]
    pub fn new(map: &TableMapEvent) -> Self {
        let unsigned = map.optional.unsigned.as_ref();
        let collations = map.optional.collations.as_ref();
        let columns = map
            .columns
            .iter()
            .enumerate()
            .map(|(i, c): (usize, &ColumnMeta)| {
                let unsigned = unsigned
                    .and_then(|u| u.get(i).copied().flatten())
                    .unwrap_or(false);
                let binary = match collations.and_then(|cs| cs.get(i).copied().flatten()) {
                    Some(coll) => coll == 63,
                    None => matches!(c.kind, ColumnKind::Blob { .. }),
                };
                PlannedColumn {
                    kind: c.kind,
                    unsigned,
                    binary,
                }
            })
            .collect();
        Self { columns }
    }

    /// Overrides signedness per column (from the table schema, when the server does not log
    /// it). Extra entries are ignored.
    #[must_use]
    pub fn with_unsigned(mut self, unsigned: impl IntoIterator<Item = bool>) -> Self {
        for (c, u) in self.columns.iter_mut().zip(unsigned) {
            c.unsigned = u;
        }
        self
    }

    /// Overrides binary (vs text) per column (from the table schema).
    #[must_use]
    pub fn with_binary(mut self, binary: impl IntoIterator<Item = bool>) -> Self {
        for (c, b) in self.columns.iter_mut().zip(binary) {
            c.binary = b;
        }
        self
    }
}

/// Iterator over the rows of a [`RowsEvent`].
#[derive(Debug)]
pub struct RowsIter<'a> {
    event: &'a RowsEvent,
    plan: &'a RowPlan,
    r: Reader,
    scratch: BytesMut,
    failed: bool,
}

impl Iterator for RowsIter<'_> {
    type Item = DecodeResult<RowChange>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.r.is_empty() {
            return None;
        }
        let start = self.r.offset();
        let mut result = self.next_row();
        // A row that consumes nothing (no column present) would repeat forever.
        if result.is_ok() && self.r.offset() == start {
            result = Err(DecodeError::invalid(
                "rows.columns_present",
                start,
                "a row image with no columns: the rows cannot advance",
            ));
        }
        self.failed = result.is_err();
        Some(result)
    }
}

impl RowsIter<'_> {
    fn next_row(&mut self) -> DecodeResult<RowChange> {
        let ev = self.event;
        match ev.kind {
            RowsKind::Write => Ok(RowChange {
                before: None,
                after: Some(self.image(&ev.present_before, None)?),
            }),
            RowsKind::Delete => Ok(RowChange {
                before: Some(self.image(&ev.present_before, None)?),
                after: None,
            }),
            RowsKind::Update => {
                let before = self.image(&ev.present_before, None)?;
                let after = self.image(
                    ev.present_after.as_ref().unwrap_or(&ev.present_before),
                    None,
                )?;
                Ok(RowChange {
                    before: Some(before),
                    after: Some(after),
                })
            }
            RowsKind::PartialUpdate => {
                let before = self.image(&ev.present_before, None)?;
                let after = self.image(
                    ev.present_after.as_ref().unwrap_or(&ev.present_before),
                    Some((&ev.present_before, &before)),
                )?;
                Ok(RowChange {
                    before: Some(before),
                    after: Some(after),
                })
            }
        }
    }

    /// One row image. For the after image of a PARTIAL_UPDATE_ROWS event, `shared` is the
    /// before image (its present-columns bitmap and values), to which JSON diffs apply.
    fn image(
        &mut self,
        present: &Bytes,
        shared: Option<(&Bytes, &[Value])>,
    ) -> DecodeResult<Vec<Value>> {
        let count = self.event.column_count;
        // PARTIAL_JSON_UPDATES: one bit per JSON column of the table says "holds diffs".
        let mut partial_bits: Option<Bytes> = None;
        if shared.is_some() {
            let options = self.r.try_lenenc("rows.value_options")?;
            if options & 1 != 0 {
                let json_columns = self
                    .plan
                    .columns
                    .iter()
                    .filter(|c| matches!(c.kind, ColumnKind::Json { .. }))
                    .count();
                partial_bits = Some(
                    self.r
                        .try_bytes(json_columns.div_ceil(8), "rows.partial_bits")?,
                );
            }
        }
        let n_present = (0..count).filter(|&i| bit(present, i)).count();
        let nulls = self
            .r
            .try_bytes(n_present.div_ceil(8), "rows.null_bitmap")?;
        let mut values = dts_core::row_with_capacity(n_present);
        let mut k = 0usize;
        let mut json_ordinal = 0usize;
        for (i, col) in self.plan.columns.iter().enumerate().take(count) {
            let is_json = matches!(col.kind, ColumnKind::Json { .. });
            let partial = is_json && partial_bits.as_ref().is_some_and(|b| bit(b, json_ordinal));
            json_ordinal = json_ordinal.saturating_add(usize::from(is_json));
            if !bit(present, i) {
                continue;
            }
            let is_null = bit(&nulls, k);
            k = k.saturating_add(1);
            if is_null {
                values.push(Value::Null);
                continue;
            }
            if partial
                && let (ColumnKind::Json { len_bytes }, Some((before_present, before))) =
                    (col.kind, shared)
            {
                let at = self.r.offset();
                let diffs = length_prefixed(&mut self.r, len_bytes, "value.json_diff")?;
                let pos = (0..i).filter(|&j| bit(before_present, j)).count();
                let old = match before.get(pos) {
                    Some(Value::Json(text)) if bit(before_present, i) => text,
                    _ => {
                        return Err(DecodeError::invalid(
                            "value.json_diff",
                            at,
                            "the before image has no JSON document to apply the diffs to",
                        ));
                    }
                };
                let diff_at = at.saturating_add(u64::from(len_bytes));
                values.push(Value::Json(crate::binlog::json_diff::apply_diffs(
                    old, diffs, diff_at,
                )?));
                continue;
            }
            values.push(read_value(&mut self.r, *col, &mut self.scratch)?);
        }
        Ok(values)
    }
}

fn sign_extend_24(v: u32) -> i64 {
    i64::from(((v << 8).cast_signed()) >> 8)
}

/// Reads one non-NULL value.
fn read_value(r: &mut Reader, col: PlannedColumn, scratch: &mut BytesMut) -> DecodeResult<Value> {
    let u = col.unsigned;
    Ok(match col.kind {
        ColumnKind::Tiny => {
            let v = r.try_u8("value.tinyint")?;
            if u {
                Value::UInt(u64::from(v))
            } else {
                Value::Int(i64::from(v.cast_signed()))
            }
        }
        ColumnKind::Short => {
            let v = r.try_u16("value.smallint")?;
            if u {
                Value::UInt(u64::from(v))
            } else {
                Value::Int(i64::from(v.cast_signed()))
            }
        }
        ColumnKind::Int24 => {
            let v = r.try_u24("value.mediumint")?;
            if u {
                Value::UInt(u64::from(v))
            } else {
                Value::Int(sign_extend_24(v))
            }
        }
        ColumnKind::Long => {
            let v = r.try_u32("value.int")?;
            if u {
                Value::UInt(u64::from(v))
            } else {
                Value::Int(i64::from(v.cast_signed()))
            }
        }
        ColumnKind::LongLong => {
            let v = r.try_u64("value.bigint")?;
            if u {
                Value::UInt(v)
            } else {
                Value::Int(v.cast_signed())
            }
        }
        ColumnKind::Float => Value::Float(f32::from_bits(r.try_u32("value.float")?)),
        ColumnKind::Double => Value::Double(f64::from_bits(r.try_u64("value.double")?)),
        ColumnKind::Year => {
            let v = r.try_u8("value.year")?;
            Value::Year(if v == 0 {
                0
            } else {
                1900u16.saturating_add(u16::from(v))
            })
        }
        ColumnKind::Date => Value::Date(time::read_date(r)?),
        ColumnKind::Time => Value::Time(time::read_time_v1(r)?),
        ColumnKind::Time2 { fsp } => Value::Time(time::read_time2(r, fsp)?),
        ColumnKind::DateTime => Value::DateTime(time::read_datetime_v1(r)?),
        ColumnKind::DateTime2 { fsp } => Value::DateTime(time::read_datetime2(r, fsp)?),
        ColumnKind::Timestamp => Value::Timestamp {
            secs: u64::from(r.try_u32("value.timestamp")?),
            micros: 0,
        },
        ColumnKind::Timestamp2 { fsp } => {
            let (secs, micros) = time::read_timestamp2(r, fsp)?;
            Value::Timestamp { secs, micros }
        }
        ColumnKind::NewDecimal { precision, scale } => {
            let at = r.offset();
            let size = decimal::binary_size(precision, scale)
                .map_err(|why| r.invalid("value.decimal", why))?;
            let raw = r.try_slice(size, "value.decimal")?;
            decimal::decode_into(raw, precision, scale, scratch, at)?;
            let text = scratch.split().freeze();
            Value::Decimal(
                Decimal::from_text(text)
                    .map_err(|_| DecodeError::invalid("value.decimal", at, "not a decimal"))?,
            )
        }
        ColumnKind::Bit { bytes, .. } => {
            let raw = r.try_slice(usize::from(bytes), "value.bit")?;
            Value::Bit(raw.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
        }
        ColumnKind::Enum { pack } => {
            let v = r.try_uint_n(usize::from(pack), "value.enum")?;
            Value::Enum(u16::try_from(v).map_err(|_| r.invalid("value.enum", "index above 65535"))?)
        }
        ColumnKind::Set { pack } => Value::Set(r.try_uint_n(usize::from(pack), "value.set")?),
        ColumnKind::String { len_bytes, max_len } => {
            let b = length_prefixed(r, len_bytes, "value.string")?;
            if col.binary {
                // BINARY(N) is stored with its trailing 0x00 padding stripped; SELECT returns
                // all N bytes, so restore them (CHAR's stripped spaces are not returned either).
                let n = usize::from(max_len);
                if b.len() < n {
                    let mut padded = BytesMut::with_capacity(n);
                    padded.extend_from_slice(&b);
                    padded.resize(n, 0);
                    Value::Bytes(padded.freeze())
                } else {
                    Value::Bytes(b)
                }
            } else {
                Value::String(b)
            }
        }
        ColumnKind::VarString { len_bytes, .. } => {
            let b = length_prefixed(r, len_bytes, "value.string")?;
            if col.binary {
                Value::Bytes(b)
            } else {
                Value::String(b)
            }
        }
        ColumnKind::Blob { len_bytes } => {
            let b = length_prefixed(r, len_bytes, "value.blob")?;
            if col.binary {
                Value::Bytes(b)
            } else {
                Value::String(b)
            }
        }
        ColumnKind::Json { len_bytes } => {
            let at = r.offset();
            let b = length_prefixed(r, len_bytes, "value.json")?;
            let at = at.saturating_add(u64::from(len_bytes));
            json::to_text(&b, scratch, at)?;
            Value::Json(scratch.split().freeze())
        }
        ColumnKind::Geometry { len_bytes } => {
            Value::Geometry(length_prefixed(r, len_bytes, "value.geometry")?)
        }
        ColumnKind::Vector { len_bytes } => {
            Value::Vector(length_prefixed(r, len_bytes, "value.vector")?)
        }
        ColumnKind::Null => Value::Null,
        ColumnKind::Unsupported(code) => {
            let _ = code;
            return Err(DecodeError::new(
                crate::binlog::error::DecodeErrorKind::Unsupported("column type in a row image"),
                "value",
                r.offset(),
            ));
        }
    })
}

fn length_prefixed(r: &mut Reader, len_bytes: u8, what: &'static str) -> DecodeResult<Bytes> {
    let n = r.try_uint_n(usize::from(len_bytes), what)?;
    let n = usize::try_from(n).map_err(|_| r.invalid(what, "length does not fit in memory"))?;
    r.try_bytes(n, what)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use bytes::Bytes;

    use crate::binlog::{Event, EventDecoder, RowPlan};
    use dts_core::Value;

    fn event(ty: u8, body: &[u8]) -> Bytes {
        let size = u32::try_from(19 + body.len()).unwrap();
        let mut e = vec![0, 0, 0, 0, ty, 1, 0, 0, 0];
        e.extend_from_slice(&size.to_le_bytes());
        e.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        e.extend_from_slice(body);
        Bytes::from(e)
    }

    /// `t(id INT, doc JSON)`.
    fn table_map() -> Bytes {
        event(
            19,
            &[
                1, 0, 0, 0, 0, 0, 0, 0, 1, b'd', 0, 1, b't', 0, 2, 3, 245, 1, 4, 0b10,
            ],
        )
    }

    #[test]
    fn partial_json_update_applies_diffs_to_the_full_before_image() {
        // {"a": 1} in binary JSON (small object).
        let doc: &[u8] = &[0x00, 1, 0, 12, 0, 11, 0, 1, 0, 0x05, 1, 0, b'a'];
        // REPLACE $.a with int16 7.
        let diff: &[u8] = &[0, 3, b'$', b'.', b'a', 3, 0x05, 7, 0];
        let mut body = vec![1, 0, 0, 0, 0, 0, 1, 0, 2, 0, 2, 0b11, 0b11];
        body.extend_from_slice(&[0, 1, 0, 0, 0]);
        body.extend_from_slice(&u32::try_from(doc.len()).unwrap().to_le_bytes());
        body.extend_from_slice(doc);
        body.extend_from_slice(&[1, 0b1, 0, 1, 0, 0, 0]);
        body.extend_from_slice(&u32::try_from(diff.len()).unwrap().to_le_bytes());
        body.extend_from_slice(diff);
        let mut d = EventDecoder::default();
        d.decode(&table_map()).unwrap();
        let ev = d.decode(&event(39, &body)).unwrap();
        let Event::Rows(rows) = ev.event else {
            panic!()
        };
        let plan = RowPlan::new(&rows.table);
        let changes: Vec<_> = rows.rows(&plan).collect::<Result<_, _>>().unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].before.as_ref().unwrap()[1],
            Value::Json(Bytes::from_static(br#"{"a": 1}"#))
        );
        assert_eq!(
            changes[0].after.as_ref().unwrap()[1],
            Value::Json(Bytes::from_static(br#"{"a": 7}"#))
        );

        // The same diff with a MINIMAL before image (no document): an error, not a guess.
        let mut body = vec![1, 0, 0, 0, 0, 0, 1, 0, 2, 0, 2, 0b01, 0b10];
        body.extend_from_slice(&[0, 1, 0, 0, 0]);
        body.extend_from_slice(&[1, 0b1, 0]);
        body.extend_from_slice(&u32::try_from(diff.len()).unwrap().to_le_bytes());
        body.extend_from_slice(diff);
        let ev = d.decode(&event(39, &body)).unwrap();
        let Event::Rows(rows) = ev.event else {
            panic!()
        };
        let err = rows.rows(&plan).next().unwrap().unwrap_err();
        assert!(err.to_string().contains("no JSON document"), "{err}");
    }

    #[test]
    fn rows_with_an_unknown_table_id_or_wrong_column_count_are_refused() {
        let mut d = EventDecoder::default();
        let write = event(
            30,
            &[
                9, 0, 0, 0, 0, 0, 1, 0, 2, 0, 2, 0b11, 0, 1, 0, 0, 0, 0, 0, 0, 0,
            ],
        );
        assert!(
            d.decode(&write)
                .unwrap_err()
                .to_string()
                .contains("no TABLE_MAP")
        );
        d.decode(&table_map()).unwrap();
        let write = event(30, &[1, 0, 0, 0, 0, 0, 1, 0, 2, 0, 3, 0b111, 0]);
        assert!(
            d.decode(&write)
                .unwrap_err()
                .to_string()
                .contains("column count")
        );
    }

    #[test]
    fn a_row_with_no_present_columns_is_an_error_not_an_endless_loop() {
        let mut d = EventDecoder::default();
        d.decode(&table_map()).unwrap();
        let write = event(30, &[1, 0, 0, 0, 0, 0, 1, 0, 2, 0, 2, 0b00, 0, 0, 0]);
        let Event::Rows(rows) = d.decode(&write).unwrap().event else {
            panic!()
        };
        let plan = RowPlan::new(&rows.table);
        let results: Vec<_> = rows.rows(&plan).take(10).collect();
        assert_eq!(results.len(), 1);
        assert!(
            results[0]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("no columns")
        );
    }
}
