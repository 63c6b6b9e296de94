//! [`Connection`]: handshake, authentication, text queries and the replication stream.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use dts_core::{MySqlGtidSet, Secret};
use tokio::io::BufWriter;
use tokio::net::TcpStream;

use super::auth;
use super::packet::Framed;
use super::tls::{Stream, TlsOptions};
use crate::binlog::Reader;
use crate::error::{Error, Result};

// Capability flags.
const LONG_PASSWORD: u32 = 0x1;
const LONG_FLAG: u32 = 0x4;
const CONNECT_WITH_DB: u32 = 0x8;
const PROTOCOL_41: u32 = 0x200;
const SSL: u32 = 0x800;
const TRANSACTIONS: u32 = 0x2000;
const SECURE_CONNECTION: u32 = 0x8000;
const MULTI_RESULTS: u32 = 0x2_0000;
const PLUGIN_AUTH: u32 = 0x8_0000;
const PLUGIN_AUTH_LENENC_DATA: u32 = 0x20_0000;

/// Where and as whom to connect.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User.
    pub user: String,
    /// Password (never logged).
    pub password: Secret,
    /// Default database, if any.
    pub database: Option<String>,
    /// Time allowed for TCP connect and the handshake.
    pub connect_timeout: Duration,
    /// TLS (disabled by default).
    pub tls: TlsOptions,
    /// `caching_sha2_password` full authentication without TLS: the server's RSA public key
    /// (PEM file) to encrypt the password with (MySQL's `--server-public-key-path`).
    pub server_public_key: Option<std::path::PathBuf>,
    /// Without TLS or `server_public_key`, ask the server for its public key (MySQL's
    /// `--get-server-public-key`, Connector/J's `allowPublicKeyRetrieval`). Off by default: a
    /// key fetched over plain TCP can be swapped by whoever sits on the path.
    pub allow_public_key_retrieval: bool,
}

impl ConnectOptions {
    /// Options for `user@host:port`, 10 s connect timeout.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        user: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        Self {
            host: host.into(),
            port,
            user: user.into(),
            password: password.into(),
            database: None,
            connect_timeout: Duration::from_secs(10),
            tls: TlsOptions::default(),
            server_public_key: None,
            allow_public_key_retrieval: false,
        }
    }

    /// Parses `mysql://user:password@host:port[/db]`.
    ///
    /// # Errors
    /// A URL of another shape (the message never includes the password).
    pub fn from_url(url: &str) -> Result<Self> {
        let bad = || Error::Config("expected mysql://user:password@host:port[/db]".into());
        let rest = url.strip_prefix("mysql://").ok_or_else(bad)?;
        let (cred, hostpart) = rest.rsplit_once('@').ok_or_else(bad)?;
        let (user, password) = cred.split_once(':').unwrap_or((cred, ""));
        let (hostport, db) = match hostpart.split_once('/') {
            Some((h, d)) => (h, (!d.is_empty()).then(|| d.to_owned())),
            None => (hostpart, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| bad())?),
            None => (hostport, 3306),
        };
        let mut o = Self::new(host, port, user, password);
        o.database = db;
        Ok(o)
    }
}

/// What the server said about itself in its greeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    /// Version string (`10.11.6-MariaDB-log`, `8.0.36`).
    pub version: String,
    /// This connection's id (for `KILL`).
    pub connection_id: u32,
    /// Capability flags.
    pub capabilities: u32,
}

impl ServerInfo {
    /// `true` for MariaDB (its 5.5.5- version prefix or the name in the version).
    #[must_use]
    pub fn is_mariadb(&self) -> bool {
        self.version.contains("MariaDB")
    }
}

/// The rows of a text query (`None` for SQL NULL).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Option<Bytes>>>,
    /// Affected rows, for statements without a result set.
    pub affected_rows: u64,
}

impl QueryResult {
    /// The value of `column` in the first row, as text.
    #[must_use]
    pub fn first(&self, column: &str) -> Option<String> {
        let i = self
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(column))?;
        let v = self.rows.first()?.get(i)?.as_ref()?;
        Some(String::from_utf8_lossy(v).into_owned())
    }
}

/// Where a binlog dump starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BinlogStart {
    /// File and offset.
    Position {
        /// File name.
        file: String,
        /// Offset (4 = the start of the file).
        offset: u64,
    },
    /// MySQL GTID set: everything not in it (`COM_BINLOG_DUMP_GTID`).
    MySqlGtid(MySqlGtidSet),
    /// MariaDB GTID position (`@slave_connect_state`).
    MariaDbGtid(String),
}

/// How to register as a replica.
#[derive(Clone, Debug)]
pub struct ReplicaOptions {
    /// Our server id (must differ from every server in the topology).
    pub server_id: u32,
    /// Where to start.
    pub start: BinlogStart,
    /// Ask for heartbeats this often when idle (0 = none).
    pub heartbeat: Duration,
    /// End the stream at the end of the binlog instead of waiting (`BINLOG_DUMP_NON_BLOCK`).
    pub non_blocking: bool,
}

/// One item of the replication stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamItem {
    /// A raw binlog event (header, body, checksum).
    Event(Bytes),
    /// The server reached the end of the binlog (non-blocking dumps only).
    End,
}

/// A connection to MySQL or MariaDB.
#[derive(Debug)]
pub struct Connection {
    /// Buffered: one read system call serves many small binlog events.
    framed: Framed<BufWriter<Stream>>,
    info: ServerInfo,
    tls: bool,
    user: String,
    read_timeout: Option<Duration>,
}

fn err_packet(p: &[u8], context: &str) -> Error {
    // | 0xff | 2 code | '#' 5 sqlstate (protocol 41) | message |
    let code = p.get(1..3).map_or(0, |c| u16::from_le_bytes([c[0], c[1]]));
    let (state, msg) = match p.get(3) {
        Some(b'#') => (
            p.get(4..9).unwrap_or_default(),
            p.get(9..).unwrap_or_default(),
        ),
        _ => (&b""[..], p.get(3..).unwrap_or_default()),
    };
    Error::Server {
        code,
        state: String::from_utf8_lossy(state).into_owned(),
        message: String::from_utf8_lossy(msg).into_owned(),
        context: context.to_owned(),
    }
}

fn protocol(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Protocol(format!("{what}: {e}"))
}

fn put_lenenc(buf: &mut BytesMut, n: u64) {
    match n {
        0..=250 => buf.put_u8(u8::try_from(n).unwrap_or(0)),
        251..=0xffff => {
            buf.put_u8(0xfc);
            buf.put_u16_le(u16::try_from(n).unwrap_or(0));
        }
        0x1_0000..=0xff_ffff => {
            buf.put_u8(0xfd);
            let b = n.to_le_bytes();
            buf.put_slice(b.get(..3).unwrap_or_default());
        }
        _ => {
            buf.put_u8(0xfe);
            buf.put_u64_le(n);
        }
    }
}

impl Connection {
    /// Connects and logs in.
    ///
    /// # Errors
    /// Unreachable host, timeout, authentication failure (naming the user), or an
    /// authentication method this client does not support.
    pub async fn connect(opts: &ConnectOptions) -> Result<Self> {
        let addr = format!("{}:{}", opts.host, opts.port);
        let fut = async {
            let tcp = TcpStream::connect(&addr)
                .await
                .map_err(|e| Error::io(format!("connecting to {addr}"), e))?;
            tcp.set_nodelay(true)
                .map_err(|e| Error::io(format!("connecting to {addr}"), e))?;
            Self::handshake(tcp, opts).await
        };
        tokio::time::timeout(opts.connect_timeout, fut)
            .await
            .map_err(|_| {
                Error::Timeout(format!(
                    "connecting to {addr} after {:?}",
                    opts.connect_timeout
                ))
            })?
    }

    async fn handshake(tcp: TcpStream, opts: &ConnectOptions) -> Result<Self> {
        // Writes are buffered; reads go straight into Framed's own buffer.
        let mut framed = Framed::new(BufWriter::with_capacity(1024, Stream::Plain(tcp)));
        let greeting = framed.read().await?;
        if greeting.first() == Some(&0xff) {
            return Err(err_packet(&greeting, "in the server greeting"));
        }
        let mut r = Reader::new(greeting, 0);
        let bad = |e| protocol("server greeting", e);
        let version_no = r.try_u8("protocol_version").map_err(bad)?;
        if version_no != 10 {
            return Err(Error::Protocol(format!(
                "server speaks protocol {version_no}, not 10"
            )));
        }
        let version =
            String::from_utf8_lossy(&r.try_cstr("server_version").map_err(bad)?).into_owned();
        let connection_id = r.try_u32("connection_id").map_err(bad)?;
        let mut scramble = r.try_slice(8, "auth_data_1").map_err(bad)?.to_vec();
        r.try_skip(1, "filler").map_err(bad)?;
        let caps_lo = r.try_u16("capabilities").map_err(bad)?;
        let mut caps = u32::from(caps_lo);
        let mut plugin = "mysql_native_password".to_owned();
        if !r.is_empty() {
            r.try_skip(1, "charset").map_err(bad)?;
            r.try_skip(2, "status").map_err(bad)?;
            caps |= u32::from(r.try_u16("capabilities_hi").map_err(bad)?) << 16;
            let data_len = r.try_u8("auth_data_len").map_err(bad)?;
            r.try_skip(10, "reserved").map_err(bad)?;
            if caps & SECURE_CONNECTION != 0 {
                let n = usize::from(data_len).saturating_sub(8).max(13);
                let part2 = r.try_slice(n, "auth_data_2").map_err(bad)?;
                // The last byte is a NUL terminator.
                scramble.extend_from_slice(part2.strip_suffix(&[0]).unwrap_or(part2));
            }
            if caps & PLUGIN_AUTH != 0 && !r.is_empty() {
                let rest = r.rest();
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                plugin = String::from_utf8_lossy(rest.get(..end).unwrap_or_default()).into_owned();
            }
        }
        if caps & PROTOCOL_41 == 0 {
            return Err(Error::Protocol("server does not speak protocol 4.1".into()));
        }
        let info = ServerInfo {
            version: version.trim_start_matches("5.5.5-").to_owned(),
            connection_id,
            capabilities: caps,
        };

        let mut client_caps = LONG_PASSWORD
            | LONG_FLAG
            | PROTOCOL_41
            | TRANSACTIONS
            | SECURE_CONNECTION
            | MULTI_RESULTS
            | PLUGIN_AUTH;
        if caps & PLUGIN_AUTH_LENENC_DATA != 0 {
            client_caps |= PLUGIN_AUTH_LENENC_DATA;
        }
        if opts.database.is_some() {
            client_caps |= CONNECT_WITH_DB;
        }
        let tls = opts.tls.enabled();
        if tls {
            if caps & SSL == 0 {
                return Err(Error::Tls(format!(
                    "tls = {:?} but the server at {}:{} does not offer TLS (have_ssl is off: start it \
                     with ssl_cert/ssl_key, or set tls = \"disabled\")",
                    opts.tls.mode.as_str(),
                    opts.host,
                    opts.port
                )));
            }
            client_caps |= SSL;
            framed = Self::upgrade(framed, opts, client_caps).await?;
        }
        let token = Self::scramble_for(&plugin, opts.password.expose().as_bytes(), &scramble)?;
        let mut resp = BytesMut::with_capacity(128);
        resp.put_u32_le(client_caps);
        resp.put_u32_le(1 << 24);
        resp.put_u8(45); // utf8mb4_general_ci: known to MySQL 5.5+ and MariaDB alike
        resp.put_slice(&[0u8; 23]);
        resp.put_slice(opts.user.as_bytes());
        resp.put_u8(0);
        if client_caps & PLUGIN_AUTH_LENENC_DATA != 0 {
            put_lenenc(&mut resp, token.len() as u64);
        } else {
            resp.put_u8(u8::try_from(token.len()).unwrap_or(0));
        }
        resp.put_slice(&token);
        if let Some(db) = &opts.database {
            resp.put_slice(db.as_bytes());
            resp.put_u8(0);
        }
        resp.put_slice(plugin.as_bytes());
        resp.put_u8(0);
        framed.write(&resp).await?;

        let mut conn = Self {
            framed,
            info,
            tls,
            user: opts.user.clone(),
            read_timeout: None,
        };
        conn.finish_auth(opts, plugin, scramble).await?;
        Ok(conn)
    }

    /// Sends the SSL request and continues the handshake over TLS.
    async fn upgrade(
        mut framed: Framed<BufWriter<Stream>>,
        opts: &ConnectOptions,
        client_caps: u32,
    ) -> Result<Framed<BufWriter<Stream>>> {
        let mut req = BytesMut::with_capacity(32);
        req.put_u32_le(client_caps);
        req.put_u32_le(1 << 24);
        req.put_u8(45);
        req.put_slice(&[0u8; 23]);
        framed.write(&req).await?;
        let seq = framed.seq();
        // The server sends nothing before the TLS handshake: nothing buffered is lost.
        let Stream::Plain(tcp) = framed.into_inner()?.into_inner() else {
            return Err(Error::Protocol("connection already upgraded to TLS".into()));
        };
        let connector = opts.tls.connector()?;
        let tls = connector.connect(&opts.host, tcp).await.map_err(|e| {
            Error::Tls(format!(
                "TLS handshake with {}:{} (tls = {:?}): {e}",
                opts.host,
                opts.port,
                opts.tls.mode.as_str()
            ))
        })?;
        Ok(Framed::with_seq(
            BufWriter::with_capacity(1024, Stream::Tls(Box::new(tls))),
            seq,
        ))
    }

    fn scramble_for(plugin: &str, password: &[u8], scramble: &[u8]) -> Result<Vec<u8>> {
        match plugin {
            "mysql_native_password" => Ok(auth::native_password(password, scramble)),
            "caching_sha2_password" => Ok(auth::caching_sha2(password, scramble)),
            other => Err(Error::Config(format!(
                "authentication plugin {other} is not supported (use mysql_native_password or caching_sha2_password)"
            ))),
        }
    }

    async fn finish_auth(
        &mut self,
        opts: &ConnectOptions,
        mut plugin: String,
        mut scramble: Vec<u8>,
    ) -> Result<()> {
        let auth_err = |message: String| Error::Auth {
            user: opts.user.clone(),
            message,
        };
        let mut awaiting_key = false;
        loop {
            let p = self.framed.read().await?;
            if awaiting_key {
                // | 0x01 | PEM public key |
                let Some((0x01, pem)) = p.split_first() else {
                    return Err(Error::Protocol(
                        "expected the server's public key after requesting it".into(),
                    ));
                };
                awaiting_key = false;
                let token =
                    auth::rsa_encrypt_password(opts.password.expose().as_bytes(), &scramble, pem)
                        .map_err(auth_err)?;
                self.framed.write(&token).await?;
                continue;
            }
            match p.first() {
                Some(0x00) => return Ok(()),
                Some(0xff) => {
                    return Err(match err_packet(&p, "during login") {
                        Error::Server {
                            code: 1044 | 1045 | 1698,
                            message,
                            ..
                        } => auth_err(message),
                        other => other,
                    });
                }
                Some(0xfe) => {
                    // Auth switch: plugin name, NUL, new scramble (NUL-terminated).
                    let body = p.get(1..).unwrap_or_default();
                    let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
                    plugin =
                        String::from_utf8_lossy(body.get(..end).unwrap_or_default()).into_owned();
                    let data = body.get(end.saturating_add(1)..).unwrap_or_default();
                    scramble = data.strip_suffix(&[0]).unwrap_or(data).to_vec();
                    let token =
                        Self::scramble_for(&plugin, opts.password.expose().as_bytes(), &scramble)?;
                    self.framed.write(&token).await?;
                }
                Some(0x01) if plugin == "caching_sha2_password" => match p.get(1) {
                    Some(3) => {} // fast authentication succeeded: OK follows
                    Some(4) if self.tls => {
                        // Full authentication: the password itself, over the encrypted link.
                        let mut pw = opts.password.expose().as_bytes().to_vec();
                        pw.push(0);
                        self.framed.write(&pw).await?;
                    }
                    Some(4) if opts.server_public_key.is_some() => {
                        let path = opts
                            .server_public_key
                            .as_deref()
                            .unwrap_or_else(|| std::path::Path::new(""));
                        let pem = std::fs::read(path).map_err(|e| {
                            Error::io(
                                format!("reading the server public key {}", path.display()),
                                e,
                            )
                        })?;
                        let token = auth::rsa_encrypt_password(
                            opts.password.expose().as_bytes(),
                            &scramble,
                            &pem,
                        )
                        .map_err(auth_err)?;
                        self.framed.write(&token).await?;
                    }
                    Some(4) if opts.allow_public_key_retrieval => {
                        // Ask for the key: | 0x02 |.
                        self.framed.write(&[0x02]).await?;
                        awaiting_key = true;
                    }
                    Some(4) => {
                        return Err(auth_err(
                            "caching_sha2_password needs full authentication (the password is not cached on the \
                             server yet): use TLS (tls = \"required\" or a verify mode), or give the server's RSA \
                             public key (server_public_key), or allow fetching it (allow_public_key_retrieval), or \
                             log in once with the mysql client, or use mysql_native_password"
                                .into(),
                        ));
                    }
                    _ => {
                        return Err(Error::Protocol(
                            "unexpected caching_sha2_password message".into(),
                        ));
                    }
                },
                _ => {
                    return Err(Error::Protocol(format!(
                        "unexpected packet 0x{:02x} during login",
                        p.first().copied().unwrap_or(0)
                    )));
                }
            }
        }
    }

    /// The server's greeting.
    #[must_use]
    pub fn server(&self) -> &ServerInfo {
        &self.info
    }

    /// The logged-in user.
    #[must_use]
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The binlog file and position being written: `SHOW MASTER STATUS`, or on MySQL 8.4+
    /// (which removed it) `SHOW BINARY LOG STATUS`. Columns `File` and `Position`, no row when
    /// binary logging is off.
    ///
    /// # Errors
    /// As [`query`](Self::query) (e.g. the user lacks REPLICATION CLIENT / BINLOG MONITOR).
    pub async fn binlog_status(&mut self) -> Result<QueryResult> {
        match self.query("SHOW MASTER STATUS").await {
            // 1064: syntax error — the statement no longer exists (MySQL 8.4+).
            Err(Error::Server { code: 1064, .. }) => self.query("SHOW BINARY LOG STATUS").await,
            other => other,
        }
    }

    /// Runs a text query and reads its whole result.
    ///
    /// # Errors
    /// Server errors (with the SQL, truncated, as context), network errors.
    pub async fn query(&mut self, sql: &str) -> Result<QueryResult> {
        self.framed.reset_seq();
        let mut cmd = Vec::with_capacity(sql.len() + 1);
        cmd.push(0x03);
        cmd.extend_from_slice(sql.as_bytes());
        self.framed.write(&cmd).await?;
        let context = || format!("running {sql:.120}");
        let first = self.framed.read().await?;
        match first.first() {
            Some(0x00) => {
                let mut r = Reader::new(first.slice(1..), 1);
                let affected = r
                    .try_lenenc("affected_rows")
                    .map_err(|e| protocol("OK packet", e))?;
                return Ok(QueryResult {
                    affected_rows: affected,
                    ..QueryResult::default()
                });
            }
            Some(0xff) => return Err(err_packet(&first, &context())),
            _ => {}
        }
        let mut r = Reader::new(first, 0);
        let n = r
            .try_lenenc("column_count")
            .map_err(|e| protocol("result set", e))?;
        let n = usize::try_from(n).map_err(|_| Error::Protocol("column count too large".into()))?;
        let mut columns = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            let def = self.framed.read().await?;
            let mut r = Reader::new(def, 0);
            let mut name = Bytes::new();
            for field in ["catalog", "schema", "table", "org_table", "name"] {
                name = r
                    .try_lenenc_bytes(field)
                    .map_err(|e| protocol("column definition", e))?;
            }
            columns.push(String::from_utf8_lossy(&name).into_owned());
        }
        let eof = self.framed.read().await?;
        if eof.first() != Some(&0xfe) {
            return Err(Error::Protocol(
                "missing EOF after column definitions".into(),
            ));
        }
        let mut rows = Vec::new();
        loop {
            let p = self.framed.read().await?;
            match p.first() {
                Some(0xfe) if p.len() < 9 => break,
                Some(0xff) => return Err(err_packet(&p, &context())),
                _ => {}
            }
            let mut r = Reader::new(p, 0);
            let mut row = Vec::with_capacity(n);
            for _ in 0..n {
                let mut peek = r.clone();
                if peek.try_u8("null").map_err(|e| protocol("row", e))? == 0xfb {
                    r.try_skip(1, "null").map_err(|e| protocol("row", e))?;
                    row.push(None);
                } else {
                    row.push(Some(
                        r.try_lenenc_bytes("value")
                            .map_err(|e| protocol("row", e))?,
                    ));
                }
            }
            rows.push(row);
        }
        Ok(QueryResult {
            columns,
            rows,
            affected_rows: 0,
        })
    }

    /// Runs statements that return no rows.
    ///
    /// # Errors
    /// As [`query`](Self::query).
    pub async fn execute(&mut self, sql: &str) -> Result<()> {
        self.query(sql).await.map(|_| ())
    }

    /// Registers as a replica and starts the binlog dump; read events with
    /// [`next_event`](Self::next_event).
    ///
    /// # Errors
    /// The server refused a setting, the registration or the dump (e.g. 1236 when the start
    /// file was purged).
    pub async fn start_replication(&mut self, replica: &ReplicaOptions) -> Result<()> {
        // Tell the server we understand checksums (else it refuses to send checksummed events).
        // MySQL 8.0.26+ also reads the `source_` spelling; setting both is harmless elsewhere.
        self.execute(
            "SET @master_binlog_checksum = @@global.binlog_checksum, \
             @source_binlog_checksum = @@global.binlog_checksum",
        )
        .await?;
        if self.info.is_mariadb() {
            // 4 = MARIA_SLAVE_CAPABILITY_MINE: send MariaDB events (GTID, annotate, compressed).
            self.execute("SET @mariadb_slave_capability = 4").await?;
        }
        if !replica.heartbeat.is_zero() {
            let ns = replica.heartbeat.as_nanos();
            self.execute(&format!(
                "SET @master_heartbeat_period = {ns}, @source_heartbeat_period = {ns}"
            ))
            .await?;
            // No packet for three heartbeat periods: the connection is dead.
            self.read_timeout = Some(replica.heartbeat.saturating_mul(3));
        }
        if let BinlogStart::MariaDbGtid(pos) = &replica.start {
            if !pos
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == ',')
            {
                return Err(Error::Config(format!(
                    "MariaDB GTID position {pos:?} is malformed"
                )));
            }
            self.execute(&format!("SET @slave_connect_state = '{pos}'"))
                .await?;
            self.execute("SET @slave_gtid_strict_mode = 1").await?;
            self.execute("SET @slave_gtid_ignore_duplicates = 0")
                .await?;
        }

        // COM_REGISTER_SLAVE
        self.framed.reset_seq();
        let mut reg = BytesMut::new();
        reg.put_u8(0x15);
        reg.put_u32_le(replica.server_id);
        reg.put_u8(0); // host
        reg.put_u8(0); // user
        reg.put_u8(0); // password
        reg.put_u16_le(0);
        reg.put_u32_le(0);
        reg.put_u32_le(0);
        self.framed.write(&reg).await?;
        let ok = self.framed.read().await?;
        if ok.first() == Some(&0xff) {
            return Err(err_packet(&ok, "registering as a replica"));
        }

        self.framed.reset_seq();
        let flags: u16 = if replica.non_blocking { 1 } else { 0 };
        let mut dump = BytesMut::new();
        match &replica.start {
            BinlogStart::Position { file, offset } => {
                let pos = u32::try_from(*offset).map_err(|_| {
                    Error::Config(format!(
                        "binlog offset {offset} needs COM_BINLOG_DUMP_GTID (above 4 GiB)"
                    ))
                })?;
                dump.put_u8(0x12);
                dump.put_u32_le(pos);
                dump.put_u16_le(flags);
                dump.put_u32_le(replica.server_id);
                dump.put_slice(file.as_bytes());
            }
            BinlogStart::MariaDbGtid(_) => {
                dump.put_u8(0x12);
                dump.put_u32_le(4);
                dump.put_u16_le(flags);
                dump.put_u32_le(replica.server_id);
            }
            BinlogStart::MySqlGtid(set) => {
                dump.put_u8(0x1e);
                dump.put_u16_le(flags | 0x04); // BINLOG_THROUGH_GTID
                dump.put_u32_le(replica.server_id);
                dump.put_u32_le(0); // file name length
                dump.put_u64_le(4);
                let encoded = encode_gtid_set(set)?;
                dump.put_u32_le(
                    u32::try_from(encoded.len())
                        .map_err(|_| Error::Config("GTID set too large".into()))?,
                );
                dump.put_slice(&encoded);
            }
        }
        self.framed.write(&dump).await?;
        Ok(())
    }

    /// The next event of the replication stream.
    ///
    /// # Errors
    /// Server errors (1236: the binlog to read is missing or purged), a connection silent for
    /// three heartbeat periods, network errors.
    ///
    /// # Cancel safety
    /// Not cancel safe: a partially read event is lost (reconnect from the last checkpoint).
    pub async fn next_event(&mut self) -> Result<StreamItem> {
        let p = match self.read_timeout {
            Some(t) => tokio::time::timeout(t, self.framed.read())
                .await
                .map_err(|_| {
                    Error::Timeout(format!("waiting for binlog events or heartbeats for {t:?}"))
                })??,
            None => self.framed.read().await?,
        };
        match p.first() {
            Some(0x00) => Ok(StreamItem::Event(p.slice(1..))),
            Some(0xfe) if p.len() < 9 => Ok(StreamItem::End),
            Some(0xff) => Err(err_packet(&p, "reading the binlog")),
            _ => Err(Error::Protocol(
                "unexpected packet in the binlog stream".into(),
            )),
        }
    }

    /// Closes the connection (`COM_QUIT`).
    ///
    /// # Errors
    /// Network errors while sending.
    pub async fn close(mut self) -> Result<()> {
        self.framed.reset_seq();
        self.framed.write(&[0x01]).await?;
        // The server closes its side on COM_QUIT; a failed shutdown of ours changes nothing.
        if tokio::io::AsyncWriteExt::shutdown(self.framed.get_mut())
            .await
            .is_err()
        {
            tracing::debug!("socket shutdown after COM_QUIT failed");
        }
        // Dropping the connection closes the socket; unread bytes no longer matter.
        drop(self.framed);
        Ok(())
    }
}

/// The binary GTID set of `COM_BINLOG_DUMP_GTID`: | 8 n_sids | per sid: 16 uuid | 8 n_intervals |
/// intervals (8 start, 8 end exclusive) |. Tagged sids are not expressible in this format.
fn encode_gtid_set(set: &MySqlGtidSet) -> Result<Vec<u8>> {
    let text = set.to_string();
    let mut sids: Vec<(String, Vec<(u64, u64)>)> = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let mut it = part.split(':');
        let uuid = it.next().unwrap_or_default().to_owned();
        let mut intervals = Vec::new();
        for iv in it {
            if iv.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return Err(Error::Config(
                    "tagged GTIDs cannot be sent with COM_BINLOG_DUMP_GTID".into(),
                ));
            }
            let (a, b) = iv.split_once('-').unwrap_or((iv, iv));
            let a: u64 = a
                .parse()
                .map_err(|_| Error::Config("bad GTID interval".into()))?;
            let b: u64 = b
                .parse()
                .map_err(|_| Error::Config("bad GTID interval".into()))?;
            intervals.push((a, b.saturating_add(1)));
        }
        sids.push((uuid, intervals));
    }
    let mut out = Vec::new();
    out.extend_from_slice(&(sids.len() as u64).to_le_bytes());
    for (uuid, intervals) in sids {
        let hex: String = uuid.chars().filter(|c| *c != '-').collect();
        for i in 0..16 {
            let byte = hex
                .get(i * 2..i * 2 + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::Config("bad GTID uuid".into()))?;
            out.push(byte);
        }
        out.extend_from_slice(&(intervals.len() as u64).to_le_bytes());
        for (a, b) in intervals {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&b.to_le_bytes());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_without_leaking_the_password() {
        let o = ConnectOptions::from_url("mysql://dts:s3cret@127.0.0.1:3307/shop").unwrap();
        assert_eq!(
            (
                o.host.as_str(),
                o.port,
                o.user.as_str(),
                o.database.as_deref()
            ),
            ("127.0.0.1", 3307, "dts", Some("shop"))
        );
        assert_eq!(o.password.expose(), "s3cret");
        assert!(!format!("{o:?}").contains("s3cret"));
        assert!(ConnectOptions::from_url("postgres://x").is_err());
    }

    #[test]
    fn gtid_set_encoding() {
        let set: MySqlGtidSet = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7"
            .parse()
            .unwrap();
        let enc = encode_gtid_set(&set).unwrap();
        assert_eq!(enc.len(), 8 + 16 + 8 + 2 * 16);
        assert_eq!(&enc[..8], &1u64.to_le_bytes());
        assert_eq!(&enc[8..10], &[0x3e, 0x11]);
        assert_eq!(&enc[24..32], &2u64.to_le_bytes());
        assert_eq!(
            &enc[32..48],
            &[1, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn error_packets() {
        let e = err_packet(
            b"\xff\xe4\x04#HY000Could not find first log file name",
            "reading the binlog",
        );
        assert_eq!(e.server_code(), Some(1252));
        assert!(e.to_string().contains("Could not find first log"), "{e}");
    }
}
