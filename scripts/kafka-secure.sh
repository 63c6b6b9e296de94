#!/usr/bin/env bash
# Private Kafka-protocol brokers (tansu) that require authentication and/or TLS, for the
# security tests of the Kafka sink:
#
#   SASL_PLAINTEXT  tansu --authentication (SCRAM-SHA-256 and SCRAM-SHA-512 users; PLAIN)
#   SSL             tansu behind a TLS terminator (socat) with a throw-away CA
#   SASL_SSL        tansu --authentication behind a TLS terminator (SCRAM; PLAIN)
#
# Usage: scripts/kafka-secure.sh start|stop|env|status
#
#   start   Install what is missing (tansu built from scripts/test-broker: its `libsql`
#           storage engine keeps SCRAM users, and rsasl's PLAIN is switched on; socat;
#           openssl), make the certificates, create the users,
#           start the three brokers and print their environment (shell assignments only on
#           stdout, as scripts/kafka.sh does). Idempotent.
#   env     Print the environment of the running brokers (exit 1 if stopped).
#   status  Exit 0 when all are running.
#   stop    Stop them all.
#
# Why these parts: tansu 0.6 keeps SCRAM credentials only in its SQL storage engines (memory
# storage drops them), creates users only through a broker that does not require
# authentication yet, offers SASL/PLAIN only when rsasl is built with it (scripts/test-broker
# does that; tansu then accepts any password for a PLAIN user name, so PLAIN's negative case
# cannot be tested against it), and does not serve TLS itself (its `--cert` is
# parsed and unused). So users are created on a broker started without `--authentication`,
# which is then restarted with it on the same sqlite file, and TLS is terminated by socat in
# front of a broker that advertises the TLS port. The clients (librdkafka) really negotiate
# SCRAM and really verify the TLS certificate; only the broker side of TLS is socat's.
#
# Certificates: a CA and a server certificate for DNS:localhost and IP:127.0.0.1, plus an
# unrelated CA that signed nothing (DTS_KAFKA_TLS_OTHER_CA) for the negative tests.
set -euo pipefail
set +m

REPO="$(cd "$(dirname "$0")/.." && pwd)"
STATE="$REPO/target/kafka-secure"
TLS_DIR="$STATE/tls"
CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
BROKER_SRC="$REPO/scripts/test-broker"
# Installed under a name that changes with the build's sources, so an edit rebuilds it.
BROKER_HASH="$(cat "$BROKER_SRC/Cargo.toml" "$BROKER_SRC/Cargo.lock" "$BROKER_SRC/src/main.rs" | sha256sum | cut -c1-12)"
TANSU_ROOT="$CARGO_HOME/dts-test-broker-$BROKER_HASH"
TANSU="${DTS_TEST_BROKER:-$TANSU_ROOT/bin/tansu}"
CLUSTER_ID="dts-secure"
# Throw-away test credentials (only ever valid for these private brokers).
SCRAM256_USER="dts-scram256"
SCRAM256_PASSWORD="scram256-test-pw"
SCRAM512_USER="dts-scram512"
SCRAM512_PASSWORD="scram512-test-pw"
PLAIN_USER="dts-plain"
PLAIN_PASSWORD="plain-test-pw"
BROKERS="sasl ssl sasl_ssl"

log() { printf '[kafka-secure.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ensure_tools() {
    local missing=()
    command -v socat >/dev/null 2>&1 || missing+=(socat)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    if [ "${#missing[@]}" -gt 0 ]; then
        [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: apt-get install ${missing[*]}"
        log "installing ${missing[*]}"
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
    fi
    if [ ! -x "$TANSU" ]; then
        local cargo
        cargo="$(command -v cargo 2>/dev/null || echo "$CARGO_HOME/bin/cargo")"
        [ -x "$cargo" ] || die "the test broker is not at $TANSU and cargo is not available"
        log "building tansu (scripts/test-broker) into $TANSU_ROOT (~20 min the first time)"
        CARGO_TARGET_DIR="$CARGO_HOME/dts-test-broker-target" \
            "$cargo" install --path "$BROKER_SRC" --locked --root "$TANSU_ROOT" >&2
        [ -x "$TANSU" ] || die "cargo install finished but $TANSU is missing"
    fi
}

make_certs() {
    "$REPO/scripts/test-certs.sh" "$TLS_DIR" "DNS:localhost,IP:127.0.0.1" || die "making certificates failed"
}

# free_port, port_in_use, kafka_answers
. "$REPO/scripts/net-lib.sh"

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # $1 = what, $2 = pid, then the check command
    local what="$1" pid="$2" i
    shift 2
    for i in $(seq 1 120); do
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$STATE/$what.log" >&2; die "$what exited"; }
        if "$@"; then return 0; fi
        sleep 0.5
    done
    die "$what did not come up in 60 s (log: $STATE/$what.log)"
}

spawn() {  # $1 = name (pid file and log), then the command
    local name="$1"
    shift
    ( cd "$STATE" && exec setsid nohup "$@" </dev/null >>"$STATE/$name.log" 2>&1 ) &
    echo $! >"$STATE/$name.pid"
}

# $1 = name, $2 = listen port, $3 = advertised port, $4 = storage, $5 = --authentication or ""
tansu_broker() {
    spawn "$1" "$TANSU" broker --cluster-id "$CLUSTER_ID" \
        --listener-url "tcp://127.0.0.1:$2" --advertised-listener-url "tcp://127.0.0.1:$3" \
        --storage-engine "$4" ${5:+"$5"}
    wait_for "$1" "$(cat "$STATE/$1.pid")" kafka_answers "$2"
}

# The pid recorded for $1 if that process is still one of ours (a tansu or socat; after a
# reboot the pid may belong to anything else).
our_pid() {
    local f="$STATE/$1.pid" pid cmd
    [ -f "$f" ] || return 1
    pid="$(tr -dc '0-9' <"$f")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    case "$cmd" in
        *tansu*broker*|*socat*OPENSSL-LISTEN*) printf '%s\n' "$pid" ;;
        *) return 1 ;;
    esac
}

stop_one() {  # $1 = name; the whole process group (socat forks one child per connection)
    local pid
    if pid="$(our_pid "$1")"; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/$1.pid"
}

# A broker requiring SCRAM: users are created while it does not require authentication yet,
# then it restarts with --authentication on the same sqlite file.
scram_broker() {  # $1 = name, $2 = listen port, $3 = advertised port
    local db="sqlite://$1.db"
    rm -f "$STATE/$1.db"*
    tansu_broker "$1" "$2" "$2" "$db" ""
    "$TANSU" user create --broker "tcp://127.0.0.1:$2" --mechanism scram256 \
        "$SCRAM256_USER" "$SCRAM256_PASSWORD" >>"$STATE/$1.log" 2>&1 || die "creating the SCRAM-SHA-256 user failed"
    "$TANSU" user create --broker "tcp://127.0.0.1:$2" --mechanism scram512 \
        "$SCRAM512_USER" "$SCRAM512_PASSWORD" >>"$STATE/$1.log" 2>&1 || die "creating the SCRAM-SHA-512 user failed"
    stop_one "$1"
    tansu_broker "$1" "$2" "$3" "$db" --authentication
}

tls_terminator() {  # $1 = name, $2 = TLS port, $3 = broker port
    spawn "$1" socat \
        "OPENSSL-LISTEN:$2,bind=127.0.0.1,reuseaddr,fork,cert=$TLS_DIR/server.pem,key=$TLS_DIR/server-key.pem,verify=0" \
        "TCP:127.0.0.1:$3"
    wait_for "$1" "$(cat "$STATE/$1.pid")" tcp_open "$2"
}

is_up() {
    [ -f "$STATE/ports" ] || return 1
    local n
    for n in $BROKERS ssl_tls sasl_ssl_tls; do
        our_pid "$n" >/dev/null || return 1
    done
}

print_env() {
    # shellcheck disable=SC1091
    . "$STATE/ports"
    printf 'export DTS_KAFKA_SASL_BOOTSTRAP=127.0.0.1:%s\n' "$SASL_PORT"
    printf 'export DTS_KAFKA_SSL_BOOTSTRAP=127.0.0.1:%s\n' "$SSL_PORT"
    printf 'export DTS_KAFKA_SASL_SSL_BOOTSTRAP=127.0.0.1:%s\n' "$SASL_SSL_PORT"
    printf 'export DTS_KAFKA_TLS_CA=%q\n' "$TLS_DIR/ca.pem"
    printf 'export DTS_KAFKA_TLS_OTHER_CA=%q\n' "$TLS_DIR/other-ca.pem"
    printf 'export DTS_KAFKA_SCRAM256_USER=%q DTS_KAFKA_SCRAM256_PASSWORD=%q\n' "$SCRAM256_USER" "$SCRAM256_PASSWORD"
    printf 'export DTS_KAFKA_SCRAM512_USER=%q DTS_KAFKA_SCRAM512_PASSWORD=%q\n' "$SCRAM512_USER" "$SCRAM512_PASSWORD"
    printf 'export DTS_KAFKA_PLAIN_USER=%q DTS_KAFKA_PLAIN_PASSWORD=%q\n' "$PLAIN_USER" "$PLAIN_PASSWORD"
}

cmd_start() {
    if is_up; then
        log "already running"
        print_env
        return 0
    fi
    cmd_stop >/dev/null 2>&1 || true
    mkdir -p "$STATE"
    ensure_tools
    make_certs
    local sasl ssl ssl_inner sasl_ssl sasl_ssl_inner
    sasl="$(free_port)"; ssl="$(free_port)"; ssl_inner="$(free_port)"
    sasl_ssl="$(free_port)"; sasl_ssl_inner="$(free_port)"
    log "SASL_PLAINTEXT broker on 127.0.0.1:$sasl"
    scram_broker sasl "$sasl" "$sasl"
    log "SSL broker on 127.0.0.1:$ssl (tansu on $ssl_inner)"
    tansu_broker ssl "$ssl_inner" "$ssl" "memory://tansu/" ""
    tls_terminator ssl_tls "$ssl" "$ssl_inner"
    log "SASL_SSL broker on 127.0.0.1:$sasl_ssl (tansu on $sasl_ssl_inner)"
    scram_broker sasl_ssl "$sasl_ssl_inner" "$sasl_ssl"
    tls_terminator sasl_ssl_tls "$sasl_ssl" "$sasl_ssl_inner"
    printf 'SASL_PORT=%s\nSSL_PORT=%s\nSASL_SSL_PORT=%s\n' "$sasl" "$ssl" "$sasl_ssl" >"$STATE/ports"
    log "running"
    print_env
}

cmd_stop() {
    local n
    for n in ssl_tls sasl_ssl_tls $BROKERS; do stop_one "$n"; done
    rm -f "$STATE/ports"
    log "stopped"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) is_up || die "not running (start with: $0 start)"; print_env ;;
    status) if is_up; then log "running"; else log "not running"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
