#!/usr/bin/env bash
# Private, throw-away Kafka-compatible broker (tansu, in-memory storage) for
# the dts test suite.
#
# Usage: scripts/kafka.sh start|stop|env|status|reset
#
#   start   Install tansu if needed (cargo install, ~15 min the first time),
#           start `tansu broker` on a free 127.0.0.1 port with in-memory
#           storage, wait until it answers a Kafka ApiVersions request, and
#           print the environment. Idempotent: when already running it only
#           prints the environment.
#   env     Print the environment of the running broker (exit 1 if stopped).
#   status  Say whether the broker is running (exit 0 running, 1 stopped).
#   stop    Stop the broker; succeeds when it is not running.
#   reset   stop, then delete <repo>/target/kafka/.
#
# stdout carries ONLY shell assignments, so this works:
#     eval "$(scripts/kafka.sh start)"
#     export DTS_KAFKA_BOOTSTRAP=127.0.0.1:PORT
# Every human-readable message goes to stderr.
#
# Storage is memory://, so every start begins with an empty broker: topics and
# records do NOT survive a stop/start.  Topics are auto-created on first use.
#
# Override the binary with TANSU=/path/to/tansu if you have one elsewhere.
set -euo pipefail
# No job control: background children then stay in our process group, so
# `setsid` below never needs to fork and $! is the broker's own pid.
set +m

REPO="$(cd "$(dirname "$0")/.." && pwd)"
STATE="$REPO/target/kafka"
PIDFILE="$STATE/tansu.pid"
PORTFILE="$STATE/port"
LOG="$STATE/tansu.log"
CLUSTER_ID="dts"
START_TIMEOUT=60                 # seconds to wait for the broker to answer
STOP_TIMEOUT=20                  # seconds to wait for it to exit after SIGTERM
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"

log() { printf '[kafka.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- install ---
# Sets $TANSU to the tansu binary, installing it with cargo if necessary.
ensure_installed() {
    if [ -n "${TANSU:-}" ]; then
        [ -x "$TANSU" ] || die "TANSU=$TANSU is not an executable"
        return 0
    fi
    if TANSU="$(command -v tansu 2>/dev/null)"; then return 0; fi
    if [ -x "$CARGO_BIN/tansu" ]; then TANSU="$CARGO_BIN/tansu"; return 0; fi

    local cargo
    cargo="$(command -v cargo 2>/dev/null || true)"
    [ -n "$cargo" ] || cargo="$CARGO_BIN/cargo"
    [ -x "$cargo" ] || die "tansu not found and cargo is not available to install it"
    log "tansu not found; running: cargo install tansu --version 0.6.0 --locked --features dynostore"
    log "(this compiles a large dependency tree: expect ~15 minutes the first time)"
    # The dynostore feature provides the memory:// storage engine.
    "$cargo" install tansu --version 0.6.0 --locked --features dynostore >&2
    [ -x "$CARGO_BIN/tansu" ] || die "cargo install finished but $CARGO_BIN/tansu is missing"
    TANSU="$CARGO_BIN/tansu"
}

# ------------------------------------------------------------ pid helpers ---
# Prints the pid of OUR running broker (pid file + process is a tansu that
# listens on the port recorded in the port file), or fails.  A stale pid file
# is removed.
running_pid() {
    [ -f "$PIDFILE" ] && [ -f "$PORTFILE" ] || { rm -f "$PIDFILE"; return 1; }
    local pid port cmd
    pid="$(tr -dc '0-9' <"$PIDFILE" 2>/dev/null || true)"
    port="$(tr -dc '0-9' <"$PORTFILE" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
        case "$cmd" in
            *tansu*"tcp://127.0.0.1:$port "*)
                printf '%s\n' "$pid"
                return 0
                ;;
        esac
    fi
    rm -f "$PIDFILE"
    return 1
}

is_up() { running_pid >/dev/null 2>&1; }

# Port helpers and the ApiVersions probe: scripts/net-lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/net-lib.sh"

print_env() {
    printf 'export DTS_KAFKA_BOOTSTRAP=%s\n' "127.0.0.1:$(cat "$PORTFILE")"
}

# ----------------------------------------------------------------- start ---
# Launch tansu once on port $1; return 0 when it answers Kafka requests,
# 2 if the port was taken by someone else meanwhile, 1 on other failures.
launch() {
    local port="$1" pid waited=0 url="tcp://127.0.0.1:$1"
    echo "$port" >"$PORTFILE"
    # Run from the state dir: tansu loads a .env file from its working
    # directory (upwards), and explicit flags below override any such value.
    # setsid + nohup: the broker survives the calling shell and is not hit by
    # the caller's Ctrl-C.
    (
        cd "$STATE"
        exec setsid nohup "$TANSU" broker \
            --cluster-id "$CLUSTER_ID" \
            --listener-url "$url" \
            --advertised-listener-url "$url" \
            --storage-engine memory://tansu/ \
            </dev/null >>"$LOG" 2>&1
    ) &
    pid=$!
    echo "$pid" >"$PIDFILE"
    while [ "$waited" -lt $((START_TIMEOUT * 2)) ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PIDFILE"
            if tail -n 20 "$LOG" 2>/dev/null | grep -qi "address already in use"; then
                return 2
            fi
            return 1
        fi
        if kafka_answers "$port"; then return 0; fi
        sleep 0.5
        waited=$((waited + 1))
    done
    log "tansu did not answer within ${START_TIMEOUT}s; killing it"
    kill -TERM "$pid" 2>/dev/null || true
    sleep 2
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    return 1
}

cmd_start() {
    if is_up; then
        log "already running (pid $(running_pid), port $(cat "$PORTFILE"))"
        print_env
        return 0
    fi
    ensure_installed
    mkdir -p "$STATE"

    local t0 port rc
    t0=$(date +%s)
    for _ in 1 2 3; do
        port="$(free_port)"
        log "starting $TANSU broker on 127.0.0.1:$port (log: $LOG)"
        printf '\n=== %s start on port %s ===\n' "$(date -Is)" "$port" >>"$LOG"
        rc=0
        launch "$port" || rc=$?
        if [ "$rc" -eq 0 ]; then break; fi
        if [ "$rc" -eq 2 ]; then
            log "port $port was taken meanwhile; retrying with another port"
            continue
        fi
        log "tansu failed to start; last lines of $LOG:"
        tail -n 30 "$LOG" >&2 || true
        exit 1
    done
    [ "$rc" -eq 0 ] || die "could not start tansu after 3 attempts"
    log "tansu running (pid $(running_pid), port $port) after $(( $(date +%s) - t0 ))s"
    print_env
}

# ------------------------------------------------------------------ stop ---
cmd_stop() {
    local pid waited=0
    if ! pid="$(running_pid)"; then
        log "not running"
        return 0
    fi
    log "stopping tansu (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$waited" -ge $((STOP_TIMEOUT * 2)) ]; then
            log "tansu (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
            break
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    rm -f "$PIDFILE"
    log "stopped"
}

cmd_env() {
    if ! is_up; then
        log "kafka (tansu) is not running (start it with: $0 start)"
        exit 1
    fi
    print_env
}

cmd_status() {
    local pid
    if pid="$(running_pid 2>/dev/null)"; then
        log "running: pid $pid, bootstrap 127.0.0.1:$(cat "$PORTFILE")"
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
