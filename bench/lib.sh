# lib.sh - shared driver of the benchmark suites: build the C side and
# the Erlang side, run each workload RUNS times per side (median), print
#   cleo.<w> <value> <unit> / erlang.<w> <value> <unit> / ratio.<w> <v>
# with ratio > 1 meaning cleo is better. Diagnostics go to stderr.
#
# A suite's run.sh sets, then sources this file and calls bench_main:
#   here, root        its folder and the repository root
#   BENCH_TARGET      cmake target of the C driver
#   BENCH_BIN         its path inside the build dir
#   ERL_SRCS          array of .erl files; ERL_MODULE exports main/1
#   WORKLOADS         space-separated workload names
#   LOWER_IS_BETTER   workloads measured as costs (time, memory, latency)
# Environment: RUNS (3), BUILD_DIR (<root>/build-bench, Release),
# SCHEDULERS (2, both sides), TIMEOUT per run in s (120), SETTLE s (1).

RUNS=${RUNS:-3}
SCHEDULERS=${SCHEDULERS:-2}
TIMEOUT=${TIMEOUT:-120}
SETTLE=${SETTLE:-1}

log() { echo "run.sh: $*" >&2; }

build_c() {
    if [[ -z "${BUILD_DIR:-}" ]]; then
        BUILD_DIR=$root/build-bench
        cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
            -DCLEO_TESTS=OFF >&2
    fi
    cmake --build "$BUILD_DIR" --target "$BENCH_TARGET" -j2 >&2
    bench_bin=$BUILD_DIR/$BENCH_BIN
    [[ -x "$bench_bin" ]] || { log "no $bench_bin"; exit 1; }
}

build_erl() {
    ebin=$(mktemp -d)
    trap 'rm -rf "$ebin"' EXIT
    erlc -o "$ebin" "${ERL_SRCS[@]}" >&2
}

# One run of one side; prints "<value> <unit>". Erlang runs in the temp
# dir so that a crash dump does not land in the tree. +P: skynet keeps up
# to 1.1M processes alive (the default limit is 262144).
run_once() {
    local side=$1 w=$2 out
    if [[ $side == cleo ]]; then
        out=$(timeout "$TIMEOUT" "$bench_bin" "$w" "$SCHEDULERS")
    else
        out=$(cd "$ebin" && timeout "$TIMEOUT" erl +S "$SCHEDULERS" \
            +P 4194304 -noshell -pa "$ebin" -s "$ERL_MODULE" main "$w" \
            -s init stop)
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
    if [[ " $LOWER_IS_BETTER " == *" $w "* ]]; then
        set -- "$e" "$c"
    else
        set -- "$c" "$e"
    fi
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b > 0 ? a / b : 0) }'
}

bench_main() {
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

