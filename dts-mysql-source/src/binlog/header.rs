//! The v4 event header and [`EventType`].
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | timestamp (seconds since the epoch) |
//! | 4 | 1 | event type |
//! | 5 | 4 | server id |
//! | 9 | 4 | event size (header, body and checksum) |
//! | 13 | 4 | end position of the event in the file (`log_pos`) |
//! | 17 | 2 | flags |
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_replication_binlog_event.html>

use std::fmt;

use super::error::{DecodeError, DecodeResult};

/// Size of the v4 common header.
pub const HEADER_LEN: usize = 19;

macro_rules! event_types {
    ($($(#[$doc:meta])* $name:ident = $code:literal => $text:literal,)*) => {
        /// The type code of an event. Codes this decoder does not know are kept as
        /// [`EventType::Unknown`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum EventType {
            $($(#[$doc])* $name,)*
            /// A type code this decoder does not know.
            Unknown(u8),
        }

        impl EventType {
            /// The event type of a type code.
            #[must_use]
            pub fn from_code(code: u8) -> Self {
                match code {
                    $($code => EventType::$name,)*
                    other => EventType::Unknown(other),
                }
            }

            /// The type code.
            #[must_use]
            pub fn code(self) -> u8 {
                match self {
                    $(EventType::$name => $code,)*
                    EventType::Unknown(c) => c,
                }
            }

            /// The server's name of the event (`WRITE_ROWS_EVENT_V2`, ...).
            #[must_use]
            pub fn name(self) -> &'static str {
                match self {
                    $(EventType::$name => $text,)*
                    EventType::Unknown(_) => "UNKNOWN_EVENT",
                }
            }
        }
    };
}

event_types! {
    /// START_EVENT_V3 (binlog v3, MySQL < 5.0).
    StartV3 = 1 => "START_EVENT_V3",
    /// A statement (and BEGIN/COMMIT in row format).
    Query = 2 => "QUERY_EVENT",
    /// The server stopped.
    Stop = 3 => "STOP_EVENT",
    /// The next binlog file.
    Rotate = 4 => "ROTATE_EVENT",
    /// AUTO_INCREMENT / LAST_INSERT_ID of the next statement.
    Intvar = 5 => "INTVAR_EVENT",
    /// Old LOAD DATA.
    Load = 6 => "LOAD_EVENT",
    /// Obsolete.
    Slave = 7 => "SLAVE_EVENT",
    /// Old LOAD DATA.
    CreateFile = 8 => "CREATE_FILE_EVENT",
    /// LOAD DATA block.
    AppendBlock = 9 => "APPEND_BLOCK_EVENT",
    /// Old LOAD DATA.
    ExecLoad = 10 => "EXEC_LOAD_EVENT",
    /// LOAD DATA cancelled.
    DeleteFile = 11 => "DELETE_FILE_EVENT",
    /// Old LOAD DATA.
    NewLoad = 12 => "NEW_LOAD_EVENT",
    /// RAND() seeds of the next statement.
    Rand = 13 => "RAND_EVENT",
    /// A user variable used by the next statement.
    UserVar = 14 => "USER_VAR_EVENT",
    /// Describes the binlog format of what follows.
    FormatDescription = 15 => "FORMAT_DESCRIPTION_EVENT",
    /// Transaction commit (XA id).
    Xid = 16 => "XID_EVENT",
    /// LOAD DATA start.
    BeginLoadQuery = 17 => "BEGIN_LOAD_QUERY_EVENT",
    /// LOAD DATA execution.
    ExecuteLoadQuery = 18 => "EXECUTE_LOAD_QUERY_EVENT",
    /// Maps a table id to a table definition for the rows events that follow.
    TableMap = 19 => "TABLE_MAP_EVENT",
    /// Pre-GA write rows (5.1 betas).
    PreGaWriteRows = 20 => "PRE_GA_WRITE_ROWS_EVENT",
    /// Pre-GA update rows.
    PreGaUpdateRows = 21 => "PRE_GA_UPDATE_ROWS_EVENT",
    /// Pre-GA delete rows.
    PreGaDeleteRows = 22 => "PRE_GA_DELETE_ROWS_EVENT",
    /// Inserted rows, v1.
    WriteRowsV1 = 23 => "WRITE_ROWS_EVENT_V1",
    /// Updated rows, v1.
    UpdateRowsV1 = 24 => "UPDATE_ROWS_EVENT_V1",
    /// Deleted rows, v1.
    DeleteRowsV1 = 25 => "DELETE_ROWS_EVENT_V1",
    /// Something happened that replicas cannot reproduce.
    Incident = 26 => "INCIDENT_EVENT",
    /// Sent by the server on an idle replication connection.
    Heartbeat = 27 => "HEARTBEAT_LOG_EVENT",
    /// Ignorable event.
    Ignorable = 28 => "IGNORABLE_LOG_EVENT",
    /// The statement that produced the following rows events (MySQL).
    RowsQuery = 29 => "ROWS_QUERY_LOG_EVENT",
    /// Inserted rows, v2.
    WriteRowsV2 = 30 => "WRITE_ROWS_EVENT",
    /// Updated rows, v2.
    UpdateRowsV2 = 31 => "UPDATE_ROWS_EVENT",
    /// Deleted rows, v2.
    DeleteRowsV2 = 32 => "DELETE_ROWS_EVENT",
    /// MySQL GTID of the next transaction.
    Gtid = 33 => "GTID_LOG_EVENT",
    /// Anonymous GTID (GTID mode off).
    AnonymousGtid = 34 => "ANONYMOUS_GTID_LOG_EVENT",
    /// The GTID set of everything before this file.
    PreviousGtids = 35 => "PREVIOUS_GTIDS_LOG_EVENT",
    /// Group replication transaction context.
    TransactionContext = 36 => "TRANSACTION_CONTEXT_EVENT",
    /// Group replication view change.
    ViewChange = 37 => "VIEW_CHANGE_EVENT",
    /// XA PREPARE.
    XaPrepare = 38 => "XA_PREPARE_LOG_EVENT",
    /// Updated rows with JSON partial updates (binlog_row_value_options=PARTIAL_JSON).
    PartialUpdateRows = 39 => "PARTIAL_UPDATE_ROWS_EVENT",
    /// A compressed transaction (zstd).
    TransactionPayload = 40 => "TRANSACTION_PAYLOAD_EVENT",
    /// Heartbeat, v2 (8.0.26+).
    HeartbeatV2 = 41 => "HEARTBEAT_LOG_EVENT_V2",
    /// Tagged GTID (8.4+).
    GtidTagged = 42 => "GTID_TAGGED_LOG_EVENT",
    /// MariaDB: the statement that produced the following rows events.
    MariaAnnotateRows = 160 => "ANNOTATE_ROWS_EVENT",
    /// MariaDB: the oldest binlog file still needed for crash recovery.
    MariaBinlogCheckpoint = 161 => "BINLOG_CHECKPOINT_EVENT",
    /// MariaDB GTID (starts an event group).
    MariaGtid = 162 => "GTID_EVENT",
    /// MariaDB: the GTID state at the start of this file.
    MariaGtidList = 163 => "GTID_LIST_EVENT",
    /// MariaDB encryption start.
    MariaStartEncryption = 164 => "START_ENCRYPTION_EVENT",
    /// MariaDB compressed QUERY.
    MariaQueryCompressed = 165 => "QUERY_COMPRESSED_EVENT",
    /// MariaDB compressed WRITE_ROWS v1.
    MariaWriteRowsCompressedV1 = 166 => "WRITE_ROWS_COMPRESSED_EVENT_V1",
    /// MariaDB compressed UPDATE_ROWS v1.
    MariaUpdateRowsCompressedV1 = 167 => "UPDATE_ROWS_COMPRESSED_EVENT_V1",
    /// MariaDB compressed DELETE_ROWS v1.
    MariaDeleteRowsCompressedV1 = 168 => "DELETE_ROWS_COMPRESSED_EVENT_V1",
    /// MariaDB compressed WRITE_ROWS.
    MariaWriteRowsCompressed = 169 => "WRITE_ROWS_COMPRESSED_EVENT",
    /// MariaDB compressed UPDATE_ROWS.
    MariaUpdateRowsCompressed = 170 => "UPDATE_ROWS_COMPRESSED_EVENT",
    /// MariaDB compressed DELETE_ROWS.
    MariaDeleteRowsCompressed = 171 => "DELETE_ROWS_COMPRESSED_EVENT",
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventType::Unknown(c) => write!(f, "UNKNOWN_EVENT({c})"),
            other => f.write_str(other.name()),
        }
    }
}

/// The common header of every event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventHeader {
    /// Seconds since the epoch when the statement started.
    pub timestamp: u32,
    /// The event type.
    pub event_type: EventType,
    /// The server that wrote the event.
    pub server_id: u32,
    /// Size of the whole event: header, body and checksum.
    pub event_size: u32,
    /// Position of the next event in the file (0 for some artificial events).
    pub log_pos: u32,
    /// `LOG_EVENT_*` flags.
    pub flags: u16,
}

/// `LOG_EVENT_ARTIFICIAL_F`: generated by the server for the replication stream (a fake ROTATE
/// or FDE), not in the file.
pub const FLAG_ARTIFICIAL: u16 = 0x20;

impl EventHeader {
    /// Decodes the header from the first 19 bytes of `buf` (no copy).
    ///
    /// # Errors
    /// Truncated input, or an event size smaller than the header.
    pub fn parse(buf: &[u8]) -> DecodeResult<Self> {
        let Some(h) = buf.first_chunk::<HEADER_LEN>() else {
            return Err(DecodeError::truncated(
                "header",
                0,
                HEADER_LEN as u64,
                buf.len() as u64,
            ));
        };
        let [
            t0,
            t1,
            t2,
            t3,
            ty,
            s0,
            s1,
            s2,
            s3,
            z0,
            z1,
            z2,
            z3,
            p0,
            p1,
            p2,
            p3,
            f0,
            f1,
        ] = *h;
        let event_type = EventType::from_code(ty);
        let event_size = u32::from_le_bytes([z0, z1, z2, z3]);
        if (event_size as usize) < HEADER_LEN {
            return Err(DecodeError::invalid(
                "header.event_size",
                9,
                "smaller than the 19-byte event header",
            )
            .in_event(event_type));
        }
        Ok(Self {
            timestamp: u32::from_le_bytes([t0, t1, t2, t3]),
            event_type,
            server_id: u32::from_le_bytes([s0, s1, s2, s3]),
            event_size,
            log_pos: u32::from_le_bytes([p0, p1, p2, p3]),
            flags: u16::from_le_bytes([f0, f1]),
        })
    }
}
