#!/usr/bin/env bash
# cluster.sh - a local cluster of cleo nodes on loopback, for users and
# tests.
#
#   scripts/cluster.sh start N DIR [--no-ring] [--set k=v]...
#                                                  start n1..nN in DIR, then
#                                                  the RING (cleo-adm start)
#   scripts/cluster.sh stop DIR                    stop them all
#   scripts/cluster.sh kill DIR I                  kill -9 node I and its heart
#   scripts/cluster.sh start-node DIR I            start node I again (same data)
#   scripts/cluster.sh pause DIR I                 SIGSTOP node I (and its heart)
#   scripts/cluster.sh resume DIR I                SIGCONT node I
#   scripts/cluster.sh status DIR                  which nodes run
#   scripts/cluster.sh add-node DIR [--set k=v]... start one more node, n<N+1>
#                                                  (attached: then rebalance)
#
# Node i is n<i>@127.0.0.1: it runs every role, serves S3 on port
# CLEO_CLUSTER_S3_BASE+i-1 (8080 by default) and distribution on
# CLEO_CLUSTER_DIST_BASE+i-1 (4370), and keeps its data and admin socket
# in DIR/n<i>/ (cleo-adm --socket DIR/n<i>/cleo.sock). The first min(N,3)
# nodes are the managers (cluster.managers). All share one cookie
# (DIR/cookie, mode 0400) and one admin key pair: CLEO_ACCESS_KEY and
# CLEO_SECRET_KEY if set, else one made at the first start (DIR/credentials).
# Extra --set options go to every node. Once all nodes have registered
# with the managers, `cleo-adm start` puts them in the RING (--no-ring
# leaves them attached). The cleo binary is build/release/cmd/cleo (built
# if missing), or $CLEO_BIN; cleo-adm is the one beside it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLEO=${CLEO_BIN:-$ROOT/build/release/cmd/cleo}
ADM=$(dirname "$CLEO")/cleo-adm
S3_BASE=${CLEO_CLUSTER_S3_BASE:-8080}
DIST_BASE=${CLEO_CLUSTER_DIST_BASE:-4370}

die() { echo "cluster.sh: $*" >&2; exit 1; }
usage() { sed -n '4,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

need_dir() { # DIR: and take its ports from its cluster.conf
    [ -f "$1/cluster.conf" ] || die "$1: no cluster here"
    S3_BASE=$(sed -n 's/^S3_BASE=//p' "$1/cluster.conf")
    DIST_BASE=$(sed -n 's/^DIST_BASE=//p' "$1/cluster.conf")
}
need_index() { # DIR I
    local n
    n=$(sed -n 's/^N=//p' "$1/cluster.conf")
    [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le "$n" ] ||
        die "no node $2 (the cluster has $n)"
}
pid_of() { cat "$1/n$2/heart.pid" 2>/dev/null || true; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

start_node() { # DIR I: start node I from its saved arguments
    local dir=$1 i=$2 pid
    pid=$(pid_of "$dir" "$i")
    alive "$pid" && die "n$i is running already (pid $pid)"
    local -a args
    mapfile -t args <"$dir/n$i/args"
    # Its own session, so kill and pause reach heart and node together.
    CLEO_COOKIE=$(cat "$dir/cookie") \
        CLEO_ACCESS_KEY=$(sed -n 's/^access_key=//p' "$dir/credentials") \
        CLEO_SECRET_KEY=$(sed -n 's/^secret_key=//p' "$dir/credentials") \
        setsid "$CLEO" "${args[@]}" >>"$dir/n$i/node.log" 2>&1 </dev/null &
    echo $! >"$dir/n$i/heart.pid"
}

wait_up() { # DIR I: the node answers HTTP, or fail with its log
    local dir=$1 i=$2 port=$((S3_BASE + $2 - 1))
    for _ in $(seq 1 200); do
        alive "$(pid_of "$dir" "$i")" ||
            { tail -20 "$dir/n$i/node.log" >&2; die "n$i exited at start"; }
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "n$i did not listen on $port within 20 s"
}

# Wait until every node of DIR's n has registered and the first leader
# set the conf, then start the RING and wait until all members run.
start_ring() { # DIR N
    local sock="$1/n1/cleo.sock" adm_json
    for _ in $(seq 1 200); do
        adm_json=$("$ADM" --socket "$sock" --json status 2>/dev/null || true)
        if [ "$(echo "$adm_json" | grep -o '"state": *"attached"' |
            wc -l)" -eq "$2" ] && echo "$adm_json" |
            grep -q '"n": *[1-9]'; then
            "$ADM" --socket "$sock" start >/dev/null ||
                die "cleo-adm start failed"
            # Done when every member is running and every node's copy
            # has that RING (the managers' followers apply a heartbeat
            # after the leader, and each node follows one of them).
            for _ in $(seq 1 100); do
                adm_json=$("$ADM" --socket "$sock" --json status)
                [ "$(echo "$adm_json" | grep -o '"state": *"running"' |
                    wc -l)" -eq "$2" ] &&
                    [ "$(echo "$adm_json" |
                        grep -o '"ring_cur": *"[0-9a-f]*"' |
                        grep -v '"0*"$' | sort -u | wc -l)" -eq 1 ] &&
                    [ "$(echo "$adm_json" |
                        grep -o '"ring_cur": *"[0-9a-f]*"' |
                        grep -vc '"0*"$')" -eq "$2" ] &&
                    return 0
                sleep 0.1
            done
            die "the members are not all running on one RING after start"
        fi
        sleep 0.1
    done
    die "not every node registered with the managers within 20 s"
}

cmd_start() { # N DIR [--no-ring] [--set k=v]...
    [ $# -ge 2 ] || usage
    local n=$1 dir=$2 ring=1
    shift 2
    if [ "${1:-}" = "--no-ring" ]; then
        ring=0
        shift
    fi
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 64 ] ||
        die "N must be 1..64, not '$n'"
    [ -x "$CLEO" ] || "$ROOT/scripts/build.sh" release >&2
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ ! -f "$dir/cookie" ]; then
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
            >"$dir/cookie")
        chmod 0400 "$dir/cookie"
    fi
    local ak=${CLEO_ACCESS_KEY:-} sk=${CLEO_SECRET_KEY:-}
    if [ -z "$ak" ] && [ -f "$dir/credentials" ]; then
        ak=$(sed -n 's/^access_key=//p' "$dir/credentials")
        sk=$(sed -n 's/^secret_key=//p' "$dir/credentials")
    fi
    if [ -z "$ak" ]; then
        ak=CLEO$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' |
            tr a-f A-F)
        sk=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40)
    fi
    (umask 077 && printf 'access_key=%s\nsecret_key=%s\n' "$ak" "$sk" \
        >"$dir/credentials")
    local managers="" i
    for i in $(seq 1 "$n"); do
        [ "$i" -le 3 ] && managers+="${managers:+,}n$i@127.0.0.1"
    done
    printf 'N=%s\nS3_BASE=%s\nDIST_BASE=%s\nMANAGERS=%s\n' "$n" \
        "$S3_BASE" "$DIST_BASE" "$managers" >"$dir/cluster.conf"
    : >"$dir/extra_args" # for add-node
    [ $# -eq 0 ] || printf '%s\n' "$@" >"$dir/extra_args"
    for i in $(seq 1 "$n"); do
        mkdir -p "$dir/n$i"
        node_args "$dir" "$i" "$n" "$managers" "$@" >"$dir/n$i/args"
        start_node "$dir" "$i"
    done
    for i in $(seq 1 "$n"); do wait_up "$dir" "$i"; done
    [ "$ring" -eq 0 ] || start_ring "$dir" "$n"
    echo "cluster of $n in $dir: S3 on 127.0.0.1:$S3_BASE.." \
        "$((S3_BASE + n - 1)); managers $managers"
    echo "access key: $ak"
    echo "secret key: $sk"
}

# The arguments of node i of n: its data, name, ports, every peer and the
# managers, then the extra options.
node_args() { # DIR I N MANAGERS [--set k=v]...
    local dir=$1 i=$2 n=$3 managers=$4 peers="" k
    shift 4
    for k in $(seq 1 "$n"); do
        peers+="${peers:+,}n$k@127.0.0.1:$((DIST_BASE + k - 1))"
    done
    printf '%s\n' --data "$dir/n$i" \
        --set "node.name=n$i@127.0.0.1" \
        --set "gateway.http.port=$((S3_BASE + i - 1))" \
        --set "dist.port=$((DIST_BASE + i - 1))" \
        --set "cluster.nodes=$peers" \
        --set "cluster.managers=$managers"
    [ $# -eq 0 ] || printf '%s\n' "$@"
}

cmd_add() { # DIR [--set k=v]...
    [ $# -ge 1 ] || usage
    local dir=$1 n managers
    shift
    need_dir "$dir"
    dir=$(cd "$dir" && pwd)
    n=$(sed -n 's/^N=//p' "$dir/cluster.conf")
    managers=$(sed -n 's/^MANAGERS=//p' "$dir/cluster.conf")
    n=$((n + 1))
    mkdir -p "$dir/n$n"
    local -a extra
    mapfile -t extra <"$dir/extra_args"
    node_args "$dir" "$n" "$n" "$managers" "${extra[@]}" "$@" \
        >"$dir/n$n/args"
    sed -i "s/^N=.*/N=$n/" "$dir/cluster.conf"
    start_node "$dir" "$n"
    wait_up "$dir" "$n"
    echo "n$n@127.0.0.1 started: S3 on 127.0.0.1:$((S3_BASE + n - 1))"
}

cmd_stop() { # DIR
    [ $# -eq 1 ] || usage
    need_dir "$1"
    local dir=$1 n i pid
    n=$(sed -n 's/^N=//p' "$dir/cluster.conf")
    for i in $(seq 1 "$n"); do
        pid=$(pid_of "$dir" "$i")
        if alive "$pid"; then
            kill -CONT -- "-$pid" 2>/dev/null || true
            kill -TERM -- "-$pid" 2>/dev/null || true
        fi
    done
    for i in $(seq 1 "$n"); do
        pid=$(pid_of "$dir" "$i")
        for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
        alive "$pid" && kill -KILL -- "-$pid" 2>/dev/null || true
        rm -f "$dir/n$i/heart.pid"
    done
    echo "stopped"
}

cmd_node() { # SIGNAL-ACTION DIR I
    local what=$1 dir=$2 i=$3 pid
    need_dir "$dir"
    need_index "$dir" "$i"
    pid=$(pid_of "$dir" "$i")
    case $what in
    start-node) start_node "$dir" "$i"; wait_up "$dir" "$i" ;;
    kill)
        alive "$pid" || die "n$i is not running"
        kill -KILL -- "-$pid"
        rm -f "$dir/n$i/heart.pid" ;;
    pause) alive "$pid" || die "n$i is not running"; kill -STOP -- "-$pid" ;;
    resume) alive "$pid" || die "n$i is not running"; kill -CONT -- "-$pid" ;;
    esac
}

cmd_status() { # DIR
    need_dir "$1"
    local n i pid
    n=$(sed -n 's/^N=//p' "$1/cluster.conf")
    for i in $(seq 1 "$n"); do
        pid=$(pid_of "$1" "$i")
        if alive "$pid"; then echo "n$i running (pid $pid)"
        else echo "n$i down"; fi
    done
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
kill | start-node | pause | resume)
    [ $# -eq 2 ] || usage
    cmd_node "$cmd" "$1" "$2" ;;
status) [ $# -eq 1 ] || usage; cmd_status "$1" ;;
add-node) cmd_add "$@" ;;
*) usage ;;
esac
