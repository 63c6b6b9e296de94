#!/usr/bin/env bash
# Throw-away TLS material for the local test servers:
#
#   scripts/test-certs.sh DIR SUBJECT_ALT_NAME
#
# writes DIR/ca.pem (a CA), DIR/server.pem + DIR/server-key.pem (a server certificate for
# SUBJECT_ALT_NAME, e.g. "DNS:localhost" or "DNS:localhost,IP:127.0.0.1", signed by that CA) and
# DIR/other-ca.pem (a second CA that signed nothing, for the tests that must refuse it). Does
# nothing when DIR/server.pem exists. openssl's output goes to DIR/openssl.log.
set -euo pipefail
dir="$1" san="$2"
complete() {
    local f
    for f in ca.pem other-ca.pem server.pem server-key.pem; do [ -s "$dir/$f" ] || return 1; done
}
complete && exit 0
command -v openssl >/dev/null 2>&1 || { echo "openssl not found (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
{
    for ca in ca other-ca; do
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=dts test $ca" \
            -keyout "$ca-key.pem" -out "$ca.pem"
    done
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server-key.pem -out server.csr
    printf 'subjectAltName=%s\n' "$san" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
        -days 3650 -extfile server.ext -out server.pem
} >openssl.log 2>&1 || true
# (set -e does not stop inside the group above: the files themselves say whether it worked.)
complete || { tail -n 20 openssl.log >&2; echo "making TLS certificates in $dir failed" >&2; exit 1; }
