//! # dts-avro
//!
//! The DTS Avro format of dts. It will hold (see the project's issues): `DtsAvroCodec`
//! (implementing [`dts_core::Codec`]: the Avro binary of one `com.alibaba.dts.formats.avro.Record`
//! per message, byte-identical to `apache-avro`), the documented message key, and `DtsRecord`,
//! a reader for consumers.
//!
//! Today it holds only its [`Error`] type: nothing above is implemented yet.

mod error;

pub use error::{Error, Result};
