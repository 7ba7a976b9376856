"""s3node.py - shared helpers for the S3 integration tests (test_s3_*.py).

A Node is a real `cleo` process on a free 127.0.0.1 port with its own
temporary data directory and a known admin key pair (given through
CLEO_ACCESS_KEY/CLEO_SECRET_KEY). Clients get their configuration from
files written into the test's temp dir, never from ~:

    with Suite("s3_boto3") as t:           # temp dir, cleanup, exit code
        node = t.node(sets={"gateway.max_put_mb": "1"})
        s3 = node.boto3()                  # path style, no retries
        t.check(cond, "what")              # prints ok/FAIL, keeps going
        t.run([...], env=node.aws_env())   # a client command, logged

The binaries come from --bin DIR (or $CLEO_BIN): DIR/cleo and
DIR/../adm/cleo-adm or DIR/cleo-adm. Every process a Suite started is
stopped when it ends (SIGTERM, then SIGKILL), pass or fail; SIGTERM and
SIGINT to the test itself (ctest's timeout) go through the same path.
Run with Debian's /usr/bin/python3, which has python3-boto3. free_port
and Fail come from nodeutil.py, the plumbing all node tests share.
"""
import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

from nodeutil import Fail, free_port  # noqa: F401 (s3node.Fail too)

# CLEO_SPLIT=1 (the split_* ctest entries): every Node is two processes,
# a gateway-only front that the clients talk to and a manager+storage
# back, joined by distribution; the same suites then run across them.
SPLIT = os.environ.get("CLEO_SPLIT") == "1"
SPLIT_COOKIE = "cleo-test-split-cookie"
# CLEO_SPLIT_TLS=1 as well: the pair talks TLS (dist.tls.*), each with a
# certificate from a CA made for the run, and each verifies the other's.
SPLIT_TLS = os.environ.get("CLEO_SPLIT_TLS") == "1"
# cleo-adm commands the manager serves; in a split pair also `stats`,
# whose counters the manager's admin actor reports (a gateway-only node
# has none to show: a known gap), so split runs see the back's.
MANAGER_CMDS = ("user", "bucket", "stats")

ACCESS_KEY = "CLEOTESTADMIN0000001"
SECRET_KEY = "cleo/test/admin/secret/key/0123456789abc"
REGION = "us-east-1"


def split_certs(parent):
    """A CA and the certificates of a split pair ("front", "back") it
    signed, in parent/tls/. @return that directory."""
    d = os.path.join(parent, "tls")
    os.makedirs(d, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    run = lambda *a: subprocess.run(list(a), cwd=d, check=True,  # noqa
                                    capture_output=True)
    run("openssl", "req", "-x509", *ec, "-days", "2", "-subj", "/CN=ca",
        "-keyout", "ca.key", "-out", "ca.crt")
    for who in ("front", "back"):
        run("openssl", "req", *ec, "-subj", "/CN=" + who,
            "-keyout", who + ".key", "-out", who + ".csr")
        run("openssl", "x509", "-req", "-in", who + ".csr", "-CA", "ca.crt",
            "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-out", who + ".crt")
    return d


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def write_random(path, size, seed):
    """A file of `size` deterministic pseudo-random bytes."""
    h = hashlib.sha256(str(seed).encode()).digest()
    block = hashlib.shake_256(h).digest(1 << 20)
    with open(path, "wb") as f:
        left, i = size, 0
        while left > 0:
            n = min(left, len(block))
            # Vary each MiB so that no two chunks are equal.
            f.write(bytes([i & 0xFF]) + block[1:n] if n > 1 else block[:n])
            left -= n
            i += 1


def find_bins(bindir):
    """(cleo, cleo-adm) under a build's cmd/cleo dir (or next to each
    other)."""
    bindir = os.path.abspath(bindir)
    cleo = os.path.join(bindir, "cleo")
    for adm in (os.path.join(bindir, "cleo-adm"),
                os.path.join(os.path.dirname(bindir), "adm", "cleo-adm"),
                os.path.join(os.path.dirname(bindir), "cleo-adm")):
        if os.access(adm, os.X_OK):
            return cleo, adm
    return cleo, None


class Node:
    """One cleo process. start() waits until the S3 port answers HTTP;
    stop() is idempotent; restart() keeps the data dir and the ports."""

    def __init__(self, suite, name="node", sets=None, env=None):
        self.suite = suite
        self.dir = os.path.join(suite.tmp, name)
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.sets = {"heart.enabled": "false",
                     "gateway.http.port": str(self.port),
                     "admin.tcp_port": "0"}
        self.sets.update(sets or {})
        self.rest_port = int(self.sets.get("gateway.rest.port", "0"))
        self.access_key, self.secret_key = ACCESS_KEY, SECRET_KEY
        self.extra_env = env or {}
        self.proc = None
        self.logf = None
        self.log_path = os.path.join(self.dir, "node.log")
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.sock = os.path.join(self.data, "cleo.sock")
        self.back = None
        if SPLIT:
            self.split(name)

    def split(self, name):
        """Make this node a gateway-only front with a manager+storage back
        process (its own data dir) that it reaches over distribution."""
        fport, bport = free_port(), free_port()
        front, back = name + "-front@127.0.0.1", name + "-back@127.0.0.1"
        common = {"cluster.nodes": "%s:%d,%s:%d" % (front, fport, back,
                                                    bport),
                  "dist.net_ticktime": "2"}
        self.back_sets = dict(self.sets, **common)
        self.back_sets.update({"node.name": back, "dist.port": str(bport),
                               "node.roles": "manager,storage",
                               "gateway.http.port": "0",
                               "gateway.rest.port": "0"})
        if SPLIT_TLS:
            ca = split_certs(self.dir)
            for sets, who in ((self.back_sets, "back"), (common, "front")):
                sets.update({"dist.tls.cert": os.path.join(ca, who + ".crt"),
                             "dist.tls.key": os.path.join(ca, who + ".key"),
                             "dist.tls.ca": os.path.join(ca, "ca.crt")})
        self.sets.update(common)
        self.sets.update({"node.name": front, "dist.port": str(fport),
                          "node.roles": "gateway"})
        self.back_data = os.path.join(self.dir, "back")
        self.back_sock = os.path.join(self.back_data, "cleo.sock")
        self.back_port = bport
        self.extra_env.setdefault("CLEO_COOKIE", SPLIT_COOKIE)

    # ---- process ------------------------------------------------------
    def spawn(self, data, sets):
        argv = [self.suite.cleo, "--data", data]
        for k, v in sets.items():
            argv += ["--set", "%s=%s" % (k, v)]
        env = dict(os.environ)
        env.update({"CLEO_ACCESS_KEY": self.access_key,
                    "CLEO_SECRET_KEY": self.secret_key})
        env.update(self.extra_env)
        if self.logf is None:
            self.logf = open(self.log_path, "a")
        self.logf.write("=== start: %s\n" % " ".join(argv))
        self.logf.flush()
        p = subprocess.Popen(argv, stdout=self.logf,
                             stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
        self.suite.procs.append(p)
        return p

    def start_back(self, timeout=20):
        """The split back: up once its distribution port accepts."""
        self.back = self.spawn(self.back_data, self.back_sets)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.back.poll() is not None:
                raise Fail("the back node exited with %d at start; log:\n%s"
                           % (self.back.returncode, self.log_tail()))
            r = subprocess.run([self.suite.adm, "--socket", self.back_sock,
                                "status"], capture_output=True, timeout=10)
            if r.returncode == 0:  # up (and its distribution listening)
                return
            time.sleep(0.05)
        raise Fail("the back node did not listen within %d s" % timeout)

    def start(self, timeout=20):
        if SPLIT and (self.back is None or self.back.poll() is not None):
            self.start_back(timeout)
        self.proc = self.spawn(self.data, self.sets)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise Fail("cleo exited with %d at start; log:\n%s" %
                           (self.proc.returncode, self.log_tail()))
            if self.http_answers(self.port) and (
                    not self.rest_port or self.http_answers(self.rest_port)):
                if SPLIT_TLS:
                    self.check_tls()
                return self
            time.sleep(0.05)
        raise Fail("cleo did not answer HTTP on %d within %d s; log:\n%s" %
                   (self.port, timeout, self.log_tail()))

    def check_tls(self):
        """A TLS split pair really runs TLS, with verified peers."""
        r = subprocess.run([self.suite.adm, "--socket", self.sock, "--json",
                            "nodes"], capture_output=True, text=True,
                           timeout=10)
        n = json.loads(r.stdout) if r.returncode == 0 else {}
        if not (n.get("tls") is True and n.get("tls_verify") is True):
            raise Fail("the split pair is not on verified TLS: %r" % n)

    @staticmethod
    def http_answers(port):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/")
            c.getresponse().read()
            c.close()
            return True
        except (OSError, http.client.HTTPException):
            return False

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL; returns the exit code."""
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.suite.note("cleo did not stop within %d s of SIGTERM: "
                                "SIGKILL" % timeout)
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        if self.back is not None and self.back.poll() is None:
            self.back.send_signal(signal.SIGTERM)
            try:
                self.back.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.back.pid, signal.SIGKILL)
                self.back.wait()
        if self.logf:
            self.logf.close()
            self.logf = None
        return p.returncode

    def restart(self):
        rc = self.stop()
        self.start()
        return rc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pid(self):
        return self.proc.pid

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
        return int(m.group(1)) if m else 0

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except FileNotFoundError:
            return ""

    def credentials_file(self):
        d = {}
        data = self.back_data if self.back is not None else self.data
        with open(os.path.join(data, "credentials")) as f:  # the manager's
            for line in f:
                m = re.match(r"\s*(\w+)\s*=\s*(\S+)", line)
                if m:
                    d[m.group(1)] = m.group(2)
        return d

    # ---- admin --------------------------------------------------------
    def adm(self, *args, timeout=30):
        if self.suite.adm is None:
            raise Fail("cleo-adm not found next to cleo")
        env = dict(os.environ)
        env.pop("CLEO_SOCKET", None)
        sock = self.sock
        cmd = [a for a in args if not a.startswith("-")]
        if self.back is not None and cmd and cmd[0] in MANAGER_CMDS:
            sock = self.back_sock  # the manager runs on the back
        return subprocess.run([self.suite.adm, "--socket", sock] +
                              list(args), capture_output=True, text=True,
                              timeout=timeout, env=env)

    def counters(self):
        """The node's counters from `cleo-adm --json stats` ({} when it
        has none)."""
        import json
        r = self.adm("--json", "stats")
        if r.returncode != 0:
            raise Fail("cleo-adm stats: %s" % r.stderr.strip())
        return json.loads(r.stdout).get("counters") or {}

    def create_user(self, name):
        """(access key, secret key) of a new user made with cleo-adm."""
        r = self.adm("user", "create", name)
        a = re.search(r"access_key\s*=\s*(\S+)", r.stdout)
        s = re.search(r"secret_key\s*=\s*(\S+)", r.stdout)
        if r.returncode != 0 or not a or not s:
            raise Fail("cleo-adm user create %s: rc %d %s %s" %
                       (name, r.returncode, r.stdout, r.stderr))
        return a.group(1), s.group(1)

    # ---- clients ------------------------------------------------------
    def boto3(self, access_key=None, secret_key=None, addressing="path",
              **cfg):
        import boto3
        from botocore.config import Config
        cfg.setdefault("signature_version", "s3v4")
        cfg.setdefault("read_timeout", 10)
        cfg.setdefault("retries", {"total_max_attempts": 1})
        conf = Config(s3={"addressing_style": addressing}, connect_timeout=5,
                      **cfg)
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            config=conf)

    def aws_env(self):
        """Environment for aws-cli: config files in the node's dir, HOME
        there too so nothing lands in ~."""
        home = os.path.join(self.dir, "home")
        os.makedirs(home, exist_ok=True)
        cfg = os.path.join(home, "aws-config")
        cred = os.path.join(home, "aws-credentials")
        with open(cfg, "w") as f:
            f.write("[default]\nregion = %s\n"
                    "s3 =\n    addressing_style = path\n" % REGION)
        with open(cred, "w") as f:
            f.write("[default]\naws_access_key_id = %s\n"
                    "aws_secret_access_key = %s\n" %
                    (self.access_key, self.secret_key))
        env = clean_env(home)
        env.update({"AWS_CONFIG_FILE": cfg,
                    "AWS_SHARED_CREDENTIALS_FILE": cred,
                    "AWS_DEFAULT_REGION": REGION,
                    "AWS_EC2_METADATA_DISABLED": "true",
                    "AWS_PAGER": "", "AWS_RETRY_MODE": "standard",
                    "AWS_MAX_ATTEMPTS": "1"})
        return env

    def s3cmd_config(self, sigv2=False):
        """Path of an s3cmd config for this node."""
        home = os.path.join(self.dir, "home")
        os.makedirs(home, exist_ok=True)
        path = os.path.join(home, "s3cfg-v%d" % (2 if sigv2 else 4))
        hp = "127.0.0.1:%d" % self.port
        with open(path, "w") as f:
            f.write("[default]\naccess_key = %s\nsecret_key = %s\n"
                    "host_base = %s\nhost_bucket = %s\nuse_https = False\n"
                    "signature_v2 = %s\nbucket_location = %s\n"
                    "check_ssl_certificate = False\nguess_mime_type = True\n"
                    "multipart_chunk_size_mb = 15\nsocket_timeout = 60\n"
                    "max_retries = 1\nprogress_meter = False\n" %
                    (self.access_key, self.secret_key, hp, hp,
                     "True" if sigv2 else "False", REGION))
        return path

    def rclone_env(self, remote="cleo"):
        """Environment for rclone with remote `remote:` in a config file
        written to the node's dir."""
        home = os.path.join(self.dir, "home")
        os.makedirs(home, exist_ok=True)
        path = os.path.join(home, "rclone.conf")
        with open(path, "w") as f:
            f.write("[%s]\ntype = s3\nprovider = Other\nenv_auth = false\n"
                    "access_key_id = %s\nsecret_access_key = %s\n"
                    "region = %s\nendpoint = %s\nforce_path_style = true\n"
                    "acl = private\n" %
                    (remote, self.access_key, self.secret_key, REGION,
                     self.endpoint))
        env = clean_env(home)
        env["RCLONE_CONFIG"] = path
        env["XDG_CACHE_HOME"] = os.path.join(home, ".cache")
        return env

    def raw(self, timeout=10):
        """A plain socket to the S3 port."""
        return socket.create_connection(("127.0.0.1", self.port),
                                        timeout=timeout)


def clean_env(home):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "RCLONE_", "S3CMD"))}
    env["HOME"] = home
    return env


class Suite:
    """A test run: temp dir, processes, checks; `with` cleans up and
    exits 0 or 1."""

    def __init__(self, name, argv=None):
        ap = argparse.ArgumentParser(description=name)
        ap.add_argument("--bin", default=os.environ.get("CLEO_BIN"),
                        help="directory holding cleo (build/.../cmd/cleo)")
        ap.add_argument("--keep", action="store_true",
                        help="keep the temp dir")
        ap.add_argument("cases", nargs="*")
        self.args = ap.parse_args(argv)
        if not self.args.bin:
            sys.exit("%s: --bin DIR or CLEO_BIN is required" % name)
        self.cleo, self.adm = find_bins(self.args.bin)
        if not os.access(self.cleo, os.X_OK):
            sys.exit("%s: no cleo at %s" % (name, self.cleo))
        self.name = name
        self.failed = []
        self.procs = []
        self.nodes = []
        self.tmp = None
        self.t0 = time.monotonic()

    def __enter__(self):
        self.tmp = tempfile.mkdtemp(prefix="cleo-%s-" % self.name)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, lambda n, f: sys.exit(128 + n))
        return self

    def __exit__(self, et, ev, tb):
        # Stop every process first: printing may fail (a closed pipe) and
        # must not leave a node running.
        self.stop_all()
        try:
            return self.report(et, ev, tb)
        except OSError:  # stdout is gone: clean up quietly
            shutil.rmtree(self.tmp, ignore_errors=True)
            sys.exit(1 if self.failed or et not in (None, SystemExit)
                     else 0)

    def stop_all(self):
        for n in self.nodes:
            try:
                n.stop(timeout=10)
            except Exception:  # keep stopping the others
                pass
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()

    def report(self, et, ev, tb):
        if et is not None and et is not SystemExit:
            self.failed.append("exception: %s" % ev)
            traceback.print_exception(et, ev, tb)
        if self.failed:
            for n in self.nodes:
                print("--- %s log (tail) ---\n%s" % (n.dir, n.log_tail()))
        if not self.args.keep or not self.failed:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print("kept %s" % self.tmp)
        took = time.monotonic() - self.t0
        if self.failed:
            print("%s: %d FAILED in %.1f s:" % (self.name, len(self.failed),
                                               took))
            for f in self.failed:
                print("  - " + f)
            sys.exit(1)
        if et is SystemExit:
            return False
        print("%s: all passed in %.1f s" % (self.name, took))
        sys.exit(0)

    def node(self, name="node", sets=None, env=None, start=True):
        n = Node(self, name, sets, env)
        self.nodes.append(n)
        return n.start() if start else n

    def check(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            self.failed.append(what)
        return bool(cond)

    def note(self, what):
        print("note " + what, flush=True)

    def case(self, name, fn, *a):
        """Run one section; an exception fails it without stopping the
        others."""
        if self.args.cases and name not in self.args.cases:
            return
        print("== %s" % name, flush=True)
        t = time.monotonic()
        try:
            fn(*a)
        except Exception as e:  # report and go on with the next section
            traceback.print_exc()
            self.failed.append("%s: %s: %s" % (name, type(e).__name__, e))
        print("== %s done in %.1f s" % (name, time.monotonic() - t),
              flush=True)

    def run(self, argv, env=None, timeout=120, input=None, cwd=None):
        """Run a client command; returns CompletedProcess (text)."""
        t = time.monotonic()
        r = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=timeout, input=input, cwd=cwd)
        short = " ".join(argv)
        if len(short) > 160:
            short = short[:157] + "..."
        print("  $ %s -> %d (%.1f s)" % (short, r.returncode,
                                          time.monotonic() - t), flush=True)
        if r.returncode != 0:
            print("    stdout: %s\n    stderr: %s" %
                  (r.stdout[-2000:], r.stderr[-2000:]), flush=True)
        return r

    def ok(self, argv, what, **kw):
        r = self.run(argv, **kw)
        self.check(r.returncode == 0, what)
        return r


# ---- boto3 helpers ----------------------------------------------------

def err_code(fn, *a, **kw):
    """Call a boto3 method expecting an error: (status, code), or
    (status, None) when it succeeded, or (None, "<exception>") when no
    answer came. After an error the client's connections are dropped, so
    that each check stands alone: an error answered before the request
    body was read leaves a keep-alive connection in a state the next
    request must not inherit (the "conn" group of test_s3_boto3.py tests
    connection reuse on purpose)."""
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        r = fn(*a, **kw)
        return r["ResponseMetadata"]["HTTPStatusCode"], None
    except ClientError as e:
        drop_connections(fn)
        return (e.response["ResponseMetadata"].get("HTTPStatusCode"),
                e.response["Error"].get("Code"))
    except BotoCoreError as e:  # no answer: timeout, reset
        drop_connections(fn)
        return None, "%s: %s" % (type(e).__name__, e)


def drop_connections(method):
    """Close the pooled connections of the client a bound method belongs
    to (botocore opens new ones on the next call)."""
    client = getattr(method, "__self__", None)
    session = getattr(getattr(client, "_endpoint", None), "http_session",
                      None)
    if session is not None:
        session.close()


def raw_request(port, data, timeout=10, read_all=False):
    """Send raw bytes; return (status, headers dict lower-case, body,
    closed) where closed says the server closed after the answer. A node
    may answer before the whole request is sent and close: the answer is
    still read. If the close reset the connection before any answer could
    be read, status is None and body is b"<reset>"."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (ConnectionResetError, BrokenPipeError):
            pass  # answered early and closed: read what came
        try:
            return read_response(s, read_all=read_all)
        except ConnectionResetError:
            return None, {}, b"<reset>", True
    finally:
        s.close()


def read_response(s, read_all=True):
    """Read one HTTP response from socket s."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            b = b""
        if not b:
            if not buf:
                return None, {}, b"", True
            break
        buf += b
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    status = int(m.group(1)) if m else None
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0") or 0)
    while len(body) < n:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        body += b
    closed = False
    if read_all:
        s.settimeout(3.0)  # a close comes at once; a busy machine is slow
        try:
            more = s.recv(1)
            closed = more == b""
        except socket.timeout:
            closed = False
        except ConnectionResetError:
            closed = True
    return status, hdrs, body, closed


def one_answer(port, data, timeout=5):
    """Send raw bytes and read until the node closes (or `timeout`):
    (status of the first response, how many responses came, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got, closed = b"", False
    try:
        s.sendall(data)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            got += b
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    except socket.timeout:
        pass
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
    # Anywhere: a second answer may follow a body with no line break.
    n = len(re.findall(rb"HTTP/1\.[01] \d{3} ", got))
    return (int(m.group(1)) if m else None), n, closed


def xml_code(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body or b"")
    return m.group(1).decode() if m else None


# ---- signing raw requests ---------------------------------------------

class skewed_clock:
    """Within the block, botocore signs with a clock `seconds` off."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        import datetime as real
        import types
        import botocore.auth
        off = real.timedelta(seconds=self.seconds)

        class DT(real.datetime):
            @classmethod
            def utcnow(cls):
                return real.datetime.utcnow() + off

        fake = types.SimpleNamespace(datetime=DT, timedelta=real.timedelta,
                                     timezone=real.timezone)
        # botocore signs in botocore.auth, or in botocore.crt.auth when
        # awscrt is installed (Debian's awscli pulls it in).
        self.mods = [botocore.auth]
        try:
            import botocore.crt.auth
            self.mods.append(botocore.crt.auth)
        except ImportError:
            pass
        self.saved = [m.datetime for m in self.mods]
        for m in self.mods:
            m.datetime = fake
        return self

    def __exit__(self, *exc):
        for m, d in zip(self.mods, self.saved):
            m.datetime = d
        return False


def sign(node, method, target, headers=None, payload="UNSIGNED-PAYLOAD",
         access_key=None, secret_key=None, host=None):
    """Headers (with Authorization) for a SigV4-signed request of `target`
    (path and query, sent as is: no normalisation) to node. The payload
    hash is `payload` (a hex digest or UNSIGNED-PAYLOAD); headers passed in
    are signed, so add Content-Length / Transfer-Encoding afterwards."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    class RawAuth(SigV4Auth):
        def _normalize_url_path(self, path):
            return path

    h = dict(headers or {})
    h["X-Amz-Content-SHA256"] = payload
    if host:
        h["Host"] = host
    req = AWSRequest(method=method, url=node.endpoint + target, headers=h)
    RawAuth(Credentials(access_key or node.access_key,
                        secret_key or node.secret_key), "s3",
            REGION).add_auth(req)
    out = dict(req.headers.items())
    out.setdefault("Host", host or "127.0.0.1:%d" % node.port)
    return out


def raw_bytes(method, target, headers, body=b""):
    """An HTTP/1.1 request as bytes, headers in the given order."""
    lines = ["%s %s HTTP/1.1" % (method, target)]
    lines += ["%s: %s" % (k, v) for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def signed_raw(node, method, target, headers=None, body=b"", extra=None,
               payload=None, **kw):
    """Bytes of a signed request; `extra` headers (Content-Length etc.) are
    added unsigned after signing. Content-Length defaults to len(body)
    unless extra sets framing itself."""
    if payload is None:
        payload = hashlib.sha256(body).hexdigest()
    h = sign(node, method, target, headers, payload, **kw)
    extra = dict(extra or {})
    lower = {k.lower() for k in extra}
    if "content-length" not in lower and "transfer-encoding" not in lower:
        extra["Content-Length"] = str(len(body))
    h.update(extra)
    return raw_bytes(method, target, h, body)


# ---- local trees ------------------------------------------------------

def make_tree(root, ndirs, nfiles, seed, big=0):
    """ndirs directories (some nested) holding nfiles small files in all,
    plus one file of `big` bytes when big > 0. Returns the relative
    paths."""
    import random
    rnd = random.Random(seed)
    dirs = ["d%d" % i if i % 2 == 0 else "d%d/sub%d" % (i - 1, i)
            for i in range(ndirs)]
    paths = []
    for i in range(nfiles):
        rel = os.path.join(dirs[i % ndirs], "f%04d.txt" % i)
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(rnd.randbytes(rnd.randint(0, 3000)))
        paths.append(rel)
    if big:
        rel = os.path.join(dirs[0], "big.bin")
        write_random(os.path.join(root, rel), big, seed)
        paths.append(rel)
    return sorted(paths)


def tree_digest(root):
    """{relative path: sha256} of every file under root."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = sha256_file(p)
    return out


# ---- SigV4 streaming (aws-chunked) ------------------------------------

def _hmac(key, msg):
    import hmac
    return hmac.new(key, msg.encode() if isinstance(msg, str) else msg,
                    hashlib.sha256).digest()


def aws_chunked(node, target, data, chunk=65536, headers=None,
                tamper=None, decoded_len=None):
    """Bytes of a PUT whose body is STREAMING-AWS4-HMAC-SHA256-PAYLOAD
    (aws-chunked, each chunk signed in a chain from the seed signature).
    tamper: None, "sig" (one chunk signature altered), "data" (one byte of
    chunk data altered after signing) or "drop-final" (no 0-size chunk)."""
    import re as _re
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    sizes = [len(p) for p in pieces]
    enc_len = sum(len("%x;chunk-signature=" % n) + 64 + 4 + n
                  for n in sizes)
    h = dict(headers or {})
    h.update({"Content-Encoding": "aws-chunked",
              "x-amz-decoded-content-length":
                  str(len(data) if decoded_len is None else decoded_len)})
    signed = sign(node, "PUT", target, h,
                  payload="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    auth = signed["Authorization"]
    seed = _re.search(r"Signature=([0-9a-f]{64})", auth).group(1)
    scope = _re.search(r"Credential=[^/]+/([^,]+)", auth).group(1)
    amz_date = signed["X-Amz-Date"]
    day = scope.split("/")[0]
    k = _hmac(("AWS4" + node.secret_key).encode(), day)
    k = _hmac(_hmac(_hmac(k, REGION), "s3"), "aws4_request")
    empty = hashlib.sha256(b"").hexdigest()
    prev, body = seed, b""
    if tamper == "drop-final":
        pieces = pieces[:-1]
    for i, p in enumerate(pieces):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev,
                         empty, hashlib.sha256(p).hexdigest()])
        sig = _hmac(k, sts).hex()
        prev = sig
        if tamper == "sig" and i == 1:
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        if tamper == "data" and i == 1 and p:
            p = bytes([p[0] ^ 1]) + p[1:]
        body += b"%x;chunk-signature=%s\r\n" % (len(p), sig.encode()) + p + \
            b"\r\n"
    signed["Content-Length"] = str(enc_len if tamper != "drop-final"
                                   else len(body))
    return raw_bytes("PUT", target, signed, body)
