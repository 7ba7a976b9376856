"""nodeutil.py - shared plumbing for the integration tests that start a
node process (cleo, cleo-testnode, cleo-crashnode) and drive it with
cleo-adm: test_adm*.py, test_users.py, test_stats_counters.py,
test_https.py, test_crash.py, test_node.py (and free_port for s3node.py).

Two ways to check, as the tests use them:
    check(cond, what)    prints ok/FAIL, records a failure in FAILED and
                         goes on (the test exits 1 when FAILED is not empty);
    require(cond, what)  raises Fail(what) (the case stops there).

Import it the way the S3 tests import s3node, so that no __pycache__ is
left in the source tree:

    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import nodeutil
"""
import json
import os
import signal
import socket
import subprocess
import time

FAILED = []  # what check() saw fail
PROCS = []  # what spawn() started; kill_all() kills them


class Fail(Exception):
    """A check that stops its test case."""


def check(cond, what):
    """Print ok or FAIL and `what`; record a failure in FAILED. Returns
    cond."""
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILED.append(what)
    return cond


def summary():
    """Print how many checks failed, if any; the exit code (1 if any)."""
    if FAILED:
        print("%d check(s) failed" % len(FAILED))
        return 1
    return 0


def require(cond, what):
    """Raise Fail(what) unless cond."""
    if not cond:
        raise Fail(what)


def free_port():
    """A port the kernel just handed out on 127.0.0.1 (closed again)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(fn, seconds=10):
    """fn()'s first true value, asked every 50 ms for `seconds`; None when
    none came."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return None


def wait_until(pred, timeout, what):
    """pred()'s first true value within `timeout` seconds, else Fail
    naming `what`."""
    v = wait_for(pred, timeout)
    if not v:
        raise Fail("timed out after %.1f s waiting for %s" % (timeout, what))
    return v


class Adm:
    """cleo-adm at `exe`, run against a node's admin socket with
    CLEO_SOCKET unset; each run may take `timeout` seconds."""

    def __init__(self, exe, timeout=30):
        self.exe = exe
        self.timeout = timeout

    def __call__(self, args, sock, timeout=None):
        """(exit code, stdout, stderr) of `cleo-adm --socket sock args`."""
        env = dict(os.environ)
        env.pop("CLEO_SOCKET", None)
        p = subprocess.run([self.exe, "--socket", sock] + args,
                           capture_output=True, text=True, env=env,
                           timeout=timeout or self.timeout)
        return p.returncode, p.stdout, p.stderr

    def json(self, args, sock):
        """The parsed output of `cleo-adm --json args`; RuntimeError when
        it exits non-zero."""
        rc, out, err = self(["--json"] + args, sock)
        if rc != 0:
            raise RuntimeError("cleo-adm %s: %s" % (" ".join(args), err))
        return json.loads(out)

    def answers(self, sock):
        """Whether sock exists and `cleo-adm status` on it exits 0."""
        return os.path.exists(sock) and self(["status"], sock)[0] == 0


class Node:
    """A node process run from argv with its data dir `data` (admin
    socket <data>/cleo.sock), stdout and stderr into out_path. stop() is
    idempotent: SIGTERM, SIGKILL after stop_timeout seconds; it returns
    the exit code."""

    def __init__(self, argv, data, out_path, env=None, stop_timeout=15,
                 new_session=False):
        self.data = data
        self.sock = os.path.join(data, "cleo.sock")
        self.out_path = out_path
        self.stop_timeout = stop_timeout
        self.out = open(out_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.out,
                                     stderr=subprocess.STDOUT, env=env,
                                     start_new_session=new_session)

    def stop(self):
        """SIGTERM, then SIGKILL if it is still up after stop_timeout s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.out.closed:
            self.out.close()
        return self.proc.returncode

    def output(self):
        """All the node has written to out_path so far."""
        if not self.out.closed:
            self.out.flush()
        with open(self.out_path, errors="replace") as f:
            return f.read()


def accepts(port):
    """Whether 127.0.0.1:port takes a TCP connection (within 0.5 s)."""
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def wait_up(node, adm, tries=200, port=None):
    """Whether node's admin socket answers `status` (and, given port,
    127.0.0.1:port accepts) within `tries` rounds 50 ms apart; False as
    soon as the node's process has exited."""
    for _ in range(tries):
        if adm.answers(node.sock) and (port is None or accepts(port)):
            return True
        if node.proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def spawn(argv, out, err, env=None):
    """Popen argv in a process group of its own, remembered in PROCS."""
    p = subprocess.Popen(argv, stdout=out, stderr=err, env=env,
                         start_new_session=True)
    PROCS.append(p)
    return p


def kill_all():
    """SIGKILL the process group of everything spawn() started, reap
    them (5 s each at most) and forget them."""
    for p in PROCS:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    PROCS.clear()


def signal_and_wait(p, sig, timeout, what):
    """Send sig to p and return its exit code; Fail when `what` has not
    exited within `timeout` seconds."""
    p.send_signal(sig)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail("%s did not exit within %d s of %s" %
                   (what, timeout, signal.Signals(sig).name))


def alive(pid):
    """Whether process pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still "exists": read its state.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def read_pid(path):
    """The pid in a pid file once it is whole (ends in a newline), else
    None."""
    try:
        with open(path) as f:
            s = f.read()
        return int(s) if s.endswith("\n") else None
    except (FileNotFoundError, ValueError):
        return None


def read(path):
    """A text file's contents ("" when it is not there)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""
