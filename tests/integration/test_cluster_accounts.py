#!/usr/bin/env python3
# test_cluster_accounts.py - cleo-adm's account commands across a local
# cluster made by scripts/cluster.sh (three real cleo processes, all
# managers on Raft, each running every role), driven with cleo-adm and
# boto3 (Debian's /usr/bin/python3):
#
#   - `user import` through n2: n3's `user list` shows the user and pair,
#     and the imported pair signs a request on n3's S3 port; a second
#     pair for the same user, through n1, too;
#   - `user role` through n2: n3 shows the role, and on n3's S3 port the
#     user sees every bucket as an admin, then only its own again;
#   - `bucket chown` through n2: n3 shows the owner, and the new owner
#     reaches the bucket on n3 (the old one is refused);
#   - `bucket acl` through n2: n3 shows it (`bucket acl`, `bucket list`);
#   - bad input through n3: an unknown user or bucket, a bad ACL or role,
#     malformed keys, a key already in use, the wrong number of
#     arguments: one line, a non-zero exit, nothing changed on n1;
#   - every command with --json.
#
#   /usr/bin/python3 tests/integration/test_cluster_accounts.py --bin build/cmd
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

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clusterutil import Cluster  # noqa: E402
from nodeutil import (Fail, check, require, summary,  # noqa: E402
                      wait_for, wait_until)

REGION = "us-east-1"
CAROL = ("CAROLKEY0000000001", "carol/secret/0001")
CAROL2 = ("CAROLKEY0000000002", "carol/secret/0002")


def s3(c, i, ak, sk):
    """A boto3 client for node i's S3 port (path style, no retries)."""
    import boto3
    from botocore.config import Config
    conf = Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                  connect_timeout=5, read_timeout=10,
                  retries={"total_max_attempts": 1})
    return boto3.session.Session().client(
        "s3", endpoint_url="http://127.0.0.1:%d" % c.port(i),
        region_name=REGION, aws_access_key_id=ak, aws_secret_access_key=sk,
        config=conf)


def seen(c, i, ak, sk):
    """The buckets ListBuckets shows to ak/sk on node i, or the S3 error
    code."""
    from botocore.exceptions import ClientError
    try:
        return sorted(b["Name"] for b in
                      s3(c, i, ak, sk).list_buckets()["Buckets"])
    except ClientError as e:
        return e.response["Error"]["Code"]


def head(c, i, ak, sk, bucket):
    """HeadBucket's HTTP status on node i."""
    from botocore.exceptions import ClientError
    try:
        r = s3(c, i, ak, sk).head_bucket(Bucket=bucket)
        return r["ResponseMetadata"]["HTTPStatusCode"]
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"]


def jadm(c, i, *args):
    r = c.adm(i, "--json", *args)
    require(r.returncode == 0, "n%d %s: %s" % (i, " ".join(args), r.stderr))
    return json.loads(r.stdout)


def users(c, i):
    """{name: (role, [access keys])} from n<i>'s user list --json."""
    return {u["name"]: (u["role"], sorted(u["access_keys"]))
            for u in jadm(c, i, "user", "list")["users"]}


def buckets(c, i):
    """{name: (owner, acl)} from n<i>'s bucket list --json."""
    return {b["name"]: (b["owner"], b["acl"])
            for b in jadm(c, i, "bucket", "list")["buckets"]}


def refused(r, want, code):
    """One line on stderr containing want, exit code, nothing on stdout."""
    lines = r.stderr.strip().splitlines()
    return (r.returncode == code and len(lines) == 1 and
            want in lines[0] and r.stdout == "")


def refusals(c, cases, read):
    """Each case (node, args, want, exit code) refused in one line, and
    read(i) the same before and after them all. Every node's copy is
    awaited first: a follower's copy lags the leader's by a heartbeat, so
    the last change may reach node 1 after node 3 showed it."""
    check(wait_for(lambda: read(1) == read(2) == read(3), 5),
          "every node's copy agrees before the refusals")
    before = read(1)
    for i, args, want, code in cases:
        r = c.adm(i, *args)
        check(refused(r, want, code), "n%d %s refused in one line (exit %d, "
              "%r)" % (i, " ".join(args), r.returncode, r.stderr.strip()))
    check(read(1) == before, "nothing changed (%r)" % (read(1),))


def case_import(c, ak, sk):
    r = c.adm(2, "user", "import", "carol", *CAROL)
    check(r.returncode == 0 and "imported" in r.stdout,
          "user import carol through n2: %r" % (r.stdout + r.stderr))
    check(users(c, 2).get("carol") == ("user", [CAROL[0]]),
          "n2 lists carol as soon as it answered")
    check(wait_for(lambda: users(c, 3).get("carol") ==
                   ("user", [CAROL[0]]), 5), "n3 lists carol and the pair")
    check(wait_for(lambda: seen(c, 3, *CAROL) == [], 5),
          "the imported pair signs ListBuckets on n3's S3 port (%r)" %
          (seen(c, 3, *CAROL),))
    j = jadm(c, 1, "user", "import", "carol", *CAROL2)
    check(j == {"user": "carol", "access_key": CAROL2[0], "imported": True},
          "--json import of a second pair through n1: %r" % j)
    both = ("user", sorted([CAROL[0], CAROL2[0]]))
    check(wait_for(lambda: users(c, 3).get("carol") == both, 5),
          "n3 lists both pairs")
    check(wait_for(lambda: seen(c, 3, *CAROL2) == [], 5),
          "the second pair signs on n3")
    refusals(c, [
        (3, ("user", "import", "dave", ak, "some/secret/1"),
         "already in use", 1),
        (3, ("user", "import", "dave", CAROL[0], "some/secret/1"),
         "already in use", 1),
        (3, ("user", "import", "carol", CAROL2[0], "some/secret/1"),
         "already in use", 1),
        (3, ("user", "import", "dave", "ab", "some/secret/1"),
         "invalid access key", 1),
        (3, ("user", "import", "dave", "DAVEKEY01", "short"),
         "invalid secret key", 1),
        (3, ("user", "import", "bad/name", "DAVEKEY01", "some/secret/1"),
         "invalid user name", 1),
        (3, ("user", "import", "dave", "DAVEKEY01"), "missing", 2),
    ], lambda i: users(c, i))
    check(seen(c, 3, "DAVEKEY01", "some/secret/1") == "InvalidAccessKeyId",
          "no refused pair signs on n3")


def case_role(c, ak, sk):
    r = c.adm(1, "bucket", "create", "adm-only")
    require(r.returncode == 0, "bucket create adm-only: %s" % r.stderr)
    wait_until(lambda: "adm-only" in buckets(c, 3), 5, "n3 lists adm-only")
    check(seen(c, 3, *CAROL) == [], "a plain carol sees no bucket on n3")
    r = c.adm(2, "user", "role", "carol", "admin")
    check(r.returncode == 0 and "admin" in r.stdout,
          "user role carol admin through n2: %r" % (r.stdout + r.stderr))
    check(wait_for(lambda: users(c, 3)["carol"][0] == "admin", 5),
          "n3 lists carol as an admin")
    check(wait_for(lambda: seen(c, 3, *CAROL) == ["adm-only"], 5),
          "admin carol sees the admin's bucket on n3 (%r)" %
          (seen(c, 3, *CAROL),))
    r = c.adm(3, "user", "delete", "carol")
    check(refused(r, "admin", 1), "an admin cannot be deleted: %r" %
          r.stderr.strip())
    j = jadm(c, 2, "user", "role", "carol", "user")
    check(j == {"user": "carol", "role": "user", "is_admin": False},
          "--json role back to user: %r" % j)
    check(wait_for(lambda: users(c, 3)["carol"][0] == "user", 5),
          "n3 lists carol as a plain user again")
    check(wait_for(lambda: seen(c, 3, *CAROL) == [], 5),
          "and she sees no bucket on n3")
    refusals(c, [
        (3, ("user", "role", "nobody", "admin"), "no such user", 1),
        (3, ("user", "role", "carol", "root"), "not a role", 1),
        (3, ("user", "role", "admin", "user"), "built-in admin", 1),
        (3, ("user", "role", "carol"), "missing", 2),
    ], lambda i: users(c, i))


def case_chown(c, ak, sk):
    r = c.adm(1, "bucket", "create", "shared")
    require(r.returncode == 0, "bucket create shared: %s" % r.stderr)
    wait_until(lambda: "shared" in buckets(c, 2), 5, "n2 lists shared")
    check(wait_for(lambda: head(c, 3, *CAROL, "shared") == 403, 5),
          "carol is refused on n3 while it is the admin's (%r)" %
          head(c, 3, *CAROL, "shared"))
    r = c.adm(2, "bucket", "chown", "shared", "carol")
    check(r.returncode == 0 and "carol" in r.stdout,
          "bucket chown shared carol through n2: %r" % (r.stdout + r.stderr))
    check(wait_for(lambda: buckets(c, 3)["shared"][0] == "carol", 5),
          "n3 lists carol as the owner")
    check(wait_for(lambda: head(c, 3, *CAROL, "shared") == 200, 5),
          "carol reaches her bucket on n3")
    check(seen(c, 3, *CAROL) == ["shared"], "and lists it there")
    j = jadm(c, 2, "bucket", "chown", "adm-only", "carol")
    check(j == {"bucket": "adm-only", "owner": "carol"},
          "--json chown: %r" % j)
    check(wait_for(lambda: buckets(c, 3)["adm-only"][0] == "carol", 5),
          "n3 shows that one too")
    refusals(c, [
        (3, ("bucket", "chown", "shared", "nobody"), "no such user", 1),
        (3, ("bucket", "chown", "nothere", "carol"), "no such bucket", 1),
        (3, ("bucket", "chown", "shared", "bad/name"), "invalid user", 1),
        (3, ("bucket", "chown", "shared"), "missing", 2),
    ], lambda i: buckets(c, i))
    r = c.adm(3, "user", "delete", "carol")
    check(refused(r, "owns", 1), "carol owns buckets: not deleted (%r)" %
          r.stderr.strip())


def case_acl(c, ak, sk):
    j = jadm(c, 3, "bucket", "acl", "shared")
    check(j == {"bucket": "shared", "owner": "carol", "acl": "private"},
          "a new bucket's ACL is private (n3, --json): %r" % j)
    r = c.adm(2, "bucket", "acl", "shared", "public-read")
    check(r.returncode == 0 and "public-read" in r.stdout,
          "bucket acl shared public-read through n2: %r" %
          (r.stdout + r.stderr))
    check(wait_for(lambda: jadm(c, 3, "bucket", "acl", "shared")["acl"] ==
                   "public-read", 5), "n3 shows public-read")
    r = c.adm(3, "bucket", "acl", "shared")
    check(r.returncode == 0 and "public-read" in r.stdout and
          "carol" in r.stdout, "and in text: %r" % r.stdout)
    j = jadm(c, 1, "bucket", "acl", "adm-only", "authenticated-read")
    check(j == {"bucket": "adm-only", "acl": "authenticated-read"},
          "--json acl set through n1: %r" % j)
    want = {"adm-only": ("carol", "authenticated-read"),
            "shared": ("carol", "public-read")}
    check(wait_for(lambda: buckets(c, 3) == want, 5),
          "n3's bucket list shows owners and ACLs: %r" % buckets(c, 3))
    # A chown and an acl each change only their own field.
    c.adm(2, "bucket", "chown", "shared", "admin")
    check(wait_for(lambda: buckets(c, 3)["shared"] ==
                   ("admin", "public-read"), 5), "a chown keeps the ACL")
    refusals(c, [
        (3, ("bucket", "acl", "shared", "everyone"), "not a canned ACL", 1),
        (3, ("bucket", "acl", "nothere"), "no such bucket", 1),
        (3, ("bucket", "acl", "nothere", "private"), "no such bucket", 1),
        (3, ("bucket", "acl"), "missing", 2),
        (3, ("bucket", "acl", "shared", "private", "x"), "unexpected", 2),
    ], lambda i: buckets(c, i))


def run(c):
    c.start(ring=True)
    wait_until(lambda: c.status(1).get("leader"), 15, "a manager leader")
    text = open(os.path.join(c.dir, "credentials")).read()
    ak = re.search(r"access_key=(\S+)", text).group(1)
    sk = re.search(r"secret_key=(\S+)", text).group(1)
    wait_until(lambda: all(seen(c, i, ak, sk) == [] for i in (1, 2, 3)), 10,
               "the admin pair works on every node")
    for name, fn in (("import", case_import), ("role", case_role),
                     ("chown", case_chown), ("acl", case_acl)):
        print("== %s" % name, flush=True)
        fn(c, ak, sk)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cleo-caccts-")
    c = Cluster(tmp, 3, os.path.abspath(a.bin))
    print("== cluster accounts", flush=True)
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
