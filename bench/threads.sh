#!/usr/bin/env bash
# asynchat: bench: does a second thread pay? The echo example on 1 thread, on 2 threads with a
# strand per connection (--threads 2), and on 2 io_contexts sharing the port (--listeners 2),
# under the pipeline load: lines per server CPU-second, and callgrind instructions per line.
# SPDX-License-Identifier: BSL-1.0
#
# Usage: bench/threads.sh [BUILD_DIR]    (REPS=3 SECONDS_PER_RUN=3; CALLGRIND=0 skips valgrind)
# The load generator runs on core 1. "spread": the server may use cores 0 and 1 (its second
# thread then competes with the load generator); "core 0": every server thread on core 0 (the
# cost of the threading itself, with no second core to gain).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
reps=${REPS:-3}
secs=${SECONDS_PER_RUN:-3}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DASYNCHAT_BUILD_BENCHMARKS=ON -DASYNCHAT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target asynchat_example_echo_server asynchat_bench_loadgen >/dev/null
server="$build/example/asynchat_example_echo_server"
loadgen="$build/bench/asynchat_bench_loadgen"
load="--mode pipeline --connections 50 --window 64 --length 32"
declare -A args=([1t]="" [2t]="--threads 2" [2io]="--listeners 2")

start() { # cores wrapper... -> sets pid, port
    local cores=$1
    shift
    rm -f "$tmp/out"
    taskset -c "$cores" "$@" --port 0 >"$tmp/out" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        # The server may not have created the file yet: sed's failure must not end the script.
        port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/out" 2>/dev/null || true)
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "the server did not start: $*" >&2
    exit 1
}
stop() { kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cpu_ticks() { # the process's user+system ticks, its threads included
    awk '{print $14 + $15}' "/proc/$1/stat"
}

echo "Medians of $reps runs of $secs s, pipeline load (50 connections x 64 lines of 32 B)."
echo
echo "| server | cores | lines/s | server CPU | loadgen CPU | lines per server CPU-second | vs 1 thread |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
for cores in 0,1 0; do
    for _ in $(seq "$reps"); do
        for m in 1t 2t 2io; do
            start "$cores" $server ${args[$m]}
            t0=$(date +%s.%N)
            c0=$(cpu_ticks "$pid")
            out=$(taskset -c 1 "$loadgen" --port "$port" $load --seconds "$secs")
            c1=$(cpu_ticks "$pid")
            t1=$(date +%s.%N)
            stop
            l=$(echo " $out" | field lines_per_s)
            lg=$(echo " $out" | field loadgen_cpu)
            awk -v m="$m" -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$t1" \
                -v l="$l" -v lg="$lg" 'BEGIN { cpu = c / hz / (t1 - t0);
                printf "%s lines %f\n%s cpu %f\n%s lg %f\n%s eff %f\n", m, l, m, cpu, m, lg, m, l / cpu }' \
                >>"$tmp/rows.$cores"
        done
    done
    base=$(awk '$1 == "1t" && $2 == "eff" {print $3}' "$tmp/rows.$cores" | median)
    for m in 1t 2t 2io; do
        get() { awk -v m="$m" -v f="$1" '$1 == m && $2 == f {print $3}' "$tmp/rows.$cores" | median; }
        eff=$(get eff)
        printf "| %s | %s | %.0f | %.2f | %.2f | %.0f | %.2f x |\n" "$m ${args[$m]}" \
            "$([ "$cores" = 0 ] && echo "core 0" || echo spread)" "$(get lines)" "$(get cpu)" "$(get lg)" \
            "$eff" "$(echo "$eff $base" | awk '{print $1 / $2}')"
    done
done

[ "${CALLGRIND:-1}" = 0 ] && exit 0
command -v valgrind >/dev/null || { echo "valgrind not found: no instruction counts"; exit 0; }
echo
echo "| server | instructions | lines | instructions per line | vs 1 thread |"
echo "| --- | ---: | ---: | ---: | ---: |"
for m in 1t 2t 2io; do
    start 0,1 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$m" $server ${args[$m]}
    out=$(taskset -c 1 "$loadgen" --port "$port" $load --seconds "$secs")
    stop
    lines=$(echo " $out" | field total_lines)
    ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p' "$tmp/cg.$m"* | awk '{s += $1} END {print s}')
    echo "$m $ir $lines" >>"$tmp/cg"
    base=$(awk '$1 == "1t" {print $2 / $3}' "$tmp/cg")
    printf "| %s | %s | %s | %.0f | %.2f x |\n" "$m ${args[$m]}" "$ir" "$lines" \
        "$(echo "$ir $lines" | awk '{print $1 / $2}')" "$(echo "$ir $lines $base" | awk '{print $1 / $2 / $3}')"
done
