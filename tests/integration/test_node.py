#!/usr/bin/env python3
# test_node.py - integration tests of the `cleo` node process: start-up,
# the data directory, signals, configuration errors, and heart.
#
# Run one case (each is its own ctest):
#   python3 tests/integration/test_node.py --cleo build/cmd/cleo basic
#   python3 tests/integration/test_node.py --cleo build/cmd/cleo config
#   python3 tests/integration/test_node.py --cleo build/cmd/cleo heart
#   python3 tests/integration/test_node.py --cleo build/cmd/cleo hang
#   python3 tests/integration/test_node.py --cleo build/cmd/cleo hang_pinned
# or all of them: ... --cleo build/cmd/cleo all
#
# Every case uses a fresh temporary data directory and free ports, and
# kills every process it started (their whole process group) on the way
# out, pass or fail. cleo-adm is used when it sits next to cleo.
import argparse
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import (Fail, alive, free_port, kill_all, read,  # noqa: E402
                      read_pid, require, signal_and_wait, spawn, wait_until)

CLEO = None


def start(args, out, err):
    return spawn([CLEO] + args, out, err)


def sock_answers(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def adm_check(sock):
    """Ask cleo-adm for the status when it was built next to cleo."""
    adm = os.path.join(os.path.dirname(CLEO), "cleo-adm")
    if not os.access(adm, os.X_OK):
        return
    r = subprocess.run([adm, "--socket", sock, "status"],
                       capture_output=True, text=True, timeout=10)
    print("cleo-adm status -> %d: %s" % (r.returncode, r.stdout.strip()))
    require(r.returncode == 0, "cleo-adm status failed: " + r.stderr)
    r = subprocess.run([adm, "--socket", sock, "tree"],
                       capture_output=True, text=True, timeout=10)
    require(r.returncode == 0, "cleo-adm tree failed: " + r.stderr)
    for name in ("cleo_sup", "kernel_sup", "logger", "metrics", "introspect",
                 "heartbeat", "manager_sup", "storage_sup", "gateway_sup"):
        require(name in r.stdout, "cleo-adm tree lacks %s:\n%s" %
                (name, r.stdout))


# ---------------------------------------------------------------------
# basic: --no-heart start, socket, log, pid file, --set over the file,
# SIGHUP reopens the log, one node per data dir, SIGTERM stops cleanly.
# ---------------------------------------------------------------------
def case_basic(tmp):
    data = os.path.join(tmp, "data")
    sockp = os.path.join(data, "cleo.sock")
    logp = os.path.join(data, "cleo.log")
    conf = os.path.join(tmp, "cleo.conf")
    port = free_port()
    with open(conf, "w") as f:
        f.write("# a comment\n\nnode.name = fromfile@localhost\n"
                "log.level = debug\nruntime.schedulers = 2\n")
    out = open(os.path.join(tmp, "out"), "w+")
    err = open(os.path.join(tmp, "err"), "w+")
    p = start(["--no-heart", "--data", data, "--config", conf,
               "--set", "node.name=fromset@localhost",
               "--set", "admin.tcp_port=%d" % port], out, err)
    wait_until(lambda: os.path.exists(sockp) or p.poll() is not None, 10,
               "the socket")
    require(p.poll() is None, "cleo exited: " + read(err.name))
    st = os.stat(sockp)
    require(stat.S_ISSOCK(st.st_mode), "cleo.sock is not a socket")
    require(stat.S_IMODE(st.st_mode) == 0o600,
            "cleo.sock mode %o, want 600" % stat.S_IMODE(st.st_mode))
    require(sock_answers(sockp), "the socket does not accept connections")
    line = ("cleo: node fromset@localhost up; data %s; admin socket %s" %
            (os.path.realpath(data), os.path.realpath(sockp)))
    wait_until(lambda: line in read(out.name), 5, "the start line on stdout")
    wait_until(lambda: line in read(logp), 5, "the start line in the log")
    wait_until(lambda: read_pid(os.path.join(data, "cleo.pid")) == p.pid, 5,
               "cleo.pid to hold the node's pid")
    tok = os.path.join(data, "admin.token")
    require(stat.S_IMODE(os.stat(tok).st_mode) == 0o600, "admin.token mode")
    require(re.fullmatch(r"[0-9a-f]{64}\n", read(tok)), "admin.token format")
    c = socket.create_connection(("127.0.0.1", port), timeout=2)
    c.close()
    adm_check(sockp)

    # A second node on the same data directory is refused.
    r = subprocess.run([CLEO, "--no-heart", "--data", data],
                       capture_output=True, text=True, timeout=10)
    require(r.returncode == 1 and "in use" in r.stderr,
            "second node: rc %d, %r" % (r.returncode, r.stderr))

    # SIGHUP: the logger reopens its file (log rotation).
    os.rename(logp, logp + ".1")
    p.send_signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP" in read(logp), 5,
               "a new cleo.log after SIGHUP")
    require(p.poll() is None, "SIGHUP stopped the node")

    t0 = time.monotonic()
    rc = signal_and_wait(p, signal.SIGTERM, 5, "cleo")
    require(rc == 0, "SIGTERM: exit code %d, want 0" % rc)
    print("stopped in %.2f s" % (time.monotonic() - t0))
    require(not os.path.exists(sockp), "the socket is still there")
    require(not os.path.exists(os.path.join(data, "cleo.pid")),
            "cleo.pid is still there")

    # SIGINT stops it too; the default log.file is <data>/cleo.log.
    p = start(["--no-heart", "--data", data], out, err)
    wait_until(lambda: read_pid(os.path.join(data, "cleo.pid")) == p.pid, 10,
               "the second start")
    rc = signal_and_wait(p, signal.SIGINT, 5, "cleo")
    require(rc == 0, "SIGINT: exit code %d, want 0" % rc)


# ---------------------------------------------------------------------
# config: every bad input exits 2 with one line naming the key or file,
# and starts nothing (not even the data directory).
# ---------------------------------------------------------------------
CONFIG_CASES = [
    # (file text or None, extra args, regex the one stderr line must match)
    ("foo.bar = 1\n", [], r"cleo\.conf:1: unknown key 'foo\.bar'"),
    ("# c\n\nruntime.schedulers = abc\n", [],
     r"cleo\.conf:3: bad value 'abc' for runtime\.schedulers"),
    ("log.level info\n", [], r"cleo\.conf:1: malformed line"),
    ("= 3\n", [], r"cleo\.conf:1: malformed line"),
    ("log.level = info\nlog.level = debug\n", [],
     r"cleo\.conf:2: duplicate key 'log\.level'"),
    ("heart.enabled = maybe\n", [], r"cleo\.conf:1: bad value 'maybe' for "
     r"heart\.enabled"),
    ("admin.tcp_port = 70000\n", [], r"bad value '70000' for admin\.tcp_port"),
    ("runtime.schedulers = -1\n", [], r"bad value '-1' for runtime"),
    ("runtime.schedulers = 4 # four\n", [], r"runtime\.schedulers"),
    (None, ["--config", "/nonexistent/cleo.conf"],
     r"config file /nonexistent/cleo\.conf: No such file"),
    (None, ["--set", "runtime.schedulers=abc"],
     r"--set: bad value 'abc' for runtime\.schedulers"),
    (None, ["--set", "no.such=1"], r"--set: unknown key 'no\.such'"),
    (None, ["--set", "oops"], r"--set: malformed 'oops'"),
    (None, ["--set", "node.name=nohost"], r"bad value 'nohost' for node\.name"),
    (None, ["--set", "log.level=loud"], r"bad value 'loud' for log\.level"),
    (None, ["--set", "heart.timeout=0"], r"bad value '0' for heart\.timeout"),
    (None, ["--set", "runtime.long_turn_ms=0"],
     r"bad value '0' for runtime\.long_turn_ms: expected an integer in "
     r"1\.\.3600000"),
    (None, ["--set", "runtime.long_mqueue=many"],
     r"bad value 'many' for runtime\.long_mqueue"),
    ("runtime.long_mqueue = 0\n", [],
     r"cleo\.conf:1: bad value '0' for runtime\.long_mqueue"),
    (None, ["--set", "node.roles=foo"], r"--set: bad value 'foo' for "
     r"node\.roles: expected a comma-separated subset of "
     r"manager,storage,gateway"),
    (None, ["--set", "node.roles="], r"--set: bad value '' for node\.roles"),
    (None, ["--set", "node.roles=storage,storage"],
     r"--set: bad value 'storage,storage' for node\.roles"),
    (None, ["--set", "node.roles=storage,"],
     r"--set: bad value 'storage,' for node\.roles"),
    ("node.roles = manager,,gateway\n", [],
     r"cleo\.conf:1: bad value 'manager,,gateway' for node\.roles"),
    (None, ["--bogus"], r"unknown option '--bogus'"),
    (None, ["--config"], r"--config needs a value"),
]


def case_config(tmp):
    conf = os.path.join(tmp, "cleo.conf")
    data = os.path.join(tmp, "data")
    for text, extra, want in CONFIG_CASES:
        args = ["--no-heart", "--data", data]
        if text is not None:
            with open(conf, "w") as f:
                f.write(text)
            args += ["--config", conf]
        r = subprocess.run([CLEO] + args + extra, capture_output=True,
                           text=True, timeout=10)
        lines = r.stderr.splitlines()
        what = "%r %r -> rc %d, stderr %r" % (text, extra, r.returncode,
                                              r.stderr)
        require(r.returncode == 2, "want exit 2: " + what)
        require(len(lines) == 1, "want one line: " + what)
        require(re.search(want, lines[0]), "want /%s/: %s" % (want, what))
        require(not os.path.exists(data), "data dir created: " + what)
        print("ok: " + lines[0])
    # A file that sets every key, quoted values and spaces, is accepted.
    with open(conf, "w") as f:
        f.write("node.name=a@b.c\n  runtime.schedulers =  1  \n"
                "runtime.max_actors = 100000\nruntime.dirty_threads = 2\n"
                "log.file = \"-\"\nlog.level = warning\nheart.enabled = off\n"
                "heart.timeout = 10\nheart.max_restarts = 0\n"
                "heart.restart_period = 5\nadmin.tcp_port = 0\n"
                "debug.hang_after_ms = 0\nruntime.long_turn_ms = 250\n"
                "runtime.long_mqueue = 5000\n"
                "debug.hang_pinned_after_ms = 0\n"
                "node.roles = gateway,storage,manager\n")
    r = subprocess.run([CLEO, "--config", conf, "--help"],
                       capture_output=True, text=True, timeout=10)
    require(r.returncode == 0 and "node.name" in r.stdout, "--help")
    require(re.search(r"runtime\.long_turn_ms +100 ", r.stdout) and
            re.search(r"runtime\.long_mqueue +10000 ", r.stdout),
            "--help lists runtime.long_turn_ms and long_mqueue with defaults")
    require(re.search(r"node\.roles +manager,storage,gateway ", r.stdout),
            "--help lists node.roles with its default")
    r = subprocess.run([CLEO, "--version"], capture_output=True, text=True,
                       timeout=10)
    require(r.returncode == 0 and r.stdout.startswith("cleo "), "--version")
    out = open(os.path.join(tmp, "out"), "w+")
    err = open(os.path.join(tmp, "err"), "w+")
    p = start(["--data", data, "--config", conf], out, err)
    wait_until(lambda: "node a@b.c up" in read(out.name) or
               p.poll() is not None, 10, "a node from the full file")
    require(p.poll() is None, "cleo exited: " + read(err.name))
    require(read_pid(os.path.join(data, "heart.pid")) is None,
            "heart.enabled = off still ran heart")
    require(signal_and_wait(p, signal.SIGTERM, 5, "cleo") == 0, "exit code")


# ---------------------------------------------------------------------
# heart: kill -9 the node -> heart restarts it; SIGTERM to heart -> both
# exit 0; past heart.max_restarts heart gives up with 1.
# ---------------------------------------------------------------------
def start_heart(tmp, data, extra):
    out = open(os.path.join(tmp, "out"), "a+")
    err = open(os.path.join(tmp, "err"), "a+")
    h = start(["--data", data] + extra, out, err)
    pidp = os.path.join(data, "cleo.pid")
    node = wait_until(lambda: read_pid(pidp) or h.poll() is not None, 10,
                      "the node's pid")
    require(h.poll() is None, "heart exited: " + read(err.name))
    require(read_pid(os.path.join(data, "heart.pid")) == h.pid,
            "heart.pid does not hold heart's pid")
    require(node != h.pid, "the node runs in heart's process")
    return h, node, err


def new_node(data, old, timeout):
    sockp = os.path.join(data, "cleo.sock")
    pidp = os.path.join(data, "cleo.pid")
    node = wait_until(lambda: (read_pid(pidp) not in (None, old) and
                               read_pid(pidp)), timeout, "a new node pid")
    require(alive(node), "the new node %d is not alive" % node)
    wait_until(lambda: sock_answers(sockp), 5, "the new node's socket")
    return node


def case_heart(tmp):
    data = os.path.join(tmp, "data")
    h, node, err = start_heart(tmp, data, ["--set", "heart.timeout=5"])
    wait_until(lambda: sock_answers(os.path.join(data, "cleo.sock")), 5,
               "the socket")
    # A second heart on the same data directory is refused, and leaves
    # the first one's pid file alone.
    r = subprocess.run([CLEO, "--data", data], capture_output=True,
                       text=True, timeout=10)
    require(r.returncode == 1 and "another heart" in r.stderr,
            "second heart: rc %d, %r" % (r.returncode, r.stderr))
    require(read_pid(os.path.join(data, "heart.pid")) == h.pid,
            "the second heart touched heart.pid")
    os.kill(node, signal.SIGKILL)
    node2 = new_node(data, node, 10)
    print("node %d killed, restarted as %d" % (node, node2))
    require(h.poll() is None, "heart exited")
    adm_check(os.path.join(data, "cleo.sock"))
    rc = signal_and_wait(h, signal.SIGTERM, 10, "heart")
    require(rc == 0, "heart exit code %d, want 0" % rc)
    wait_until(lambda: not alive(node2), 5, "the node to exit")
    require(not os.path.exists(os.path.join(data, "heart.pid")),
            "heart.pid is still there")

    # The restart cap: one restart allowed, the second death gives up.
    h, node, err = start_heart(tmp, data, ["--set", "heart.max_restarts=1"])
    os.kill(node, signal.SIGKILL)
    node2 = new_node(data, node, 10)
    os.kill(node2, signal.SIGKILL)
    try:
        rc = h.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise Fail("heart did not give up after max_restarts")
    require(rc == 1, "heart gave up with %d, want 1" % rc)
    require("giving up" in read(err.name), "no 'giving up' message")


# ---------------------------------------------------------------------
# hang: a node whose scheduler hangs stops beating; heart kills it after
# heart.timeout and starts a new one (debug.hang_after_ms is test-only
# and hangs only the first run).
# ---------------------------------------------------------------------
def case_hang(tmp):
    data = os.path.join(tmp, "data")
    t0 = time.monotonic()
    h, node, err = start_heart(tmp, data, [
        "--set", "heart.timeout=2", "--set", "debug.hang_after_ms=300"])
    node2 = new_node(data, node, 15)
    took = time.monotonic() - t0
    print("hung node %d replaced by %d after %.1f s" % (node, node2, took))
    require(took >= 2, "replaced before heart.timeout")
    require(not alive(node), "the hung node is still alive")
    require("no heartbeat" in read(err.name), "no 'no heartbeat' message")
    time.sleep(3)  # the new node keeps beating: not killed again
    require(read_pid(os.path.join(data, "cleo.pid")) == node2,
            "the healthy node was restarted")
    rc = signal_and_wait(h, signal.SIGTERM, 10, "heart")
    require(rc == 0, "heart exit code %d, want 0" % rc)
    wait_until(lambda: not alive(node2), 5, "the node to exit")


# ---------------------------------------------------------------------
# hang_pinned: an actor pinned to scheduler 0 blocks its thread while the
# heartbeat actor, which is not pinned, runs on another scheduler. The
# timer alone would keep beating; the beat is withheld because a
# scheduler is stuck, so heart replaces the node all the same
# (debug.hang_pinned_after_ms is test-only and hangs only the first run).
# The runtime's monitor logs the stuck turn while it lasts.
# ---------------------------------------------------------------------
def case_hang_pinned(tmp):
    data = os.path.join(tmp, "data")
    t0 = time.monotonic()
    h, node, err = start_heart(tmp, data, [
        "--set", "heart.timeout=2", "--set", "runtime.schedulers=2",
        "--set", "runtime.long_turn_ms=200",
        "--set", "debug.hang_pinned_after_ms=300"])
    node2 = new_node(data, node, 15)
    took = time.monotonic() - t0
    print("node %d with a stuck scheduler replaced by %d after %.1f s" %
          (node, node2, took))
    require(took >= 2, "replaced before heart.timeout")
    require(not alive(node), "the stuck node is still alive")
    log = read(err.name)
    require("no heartbeat" in log, "no 'no heartbeat' message")
    require(re.search(r"long turn in progress: <[0-9.]+> debug_hang "
                      r"\(behaviour debug_hang\) on scheduler 0 for [0-9]+ ms "
                      r"\(runtime\.long_turn_ms 200\)", log),
            "the stuck turn was not logged (with runtime.long_turn_ms)")
    time.sleep(3)  # the new node keeps beating: not killed again
    require(read_pid(os.path.join(data, "cleo.pid")) == node2,
            "the healthy node was restarted")
    rc = signal_and_wait(h, signal.SIGTERM, 10, "heart")
    require(rc == 0, "heart exit code %d, want 0" % rc)
    wait_until(lambda: not alive(node2), 5, "the node to exit")


CASES = {"basic": case_basic, "config": case_config, "heart": case_heart,
         "hang": case_hang, "hang_pinned": case_hang_pinned}


def main():
    global CLEO
    ap = argparse.ArgumentParser()
    ap.add_argument("--cleo", required=True, help="path to the cleo binary")
    ap.add_argument("case", choices=sorted(CASES) + ["all"])
    a = ap.parse_args()
    CLEO = os.path.abspath(a.cleo)
    # ctest's timeout and Ctrl-C must still clean up.
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda n, f: sys.exit(128 + n))
    names = sorted(CASES) if a.case == "all" else [a.case]
    failed = 0
    for name in names:
        tmp = tempfile.mkdtemp(prefix="cleo-node-")
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
