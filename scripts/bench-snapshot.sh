#!/usr/bin/env bash
# Snapshot speed: a 1M-row sysbench-like table read by MySqlSource with 1, 2 and 4 chunk
# readers, next to a plain `mariadb -e "SELECT * ..." > /dev/null` in the same run.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
eval "$("$REPO/scripts/mariadb.sh" start)"
sql() { mariadb --no-defaults --socket="$DTS_MARIADB_SOCKET" -uroot "$@"; }
rows="${ROWS:-1000000}"
if [ "$(sql -N -e "SELECT COUNT(*) FROM dts_bench.sbtest1m" 2>/dev/null || echo 0)" != "$rows" ]; then
    sql -e "CREATE DATABASE IF NOT EXISTS dts_bench; DROP TABLE IF EXISTS dts_bench.sbtest1m;
      CREATE TABLE dts_bench.sbtest1m (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);
      INSERT INTO dts_bench.sbtest1m SELECT seq, FLOOR(RAND(seq) * $rows), REPEAT(LPAD(seq, 11, '0'), 10), REPEAT('p', 59)
        FROM dts_bench.seq_1_to_$rows"
fi
cargo build --release -q -p dts-examples --bin snapshot_bench
start=$(date +%s.%N)
sql -e "SELECT * FROM dts_bench.sbtest1m" > /dev/null
end=$(date +%s.%N)
python3 -c "import sys; s=$end-$start; print(f'mariadb_client rows=$rows seconds={s:.2f} rows_per_sec={$rows/s:.0f}')"
"$REPO/target/release/snapshot_bench" "$DTS_MARIADB_URL" dts_bench.sbtest1m 1 2 4
