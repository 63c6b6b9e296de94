#!/usr/bin/env bash
# Writes a realistic binlog for the decoder bench: a sysbench-like table
# `sbtest(id INT PRIMARY KEY, k INT, c CHAR(120), pad CHAR(60))` with 200 000 inserts, 100 000
# updates and 50 000 deletes, logged by the local MariaDB (ROW, FULL images), copied to
# target/bench-data/sbtest.binlog. Starts the server if needed (scripts/mariadb.sh).
#
# Usage: scripts/bench-binlog.sh   then   cargo bench -p dts-benches --bench binlog_decode
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
eval "$("$REPO/scripts/mariadb.sh" start)"
OUT="$REPO/target/bench-data"
mkdir -p "$OUT"
sql() { mariadb --no-defaults --socket="$DTS_MARIADB_SOCKET" -uroot "$@"; }
sql -e "DROP DATABASE IF EXISTS dts_bench; CREATE DATABASE dts_bench"
first="$(sql -N -e 'SHOW MASTER STATUS' | awk '{print $1}')"
sql dts_bench <<'SQL'
CREATE TABLE sbtest (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);
INSERT INTO sbtest
  SELECT n, FLOOR(RAND(n) * 200000),
         CONCAT_WS('-', LPAD(FLOOR(RAND(n + 1) * 99999999999), 11, '0'), LPAD(FLOOR(RAND(n + 2) * 99999999999), 11, '0'),
                   LPAD(FLOOR(RAND(n + 3) * 99999999999), 11, '0'), LPAD(FLOOR(RAND(n + 4) * 99999999999), 11, '0'),
                   LPAD(FLOOR(RAND(n + 5) * 99999999999), 11, '0'), LPAD(FLOOR(RAND(n + 6) * 99999999999), 11, '0'),
                   LPAD(FLOOR(RAND(n + 7) * 99999999999), 11, '0'), LPAD(FLOOR(RAND(n + 8) * 99999999999), 11, '0'),
                   LPAD(FLOOR(RAND(n + 9) * 99999999999), 11, '0'), LPAD(FLOOR(RAND(n + 10) * 99999999999), 11, '0')),
         CONCAT_WS('-', LPAD(FLOOR(RAND(n + 11) * 99999999999), 11, '0'), LPAD(FLOOR(RAND(n + 12) * 99999999999), 11, '0'),
                   LPAD(FLOOR(RAND(n + 13) * 99999999999), 11, '0'), LPAD(FLOOR(RAND(n + 14) * 99999999999), 11, '0'),
                   LPAD(FLOOR(RAND(n + 15) * 99999999999), 11, '0'))
  FROM (SELECT seq AS n FROM seq_1_to_200000) AS s;
UPDATE sbtest SET k = k + 1 WHERE id % 2 = 0;
DELETE FROM sbtest WHERE id % 4 = 1;
SQL
sql -e "FLUSH BINARY LOGS"
dir="$(dirname "$(sql -N -e 'SELECT @@log_bin_basename')")"
cp "$dir/$first" "$OUT/sbtest.binlog"
ls -l "$OUT/sbtest.binlog" >&2
