#!/usr/bin/env python3
"""test_adm_accounts.py - cleo-adm's account commands on a single node:
user import and user role, bucket chown and bucket acl, each in text and
--json, against a real cleo with boto3 (Debian's /usr/bin/python3).

  - `user import NAME AK SK` makes the user when absent, adds a second
    pair to an existing one, and the pair signs S3 requests;
  - `user role NAME admin|user`: `user list` shows the role, and an admin
    sees every bucket through S3;
  - `bucket chown NAME USER`: `bucket list` shows the owner, and S3
    follows (the new owner gets in, the old one is refused);
  - `bucket acl NAME [ACL]` shows and sets the canned ACL, `bucket list`
    shows it;
  - bad input (an unknown user or bucket, a bad ACL or role, malformed
    keys, a key already in use, the built-in admin made a plain user,
    the wrong number of arguments): one line on stderr, a non-zero exit,
    and a read after it shows nothing changed;
  - a restart keeps the imported keys, roles, owners and ACLs.

    /usr/bin/python3 tests/integration/test_adm_accounts.py --bin build/cmd

Its node runs on a free port in its own temp dir and is stopped at the
end, pass or fail.
"""
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3node import Suite, err_code  # noqa: E402

CAROL = ("CAROLKEY0000000001", "carol/secret/0001")
CAROL2 = ("CAROLKEY0000000002", "carol/secret/0002")


def one_line(r, want=None, code=None):
    """A refusal: exit non-zero (code if given), one line on stderr
    (containing want if given), nothing on stdout."""
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    return (r.returncode != 0 and (code is None or r.returncode == code) and
            len(lines) == 1 and lines[0].startswith("cleo-adm: ") and
            (want is None or want in lines[0]) and r.stdout == "")


def jrun(node, *args):
    """cleo-adm --json ARGS: the parsed answer (exit 0 required)."""
    r = node.adm("--json", *args)
    if r.returncode != 0:
        raise AssertionError("cleo-adm %s: %s" % (" ".join(args), r.stderr))
    return json.loads(r.stdout)


def users(node):
    """{name: (role, [access keys])} from user list --json."""
    return {u["name"]: (u["role"], u["access_keys"])
            for u in jrun(node, "user", "list")["users"]}


def buckets(node):
    """{name: (owner, acl)} from bucket list --json."""
    return {b["name"]: (b["owner"], b["acl"])
            for b in jrun(node, "bucket", "list")["buckets"]}


def refusals(t, node, cases, read):
    """Each case (args, want, exit code or None) refused in one line, and
    read() the same after all of them."""
    before = read()
    for args, want, code in cases:
        r = node.adm(*args)
        t.check(one_line(r, want, code), "%s refused in one line (exit %d, "
                "%r)" % (" ".join(args), r.returncode, r.stderr.strip()))
    t.check(read() == before, "nothing changed (%r)" % (read(),))


def names_seen(node, ak, sk):
    """The buckets ListBuckets shows to the pair ak/sk."""
    s3 = node.boto3(ak, sk)
    return sorted(b["Name"] for b in s3.list_buckets()["Buckets"])


def case_import(t, node):
    r = node.adm("user", "import", "carol", *CAROL)
    t.check(r.returncode == 0 and "imported" in r.stdout and
            CAROL[0] in r.stdout and CAROL[1] not in r.stdout,
            "user import carol: %r" % (r.stdout + r.stderr))
    t.check(users(node).get("carol") == ("user", [CAROL[0]]),
            "carol was made, a plain user with the pair: %r" % users(node))
    t.check(names_seen(node, *CAROL) == [], "carol's pair signs ListBuckets")
    j = jrun(node, "user", "import", "carol", *CAROL2)
    t.check(j == {"user": "carol", "access_key": CAROL2[0],
                  "imported": True}, "--json import of a second pair: %r" % j)
    t.check(users(node)["carol"] == ("user", sorted([CAROL[0], CAROL2[0]])),
            "carol has both pairs")
    t.check(names_seen(node, *CAROL2) == [], "the second pair signs too")
    refusals(t, node, [
        (("user", "import", "dave", node.access_key, "some/secret/1"),
         "already in use", 1),
        (("user", "import", "dave", CAROL[0], "some/secret/1"),
         "already in use", 1),
        (("user", "import", "dave", "ab", "some/secret/1"),
         "invalid access key", 1),
        (("user", "import", "dave", "BAD-KEY!", "some/secret/1"),
         "invalid access key", 1),
        (("user", "import", "dave", "DAVEKEY01", "short"),
         "invalid secret key", 1),
        (("user", "import", "dave", "DAVEKEY01", "has space"),
         "invalid secret key", 1),
        (("user", "import", "bad/name", "DAVEKEY01", "some/secret/1"),
         "invalid user name", 1),
        (("user", "import", "dave", "DAVEKEY01"), "missing", 2),
        (("user", "import", "dave", "DAVEKEY01", "some/secret/1", "x"),
         "unexpected", 2),
    ], lambda: users(node))
    code, err = err_code(node.boto3("DAVEKEY01", "some/secret/1").list_buckets)
    t.check(code == 403, "no refused pair signs (%s %s)" % (code, err))


def case_role(t, node):
    node.adm("bucket", "create", "adm-only")
    t.check(names_seen(node, *CAROL) == [], "a plain carol sees no bucket")
    r = node.adm("user", "role", "carol", "admin")
    t.check(r.returncode == 0 and "admin" in r.stdout,
            "user role carol admin: %r" % (r.stdout + r.stderr))
    t.check(users(node)["carol"][0] == "admin", "user list: carol admin")
    r = node.adm("user", "list")
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("carol ")]
    t.check(r.stdout.split()[1] == "ROLE" and line and
            line[0].split()[1] == "admin", "the text list has a ROLE column")
    t.check(names_seen(node, *CAROL) == ["adm-only"],
            "admin carol sees the admin's bucket through S3")
    r = node.adm("user", "delete", "carol")
    t.check(one_line(r, "admin", 1), "an admin cannot be deleted: %r" %
            r.stderr.strip())
    j = jrun(node, "user", "role", "carol", "user")
    t.check(j == {"user": "carol", "role": "user", "is_admin": False},
            "--json role back to user: %r" % j)
    t.check(users(node)["carol"][0] == "user", "carol is a plain user")
    t.check(names_seen(node, *CAROL) == [], "and sees no bucket again")
    refusals(t, node, [
        (("user", "role", "nobody", "admin"), "no such user 'nobody'", 1),
        (("user", "role", "carol", "root"), "not a role", 1),
        (("user", "role", "admin", "user"), "built-in admin", 1),
        (("user", "role", "carol"), "missing", 2),
        (("user", "role", "carol", "admin", "x"), "unexpected", 2),
    ], lambda: users(node))


def case_chown(t, node):
    node.adm("bucket", "create", "shared")
    s3a = node.boto3()
    s3a.put_object(Bucket="shared", Key="k", Body=b"hello")
    r = node.adm("bucket", "chown", "shared", "carol")
    t.check(r.returncode == 0 and "carol" in r.stdout,
            "bucket chown shared carol: %r" % (r.stdout + r.stderr))
    t.check(buckets(node)["shared"][0] == "carol", "bucket list: owner carol")
    r = node.adm("bucket", "list")
    t.check(r.stdout.split()[:3] == ["NAME", "OWNER", "ACL"],
            "the text list has OWNER and ACL columns: %r" % r.stdout[:80])
    s3c = node.boto3(*CAROL)
    t.check(names_seen(node, *CAROL) == ["shared"], "carol lists her bucket")
    got = s3c.get_object(Bucket="shared", Key="k")["Body"].read()
    t.check(got == b"hello", "carol reads its object")
    j = jrun(node, "bucket", "chown", "shared", "admin")
    t.check(j == {"bucket": "shared", "owner": "admin"},
            "--json chown back to admin: %r" % j)
    code, err = err_code(node.boto3(*CAROL).head_bucket, Bucket="shared")
    t.check(code == 403, "carol is refused once it is the admin's (%s %s)"
            % (code, err))
    node.adm("bucket", "chown", "shared", "carol")
    refusals(t, node, [
        (("bucket", "chown", "shared", "nobody"), "no such user 'nobody'", 1),
        (("bucket", "chown", "nothere", "carol"), "no such bucket", 1),
        (("bucket", "chown", "shared", "bad/name"), "invalid user name", 1),
        (("bucket", "chown", "shared"), "missing", 2),
        (("bucket", "chown", "shared", "carol", "x"), "unexpected", 2),
    ], lambda: buckets(node))


def case_acl(t, node):
    r = node.adm("bucket", "acl", "shared")
    t.check(r.returncode == 0 and "private" in r.stdout and
            "carol" in r.stdout, "a new bucket's ACL is private: %r" %
            (r.stdout + r.stderr))
    for acl in ("public-read", "public-read-write", "authenticated-read",
                "private", "public-read"):
        r = node.adm("bucket", "acl", "shared", acl)
        t.check(r.returncode == 0 and acl in r.stdout, "acl %s set" % acl)
        j = jrun(node, "bucket", "acl", "shared")
        t.check(j == {"bucket": "shared", "owner": "carol", "acl": acl},
                "--json acl shows %s: %r" % (acl, j))
    j = jrun(node, "bucket", "acl", "adm-only", "authenticated-read")
    t.check(j == {"bucket": "adm-only", "acl": "authenticated-read"},
            "--json acl set: %r" % j)
    t.check(buckets(node) == {"adm-only": ("admin", "authenticated-read"),
                              "shared": ("carol", "public-read")},
            "bucket list shows owners and ACLs: %r" % buckets(node))
    r = node.adm("bucket", "list")
    t.check(any(ln.split()[:3] == ["shared", "carol", "public-read"]
                for ln in r.stdout.splitlines()), "and so does its text")
    j = jrun(node, "bucket", "du", "shared")
    t.check(j.get("acl") == "public-read" and j.get("objects") == 1,
            "bucket du --json has the ACL: %r" % j)
    refusals(t, node, [
        (("bucket", "acl", "shared", "everyone"), "not a canned ACL", 1),
        (("bucket", "acl", "shared", "PRIVATE"), "not a canned ACL", 1),
        (("bucket", "acl", "nothere"), "no such bucket", 1),
        (("bucket", "acl", "nothere", "private"), "no such bucket", 1),
        (("bucket", "acl"), "missing", 2),
        (("bucket", "acl", "shared", "private", "x"), "unexpected", 2),
    ], lambda: buckets(node))


def case_restart(t, node):
    want_users, want_buckets = users(node), buckets(node)
    node.restart()
    for _ in range(100):  # the first admin command may meet the load
        if node.adm("user", "list").returncode == 0:
            break
        time.sleep(0.05)
    t.check(users(node) == want_users, "users, keys and roles survive a "
            "restart")
    t.check(buckets(node) == want_buckets, "owners and ACLs survive it")
    t.check(names_seen(node, *CAROL2) == ["shared"],
            "an imported pair signs after it")


def main():
    with Suite("adm_accounts") as t:
        node = t.node()
        for name, fn in (("import", case_import), ("role", case_role),
                         ("chown", case_chown), ("acl", case_acl),
                         ("restart", case_restart)):
            t.case(name, fn, t, node)


if __name__ == "__main__":
    main()
