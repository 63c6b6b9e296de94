//! TLS to the source: the four modes MySQL clients know, and the stream that carries either a
//! plain or a TLS connection.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// How the connection to the source is secured (MySQL's `--ssl-mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP.
    #[default]
    Disabled,
    /// TLS, without checking the server's certificate (encrypts, does not authenticate).
    Required,
    /// TLS; the certificate must chain to the CA (`ca`, else the system's roots); any host name.
    VerifyCa,
    /// TLS; the certificate must chain to the CA and name the host connected to.
    VerifyIdentity,
}

impl std::str::FromStr for TlsMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "disabled" => Ok(Self::Disabled),
            "required" => Ok(Self::Required),
            "verify-ca" => Ok(Self::VerifyCa),
            "verify-identity" => Ok(Self::VerifyIdentity),
            other => Err(Error::Config(format!(
                "tls = {other:?}: expected disabled, required, verify-ca or verify-identity"
            ))),
        }
    }
}

impl TlsMode {
    /// The mode's name as configured.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Required => "required",
            Self::VerifyCa => "verify-ca",
            Self::VerifyIdentity => "verify-identity",
        }
    }
}

/// TLS settings of a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// The mode.
    pub mode: TlsMode,
    /// PEM file of the CA certificate(s) to trust (verify modes); the system's roots if unset.
    pub ca: Option<PathBuf>,
}

impl TlsOptions {
    /// Settings for `mode` with the system's roots.
    #[must_use]
    pub fn new(mode: TlsMode) -> Self {
        Self { mode, ca: None }
    }

    /// Trusts the CA certificates in the PEM file `path`.
    #[must_use]
    pub fn with_ca(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca = Some(path.into());
        self
    }

    /// `true` unless the mode is [`TlsMode::Disabled`].
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.mode != TlsMode::Disabled
    }

    /// The CA certificates of [`ca`](Self::ca), read and parsed.
    ///
    /// # Errors
    /// The file cannot be read or holds no certificate.
    pub(crate) fn ca_certificates(&self) -> Result<Vec<native_tls::Certificate>> {
        let Some(path) = &self.ca else {
            return Ok(Vec::new());
        };
        let pem = std::fs::read(path)
            .map_err(|e| Error::io(format!("reading the TLS CA file {}", path.display()), e))?;
        let text = String::from_utf8_lossy(&pem);
        let mut certs = Vec::new();
        let mut rest = &*text;
        while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
            let tail = rest.get(start..).unwrap_or_default();
            const END: &str = "-----END CERTIFICATE-----";
            let Some(end) = tail.find(END) else { break };
            let block = tail.get(..end + END.len()).unwrap_or_default();
            certs.push(
                native_tls::Certificate::from_pem(block.as_bytes()).map_err(|e| {
                    Error::Config(format!(
                        "TLS CA file {}: not a valid certificate: {e}",
                        path.display()
                    ))
                })?,
            );
            rest = tail.get(end + END.len()..).unwrap_or_default();
        }
        if certs.is_empty() {
            return Err(Error::Config(format!(
                "TLS CA file {} holds no PEM certificate",
                path.display()
            )));
        }
        Ok(certs)
    }

    /// A connector for this mode.
    ///
    /// # Errors
    /// Bad CA file, or the TLS library refuses the settings.
    pub(crate) fn connector(&self) -> Result<tokio_native_tls::TlsConnector> {
        let mut b = native_tls::TlsConnector::builder();
        b.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
        match self.mode {
            TlsMode::Disabled | TlsMode::VerifyIdentity => {}
            TlsMode::Required => {
                b.danger_accept_invalid_certs(true);
                b.danger_accept_invalid_hostnames(true);
            }
            TlsMode::VerifyCa => {
                b.danger_accept_invalid_hostnames(true);
            }
        }
        for cert in self.ca_certificates()? {
            b.add_root_certificate(cert);
        }
        let c = b
            .build()
            .map_err(|e| Error::Config(format!("setting up TLS: {e}")))?;
        Ok(c.into())
    }
}

/// A plain or TLS connection.
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_native_tls::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for m in ["disabled", "required", "verify-ca", "verify-identity"] {
            assert_eq!(m.parse::<TlsMode>().unwrap().as_str(), m);
        }
        let err = "on".parse::<TlsMode>().unwrap_err().to_string();
        assert!(err.contains("verify-identity"), "{err}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("dts-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let err = TlsOptions::new(TlsMode::VerifyCa)
            .with_ca(&path)
            .connector()
            .unwrap_err()
            .to_string();
        assert!(err.contains("empty.pem") && err.contains("no PEM"), "{err}");
        let missing = TlsOptions::new(TlsMode::VerifyCa)
            .with_ca(dir.join("missing.pem"))
            .connector()
            .unwrap_err()
            .to_string();
        assert!(missing.contains("missing.pem"), "{missing}");
    }
}
