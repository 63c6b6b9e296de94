//! Addresses of the servers `scripts/` starts. Tests that need a server call these and fail
//! (never skip) with a message naming the script when the server is not configured.

use std::path::PathBuf;

fn required(var: &str, script: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{var} is not set: this test needs the server started by `{script} start` \
             (run `eval \"$({script} start)\"` first, or use scripts/test.sh, which starts it)"
        ),
    }
}

/// `mysql://…` of the DTS user (only the grants DTS needs) on the local MariaDB.
///
/// # Panics
/// When `DTS_MARIADB_URL` is unset: the test must fail, naming `scripts/mariadb.sh`.
#[must_use]
pub fn mariadb_url() -> String {
    required("DTS_MARIADB_URL", "scripts/mariadb.sh")
}

/// `mysql://…` of the admin user on the local MariaDB (test setup).
///
/// # Panics
/// When `DTS_MARIADB_ADMIN_URL` is unset.
#[must_use]
pub fn mariadb_admin_url() -> String {
    required("DTS_MARIADB_ADMIN_URL", "scripts/mariadb.sh")
}

/// `mysql://…` of the DTS user on the deliberately misconfigured MariaDB (STATEMENT binlog,
/// MINIMAL row images) that `scripts/test.sh` starts for the precheck tests.
///
/// # Panics
/// When `DTS_MARIADB_STMT_URL` is unset.
#[must_use]
pub fn mariadb_stmt_url() -> String {
    required(
        "DTS_MARIADB_STMT_URL",
        "DTS_MARIADB_INSTANCE=stmt DTS_MARIADB_ARGS=\"--binlog-format=STATEMENT --binlog-row-image=MINIMAL\" scripts/mariadb.sh",
    )
}

/// `host:port` of the local Kafka-protocol broker.
///
/// # Panics
/// When `DTS_KAFKA_BOOTSTRAP` is unset.
#[must_use]
pub fn kafka_bootstrap() -> String {
    required("DTS_KAFKA_BOOTSTRAP", "scripts/kafka.sh")
}

/// A variable of the brokers that require SCRAM and/or TLS (`scripts/kafka-secure.sh`):
/// `DTS_KAFKA_SASL_BOOTSTRAP`, `DTS_KAFKA_SSL_BOOTSTRAP`, `DTS_KAFKA_SASL_SSL_BOOTSTRAP`,
/// `DTS_KAFKA_TLS_CA`, `DTS_KAFKA_TLS_OTHER_CA`, `DTS_KAFKA_SCRAM256_USER`/`_PASSWORD`,
/// `DTS_KAFKA_SCRAM512_USER`/`_PASSWORD`.
///
/// # Panics
/// When the variable is unset: the test must fail, naming the script.
#[must_use]
pub fn kafka_secure(var: &str) -> String {
    required(var, "scripts/kafka-secure.sh")
}

/// The binlog fixture corpus: `DTS_BINLOG_FIXTURES`, else `../shared/fixtures/binlogs` next to
/// the workspace, if it exists.
#[must_use]
pub fn binlog_fixtures_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("DTS_BINLOG_FIXTURES") {
        return Some(PathBuf::from(dir));
    }
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/binlogs");
    default.is_dir().then_some(default)
}
