#!/usr/bin/env python3
# test_cluster_repl.py - replicated writes and quorum reads (issue 12,
# first steps): three real cleo processes by scripts/cluster.sh with N=3,
# W=2, R=2, D=2, driven with boto3 through different gateways, checked
# replica by replica with `cleo-adm whereis`:
#
#   - a PUT through any node lands on all three replicas with one version
#     (the same clock and ETag on each);
#   - one node killed: a PUT still succeeds (two of three reachable), the
#     two live replicas agree, and it reads back through every live
#     gateway, also for keys whose primary is the dead node;
#   - a DELETE with one node down writes the same tombstone on both live
#     replicas (D=2);
#   - a streamed PUT (over 1 MiB: the gateway streams it) lands on every
#     live replica with one version;
#   - the dead node back with its old data: reads (R=2) return the newest
#     version, not its stale one, and a key deleted while it was down
#     stays deleted;
#   - two nodes killed: a PUT is 503 ServiceUnavailable (fewer than W
#     reachable) and nothing of it is written on the live node; a DELETE
#     likewise changes nothing; a read is 503 (fewer than R reachable).
#
#   python3 tests/integration/test_cluster_repl.py --bin build/cmd
import argparse
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clusterutil import agree, down, name, states  # noqa: E402
import clusterutil  # noqa: E402
from nodeutil import Fail, check, summary, wait_until  # noqa: E402
from test_cluster_s3 import Cluster, err  # noqa: E402

BIN = None
BUCKET = "repl"




def primary(c, key):
    return c.adm_json(1, "whereis", "%s/%s" % (BUCKET, key))[
        "replicas"][0]["node"]






def where(c, via, key):
    return clusterutil.where(c, via, BUCKET, key)


def run(c):
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
    all3 = [name(i) for i in (1, 2, 3)]

    # All up: one version on all three, whichever gateway took it.
    etags = {}
    for i, key in enumerate(["a%d" % k for k in range(6)]):
        body = b"replicated %d" % i
        etags[key] = c.s3(1 + i % 3).put_object(
            Bucket=BUCKET, Key=key, Body=body)["ETag"].strip('"')
        reps = where(c, 2, key)
        check(agree(reps, all3, etags[key]),
              "%s: one version on all three replicas (%s)" % (key, reps))

    # Keys of n3 written with all up, to be overwritten or deleted while
    # it is down.
    stale = [k for k in ("s%d" % j for j in range(40))
             if primary(c, k) == name(3)][:2]
    check(len(stale) == 2, "two keys whose primary is n3")
    for key in stale:
        c.s3(1).put_object(Bucket=BUCKET, Key=key, Body=b"old")

    # n3 down: writes go on to the two live replicas (once the others
    # know it is down: a request already on its way to it when it died is
    # 503, which clients retry).
    c.sh("kill", c.dir, "3")
    down(c, 3, (1, 2))
    c.s3(2).put_object(Bucket=BUCKET, Key=stale[0], Body=b"new")
    c.s3(2).delete_object(Bucket=BUCKET, Key=stale[1])
    big = os.urandom(3 << 20)
    etags["big"] = c.s3(1).put_object(
        Bucket=BUCKET, Key="big", Body=big)["ETag"].strip('"')
    check(agree(where(c, 2, "big"), [name(1), name(2)], etags["big"]),
          "a streamed PUT: one version on both live replicas")
    live = [name(1), name(2)]
    keys = ["b%d" % k for k in range(12)]
    for key in keys:
        etags[key] = c.s3(1).put_object(
            Bucket=BUCKET, Key=key, Body=key.encode())["ETag"].strip('"')
    on3 = [k for k in keys if primary(c, k) == name(3)]
    check(len(on3) > 0, "some keys' primary is the dead n3 (%d)" % len(on3))
    for key in keys:
        reps = where(c, 1, key)
        check(agree(reps, live, etags[key]) and
              reps[name(3)].get("error") == "unreachable",
              "%s: the two live replicas agree, n3 unreachable" % key)
        for gw in (1, 2):
            got = c.s3(gw).get_object(Bucket=BUCKET, Key=key)
            check(got["Body"].read() == key.encode(),
                  "%s read back through n%d" % (key, gw))

    # A delete with one node down: one tombstone on both live replicas.
    c.s3(2).delete_object(Bucket=BUCKET, Key="b0")
    reps = where(c, 1, "b0")
    check(agree(reps, live, deleted=True),
          "b0: the same tombstone on both live replicas (%s)" % reps)
    check(err(c.s3(1).head_object, Bucket=BUCKET, Key="b0")[0] == 404,
          "b0 is gone")

    # n3 back with its old data: reads take the newest of R=2 replicas.
    c.sh("start-node", c.dir, "3")
    wait_until(lambda: states(c.status(1)).get(name(3)) == "running", 20,
               "n3 running again")
    for gw in (1, 2, 3):
        got = c.s3(gw).get_object(Bucket=BUCKET, Key=stale[0])
        check(got["Body"].read() == b"new",
              "n%d reads the newest %s, not n3's old one" % (gw, stale[0]))
        check(err(c.s3(gw).head_object, Bucket=BUCKET,
                  Key=stale[1])[0] == 404,
              "n%d: %s deleted while n3 was down stays deleted" %
              (gw, stale[1]))
        got = c.s3(gw).get_object(Bucket=BUCKET, Key="big")
        check(got["Body"].read() == big, "n%d reads the big one" % gw)

    # n2 and n3 down: fewer than W reachable, nothing is written.
    c.sh("kill", c.dir, "3")
    c.sh("kill", c.dir, "2")
    down(c, 3, (1,))
    down(c, 2, (1,))
    code = err(c.s3(1).put_object, Bucket=BUCKET, Key="c0", Body=b"x")
    check(code == (503, "ServiceUnavailable"),
          "a PUT with one of three replicas is 503 (%s)" % (code,))
    check(where(c, 1, "c0")[name(1)].get("absent") is True,
          "nothing of it on the live node")
    before = where(c, 1, "b1")[name(1)]
    code = err(c.s3(1).delete_object, Bucket=BUCKET, Key="b1")
    check(code[0] == 503, "a DELETE with one replica is 503 (%s)" % (code,))
    after = where(c, 1, "b1")[name(1)]
    check(after == before and not after.get("deleted"),
          "the live replica unchanged")
    code = err(c.s3(1).get_object, Bucket=BUCKET, Key="a0")
    check(code[0] == 503, "a read with one of R=2 replicas is 503 (%s)" %
          (code,))


def main():
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    BIN = os.path.abspath(a.bin)
    tmp = tempfile.mkdtemp(prefix="cleo-repl-")
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
