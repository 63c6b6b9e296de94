#!/usr/bin/env bash
# The main job, end to end on this machine: a local MariaDB (binlog on) and a local Kafka broker
# (tansu) are started, a small sample database `shop` is created, and `dts-migrate` migrates it
# into Kafka as DTS Avro — schema, full data, then incremental — while a few live changes are
# made (including an ALTER TABLE). Then a handful of decoded records are shown with `dts-tail`,
# and everything is stopped (DTS_KEEP_SERVERS=1 keeps the servers running).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
OUT="$REPO/target/demo"
mkdir -p "$OUT"
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

started=()
cleanup() {
    local rc=$?
    [ -n "${MIGRATE_PID:-}" ] && kill -INT "$MIGRATE_PID" 2>/dev/null || true
    if [ "${DTS_KEEP_SERVERS:-0}" != "1" ]; then
        for s in "${started[@]}"; do "$REPO/scripts/$s.sh" stop >/dev/null 2>&1 || true; done
    fi
    exit "$rc"
}
trap cleanup EXIT

say "starting MariaDB and Kafka (tansu)"
for s in mariadb kafka; do
    "$REPO/scripts/$s.sh" status >/dev/null 2>&1 || started+=("$s")
    eval "$("$REPO/scripts/$s.sh" start)"
done
sql() { mariadb --no-defaults --socket="$DTS_MARIADB_SOCKET" -uroot "$@"; }

say "creating the sample database shop (customers, orders, order_items)"
sql <<'SQL'
DROP DATABASE IF EXISTS shop;
CREATE DATABASE shop;
CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, email VARCHAR(80) NOT NULL UNIQUE,
  created DATETIME(3) NOT NULL);
CREATE TABLE shop.orders (id BIGINT UNSIGNED PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(10,2) NOT NULL,
  status ENUM('new','paid','shipped') NOT NULL, note TEXT, placed TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6));
CREATE TABLE shop.order_items (order_id BIGINT UNSIGNED, line INT, sku CHAR(8), qty SMALLINT, PRIMARY KEY (order_id, line));
INSERT INTO shop.customers SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.com'),
  '2024-01-01 00:00:00' + INTERVAL seq MINUTE FROM shop.seq_1_to_1000;
INSERT INTO shop.orders (id, customer_id, amount, status, note) SELECT seq, 1 + seq % 1000, seq * 1.5,
  ELT(1 + seq % 3, 'new', 'paid', 'shipped'), IF(seq % 10 = 0, 'gift wrap', NULL) FROM shop.seq_1_to_5000;
INSERT INTO shop.order_items SELECT 1 + seq DIV 3, seq % 3, CONCAT('SKU', LPAD(seq % 500, 5, '0')), 1 + seq % 4
  FROM shop.seq_0_to_9998;
SQL

say "building dts-migrate and dts-tail"
cargo build -q -p dts-examples --bin dts-migrate --bin dts-tail
topic="shop-$(date +%s)"
rm -f "$OUT/dts-checkpoint.json"
port="${DTS_MARIADB_URL##*:}"
cat >"$OUT/dts.toml" <<EOF2
[source]
host = "127.0.0.1"
port = $port
user = "dts"
password_env = "DTS_SOURCE_PASSWORD"
server_id = 5401
tls = "disabled"
tables = ["shop.*"]

[kafka]
bootstrap_servers = "$DTS_KAFKA_BOOTSTRAP"
topic = "$topic"
partition_policy = "hash-primary-key"
create_topics = true
partitions = 4

[kafka.topic_mapping]
"shop.orders" = "$topic-orders"

[task]
migration_types = ["schema", "full", "incremental"]
checkpoint = "$OUT/dts-checkpoint.json"
EOF2
echo "config: $OUT/dts.toml" >&2

say "prechecks"
DTS_SOURCE_PASSWORD=dts_pw target/debug/dts-migrate --config "$OUT/dts.toml" --precheck-only

say "migrating: schema + full + incremental (progress as JSON lines)"
DTS_SOURCE_PASSWORD=dts_pw target/debug/dts-migrate --config "$OUT/dts.toml" --progress json \
    >"$OUT/migrate.out" 2>"$OUT/migrate.log" &
MIGRATE_PID=$!
for _ in $(seq 1 120); do
    grep -q '"caught_up":true' "$OUT/migrate.log" 2>/dev/null && break
    kill -0 "$MIGRATE_PID" 2>/dev/null || { cat "$OUT/migrate.log" >&2; exit 1; }
    sleep 0.5
done
tail -n 2 "$OUT/migrate.log" >&2

say "live changes: insert, update, delete, ALTER TABLE ... ADD COLUMN, insert with the new column"
sql <<'SQL'
INSERT INTO shop.customers VALUES (1001, 'new customer', 'new@example.com', NOW(3));
UPDATE shop.orders SET status = 'shipped', amount = amount + 1 WHERE id = 42;
DELETE FROM shop.order_items WHERE order_id = 7;
ALTER TABLE shop.orders ADD COLUMN coupon VARCHAR(10) NULL AFTER amount;
INSERT INTO shop.orders (id, customer_id, amount, coupon, status) VALUES (5001, 1001, 99.90, 'WELCOME', 'new');
SQL
sleep 3
tail -n 1 "$OUT/migrate.log" >&2

say "stopping dts-migrate (SIGINT: flush, checkpoint, exit 0)"
kill -INT "$MIGRATE_PID"
wait "$MIGRATE_PID"
MIGRATE_PID=
cat "$OUT/migrate.out" >&2

say "what is in Kafka (decoded with dts-tail)"
target/debug/dts-tail --topic "$topic-orders" --idle-ms 2000 >"$OUT/orders.jsonl" || true
target/debug/dts-tail --topic "$topic" --idle-ms 2000 >"$OUT/others.jsonl" || true
python3 - "$OUT/orders.jsonl" "$OUT/others.jsonl" <<'PY'
import collections, json, sys
rows = [json.loads(l) for f in sys.argv[1:] for l in open(f) if l.strip()]
ops = collections.Counter((r["record"]["objectName"], r["record"]["operation"]) for r in rows if "record" in r)
for (obj, op), n in sorted(ops.items(), key=lambda x: (str(x[0][0]), x[0][1])):
    print(f"  {str(obj):<20} {op:<8} {n}")
print("\nthe live changes, as consumers see them:")
for r in rows:
    rec = r.get("record", {})
    if rec.get("operation") in ("INSERT", "UPDATE", "DELETE", "DDL") and rec.get("objectName") != None:
        if rec.get("operation") == "DDL" and "ALTER" not in json.dumps(rec):
            continue
        print(json.dumps({"partition": r["partition"], "key": r.get("key"), "operation": rec["operation"],
                          "objectName": rec["objectName"], "after": rec.get("afterImages")})[:400])
PY
echo >&2
echo "demo finished: config, logs and records are in $OUT" >&2
