#!/bin/sh
# run.sh [SECONDS] - build the introspection frame fuzzer with libFuzzer
# and ASan/UBSan, and run it for SECONDS (default 60). Build output and
# the growing corpus go to $FUZZ_OUT (default <repo>/build-fuzz).
set -eu
SECS=${1:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_OUT:-$ROOT/build-fuzz}
CC=${CC:-clang}
mkdir -p "$OUT/proto" "$OUT/corpus"
protoc-c --c_out="$OUT/proto" -I"$ROOT/proto" "$ROOT/proto/introspect.proto"
# shellcheck disable=SC2046
"$CC" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -D_GNU_SOURCE -I"$ROOT" -I"$OUT" \
    "$ROOT/tests/fuzz/fuzz_frame.c" "$ROOT/runtime/introspect_frame.c" \
    "$OUT/proto/introspect.pb-c.c" \
    $(pkg-config --cflags --libs libprotobuf-c) -o "$OUT/fuzz_frame"
exec "$OUT/fuzz_frame" -max_total_time="$SECS" -max_len=8192 \
    -print_final_stats=1 "$OUT/corpus" "$ROOT/tests/fuzz/seeds"
