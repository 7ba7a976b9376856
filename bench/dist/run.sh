#!/usr/bin/env bash
# run.sh - the distribution benchmark (issue 10): two cleo runtimes in two
# processes on loopback (bench_dist serve / run), then two Erlang/OTP
# nodes (dist_bench.erl, erl -name ...@127.0.0.1) with the same
# workloads, in one run. Prints per workload
#   cleo.<w> <value> <unit> / erlang.<w> <value> <unit> / ratio.<w> <v>x
# (ratio = cleo/erlang, > 1 means cleo is faster). Diagnostics go to stderr.
#
# It builds nothing: it runs $BUILD/bench/dist/bench_dist, so build first:
#   cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
#   cmake --build build/release --target bench_dist
# The .erl is compiled into a temp dir with erlc.
#
# Fairness: each process runs one scheduler (bench_dist: schedulers = 1,
# plus cleo's distribution thread; erl: +S 1, plus its own I/O poll
# thread), so the two nodes of a pair share the machine's 2 cores alike.
# The Erlang nodes find each other through an epmd of our own on a free
# port (ERL_EPMD_PORT), not the machine's 4369; cleo's server listens on
# a port the kernel picks and prints it. Every node, epmd included, is
# killed on exit (trap), and each step runs under `timeout`.
#
# Environment: BUILD (default <repo>/build/release), RUNS (1; the median
# is printed), WORKLOADS ("dist_send dist_pingpong dist_bulk"), TIMEOUT
# per client run in s (120).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=$(realpath -m "${BUILD:-$root/build/release}")
RUNS=${RUNS:-1}
WORKLOADS=${WORKLOADS:-"dist_send dist_pingpong dist_bulk"}
TIMEOUT=${TIMEOUT:-120}
bin=$BUILD/bench/dist/bench_dist
host=127.0.0.1
# Whole-run bound for the servers: every client run plus slack.
serve_s=$(((RUNS * 3 + 2) * TIMEOUT))

log() { echo "run.sh: $*" >&2; }

[[ -x $bin ]] || { log "no $bin: build the bench_dist target first"; exit 1; }
for t in erl erlc epmd; do
    command -v "$t" >/dev/null || { log "$t not found"; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A fresh cookie, given to cleo by CLEO_COOKIE and to erl by -setcookie.
cookie=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export CLEO_COOKIE=$cookie

# A TCP port on 127.0.0.1 that nobody listens on.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000)) # below the ephemeral range
        (exec 3<>/dev/tcp/$host/$p) 2>/dev/null || { echo "$p"; return; }
    done
}

# Wait up to 15 s for a listener on port $1 while pid $2 lives.
wait_port() {
    local i
    for ((i = 0; i < 150; i++)); do
        (exec 3<>/dev/tcp/$host/$1) 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# Median of the values given (one per argument).
median() {
    printf '%s\n' "$@" | sort -g | awk '
        { v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]
              else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# run_side <side> <w> <client function> <w>: RUNS runs (the run number
# is the last argument), prints the median as "value unit".
run_side() {
    local side=$1 w=$2 i out vals=() unit=""
    shift 2
    for ((i = 0; i < RUNS; i++)); do
        out=$("$@" "$i") ||
            { log "$side $w failed (status $?)"; return 1; }
        [[ $out =~ ^$side\.$w\ ([0-9.]+)\ (.+)$ ]] ||
            { log "$side $w: unexpected output '$out'"; return 1; }
        log "$side.$w run $((i + 1)): ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
        vals+=("${BASH_REMATCH[1]}")
        unit=${BASH_REMATCH[2]}
    done
    echo "$(median "${vals[@]}") $unit"
}

# ---- cleo: node b serves, node a (a new process per run) drives.
timeout "$serve_s" "$bin" serve "b@$host" "$serve_s" \
    >"$tmp/cleo_b.out" 2>"$tmp/cleo_b.err" &
cleo_b=$!
pids+=("$cleo_b")
for ((i = 0; i < 150; i++)); do
    [[ -s $tmp/cleo_b.out ]] && break
    kill -0 "$cleo_b" 2>/dev/null || break
    sleep 0.1
done
cleo_port=$(awk '/^port / { print $2 }' "$tmp/cleo_b.out")
[[ -n $cleo_port ]] || { log "cleo node b did not start:"; cat "$tmp/cleo_b.err" >&2; exit 1; }
log "cleo node b on port $cleo_port"

cleo_client() { # w run
    timeout "$TIMEOUT" "$bin" run "a_$2_$1@$host" "b@$host:$cleo_port" "$1"
}

declare -A cleo_res erl_res
status=0
for w in $WORKLOADS; do
    cleo_res[$w]=$(run_side cleo "$w" cleo_client "$w") ||
        { status=1; cleo_res[$w]="0 ?"; }
done
kill "$cleo_b" 2>/dev/null || true
wait "$cleo_b" 2>/dev/null || true
grep -v 'lost: closed by peer' "$tmp/cleo_b.err" >&2 || true

# ---- Erlang: our own epmd, node b serves, node a per run drives.
erlc -o "$tmp" "$here/dist_bench.erl" >&2
export ERL_EPMD_PORT
ERL_EPMD_PORT=$(free_port)
timeout "$serve_s" epmd -port "$ERL_EPMD_PORT" >/dev/null 2>&1 &
pids+=("$!")
wait_port "$ERL_EPMD_PORT" "$!" || { log "epmd did not start"; exit 1; }
# A crash dump goes to the temp dir, not the tree.
export ERL_CRASH_DUMP=$tmp/erl_crash.dump
erl_args=(-setcookie "$cookie" -start_epmd false +S 1 -noshell -pa "$tmp")
timeout "$serve_s" erl -name "b@$host" "${erl_args[@]}" \
    -s dist_bench serve >"$tmp/erl_b.out" 2>&1 &
pids+=("$!")

erl_client() { # w run
    timeout "$TIMEOUT" erl -name "a_$2_$1@$host" "${erl_args[@]}" \
        -s dist_bench main "$1" "b@$host" -s init stop
}

for w in $WORKLOADS; do
    erl_res[$w]=$(run_side erlang "$w" erl_client "$w") ||
        { status=1; erl_res[$w]="0 ?"; }
done

for w in $WORKLOADS; do
    c=${cleo_res[$w]}
    e=${erl_res[$w]}
    echo "cleo.$w $c"
    echo "erlang.$w $e"
    awk -v w="$w" -v a="${c%% *}" -v b="${e%% *}" \
        'BEGIN { printf "ratio.%s %.2f x\n", w, (b > 0 ? a / b : 0) }'
done
exit $status
