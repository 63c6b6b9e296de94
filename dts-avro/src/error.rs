//! The error type of `dts-avro`.

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong encoding or decoding DTS Avro.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A record could not be decoded.
    #[error("invalid DTS Avro record at byte {offset}: {what}")]
    Decode {
        /// What was being read.
        what: &'static str,
        /// Byte offset in the message value.
        offset: usize,
    },
}
