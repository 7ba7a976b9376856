#!/usr/bin/env bash
# run.sh - the runtime benchmark: six workloads on cleo (bench_rt) and on
# Erlang/OTP (erlang/bench.erl), side by side; 18 lines, see ../lib.sh.
# +P: skynet keeps up to 1.1M Erlang processes alive.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BENCH_TARGET=bench_rt
BENCH_BIN=bench/runtime/bench_rt
ERL_SRCS=("$here/erlang/bench.erl")
ERL_MODULE=bench
WORKLOADS=${WORKLOADS:-"spawn ring pingpong skynet idle_mem call"}
LOWER_IS_BETTER="skynet idle_mem"

. "$root/bench/lib.sh"
bench_main
