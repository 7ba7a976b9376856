# clusterutil.py - a local cluster of real cleo processes made by
# scripts/cluster.sh, for the integration tests (test_cluster*.py): free
# ports, start/stop, cleo-adm against one node, its status as JSON.
import json
import os
import socket
import subprocess

from nodeutil import Fail, free_port, require, wait_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "cluster.sh")


def free_block(n):
    """A base port with n free ports from it."""
    for _ in range(200):
        base = free_port()
        if base + n > 65000:
            continue
        try:
            for p in range(base, base + n):
                with socket.socket() as t:
                    t.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise Fail("no block of %d free ports" % n)


def name(i):
    return "n%d@127.0.0.1" % i


def states(st):
    """{node: state} of a status --json."""
    return {m["node"]: m["state"] for m in st.get("members", [])}


class Cluster:
    """scripts/cluster.sh's cluster of n nodes in tmp/c, on free ports,
    with the cleo and cleo-adm of bindir."""

    def __init__(self, tmp, n, bindir, election_ms=500):
        self.dir = os.path.join(tmp, "c")
        self.n = n
        self.bin = bindir
        self.election_ms = election_ms
        self.s3_base = free_block(n + 1)  # room for add-node
        self.env = dict(os.environ,
                        CLEO_BIN=os.path.join(bindir, "cleo"),
                        CLEO_CLUSTER_S3_BASE=str(self.s3_base),
                        CLEO_CLUSTER_DIST_BASE=str(free_block(n + 1)))
        self.env.pop("CLEO_ACCESS_KEY", None)
        self.env.pop("CLEO_SECRET_KEY", None)

    def sh(self, *args, ok=True):
        r = subprocess.run([SCRIPT] + list(args), env=self.env,
                           capture_output=True, text=True, timeout=120)
        if ok:
            require(r.returncode == 0, "cluster.sh %s: %s %s" %
                    (" ".join(args), r.stdout, r.stderr))
        return r

    def start(self, *sets, ring=False):
        """cluster.sh start; ring=True lets it start the RING too."""
        args = ["start", str(self.n), self.dir] + \
            ([] if ring else ["--no-ring"]) + \
            ["--set", "cluster.election_ms=%d" % self.election_ms]
        for s in sets:
            args += ["--set", s]
        return self.sh(*args)

    def port(self, i):
        """Node i's S3 port."""
        return self.s3_base + i - 1

    def adm(self, i, *args):
        sock = os.path.join(self.dir, "n%d" % i, "cleo.sock")
        return subprocess.run([os.path.join(self.bin, "cleo-adm"),
                               "--socket", sock] + list(args),
                              capture_output=True, text=True, timeout=30)

    def status(self, i):
        r = self.adm(i, "--json", "status")
        require(r.returncode == 0, "n%d status: %s" % (i, r.stderr))
        return json.loads(r.stdout)

    def formed(self):
        """Start, wait for every node registered and the first conf set,
        then `start` the RING and wait for every member running."""
        self.start()
        wait_until(lambda: len(self.status(1).get("members", [])) == self.n,
                   15, "every node registered")
        wait_until(lambda: self.status(1).get("consistency", {})
                   .get("n", 0) > 0, 10, "the first leader set the conf")
        r = self.adm(2, "start")
        require(r.returncode == 0, "start: %s" % r.stderr)
        # Every node's copy: each follows a manager, a heartbeat behind.
        wait_until(lambda: all(all(s == "running" for s in
                                   states(self.status(i)).values())
                               for i in range(1, self.n + 1)), 10,
                   "every member running, in every node's copy")

    def stop(self):
        if os.path.exists(os.path.join(self.dir, "cluster.conf")):
            self.sh("stop", self.dir, ok=False)


# ---- replicas (test_cluster_repl.py, test_cluster_repair.py) ----------


def where(c, via, bucket, key):
    """{node: replica} of `cleo-adm whereis` through node via."""
    r = c.adm(via, "--json", "whereis", "%s/%s" % (bucket, key))
    require(r.returncode == 0, "n%d whereis: %s" % (via, r.stderr))
    return {x["node"]: x for x in json.loads(r.stdout)["replicas"]}


def agree(reps, nodes, etag=None, deleted=False):
    """The replicas of nodes hold one version (clock) and ETag, with the
    etag given (if any) and the deleted flag given."""
    got = [reps.get(n, {}) for n in nodes]
    clocks = {r.get("clock") for r in got}
    etags = {r.get("etag", "") for r in got}
    ok = len(clocks) == 1 and None not in clocks and "" not in clocks
    ok = ok and len(etags) == 1
    for r in got:
        ok = ok and bool(r.get("deleted")) == deleted and not r.get("error")
        if etag is not None:
            ok = ok and r.get("etag") == etag
    return ok


def down(c, i, via):
    """Wait until nodes via see node i's connection gone."""
    def gone(j):
        r = c.adm(j, "--json", "nodes")
        peers = json.loads(r.stdout).get("nodes", []) if r.returncode == 0 \
            else []
        return not any(p.get("name") == name(i) and p.get("up")
                       for p in peers)
    wait_until(lambda: all(gone(j) for j in via), 10,
               "n%d seen down by %s" % (i, via))
