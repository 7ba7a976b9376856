#!/usr/bin/env bash
# Set up, build and run every test: Release, then ASan+UBSan, then the
# runtime tests under TSan. Ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

total_pass=0
total_fail=0
failed_names="" # what failed, repeated just above the last line
run_suite() { # flavour ctest-args...
    local flavour=$1; shift
    echo "== $flavour: build" >&2
    if ! scripts/build.sh "$flavour"; then
        echo "== $flavour: BUILD FAILED" >&2
        total_fail=$((total_fail + 1))
        failed_names="$failed_names $flavour:build"
        return
    fi
    echo "== $flavour: test" >&2
    local log
    log=$(mktemp)
    (cd "build/$flavour" && $WRAP ctest --output-on-failure "$@") | tee "$log"
    local line
    line=$(grep -E 'tests passed, [0-9]+ tests failed out of' "$log" | tail -1)
    local failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
    local all=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
    if [ -z "$line" ]; then failed=1; all=1; fi
    local names
    names=$(sed -n '/The following tests FAILED:/,$p' "$log" |
        sed -nE 's/^[[:space:]]*[0-9]+ - ([^ ]+).*/\1/p' | tr '\n' ' ')
    if [ -z "$line" ]; then names="(no ctest summary)"; fi
    for n in $names; do failed_names="$failed_names $flavour:$n"; done
    total_pass=$((total_pass + all - failed))
    total_fail=$((total_fail + failed))
    rm -f "$log"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1}

WRAP=""
# No plain assert()/abort() where they would kill the node (STYLE rule 25).
echo "== lint: assert/abort" >&2
if scripts/lint.sh >&2; then
    total_pass=$((total_pass + 1))
else
    echo "== lint: FAILED" >&2
    total_fail=$((total_fail + 1))
    failed_names="$failed_names lint"
fi
run_suite release
# ASan's reports go to files: Criterion runs each test in a child whose
# exit status it ignores once the test has passed, so a leak report at
# the child's exit would otherwise fail nothing. Any report fails the run.
asan_logs=$(mktemp -d)
# The Raft simulation runs its 1,000 seeds per size in release; 300 under
# ASan keep that flavour's time in bounds.
# The four longest client suites (aws-cli through one node and through a
# split pair, plain and on TLS, and the 1 GiB split stream: 200 s under
# ASan) run in release only: under ASan the same gateway and storage code
# runs in the boto3, s3cmd, rclone and cluster suites, and the whole run
# stays near its 30-minute budget.
ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$asan_logs/asan" \
    CLEO_RAFT_SIM_SEEDS=${CLEO_RAFT_SIM_SEEDS:-300} run_suite asan \
    -E '^integration/(s3_awscli|split_awscli|split_tls_awscli|split_stream)$'
reports=$(grep -lE 'ERROR: (LeakSanitizer|AddressSanitizer)' \
    "$asan_logs"/* 2>/dev/null)
if [ -n "$reports" ]; then
    for f in $(echo "$reports" | head -5); do
        echo "== asan report $f" >&2
        grep -vE '^ +#[0-9]+ .* in (_start|__libc_start)' "$f" | head -40 >&2
    done
    total_fail=$((total_fail + 1))
    failed_names="$failed_names asan:reports($(echo "$reports" | wc -l))"
fi
rm -rf "$asan_logs"
# TSan needs the classic address-space layout on kernels with high mmap
# entropy: setarch -R turns randomisation off for ctest and its children.
if setarch "$(uname -m)" -R true 2>/dev/null; then
    WRAP="setarch $(uname -m) -R"
fi
run_suite tsan -R '^(runtime|actors|supervisors)/'
# Every libFuzzer target (ASan+UBSan), 60 s each. Their chatter goes to a
# log; on failure its last lines are shown.
echo "== fuzz" >&2
fuzz_log=$(mktemp)
if tests/fuzz/run.sh "${FUZZ_SECONDS:-60}" >"$fuzz_log" 2>&1; then
    grep -E '^Done [0-9]+ runs' "$fuzz_log" >&2
    total_pass=$((total_pass + 1))
else
    tail -60 "$fuzz_log" >&2
    echo "== fuzz: FAILED" >&2
    total_fail=$((total_fail + 1))
    failed_names="$failed_names fuzz"
fi
rm -f "$fuzz_log"
if [ -n "$failed_names" ]; then echo "FAILED:$failed_names"; fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
