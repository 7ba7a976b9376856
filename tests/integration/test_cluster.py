#!/usr/bin/env python3
# test_cluster.py - a local cluster made by scripts/cluster.sh (real cleo
# processes on loopback, each running every role; the first three are the
# managers, on Raft over distribution):
#
#   form     3 nodes register as attached; `start` makes the RING; every
#            node shows the same members, one leader, one RING checksum;
#            ring and whereis answer
#   leader   kill -9 of the leader: a new leader within a few election
#            timeouts, status keeps answering, the dead node is stopped;
#            started again with its data it is running with the RING
#   quorum   two of three managers down: status still answers (no
#            leader), a change is refused with one line; bad commands
#            (unknown node, a state change the state forbids, a quorum
#            over N) are refused with one line and change nothing
#
#   python3 tests/integration/test_cluster.py --bin build/cmd [case|all]
#
# Each case uses its own directory and free ports, and stops every node
# it started, pass or fail.
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clusterutil import Cluster, name, states  # noqa: E402
from nodeutil import (Fail, check, free_port, summary,  # noqa: E402
                      wait_for, wait_until)

BIN = None


def case_form(c):
    """cluster.sh start alone gives every member running on one RING."""
    c.start(ring=True)
    check(all(s == "running" for s in states(c.status(c.n)).values()),
          "every member running when cluster.sh returns")
    sums = set()
    leaders = set()
    for i in range(1, c.n + 1):
        st = c.status(i)
        leaders.add(st["leader"])
        check(len(st["members"]) == c.n, "n%d sees %d members" %
              (i, len(st["members"])))
        for m in st["members"]:
            sums.add(m["ring_cur"])
    check(len(leaders) == 1 and None not in leaders,
          "one leader everywhere (%s)" % leaders)
    check(len(sums) == 1 and "-" not in sums,
          "one RING checksum on every node (%s)" % sums)
    mgrs = c.status(1)["managers"]
    check(len(mgrs) == 3 and sum(m["leader"] for m in mgrs) == 1,
          "3 managers, 1 leader")
    r = c.adm(1, "--json", "ring")
    check(r.returncode == 0, "ring answers")
    ring = json.loads(r.stdout)
    check(ring["checksum"] in sums and ring["balance"] >= 0.999,
          "ring: the same checksum, balance %.3f" % ring["balance"])
    r = c.adm(3, "--json", "whereis", "photos/cat.jpg")
    w = json.loads(r.stdout) if r.returncode == 0 else {}
    n = c.status(1)["consistency"]["n"]
    check(len(w.get("replicas", [])) == min(n, c.n) and
          len({x["node"] for x in w["replicas"]}) == min(n, c.n),
          "whereis: %d distinct replicas (%r)" % (min(n, c.n), w))


def case_leader(c):
    c.formed()
    old = c.status(1)["leader"]
    i = int(old.split("@")[0][1:])
    t0 = time.monotonic()
    c.sh("kill", c.dir, str(i))
    other = 1 if i != 1 else 2

    def new_leader():
        ld = c.status(other)["leader"]
        return ld is not None and ld != old
    wait_until(new_leader, 20, "a new leader")
    took = time.monotonic() - t0
    check(took < 10, "a new leader in %.1f s" % took)
    wait_until(lambda: states(c.status(other))[old] == "stopped", 10,
               "the killed node is stopped")
    check(c.adm(other, "status").returncode == 0, "status keeps answering")
    c.sh("start-node", c.dir, str(i))
    wait_until(lambda: states(c.status(other))[old] == "running", 15,
               "the node is running again")
    wait_until(lambda: c.status(i).get("members") and
               {m["ring_cur"] for m in c.status(i)["members"]} ==
               {m["ring_cur"] for m in c.status(other)["members"]}, 10,
               "it has the current RING")


def case_quorum(c):
    c.formed()
    before = c.status(1)
    # Bad commands: one line, exit 1, nothing changed.
    for args, want in [(("resume", name(1)), "cannot become running"),
                       (("detach", "nobody@nowhere"), "no member"),
                       (("update-consistency-level", "9", "1", "1"), ""),
                       (("whereis", "no-slash"), "BUCKET/KEY")]:
        r = c.adm(2, *args)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 1 and len(lines) == 1 and want in lines[0],
              "%s refused in one line (%r)" % (" ".join(args), r.stderr))
    after = c.status(1)
    check(states(after) == states(before) and
          after["consistency"] == before["consistency"],
          "nothing changed")
    # Two of three managers down.
    c.sh("kill", c.dir, "2")
    c.sh("kill", c.dir, "3")
    wait_until(lambda: c.status(1)["leader"] is None, 15,
               "no leader with one manager of three")
    check(len(c.status(1)["members"]) == 3,
          "status answers from the node's copy")
    r = c.adm(1, "suspend", name(1))
    check(r.returncode == 1 and "no manager leader" in r.stderr,
          "a change is refused: %r" % r.stderr.strip())


def case_managers(c):
    """manager-add of n4 and manager-remove of n1 change the Raft
    configuration; the new set elects a leader without n1."""
    c.formed()
    r = c.adm(4, "manager-add", name(4))
    check(r.returncode == 0, "manager-add n4: %s" % r.stderr.strip())
    r = c.adm(4, "manager-add", name(4))
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1,
          "a second manager-add is refused: %r" % r.stderr.strip())
    r = c.adm(2, "manager-remove", name(1))
    check(r.returncode == 0, "manager-remove n1: %s" % r.stderr.strip())
    want = [name(2), name(3), name(4)]
    wait_until(lambda: [m["node"] for m in c.status(4)["managers"]] == want,
               10, "the managers are n2, n3, n4")
    old = wait_until(lambda: c.status(4)["leader"] in want and
                     c.status(4)["leader"], 15, "a leader among n2, n3, n4")
    c.sh("kill", c.dir, old.split("@")[0][1:])
    live = [i for i in (2, 3, 4) if name(i) != old][0]  # ask a survivor
    wait_until(lambda: c.status(live)["leader"] not in (None, old), 20,
               "a new leader among n2, n3, n4")
    check(c.status(live)["leader"] in want, "the new leader is a manager")
    # Through n1, no longer a manager: its agent hands the change to one
    # of the new set, which may learn the new leader a heartbeat later.
    check(wait_for(lambda: c.adm(1, "rebalance").returncode == 0, 10),
          "a change goes through")


def case_ring(c):
    """Five nodes form the RING; a sixth joins (cluster.sh add-node) and
    `rebalance` puts it in: balance and movement within their targets."""
    c.formed()
    ring = lambda: json.loads(c.adm(4, "--json", "ring").stdout)  # noqa
    wait_until(lambda: c.adm(4, "ring").returncode == 0, 10,
               "n4 has the RING")
    r5 = ring()
    check(r5["nodes"] == 5 and r5["balance"] <= 1.10,
          "5 nodes: balance %.3f <= 1.10" % r5["balance"])
    c.sh("add-node", c.dir)
    wait_until(lambda: states(c.status(1)).get(name(6)) == "attached", 15,
               "n6 attached")
    r = c.adm(6, "rebalance")
    check(r.returncode == 0, "rebalance: %s" % r.stderr.strip())
    wait_until(lambda: ring()["nodes"] == 6, 10, "n4 has the new RING")
    r6 = ring()
    check(r6["movement"] is not None and r6["movement"] <= 1.2,
          "attaching a sixth: movement %s <= 1.2" % r6["movement"])
    check(r6["balance"] <= 1.10, "6 nodes: balance %.3f" % r6["balance"])
    wait_until(lambda: states(c.status(2)).get(name(6)) == "running", 10,
               "n6 running")
    # Each node's copy follows a manager, up to a heartbeat behind.
    sums = lambda: {m["ring_cur"] for m in c.status(3)["members"]}  # noqa
    check(wait_for(lambda: sums() == {r6["checksum"]}, 5),
          "one RING on all six (%s)" % sums())


def case_buckets(c):
    """cleo-adm bucket commands in a cluster are the managers': made on
    one node, listed and summed on another, refused in one line when
    wrong, deleted when empty everywhere."""
    c.start(ring=True)

    def names(i):
        r = c.adm(i, "--json", "bucket", "list")
        return [b["name"] for b in json.loads(r.stdout)["buckets"]] \
            if r.returncode == 0 else None
    r = c.adm(1, "bucket", "create", "logs")
    check(r.returncode == 0, "bucket create through n1: %s" % r.stderr)
    # Each node's copy of the cluster state follows a manager; a
    # follower's copy lags the leader's by up to a heartbeat.
    wait_until(lambda: all(names(i) == ["logs"] for i in (1, 2, 3)), 5,
               "every node lists it")
    j = json.loads(c.adm(2, "--json", "bucket", "list").stdout)
    check(sorted(j.get("nodes", {})) == [name(i) for i in (1, 2, 3)],
          "every storage node answered (%s)" % sorted(j.get("nodes", {})))
    r = c.adm(2, "--json", "bucket", "du", "logs")
    check(r.returncode == 0 and json.loads(r.stdout)["objects"] == 0,
          "bucket du sums the nodes: %s" % (r.stdout or r.stderr))
    for args, want in [(("bucket", "create", "logs"), "already exists"),
                       (("bucket", "create", "Bad_Name"), "invalid bucket"),
                       (("bucket", "create", "other", "--owner", "nobody"),
                        "no such user 'nobody'"),
                       (("bucket", "delete", "nothere"), "no such bucket")]:
        r = c.adm(3, *args)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 1 and len(lines) == 1 and want in lines[0],
              "%s refused in one line (%r)" % (" ".join(args), r.stderr))
    check(names(1) == ["logs"], "nothing else was made")
    r = c.adm(2, "bucket", "delete", "logs")
    check(r.returncode == 0, "bucket delete through n2: %s" % r.stderr)
    wait_until(lambda: names(1) == [], 5, "gone on n1")


def case_gateway(c):
    """A gateway-only node in the cluster (no admin actor of its own):
    it registers, and cleo-adm status, ring and stats answer there;
    a user command says where to run it."""
    c.formed()
    dport, hport = free_port(), free_port()
    data = os.path.join(c.dir, "g")
    os.makedirs(data)
    peers = ",".join("n%d@127.0.0.1:%s" % (i, int(c.env[
        "CLEO_CLUSTER_DIST_BASE"]) + i - 1) for i in range(1, c.n + 1))
    with open(os.path.join(c.dir, "cookie")) as f:
        cookie = f.read().strip()
    log = open(os.path.join(data, "log"), "w")
    p = subprocess.Popen(
        [os.path.join(BIN, "cleo"), "--no-heart", "--data", data,
         "--set", "node.name=g@127.0.0.1", "--set", "node.roles=gateway",
         "--set", "dist.port=%d" % dport,
         "--set", "gateway.http.port=%d" % hport,
         "--set", "cluster.nodes=%s,g@127.0.0.1:%d" % (peers, dport),
         "--set", "cluster.managers=" + ",".join(name(i) for i in (1, 2, 3))],
        stdout=log, stderr=log, env=dict(os.environ, CLEO_COOKIE=cookie))
    sock = os.path.join(data, "cleo.sock")

    def adm(*args):
        return subprocess.run([os.path.join(BIN, "cleo-adm"), "--socket",
                               sock] + list(args), capture_output=True,
                              text=True, timeout=30)
    try:
        def registered():
            r = adm("--json", "status")
            return r.returncode == 0 and "g@127.0.0.1" in states(
                json.loads(r.stdout))
        wait_until(registered, 20, "the gateway node registered")
        st = json.loads(adm("--json", "status").stdout)
        check(st["leader"] is not None and len(st["members"]) == c.n + 1,
              "status on the gateway node shows the cluster")
        check(adm("ring").returncode == 0, "ring answers there")
        r = adm("stats")
        check(r.returncode == 0 and "counters" not in r.stderr,
              "stats shows its counters (%r)" % r.stderr.strip())
        r = adm("user", "list")
        check(r.returncode == 1 and "no manager role" in r.stderr,
              "a user command says where to run it (%r)" % r.stderr.strip())
    finally:
        p.kill()
        p.wait(timeout=10)
        log.close()


CASES = {"form": case_form, "leader": case_leader, "quorum": case_quorum,
         "managers": case_managers, "gateway": case_gateway,
         "ring": case_ring, "buckets": case_buckets}


def main():
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("case", nargs="?", default="all")
    a = ap.parse_args()
    BIN = os.path.abspath(a.bin)
    names = list(CASES) if a.case == "all" else [a.case]
    for n in names:
        tmp = tempfile.mkdtemp(prefix="cleo-cluster-")
        c = Cluster(tmp, {"managers": 4, "ring": 5}.get(n, 3), BIN)
        print("== " + n, flush=True)
        try:
            CASES[n](c)
        except Fail as e:
            check(False, str(e))
        finally:
            c.stop()
            shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
