#!/usr/bin/env bash
# run.sh - the runtime benchmark: six workloads on cleo (bench_rt) and on
# Erlang/OTP (erlang/bench.erl), side by side.
#
# Prints 18 lines on stdout, per workload:
#   cleo.<w> <value> <unit>
#   erlang.<w> <value> <unit>
#   ratio.<w> <value>      (> 1 means cleo is better)
# each value the median of RUNS runs (default 3). Diagnostics go to stderr.
#
# Environment: RUNS (default 3); BUILD_DIR (default <repo>/build-bench,
# configured Release without tests); SCHEDULERS (default 2, both sides);
# WORKLOADS (default all six); TIMEOUT per run in seconds (default 120);
# SETTLE seconds of pause before each run (default 1).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-3}
SCHEDULERS=${SCHEDULERS:-2}
TIMEOUT=${TIMEOUT:-120}
SETTLE=${SETTLE:-1}
WORKLOADS=${WORKLOADS:-"spawn ring pingpong skynet idle_mem call"}

log() { echo "run.sh: $*" >&2; }

build_c() {
    if [[ -z "${BUILD_DIR:-}" ]]; then
        BUILD_DIR=$root/build-bench
        cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
            -DCLEO_TESTS=OFF >&2
    fi
    cmake --build "$BUILD_DIR" --target bench_rt -j2 >&2
    bench_rt=$BUILD_DIR/bench/runtime/bench_rt
    [[ -x "$bench_rt" ]] || { log "no $bench_rt"; exit 1; }
}

build_erl() {
    ebin=$(mktemp -d)
    trap 'rm -rf "$ebin"' EXIT
    erlc -o "$ebin" "$here/erlang/bench.erl" >&2
}

# One run of one side; prints "<value> <unit>". Erlang runs in the temp
# dir so that a crash dump does not land in the tree. +P: skynet keeps up
# to 1.1M processes alive (the default limit is 262144).
run_once() {
    local side=$1 w=$2 out
    if [[ $side == cleo ]]; then
        out=$(timeout "$TIMEOUT" "$bench_rt" "$w" "$SCHEDULERS")
    else
        out=$(cd "$ebin" && timeout "$TIMEOUT" erl +S "$SCHEDULERS" \
            +P 4194304 -noshell -pa "$ebin" -s bench main "$w" -s init stop)
    fi || { log "$side $w failed (status $?)"; return 1; }
    [[ $out =~ ^$side\.$w\ ([0-9.]+)\ (.+)$ ]] ||
        { log "$side $w: unexpected output '$out'"; return 1; }
    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
}

# Median of RUNS runs; prints "<value> <unit>", or fails if any run did.
median_of() {
    local side=$1 w=$2 i vals=() unit="" r
    for ((i = 0; i < RUNS; i++)); do
        # Let the kernel finish reclaiming the previous run's memory (after
        # Erlang's 1+ GB skynet heap, cleo's next runs were seen at half
        # speed while it did).
        sleep "$SETTLE"
        r=$(run_once "$side" "$w") || return 1
        log "$side.$w run $((i + 1)): $r"
        vals+=("${r%% *}")
        unit=${r#* }
    done
    printf '%s\n' "${vals[@]}" | sort -g | awk -v u="$unit" '
        { v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2], u
              else printf "%.2f %s\n", (v[NR / 2] + v[NR / 2 + 1]) / 2, u }'
}

# Higher is better for cleo: throughput cleo/erlang, costs erlang/cleo.
ratio() {
    local w=$1 c=$2 e=$3
    case $w in
    skynet | idle_mem) set -- "$e" "$c" ;;
    *) set -- "$c" "$e" ;;
    esac
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b > 0 ? a / b : 0) }'
}

main() {
    local w c e status=0
    command -v erl >/dev/null || { log "erl not found"; exit 1; }
    build_c
    build_erl
    for w in $WORKLOADS; do
        c=$(median_of cleo "$w") || { status=1; c="0 ?"; }
        e=$(median_of erlang "$w") || { status=1; e="0 ?"; }
        echo "cleo.$w $c"
        echo "erlang.$w $e"
        echo "ratio.$w $(ratio "$w" "${c%% *}" "${e%% *}")"
    done
    exit $status
}

main "$@"
