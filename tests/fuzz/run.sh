#!/bin/sh
# run.sh [SECONDS] - build each libFuzzer target (introspection frames,
# S3 XML bodies, S3 request auth, the S3 request path, the distribution
# frame decoder and handshake) with ASan/UBSan, and run each for SECONDS
# (default 60); the two distribution targets run SECONDS/2 each. Targets
# run two at a time (one in the background while the next is built and
# run), so the whole run takes about half the sum of their times; a
# failing target fails the script either way (set -e; `wait` returns its
# status). Build output and the corpora go to $FUZZ_OUT (default
# <repo>/build-fuzz).
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
"$OUT/fuzz_frame" -max_total_time="$SECS" -max_len=8192 \
    -print_final_stats=1 "$OUT/corpus" "$ROOT/tests/fuzz/seeds" &
BG=$!

# The S3 XML request bodies and HTTP dates (gateway/s3xml_*.c, on expat).
mkdir -p "$OUT/corpus_s3xml"
protoc-c --c_out="$OUT/proto" -I"$ROOT/proto" "$ROOT/proto/storage.proto"
# shellcheck disable=SC2046
"$CC" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -D_GNU_SOURCE -I"$ROOT" -I"$OUT" \
    "$ROOT/tests/fuzz/fuzz_s3xml.c" "$ROOT/gateway/s3xml_in.c" \
    "$ROOT/gateway/s3xml_out.c" "$ROOT/gateway/s3xml_time.c" \
    "$ROOT/gateway/err.c" $(pkg-config --cflags libprotobuf-c) \
    $(pkg-config --cflags --libs expat) -o "$OUT/fuzz_s3xml"
"$OUT/fuzz_s3xml" -max_total_time="$SECS" -max_len=65536 \
    -print_final_stats=1 "$OUT/corpus_s3xml" "$ROOT/tests/fuzz/seeds_s3xml"
wait "$BG"

# S3 request authentication (gateway/auth.h): SigV4/SigV2 parse and
# verify, sign/presign round trips, aws-chunked bodies (OpenSSL libcrypto).
mkdir -p "$OUT/corpus_auth"
# shellcheck disable=SC2046
"$CC" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -D_GNU_SOURCE -I"$ROOT" \
    "$ROOT/tests/fuzz/fuzz_auth.c" "$ROOT/gateway/auth.c" \
    "$ROOT/gateway/sigv4.c" "$ROOT/gateway/sigv2.c" \
    "$ROOT/gateway/awschunked.c" "$ROOT/tests/fuzz/panic_stub.c" \
    $(pkg-config --cflags --libs libcrypto zlib) \
    -o "$OUT/fuzz_auth"
"$OUT/fuzz_auth" -max_total_time="$SECS" -max_len=8192 \
    -print_final_stats=1 "$OUT/corpus_auth" "$ROOT/tests/fuzz/seeds_auth" &
BG=$!

# The S3 request path before storage: HTTP parsing (gateway/http.c on
# llhttp), target/query parsing and routing (gateway/s3_route.c) and the
# credentials parser (gateway/auth.c).
mkdir -p "$OUT/corpus_http"
# shellcheck disable=SC2046
"$CC" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -D_GNU_SOURCE -I"$ROOT" -I"$OUT" \
    -I/usr/share/include/llhttp \
    "$ROOT/tests/fuzz/fuzz_http.c" "$ROOT/gateway/http.c" \
    "$ROOT/gateway/s3_route.c" "$ROOT/gateway/gw.c" "$ROOT/gateway/auth.c" \
    "$ROOT/gateway/sigv4.c" "$ROOT/gateway/sigv2.c" \
    "$ROOT/gateway/awschunked.c" "$ROOT/tests/fuzz/panic_stub.c" \
    /usr/share/llhttp/api.c \
    /usr/share/llhttp/http.c /usr/share/llhttp/llhttp.c \
    $(pkg-config --cflags libprotobuf-c) \
    $(pkg-config --cflags --libs libcrypto) -lz -o "$OUT/fuzz_http"
"$OUT/fuzz_http" -max_total_time="$SECS" -max_len=8192 \
    -print_final_stats=1 "$OUT/corpus_http" "$ROOT/tests/fuzz/seeds_http"
wait "$BG"

# The distribution frame decoder (runtime/dist_frame.c) and handshake
# (runtime/dist_hs.c, on OpenSSL libcrypto). These two run SECS/2 each, so
# that together they add at most SECS to a run.
HALF=$(( (SECS + 1) / 2 ))
mkdir -p "$OUT/corpus_dist_frame" "$OUT/corpus_dist_hs"
protoc-c --c_out="$OUT/proto" -I"$ROOT/proto" "$ROOT/proto/dist.proto"
# shellcheck disable=SC2046
"$CC" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -D_GNU_SOURCE -I"$ROOT" -I"$OUT" \
    "$ROOT/tests/fuzz/fuzz_dist_frame.c" "$ROOT/runtime/dist_frame.c" \
    "$OUT/proto/dist.pb-c.c" \
    $(pkg-config --cflags --libs libprotobuf-c) -o "$OUT/fuzz_dist_frame"
"$OUT/fuzz_dist_frame" -max_total_time="$HALF" -max_len=8192 \
    -print_final_stats=1 "$OUT/corpus_dist_frame" &
BG=$!
# shellcheck disable=SC2046
"$CC" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -D_GNU_SOURCE -I"$ROOT" -I"$OUT" \
    "$ROOT/tests/fuzz/fuzz_dist_hs.c" "$ROOT/runtime/dist_hs.c" \
    "$ROOT/runtime/xmalloc.c" "$ROOT/runtime/err.c" \
    $(pkg-config --cflags libprotobuf-c) \
    $(pkg-config --cflags --libs libcrypto) -o "$OUT/fuzz_dist_hs"
"$OUT/fuzz_dist_hs" -max_total_time="$HALF" -max_len=4096 \
    -print_final_stats=1 "$OUT/corpus_dist_hs" "$ROOT/tests/fuzz/seeds_dist_hs"
wait "$BG"
