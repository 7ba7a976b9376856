#!/usr/bin/env python3
# test_cluster_users.py - users and access keys across a local cluster
# made by scripts/cluster.sh (three real cleo processes on loopback, all
# managers on Raft, each running every role), driven with cleo-adm and
# boto3:
#
#   - the admin pair the cluster prints signs requests on every node;
#   - `user create bob` through n2: bob's keys list buckets on n3's S3
#     port, and `user list` shows the same users on every node;
#   - bad input: creating bob again, a bad name, deleting the admin or a
#     user that does not exist: one line, exit 1, nothing changed;
#   - `user delete bob` through n1: bob's requests on n3 are refused
#     (InvalidAccessKeyId, 403) within a couple of seconds;
#   - a node restarted with another admin pair (its local store takes
#     it) proposes it: the new pair works on the other nodes too;
#   - two managers of three down: a user change is refused with one line
#     saying there is no leader, and nothing changed.
#
#   python3 tests/integration/test_cluster_users.py --bin build/cmd
#
# It uses its own directory and free ports, and stops every node it
# started, pass or fail.
import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clusterutil import Cluster  # noqa: E402
from nodeutil import (Fail, check, require, summary,  # noqa: E402
                      wait_for, wait_until)
REGION = "us-east-1"
BIN = None


def s3(c, i, ak, sk):
    """A boto3 client for node i's S3 port (path style, no retries)."""
    import boto3
    from botocore.config import Config
    port = c.port(i)
    conf = Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                  connect_timeout=5, read_timeout=10,
                  retries={"total_max_attempts": 1})
    return boto3.session.Session().client(
        "s3", endpoint_url="http://127.0.0.1:%d" % port, region_name=REGION,
        aws_access_key_id=ak, aws_secret_access_key=sk, config=conf)


def list_buckets(c, i, ak, sk):
    """(HTTP status, S3 error code or None) of ListBuckets on node i."""
    from botocore.exceptions import ClientError
    try:
        r = s3(c, i, ak, sk).list_buckets()
        return r["ResponseMetadata"]["HTTPStatusCode"], None
    except ClientError as e:
        return (e.response["ResponseMetadata"]["HTTPStatusCode"],
                e.response["Error"]["Code"])


def works(c, i, ak, sk):
    return list_buckets(c, i, ak, sk)[0] == 200


def users(c, i):
    """{name: [access keys]} from `user list --json` on node i."""
    r = c.adm(i, "--json", "user", "list")
    require(r.returncode == 0, "n%d user list: %s" % (i, r.stderr))
    return {u["name"]: sorted(u["access_keys"])
            for u in json.loads(r.stdout)["users"]}


def same_everywhere(c, nodes=(1, 2, 3)):
    """The users as every node lists them, if they all agree; else None."""
    seen = [users(c, i) for i in nodes]
    return seen[0] if all(s == seen[0] for s in seen) else None


def refused(r, want):
    """One line on stderr containing want, exit 1."""
    lines = r.stderr.strip().splitlines()
    return r.returncode == 1 and len(lines) == 1 and want in lines[0]


def pair(path):
    text = open(path).read()
    return (re.search(r"access_key=(\S+)", text).group(1),
            re.search(r"secret_key=(\S+)", text).group(1))


def run(c):
    c.start()
    wait_until(lambda: c.status(1).get("leader"), 15, "a manager leader")
    ak, sk = pair(os.path.join(c.dir, "credentials"))

    # The cluster's admin pair on every node.
    for i in (1, 2, 3):
        check(wait_for(lambda: works(c, i, ak, sk), 5),
              "the admin pair lists buckets on n%d" % i)
    wait_until(lambda: (same_everywhere(c) or {}).get("admin") == [ak], 5,
               "the admin with its one key on every node")

    # A user made through n2 signs requests on n3.
    r = c.adm(2, "user", "create", "bob")
    require(r.returncode == 0, "user create bob: %s" % r.stderr)
    bak = re.search(r"access_key\s*=\s*(\S+)", r.stdout).group(1)
    bsk = re.search(r"secret_key\s*=\s*(\S+)", r.stdout).group(1)
    check("bob" in users(c, 2), "n2 lists bob as soon as it answered")
    t0 = time.monotonic()
    check(wait_for(lambda: works(c, 3, bak, bsk), 5),
          "bob's keys list buckets on n3 (after %.2f s)" %
          (time.monotonic() - t0))
    want = {"admin": [ak], "bob": [bak]}
    check(wait_for(lambda: same_everywhere(c) == want, 5),
          "user list shows admin and bob on every node")

    # Bad input: one line, exit 1, nothing changed.
    for i, args, line in [
            (3, ("user", "create", "bob"), "already exists"),
            (1, ("user", "create", "admin"), "already exists"),
            (1, ("user", "create", "bad name"), "invalid user name"),
            (2, ("user", "create", "a/b"), "invalid user name"),
            (3, ("user", "delete", "admin"), "admin"),
            (2, ("user", "delete", "nobody"), "no such user")]:
        r = c.adm(i, *args)
        check(refused(r, line), "n%d %s refused in one line (%r)" %
              (i, " ".join(args), r.stderr.strip()))
    check(same_everywhere(c) == want, "nothing changed on any node")
    check(works(c, 3, bak, bsk), "bob's keys still work on n3")

    # A user deleted through n1 is refused on n3 within a couple of s.
    r = c.adm(1, "user", "delete", "bob")
    check(r.returncode == 0, "user delete bob through n1: %s" % r.stderr)
    t0 = time.monotonic()
    out = wait_for(lambda: list_buckets(c, 3, bak, bsk)[0] == 403 and
                   list_buckets(c, 3, bak, bsk), 2.5)
    check(bool(out) and out[1] == "InvalidAccessKeyId",
          "bob refused on n3 (%r after %.2f s)" %
          (out or list_buckets(c, 3, bak, bsk), time.monotonic() - t0))
    check(wait_for(lambda: same_everywhere(c) == {"admin": [ak]}, 5),
          "bob gone from every node's list")
    r = c.adm(3, "user", "delete", "bob")
    check(refused(r, "no such user"), "deleting bob again: %r" %
          r.stderr.strip())

    # A node restarted with another admin pair proposes it.
    c.sh("kill", c.dir, "3")
    ak3, sk3 = "N3KEY" + os.urandom(5).hex().upper(), os.urandom(15).hex()
    with open(os.path.join(c.dir, "credentials"), "w") as f:
        f.write("access_key=%s\nsecret_key=%s\n" % (ak3, sk3))
    c.sh("start-node", c.dir, "3")
    ok3 = wait_for(lambda: works(c, 1, ak3, sk3), 10)
    if not ok3:  # CI saw this fail once with n3 refusing connections
        for f in ("node.log", "cleo.log"):
            path = os.path.join(c.dir, "n3", f)
            if os.path.exists(path):
                print("== n3/%s (tail)\n%s" % (f, "".join(
                    open(path, errors="replace").readlines()[-25:])))
    check(ok3, "n3's new admin pair works on n1")
    # each node's copy may be a heartbeat behind another's
    check(wait_for(lambda: works(c, 2, ak3, sk3), 2), "and on n2")
    check(works(c, 3, ak, sk), "the first pair still works on n3")
    check(wait_for(lambda: (same_everywhere(c) or {}).get("admin") ==
                   sorted([ak, ak3]), 5),
          "every node lists the admin with both keys")

    # Two managers of three down: changes refused, reads answered.
    c.sh("kill", c.dir, "2")
    c.sh("kill", c.dir, "3")
    wait_until(lambda: c.status(1)["leader"] is None, 15,
               "no leader with one manager of three")
    r = c.adm(1, "user", "create", "zed")
    check(refused(r, "no manager leader"),
          "user create without a leader: %r" % r.stderr.strip())
    check("zed" not in users(c, 1), "zed was not made")
    check(works(c, 1, ak, sk), "n1 still signs with the admin pair")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    global BIN
    BIN = os.path.abspath(a.bin)
    tmp = tempfile.mkdtemp(prefix="cleo-cusers-")
    c = Cluster(tmp, 3, BIN)
    print("== cluster users", flush=True)
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
