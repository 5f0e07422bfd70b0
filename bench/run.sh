#!/usr/bin/env bash
# asynchat: bench: run every scenario against every server, interleaved, and print the table
# SPDX-License-Identifier: BSL-1.0
#
# Usage: bench/run.sh [BUILD_DIR]    (REPS=5 SECONDS_PER_RUN=3 IDLE_CONNECTIONS=10000)
# Servers run pinned to core 0 (the 2-thread one on cores 0 and 1), the load generator to core 1.
# Each scenario runs the servers in turn (A B C A B C ...) REPS times; the table gives medians.
# A row whose load generator used more than 90% of its core is flagged loadgen-bound: its
# lines/s measure the load generator, so servers are compared by lines per server CPU-second.
# Needs python3 with asynchat (CPython <= 3.11) for the CPython column.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
reps=${REPS:-5}
secs=${SECONDS_PER_RUN:-3}
idle_n=${IDLE_CONNECTIONS:-10000}
bound=0.90 # a load generator above this share of its core is the limit
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DASYNCHAT_BUILD_BENCHMARKS=ON -DASYNCHAT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target asynchat_example_echo_server asynchat_bench_loadgen \
    asynchat_bench_asio_idiomatic asynchat_bench_asio_tuned asynchat_bench_raw_echo >/dev/null
ulimit -n "$(ulimit -Hn)" # the idle scenario holds IDLE_CONNECTIONS descriptors per process

declare -A cmd=(
    [asynchat]="$build/example/asynchat_example_echo_server"
    [asynchat_2t]="$build/example/asynchat_example_echo_server --threads 2"
    [asio_tuned]="$build/bench/asynchat_bench_asio_tuned"
    [asio_idiomatic]="$build/bench/asynchat_bench_asio_idiomatic"
    [cpython]="python3 bench/cpython_echo.py"
    [raw]="$build/bench/asynchat_bench_raw_echo"
)
loadgen="$build/bench/asynchat_bench_loadgen"

start_server() { # name -> sets pid, port
    local cores=0
    [ "$1" = asynchat_2t ] && cores=0,1
    rm -f "$tmp/server.out" # a stale file would give the last server's port
    taskset -c $cores ${cmd[$1]} --port 0 >"$tmp/server.out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        # The server may not have created the file yet: sed's failure must not end the script.
        port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/server.out" 2>/dev/null || true)
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "server $1 did not start" >&2
    return 1
}
# stop_server, field, median (shared with tls.sh).
. bench/lib.sh

# scenario NAME "SERVERS" "LOADGEN ARGS" FIELD...: appends "scenario server field value" rows.
# Besides the fields asked for: loadgen_cpu and server_cpu, the share of a core each used while
# the load generator measured (it reads the server's CPU time from /proc at the start and the
# end of its measuring time), and lines_per_cpu_s, the lines answered per second of server CPU
# time over that same interval: the servers' efficiency, whichever side was the bottleneck.
scenario() {
    local name=$1 servers=$2 args=$3
    shift 3
    for _ in $(seq "$reps"); do
        for s in $servers; do
            start_server "$s"
            local out
            if ! out=$(taskset -c 1 "$loadgen" --port "$port" $args --seconds "$secs" --server-pid "$pid"); then
                echo "the load generator failed against $s: $out" >&2
                exit 1
            fi
            stop_server
            for f in "$@" loadgen_cpu server_cpu; do echo "$name $s $f $(echo " $out" | field "$f")" >>"$tmp/rows"; done
            awk -v n="$name" -v s="$s" -v c="$(echo " $out" | field server_cpu)" -v l="$(echo " $out" | field lines_per_s)" \
                'BEGIN { if (c > 0) printf "%s %s lines_per_cpu_s %.0f\n", n, s, l / c }' >>"$tmp/rows"
        done
    done
}

scenario pipeline "asynchat asio_tuned asio_idiomatic cpython" "--mode pipeline --connections 50 --window 64 --length 32" lines_per_s
scenario pipeline_2t "asynchat_2t asynchat" "--mode pipeline --connections 50 --window 64 --length 32" lines_per_s
scenario pingpong_c1 "asynchat asio_tuned asio_idiomatic cpython" "--mode pingpong --connections 1 --length 32" lines_per_s p99_us
scenario pingpong_c50 "asynchat asio_tuned asio_idiomatic cpython" "--mode pingpong --connections 50 --length 32" lines_per_s p99_us
scenario bulk "asynchat asio_tuned raw" "--mode bulk --connections 1 --window 16 --length 16384" mb_per_s

# idle: the server's RSS growth per connection, once every connection made one exchange.
for _ in $(seq "$reps"); do
    for s in asynchat asio_tuned asio_idiomatic cpython; do
        start_server "$s"
        before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
        rm -f "$tmp/idle.out"
        taskset -c 1 "$loadgen" --port "$port" --mode idle --connections "$idle_n" --seconds 2 >"$tmp/idle.out" &
        lg=$!
        # CPython's asyncore takes tens of seconds for 10,000 connections on a loaded machine.
        for _ in $(seq 2400); do grep -q ready "$tmp/idle.out" 2>/dev/null && break; sleep 0.05; done
        if ! grep -q ready "$tmp/idle.out"; then
            # Leave the row out and keep the rest of the table.
            echo "idle: the load generator did not get every connection answered by $s in 120 s" >&2
            kill "$lg" 2>/dev/null || true
            wait "$lg" 2>/dev/null || true
            stop_server
            continue
        fi
        after=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
        wait $lg || true
        stop_server
        echo "idle $s bytes_per_conn $(( (after - before) * 1024 / idle_n ))" >>"$tmp/rows"
    done
done

# The table: one row per scenario and server, the median of each field.
awk '{print $1, $2, $3}' "$tmp/rows" | sort -u | while read -r sc sv f; do
    echo "$sc $sv $f $(awk -v a="$sc" -v b="$sv" -v c="$f" '$1==a && $2==b && $3==c {print $4}' "$tmp/rows" | median)"
done >"$tmp/medians"
echo "Medians of $reps interleaved runs of ${secs} s; CPU columns are shares of one core (user + system"
echo "time over wall time; loadgen CPU is the load generator's own getrusage over its measuring time)."
echo "loadgen-bound: the load generator used more than $bound of its core, so it, not the server, set"
echo "lines/s; compare such rows by lines per server CPU-second only. Every 'vs tuned' ratio is against"
echo "asio_tuned in the same scenario: 'per server CPU-s' divides lines per server CPU-second (above 1:"
echo "less server CPU per line than the tuned server), 'p99' divides ping-pong p99 latencies (above 1:"
echo "slower). No ratio where a scenario has no asio_tuned row (pipeline_2t: compare its two rows)."
echo
echo "| scenario | server | lines/s | MB/s | p99 us | p99 vs tuned | server CPU | loadgen CPU | loadgen-bound | lines per server CPU-second | vs tuned, per server CPU-s | idle bytes/connection |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
awk -v bound="$bound" '
    { key = $1 " " $2; if (!(key in seen)) { seen[key] = 1; order[++n] = key } v[key, $3] = $4 }
    function show(key, f, fmt) { return (key, f) in v ? sprintf(fmt, v[key, f]) : "" }
    # The row over the tuned server of the same scenario, as "0.97 x".
    function vs_tuned(key, f, scenario,    t) {
        t = scenario " asio_tuned"
        return (key, f) in v && (t, f) in v && v[t, f] > 0 ? sprintf("%.2f x", v[key, f] / v[t, f]) : ""
    }
    END {
        for (i = 1; i <= n; ++i) {
            split(order[i], k, " ")
            flag = (order[i], "loadgen_cpu") in v && v[order[i], "loadgen_cpu"] > bound ? "yes" : ""
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", k[1], k[2],
                show(order[i], "lines_per_s", "%.0f"), show(order[i], "mb_per_s", "%.0f"),
                show(order[i], "p99_us", "%.0f"), vs_tuned(order[i], "p99_us", k[1]),
                show(order[i], "server_cpu", "%.2f"), show(order[i], "loadgen_cpu", "%.2f"), flag,
                show(order[i], "lines_per_cpu_s", "%.0f"), vs_tuned(order[i], "lines_per_cpu_s", k[1]),
                show(order[i], "bytes_per_conn", "%.0f")
        }
    }' "$tmp/medians"
