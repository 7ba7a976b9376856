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
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import (Fail, alive, kill_all, read, read_pid,  # noqa: E402
                      require, signal_and_wait, spawn, wait_until)


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
    h = spawn([crashnode, "--data", data, "--panic-after-ms", "300",
               "--pool-panic-after-ms", "300", "--segv-after-ms", "1500",
               "--more-faults"], err, err, env)
    pidp = os.path.join(data, "cleo.pid")
    node = wait_until(lambda: read_pid(pidp) or h.poll() is not None, 10,
                      "the node's pid")
    require(h.poll() is None, "heart exited: " + read(errp))
    require(node != h.pid, "the node runs in heart's process")

    # 1. A panic in a handler: the actor is restarted, the node is not.
    wait_until(lambda: "crasher started (2)" in read(errp), 10,
               "the supervisor to restart the panicked actor")
    log = read(errp)
    require("(crasher) panicked at" in log, "no panic line:\n" + log)
    require(read_pid(pidp) == node and alive(node),
            "the node did not survive a panic in a handler")
    print("panic in a handler: actor restarted, node %d still up" % node)

    # 2. A panic in a pool job: the job fails, the node goes on.
    wait_until(lambda: "pool job answered" in read(errp), 10,
               "the pool job's reply")
    log = read(errp)
    require("pool job answered CLEO_EPANIC" in log,
            "the pool job's reply is not CLEO_EPANIC:\n" + log)
    require(read_pid(pidp) == node and alive(node),
            "the node did not survive a panic in a pool job")
    print("panic in a pool job: CLEO_EPANIC to its submitter, node %d up"
          % node)

    # 3-5. Faults that are not contained: each kills the node process by
    # its signal, and heart starts a new one.
    faults = [("writing through NULL", signal.SIGSEGV, "SIGSEGV"),
              ("calling abort()", signal.SIGABRT, "abort()"),
              ("recursing without end", signal.SIGSEGV, "stack overflow")]
    for what, sig, name in faults:
        node2 = wait_until(lambda: (read_pid(pidp) not in (None, node) and
                                    read_pid(pidp)), 15,
                           "a new node pid after the %s" % name)
        log = read(errp)
        require("crashnode: " + what in log, "the %s did not run:\n%s" %
                (name, log))
        require(not alive(node), "the node %d is still alive" % node)
        require("node %d was killed by signal %d" % (node, sig) in log,
                "heart did not see signal %d for the %s:\n%s" %
                (sig, name, log))
        require(h.poll() is None, "heart exited")
        print("%s in a handler: node %d died, heart restarted it as %d"
              % (name, node, node2))
        node = node2
    time.sleep(2)  # the fourth run has no faults: it stays up
    require(read_pid(pidp) == node and alive(node),
            "the restarted node did not stay up:\n" + read(errp))

    rc = signal_and_wait(h, signal.SIGTERM, 10, "heart")
    require(rc == 0, "heart exit code %d, want 0" % rc)
    wait_until(lambda: not alive(node), 5, "the node to exit")


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
