#!/usr/bin/env python3
"""test_adm_sysmon.py - what cleo-adm shows of long turns and long
message queues (issue 9: system_monitor's long_schedule and
long_message_queue).

Starts cleo-testnode --hog in its own temp data dir: "hog" is pinned to
scheduler 0 with a mailbox limit of 1000 and stays in one turn, blocking
its scheduler, with about 200 messages queued; "blip" had one 120 ms turn;
the node's long_turn_ms is 50 and long_mqueue 100. Then:
  - `actors --sort mailbox` lists hog first, with its mailbox limit;
  - `actors --sort long_turns` lists blip first, with one long turn;
  - `info` shows the limit and the counts;
  - `stats` shows the long-turn and long-queue totals and, on scheduler 0,
    the turn running now (its age and hog);
  - `top` (under tmux, when there is one) shows the stuck scheduler;
  - the node's log has the "long turn in progress" line.
Every process started here is stopped before exit.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import Adm, Node, check, summary, wait_for  # noqa: E402

adm = None  # an Adm, set in main


def start_node(testnode, tmp):
    data = os.path.join(tmp, "data")
    node = Node([testnode, "--data", data, "--hog"], data,
                os.path.join(tmp, "node.log"))
    try:
        up = wait_for(lambda: node.proc.poll() is not None or
                      adm.answers(node.sock))
    except BaseException:
        up = None
    if not up or node.proc.poll() is not None:
        node.stop()
        raise RuntimeError("the node did not come up (see %s)" % tmp)
    return node


def by_name(actors, name):
    return next((a for a in actors if a.get("name") == name), None)


def test_actors(sock):
    first = wait_for(lambda: (lambda a: a and a[0].get("name") == "hog" and
                              a[0].get("mailbox", 0) >= 50 and a[0])(
        adm.json(["actors", "--sort", "mailbox"], sock).get("actor")))
    check(first is not None, "actors --sort mailbox: hog first (%s)" %
          (first and first.get("mailbox")))
    check(first is not None and first.get("mailbox_limit") == 1000,
          "hog's mailbox_limit 1000 in --json")
    rc, out, err = adm(["actors", "--sort", "mailbox"], sock)
    lines = out.splitlines()
    check(rc == 0 and len(lines) > 2 and "LIMIT" in lines[0] and
          "LONG" in lines[0], "actors table has LIMIT and LONG columns")
    row = lines[1].split() if len(lines) > 1 else []
    check(len(row) > 5 and row[1] == "hog" and row[5] == "1000",
          "first row is hog with limit 1000: %r" % (lines[1:2],))
    acts = adm.json(["actors", "--sort", "long_turns"], sock)["actor"]
    check(acts[0].get("name") == "blip" and acts[0].get("long_turns") == 1,
          "actors --sort long_turns: blip first with 1 (%r)" % (acts[0],))
    w1 = by_name(acts, "w1")
    check(w1 is not None and not w1.get("long_turns") and
          not w1.get("mailbox_limit"), "w1: no long turns, no limit")
    rc, out, _ = adm(["info", "blip"], sock)
    check(rc == 0 and "long turns 1" in out and "mbox limit -" in out,
          "info blip: one long turn, no limit")
    rc, out, _ = adm(["info", "hog"], sock)
    check(rc == 0 and "mbox limit 1000" in out, "info hog: limit 1000")
    info = adm.json(["info", "hog"], sock)["actor"][0]
    check(info.get("long_mqueues") == 1,
          "hog's queue passed long_mqueue once (%r)" % info.get(
              "long_mqueues"))
    rc, _, err = adm(["actors", "--sort", "colour"], sock)
    check(rc == 2 and "long_turns" in err, "bad --sort names long_turns")


def hog_turn(sock):
    st = adm.json(["stats"], sock)["stats"]
    s0 = st["sched"][0]
    if s0.get("running_name") == "hog" and s0.get("turn_ms", 0) >= 100:
        return st
    return None


def test_stats(sock):
    st = wait_for(lambda: hog_turn(sock))
    check(st is not None, "stats: scheduler 0 in a turn of hog >= 100 ms")
    if st is None:
        return
    check(st.get("long_turns", 0) >= 1, "stats long_turns >= 1 (blip)")
    check(st.get("long_mqueues", 0) >= 1, "stats long_mqueues >= 1 (hog)")
    s0 = st["sched"][0]
    check(s0.get("running", "").startswith("<"), "running is hog's pid")
    rc, out, _ = adm(["stats"], sock)
    check(rc == 0 and "TURN" in out and "RUNNING" in out,
          "stats table has TURN and RUNNING")
    row0 = next((l for l in out.splitlines() if l.startswith("0 ")), "")
    check("(hog)" in row0 and " ms " in row0,
          "stats row of scheduler 0 shows hog's turn: %r" % row0)
    check("turns over runtime.long_turn_ms" in out, "stats shows long turns")


def tmux(sockname, *args):
    return subprocess.run(["tmux", "-L", sockname] + list(args),
                          capture_output=True, text=True)


def test_top(sock, tmp):
    if shutil.which("tmux") is None:
        print("skip top: no tmux", flush=True)
        return
    name = "cleo-sysmon-%d" % os.getpid()
    tmux(name, "new-session", "-d", "-s", "top", "-x", "130", "-y", "30",
         "%s --socket %s top" % (adm.exe, sock))
    try:
        screen = wait_for(lambda: (lambda s: "in one turn for" in s and s)(
            tmux(name, "capture-pane", "-p", "-t", "top").stdout), 8) or \
            tmux(name, "capture-pane", "-p", "-t", "top").stdout
        with open(os.path.join(tmp, "top.txt"), "w") as f:
            f.write(screen)
        check("long turns" in screen and "long mqueues" in screen,
              "top header shows long turns and long mqueues")
        check("in one turn for" in screen and "hog" in screen,
              "top shows the stuck scheduler")
        tmux(name, "send-keys", "-t", "top", "l")
        check(wait_for(lambda: "sort: long_turns" in tmux(
            name, "capture-pane", "-p", "-t", "top").stdout, 5) is not None,
            "l sorts by long turns")
        tmux(name, "send-keys", "-t", "top", "q")
    finally:
        tmux(name, "kill-server")


def main():
    global adm
    ap = argparse.ArgumentParser()
    ap.add_argument("--adm", required=True)
    ap.add_argument("--testnode", required=True)
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()
    adm = Adm(opts.adm)
    tmp = tempfile.mkdtemp(prefix="cleo-adm-sysmon-")
    node = None
    try:
        node = start_node(opts.testnode, tmp)
        test_actors(node.sock)
        test_stats(node.sock)
        test_top(node.sock, tmp)
        rc = node.stop()
        check(rc == 0, "node exits 0 on SIGTERM (got %s)" % rc)
        text = node.output()
        check("long turn in progress: " in text and "hog" in text,
              "the node logged hog's stuck turn")
        check("long turn: " in text and "blip" in text,
              "the node logged blip's long turn")
    finally:
        if node is not None:
            node.stop()
        if not opts.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
