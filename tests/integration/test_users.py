#!/usr/bin/env python3
"""test_users.py - the manager role's users, keys and admin commands
against a real node (cmd/cleo).

Starts a node on a fresh data dir, then: <data>/credentials exists with
mode 0600 and matches the first-start lines on stdout; `cleo-adm user
create/list/delete` (text and --json); `cleo-adm bucket
create/list/du/delete` (when the node runs the storage engine); a restart
keeps the users and the admin key; bad command lines and failing commands
give one line on stderr and a non-zero exit and change nothing; the
CLEO_ACCESS_KEY/CLEO_SECRET_KEY pair becomes the admin key (and a half pair
stops start-up with one line); a node without the manager role (the
stand-in cleo-testnode) answers admin commands with "not available".
Every process started here is stopped before exit.
"""
import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import Adm, Node, check, summary, wait_up  # noqa: E402

adm = None  # an Adm, set in main


def env_without_keys(extra=None):
    env = dict(os.environ)
    env.pop("CLEO_ACCESS_KEY", None)
    env.pop("CLEO_SECRET_KEY", None)
    env.update(extra or {})
    return env


def start(binary, data, env=None, testnode=False):
    os.makedirs(data, exist_ok=True)
    argv = [binary, "--data", data]
    if not testnode:
        argv.append("--no-heart")
    out = os.path.join(os.path.dirname(data), "node-%d.out" % time.time_ns())
    node = Node(argv, data, out, stop_timeout=20,
                env=env if env is not None else env_without_keys())
    if wait_up(node, adm, 300):
        return node
    node.stop()
    raise RuntimeError("the node did not come up: %s" % node.output())


def wait_users(sock):
    """The first admin command may race the manager's load: retry."""
    for _ in range(100):
        rc, out, err = adm(["user", "list"], sock)
        if rc == 0:
            return out
        time.sleep(0.05)
    raise RuntimeError("user list never answered: %s" % err)


def credentials(data):
    vals = {}
    with open(os.path.join(data, "credentials")) as f:
        for line in f:
            m = re.match(r"\s*(\w+)\s*=\s*(\S+)\s*$", line)
            if m:
                vals[m.group(1)] = m.group(2)
    return vals


def one_line_error(rc, err, want_rc=None):
    lines = [l for l in err.splitlines() if l.strip()]
    return rc != 0 and (want_rc is None or rc == want_rc) and \
        len(lines) == 1 and lines[0].startswith("cleo-adm: ")


def test_first_start(node):
    wait_users(node.sock)
    path = os.path.join(node.data, "credentials")
    check(os.path.exists(path), "<data>/credentials exists")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    check(mode == 0o600, "credentials mode 0600 (got %o)" % mode)
    cred = credentials(node.data)
    check(re.fullmatch(r"[A-Z0-9]{20}", cred.get("access_key", "")) is not None,
          "access key: 20 of [A-Z0-9]")
    check(re.fullmatch(r"[A-Za-z0-9+/]{40}", cred.get("secret_key", ""))
          is not None, "secret key: 40 base64 characters")
    check(cred.get("endpoint", "").startswith("http://"), "endpoint written")
    out = node.output()
    check(cred.get("access_key", "?") in out and
          cred.get("secret_key", "?") in out and "first start" in out,
          "first start prints the endpoint and keys")
    users = adm.json(["user", "list"], node.sock)["users"]
    check(len(users) == 1 and users[0]["name"] == "admin" and
          users[0]["is_admin"] and
          users[0]["access_keys"] == [cred.get("access_key")],
          "the admin user holds the credentials' key")
    return cred


def test_users(sock):
    rc, out, err = adm(["user", "create", "alice"], sock)
    check(rc == 0 and "alice" in out, "user create alice")
    m = re.search(r"access_key = ([A-Z0-9]{20})", out)
    s = re.search(r"secret_key = ([A-Za-z0-9+/]{40})", out)
    check(m is not None and s is not None, "create prints the new key pair")
    ak = m.group(1) if m else None
    j = adm.json(["user", "create", "bob"], sock)
    check(j["user"] == "bob" and len(j["access_key"]) == 20 and
          len(j["secret_key"]) == 40, "user create bob --json")
    rc, out, err = adm(["user", "list"], sock)
    check(rc == 0 and "alice" in out and "bob" in out and ak in out,
          "user list shows alice, bob and alice's key")
    names = [u["name"] for u in adm.json(["user", "list"], sock)["users"]]
    check(names == ["admin", "alice", "bob"], "user list --json, sorted")
    rc, out, err = adm(["user", "delete", "bob"], sock)
    check(rc == 0 and "deleted" in out, "user delete bob")
    names = [u["name"] for u in adm.json(["user", "list"], sock)["users"]]
    check(names == ["admin", "alice"], "bob is gone")
    return ak


def storage_running(sock):
    return adm(["info", "sto_engine"], sock)[0] == 0


def test_buckets(sock):
    if not storage_running(sock):
        print("skip bucket commands: this node runs no sto_engine yet",
              flush=True)
        return False
    rc, out, err = adm(["bucket", "create", "bkt1"], sock)
    check(rc == 0 and "bkt1" in out and "admin" in out,
          "bucket create bkt1 (owner admin): %r" % (out + err))
    rc, out, err = adm(["bucket", "create", "bkt2", "--owner", "alice"], sock)
    check(rc == 0 and "alice" in out, "bucket create bkt2 --owner alice")
    rc, out, err = adm(["bucket", "list"], sock)
    check(rc == 0 and "bkt1" in out and "bkt2" in out, "bucket list")
    j = adm.json(["bucket", "list", "--owner", "alice"], sock)
    check([b["name"] for b in j["buckets"]] == ["bkt2"],
          "bucket list --owner alice")
    rc, out, err = adm(["bucket", "du", "bkt1"], sock)
    check(rc == 0 and "0 objects" in out, "bucket du bkt1")
    j = adm.json(["bucket", "du", "bkt1"], sock)
    check(j["name"] == "bkt1" and j["objects"] == 0 and j["bytes"] == 0,
          "bucket du bkt1 --json")
    for args, what in ((["bucket", "create", "bkt1"], "existing bucket"),
                       (["bucket", "create", "Bad_Name"], "bad bucket name"),
                       (["bucket", "create", "bkt3", "--owner", "nobody"],
                        "unknown owner"),
                       (["bucket", "du", "nope"], "du of a missing bucket"),
                       (["bucket", "delete", "nope"], "delete a missing one")):
        rc, out, err = adm(args, sock)
        check(one_line_error(rc, err, 1), "%s -> exit 1, one line: %r"
              % (what, err.strip()))
    names = [b["name"] for b in adm.json(["bucket", "list"], sock)["buckets"]]
    check(names == ["bkt1", "bkt2"], "failed bucket commands changed nothing")
    rc, out, err = adm(["bucket", "delete", "bkt1"], sock)
    check(rc == 0 and "deleted" in out, "bucket delete bkt1")
    names = [b["name"] for b in adm.json(["bucket", "list"], sock)["buckets"]]
    check(names == ["bkt2"], "bkt1 is gone")
    return True


def test_bad_cli(sock):
    cases = [
        (["user"], 2, "user without a subcommand"),
        (["user", "frob"], 2, "unknown user subcommand"),
        (["user", "create"], 2, "user create without a name"),
        (["user", "delete"], 2, "user delete without a name"),
        (["user", "list", "extra"], 2, "user list with an argument"),
        (["user", "create", "x", "y"], 2, "user create with two names"),
        (["user", "create", "x", "--owner", "y"], 2, "--owner on a user"),
        (["bucket"], 2, "bucket without a subcommand"),
        (["bucket", "frob", "b"], 2, "unknown bucket subcommand"),
        (["bucket", "create"], 2, "bucket create without a name"),
        (["bucket", "du"], 2, "bucket du without a name"),
        (["bucket", "create", "b", "--owner"], 2, "--owner without a user"),
        (["user", "delete", "nobody"], 1, "delete a missing user"),
        (["user", "delete", "admin"], 1, "delete the admin"),
        (["user", "create", "alice"], 1, "create an existing user"),
        (["user", "create", "a b"], 1, "bad user name (space)"),
        (["user", "create", "x" * 65], 1, "bad user name (65 bytes)"),
        (["user", "create", "../etc"], 1, "bad user name (path)"),
    ]
    before = adm.json(["user", "list"], sock)
    for args, want, what in cases:
        rc, out, err = adm(args, sock)
        check(one_line_error(rc, err, want),
              "%s -> exit %d, one line: %r" % (what, rc, err.strip()))
    check(adm.json(["user", "list"], sock) == before,
          "bad input changed no user")


def test_restart(binary, data, cred, alice_key, buckets):
    node = start(binary, data)
    try:
        users = adm.json(["user", "list"], node.sock)["users"]
        names = [u["name"] for u in users]
        check(names == ["admin", "alice"], "users survive a restart")
        alice = [u for u in users if u["name"] == "alice"]
        check(alice and alice[0]["access_keys"] == [alice_key],
              "alice keeps her key")
        check(credentials(data) == cred, "credentials unchanged")
        check("first start" not in node.output(),
              "the keys are printed only on the first start")
        if buckets:
            names = [b["name"] for b in
                     adm.json(["bucket", "list"], node.sock)["buckets"]]
            check(names == ["bkt2"], "buckets survive a restart")
    finally:
        rc = node.stop()
        check(rc == 0, "node exits 0 on SIGTERM (got %s)" % rc)


def test_env_pair(binary, tmp):
    data = os.path.join(tmp, "env-data")
    env = env_without_keys({"CLEO_ACCESS_KEY": "SCRIPTACCESSKEY1",
                            "CLEO_SECRET_KEY": "script-secret-key-1"})
    node = start(binary, data, env)
    try:
        wait_users(node.sock)
        cred = credentials(data)
        check(cred.get("access_key") == "SCRIPTACCESSKEY1" and
              cred.get("secret_key") == "script-secret-key-1",
              "CLEO_ACCESS_KEY/CLEO_SECRET_KEY are the admin's pair")
        out = node.output()
        check("script-secret-key-1" not in out,
              "an environment secret is not printed")
        users = adm.json(["user", "list"], node.sock)["users"]
        check(users[0]["access_keys"] == ["SCRIPTACCESSKEY1"],
              "the admin holds only the environment's key")
    finally:
        node.stop()
    env = env_without_keys({"CLEO_ACCESS_KEY": "ONLYHALF"})
    p = subprocess.run([binary, "--data", data, "--no-heart"],
                       capture_output=True, text=True, env=env, timeout=30)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check(p.returncode == 2 and len(lines) == 1 and "CLEO_" in lines[0],
          "half a key pair stops start-up with one line: %r" % p.stderr)


def test_not_available(testnode, tmp):
    if not testnode:
        return
    data = os.path.join(tmp, "testnode-data")
    node = start(testnode, data, testnode=True)
    try:
        rc, out, err = adm(["user", "list"], node.sock)
        check(one_line_error(rc, err, 1) and "not available" in err,
              "no manager role -> 'not available': %r" % err.strip())
    finally:
        node.stop()


def main():
    global adm
    ap = argparse.ArgumentParser()
    ap.add_argument("--adm", required=True)
    ap.add_argument("--cleo", required=True)
    ap.add_argument("--testnode")
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()
    adm = Adm(opts.adm, timeout=60)
    tmp = tempfile.mkdtemp(prefix="cleo-users-it-")
    data = os.path.join(tmp, "data")
    node = None
    try:
        node = start(opts.cleo, data)
        cred = test_first_start(node)
        alice_key = test_users(node.sock)
        buckets = test_buckets(node.sock)
        test_bad_cli(node.sock)
        rc = node.stop()
        check(rc == 0, "node exits 0 on SIGTERM (got %s)" % rc)
        test_restart(opts.cleo, data, cred, alice_key, buckets)
        test_env_pair(opts.cleo, tmp)
        test_not_available(opts.testnode, tmp)
    finally:
        if node is not None:
            node.stop()
        if not opts.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
