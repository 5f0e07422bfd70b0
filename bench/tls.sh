#!/usr/bin/env bash
# asynchat: bench: TLS: the echo example with --tls against a hand-tuned Asio TLS echo server
# SPDX-License-Identifier: BSL-1.0
#
# Usage: bench/tls.sh [BUILD_DIR]    (REPS=5 SECONDS_PER_RUN=3 IDLE_CONNECTIONS=2000
#                                     SERVERS="asynchat asio_tls")
# Every connection is TLS 1.3 with TLS_AES_128_GCM_SHA256 (loadgen --tls offers nothing else).
# pipeline: 50 connections x 64 lines of 32 B in flight; bulk: 4 connections x 16 lines of
# 64 KiB (1 MiB in flight on each); idle: IDLE_CONNECTIONS connections, each after its
# handshake and one exchange: the server's RSS growth per connection. Servers on core 0, the
# load generator on core 1, the servers interleaved (A B A B ...) REPS times; medians. Lines
# per server CPU-second compare the servers whichever side was the limit (the load generator
# encrypts and decrypts as much as the server).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
reps=${REPS:-5}
secs=${SECONDS_PER_RUN:-3}
idle_n=${IDLE_CONNECTIONS:-2000}
servers=${SERVERS:-asynchat asio_tls}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
. bench/lib.sh

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DASYNCHAT_BUILD_BENCHMARKS=ON -DASYNCHAT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target asynchat_example_echo_server asynchat_bench_loadgen \
    asynchat_bench_asio_tls_echo >/dev/null
ulimit -n "$(ulimit -Hn)" # the idle rows hold IDLE_CONNECTIONS descriptors per process

declare -A cmd=(
    [asynchat]="$build/example/asynchat_example_echo_server --tls"
    [asio_tls]="$build/bench/asynchat_bench_asio_tls_echo"
)
loadgen="$build/bench/asynchat_bench_loadgen"
declare -A load=(
    [pipeline]="--mode pipeline --connections 50 --window 64 --length 32"
    [bulk]="--mode bulk --connections 4 --window 16 --length 65536"
)

# Rows "scenario server field value", appended to $tmp/rows.
for _ in $(seq "$reps"); do
    for sc in pipeline bulk; do
        for s in $servers; do
            start_pinned 0 ${cmd[$s]}
            out=$(measure --tls ${load[$sc]} --seconds "$secs")
            stop_server
            cipher=$(echo " $out" | field cipher)
            if [ "$cipher" != TLS_AES_128_GCM_SHA256 ]; then
                echo "$s ran cipher '$cipher', not TLS_AES_128_GCM_SHA256" >&2
                exit 1
            fi
            for f in lines_per_s mb_per_s server_cpu loadgen_cpu lines_per_cpu_s; do
                echo "$sc $s $f $(echo " $out" | field "$f")" >>"$tmp/rows"
            done
        done
    done
    for s in $servers; do
        start_pinned 0 ${cmd[$s]}
        b=$(idle_bytes "$idle_n" --tls)
        stop_server
        [ -n "$b" ] && echo "idle $s bytes_per_conn $b" >>"$tmp/rows"
    done
done

awk '{print $1, $2, $3}' "$tmp/rows" | sort -u | while read -r sc sv f; do
    echo "$sc $sv $f $(awk -v a="$sc" -v b="$sv" -v c="$f" '$1==a && $2==b && $3==c {print $4}' "$tmp/rows" | median)"
done >"$tmp/medians"
echo "TLS 1.3, TLS_AES_128_GCM_SHA256. Medians of $reps runs of $secs s; idle: $idle_n connections."
echo "CPU columns are shares of one core."
echo
echo "| scenario | server | lines/s | MB/s | server CPU | loadgen CPU | lines per server CPU-second | idle bytes/connection |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
awk '
    { key = $1 " " $2; if (!(key in seen)) { seen[key] = 1; order[++n] = key } v[key, $3] = $4 }
    function show(key, f, fmt) { return (key, f) in v ? sprintf(fmt, v[key, f]) : "" }
    END {
        for (i = 1; i <= n; ++i) {
            split(order[i], k, " ")
            printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", k[1], k[2],
                show(order[i], "lines_per_s", "%.0f"), show(order[i], "mb_per_s", "%.0f"),
                show(order[i], "server_cpu", "%.2f"), show(order[i], "loadgen_cpu", "%.2f"),
                show(order[i], "lines_per_cpu_s", "%.0f"), show(order[i], "bytes_per_conn", "%.0f")
        }
    }' "$tmp/medians"

# asynchat against the hand-written server, per scenario, when both ran.
awk '
    $3 == "lines_per_cpu_s" || $3 == "bytes_per_conn" { v[$1, $2] = $4; sc[$1] = $3 }
    END {
        for (s in sc)
            if ((s, "asynchat") in v && (s, "asio_tls") in v && v[s, "asio_tls"] > 0)
                printf "%s: asynchat / asio_tls = %.2f (%s)\n", s, v[s, "asynchat"] / v[s, "asio_tls"],
                    sc[s] == "bytes_per_conn" ? "idle bytes per connection" : "lines per server CPU-second"
    }' "$tmp/medians" | sort
