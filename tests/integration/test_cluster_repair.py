#!/usr/bin/env python3
# test_cluster_repair.py - the persistent repair queue (issue 12): three
# real cleo processes by scripts/cluster.sh with N=3, W=2, R=2, D=2,
# driven with boto3, checked replica by replica with `cleo-adm whereis`
# and each node's repair queues (`cleo-adm mq-stats`):
#
#   - n3 killed: small and 3 MiB objects put, objects overwritten and
#     deleted through n1 succeed on the two live replicas, and the
#     coordinators queue what n3 missed (entries for n3 on n1 and n2);
#   - n1 killed -9 with its entries pending and started again: its
#     repairer reads them back from its database;
#   - n3 started again: within seconds every key's three replicas agree
#     (one clock, one ETag, the same deleted flag), the big ones and the
#     deleted ones too, and every queue is empty.
#
#   python3 tests/integration/test_cluster_repair.py --bin build/cmd
#
# It uses its own directory and free ports, and stops every node it
# started, pass or fail.
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clusterutil import agree, down, name, states  # noqa: E402
import clusterutil  # noqa: E402
from nodeutil import Fail, check, summary, wait_until  # noqa: E402
from test_cluster_s3 import Cluster, err  # noqa: E402

BIN = None
BUCKET = "repair"
CONVERGE_S = 15  # "within a few seconds", with room for a loaded CI host






def queued(c, i, need=True):
    """{target: entries} of node i's repair queues (`cleo-adm mq-stats
    --json`: targets with entries queued); None when the node does not
    answer and need is False."""
    r = c.adm(i, "--json", "mq-stats")
    if r.returncode != 0 and not need:
        return None
    if r.returncode != 0:
        raise Fail("n%d mq-stats: %s" % (i, r.stderr.strip()))
    j = json.loads(r.stdout)
    return {t["node"]: t["entries"] for t in j["targets"] if t["entries"]}




def running(c, i, via=2):
    wait_until(lambda: states(c.status(via)).get(name(i)) == "running", 30,
               "n%d running again" % i)


def form(c):
    c.start("cluster.replicas=3", "cluster.w=2", "cluster.r=2", "cluster.d=2")
    wait_until(lambda: len(c.status(1).get("members", [])) == 3, 15,
               "every node registered")
    r = c.adm(2, "start")
    check(r.returncode == 0, "start: %s" % r.stderr.strip())
    wait_until(lambda: all(s == "running" for s in
                           states(c.status(3)).values()), 10, "all running")
    c.s3(1).create_bucket(Bucket=BUCKET)
    wait_until(lambda: all(BUCKET in [b["Name"] for b in
                                      c.s3(i).list_buckets()["Buckets"]]
                           for i in (1, 2, 3)), 5, "the bucket everywhere")


def put(c, gw, key, body):
    return c.s3(gw).put_object(Bucket=BUCKET, Key=key,
                               Body=body)["ETag"].strip('"')


def where(c, via, key):
    return clusterutil.where(c, via, BUCKET, key)


def run(c):
    form(c)
    all3 = [name(i) for i in (1, 2, 3)]
    want = {}  # key -> etag, or None for deleted

    # With all three up: keys to overwrite and delete while n3 is down.
    for k in range(4):
        want["old%d" % k] = put(c, 1, "old%d" % k, b"before %d" % k)
    check(all(agree(where(c, 1, k), all3, want[k]) for k in want),
          "all up: one version on all three replicas")
    check(queued(c, 1) == {} and queued(c, 2) == {},
          "nothing queued while every replica takes every write")
    r = c.adm(1, "--json", "mq-stats", name(2))
    check(r.returncode == 0 and json.loads(r.stdout)["node"] == name(2),
          "mq-stats of another node, through n1: %s" % r.stderr.strip())
    r = c.adm(1, "mq-stats", "nobody@nowhere")
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1,
          "mq-stats of an unknown node: one line, exit 1: %r" %
          r.stderr.strip())

    # n3 down: every write goes on to two replicas, and n3's are queued.
    c.sh("kill", c.dir, "3")
    down(c, 3, (1, 2))
    for k in range(12):
        want["s%d" % k] = put(c, 1, "s%d" % k, b"small %d" % k)
    big = os.urandom(3 << 20)
    for k in range(2):
        want["big%d" % k] = put(c, 1, "big%d" % k, big[k:])
    want["old0"] = put(c, 1, "old0", b"after")  # overwritten
    for k in (1, 2):  # deleted
        c.s3(1).delete_object(Bucket=BUCKET, Key="old%d" % k)
        want["old%d" % k] = None
    c.s3(1).delete_object(Bucket=BUCKET, Key="s0")  # put, then deleted
    want["s0"] = None
    live = [name(1), name(2)]
    for k, etag in want.items():
        reps = where(c, 1, k)
        check(agree(reps, live, etag, etag is None) and
              reps[name(3)].get("error") == "unreachable",
              "%s: the two live replicas agree, n3 unreachable" % k)
    missed = [k for k in want if k != "old3"]
    # Entries land a moment after each write's answer (a cast, then a
    # synced write): wait for all of them.
    wait_until(lambda: sum(queued(c, i).get(name(3), 0) for i in (1, 2))
               == len(missed), 10,
               "one entry per key n3 missed (%d)" % len(missed))
    q1 = queued(c, 1).get(name(3), 0)
    check(q1 > 0, "n1 coordinated some of them (%d)" % q1)
    check(name(1) not in queued(c, 2) and name(2) not in queued(c, 1),
          "nothing queued for the live replicas")

    # n1 killed with its entries pending, and back: they are still there.
    c.sh("kill", c.dir, "1")
    down(c, 1, (2,))
    c.sh("start-node", c.dir, "1")
    running(c, 1)
    wait_until(lambda: (queued(c, 1, need=False) or {}).get(name(3)) == q1,
               10, "n1's %d entries back after kill -9" % q1)

    # n3 back: the queues drain and every replica agrees.
    c.sh("start-node", c.dir, "3")
    t0 = time.monotonic()
    running(c, 3)

    def converged():
        return (all(not queued(c, i).get(name(3)) for i in (1, 2)) and
                all(agree(where(c, 1, k), all3, e, e is None)
                    for k, e in want.items()))
    wait_until(converged, CONVERGE_S, "every replica repaired")
    print("repaired in %.1f s after n3's start" % (time.monotonic() - t0))
    for k, e in want.items():
        reps = where(c, 2, k)
        check(agree(reps, all3, e, e is None),
              "%s: n3 holds the same version as n1 and n2 (%s)" %
              (k, reps[name(3)]))
    check(all(queued(c, i) == {} or set(queued(c, i).values()) == {0}
              for i in (1, 2, 3)), "every queue is empty")
    # n3 serves them itself (R=2 with n3 among the replicas read).
    got = c.s3(3).get_object(Bucket=BUCKET, Key="big1")["Body"].read()
    check(got == big[1:], "the 3 MiB object reads back through n3")
    check(err(c.s3(3).head_object, Bucket=BUCKET, Key="old1")[0] == 404,
          "a key deleted while n3 was down stays deleted")


def main():
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    BIN = os.path.abspath(a.bin)
    tmp = tempfile.mkdtemp(prefix="cleo-repair-")
    c = Cluster(tmp, 3, BIN)
    try:
        run(c)
    except Fail as e:
        check(False, str(e))
    finally:
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
