#!/usr/bin/env bash
# End-to-end speed of dts-migrate into the local Kafka broker (tansu), beside the raw rates of
# the same source in the same run:
#   snapshot phase:  1M sysbench-like rows  vs  `mariadb -e "SELECT *" > /dev/null`
#   binlog phase:    1M row changes          vs  `mariadb-binlog --read-from-remote-server` > /dev/null
# Both sides read over plaintext TCP (the MariaDB client turns TLS on by default; with it the
# raw dump is ~15 % slower, which flattered the ratio before), and each run registers as a new
# replica (server_id): a replica that re-registers with the server_id of one stopped a moment
# ago waits ~100 ms while MariaDB retires the old dump thread, which the raw dump never does.
# and the peak RSS and CPU time of dts-migrate in each phase, and the broker's CPU time in the
# binlog phase; RUNS times (default 3), medians printed. Each dts run is compared with the mean
# of the raw run just before and the one just after it.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
OUT="$REPO/target/bench-e2e"
mkdir -p "$OUT"
eval "$(scripts/mariadb.sh start)"
# A fresh broker: tansu's memory storage keeps every record sent to it (13 GB of RSS after a
# day of benches), which squeezed the page cache that both sides read the binlog from.
scripts/kafka.sh stop >/dev/null 2>&1 || true
eval "$(scripts/kafka.sh start)"
sql() { mariadb --no-defaults --socket="$DTS_MARIADB_SOCKET" -uroot "$@"; }
rows="${ROWS:-1000000}"
if [ "$(sql -N -e "SELECT COUNT(*) FROM dts_bench.sbtest1m" 2>/dev/null || echo 0)" != "$rows" ]; then
    sql -e "CREATE DATABASE IF NOT EXISTS dts_bench; DROP TABLE IF EXISTS dts_bench.sbtest1m;
      CREATE TABLE dts_bench.sbtest1m (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);
      INSERT INTO dts_bench.sbtest1m SELECT seq, FLOOR(RAND(seq) * $rows), REPEAT(LPAD(seq, 11, '0'), 10), REPEAT('p', 59)
        FROM dts_bench.seq_1_to_$rows"
fi
cargo build --release -q -p dts-examples --bin dts-migrate --bin stream_bench
port="${DTS_MARIADB_URL##*:}"
now() { date +%s.%N; }
config() {  # $1 = topic, $2 = migration types, $3 = checkpoint file
    cat >"$OUT/$1.toml" <<EOF2
[source]
host = "127.0.0.1"
port = $port
user = "dts"
password = "dts_pw"
server_id = $server_id
tables = ["dts_bench.sbtest1m"]
[kafka]
bootstrap_servers = "$DTS_KAFKA_BOOTSTRAP"
topic = "$1"
partition_policy = "hash-primary-key"
create_topics = true
partitions = 4
[task]
migration_types = $2
checkpoint = "$3"
EOF2
}
# Runs dts-migrate; prints "seconds peak_rss_kib cpu_seconds": seconds from its start until its
# progress (every 10 ms, so the end is seen at most 10 ms late) shows $2 records written (then
# SIGINT when $3 = yes, as the incremental phase never ends by itself), peak RSS and CPU time
# from wait4.
run_until() {  # $1 = config, $2 = records, $3 = stop with SIGINT (yes/no)
    python3 - "$1" "$2" "$3" <<'PY'
import json, os, signal, subprocess, sys, time
cfg, target, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "yes"
start = time.monotonic()
p = subprocess.Popen(["target/release/dts-migrate", "--config", cfg, "--progress", "json",
                      "--progress-interval-ms", "10"],
                     stdout=open(cfg + ".out", "w"), stderr=subprocess.PIPE, text=True)
done_at = None
# The first progress line comes ~10 ms after the pipeline starts, once the prechecks are done
# and the topics exist (before the pipeline reads partition counts and connects its source).
started_at = None
with open(cfg + ".log", "w") as log:
    for line in p.stderr:
        now = time.monotonic()
        log.write(line)
        try:
            records = json.loads(line).get("records", 0)
        except ValueError:
            continue
        if started_at is None:
            started_at = now
        if done_at is None and records >= target:
            done_at = now
            if stop:
                p.send_signal(signal.SIGINT)
_, status, ru = os.wait4(p.pid, 0)
if done_at is None:
    # Ended by itself (a full migration does) before a progress line showed the last records:
    # its final report says how many it wrote.
    done_at = time.monotonic()
    out = open(cfg + ".out").read()
    written = int(out.split(" records written")[0].split()[-1]) if " records written" in out else 0
    if status != 0 or written < target:
        sys.exit(f"dts-migrate ended (status {status}) after {written} of {target} records; see {cfg}.log")
startup = (started_at - start) if started_at is not None else 0.0
print(f"{done_at - start:.2f} {ru.ru_maxrss} {ru.ru_utime + ru.ru_stime:.2f} {startup:.3f}")
PY
}

runs="${RUNS:-3}"
results="$OUT/results-$(date +%s).txt"
: >"$results"
# The binlog phase reads the same 1M row changes each run: written once, before the runs.
# Only the binlog this bench writes, in a file of its own: older files (GBs after a few
# benches) competed for the page cache too. The server is the scripts' private one.
sql -e "FLUSH BINARY LOGS; PURGE BINARY LOGS BEFORE NOW()"
file=$(sql -N -e "SHOW MASTER STATUS" | awk '{print $1}')
pos=$(sql -N -e "SHOW MASTER STATUS" | awk '{print $2}')
sql -e "UPDATE dts_bench.sbtest1m SET k = k + 1"
# The UPDATE leaves ~360 MB of binlog as dirty pages; while the kernel writes them back, every
# reader of the binlog is slowed (the first raw dumps after it took 1.0-1.4 s instead of 0.6 s).
sync
raw_select_secs() {
    local start end
    start=$(now); sql -e "SELECT * FROM dts_bench.sbtest1m" >/dev/null; end=$(now)
    python3 -c "print(f'{$end-$start:.3f}')"
}
raw_dump_secs() {
    local start end
    start=$(now)
    mariadb-binlog --no-defaults --skip-ssl --read-from-remote-server --host=127.0.0.1 --port="$port" --user=dts --password=dts_pw \
        --start-position="$pos" "$file" >/dev/null
    end=$(now)
    python3 -c "print(f'{$end-$start:.3f}')"
}
mean() { python3 -c "print(f'{($1 + $2) / 2:.3f}')"; }
# CPU seconds the broker (tansu, on the same two cores) has used so far.
tansu_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{s += $14 + $15} END {printf "%.2f", s / hz}' \
        /proc/"$(cat "$REPO/target/kafka/tansu.pid")"/task/*/stat 2>/dev/null || echo 0
}
# The first raw dump of the fresh binlog and the first SELECT ran up to 2x slower than the
# rest (0.66-0.74 M rows/s against 1.2-1.6 M), which flattered the first run's ratio: one of
# each first, not counted.
raw_dump_secs >/dev/null
raw_select_secs >/dev/null
# This machine's speed drifts by up to 2x within minutes (other tenants), so each dts run is
# compared with the mean of the raw run just before it and the one just after it.
for run in $(seq 1 "$runs"); do
    stamp="$(date +%s)-$run"
    server_id=$((10000 + RANDOM))
    # --- snapshot phase ---
    select_before=$(raw_select_secs)
    config "e2e-full-$stamp" '["full"]' "$OUT/full-$stamp.json"
    read -r full_secs full_rss full_cpu full_startup < <(run_until "$OUT/e2e-full-$stamp.toml" "$rows" no)
    select_after=$(raw_select_secs)
    raw_select=$(mean "$select_before" "$select_after")
    # --- binlog phase: the 1M row changes streamed from their start ---
    # Where the binlog phase's time goes: the source alone (decoded events dropped), then
    # source + DTS Avro encoding, without Kafka.
    src_rate=$(target/release/stream_bench "$DTS_MARIADB_URL" dts_bench.sbtest1m "$file" "$pos" "$rows" | sed -n 's/.*rows_per_sec=\([0-9]*\).*/\1/p')
    enc_rate=$(target/release/stream_bench "$DTS_MARIADB_URL" dts_bench.sbtest1m "$file" "$pos" "$rows" encode | sed -n 's/.*rows_per_sec=\([0-9]*\).*/\1/p')
    printf '{"position":{"binlog":{"binlog":{"file":"%s","offset":%s},"gtid":null}},"next_id":1}\n' "$file" "$pos" >"$OUT/inc-$stamp.json"
    config "e2e-inc-$stamp" '["incremental"]' "$OUT/inc-$stamp.json"
    dump_before=$(raw_dump_secs)
    broker_before=$(tansu_cpu)
    read -r inc_secs inc_rss inc_cpu inc_startup < <(run_until "$OUT/e2e-inc-$stamp.toml" "$rows" yes)
    broker=$(python3 -c "print(f'{$(tansu_cpu) - $broker_before:.2f}')")
    dump_after=$(raw_dump_secs)
    raw_dump=$(mean "$dump_before" "$dump_after")
    echo "$raw_select $full_secs $full_rss $full_cpu $raw_dump $inc_secs $inc_rss $inc_cpu $src_rate $enc_rate $select_before $select_after $dump_before $dump_after $broker $full_startup $inc_startup" >>"$results"
done

python3 - "$results" "$rows" <<'PY'
import statistics, sys
rows = int(sys.argv[2])
runs = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
def rate(s): return rows / s
for i, (rs, fs, frss, fcpu, rd, is_, irss, icpu, src, enc, rs1, rs2, rd1, rd2, broker, fstart, istart) in enumerate(runs, 1):
    print(f"run {i}: snapshot {rate(fs):,.0f} rows/s = {100*rs/fs:.0f}% of raw SELECT ({rate(rs1):,.0f} before, {rate(rs2):,.0f} after), CPU {fcpu:.2f} s, "
          f"RSS {frss/1024:.0f} MiB | binlog {rate(is_):,.0f} rows/s = {100*rd/is_:.0f}% of raw dump ({rate(rd1):,.0f} before, {rate(rd2):,.0f} after), "
          f"CPU {icpu:.2f} s (broker {broker:.2f} s), RSS {irss/1024:.0f} MiB | without Kafka: source alone {src:,.0f} rows/s, "
          f"source + encoding {enc:,.0f} rows/s | before the first progress line (prechecks, topics) {fstart:.3f} s / {istart:.3f} s")
med = lambda xs: statistics.median(xs)
print(f"median of {len(runs)}: snapshot {med([100*r[0]/r[1] for r in runs]):.0f}% of raw SELECT (target 70%), "
      f"binlog {med([100*r[4]/r[5] for r in runs]):.0f}% of raw dump (target 50%), "
      f"peak RSS {max(max(r[2], r[6]) for r in runs)/1024:.0f} MiB (target 256); "
      f"binlog without Kafka: source alone {100*med([r[8]*r[4]/rows for r in runs]):.0f}% of raw dump, "
      f"source + encoding {100*med([r[9]*r[4]/rows for r in runs]):.0f}%")
# The ratios above count dts-migrate's prechecks and topic creation as part of each phase; the
# raw tools have none. Without them (the pipeline's own start-up still counted):
print(f"from the first progress line: snapshot {med([100*r[0]/(r[1]-r[15]) for r in runs]):.0f}% of raw SELECT, "
      f"binlog {med([100*r[4]/(r[5]-r[16]) for r in runs]):.0f}% of raw dump; time before it, median: "
      f"snapshot {med([r[15] for r in runs]):.3f} s, binlog {med([r[16] for r in runs]):.3f} s")
PY
