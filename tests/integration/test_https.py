#!/usr/bin/python3
"""test_https.py - the S3 API over TLS (gateway.https.*) on a real node.

Generates a self-signed certificate into a temp dir, starts `cleo` with
both the HTTP and the HTTPS listener, then: boto3 over https (the
certificate as CA bundle) creates a bucket, puts 5 MiB and a multipart
object, gets them back byte for byte and lists them; `curl -k` HEAD
signed with --aws-sigv4; a plain HTTP request on the HTTPS port gets a
400 and a close, garbage and a TLS 1.1 client are refused, a TLS 1.2
renegotiation is refused, and the node keeps serving both ports. SIGTERM
stops it with exit 0 and no sanitizer report in its output (run it with
an ASan build's cleo to check for leaks). Last, a missing certificate and
a key that is not a key each make the node fail to start with one line on
stderr and the reason, naming the file, in its log.

Run with Debian's /usr/bin/python3 (python3-boto3).
"""
import argparse
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodeutil  # noqa: E402
from nodeutil import FAILED, check, free_port  # noqa: E402

ACCESS_KEY = "CLEOTESTADMIN0000001"
SECRET_KEY = "cleo/test/admin/secret/key/0123456789abc"


def node_env():
    env = dict(os.environ)
    env.update({"CLEO_ACCESS_KEY": ACCESS_KEY, "CLEO_SECRET_KEY": SECRET_KEY})
    return env


def make_cert(tmp, name):
    cert = os.path.join(tmp, name + ".crt")
    key = os.path.join(tmp, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Node(nodeutil.Node):
    """A cleo process with both listeners; stop() is idempotent and
    returns the exit code."""

    def __init__(self, cleo, tmp, cert, key):
        self.http = free_port()
        self.https = free_port()
        data = os.path.join(tmp, "data")
        argv = [cleo, "--data", data,
                "--set", "heart.enabled=false",
                "--set", "gateway.http.port=%d" % self.http,
                "--set", "gateway.https.port=%d" % self.https,
                "--set", "gateway.https.cert=" + cert,
                "--set", "gateway.https.key=" + key]
        super().__init__(argv, data, os.path.join(tmp, "node.out"),
                         env=node_env(), stop_timeout=30, new_session=True)

    def wait_up(self, ctx, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.https),
                                              timeout=2) as s:
                    with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                        return True
            except OSError:
                time.sleep(0.1)
        return False


def client(node, cert):
    import boto3
    from botocore.config import Config
    cfg = Config(s3={"addressing_style": "path"},
                 retries={"max_attempts": 1}, connect_timeout=10,
                 read_timeout=60)
    return boto3.client("s3", endpoint_url="https://127.0.0.1:%d" % node.https,
                        aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY,
                        region_name="us-east-1", verify=cert, config=cfg)


def test_s3(node, cert, tmp):
    from boto3.s3.transfer import TransferConfig
    s3 = client(node, cert)
    s3.create_bucket(Bucket="tls")
    body = os.urandom(5 << 20)
    s3.put_object(Bucket="tls", Key="five", Body=body)
    got = s3.get_object(Bucket="tls", Key="five")["Body"].read()
    check(got == body, "GET over https returns the 5 MiB PUT byte for byte")
    r = s3.get_object(Bucket="tls", Key="five", Range="bytes=100-199")
    check(r["Body"].read() == body[100:200], "ranged GET over https")
    # Multipart, four parts in parallel: several TLS connections at once.
    big = os.path.join(tmp, "big")
    with open(big, "wb") as f:
        f.write(os.urandom(20 << 20))
    tc = TransferConfig(multipart_threshold=5 << 20,
                        multipart_chunksize=5 << 20, max_concurrency=4)
    s3.upload_file(big, "tls", "multi", Config=tc)
    back = os.path.join(tmp, "big.back")
    s3.download_file("tls", "multi", back, Config=tc)
    with open(big, "rb") as a, open(back, "rb") as b:
        check(hashlib.sha256(a.read()).digest() ==
              hashlib.sha256(b.read()).digest(),
              "20 MiB multipart upload + parallel ranged download over https")
    keys = [o["Key"] for o in
            s3.list_objects_v2(Bucket="tls").get("Contents", [])]
    check(keys == ["five", "multi"], "list over https: %r" % keys)
    return s3


def test_curl(node):
    url = "https://127.0.0.1:%d/tls/five" % node.https
    p = subprocess.run(["curl", "-sk", "-I", "--max-time", "10",
                        "--aws-sigv4", "aws:amz:us-east-1:s3",
                        "--user", "%s:%s" % (ACCESS_KEY, SECRET_KEY), url],
                       capture_output=True, text=True, timeout=30)
    head = p.stdout.replace("\r", "")
    check(p.returncode == 0 and head.startswith("HTTP/1.1 200") and
          "Content-Length: 5242880" in head,
          "curl -k -I (sigv4) over https: %r" % head.split("\n")[0])


def raw_exchange(port, data, timeout=10):
    """Send data, read until the server closes; (bytes, closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        got = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    return got, True
                got += b
        except ConnectionResetError:
            return got, True
        except socket.timeout:
            return got, False


def test_refusals(node, s3):
    got, closed = raw_exchange(node.https, b"GET / HTTP/1.1\r\n"
                               b"Host: 127.0.0.1\r\n\r\n")
    check(got.startswith(b"HTTP/1.1 400 ") and b"HTTPS" in got and closed,
          "plain HTTP on the https port: 400 and close (%r)" % got[:40])
    got, closed = raw_exchange(node.https, os.urandom(4096))
    check(closed, "garbage on the https port: closed")
    p = subprocess.run(["openssl", "s_client", "-connect",
                        "127.0.0.1:%d" % node.https, "-tls1_1",
                        "-cipher", "DEFAULT@SECLEVEL=0"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    check(p.returncode != 0 and "protocol version" in p.stdout + p.stderr,
          "a TLS 1.1 client is refused")
    # s_client's "R" line asks for a renegotiation: refused by the server.
    p = subprocess.Popen(["openssl", "s_client", "-connect",
                          "127.0.0.1:%d" % node.https, "-tls1_2"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    time.sleep(1)
    try:
        out, _ = p.communicate("R\n", timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    check("no renegotiation" in out, "TLS 1.2 renegotiation is refused")
    # A handshake cut short.
    with socket.create_connection(("127.0.0.1", node.https), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    r = s3.list_buckets()
    check([b["Name"] for b in r["Buckets"]] == ["tls"],
          "the https listener still serves after the refusals")
    got, _ = raw_exchange(node.http, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Connection: close\r\n\r\n")
    check(got.startswith(b"HTTP/1.1 "), "the http listener still serves")


def test_bad_cert(cleo, tmp, key):
    cases = [("missing certificate", os.path.join(tmp, "nope.crt"), key,
              "certificate " + os.path.join(tmp, "nope.crt")),
             ("certificate as key", key, key, "certificate " + key)]
    for what, c, k, want in cases:
        data = tempfile.mkdtemp(prefix="bad-", dir=tmp)
        argv = [cleo, "--data", data, "--set", "heart.enabled=false",
                "--set", "gateway.http.port=%d" % free_port(),
                "--set", "gateway.https.port=%d" % free_port(),
                "--set", "gateway.https.cert=" + c,
                "--set", "gateway.https.key=" + k]
        p = subprocess.run(argv, capture_output=True, text=True,
                           env=node_env(), timeout=60)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        log = ""
        if os.path.exists(os.path.join(data, "cleo.log")):
            with open(os.path.join(data, "cleo.log")) as f:
                log = f.read()
        check(p.returncode != 0 and len(lines) == 1,
              "%s: exit %d, one line on stderr: %r" %
              (what, p.returncode, p.stderr.strip()))
        check("gateway: https: " + want in log,
              "%s: the log names the file" % what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cleo", required=True)
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()
    try:
        import boto3  # noqa: F401
    except ImportError:
        print("SKIP: no boto3 (apt-get install python3-boto3)")
        return 77
    tmp = tempfile.mkdtemp(prefix="cleo-https-it-")
    node = None
    try:
        cert, key = make_cert(tmp, "node")
        node = Node(opts.cleo, tmp, cert, key)
        ctx = ssl.create_default_context(cafile=cert)
        if not check(node.wait_up(ctx), "node serves https"):
            print(node.output())
            return 1
        s3 = test_s3(node, cert, tmp)
        test_curl(node)
        test_refusals(node, s3)
        # Shutdown with a handshake half done and an idle keep-alive
        # connection (boto3's pool): their SSLs must be freed too.
        half = socket.create_connection(("127.0.0.1", node.https))
        half.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        rc = node.stop()
        half.close()
        out = node.output()
        check(rc == 0, "SIGTERM: exit 0 (got %s)" % rc)
        check("Sanitizer" not in out and "runtime error" not in out,
              "no sanitizer report at shutdown")
        if FAILED:
            print(out[-4000:])
        test_bad_cert(opts.cleo, tmp, key)
    finally:
        if node is not None:
            node.stop()
        if not opts.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if FAILED:
        print("%d check(s) failed" % len(FAILED))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
