# asynchat: bench: what the benchmark scripts share, sourced: starting a server pinned to cores,
# running the load generator against it while reading the server's CPU time, idle memory, medians
# SPDX-License-Identifier: BSL-1.0
#
# The sourcing script sets tmp (a scratch directory) and, for measure and idle_bytes, loadgen
# (the load generator's path). The server is the one start_pinned started: $pid on $port. The
# load generator runs on core 1.

# start_pinned CORES COMMAND...: start `COMMAND --port 0` on CORES (taskset), wait up to 5 s for
# its "listening on 127.0.0.1:PORT" line; sets pid and port.
start_pinned() {
    local cores=$1
    shift
    rm -f "$tmp/server.out" # a stale file would give the last server's port
    taskset -c "$cores" "$@" --port 0 >"$tmp/server.out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/server.out" 2>/dev/null)
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "the server did not start: $* ($(cat "$tmp/server.out"))" >&2
    return 1
}
stop_server() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
# field NAME: the value of NAME=... in a result line on stdin.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# measure LOADGEN_ARGS...: run the load generator against the server and print its result line
# (with server_cpu, the share of a core the server used over the load generator's measuring
# time, which loadgen reads from /proc) and lines_per_cpu_s added: the lines answered per second
# of server CPU time, the server's efficiency whichever side was the limit. Exits if the load
# generator fails.
measure() {
    local out
    if ! out=$(taskset -c 1 "$loadgen" --port "$port" --server-pid "$pid" "$@"); then
        echo "the load generator failed ($*): $out" >&2
        exit 1
    fi
    awk -v out="$out" -v cpu="$(echo " $out" | field server_cpu)" -v l="$(echo " $out" | field lines_per_s)" \
        'BEGIN { printf "%s lines_per_cpu_s=%.0f\n", out, (cpu > 0 ? l / cpu : 0) }'
}

# idle_bytes N LOADGEN_ARGS...: open N connections to the server (--mode idle: one exchange
# each, then held), and print the growth of its resident memory per connection in bytes; prints
# nothing if not every connection was answered within 120 s. Raise `ulimit -n` first.
idle_bytes() {
    local n=$1 before after lg
    shift
    before=$(rss_kb "$pid")
    rm -f "$tmp/idle.out"
    taskset -c 1 "$loadgen" --port "$port" --mode idle --connections "$n" --seconds 2 "$@" >"$tmp/idle.out" &
    lg=$!
    for _ in $(seq 2400); do grep -q ready "$tmp/idle.out" 2>/dev/null && break; sleep 0.05; done
    if ! grep -q ready "$tmp/idle.out"; then
        echo "idle: the load generator did not get all $n connections answered in 120 s" >&2
        kill "$lg" 2>/dev/null || true
        wait "$lg" 2>/dev/null || true
        return 0
    fi
    after=$(rss_kb "$pid")
    wait "$lg" || true
    echo $(((after - before) * 1024 / n))
}
