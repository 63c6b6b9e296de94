#!/usr/bin/env bash
# Regenerates dts-mysql-source/tests/data/mariadb-binlog.tsv: for every binlog in the fixture
# corpus, the event offsets and exit status that Debian's `mariadb-binlog` reports. The corpus
# test compares our parser with these. Run once (or when the corpus changes); the output is
# derived data, the fixtures themselves stay outside the repository.
#
# Usage: scripts/binlog-expectations.sh [FIXTURES_DIR]
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${1:-${DTS_BINLOG_FIXTURES:-$REPO/../shared/fixtures/binlogs}}"
OUT="$REPO/dts-mysql-source/tests/data/mariadb-binlog.tsv"
command -v mariadb-binlog >/dev/null || { echo "mariadb-binlog not found (apt-get install mariadb-client)" >&2; exit 1; }
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
{
    echo "# file	status	offsets (mariadb-binlog $(mariadb-binlog --version | awk '{print $3}'))"
    cd "$DIR"
    find . -type f ! -name '*.txt' ! -name '*.md' ! -name 'plaintext-*' | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
        src="$f"
        case "$f" in *.gz) zcat "$f" >"$tmp"; src="$tmp" ;; esac
        if out="$(mariadb-binlog --no-defaults "$src" 2>&1)"; then status=ok; else status=error; fi
        offsets="$(printf '%s\n' "$out" | sed -n 's/^# at \([0-9]*\)$/\1/p' | paste -sd, -)"
        printf '%s\t%s\t%s\n' "$f" "$status" "${offsets:--}"
    done
} >"$OUT"
echo "wrote $OUT" >&2
