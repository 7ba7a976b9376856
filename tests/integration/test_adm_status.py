#!/usr/bin/env python3
"""test_adm_status.py - `cleo-adm info` shows a behaviour's own status.

Starts a real node (cmd/cleo, S3 listener off, in its own temp data dir)
and checks that `cleo-adm info PID` of a gen_server (the "metrics" server,
named by its pid) prints the status it answers to RT_MSG_STATUS, OTP's
sys:get_status: its module, `running`, its parent and its format_status
text; that a supervisor shows its strategy and children and the logger (a
gen_event) its handlers; that --json carries the same text; and that an
actor that is no OTP behaviour still gets its INFO, without a status,
once the server's status timeout has passed. The node is stopped before
exit.
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import Adm, Node, check, summary, wait_up  # noqa: E402

STATUS_MS = 1000  # runtime/introspect.h RT__ISP_STATUS_MS


def start_node(cleo, adm, tmp):
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    argv = [cleo, "--data", data, "--no-heart",
            "--set", "gateway.http.port=0"]
    print("node: " + " ".join(argv), flush=True)
    node = Node(argv, data, os.path.join(tmp, "node.log"))
    if wait_up(node, adm, 200):
        return node
    node.stop()
    raise RuntimeError("the node did not come up (see %s)" % tmp)


def status_lines(out):
    """The lines of the `status` block of `cleo-adm info`, unindented."""
    lines, inside = [], False
    for line in out.splitlines():
        if line.startswith("status     "):
            inside = True
        elif not line.startswith("           "):
            inside = False
        if inside:
            lines.append(line[11:])
    return lines


def pid_of(adm, sock, name):
    rc, out, _ = adm(["--json", "actors"], sock)
    for a in json.loads(out)["actor"] if rc == 0 else []:
        if a.get("name") == name:
            return a["pid"]
    return None


def test_gen_server(adm, sock):
    pid = pid_of(adm, sock, "metrics")
    if not check(pid is not None, "the metrics gen_server runs"):
        return
    rc, out, err = adm(["info", pid], sock)
    check(rc == 0 and not err, "cleo-adm info %s" % pid)
    st = status_lines(out)
    print("\n".join("  | " + l for l in st), flush=True)
    check(st[:2] == ["gen_server metrics", "status: running"],
          "info shows the gen_server and its module")
    check(len(st) > 2 and re.fullmatch(r"parent: <\d+\.\d+\.\d+>", st[2]),
          "info shows its parent")
    check(len(st) > 3 and re.fullmatch(r"state: \d+ counters", st[3]),
          "info shows its format_status text")
    rc, out, _ = adm(["--json", "info", pid], sock)
    a = json.loads(out)["actor"][0] if rc == 0 else {}
    check(a.get("status", "").startswith("gen_server metrics\n"),
          "info --json carries the status")


def test_supervisor_and_gen_event(adm, sock):
    rc, out, _ = adm(["info", "cleo_sup"], sock)
    st = status_lines(out)
    check(rc == 0 and st[:1] == ["supervisor"] and
          "strategy: one_for_one" in st and
          any(l.startswith("children: ") for l in st),
          "a supervisor shows its strategy and children")
    rc, out, _ = adm(["info", "logger"], sock)
    st = status_lines(out)
    check(rc == 0 and st[:1] == ["gen_event"] and
          any(l.strip().startswith("logger_file") for l in st),
          "the logger (a gen_event) shows its handlers")


def test_no_behaviour(adm, sock):
    """An actor that is no OTP behaviour: INFO without a status."""
    rc, out, _ = adm(["--json", "actors"], sock)
    raw = [a for a in json.loads(out)["actor"]
           if a.get("name") == "gw_cache"] if rc == 0 else []
    if not check(len(raw) == 1, "a plain runtime actor (gw_cache) runs"):
        return
    t0 = time.time()
    rc, out, err = adm(["info", raw[0]["pid"]], sock)
    ms = (time.time() - t0) * 1000
    check(rc == 0 and "behaviour  gw_cache" in out and
          not status_lines(out), "its INFO comes without a status")
    check(ms < STATUS_MS + 2000, "after the status timeout at most "
          "(%.0f ms)" % ms)
    rc, _, _ = adm(["status"], sock)
    check(rc == 0, "the node still answers")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--adm", required=True)
    ap.add_argument("--cleo", required=True)
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cleo-adm-status-")
    adm = Adm(opts.adm)
    node = None
    try:
        node = start_node(opts.cleo, adm, tmp)
        test_gen_server(adm, node.sock)
        test_supervisor_and_gen_event(adm, node.sock)
        test_no_behaviour(adm, node.sock)
        rc = node.stop()
        check(rc == 0, "node exits 0 on SIGTERM (got %s)" % rc)
    finally:
        if node is not None:
            node.stop()
        if not opts.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
