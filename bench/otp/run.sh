#!/usr/bin/env bash
# run.sh - the OTP benchmark: gen_server calls and supervisor restart
# latency on cleo (bench_otp) and on Erlang/OTP (erlang/otp_bench.erl),
# side by side; 6 lines, see ../lib.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BENCH_TARGET=bench_otp
BENCH_BIN=bench/otp/bench_otp
ERL_SRCS=("$here/erlang/otp_bench.erl")
ERL_MODULE=otp_bench
WORKLOADS=${WORKLOADS:-"gen_server_call restart_latency"}
LOWER_IS_BETTER="restart_latency"

. "$root/bench/lib.sh"
bench_main
