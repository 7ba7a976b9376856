#!/usr/bin/env bash
# Configure and build one flavour of cleo into build/<flavour>.
#   scripts/build.sh release|asan|tsan
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
case "$flavour" in
    release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
    asan)    flags=(-DCMAKE_BUILD_TYPE=Debug -DCLEO_SANITIZE=ON -DCLEO_BENCH=OFF) ;;
    tsan)    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLEO_TSAN=ON -DCLEO_BENCH=OFF) ;;
    *) echo "build: unknown flavour '$flavour'" >&2; exit 2 ;;
esac
cmake -S . -B "build/$flavour" "${flags[@]}" >/dev/null
cmake --build "build/$flavour" -j"$(nproc)" >&2
