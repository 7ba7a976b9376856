#!/usr/bin/env python3
"""test_adm.py - cleo-adm against a real node.

Starts a node in its own temp data dir (cmd/cleo when it takes --data and
runs a supervision tree, else cleo-testnode), then: every subcommand
answers; `cleo-adm kill` of a worker under a one_for_one supervisor makes
`cleo-adm tree` show a new pid and restart count 1 while the node still
answers; killing past kernel_sup's intensity makes cleo_sup restart it as
a whole; bad command lines give one line on stderr and a non-zero exit.
With --top-only: `cleo-adm top` under tmux (capture-pane, send-keys).
Every process started here is stopped before exit.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import Adm, Node, check, summary, wait_for, wait_up  # noqa

adm = None  # an Adm, set in main


def real_cleo_usable(cleo):
    """cmd/cleo qualifies once its --help mentions --data."""
    if not cleo or not os.access(cleo, os.X_OK):
        return False
    try:
        p = subprocess.run([cleo, "--help"], capture_output=True, text=True,
                           timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--data" in p.stdout + p.stderr


def start_node(opts, tmp):
    data = os.path.join(tmp, "data")
    os.makedirs(tmp, exist_ok=True)
    os.makedirs(data, exist_ok=True)
    if not opts.force_testnode and real_cleo_usable(opts.cleo):
        argv = [opts.cleo, "--data", data]
    else:
        argv = [opts.testnode, "--data", data]
    print("node: " + " ".join(argv), flush=True)
    node = Node(argv, data, os.path.join(tmp, "node.log"))
    if wait_up(node, adm, 200):
        return node
    node.stop()
    raise RuntimeError("the node did not come up (see %s)" % tmp)


def walk(child, parent=None):
    yield child, parent
    for c in (child.get("children") or {}).get("child", []):
        yield from walk(c, child)


def pick_victim(root):
    """A running worker under a one_for_one supervisor, not the server."""
    best = None
    for c, parent in walk(root):
        if parent is None or c.get("type") != "worker" or not c.get("pid"):
            continue
        strategy = (parent.get("children") or {}).get("strategy")
        if strategy != "one_for_one" or c.get("id") == "introspect":
            continue
        if best is None or c.get("id") in ("w1", "logger"):
            best = (c, parent)
    return best


def find_child(root, sup_id, child_id):
    for c, parent in walk(root):
        if parent is not None and parent.get("id") == sup_id and \
                c.get("id") == child_id:
            return c
    return None


def one_line_error(rc, err, want_rc):
    lines = [l for l in err.splitlines() if l.strip()]
    return rc == want_rc and len(lines) == 1 and \
        lines[0].startswith("cleo-adm: ")


def test_subcommands(sock):
    for sub in (["status"], ["actors"], ["actors", "--sort", "memory"],
                ["stats"], ["tree"], ["info", "introspect"]):
        rc, out, err = adm(sub, sock)
        check(rc == 0 and out and not err, "cleo-adm %s" % " ".join(sub))
    st = adm.json(["status"], sock)
    check(st["kind"] == "status" and st["stats"]["actors"] > 0,
          "status --json")
    acts = adm.json(["actors", "--sort", "msgs", "--limit", "3"], sock)
    check(len(acts["actor"]) == 3, "actors --limit 3 --json")
    stats = adm.json(["stats"], sock)
    check(len(stats["stats"]["sched"]) >= 1 and
          stats["stats"]["rss_bytes"] > 0, "stats --json")
    rc, out, _ = adm(["trace", "introspect", "--seconds", "1"], sock)
    check(rc == 0 and re.search(r"^-- trace of <[0-9.]+> ended", out, re.M),
          "trace --seconds 1")
    for sub in ("status", "actors", "tree", "info", "kill", "trace",
                "stats", "top"):
        rc, out, _ = adm([sub, "--help"], sock)
        check(rc == 0 and out.startswith("usage:"), "%s --help" % sub)


def test_kill_restart(sock):
    tree = adm.json(["tree"], sock)["root"]
    victim = pick_victim(tree)
    if not check(victim is not None, "a worker under one_for_one"):
        return None
    child, sup = victim
    old_pid, restarts = child["pid"], child.get("restarts", 0)
    rc, out, err = adm(["kill", old_pid], sock)
    check(rc == 0 and old_pid in out, "kill %s (%s)" % (old_pid, child["id"]))
    now = None
    for _ in range(100):
        now = find_child(adm.json(["tree"], sock)["root"], sup["id"],
                         child["id"])
        if now and now.get("pid") and now["pid"] != old_pid:
            break
        time.sleep(0.05)
    check(now is not None and now.get("pid") not in ("", old_pid),
          "tree shows %s with a new pid (%s)" %
          (child["id"], now and now.get("pid")))
    check(now is not None and now.get("restarts", 0) == restarts + 1,
          "restart count %d" % (restarts + 1))
    rc, out, _ = adm(["tree"], sock)
    print(out, end="", flush=True)
    check(rc == 0 and adm(["status"], sock)[0] == 0, "node still answers")
    return old_pid


def try_tree(sock):
    """The tree, or None while the admin socket is being restarted."""
    try:
        return adm.json(["tree"], sock)["root"]
    except (RuntimeError, ValueError, subprocess.TimeoutExpired):
        return None


def test_intensity(sock):
    """Kill kernel_sup's metrics worker past kernel_sup's intensity (5 in
    10 s): kernel_sup gives up with shutdown and cleo_sup restarts it as a
    whole, with a new pid and restart count 1; the node answers again."""
    tree = try_tree(sock)
    kernel = tree and find_child(tree, "cleo_sup", "kernel_sup")
    if kernel is None:
        print("skip intensity: not the real node's tree", flush=True)
        return
    old_kernel = kernel["pid"]
    for i in range(6):
        m = wait_for(lambda: (lambda t: t and find_child(t, "kernel_sup",
                                                         "metrics"))(
            try_tree(sock)))
        if not check(m is not None and m.get("pid"),
                     "metrics running before kill %d" % (i + 1)):
            return
        rc, _, err = adm(["kill", m["pid"]], sock)
        check(rc == 0, "kill %d of metrics (%s)" % (i + 1, err.strip()))
        wait_for(lambda: (lambda t: t and (lambda c: c and c.get("pid") and
                                           c["pid"] != m["pid"])(
            find_child(t, "kernel_sup", "metrics")))(try_tree(sock)))
    k = wait_for(lambda: (lambda t: t and (lambda c: c and c.get("pid") and
                                           c["pid"] != old_kernel and c)(
        find_child(t, "cleo_sup", "kernel_sup")))(try_tree(sock)))
    check(k is not None, "kernel_sup restarted as a whole (new pid %s)" %
          (k and k["pid"]))
    check(k is not None and k.get("restarts", 0) == 1,
          "kernel_sup restart count 1 under cleo_sup")
    check(wait_for(lambda: adm(["status"], sock)[0] == 0),
          "node answers after the escalation")


def test_give_up(opts, tmp):
    """Kill cleo_sup's kernel_sup past cleo_sup's intensity (3 in 10 s):
    the top supervisor gives up and the node (under heart) exits
    non-zero, as an OTP node does when its top application dies."""
    if opts.force_testnode or not real_cleo_usable(opts.cleo):
        return
    node = start_node(opts, os.path.join(tmp, "giveup"))
    try:
        for i in range(8):
            if node.proc.poll() is not None:
                break
            t = wait_for(lambda: try_tree(node.sock), 5)
            k = t and find_child(t, "cleo_sup", "kernel_sup")
            if not k or not k.get("pid"):
                break
            adm(["kill", k["pid"]], node.sock)
            wait_for(lambda: node.proc.poll() is not None or (
                lambda t2: t2 and (lambda c: c and c.get("pid") and
                                   c["pid"] != k["pid"])(
                    find_child(t2, "cleo_sup", "kernel_sup")))(
                try_tree(node.sock)), 5)
        try:
            rc = node.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc is not None and rc != 0,
              "node exits non-zero when cleo_sup gives up (rc %s)" % rc)
    finally:
        node.stop()


def test_bad_cli(sock, dead_pid, tmp):
    cases = [
        (["frobnicate"], 2, "unknown subcommand"),
        (["--bogus", "status"], 2, "unknown global option"),
        ([], 2, "no subcommand"),
        (["info"], 2, "missing target"),
        (["info", "<0.x.1>"], 2, "bad pid"),
        (["kill", "<0.1.1.1>"], 2, "malformed pid"),
        (["actors", "--sort", "colour"], 2, "bad sort key"),
        (["trace", "introspect", "--seconds", "0"], 2, "bad seconds"),
        (["info", "no_such_actor"], 1, "unregistered name"),
    ]
    if dead_pid:
        cases += [(["info", dead_pid], 1, "dead pid (info)"),
                  (["kill", dead_pid], 1, "dead pid (kill)")]
    for args, want, what in cases:
        rc, out, err = adm(args, sock)
        check(one_line_error(rc, err, want),
              "%s -> exit %d, one line: %r" % (what, rc, err.strip()))
    rc, _, err = adm(["status"], os.path.join(tmp, "nope.sock"))
    check(one_line_error(rc, err, 1) and "cannot connect" in err,
          "no socket -> exit 1")
    check(adm(["status"], sock)[0] == 0, "node still answers after bad input")


def tmux(*args):
    return subprocess.run(["tmux", "-L", TMUX_SOCK] + list(args),
                          capture_output=True, text=True)


def test_top(sock, tmp):
    session = "cleotop"
    cmd = "%s --socket %s top" % (adm.exe, sock)
    tmux("new-session", "-d", "-s", session, "-x", "110", "-y", "30", cmd)
    try:
        time.sleep(2.5)
        screen = tmux("capture-pane", "-p", "-t", session).stdout
        with open(os.path.join(tmp, "top.txt"), "w") as f:
            f.write(screen)
        print(screen, flush=True)
        check("cleo top" in screen and "PID" in screen and
              "introspect" in screen, "top draws the node")
        check("sort: msgs" in screen, "top sorts by messages by default")
        tmux("send-keys", "-t", session, "b")
        time.sleep(1.5)
        screen = tmux("capture-pane", "-p", "-t", session).stdout
        check("sort: memory" in screen, "b sorts by memory")
        tmux("send-keys", "-t", session, "q")
        gone = False
        for _ in range(50):
            if tmux("has-session", "-t", session).returncode != 0:
                gone = True
                break
            time.sleep(0.1)
        check(gone, "q quits")
    finally:
        tmux("kill-server")


def main():
    global adm, TMUX_SOCK
    ap = argparse.ArgumentParser()
    ap.add_argument("--adm", required=True)
    ap.add_argument("--testnode", required=True)
    ap.add_argument("--cleo")
    ap.add_argument("--top-only", action="store_true")
    ap.add_argument("--force-testnode", action="store_true")
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()
    adm = Adm(opts.adm)
    TMUX_SOCK = "cleo-adm-test-%d" % os.getpid()
    tmp = tempfile.mkdtemp(prefix="cleo-adm-it-")
    node = None
    try:
        node = start_node(opts, tmp)
        if opts.top_only:
            test_top(node.sock, tmp)
        else:
            test_subcommands(node.sock)
            dead = test_kill_restart(node.sock)
            test_bad_cli(node.sock, dead, tmp)
            if not opts.force_testnode and real_cleo_usable(opts.cleo):
                test_intensity(node.sock)  # the real tree's intensities
        rc = node.stop()
        check(rc == 0, "node exits 0 on SIGTERM (got %s)" % rc)
        check(not os.path.exists(node.sock), "socket removed at exit")
        if not opts.top_only:
            test_give_up(opts, tmp)
    finally:
        if node is not None:
            node.stop()
        if not opts.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
