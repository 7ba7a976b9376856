#!/usr/bin/env bash
# run.sh - the runtime benchmark: seven workloads on cleo (bench_rt) and on
# Erlang/OTP (erlang/bench.erl), side by side; 19 lines, see ../lib.sh.
# +P: skynet keeps up to 1.1M Erlang processes alive. exit_latency_backlog
# needs SCHEDULERS >= 2 (victim and watcher on different schedulers).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BENCH_TARGET=bench_rt
BENCH_BIN=bench/runtime/bench_rt
ERL_SRCS=("$here/erlang/bench.erl")
ERL_MODULE=bench
WORKLOADS=${WORKLOADS:-"spawn ring pingpong skynet idle_mem call
exit_latency_backlog"}
LOWER_IS_BETTER="skynet idle_mem exit_latency_backlog"

. "$root/bench/lib.sh"
bench_main
