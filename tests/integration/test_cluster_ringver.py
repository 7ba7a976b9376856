#!/usr/bin/env python3
# test_cluster_ringver.py - every storage request carries its sender's RING
# version, and the node that is behind is refreshed at once (issue 11).
#
# Five real cleo processes by scripts/cluster.sh (n1..n3 managers), and a
# sixth added. A node's agent follows one manager's pushes; when that
# manager hangs (SIGSTOP keeps its connections open), the node's RING
# copy falls behind until the agent gives up on it (several unanswered
# status calls; 4 x 3 s). Within that window:
#
#   - a change given to a manager is refused while a node that answers
#     holds another RING ("checksums disagree", one line, exit 1), and
#     nothing changes;
#   - forward: a PUT through a fresh gateway whose primary is the stale
#     node X carries the newer version: X's engine tells X's agent, which
#     reads the state from the leader at once (`ring --json` shows the
#     new version and refreshes == 1 within a second);
#   - reverse: a PUT through X's own gateway while X is behind reaches a
#     fresh primary, whose engine tells X's agent over distribution
#     (refreshes == 2).
#
# A refresh by the agent's own give-up would not count in `refreshes`,
# so the checks cannot pass without the exchange.
#
#   python3 tests/integration/test_cluster_ringver.py --bin build/cmd
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clusterutil import name, states  # noqa: E402
from nodeutil import Fail, check, require, summary, wait_until  # noqa: E402
from test_cluster_s3 import Cluster  # noqa: E402

BIN = None
MANAGERS = (1, 2, 3)
X = 4  # the node made to fall behind (not a manager)


def ring(c, i):
    """Node i's own RING copy (cleo-adm ring --json on its socket)."""
    return c.adm_json(i, "ring")


def idx(node):
    return int(node.split("@")[0][1:])


def retry(c, i, *args, secs=10):
    """A change through node i, tried until accepted (a leader may be
    being elected)."""
    end = time.time() + secs
    while True:
        r = c.adm(i, *args)
        if r.returncode == 0 or time.time() > end:
            return r
        time.sleep(0.2)


def primary(c, via, key):
    r = c.adm_json(via, "whereis", "ringver/" + key)
    rep = r["replicas"][0]
    return rep["node"] if isinstance(rep, dict) else rep


def key_on(c, via, want, avoid=()):
    """A key whose primary, by node via's RING copy, is in want."""
    for k in range(2000):
        key = "k%d" % k
        if idx(primary(c, via, key)) in want and key not in avoid:
            return key
    raise Fail("no key with its primary on %s" % (want,))


def hang_follow(c):
    """Pause the manager X follows; return (it, a manager to command)."""
    m = idx(ring(c, X)["from"])
    require(m in MANAGERS, "n%d follows a manager (%d)" % (X, m))
    c.sh("pause", c.dir, str(m))
    return m, next(i for i in MANAGERS if i != m)


def round_forward(c):
    v0 = ring(c, X)["version"]
    before = c.adm_json(1, "status")["consistency"]
    m, cmd = hang_follow(c)
    try:
        r = retry(c, cmd, "rebalance")
        check(r.returncode == 0, "rebalance through n%d with n%d hung: %s" %
              (cmd, m, r.stderr.strip()))
        wait_until(lambda: ring(c, cmd)["version"] > v0, 2,
                   "n%d's copy has the new RING" % cmd)
        v1 = ring(c, cmd)["version"]
        fresh = [i for i in MANAGERS if i != m]
        wait_until(lambda: all(ring(c, i)["version"] == v1 for i in fresh),
                   2, "the other managers' copies too")
        check(v1 == v0 + 1, "the managers' RING moved (%d -> %d)" % (v0, v1))
        check(ring(c, X)["version"] == v0, "n%d is behind" % X)
        # A change while checksums disagree: refused (nothing changed is
        # checked once the hung manager is back).
        r = c.adm(cmd, "update-consistency-level", "1", "1", "1")
        lines = r.stderr.strip().splitlines()
        check(r.returncode != 0 and len(lines) == 1 and
              "disagree" in lines[0],
              "a change refused while n%d is behind: %s" % (X, r.stderr))
        named = [i for i in range(1, 7) if "%s " % name(i) in lines[0]]
        check(len(named) == 1 and ring(c, named[0])["version"] == v0,
              "it names a node that is behind (%s)" % named)
        # Forward: a fresh gateway's request tells X it is behind.
        check(ring(c, X)["refreshes"] == 0, "no refresh yet")
        key = key_on(c, cmd, (X,))
        c.s3(cmd).put_object(Bucket="ringver", Key=key, Body=b"forward")
        wait_until(lambda: ring(c, X)["version"] == v1, 1.5,
                   "n%d refreshed by a request carrying v%d" % (X, v1))
        check(ring(c, X)["refreshes"] == 1, "counted as a refresh")
    finally:
        c.sh("resume", c.dir, str(m))
    check(c.adm_json(1, "status")["consistency"] == before,
          "the refused change changed nothing")
    return key


def round_reverse(c, avoid):
    r = retry(c, 1, "detach", name(6), secs=15)
    check(r.returncode == 0, "detach n6: %s" % r.stderr.strip())
    v1 = ring(c, X)["version"]
    m, cmd = hang_follow(c)
    try:
        r = retry(c, cmd, "rebalance")
        check(r.returncode == 0, "rebalance without n6: %s" % r.stderr)
        wait_until(lambda: ring(c, cmd)["version"] > v1, 2,
                   "n%d's copy has the new RING" % cmd)
        v2 = ring(c, cmd)["version"]
        fresh = [i for i in MANAGERS if i != m]
        wait_until(lambda: all(ring(c, i)["version"] == v2 for i in fresh),
                   2, "the other managers' copies too")
        check(v2 == v1 + 1 and ring(c, X)["version"] == v1,
              "n%d is behind (v%d, the managers v%d)" % (X, v1, v2))
        # Reverse: X's gateway routes by its old copy to a fresh primary
        # (a manager other than the hung one follows itself).
        key = key_on(c, X, fresh, avoid)
        c.s3(X).put_object(Bucket="ringver", Key=key, Body=b"reverse")
        wait_until(lambda: ring(c, X)["version"] == v2, 1.5,
                   "n%d refreshed by a reply's primary (v%d)" % (X, v2))
        check(ring(c, X)["refreshes"] == 2, "counted as a refresh")
    finally:
        c.sh("resume", c.dir, str(m))


def run(c):
    c.start()
    wait_until(lambda: len(c.status(1).get("members", [])) == 5, 15,
               "every node registered")
    r = retry(c, 2, "start")
    check(r.returncode == 0, "start: %s" % r.stderr)
    wait_until(lambda: all(s == "running" for s in
                           states(c.status(5)).values()), 10, "all running")
    c.s3(1).create_bucket(Bucket="ringver")
    wait_until(lambda: "ringver" in [b["Name"] for b in
                               c.s3(X).list_buckets()["Buckets"]], 5,
               "the bucket on n%d" % X)
    c.sh("add-node", c.dir)
    wait_until(lambda: states(c.status(1)).get(name(6)) == "attached", 15,
               "n6 attached")
    key = round_forward(c)
    wait_until(lambda: all(s == "running" for s in
                           states(c.status(1)).values()), 15,
               "every member running again")
    round_reverse(c, (key,))


def main():
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    BIN = os.path.abspath(a.bin)
    tmp = tempfile.mkdtemp(prefix="cleo-ringver-")
    c = Cluster(tmp, 5, BIN)
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
