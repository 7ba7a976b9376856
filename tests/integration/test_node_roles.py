#!/usr/bin/env python3
# test_node_roles.py - node.roles: a node runs only the role subtrees it
# is given. `cleo-adm tree` and `cleo-adm status` show just those; a node
# without storage (or without a manager) answers S3 requests with a clean
# 503 ServiceUnavailable XML error, not a crash or a hang; every subset
# starts and stops cleanly (SIGTERM, exit 0).
#
#   /usr/bin/python3 tests/integration/test_node_roles.py \
#       --cleo build/cmd/cleo [case|all]
#
# Debian's python3 (botocore signs the S3 requests). Every case uses a
# fresh temporary data directory and free ports, and kills every process
# it started on the way out, pass or fail. The bad values of node.roles
# are in test_node.py's config case (exit 2, one line).
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import types

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import (Fail, accepts, free_port, kill_all, read,  # noqa: E402
                      require, signal_and_wait, spawn, wait_until)
from s3node import (ACCESS_KEY, SECRET_KEY, raw_request,  # noqa: E402
                    signed_raw, xml_code)

CLEO = None
ADM = None
SUPS = ("manager_sup", "storage_sup", "gateway_sup")


def adm(sock, *args):
    r = subprocess.run([ADM, "--socket", sock] + list(args),
                       capture_output=True, text=True, timeout=10)
    require(r.returncode == 0, "cleo-adm %s: rc %d %s" %
            (" ".join(args), r.returncode, r.stderr))
    return r.stdout


def answers(sock):
    r = subprocess.run([ADM, "--socket", sock, "status"],
                       capture_output=True, text=True, timeout=10)
    return r.returncode == 0


class Node:
    """A cleo process with node.roles set (None = the default)."""

    def __init__(self, tmp, roles):
        self.data = os.path.join(tmp, "data-%s" % (roles or "default"))
        self.sock = os.path.join(self.data, "cleo.sock")
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.access_key, self.secret_key = ACCESS_KEY, SECRET_KEY
        args = [CLEO, "--no-heart", "--data", self.data,
                "--set", "gateway.http.port=%d" % self.port,
                "--set", "log.level=debug"]
        if roles is not None:
            args += ["--set", "node.roles=" + roles]
        env = dict(os.environ, CLEO_ACCESS_KEY=ACCESS_KEY,
                   CLEO_SECRET_KEY=SECRET_KEY)
        self.out = open(os.path.join(tmp, "out"), "a+")
        self.err = open(os.path.join(tmp, "err"), "a+")
        self.p = spawn(args, self.out, self.err, env=env)
        wait_until(lambda: self.p.poll() is not None or answers(self.sock),
                   15, "the node's admin socket")
        require(self.p.poll() is None,
                "cleo exited %s: %s" % (self.p.returncode, read(self.err.name)))

    def check_tree(self, want):
        """cleo-adm tree has kernel_sup and exactly the role supervisors
        in want; cleo-adm status lists exactly those roles, in order."""
        tree = adm(self.sock, "tree")
        print(tree)
        require("kernel_sup" in tree and "logger" in tree,
                "no kernel_sup in the tree:\n" + tree)
        for sup in SUPS:
            has = re.search(r"\b%s\b" % sup, tree) is not None
            require(has == (sup in want), "%s %s the tree:\n%s" %
                    (sup, "missing from" if sup in want else "in", tree))
        status = adm(self.sock, "status")
        m = re.search(r"^roles\s+(.*)$", status, re.M)
        got = re.split(r"[,\s]+", m.group(1).strip()) if m else []
        names = [s[:-len("_sup")] for s in SUPS if s in want]
        require(got == names, "status roles %r, want %r:\n%s" %
                (got, names, status))
        print("ok: roles %s" % " ".join(got))

    def s3(self, method, target, body=b"", headers=None):
        """A signed request on a raw socket: (status, S3 error code)."""
        data = signed_raw(self, method, target, headers=headers, body=body)
        status, hdrs, body, _ = raw_request(self.port, data, timeout=10)
        print("%s %s -> %s %s" % (method, target, status, xml_code(body)))
        require(status is None or status < 400 or method == "HEAD" or
                hdrs.get("content-type") == "application/xml",
                "not an XML error: %r" % body[:200])
        return status, xml_code(body)

    def stop(self):
        rc = signal_and_wait(self.p, signal.SIGTERM, 10, "cleo")
        require(rc == 0, "SIGTERM: exit code %d, want 0; %s" %
                (rc, read(self.err.name)))
        require(not os.path.exists(self.sock), "the socket is still there")


def unavailable(node, method, target, **kw):
    status, code = node.s3(method, target, **kw)
    require(status == 503 and (code == "ServiceUnavailable" or
                               method == "HEAD"),
            "%s %s: %s %s, want 503 ServiceUnavailable" %
            (method, target, status, code))


def case_default(tmp):
    n = Node(tmp, None)
    n.check_tree(SUPS)
    wait_until(lambda: accepts(n.port), 10, "the S3 port")
    status, code = n.s3("PUT", "/roles-bucket")
    require(status == 200, "default node: PUT bucket %s %s" % (status, code))
    n.stop()


def case_storage(tmp):
    n = Node(tmp, "storage")
    n.check_tree(("storage_sup",))
    require(not accepts(n.port), "a storage-only node listens for S3")
    n.stop()


def case_manager(tmp):
    n = Node(tmp, "manager")
    n.check_tree(("manager_sup",))
    require(not accepts(n.port), "a manager-only node listens for S3")
    n.stop()


def case_gateway(tmp):
    n = Node(tmp, "gateway")
    n.check_tree(("gateway_sup",))
    wait_until(lambda: accepts(n.port), 10, "the S3 port")
    # No manager to check the key, no storage: 503, the node unaffected.
    unavailable(n, "GET", "/b/k")
    unavailable(n, "PUT", "/b", body=b"")
    unavailable(n, "GET", "/")
    n.check_tree(("gateway_sup",))
    n.stop()


def case_no_storage(tmp):
    """Keys are checked (manager) but no storage runs: every path that
    looks storage up answers 503."""
    n = Node(tmp, "gateway,manager")
    n.check_tree(("manager_sup", "gateway_sup"))
    wait_until(lambda: accepts(n.port), 10, "the S3 port")
    unavailable(n, "GET", "/")
    unavailable(n, "PUT", "/b")
    unavailable(n, "GET", "/b?list-type=2")
    unavailable(n, "PUT", "/b/k", body=b"hello")
    unavailable(n, "GET", "/b/k")
    unavailable(n, "HEAD", "/b/k")
    unavailable(n, "DELETE", "/b/k")
    body = (b"<Delete><Object><Key>a</Key></Object>"
            b"<Object><Key>b</Key></Object></Delete>")
    import base64
    import hashlib
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    unavailable(n, "POST", "/b?delete=", body=body,
                headers={"Content-MD5": md5})
    unavailable(n, "POST", "/b/k?uploads=")
    n.check_tree(("manager_sup", "gateway_sup"))
    n.stop()


CASES = {"default": case_default, "storage": case_storage,
         "manager": case_manager, "gateway": case_gateway,
         "no_storage": case_no_storage}


def main():
    global CLEO, ADM
    ap = argparse.ArgumentParser()
    ap.add_argument("--cleo", required=True, help="path to the cleo binary")
    ap.add_argument("case", nargs="?", default="all",
                    choices=sorted(CASES) + ["all"])
    a = ap.parse_args()
    CLEO = os.path.abspath(a.cleo)
    ADM = os.path.join(os.path.dirname(CLEO), "cleo-adm")
    try:
        import botocore  # noqa: F401
    except ImportError:
        print("SKIP: botocore is not installed (Debian's python3-botocore)")
        sys.exit(77)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda n, f: sys.exit(128 + n))
    names = sorted(CASES) if a.case == "all" else [a.case]
    failed = 0
    for name in names:
        tmp = tempfile.mkdtemp(prefix="cleo-roles-")
        try:
            CASES[name](tmp)
            print("PASS %s" % name)
        except Fail as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
            for f in ("out", "err"):
                print("--- %s ---\n%s" % (f, read(os.path.join(tmp, f))))
        finally:
            kill_all()
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
