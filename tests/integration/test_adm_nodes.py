#!/usr/bin/env python3
# test_adm_nodes.py - `cleo-adm nodes` against one real node (cmd/cleo):
# with distribution on (dist.port, CLEO_COOKIE) it shows the node's own
# name, creation and port and no peers; with distribution off (the
# default) it prints "distribution off" and exits 0. Peers across two
# nodes are the distribution tests' business.
#
#   python3 tests/integration/test_adm_nodes.py --cleo build/cmd/cleo \
#       --adm build/cmd/cleo-adm
#
# Each case has its own temporary data directory and free ports, and
# stops its node on the way out, pass or fail.
import argparse
import json
import os
import shutil
import signal
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import (Adm, Node, check, free_port, read,  # noqa: E402
                      summary, wait_up)


def start_node(cleo, adm, tmp, name, extra, cookie):
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    env = dict(os.environ)
    env.pop("CLEO_COOKIE", None)
    if cookie is not None:
        env["CLEO_COOKIE"] = cookie
    argv = [cleo, "--data", data, "--no-heart",
            "--set", "node.name=%s" % name,
            "--set", "gateway.http.port=0"] + extra
    print("node: " + " ".join(argv), flush=True)
    node = Node(argv, data, os.path.join(tmp, "node.log"), env=env)
    if wait_up(node, adm, 200):
        return node
    node.stop()
    raise RuntimeError("the node did not come up:\n" +
                       read(os.path.join(tmp, "node.log")))


def case_dist_on(cleo, adm, tmp):
    port = free_port()
    node = start_node(cleo, adm, tmp, "nodes1@localhost",
                      ["--set", "dist.port=%d" % port], "x")
    try:
        rc, out, err = adm(["--json", "nodes"], node.sock)
        check(rc == 0, "nodes --json exits 0 (rc %d, %s)" % (rc, err.strip()))
        n = json.loads(out) if rc == 0 else {}
        check(n.get("enabled") is True, "distribution is on")
        check(n.get("name") == "nodes1@localhost",
              "its own name (got %r)" % n.get("name"))
        check(n.get("port") == port, "its port %d (got %r)" %
              (port, n.get("port")))
        check(isinstance(n.get("creation"), int) and n["creation"] != 0,
              "a creation (got %r)" % n.get("creation"))
        check(n.get("nodes") == [], "no peers (got %r)" % n.get("nodes"))
        for k in ("bad_cookie", "bad_handshake", "bad_frame", "dropped",
                  "connects", "disconnects"):
            check(n.get(k) == 0, "%s is 0 (got %r)" % (k, n.get(k)))
        rc, out, err = adm(["nodes"], node.sock)
        check(rc == 0, "nodes exits 0 (rc %d, %s)" % (rc, err.strip()))
        check("nodes1@localhost" in out and ("port %d" % port) in out,
              "the table names the node and its port:\n" + out)
        check("(no peers)" in out, "the table says there are no peers")
        check("distribution off" not in out, "not 'distribution off'")
    finally:
        node.stop()


def case_dist_off(cleo, adm, tmp):
    node = start_node(cleo, adm, tmp, "nodes2@localhost", [], None)
    try:
        rc, out, err = adm(["nodes"], node.sock)
        check(rc == 0, "nodes exits 0 with distribution off (rc %d, %s)" %
              (rc, err.strip()))
        check(out == "distribution off\n",
              "prints exactly 'distribution off' (got %r)" % out)
        rc, out, err = adm(["--json", "nodes"], node.sock)
        n = json.loads(out) if rc == 0 else {}
        check(rc == 0 and n.get("enabled") is False and n.get("name") == ""
              and n.get("port") == 0 and n.get("nodes") == [],
              "nodes --json: enabled false, no name, port or peers "
              "(rc %d, %r)" % (rc, out))
        rc, out, err = adm(["nodes", "extra"], node.sock)
        check(rc == 2 and "unexpected argument" in err,
              "nodes takes no argument (rc %d, %r)" % (rc, err))
    finally:
        node.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cleo", required=True, help="path to the cleo binary")
    ap.add_argument("--adm", required=True, help="path to cleo-adm")
    a = ap.parse_args()
    cleo, adm = os.path.abspath(a.cleo), Adm(os.path.abspath(a.adm))
    # ctest's timeout and Ctrl-C must still stop the node (finally:).
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda n, f: sys.exit(128 + n))
    for name, case in (("dist_on", case_dist_on),
                       ("dist_off", case_dist_off)):
        tmp = tempfile.mkdtemp(prefix="cleo-adm-nodes-")
        try:
            print("== %s" % name, flush=True)
            case(cleo, adm, tmp)
        except (RuntimeError, ValueError) as e:
            check(False, "%s: %s" % (name, e))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(summary())


if __name__ == "__main__":
    main()
