#!/usr/bin/env bash
# run.sh - the storage benchmark (issue #4): the engine actor driven by
# client actors in-process (sto_bench), beside the disk's own limits
# measured in the same run on the same filesystem. Prints
#   storage.<figure> <value> <unit>   limit.<figure> <value> <unit>
#   ratio.<a>_vs_<b> <value>
# Diagnostics go to stderr.
#
# It builds nothing: it runs $BUILD/bench/storage/sto_bench, so build first:
#   cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
#   cmake --build build/release --target sto_bench
# Environment: BUILD (build dir, default <repo>/build/release), SECONDS_PER
# (seconds per ops/s figure, 5), SCHEDULERS (2), DIRTY_THREADS (0 = the
# runtime's default, 4, as the node runs), BENCH_TMP (scratch dir parent;
# default: the build dir, which is on the repository's filesystem — never
# /tmp if that is a tmpfs). Takes about a minute and 3 GiB of disk.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=$(realpath -m "${BUILD:-$root/build/release}")
SECONDS_PER=${SECONDS_PER:-5}
SCHEDULERS=${SCHEDULERS:-2}
DIRTY_THREADS=${DIRTY_THREADS:-0}
bin=$BUILD/bench/storage/sto_bench

log() { echo "run.sh: $*" >&2; }

[[ -x $bin ]] || { log "no $bin: build the sto_bench target first"; exit 1; }
parent=${BENCH_TMP:-$BUILD}
if [[ $(df --output=fstype "$parent" | tail -1) == tmpfs ]]; then
    log "$parent is a tmpfs: set BENCH_TMP to a directory on a disk"
    exit 1
fi
tmp=$(mktemp -d "$parent/sto-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "scratch $tmp on $(df --output=source,fstype "$tmp" | tail -1 | xargs)"

# dd's summary line -> MB/s (10^6 bytes), computed from bytes and seconds.
dd_mbps() {
    awk '/copied/ { for (i = 1; i <= NF; i++) if ($i ~ /^copied/) s = $(i + 1);
                    printf "%.1f\n", $1 / s / 1e6 }'
}

limits() {
    local f=$tmp/seq.dat
    local w r
    w=$(dd if=/dev/zero of="$f" bs=1M count=1024 conv=fdatasync 2>&1 |
        dd_mbps)
    echo "limit.seq_write $w MB/s"
    r=$(dd if="$f" of=/dev/null bs=1M iflag=direct 2>&1 | dd_mbps)
    echo "limit.seq_read $r MB/s"
    rm -f "$f"
}

# The disk's fsync rate swings with the neighbours' load (1.6k-5k/s seen
# on the shared VM), so it is measured before and after the storage runs
# and the higher one is printed: the ratio against it is the harder one.
fsync_rate() {
    "$bin" fsync "$tmp/fsync" "$SECONDS_PER" | tee -a "$tmp/fsync.txt" >&2
}

sto() {
    "$bin" "$1" "$tmp/$1" "$SECONDS_PER" "$SCHEDULERS" "$DIRTY_THREADS"
    rm -rf "${tmp:?}/$1"
}

ratio() { # name a b: a/b with two decimals
    awk -v n="$1" -v a="$2" -v b="$3" \
        'BEGIN { printf "ratio.%s %.2f\n", n, (b > 0 ? a / b : 0) }'
}

out=$tmp/out
: >"$out"
status=0
for step in limits fsync_rate "sto small" "sto large" "sto stream" \
    fsync_rate; do
    log "$step"
    $step | tee -a "$out" || { log "$step failed"; status=1; }
done
sort -k2 -g "$tmp/fsync.txt" | tail -1 | tee -a "$out"

v() { awk -v k="$1" '$1 == k { print $2 }' "$out"; }
ratio stream_put_vs_seq_write "$(v storage.stream_put_1g)" \
    "$(v limit.seq_write)"
ratio stream_get_vs_seq_read "$(v storage.stream_get_1g)" \
    "$(v limit.seq_read)"
ratio put_4k_c64_vs_fsync "$(v storage.put_4k_c64)" "$(v limit.fsync)"
ratio put_4k_c1_vs_fsync "$(v storage.put_4k_c1)" "$(v limit.fsync)"
ratio get_4k_c64_per_core_vs_100k \
    "$(awk -v g="$(v storage.get_4k_c64)" -v c="$(nproc)" \
        'BEGIN { print g / c }')" 100000
exit $status
