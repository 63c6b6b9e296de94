#!/usr/bin/env bash
# The project's test command.
#
# Usage: scripts/test.sh [extra args passed to `cargo test --workspace`]
#
#   1. starts the private MariaDB (scripts/mariadb.sh), Kafka/tansu (scripts/kafka.sh) and
#      the SCRAM/TLS brokers (scripts/kafka-secure.sh) and exports their DTS_* environment;
#   2. cargo fmt --all -- --check
#   3. cargo clippy --workspace --all-targets -- -D warnings
#   4. cargo test --workspace
# and exits non-zero at the first failing step.
#
# On exit the servers this script started are stopped again; set
# DTS_KEEP_SERVERS=1 to leave them running (handy for re-running single tests
# with `eval "$(scripts/mariadb.sh env)"; eval "$(scripts/kafka.sh env)"`).
# Servers that were already running before this script are left running.
#
# DTS_BINLOG_FIXTURES and DTS_AVRO_SCHEMA default to the shared folder beside the
# repository (<repo>/../shared, or DTS_SHARED).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
SCRIPTS="$REPO/scripts"
cd "$REPO"

header() {
    printf '\n==================== %s ====================\n' "$*" >&2
}

# ------------------------------------------------------ shared test data ---
# The binlog fixture corpus and the DTS Avro contract live in the project's shared folder,
# beside the repository (never copied into it). DTS_SHARED overrides; a clone that is not
# beside it falls back to /work/shared when that exists.
shared="${DTS_SHARED:-$REPO/../shared}"
if [ ! -d "$shared" ] && [ -d /work/shared ]; then
    shared=/work/shared
fi
if [ -d "$shared" ]; then
    shared="$(cd "$shared" && pwd)"
    : "${DTS_BINLOG_FIXTURES:=$shared/fixtures/binlogs}"
    : "${DTS_AVRO_SCHEMA:=$shared/dts-avro/Record.avsc}"
    export DTS_BINLOG_FIXTURES DTS_AVRO_SCHEMA
else
    echo "shared test data not found at $shared: the binlog corpus and Avro contract tests will FAIL (set DTS_SHARED)" >&2
fi
if [ -n "${DTS_BINLOG_FIXTURES:-}" ] && [ ! -d "$DTS_BINLOG_FIXTURES" ]; then
    echo "binlog fixture corpus not found at $DTS_BINLOG_FIXTURES: corpus tests will fail" >&2
fi

# --------------------------------------------------------------- servers ---
started=()   # servers this run started (and therefore stops)

cleanup() {
    local rc=$?
    if [ "${DTS_KEEP_SERVERS:-0}" = "1" ]; then
        [ "${#started[@]}" -eq 0 ] || echo "DTS_KEEP_SERVERS=1: leaving ${started[*]} running" >&2
    else
        local s
        for s in "${started[@]}"; do
            case "$s" in
                *:*) DTS_MARIADB_INSTANCE="${s#*:}" "$SCRIPTS/${s%%:*}.sh" stop || true ;;
                *) "$SCRIPTS/$s.sh" stop || true ;;
            esac
        done
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_server() {  # $1 = mariadb | kafka | kafka-secure
    local name="$1" env_lines
    if ! "$SCRIPTS/$name.sh" status 2>/dev/null; then
        started+=("$name")
    fi
    # Assign first so a failing start aborts here (set -e); then import it.
    env_lines="$("$SCRIPTS/$name.sh" start)"
    eval "$env_lines"
    printf '%s\n' "$env_lines" >&2
}

header "starting MariaDB"
start_server mariadb
header "starting a deliberately misconfigured MariaDB (STATEMENT binlog, MINIMAL images) for prechecks"
if ! DTS_MARIADB_INSTANCE=stmt "$SCRIPTS/mariadb.sh" status 2>/dev/null; then
    started+=("mariadb:stmt")
fi
env_lines="$(DTS_MARIADB_INSTANCE=stmt DTS_MARIADB_ARGS="--binlog-format=STATEMENT --binlog-row-image=MINIMAL" "$SCRIPTS/mariadb.sh" start)"
eval "$env_lines"
printf '%s\n' "$env_lines" >&2
header "starting Kafka (tansu)"
start_server kafka
header "starting the brokers that require SCRAM and/or TLS (tansu + socat)"
start_server kafka-secure

echo "DTS_BINLOG_FIXTURES=${DTS_BINLOG_FIXTURES:-<unset>}" >&2
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

# ----------------------------------------------------------------- checks ---
header "cargo fmt --all -- --check"
cargo fmt --all -- --check

header "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

header "cargo test --workspace $*"
cargo test --workspace "$@"

header "all checks passed"
