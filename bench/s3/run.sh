#!/usr/bin/env bash
# run.sh - the S3 benchmark (issue #5): the same load generator (loadgen,
# one libuv thread, SigV4-signed keep-alive connections) against cleo's S3
# gateway, nginx (static GET, WebDAV PUT) and s3rver (an S3 server in
# Node.js from the npm registry), one after the other, loopback only.
# Prints, per server, `<server>.<figure> <value> <unit>`:
#   get_4k_c64, put_4k_c64 (ops/s), get_4k_c64_p99, put_4k_c64_p99 (ms),
#   get_1m_c16, put_1m_c16 (MB/s), get_1g, put_1g (MB/s, one stream),
#   rss_c64 (MiB: the server's peak RSS during the c64 figures)
# then `ratio.<figure>.vs_<server> <x>` for cleo against each peer, > 1
# meaning cleo is better (throughput: cleo/peer; p99 and RSS: peer/cleo).
# A server that cannot run prints `<server>.skipped <why>`.
#
# It builds nothing: it runs $BUILD/bench/s3/loadgen and
# $BUILD/cmd/cleo, so build them first:
#   cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
#   cmake --build build/release --target loadgen cleo
# nginx (Debian's `nginx`, which has http_dav_module) is installed with
# apt-get if missing, s3rver with npm into $S3RVER_DIR.
# Environment: BUILD (default <repo>/build/release), SERVERS ("cleo nginx
# s3rver"), SECS (seconds per figure, 5), BIG (the one-stream object, 1g),
# S3RVER_BIG (s3rver's, 1g; lower it if s3rver is too slow: the figure is MB/s
# all the same), BENCH_TMP (scratch parent, default the build dir),
# S3RVER_DIR (default <repo>/build/s3rver), CLEO_ACCESS_KEY and
# CLEO_SECRET_KEY (given to cleo and used to sign; generated if unset).
# cleo_split is cleo with the gateway and the manager+storage roles in two
# processes on loopback; its get_4k_c64 etc. are also printed as ratios
# to the embedded node's (ratio.<figure>.split_vs_embedded).
# Takes about 4 minutes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=$(realpath -m "${BUILD:-$root/build/release}")
SERVERS=${SERVERS:-"cleo cleo_split nginx s3rver"}
SECS=${SECS:-5}
BIG=${BIG:-1g}
S3RVER_BIG=${S3RVER_BIG:-1g}
S3RVER_DIR=${S3RVER_DIR:-$root/build/s3rver}
LG=$BUILD/bench/s3/loadgen
CLEO=$BUILD/cmd/cleo # the node binary (cmd/CMakeLists.txt puts it there)
[[ -d $CLEO && -x $CLEO/cleo ]] && CLEO=$CLEO/cleo
export CLEO_ACCESS_KEY=${CLEO_ACCESS_KEY:-BENCH$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)}
export CLEO_SECRET_KEY=${CLEO_SECRET_KEY:-$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')}

log() { echo "run.sh: $*" >&2; }

[[ -x $LG ]] || { log "no $LG: build the loadgen target first"; exit 1; }
tmp=$(mktemp -d "${BENCH_TMP:-$BUILD}/s3-bench.XXXXXX")
server_pid=
back_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null &&
        wait "$server_pid" 2>/dev/null
    [[ -n $back_pid ]] && kill "$back_pid" 2>/dev/null &&
        wait "$back_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
out=$tmp/out
: >"$out"

# A TCP port on 127.0.0.1 that nobody listens on.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000)) # below the ephemeral range
        (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
    done
}

# Wait up to 15 s for a listener on port $1 while pid $2 lives.
wait_port() {
    local i
    for ((i = 0; i < 150; i++)); do
        (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# RSS in KiB of pid $1 and its children (nginx's workers).
rss_kib() {
    local p t=0 r
    for p in $1 $(pgrep -P "$1" || true); do
        r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) ||
            r=0
        t=$((t + ${r:-0}))
    done
    echo "$t"
}

# Sample the server's RSS every 0.2 s into $tmp/rss.max until killed.
rss_sampler() {
    local max=0 r
    while :; do
        r=$(rss_kib "$server_pid")
        ((r > max)) && max=$r && echo "$max" >"$tmp/rss.max"
        sleep 0.2
    done
}

# loadgen with the server's port and auth; prints its summary line.
lg() {
    "$LG" --port "$port" "$@" 2>>"$tmp/lg.err" ||
        { log "$srv: loadgen $* failed: $(tail -1 "$tmp/lg.err")"; return 1; }
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# One figure line; a failed measurement prints 0.
emit() { echo "$srv.$1 ${2:-0} $3" | tee -a "$out"; }

# Every figure for the server on $port. Objects are written through the
# server first (PUT), then read back; PUT figures write fresh keys.
figures() {
    local r big=$BIG rss_pid
    [[ $srv == s3rver ]] && big=$S3RVER_BIG
    lg --op put --prefix s --size 4k --conns 16 --requests 1000 >/dev/null ||
        true
    lg --op put --prefix m --size 1m --conns 16 --requests 64 >/dev/null ||
        true
    echo 0 >"$tmp/rss.max"
    rss_sampler &
    rss_pid=$!
    r=$(lg --op get --prefix s --size 4k --keys 1000 --conns 64 \
        --duration "$SECS") || r=""
    emit get_4k_c64 "$(field ops_s <<<"$r")" ops/s
    emit get_4k_c64_p99 "$(field p99_ms <<<"$r")" ms
    r=$(lg --op put --prefix p --size 4k --conns 64 --duration "$SECS") ||
        r=""
    emit put_4k_c64 "$(field ops_s <<<"$r")" ops/s
    emit put_4k_c64_p99 "$(field p99_ms <<<"$r")" ms
    kill "$rss_pid"
    wait "$rss_pid" 2>/dev/null || true
    emit rss_c64 "$(awk '{ printf "%.1f", $1 / 1024 }' "$tmp/rss.max")" MiB
    r=$(lg --op get --prefix m --size 1m --keys 64 --conns 16 \
        --duration "$SECS") || r=""
    emit get_1m_c16 "$(field mb_s <<<"$r")" MB/s
    r=$(lg --op put --prefix q --size 1m --conns 16 --duration "$SECS") ||
        r=""
    emit put_1m_c16 "$(field mb_s <<<"$r")" MB/s
    [[ $big != 1g ]] && log "$srv: the one-stream object is $big, not 1g"
    r=$(lg --op put --prefix g --size "$big" --requests 1) || r=""
    emit put_1g "$(field mb_s <<<"$r")" MB/s
    r=$(lg --op get --prefix g --size "$big" --keys 1 --requests 1) || r=""
    emit get_1g "$(field mb_s <<<"$r")" MB/s
}

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

run_cleo() {
    [[ -f $CLEO && -x $CLEO ]] ||
        { echo "cleo.skipped no $CLEO" | tee -a "$out"; return; }
    port=$(free_port)
    "$CLEO" --data "$tmp/cleo" --set gateway.http.port="$port" \
        --set heart.enabled=false >"$tmp/cleo.log" 2>&1 &
    server_pid=$!
    if ! wait_port "$port" "$server_pid"; then
        echo "cleo.skipped no S3 listener on gateway.http.port (see" \
            "$(tail -1 "$tmp/cleo.log"))" | tee -a "$out"
        stop_server
        return
    fi
    lg --op mkbucket --bucket bench >/dev/null
    figures
    stop_server
}

# cleo with its roles in two processes (issue 10): a gateway-only node in
# front of a manager+storage node, joined by distribution on loopback.
run_cleo_split() {
    [[ -f $CLEO && -x $CLEO ]] ||
        { echo "cleo_split.skipped no $CLEO" | tee -a "$out"; return; }
    local fd bd peers
    port=$(free_port) fd=$(free_port) bd=$(free_port)
    peers="front@127.0.0.1:$fd,back@127.0.0.1:$bd"
    export CLEO_COOKIE=bench-$RANDOM$RANDOM
    "$CLEO" --data "$tmp/back" --set node.name=back@127.0.0.1 \
        --set node.roles=manager,storage --set gateway.http.port=0 \
        --set dist.port="$bd" --set cluster.nodes="$peers" \
        --set heart.enabled=false >"$tmp/back.log" 2>&1 &
    back_pid=$!
    wait_port "$bd" "$back_pid" ||
        { echo "cleo_split.skipped the back did not start" | tee -a "$out"
          return; }
    "$CLEO" --data "$tmp/front" --set node.name=front@127.0.0.1 \
        --set node.roles=gateway --set gateway.http.port="$port" \
        --set dist.port="$fd" --set cluster.nodes="$peers" \
        --set heart.enabled=false >"$tmp/front.log" 2>&1 &
    server_pid=$!
    if ! wait_port "$port" "$server_pid"; then
        echo "cleo_split.skipped no S3 listener" | tee -a "$out"
        stop_server
        return
    fi
    lg --op mkbucket --bucket bench >/dev/null
    figures
    stop_server
    kill "$back_pid" 2>/dev/null || true
    wait "$back_pid" 2>/dev/null || true
    back_pid=
}

nginx_conf() {
    mkdir -p "$tmp/nginx/www/bench" "$tmp/nginx/tmp"
    cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
user $(id -un) $(id -gn);
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 10000000;
    keepalive_timeout 60;
    default_type application/octet-stream;
    client_body_temp_path $tmp/nginx/tmp;
    proxy_temp_path $tmp/nginx/tmp;
    fastcgi_temp_path $tmp/nginx/tmp;
    uwsgi_temp_path $tmp/nginx/tmp;
    scgi_temp_path $tmp/nginx/tmp;
    server {
        listen 127.0.0.1:$port;
        root $tmp/nginx/www;
        client_max_body_size 0;
        location / {
            dav_methods PUT;
            create_full_put_path on;
        }
    }
}
EOF
}

run_nginx() {
    if ! command -v nginx >/dev/null; then
        log "installing nginx"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >&2 ||
            { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -q nginx >&2; } || true
    fi
    command -v nginx >/dev/null ||
        { echo "nginx.skipped not installed" | tee -a "$out"; return; }
    port=$(free_port)
    nginx_conf
    nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" \
        >&2 &
    server_pid=$!
    wait_port "$port" "$server_pid" ||
        { echo "nginx.skipped did not start" | tee -a "$out"; return; }
    figures
    stop_server
}

run_s3rver() {
    local js=$S3RVER_DIR/node_modules/s3rver/bin/s3rver.js
    command -v node >/dev/null ||
        { echo "s3rver.skipped no node" | tee -a "$out"; return; }
    if [[ ! -f $js ]]; then
        log "installing s3rver into $S3RVER_DIR"
        mkdir -p "$S3RVER_DIR"
        (cd "$S3RVER_DIR" && npm install --no-audit --no-fund \
            --loglevel=error s3rver@3 >&2) || true
    fi
    [[ -f $js ]] ||
        { echo "s3rver.skipped npm install failed" | tee -a "$out"; return; }
    port=$(free_port)
    mkdir -p "$tmp/s3rver"
    # s3rver accepts only its default key pair, S3RVER / S3RVER.
    node "$js" -d "$tmp/s3rver" -a 127.0.0.1 -p "$port" -s \
        --no-vhost-buckets >&2 &
    server_pid=$!
    wait_port "$port" "$server_pid" ||
        { echo "s3rver.skipped did not start" | tee -a "$out"; return; }
    CLEO_ACCESS_KEY=S3RVER CLEO_SECRET_KEY=S3RVER lg --op mkbucket \
        --bucket bench >/dev/null
    CLEO_ACCESS_KEY=S3RVER CLEO_SECRET_KEY=S3RVER figures
    stop_server
}

for srv in $SERVERS; do
    log "$srv"
    "run_$srv"
done

# Ratios of cleo against each peer that ran, > 1 = cleo better.
v() { awk -v k="$1" '$1 == k { print $2 }' "$out"; }
# The split node against the embedded one (target >= 0.5 for get_4k_c64).
for f in get_4k_c64 put_4k_c64 get_1m_c16 put_1m_c16 get_1g put_1g; do
    c=$(v "cleo_split.$f") e=$(v "cleo.$f")
    [[ -n $c && -n $e ]] || continue
    awk -v f="$f" -v a="$c" -v b="$e" 'BEGIN {
        printf "ratio.%s.split_vs_embedded %.2f\n", f, (b > 0 ? a / b : 0) }'
done
for peer in nginx s3rver; do
    for f in get_4k_c64 put_4k_c64 get_4k_c64_p99 put_4k_c64_p99 \
        get_1m_c16 put_1m_c16 get_1g put_1g rss_c64; do
        c=$(v "cleo.$f") p=$(v "$peer.$f")
        [[ -n $c && -n $p ]] || continue
        case $f in
        *_p99 | rss_c64) set -- "$p" "$c" ;;
        *) set -- "$c" "$p" ;;
        esac
        awk -v f="$f" -v s="$peer" -v a="$1" -v b="$2" 'BEGIN {
            printf "ratio.%s.vs_%s %.2f\n", f, s, (b > 0 ? a / b : 0) }'
    done
done
