#!/usr/bin/env python3
# test_dist.py - distribution between real cleo processes on loopback:
# node A (node.roles=gateway) and node B (manager,storage) share a cookie
# (CLEO_COOKIE) and one cluster.nodes list, connect at start, and show
# each other in `cleo-adm nodes`. kill -9 of B is seen at once; B started
# again comes back with a new creation without a restart of A; SIGSTOP of
# B is seen within dist.net_ticktime; a node C with the wrong cookie never
# appears and is counted.
#
#   python3 tests/integration/test_dist.py --cleo build/cmd/cleo \
#       --adm build/cmd/cleo-adm [case|all]
#
# Every case uses fresh temporary data directories and free ports, and
# kills every process it started on the way out, pass or fail.
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import (Fail, check, free_port, kill_all, read,  # noqa: E402
                      require, spawn, summary, wait_until)

CLEO = ADM = None
COOKIE = "dist-test-cookie"
TICK_S = 2


def adm_nodes(sock):
    r = subprocess.run([ADM, "--socket", sock, "nodes", "--json"],
                       capture_output=True, text=True, timeout=10)
    require(r.returncode == 0, "cleo-adm nodes: rc %d %s" %
            (r.returncode, r.stderr))
    return json.loads(r.stdout)


def peer(sock, name):
    """The peer entry for name in cleo-adm nodes, or None."""
    for n in adm_nodes(sock).get("nodes", []):
        if n.get("name") == name:
            return n
    return None


def is_up(sock, name):
    p = peer(sock, name)
    return p is not None and p.get("up") is True


def answers(sock):
    r = subprocess.run([ADM, "--socket", sock, "status"],
                       capture_output=True, text=True, timeout=10)
    return r.returncode == 0


class Node:
    def __init__(self, tmp, name, roles, dport, peers, cookie=COOKIE):
        self.name = name + "@127.0.0.1"
        self.dport = dport
        self.data = os.path.join(tmp, "data-" + name)
        self.sock = os.path.join(self.data, "cleo.sock")
        self.args = [CLEO, "--no-heart", "--data", self.data,
                     "--set", "node.name=" + self.name,
                     "--set", "node.roles=" + roles,
                     "--set", "gateway.http.port=%d" % free_port(),
                     "--set", "dist.port=%d" % dport,
                     "--set", "dist.net_ticktime=%d" % TICK_S,
                     "--set", "cluster.nodes=" + ",".join(peers)]
        self.env = dict(os.environ, CLEO_COOKIE=cookie)
        self.err = open(os.path.join(tmp, name + ".err"), "a+")
        self.start()

    def start(self):
        self.p = spawn(self.args, self.err, self.err, env=self.env)
        wait_until(lambda: self.p.poll() is not None or answers(self.sock),
                   15, "%s's admin socket" % self.name)
        require(self.p.poll() is None, "%s exited %s: %s" %
                (self.name, self.p.returncode, read(self.err.name)))

    def kill(self, sig=signal.SIGKILL):
        self.p.send_signal(sig)
        if sig == signal.SIGKILL:
            self.p.wait(timeout=10)


def pair(tmp):
    pa, pb = free_port(), free_port()
    peers = ["a@127.0.0.1:%d" % pa, "b@127.0.0.1:%d" % pb]
    b = Node(tmp, "b", "manager,storage", pb, peers)
    a = Node(tmp, "a", "gateway", pa, peers)
    wait_until(lambda: is_up(a.sock, b.name) and is_up(b.sock, a.name), 10,
               "a and b connected")
    return a, b


def case_pair(tmp):
    a, b = pair(tmp)
    pa = peer(a.sock, b.name)
    check(pa["creation"] != 0, "a sees b with a creation")
    me = adm_nodes(b.sock)
    check(me.get("name") == b.name, "b's nodes names b itself")
    # kill -9 of B: A sees it down at once (the socket resets), well
    # within one tick.
    c1 = pa["creation"]
    t0 = time.monotonic()
    b.kill()
    wait_until(lambda: not is_up(a.sock, b.name), TICK_S,
               "a sees b down within one tick")
    check(time.monotonic() - t0 <= TICK_S, "b down seen in %.2f s" %
          (time.monotonic() - t0))
    # B again: a new creation, and A takes it back without a restart.
    b.start()
    wait_until(lambda: is_up(a.sock, b.name), 10, "a sees b up again")
    c2 = peer(a.sock, b.name)["creation"]
    check(c2 != c1, "b came back with a new creation (%d -> %d)" % (c1, c2))
    check(a.p.poll() is None, "a was not restarted")


def case_stop(tmp):
    a, b = pair(tmp)
    t0 = time.monotonic()
    b.kill(signal.SIGSTOP)
    try:
        wait_until(lambda: not is_up(a.sock, b.name), TICK_S * 3,
                   "a sees a stopped b down")
        took = time.monotonic() - t0
        check(took <= TICK_S + 1.5,
              "a stopped b is seen within net_ticktime (%.2f s)" % took)
    finally:
        b.kill(signal.SIGCONT)


def case_cookie(tmp):
    a, b = pair(tmp)
    c = Node(tmp, "c", "gateway", free_port(),
             ["a@127.0.0.1:%d" % a.dport], cookie="not-the-cookie")
    time.sleep(1.0)
    check(peer(a.sock, c.name) is None or not is_up(a.sock, c.name),
          "c with the wrong cookie never appears on a")
    check(not is_up(c.sock, a.name), "c does not see a either")
    st = adm_nodes(a.sock)
    check(st.get("bad_cookie", 0) >= 1, "a counted the bad cookie (%s)" %
          st.get("bad_cookie"))
    check("bad cookie" in read(a.err.name),
          "a logged the refused handshake")
    check(is_up(a.sock, b.name), "a and b are unaffected")


def case_tls_files(tmp):
    """Unusable dist.tls.* files: one line naming the file, exit non-zero,
    nothing listening."""
    data = os.path.join(tmp, "data-t")
    key = os.path.join(tmp, "t.key")
    with open(key, "w") as f:
        f.write("not a key\n")
    cases = [("dist.tls.cert=" + os.path.join(tmp, "nope.crt"),
              "dist.tls.key=" + key, "certificate " +
              os.path.join(tmp, "nope.crt")),
             ("dist.tls.cert=" + key, "dist.tls.key=" + key,
              "certificate " + key),
             ("dist.tls.ca=" + key, "dist.tls.ca=" + key,
              "dist.tls.cert and dist.tls.key must both be set")]
    for cert, k, want in cases:
        port = free_port()
        r = subprocess.run([CLEO, "--no-heart", "--data", data,
                            "--set", "node.name=t@127.0.0.1",
                            "--set", "gateway.http.port=0",
                            "--set", "dist.port=%d" % port,
                            "--set", cert, "--set", k],
                           capture_output=True, text=True, timeout=20,
                           env=dict(os.environ, CLEO_COOKIE=COOKIE))
        lines = [ln for ln in r.stderr.splitlines() if "dist" in ln]
        check(r.returncode != 0, "%s: exit %d" % (cert, r.returncode))
        check(len(lines) == 1 and want in lines[0],
              "%s: one line naming it (%r)" % (cert, r.stderr))


CASES = {"pair": case_pair, "stop": case_stop, "cookie": case_cookie,
         "tls_files": case_tls_files}


def main():
    global CLEO, ADM
    ap = argparse.ArgumentParser()
    ap.add_argument("--cleo", required=True)
    ap.add_argument("--adm", required=True)
    ap.add_argument("case", nargs="?", default="all")
    args = ap.parse_args()
    CLEO, ADM = args.cleo, args.adm
    names = list(CASES) if args.case == "all" else [args.case]
    for name in names:
        tmp = tempfile.mkdtemp(prefix="cleo-dist-")
        try:
            print("== " + name)
            CASES[name](tmp)
        except Fail as e:
            print("FAIL: %s" % e)
            for f in sorted(os.listdir(tmp)):
                if f.endswith(".err"):
                    print("--- %s\n%s" % (f, read(os.path.join(tmp, f))[-3000:]))
            kill_all()
            return 1
        finally:
            kill_all()
            shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
