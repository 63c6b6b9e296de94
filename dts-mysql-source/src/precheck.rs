//! Prechecks: everything the source needs from the server, checked before anything is written.
//!
//! Each [`CheckItem`] has the DTS item id (`CHECK_CONN_SRC`, `CHECK_BINLOG_MODE`, …), a
//! [`CheckStatus`], a message saying what was found and, when it did not pass, a hint saying
//! what to do. Checks that cannot run because an earlier one failed (no connection, no login)
//! are reported as failed with that reason, so the report always lists every item.

use std::fmt;

use dts_core::TableId;

use crate::catalog::{plain_session, quote_str, quote_table};
use crate::error::Error;
use crate::protocol::{ConnectOptions, Connection};

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckStatus {
    /// Fine.
    Pass,
    /// Works, with a caveat (e.g. a table without a primary key).
    Warn,
    /// Must be fixed before the migration can start.
    Fail,
}

impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "fail",
        })
    }
}

/// One precheck item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckItem {
    /// DTS item id.
    pub id: &'static str,
    /// Outcome.
    pub status: CheckStatus,
    /// What was found.
    pub message: String,
    /// What to do when it did not pass.
    pub hint: Option<String>,
}

impl fmt::Display for CheckItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.status, self.id, self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (fix: {h})")?;
        }
        Ok(())
    }
}

/// All items of a precheck run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrecheckReport {
    /// The items, in check order.
    pub items: Vec<CheckItem>,
}

impl PrecheckReport {
    /// `true` when no item failed (warnings allowed).
    #[must_use]
    pub fn passed(&self) -> bool {
        self.items.iter().all(|i| i.status != CheckStatus::Fail)
    }

    /// The item with `id`.
    #[must_use]
    pub fn item(&self, id: &str) -> Option<&CheckItem> {
        self.items.iter().find(|i| i.id == id)
    }

    fn push(
        &mut self,
        id: &'static str,
        status: CheckStatus,
        message: impl Into<String>,
        hint: Option<&str>,
    ) {
        self.items.push(CheckItem {
            id,
            status,
            message: message.into(),
            hint: hint.map(str::to_owned),
        });
    }
}

/// What the migration will do, so that only the relevant checks are strict.
#[derive(Clone, Debug, Default)]
pub struct PrecheckOptions {
    /// The selected tables.
    pub tables: Vec<TableId>,
    /// Incremental migration (binlog) is part of the task.
    pub incremental: bool,
    /// The binlog file the task will start (or resume) from, if known.
    pub start_file: Option<String>,
    /// The server id the source will register with.
    pub server_id: u32,
}

const LATER_ITEMS: [&str; 13] = [
    "CHECK_SRC",
    "CHECK_BINLOG_ON",
    "CHECK_BINLOG_MODE",
    "CHECK_BINLOG_ROW_IMAGE",
    "CHECK_SERVER_ID",
    "CHECK_BINLOG_EXIST",
    "CHECK_PRIV_SELECT",
    "CHECK_PRIV_REPLICATION_CLIENT",
    "CHECK_PRIV_REPLICATION_SLAVE",
    "CHECK_PRIV_SHOW_VIEW",
    "CHECK_TABLE_EXIST",
    "CHECK_TABLE_PK",
    "CHECK_ENGINE",
];

/// Runs every source precheck.
#[must_use]
pub async fn run(conn_opts: &ConnectOptions, opts: &PrecheckOptions) -> PrecheckReport {
    let mut report = PrecheckReport::default();
    let addr = format!("{}:{}", conn_opts.host, conn_opts.port);
    let mut conn = match Connection::connect(conn_opts).await {
        Ok(c) => {
            report.push(
                "CHECK_CONN_SRC",
                CheckStatus::Pass,
                format!("connected to {addr}"),
                None,
            );
            let tls = if conn_opts.tls.enabled() {
                format!(" over TLS (tls = {:?})", conn_opts.tls.mode.as_str())
            } else {
                " without TLS".to_owned()
            };
            report.push(
                "CHECK_AUTH_SRC",
                CheckStatus::Pass,
                format!("logged in as {:?}{tls}", conn_opts.user),
                None,
            );
            c
        }
        Err(e) => {
            // Reached the server but not logged in: the hint says what to check.
            let login_failure = match &e {
                Error::Tls(_) => Some((
                    "TLS failed",
                    "check tls and tls_ca: verify-ca needs a certificate that chains to tls_ca, verify-identity one that also names the host connected to; the server needs ssl_cert/ssl_key",
                )),
                Error::Auth { .. } => Some((
                    "login failed",
                    "check the user name and password (password_env), and that the user may connect from this host",
                )),
                _ => None,
            };
            let reason = if let Some((reason, hint)) = login_failure {
                report.push(
                    "CHECK_CONN_SRC",
                    CheckStatus::Pass,
                    format!("reached {addr}"),
                    None,
                );
                report.push(
                    "CHECK_AUTH_SRC",
                    CheckStatus::Fail,
                    e.to_string(),
                    Some(hint),
                );
                reason
            } else {
                report.push(
                    "CHECK_CONN_SRC",
                    CheckStatus::Fail,
                    e.to_string(),
                    Some("check host and port, that the server runs, and that no firewall blocks the port"),
                );
                report.push(
                    "CHECK_AUTH_SRC",
                    CheckStatus::Fail,
                    "not run: no connection",
                    None,
                );
                "no connection"
            };
            for id in LATER_ITEMS {
                report.push(id, CheckStatus::Fail, format!("not run: {reason}"), None);
            }
            return report;
        }
    };
    if let Err(e) = plain_session(&mut conn).await {
        for id in LATER_ITEMS {
            report.push(
                id,
                CheckStatus::Fail,
                format!("not run: setting the session's sql_mode failed: {e}"),
                None,
            );
        }
        return report;
    }
    check_server(&mut conn, opts, &mut report).await;
    check_privileges(&mut conn, opts, &mut report).await;
    check_tables(&mut conn, opts, &mut report).await;
    if conn.close().await.is_err() {
        tracing::debug!("closing the precheck connection failed");
    }
    report
}

async fn variable(conn: &mut Connection, name: &str) -> Result<String, Error> {
    let r = conn.query(&format!("SELECT @@GLOBAL.{name} AS v")).await?;
    Ok(r.first("v").unwrap_or_default())
}

async fn check_server(conn: &mut Connection, opts: &PrecheckOptions, report: &mut PrecheckReport) {
    use CheckStatus::{Fail, Pass, Warn};
    let info = conn.server().clone();
    let (major, minor, _) =
        crate::binlog::events::format_description::version_triple(&info.version);
    let supported = if info.is_mariadb() {
        match major {
            10 => Some(Pass),
            11.. => Some(Warn),
            _ => None,
        }
    } else {
        match (major, minor) {
            (5, 6..) | (8, _) => Some(Pass),
            (9, _) => Some(Warn),
            _ => None,
        }
    };
    match supported {
        Some(s) => report.push(
            "CHECK_SRC",
            s,
            format!("server version {}", info.version),
            (s == Warn).then_some("newer than the tested range (MySQL 5.6–8.x, MariaDB 10.x)"),
        ),
        None => report.push(
            "CHECK_SRC",
            Fail,
            format!("server version {} is not supported", info.version),
            Some("use MySQL 5.6–8.x or MariaDB 10.x"),
        ),
    }

    let strict = |ok: bool| {
        if ok {
            Pass
        } else if opts.incremental {
            Fail
        } else {
            Warn
        }
    };
    match variable(conn, "log_bin").await {
        Ok(v) => {
            let on = v == "1" || v.eq_ignore_ascii_case("ON");
            report.push(
                "CHECK_BINLOG_ON",
                strict(on),
                format!("log_bin = {v}"),
                (!on).then_some(
                    "start the server with --log-bin (needed for incremental migration)",
                ),
            );
        }
        Err(e) => report.push(
            "CHECK_BINLOG_ON",
            Fail,
            format!("cannot read log_bin: {e}"),
            None,
        ),
    }
    match variable(conn, "binlog_format").await {
        Ok(v) => {
            let ok = v.eq_ignore_ascii_case("ROW");
            report.push("CHECK_BINLOG_MODE", strict(ok), format!("binlog_format = {v}"), (!ok).then_some("SET GLOBAL binlog_format = 'ROW' (and in the server config), then reconnect the applications"));
        }
        Err(e) => report.push(
            "CHECK_BINLOG_MODE",
            Fail,
            format!("cannot read binlog_format: {e}"),
            None,
        ),
    }
    match variable(conn, "binlog_row_image").await {
        Ok(v) => {
            let ok = v.eq_ignore_ascii_case("FULL");
            report.push(
                "CHECK_BINLOG_ROW_IMAGE",
                strict(ok),
                format!("binlog_row_image = {v}"),
                (!ok).then_some("SET GLOBAL binlog_row_image = 'FULL' (and in the server config)"),
            );
        }
        Err(e) => report.push(
            "CHECK_BINLOG_ROW_IMAGE",
            Fail,
            format!("cannot read binlog_row_image: {e}"),
            None,
        ),
    }
    match variable(conn, "server_id").await {
        Ok(v) => {
            let id: u64 = v.parse().unwrap_or(0);
            if id == 0 {
                report.push(
                    "CHECK_SERVER_ID",
                    strict(false),
                    "server_id = 0",
                    Some("set server_id to a non-zero value unique in the topology"),
                );
            } else if id == u64::from(opts.server_id) {
                report.push(
                    "CHECK_SERVER_ID",
                    Fail,
                    format!("the source's server_id {id} equals the task's"),
                    Some("choose another [source] server_id for the task"),
                );
            } else {
                report.push(
                    "CHECK_SERVER_ID",
                    Pass,
                    format!("server_id = {id}, task registers as {}", opts.server_id),
                    None,
                );
            }
        }
        Err(e) => report.push(
            "CHECK_SERVER_ID",
            Fail,
            format!("cannot read server_id: {e}"),
            None,
        ),
    }
    match (&opts.start_file, conn.query("SHOW BINARY LOGS").await) {
        (_, Err(e)) => report.push(
            "CHECK_BINLOG_EXIST",
            strict(false),
            format!("cannot list binary logs: {e}"),
            Some("grant REPLICATION CLIENT (BINLOG MONITOR on MariaDB 10.5+)"),
        ),
        (None, Ok(r)) => report.push(
            "CHECK_BINLOG_EXIST",
            Pass,
            format!("{} binary log(s) on the server", r.rows.len()),
            None,
        ),
        (Some(file), Ok(r)) => {
            let names: Vec<String> = r
                .rows
                .iter()
                .filter_map(|row| {
                    row.first()?
                        .as_ref()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                })
                .collect();
            if names.iter().any(|n| n == file) {
                report.push(
                    "CHECK_BINLOG_EXIST",
                    Pass,
                    format!("{file} is on the server"),
                    None,
                );
            } else {
                report.push(
                    "CHECK_BINLOG_EXIST",
                    Fail,
                    format!("{file} is no longer on the server (oldest: {})", names.first().map_or("none", String::as_str)),
                    Some("the binlog to resume from was purged: restart the task with a new full migration, and keep binlogs longer (binlog_expire_logs_seconds / expire_logs_days)"),
                );
            }
        }
    }
}

/// The privileges in `SHOW GRANTS` lines that apply to `*.*`, upper-cased. Only the privilege
/// list before ` ON ` is read (the rest of a line can hold a password hash; it is never kept).
fn global_privileges(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines {
        let upper = line.to_ascii_uppercase();
        let Some(rest) = upper.strip_prefix("GRANT ") else {
            continue;
        };
        let Some((privs, target)) = rest.split_once(" ON ") else {
            continue;
        };
        if !target.trim_start().starts_with("*.*") {
            continue;
        }
        out.extend(privs.split(',').map(|p| p.trim().to_owned()));
    }
    out
}

async fn check_privileges(
    conn: &mut Connection,
    opts: &PrecheckOptions,
    report: &mut PrecheckReport,
) {
    use CheckStatus::{Fail, Pass, Warn};
    let grants: Vec<String> = match conn.query("SHOW GRANTS FOR CURRENT_USER()").await {
        Ok(r) => r
            .rows
            .iter()
            .filter_map(|row| {
                row.first()?
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
            })
            .collect(),
        Err(e) => {
            for id in [
                "CHECK_PRIV_SELECT",
                "CHECK_PRIV_REPLICATION_CLIENT",
                "CHECK_PRIV_REPLICATION_SLAVE",
                "CHECK_PRIV_SHOW_VIEW",
            ] {
                report.push(
                    id,
                    Fail,
                    format!("cannot read the user's grants: {e}"),
                    None,
                );
            }
            return;
        }
    };
    let global = global_privileges(&grants);
    let has = |p: &str| {
        global
            .iter()
            .any(|g| g == p || g == "ALL PRIVILEGES" || g == "ALL")
    };
    let strict = |ok: bool| {
        if ok {
            Pass
        } else if opts.incremental {
            Fail
        } else {
            Warn
        }
    };

    // SELECT: tried on every selected table (grants may be per database or per table).
    let mut denied = Vec::new();
    for t in &opts.tables {
        let sql = format!("SELECT 1 FROM {} LIMIT 0", quote_table(t));
        if let Err(e) = conn.query(&sql).await
            && matches!(e.server_code(), Some(1142 | 1143 | 1044))
        {
            denied.push(t.to_string());
        }
    }
    if denied.is_empty() {
        report.push(
            "CHECK_PRIV_SELECT",
            Pass,
            format!(
                "SELECT allowed on the {} selected table(s)",
                opts.tables.len()
            ),
            None,
        );
    } else {
        report.push(
            "CHECK_PRIV_SELECT",
            Fail,
            format!("SELECT denied on {}", denied.join(", ")),
            Some("GRANT SELECT ON the selected databases or tables TO the task's user"),
        );
    }
    // REPLICATION CLIENT (BINLOG MONITOR on MariaDB 10.5+): tried directly.
    match conn.binlog_status().await {
        Ok(_) => report.push(
            "CHECK_PRIV_REPLICATION_CLIENT",
            Pass,
            "SHOW MASTER STATUS allowed",
            None,
        ),
        Err(e) => report.push(
            "CHECK_PRIV_REPLICATION_CLIENT",
            strict(false),
            format!("SHOW MASTER STATUS refused: {e}"),
            Some("GRANT REPLICATION CLIENT ON *.* (BINLOG MONITOR on MariaDB 10.5+)"),
        ),
    }
    let slave = has("REPLICATION SLAVE") || has("SUPER");
    report.push(
        "CHECK_PRIV_REPLICATION_SLAVE",
        strict(slave),
        if slave {
            "REPLICATION SLAVE granted".to_owned()
        } else {
            "REPLICATION SLAVE not granted on *.*".to_owned()
        },
        (!slave).then_some(
            "GRANT REPLICATION SLAVE ON *.* TO the task's user (needed to stream the binlog)",
        ),
    );
    let show_view = has("SHOW VIEW")
        || grants
            .iter()
            .any(|g| g.to_ascii_uppercase().contains("SHOW VIEW"));
    report.push(
        "CHECK_PRIV_SHOW_VIEW",
        if show_view { Pass } else { Warn },
        if show_view {
            "SHOW VIEW granted".to_owned()
        } else {
            "SHOW VIEW not granted".to_owned()
        },
        (!show_view).then_some("GRANT SHOW VIEW ON the selected databases TO the task's user"),
    );
}

async fn check_tables(conn: &mut Connection, opts: &PrecheckOptions, report: &mut PrecheckReport) {
    use CheckStatus::{Fail, Pass, Warn};
    let mut missing = Vec::new();
    let mut keyless = Vec::new();
    let mut bad_engine = Vec::new();
    for t in &opts.tables {
        let sql = format!(
            "SELECT t.TABLE_TYPE AS type, t.ENGINE AS engine, \
             (SELECT COUNT(*) FROM information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = t.TABLE_SCHEMA \
              AND s.TABLE_NAME = t.TABLE_NAME AND s.NON_UNIQUE = 0) AS unique_parts \
             FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = {} AND t.TABLE_NAME = {}",
            quote_str(t.db()),
            quote_str(t.table())
        );
        match conn.query(&sql).await {
            Ok(r) if r.rows.is_empty() => missing.push(t.to_string()),
            Ok(r) => {
                if r.first("type").as_deref() != Some("BASE TABLE") {
                    missing.push(format!(
                        "{t} (a {}, not a table)",
                        r.first("type").unwrap_or_default()
                    ));
                    continue;
                }
                if r.first("unique_parts").is_none_or(|n| n == "0") {
                    keyless.push(t.to_string());
                }
                let engine = r.first("engine").unwrap_or_default().to_ascii_uppercase();
                if matches!(engine.as_str(), "FEDERATED" | "MRG_MYISAM" | "MERGE") {
                    bad_engine.push(format!("{t} ({engine})"));
                }
            }
            Err(e) => missing.push(format!("{t} (cannot inspect: {e})")),
        }
    }
    if missing.is_empty() {
        report.push(
            "CHECK_TABLE_EXIST",
            Pass,
            format!("all {} selected table(s) exist", opts.tables.len()),
            None,
        );
    } else {
        report.push(
            "CHECK_TABLE_EXIST",
            Fail,
            format!("not found: {}", missing.join(", ")),
            Some("fix the table selection (only base tables can be selected)"),
        );
    }
    if keyless.is_empty() {
        report.push(
            "CHECK_TABLE_PK",
            Pass,
            "every selected table has a primary or unique key",
            None,
        );
    } else {
        report.push(
            "CHECK_TABLE_PK",
            Warn,
            format!("no primary or unique key: {}", keyless.join(", ")),
            Some("add a primary key: keyless tables are copied in one ordered pass and their rows all go to partition 0"),
        );
    }
    if bad_engine.is_empty() {
        report.push(
            "CHECK_ENGINE",
            Pass,
            "no FEDERATED or MRG_MYISAM table selected",
            None,
        );
    } else {
        report.push(
            "CHECK_ENGINE",
            if opts.incremental { Fail } else { Warn },
            format!(
                "engines whose changes are not in this server's binlog: {}",
                bad_engine.join(", ")
            ),
            Some("deselect these tables, or migrate their underlying tables instead"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_parsing_reads_only_the_privilege_list() {
        let lines = vec![
            "GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR, SHOW VIEW ON *.* TO `dts`@`%` IDENTIFIED BY PASSWORD '*ABC'".to_owned(),
            "GRANT INSERT ON `shop`.* TO `dts`@`%`".to_owned(),
        ];
        let g = global_privileges(&lines);
        assert_eq!(
            g,
            ["SELECT", "REPLICATION SLAVE", "BINLOG MONITOR", "SHOW VIEW"]
        );
        assert!(!g.iter().any(|p| p.contains("ABC")));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_table(&TableId::new("a`b", "c")), "`a``b`.`c`");
        assert_eq!(quote_str("it's\\"), "'it''s\\\\'");
    }
}
