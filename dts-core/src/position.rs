//! Where a source is: binlog file and offset, GTID sets (MySQL and MariaDB), snapshot progress,
//! and the [`Checkpoint`] a pipeline saves.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::schema::{TableId, TableSchema};
use crate::value::Value;

/// A binlog file and a byte offset in it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BinlogPosition {
    /// File name, e.g. `mysql-bin.000078`.
    pub file: Arc<str>,
    /// Byte offset in the file.
    pub offset: u64,
}

impl BinlogPosition {
    /// Orders positions across files by the file's numeric suffix, then the offset. `None`
    /// when a file name has no numeric suffix.
    #[must_use]
    pub fn cmp_in_stream(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some((self.file_sequence()?, self.offset).cmp(&(other.file_sequence()?, other.offset)))
    }

    /// `file` at `offset`.
    pub fn new(file: impl Into<Arc<str>>, offset: u64) -> Self {
        Self {
            file: file.into(),
            offset,
        }
    }

    /// The numeric suffix of the file name (`mysql-bin.000078` → 78), which DTS writes in
    /// `sourcePosition` as `offset@sequence`.
    #[must_use]
    pub fn file_sequence(&self) -> Option<u64> {
        let (_, suffix) = self.file.rsplit_once('.')?;
        if suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        suffix.parse().ok()
    }
}

/// `file:offset`.
impl fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.offset)
    }
}

/// A MySQL GTID set: per source id (server UUID, optionally `uuid:tag` on MySQL 8.3+), a sorted
/// list of disjoint inclusive transaction-number intervals.
///
/// Text form as MySQL prints it: `3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:11,<uuid>:1-27`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MySqlGtidSet {
    sids: BTreeMap<String, Vec<(u64, u64)>>,
}

impl MySqlGtidSet {
    /// The empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds transaction `gno` of source `sid` (UUID text, case-insensitive).
    pub fn add(&mut self, sid: &str, gno: u64) {
        self.add_interval(sid, gno, gno);
    }

    /// Adds the inclusive interval `first..=last` of `sid`.
    pub fn add_interval(&mut self, sid: &str, first: u64, last: u64) {
        // The common case, a source's next transaction: extend its last interval in place.
        if first == last
            && let Some(list) = self.sids.get_mut(sid)
            && let Some(end) = list.last_mut()
            && end.1.checked_add(1) == Some(first)
        {
            end.1 = first;
            return;
        }
        let (first, last) = if first <= last {
            (first, last)
        } else {
            (last, first)
        };
        let list = self.sids.entry(sid.to_ascii_lowercase()).or_default();
        list.push((first, last));
        list.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(list.len());
        for &(a, b) in list.iter() {
            match merged.last_mut() {
                Some(prev) if a <= prev.1.saturating_add(1) => prev.1 = prev.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        *list = merged;
    }

    /// Whether transaction `gno` of `sid` is in the set.
    #[must_use]
    pub fn contains(&self, sid: &str, gno: u64) -> bool {
        self.sids
            .get(&sid.to_ascii_lowercase())
            .is_some_and(|l| l.iter().any(|&(a, b)| a <= gno && gno <= b))
    }

    /// `true` when no transaction is in the set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sids.is_empty()
    }
}

impl fmt::Display for MySqlGtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (sid, intervals)) in self.sids.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(sid)?;
            for &(a, b) in intervals {
                if a == b {
                    write!(f, ":{a}")?;
                } else {
                    write!(f, ":{a}-{b}")?;
                }
            }
        }
        Ok(())
    }
}

impl FromStr for MySqlGtidSet {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason| Error::Parse {
            what: "MySQL GTID set",
            input: s.to_owned(),
            reason,
        };
        let mut set = Self::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut pieces = part.split(':');
            let uuid = pieces.next().unwrap_or_default();
            if !is_uuid(uuid) {
                return Err(bad("a source id is not a UUID"));
            }
            let mut sid = uuid.to_owned();
            let mut any = false;
            for piece in pieces {
                if piece.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                    // MySQL 8.3+ tag: `uuid:tag:1-5`.
                    sid = format!("{uuid}:{piece}");
                    continue;
                }
                let (a, b) = match piece.split_once('-') {
                    Some((a, b)) => (a, b),
                    None => (piece, piece),
                };
                let a: u64 = a
                    .parse()
                    .map_err(|_| bad("an interval bound is not a number"))?;
                let b: u64 = b
                    .parse()
                    .map_err(|_| bad("an interval bound is not a number"))?;
                if a == 0 || b < a {
                    return Err(bad("an interval is empty or starts at 0"));
                }
                set.add_interval(&sid, a, b);
                any = true;
            }
            if !any {
                return Err(bad("a source id has no interval"));
            }
        }
        Ok(set)
    }
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// One MariaDB GTID: `domain-server-sequence`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MariaDbGtid {
    /// Replication domain id.
    pub domain: u32,
    /// Server id of the originating server.
    pub server: u32,
    /// Sequence number within the domain.
    pub sequence: u64,
}

impl fmt::Display for MariaDbGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.sequence)
    }
}

impl FromStr for MariaDbGtid {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason| Error::Parse {
            what: "MariaDB GTID",
            input: s.to_owned(),
            reason,
        };
        let mut it = s.trim().splitn(3, '-');
        let mut next = || {
            it.next()
                .ok_or_else(|| bad("expected domain-server-sequence"))
        };
        let domain = next()?.parse().map_err(|_| bad("domain is not a u32"))?;
        let server = next()?.parse().map_err(|_| bad("server id is not a u32"))?;
        let sequence = next()?.parse().map_err(|_| bad("sequence is not a u64"))?;
        Ok(Self {
            domain,
            server,
            sequence,
        })
    }
}

/// A MariaDB replication position: the last GTID of each domain (`gtid_slave_pos` form,
/// `0-1-100,1-2-5`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MariaDbGtidList {
    domains: BTreeMap<u32, MariaDbGtid>,
}

impl MariaDbGtidList {
    /// The empty position.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `gtid` as the last of its domain.
    pub fn update(&mut self, gtid: MariaDbGtid) {
        self.domains.insert(gtid.domain, gtid);
    }

    /// The last GTID of `domain`.
    #[must_use]
    pub fn get(&self, domain: u32) -> Option<MariaDbGtid> {
        self.domains.get(&domain).copied()
    }

    /// Iterates the GTIDs in domain order.
    pub fn iter(&self) -> impl Iterator<Item = MariaDbGtid> + '_ {
        self.domains.values().copied()
    }
}

impl fmt::Display for MariaDbGtidList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, g) in self.domains.values().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{g}")?;
        }
        Ok(())
    }
}

impl FromStr for MariaDbGtidList {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let mut list = Self::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let gtid: MariaDbGtid = part.parse()?;
            if list.domains.contains_key(&gtid.domain) {
                return Err(Error::Parse {
                    what: "MariaDB GTID list",
                    input: s.to_owned(),
                    reason: "a domain appears twice",
                });
            }
            list.update(gtid);
        }
        Ok(list)
    }
}

/// A GTID set of either server flavour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flavor", content = "set", rename_all = "lowercase")]
pub enum GtidSet {
    /// MySQL `gtid_executed` form.
    MySql(MySqlGtidSet),
    /// MariaDB `gtid_slave_pos` form.
    MariaDb(MariaDbGtidList),
}

impl fmt::Display for GtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GtidSet::MySql(s) => s.fmt(f),
            GtidSet::MariaDb(s) => s.fmt(f),
        }
    }
}

/// How far a snapshot (full data migration) got, per table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnapshotPosition {
    /// Where incremental migration starts once the snapshot is done (the consistent point).
    pub binlog_start: Option<BinlogPosition>,
    /// The GTID set at `binlog_start`, when GTIDs are on.
    pub gtid_start: Option<GtidSet>,
    /// Per table, what is finished.
    #[serde(with = "entries")]
    pub tables: BTreeMap<TableId, TableSnapshotProgress>,
}

/// Serializes a map with non-string keys as a list of `[key, value]` pairs (JSON maps need
/// string keys).
mod entries {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub(super) fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// Snapshot progress of one table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TableSnapshotProgress {
    /// Every row was copied.
    pub done: bool,
    /// Indexes of the chunks completely copied (and acknowledged).
    pub chunks_done: BTreeSet<u64>,
    /// For keyless tables scanned in one pass: rows copied so far.
    pub rows_done: u64,
    /// The last key copied, for display.
    pub last_key: Option<Vec<Value>>,
    /// Chunk boundaries (key values), fixed when the table's snapshot was planned, so that a
    /// resumed snapshot reads the same chunks: chunk `i` covers keys in
    /// `(boundaries[i-1], boundaries[i]]`, the last chunk everything above the last boundary.
    #[serde(default)]
    pub boundaries: Vec<Vec<Value>>,
    /// The number of chunks planned so far.
    #[serde(default)]
    pub chunks: u64,
    /// Boundaries are still being found: chunks are read as soon as their upper boundary is
    /// known, while later boundaries are looked up. Until planning ends, only the chunks below
    /// the last boundary exist; the last chunk (above it) is added when no further boundary is
    /// found. A resumed snapshot keeps the boundaries found and plans on from the last one.
    #[serde(default)]
    pub planning: bool,
    /// Per chunk (by index), the exact binlog position of the consistent snapshot it was read in,
    /// when known (MariaDB, integer keys): changes to its keys before it are in the snapshot.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub chunk_positions: BTreeMap<u64, BinlogPosition>,
    /// For a table read in one consistent-snapshot transaction: the binlog position that
    /// snapshot corresponds to exactly. Incremental migration skips the table's changes before
    /// it.
    #[serde(default)]
    pub snapshot_position: Option<BinlogPosition>,
}

/// The chunks of one table and the exact binlog position of the snapshot each was read in
/// (`None` when unknown): a change to a key of chunk `i` before `positions[i]` is already in
/// the snapshot. Chunk `i` covers keys in `(boundaries[i-1], boundaries[i]]`; the last chunk
/// everything above the last boundary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkPositions {
    /// The table.
    pub table: TableId,
    /// Chunk boundaries (key values).
    pub boundaries: Vec<Vec<crate::Value>>,
    /// Per chunk, `boundaries.len() + 1` entries.
    pub positions: Vec<Option<BinlogPosition>>,
}

/// A point a source can resume from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Position {
    /// A binlog position, with the GTID set executed up to it when GTIDs are on.
    Binlog {
        /// File and offset.
        binlog: BinlogPosition,
        /// The GTID set at this point.
        gtid: Option<GtidSet>,
        /// The definitions of the selected tables in force at this point, so that a task
        /// resuming here decodes old events with them (not with today's definitions).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tables: Option<Arc<Vec<TableSchema>>>,
        /// Tables copied without a key in one consistent-snapshot pass, with the exact binlog
        /// position of that snapshot: their changes before it are already in the snapshot and
        /// must be skipped by a task resuming here (empty once the stream passed them all).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skip: Vec<(TableId, BinlogPosition)>,
        /// Tables whose chunks were each read in a consistent snapshot of known position, while
        /// the stream has not passed all of them: a task resuming here skips each key's changes
        /// before its chunk's snapshot.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chunk_skip: Option<Arc<Vec<ChunkPositions>>>,
    },
    /// A snapshot in progress.
    Snapshot(SnapshotPosition),
}

impl Position {
    /// A binlog position without GTIDs or table definitions.
    #[must_use]
    pub fn binlog(binlog: BinlogPosition) -> Self {
        Position::Binlog {
            binlog,
            gtid: None,
            tables: None,
            skip: Vec::new(),
            chunk_skip: None,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Binlog {
                binlog, gtid: None, ..
            } => write!(f, "{binlog}"),
            Position::Binlog {
                binlog,
                gtid: Some(g),
                ..
            } => write!(f, "{binlog} gtid {g}"),
            Position::Snapshot(s) => {
                let done = s.tables.values().filter(|t| t.done).count();
                write!(f, "snapshot {done}/{} tables done", s.tables.len())
            }
        }
    }
}

/// What a pipeline saves: the position to resume from, and the next record id (record ids keep
/// increasing across restarts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Checkpoint {
    /// Resume here.
    pub position: Position,
    /// The first record id the resumed task may use.
    pub next_id: u64,
}

impl Checkpoint {
    /// A checkpoint at `position`.
    #[must_use]
    pub fn new(position: Position, next_id: u64) -> Self {
        Self { position, next_id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U1: &str = "3E11FA47-71CA-11E1-9E33-C80AA9429562";
    const U2: &str = "4e11fa47-71ca-11e1-9e33-c80aa9429562";

    #[test]
    fn mysql_gtid_set_text_round_trip_and_merge() {
        let s: MySqlGtidSet = format!("{U1}:1-5:11-18:7, {U2}:1-27").parse().unwrap();
        assert_eq!(
            s.to_string(),
            format!("{}:1-5:7:11-18,{U2}:1-27", U1.to_lowercase())
        );
        let mut s2 = s.clone();
        s2.add(U1, 6);
        s2.add(U1, 8);
        assert!(s2.contains(U1, 6) && !s2.contains(U1, 9) && s2.contains(U2, 27));
        assert_eq!(
            s2.to_string(),
            format!("{}:1-8:11-18,{U2}:1-27", U1.to_lowercase())
        );
        let tagged: MySqlGtidSet = format!("{U2}:tag_a:1-3").parse().unwrap();
        assert_eq!(tagged.to_string(), format!("{U2}:tag_a:1-3"));
    }

    #[test]
    fn a_stream_of_next_transactions_stays_one_interval() {
        let mut s = MySqlGtidSet::new();
        for gno in 1..=1000 {
            s.add(U2, gno);
        }
        s.add(U2, 1002);
        s.add(U2, 1001);
        assert_eq!(s.to_string(), format!("{U2}:1-1002"));
    }

    #[test]
    fn bad_gtid_sets_are_refused() {
        for bad in [
            "nope:1-2",
            U1,
            &format!("{U1}:0-3"),
            &format!("{U1}:5-3"),
            &format!("{U1}:x"),
        ] {
            assert!(bad.parse::<MySqlGtidSet>().is_err(), "{bad}");
        }
        assert!("0-1".parse::<MariaDbGtid>().is_err());
        assert!("0-1-2,0-2-3".parse::<MariaDbGtidList>().is_err());
    }

    #[test]
    fn mariadb_gtid_list() {
        let mut l: MariaDbGtidList = "1-2-5,0-1-100".parse().unwrap();
        assert_eq!(l.to_string(), "0-1-100,1-2-5");
        l.update(MariaDbGtid {
            domain: 0,
            server: 3,
            sequence: 101,
        });
        assert_eq!(l.to_string(), "0-3-101,1-2-5");
    }

    #[test]
    fn file_sequence() {
        assert_eq!(
            BinlogPosition::new("mysql-bin.000078", 4).file_sequence(),
            Some(78)
        );
        assert_eq!(BinlogPosition::new("binlog", 4).file_sequence(), None);
    }

    #[test]
    fn checkpoint_serializes() {
        let mut snap = SnapshotPosition::default();
        snap.tables
            .entry(TableId::new("d", "t"))
            .or_default()
            .chunks_done
            .insert(3);
        for position in [
            Position::Binlog {
                binlog: BinlogPosition::new("mysql-bin.000002", 1234),
                gtid: Some(GtidSet::MariaDb("0-1-9".parse().unwrap())),
                tables: None,
                skip: vec![(
                    TableId::new("d", "keyless"),
                    BinlogPosition::new("mysql-bin.000002", 2000),
                )],
                chunk_skip: Some(Arc::new(vec![ChunkPositions {
                    table: TableId::new("d", "t"),
                    boundaries: vec![vec![crate::Value::Int(100)]],
                    positions: vec![Some(BinlogPosition::new("mysql-bin.000002", 900)), None],
                }])),
            },
            Position::Snapshot(snap),
        ] {
            let c = Checkpoint::new(position, 42);
            let text = serde_json::to_string(&c).unwrap();
            assert_eq!(
                serde_json::from_str::<Checkpoint>(&text).unwrap(),
                c,
                "{text}"
            );
        }
    }
}
