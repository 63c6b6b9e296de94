#!/usr/bin/env bash
# Helpers shared by scripts/mariadb.sh, kafka.sh and kafka-secure.sh (sourced, not run):
# port helpers and a Kafka ApiVersions probe. The caller defines die().

# ------------------------------------------------------------ port helpers ---
port_in_use() {  # true if something accepts TCP connections on 127.0.0.1:$1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A currently free TCP port on 127.0.0.1 (python3 asks the kernel; otherwise
# probe random high ports).  start retries if the port gets taken meanwhile.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        if ! port_in_use "$p"; then printf '%s\n' "$p"; return; fi
    done
    die "could not find a free TCP port"
}

# True if a Kafka broker on 127.0.0.1:$1 answers an ApiVersions (v0) request
# with our correlation id and error_code 0.  Pure bash: no client needed.
#   request = int32 size 13 | int16 api_key 18 | int16 version 0
#             | int32 correlation_id 7 | int16 client_id len 3 | "dts"
#   response starts: int32 size | int32 correlation_id | int16 error_code
kafka_answers() {
    local port="$1" reply
    reply="$(
        {
            exec 3<>"/dev/tcp/127.0.0.1/$port"
            printf '\x00\x00\x00\x0d\x00\x12\x00\x00\x00\x00\x00\x07\x00\x03dts' >&3
            timeout 5 head -c 10 <&3 | od -An -v -tx1 | tr -d ' \n'
        } 2>/dev/null
    )" || return 1
    # skip the 4-byte size, then expect correlation id 7 and error code 0
    [ "${reply:8:12}" = "000000070000" ]
}
