#!/usr/bin/env bash
# Set up, build and start the embedded single-node cleo (data in ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
exec build/release/cmd/cleo "$@"
