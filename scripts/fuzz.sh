#!/usr/bin/env bash
# Runs one cargo-fuzz target, its corpus seeded from the real binlogs in the shared fixture
# folder (copied under fuzz/corpus/, which git ignores: the fixtures never enter the repo).
#
# Usage: scripts/fuzz.sh TARGET [SECONDS]      (default 600 s)
#   targets: binlog_file event_framing event_body rows_event json_binary decimal
#            avro_decode positions
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable toolchain is used through
# RUSTC_BOOTSTRAP=1 for the sanitizer flags.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:?usage: scripts/fuzz.sh TARGET [SECONDS]}"
secs="${2:-600}"
shared="${DTS_SHARED:-$REPO/../shared}"
[ -d "$shared" ] || shared=/work/shared
fixtures="${DTS_BINLOG_FIXTURES:-$shared/fixtures/binlogs}"
corpus="$REPO/fuzz/corpus/$target"
mkdir -p "$corpus"
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz" >&2; exit 1; }

if [ -d "$fixtures" ]; then
python3 - "$target" "$fixtures" "$corpus" <<'PY'
import gzip, hashlib, os, struct, sys
target, fixtures, out = sys.argv[1:]
KINDS = [23, 24, 25, 30, 31, 32, 39, 166, 167, 168, 169, 170, 171]
def files():
    for root, _, names in os.walk(fixtures):
        for n in names:
            if n.endswith(('.txt', '.md')) or n.startswith('plaintext-'):
                continue
            p = os.path.join(root, n)
            d = open(p, 'rb').read()
            yield gzip.decompress(d) if n.endswith('.gz') else d
def events(d):
    p, crc = 4, 0
    while p + 19 <= len(d):
        ts, ty, sid, sz, lp, fl = struct.unpack('<IBIIIH', d[p:p + 19])
        if sz < 19 or p + sz > len(d):
            return
        e = d[p:p + sz]
        if ty == 15:
            ver = e[21:71].split(b'\0')[0]
            crc = 4 if (b'MariaDB' in ver or tuple(int(x) for x in ver.split(b'-')[0].split(b'.')[:3]) >= (5, 6, 1)) and e[-5] == 1 else 0
        yield ty, e[19:len(e) - crc] if ty != 15 else e[19:]
        p += sz
def save(data):
    if len(data) <= 1 << 16:
        open(os.path.join(out, hashlib.sha1(data).hexdigest()), 'wb').write(data)
n = 0
for d in files():
    if target == 'binlog_file':
        save(d[:1 << 16]); n += 1
    elif target == 'event_framing':
        save(b'\x40' + d[4:1 << 15]); n += 1
    else:
        maps = {}
        for ty, body in events(d):
            if target == 'event_body':
                save(bytes([0, ty]) + body); n += 1
            elif target == 'rows_event':
                if ty == 19:
                    maps[body[:6]] = body
                elif ty in KINDS and body[:6] in maps and len(maps[body[:6]]) < 256:
                    m = maps[body[:6]]
                    save(bytes([len(m), KINDS.index(ty)]) + m + body); n += 1
print(f"seeded {n} inputs into {out}", file=sys.stderr)
PY
fi
cd "$REPO/fuzz"
RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$corpus" -- -max_total_time="$secs" -rss_limit_mb=2048
