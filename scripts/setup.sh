#!/usr/bin/env bash
# Install cleo's build and test dependencies from Debian 12 packages.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libuv1-dev libprotobuf-c-dev protobuf-c-compiler node-llhttp
      librocksdb-dev libjemalloc-dev libcriterion-dev erlang-nox
      libjansson-dev libncurses-dev libssl-dev libexpat1-dev libxxhash-dev
      libraft-dev
      python3 tmux
      zlib1g-dev openssl awscli s3cmd rclone python3-boto3 curl)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing ${missing[*]}" >&2
$SUDO apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" >&2
