#!/usr/bin/env python3
# test_crash.py - what a crash takes down, on a real node process under
# heart (cleo-crashnode: cmd/cleo's heart around a small test-only node):
#
#   1. cl_panic() in a handler crashes that actor only: its supervisor
#      restarts it and the node process goes on (same pid);
#   2. cl_panic() in a blocking-pool job fails that job only: the
#      submitter's reply carries CLEO_EPANIC and the node goes on;
#   3. a memory fault (a write through NULL, SIGSEGV) in a handler is not
#      contained: the node process dies, and heart starts a new one;
#   4. nor is abort() in a handler (what a library does on a broken
#      invariant: SIGABRT), in the second run;
#   5. nor is a stack overflow in a handler (SIGSEGV on the guard page), in
#      the third run; the fourth run stays up.
#
#   python3 tests/integration/test_crash.py --crashnode build/.../cleo-crashnode
#
# A fresh temporary directory; every process started (its whole process
# group) is killed on the way out, pass or fail.
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PROCS = []


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise Fail("timed out after %.1f s waiting for %s" % (timeout, what))


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def read_pid(path):
    try:
        with open(path) as f:
            s = f.read()
        return int(s) if s.endswith("\n") else None
    except (FileNotFoundError, ValueError):
        return None


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def kill_all():
    for p in PROCS:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def run(crashnode, tmp):
    data = os.path.join(tmp, "data")
    errp = os.path.join(tmp, "err")
    err = open(errp, "w")
    # Under ASan (the asan flavour) the node must still die by its signal,
    # as in a release build, not report and exit(1): heart restarts a node
    # killed by a signal, not one that exits with an error.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(
        x for x in (env.get("ASAN_OPTIONS"), "handle_segv=0",
                    "handle_abort=0") if x)
    h = subprocess.Popen(
        [crashnode, "--data", data, "--panic-after-ms", "300",
         "--pool-panic-after-ms", "300", "--segv-after-ms", "1500",
         "--more-faults"],
        stdout=err, stderr=err, env=env, start_new_session=True)
    PROCS.append(h)
    pidp = os.path.join(data, "cleo.pid")
    node = wait_for(lambda: read_pid(pidp) or h.poll() is not None, 10,
                    "the node's pid")
    check(h.poll() is None, "heart exited: " + read(errp))
    check(node != h.pid, "the node runs in heart's process")

    # 1. A panic in a handler: the actor is restarted, the node is not.
    wait_for(lambda: "crasher started (2)" in read(errp), 10,
             "the supervisor to restart the panicked actor")
    log = read(errp)
    check("(crasher) panicked at" in log, "no panic line:\n" + log)
    check(read_pid(pidp) == node and alive(node),
          "the node did not survive a panic in a handler")
    print("panic in a handler: actor restarted, node %d still up" % node)

    # 2. A panic in a pool job: the job fails, the node goes on.
    wait_for(lambda: "pool job answered" in read(errp), 10,
             "the pool job's reply")
    log = read(errp)
    check("pool job answered CLEO_EPANIC" in log,
          "the pool job's reply is not CLEO_EPANIC:\n" + log)
    check(read_pid(pidp) == node and alive(node),
          "the node did not survive a panic in a pool job")
    print("panic in a pool job: CLEO_EPANIC to its submitter, node %d up"
          % node)

    # 3-5. Faults that are not contained: each kills the node process by
    # its signal, and heart starts a new one.
    faults = [("writing through NULL", signal.SIGSEGV, "SIGSEGV"),
              ("calling abort()", signal.SIGABRT, "abort()"),
              ("recursing without end", signal.SIGSEGV, "stack overflow")]
    for what, sig, name in faults:
        node2 = wait_for(lambda: (read_pid(pidp) not in (None, node) and
                                  read_pid(pidp)), 15,
                         "a new node pid after the %s" % name)
        log = read(errp)
        check("crashnode: " + what in log, "the %s did not run:\n%s" %
              (name, log))
        check(not alive(node), "the node %d is still alive" % node)
        check("node %d was killed by signal %d" % (node, sig) in log,
              "heart did not see signal %d for the %s:\n%s" %
              (sig, name, log))
        check(h.poll() is None, "heart exited")
        print("%s in a handler: node %d died, heart restarted it as %d"
              % (name, node, node2))
        node = node2
    time.sleep(2)  # the fourth run has no faults: it stays up
    check(read_pid(pidp) == node and alive(node),
          "the restarted node did not stay up:\n" + read(errp))

    h.send_signal(signal.SIGTERM)
    try:
        rc = h.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise Fail("heart did not exit within 10 s of SIGTERM")
    check(rc == 0, "heart exit code %d, want 0" % rc)
    wait_for(lambda: not alive(node), 5, "the node to exit")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crashnode", required=True,
                    help="path to the cleo-crashnode binary")
    a = ap.parse_args()
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda n, f: sys.exit(128 + n))
    tmp = tempfile.mkdtemp(prefix="cleo-crash-")
    try:
        run(os.path.abspath(a.crashnode), tmp)
        print("PASS crash")
        code = 0
    except Fail as e:
        print("FAIL crash: %s" % e)
        print("--- err ---\n%s" % read(os.path.join(tmp, "err")))
        code = 1
    finally:
        kill_all()
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
