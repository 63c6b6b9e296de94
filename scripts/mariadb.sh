#!/usr/bin/env bash
# Private, throw-away MariaDB server for the dts test suite.
#
# Usage: scripts/mariadb.sh start|stop|env|status|reset
#
#   start   Install MariaDB if needed (Debian/apt, as root), initialise a
#           private datadir under <repo>/target/mariadb/, start mariadbd on a
#           free 127.0.0.1 port with ROW binlogging, create the test users and
#           print the environment (see below). Idempotent: when the server is
#           already running it only prints the environment.
#   env     Print the environment of the running server (exit 1 if stopped).
#   status  Say whether the server is running (exit 0 running, 1 stopped).
#   stop    Shut the server down cleanly; succeeds when it is not running.
#   reset   stop, then delete <repo>/target/mariadb/ (datadir included).
#
# stdout carries ONLY shell assignments, so this works:
#     eval "$(scripts/mariadb.sh start)"
#     export DTS_MARIADB_URL=mysql://dts:dts_pw@127.0.0.1:PORT
#     export DTS_MARIADB_ADMIN_URL=mysql://dts_admin:dts_admin_pw@127.0.0.1:PORT
#     export DTS_MARIADB_PORT=PORT
#     export DTS_MARIADB_SOCKET=/path/to/mysqld.sock
#     export DTS_MARIADB_TLS_CA=/path/to/ca.pem      (the server also speaks TLS: its
#                                                     certificate names DNS:localhost only,
#                                                     signed by this CA)
#     export DTS_MARIADB_TLS_OTHER_CA=/path/to/other-ca.pem   (a CA that did not sign it)
# Every human-readable message goes to stderr.
#
# The server's time zone is +05:30, not UTC, so that tests see TIMESTAMP values converted
# wrongly if any connection forgets to read them in UTC.
#
# Users created (for each host '%', '127.0.0.1', 'localhost'):
#   dts_admin / dts_admin_pw  ALL PRIVILEGES ON *.* WITH GRANT OPTION
#                             (tests use it to create schemas/tables/rows)
#   dts       / dts_pw        the least privilege a binlog CDC client needs:
#       SELECT              snapshot reads / information_schema lookups
#       REPLICATION SLAVE   COM_BINLOG_DUMP(_GTID), i.e. streaming the binlog
#       REPLICATION CLIENT  SHOW MASTER STATUS, SHOW BINARY LOGS,
#                           SHOW BINLOG EVENTS.  On MariaDB >= 10.5 this is
#                           just an alias of BINLOG MONITOR (SHOW GRANTS
#                           reports it as BINLOG MONITOR); we spell it the old
#                           way so the statement also works on MySQL.
#                           Without it those statements fail with "you need
#                           (at least one of) the SUPER, BINLOG MONITOR
#                           privilege(s)"; the binlog dump itself needs only
#                           REPLICATION SLAVE.
#       SHOW VIEW           SHOW CREATE VIEW for schema discovery
#   Reading @@gtid_binlog_pos, @@binlog_format, @@server_id etc. needs no
#   privilege.  Verified on 10.11: with exactly this set `dts` can run
#   SHOW MASTER STATUS, SHOW BINARY LOGS and SHOW BINLOG EVENTS, and cannot
#   INSERT/CREATE.
#
# The server is started with --no-defaults so /etc/mysql/* (a system server's
# socket, datadir, bind-address...) never leaks in; everything it needs is on
# the command line below.
set -euo pipefail
# No job control: background children then stay in our process group, so
# `setsid` below never needs to fork and $! is the server's own pid.
set +m

REPO="$(cd "$(dirname "$0")/.." && pwd)"
# DTS_MARIADB_INSTANCE=name runs a second, separate server (state in target/mariadb-name/,
# variables DTS_MARIADB_NAME_URL, ...); DTS_MARIADB_ARGS adds mariadbd options (later options
# win), e.g. a deliberately misconfigured server for the precheck tests:
#   DTS_MARIADB_INSTANCE=stmt DTS_MARIADB_ARGS="--binlog-format=STATEMENT" scripts/mariadb.sh start
INSTANCE="${DTS_MARIADB_INSTANCE:-}"
if [ -n "$INSTANCE" ] && ! [[ "$INSTANCE" =~ ^[a-z0-9]+$ ]]; then
    echo "[mariadb.sh] ERROR: DTS_MARIADB_INSTANCE must be lower-case letters and digits" >&2
    exit 1
fi
ENV_PREFIX="DTS_MARIADB${INSTANCE:+_${INSTANCE^^}}"
STATE="$REPO/target/mariadb${INSTANCE:+-$INSTANCE}"
DATADIR="$STATE/data"
TMPDIR_DB="$STATE/tmp"
PIDFILE="$STATE/mariadbd.pid"
TLS_DIR="$STATE/tls"
PORTFILE="$STATE/port"
SOCKFILE="$STATE/sockpath"       # remembers where the socket lives
LOG="$STATE/mariadbd.log"
INIT_MARKER="$DATADIR/.dts-initialised"
START_TIMEOUT=60                 # seconds to wait for the server to accept
STOP_TIMEOUT=60                  # seconds to wait for a clean shutdown

# Debian puts mariadbd in /usr/sbin, which is not always on a user's PATH.
export PATH="$PATH:/usr/sbin:/usr/local/sbin:/sbin"

log() { printf '[mariadb.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Unix socket paths are limited to ~107 bytes; fall back to /tmp for deep
# checkouts (name derived from the repo path so checkouts do not collide).
socket_path() {
    local s="$STATE/mysqld.sock"
    if [ "${#s}" -gt 100 ]; then
        s="/tmp/dts-mariadb-$(printf '%s' "$REPO" | cksum | cut -d' ' -f1).sock"
    fi
    printf '%s\n' "$s"
}
SOCKET="$(socket_path)"

# Run the mariadb client as the MariaDB root user over the private socket.
# (root is created with --auth-root-authentication-method=normal and no
# password; it can only log in from localhost, i.e. via this socket.)
sql_root() {
    mariadb --no-defaults --protocol=SOCKET --socket="$SOCKET" -uroot \
        --batch --skip-column-names "$@"
}

# ---------------------------------------------------------------- install ---
ensure_installed() {
    if command -v mariadbd >/dev/null 2>&1 && command -v mariadb >/dev/null 2>&1 \
        && command -v mariadb-install-db >/dev/null 2>&1; then
        return 0
    fi
    log "mariadbd / mariadb client not found; installing from apt"
    if [ "$(id -u)" -ne 0 ]; then
        die "must be root to apt-get install mariadb-server mariadb-client"
    fi
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y mariadb-server mariadb-client >&2
    # The package may start (or try to start) the system service; we do not
    # use it, but leave it alone: it listens on 3306 and /run/mysqld, which
    # never clash with our private port and socket.
    command -v mariadbd >/dev/null 2>&1 || die "mariadbd still not found after install"
}

# ------------------------------------------------------------ pid helpers ---
# Prints the pid of OUR running mariadbd (pid file + process really is a
# mariadbd using our datadir), or fails.  A stale pid file is removed.
running_pid() {
    [ -f "$PIDFILE" ] || return 1
    local pid
    pid="$(tr -dc '0-9' <"$PIDFILE" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--datadir=$DATADIR"; then
        printf '%s\n' "$pid"
        return 0
    fi
    log "removing stale pid file $PIDFILE${pid:+ (pid $pid is not our mariadbd)}"
    rm -f "$PIDFILE"
    return 1
}

is_up() { running_pid >/dev/null 2>&1; }

# Port helpers (free_port, port_in_use): scripts/net-lib.sh. There is an inherent race until
# mariadbd binds the port, so start_server retries on a bind failure.
. "$(dirname "${BASH_SOURCE[0]}")/net-lib.sh"

print_env() {
    local port socket
    port="$(cat "$PORTFILE")"
    socket="$(cat "$SOCKFILE" 2>/dev/null || printf '%s' "$SOCKET")"
    printf 'export %s_URL=%s\n' "$ENV_PREFIX" "mysql://dts:dts_pw@127.0.0.1:$port"
    printf 'export %s_ADMIN_URL=%s\n' "$ENV_PREFIX" "mysql://dts_admin:dts_admin_pw@127.0.0.1:$port"
    printf 'export %s_PORT=%s\n' "$ENV_PREFIX" "$port"
    printf 'export %s_SOCKET=%q\n' "$ENV_PREFIX" "$socket"
    printf 'export %s_TLS_CA=%q\n' "$ENV_PREFIX" "$TLS_DIR/ca.pem"
    printf 'export %s_TLS_OTHER_CA=%q\n' "$ENV_PREFIX" "$TLS_DIR/other-ca.pem"
}

# ------------------------------------------------------------------- tls ---
# A throw-away CA and a server certificate for DNS:localhost (not for 127.0.0.1, so tests can
# tell verify-ca from verify-identity), plus a second CA that signed nothing.
make_certs() {
    "$REPO/scripts/test-certs.sh" "$TLS_DIR" "DNS:localhost" || die "making TLS certificates failed"
}

# -------------------------------------------------------------- datadir ---
init_datadir() {
    if [ -f "$INIT_MARKER" ]; then return 0; fi
    if [ -d "$DATADIR" ]; then
        log "datadir $DATADIR is incomplete (earlier init failed?); recreating it"
        rm -rf "$DATADIR"
    fi
    log "initialising datadir $DATADIR"
    mkdir -p "$DATADIR"
    # --no-defaults must come first.  'normal' root auth = passwordless root
    # restricted to localhost (our private socket); --skip-test-db keeps the
    # datadir minimal.
    if ! mariadb-install-db --no-defaults \
        --datadir="$DATADIR" \
        --user="$(id -un)" \
        --auth-root-authentication-method=normal \
        --skip-test-db \
        --skip-name-resolve \
        >"$STATE/install-db.log" 2>&1; then
        tail -n 40 "$STATE/install-db.log" >&2
        die "mariadb-install-db failed (full log: $STATE/install-db.log)"
    fi
    touch "$INIT_MARKER"
}

# ----------------------------------------------------------------- users ---
setup_users() {
    local host sql=""
    # Anonymous accounts (if the install created any) would shadow real users.
    sql+="DROP USER IF EXISTS ''@'localhost';"
    sql+="DROP USER IF EXISTS ''@'$(hostname 2>/dev/null || echo localhost)';"
    for host in '%' '127.0.0.1' 'localhost'; do
        # CREATE ... IF NOT EXISTS + ALTER keeps passwords right on reruns.
        sql+="CREATE USER IF NOT EXISTS 'dts_admin'@'$host' IDENTIFIED BY 'dts_admin_pw';"
        sql+="ALTER USER 'dts_admin'@'$host' IDENTIFIED BY 'dts_admin_pw';"
        sql+="GRANT ALL PRIVILEGES ON *.* TO 'dts_admin'@'$host' WITH GRANT OPTION;"
        sql+="CREATE USER IF NOT EXISTS 'dts'@'$host' IDENTIFIED BY 'dts_pw';"
        sql+="ALTER USER 'dts'@'$host' IDENTIFIED BY 'dts_pw';"
        # Reset to exactly the minimal set (see header comment).
        sql+="REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'dts'@'$host';"
        sql+="GRANT SELECT, REPLICATION CLIENT, REPLICATION SLAVE, SHOW VIEW ON *.* TO 'dts'@'$host';"
    done
    sql+="FLUSH PRIVILEGES;"
    sql_root -e "$sql"
}

# ----------------------------------------------------------------- start ---
# Launch mariadbd once on port $1; return 0 when it accepts connections,
# 2 if the port was taken by someone else meanwhile, 1 on other failures.
launch() {
    local port="$1" pid waited=0
    : >"$LOG.launch"
    # setsid + nohup: the server survives the calling shell / CI step and is
    # not hit by the caller's Ctrl-C.  All output goes to the log file.
    setsid nohup mariadbd --no-defaults \
        --user="$(id -un)" \
        --datadir="$DATADIR" \
        --tmpdir="$TMPDIR_DB" \
        --socket="$SOCKET" \
        --pid-file="$PIDFILE" \
        --log-error="$LOG" \
        --port="$port" \
        --bind-address=127.0.0.1 \
        --skip-name-resolve \
        --server-id=1 \
        --log-bin=mysql-bin \
        --binlog-format=ROW \
        --binlog-row-image=FULL \
        --binlog-checksum=CRC32 \
        --max-allowed-packet=64M \
        --innodb-buffer-pool-size=128M \
        --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_general_ci \
        --performance-schema=OFF \
        --default-time-zone=+05:30 \
        --ssl-ca="$TLS_DIR/ca.pem" \
        --ssl-cert="$TLS_DIR/server.pem" \
        --ssl-key="$TLS_DIR/server-key.pem" \
        ${DTS_MARIADB_ARGS:-} \
        </dev/null >>"$LOG.launch" 2>&1 &
    pid=$!
    while [ "$waited" -lt $((START_TIMEOUT * 2)) ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            # Died during startup.  A port race shows up as a bind error.
            if tail -n 20 "$LOG" 2>/dev/null | grep -q "Bind on TCP/IP port"; then
                return 2
            fi
            return 1
        fi
        if mariadb-admin --no-defaults --protocol=SOCKET --socket="$SOCKET" -uroot \
            --connect-timeout=2 ping >/dev/null 2>&1; then
            # mariadbd writes its pid file itself; make sure it is there.
            [ -s "$PIDFILE" ] || echo "$pid" >"$PIDFILE"
            return 0
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    log "mariadbd did not accept connections within ${START_TIMEOUT}s; killing it"
    kill -TERM "$pid" 2>/dev/null || true
    sleep 2
    kill -KILL "$pid" 2>/dev/null || true
    return 1
}

cmd_start() {
    if is_up; then
        log "already running (pid $(running_pid), port $(cat "$PORTFILE"))"
        print_env
        return 0
    fi
    ensure_installed
    mkdir -p "$STATE" "$TMPDIR_DB"
    init_datadir
    make_certs
    # No server of ours is running, so a leftover socket file is stale.
    rm -f "$SOCKET" "$PIDFILE"

    local t0 port rc
    t0=$(date +%s)
    for _ in 1 2 3; do
        port="$(free_port)"
        log "starting mariadbd on 127.0.0.1:$port (log: $LOG)"
        rc=0
        launch "$port" || rc=$?
        if [ "$rc" -eq 0 ]; then break; fi
        if [ "$rc" -eq 2 ]; then
            log "port $port was taken meanwhile; retrying with another port"
            continue
        fi
        log "mariadbd failed to start; last lines of $LOG:"
        tail -n 30 "$LOG" >&2 2>/dev/null || true
        tail -n 10 "$LOG.launch" >&2 2>/dev/null || true
        exit 1
    done
    [ "$rc" -eq 0 ] || die "could not start mariadbd after 3 attempts"

    echo "$port" >"$PORTFILE"
    echo "$SOCKET" >"$SOCKFILE"
    setup_users || { tail -n 30 "$LOG" >&2; die "creating users failed"; }
    log "mariadbd running (pid $(running_pid), port $port) after $(( $(date +%s) - t0 ))s"
    print_env
}

# ------------------------------------------------------------------ stop ---
cmd_stop() {
    local pid waited=0
    if ! pid="$(running_pid)"; then
        log "not running"
        rm -f "$SOCKET"
        return 0
    fi
    log "stopping mariadbd (pid $pid)"
    # Clean shutdown via the admin protocol; fall back to SIGTERM (which is
    # also a clean shutdown for mariadbd).
    mariadb-admin --no-defaults --protocol=SOCKET --socket="$SOCKET" -uroot \
        --connect-timeout=5 --shutdown-timeout="$STOP_TIMEOUT" shutdown >/dev/null 2>&1 \
        || kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$waited" -ge $((STOP_TIMEOUT * 2)) ]; then
            log "mariadbd (pid $pid) ignored shutdown for ${STOP_TIMEOUT}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
            break
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    rm -f "$PIDFILE" "$SOCKET"
    log "stopped"
}

cmd_env() {
    if ! is_up; then
        log "mariadb is not running (start it with: $0 start)"
        exit 1
    fi
    print_env
}

cmd_status() {
    local pid
    if pid="$(running_pid 2>/dev/null)"; then
        log "running: pid $pid, port $(cat "$PORTFILE"), socket $(cat "$SOCKFILE" 2>/dev/null || echo "$SOCKET")"
        return 0
    fi
    log "not running"
    return 1
}

cmd_reset() {
    cmd_stop
    log "removing $STATE"
    rm -rf "$STATE"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) cmd_env ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    *)
        echo "usage: $0 start|stop|env|status|reset" >&2
        exit 2
        ;;
esac
