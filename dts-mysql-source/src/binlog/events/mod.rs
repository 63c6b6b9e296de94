//! Event bodies, one module per MySQL event family.

pub mod format_description;
pub mod gtid;
pub mod query;
pub mod rows;
pub mod table_map;
pub mod transaction_payload;
