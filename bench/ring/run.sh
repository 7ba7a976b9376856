#!/usr/bin/env bash
# run.sh - the RING benchmark: lookups per second with 5 and 50 nodes,
# ring_new's time, and the balance and movement figures (bench_ring.c).
# Prints "ring.<figure> <value> <unit>" lines; diagnostics go to stderr.
#
# It builds nothing: it runs $BUILD/bench/ring/bench_ring, so build first:
#   cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
#   cmake --build build/release --target bench_ring
# Environment: BUILD (build dir, default <repo>/build/release),
# SECONDS_PER (seconds per lookups figure, 2). Takes a few seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=$(realpath -m "${BUILD:-$root/build/release}")
bin=$BUILD/bench/ring/bench_ring
[[ -x $bin ]] || { echo "run.sh: no $bin: build bench_ring first" >&2; exit 1; }
exec "$bin" "${SECONDS_PER:-2}"
