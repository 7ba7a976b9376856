#!/usr/bin/env python3
# test_cluster_adm.py - cleo-adm's views of one node and of one key in a
# local cluster made by scripts/cluster.sh (three real cleo processes on
# loopback, each running every role, all three managers on Raft):
#
#   status   `status NODE` asked through another node is NODE's own view
#            (its name, version, roles, uptime, actors; its RING copy,
#            whose checksum is the cluster's; its state; the manager it
#            follows); through NODE itself the same; an unknown name and
#            a killed member are one line and exit 1; too many arguments
#            exit 2
#   whereis  after a PUT through boto3 the primary holds the object with
#            the S3 ETag, its size and a clock; after a DELETE it holds a
#            tombstone (deleted, a later clock); a key never written is
#            absent everywhere, as is one of a bucket that does not
#            exist; a killed replica is "unreachable" and whereis still
#            answers (exit 0)
#
#   python3 tests/integration/test_cluster_adm.py --bin build/cmd [case|all]
#
# Each case uses its own directory and free ports, and stops every node
# it started, pass or fail.
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterutil  # noqa: E402
from clusterutil import name  # noqa: E402
from nodeutil import Fail, check, require, summary, wait_until  # noqa: E402

REGION = "us-east-1"
ROLES = ["manager", "storage", "gateway"]
REPLICA_KEYS = {"node", "etag", "clock", "size", "deleted"}


class Cluster(clusterutil.Cluster):
    def adm_json(self, i, *args):
        r = self.adm(i, "--json", *args)
        require(r.returncode == 0, "n%d %s: %s" % (i, " ".join(args),
                                                  r.stderr.strip()))
        return json.loads(r.stdout)

    def s3(self, i):
        """A boto3 client for node i's S3 port, signed by the admin pair
        cluster.sh printed (path style, no retries)."""
        import boto3
        from botocore.config import Config
        with open(os.path.join(self.dir, "credentials")) as f:
            kv = dict(line.strip().split("=", 1) for line in f if "=" in line)
        conf = Config(s3={"addressing_style": "path"},
                      signature_version="s3v4", connect_timeout=5,
                      read_timeout=20, retries={"total_max_attempts": 1})
        return boto3.session.Session().client(
            "s3", endpoint_url="http://127.0.0.1:%d" % self.port(i),
            region_name=REGION, aws_access_key_id=kv["access_key"],
            aws_secret_access_key=kv["secret_key"], config=conf)


def one_line_error(r, code, want):
    lines = r.stderr.strip().splitlines()
    return (r.returncode == code and r.stdout == "" and len(lines) == 1 and
            want in lines[0])


def on_ring(c):
    """cluster.sh start, then wait for every node's copy of the RING;
    the RING's --json."""
    c.start(ring=True)
    ring = c.adm_json(1, "ring")
    wait_until(lambda: {m["ring_cur"] for m in c.status(1)["members"]} ==
               {ring["checksum"]}, 10, "one RING checksum on every node")
    return ring


def case_status(c):
    ring = on_ring(c)
    st = c.status(1)
    managers = {m["node"] for m in st["managers"]}

    v = c.adm_json(1, "status", name(3))
    check(v.get("node") == name(3), "status n3 through n1 is n3's view: %r"
          % v.get("node"))
    check(v.get("version") == c.status(3)["version"] and v["version"],
          "its version, as plain status on n3 shows (%r)" % v.get("version"))
    check(v.get("roles") == ROLES, "its roles %r" % v.get("roles"))
    check(v.get("uptime_ms", 0) > 0 and v.get("actors", 0) > 0 and
          v.get("schedulers", 0) > 0 and v.get("rss_bytes", 0) > 0,
          "its uptime, actors, schedulers and memory")
    check(v.get("state") == "running", "its state %r" % v.get("state"))
    check(v.get("ring_cur") == ring["checksum"] and
          v.get("ring_version") == ring["version"],
          "its RING copy is the cluster's (%r v%r)" %
          (v.get("ring_cur"), v.get("ring_version")))
    prev = {m["ring_prev"] for m in st["members"]}
    check(v.get("ring_prev") in prev, "its previous RING %r" %
          v.get("ring_prev"))
    check(v.get("follows") in managers, "it follows a manager (%r)" %
          v.get("follows"))
    check(v.get("leader") == st["leader"], "it knows the leader %r" %
          v.get("leader"))

    own = c.adm_json(3, "status", name(3))
    check(own.get("node") == name(3) and
          own.get("ring_cur") == ring["checksum"],
          "status n3 through n3 itself")
    r = c.adm(2, "status", name(1))
    check(r.returncode == 0 and ("node       %s" % name(1)) in r.stdout and
          "follows" in r.stdout and ring["checksum"] in r.stdout,
          "the text of status n1 through n2: %r" % r.stdout)

    r = c.adm(2, "status", "nobody@nowhere")
    check(one_line_error(r, 1, "no member named 'nobody@nowhere'"),
          "an unknown node: one line, exit 1 (%r)" % r.stderr)
    r = c.adm(2, "status", name(1), name(2))
    check(r.returncode == 2, "two nodes: a usage error (%d)" % r.returncode)

    c.sh("kill", c.dir, "3")
    r = c.adm(1, "status", name(3))
    check(one_line_error(r, 1, "%s is unreachable" % name(3)),
          "a killed member: one line naming it unreachable, exit 1 (%r)" %
          r.stderr)
    check(c.adm(1, "status", name(2)).returncode == 0 and
          c.adm(1, "status").returncode == 0,
          "status and status of a live node still answer")


def by_node(w):
    return {x["node"]: x for x in w["replicas"]}


def case_whereis(c):
    on_ring(c)
    cl = c.s3(2)
    cl.create_bucket(Bucket="photos")
    body = b"a cat, sitting" * 100
    etag = cl.put_object(Bucket="photos", Key="cat.jpg",
                         Body=body)["ETag"].strip('"')
    w = c.adm_json(3, "whereis", "photos/cat.jpg")
    reps = w.get("replicas", [])
    n = c.status(1)["consistency"]["n"]
    check(len(reps) == min(n, c.n) and
          all(REPLICA_KEYS <= set(x) for x in reps),
          "whereis --json: %d replicas with %s" % (len(reps),
                                                   sorted(REPLICA_KEYS)))
    p = reps[0]
    check(p["etag"] == etag and p["size"] == len(body) and
          not p["deleted"] and not p["absent"],
          "the primary %s holds it with the S3 ETag %s and size %d (%r)" %
          (p["node"], etag, len(body), p))
    check(p["clock"].isdigit() and int(p["clock"]) > 0,
          "and a clock %r" % p["clock"])
    check(all(x.get("absent") or x["etag"] == etag for x in reps),
          "each replica holds it or is absent")
    r = c.adm(3, "whereis", "photos/cat.jpg")
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and len(lines) == 1 + len(reps) and
          lines[0].startswith("ring address") and etag in lines[1] and
          p["node"] in lines[1],
          "text: the address, then one line per replica (%r)" % r.stdout)

    cl.delete_object(Bucket="photos", Key="cat.jpg")
    d = by_node(c.adm_json(1, "whereis", "photos/cat.jpg"))[p["node"]]
    check(d["deleted"] and not d["absent"] and d["etag"] == "" and
          d["size"] == 0, "after DELETE the primary holds a tombstone (%r)"
          % d)
    check(d["clock"].isdigit() and int(d["clock"]) > int(p["clock"]),
          "whose clock is later than the object's (%s > %s)" %
          (d["clock"], p["clock"]))
    r = c.adm(1, "whereis", "photos/cat.jpg")
    check(any("deleted" in x for x in r.stdout.splitlines()[1:]),
          "text says deleted: %r" % r.stdout)

    for path in ("photos/never-written", "no-such-bucket/x"):
        w = c.adm_json(2, "whereis", path)
        check(w["replicas"] and all(x["absent"] and not x["deleted"] and
                                    x["etag"] == "" and x["clock"] == ""
                                    for x in w["replicas"]),
              "%s is absent on every replica (%r)" % (path, w["replicas"]))

    down = reps[-1]["node"]
    i = int(down.split("@")[0][1:])
    other = 1 if i != 1 else 2
    c.sh("kill", c.dir, str(i))
    r = c.adm(other, "--json", "whereis", "photos/cat.jpg")
    w = json.loads(r.stdout) if r.returncode == 0 else {}
    reps2 = by_node(w) if w else {}
    check(r.returncode == 0 and reps2.get(down, {}).get("error") ==
          "unreachable" and all("error" not in x for nd, x in reps2.items()
                                if nd != down),
          "a killed replica is unreachable, the command succeeds (%r %r)" %
          (r.stderr, w))
    r = c.adm(other, "whereis", "photos/cat.jpg")
    check(r.returncode == 0 and any(down in x and "unreachable" in x
                                    for x in r.stdout.splitlines()),
          "text: its line says unreachable (%r)" % r.stdout)


CASES = {"status": case_status, "whereis": case_whereis}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("case", nargs="?", default="all")
    a = ap.parse_args()
    bindir = os.path.abspath(a.bin)
    names = list(CASES) if a.case == "all" else [a.case]
    for n in names:
        tmp = tempfile.mkdtemp(prefix="cleo-cluster-adm-")
        c = Cluster(tmp, 3, bindir)
        print("== " + n, flush=True)
        t0 = time.monotonic()
        try:
            CASES[n](c)
        except Fail as e:
            check(False, str(e))
        finally:
            c.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        print("%.1f s" % (time.monotonic() - t0))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
