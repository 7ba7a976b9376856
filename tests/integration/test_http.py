#!/usr/bin/python3
"""HTTP/1.1 behaviour of the S3 gateway on raw sockets against a real node:
pipelining, keep-alive, Expect: 100-continue, chunked request bodies, an
early error answer followed by the next request on the same connection.

Requests are signed with botocore's SigV4 signer and sent byte for byte,
so what the gateway sees is exactly what is asserted on.

usage: test_http.py --cleo PATH
"""
import argparse
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from botocore.auth import HmacV1Auth, S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import free_port  # noqa: E402

AK = "HTTPTESTKEY000000001"
SK = "httptestsecrethttptestsecrethttptest1234"
CREDS = Credentials(AK, SK)


class Node:
    def __init__(self, cleo, extra=()):
        self.dir = tempfile.mkdtemp(prefix="cleo-http-")
        self.port = free_port()
        env = dict(os.environ, CLEO_ACCESS_KEY=AK, CLEO_SECRET_KEY=SK)
        self.proc = subprocess.Popen(
            [cleo, "--data", self.dir, "--set", "heart.enabled=false",
             "--set", "gateway.http.port=%d" % self.port,
             "--set", "admin.tcp_port=0",
             "--set", "gateway.header_timeout_ms=1500",
             "--set", "gateway.idle_timeout_ms=3000"] + list(extra),
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("node did not listen")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def signed(port, method, path, body=b"", headers=None, payload_hash=None):
    """The bytes of a SigV4-signed request (Content-Length unless the
    caller's headers frame the body otherwise)."""
    url = "http://127.0.0.1:%d%s" % (port, path)
    h = dict(headers or {})
    h["x-amz-content-sha256"] = payload_hash or hashlib.sha256(body).hexdigest()
    req = AWSRequest(method=method, url=url, data=body, headers=h)
    SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
    p = req.prepare()
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1:%d" % port]
    framed = any(k.lower() in ("transfer-encoding", "content-length")
                 for k in h)
    for k, v in p.headers.items():
        if k.lower() in ("host", "content-length"):
            continue
        lines.append("%s: %s" % (k, v))
    if not framed:
        lines.append("Content-Length: %d" % len(body))
    elif "Content-Length" in h:
        lines.append("Content-Length: %s" % h["Content-Length"])
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Reader:
    """Responses off one socket, in order."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def response(self, head_only=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for ln in lines[1:]:
            k, v = ln.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        if status in (100, 204, 304) or head_only:
            n = 0
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, hdrs, body

    def closed(self, timeout=5):
        self.s.settimeout(timeout)
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True


def conn(port):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(10)
    return s, Reader(s)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok -", what)


def test_keepalive_and_pipelining(port):
    s, r = conn(port)
    s.sendall(signed(port, "PUT", "/httpb"))
    check(r.response()[0] == 200, "create bucket")
    for i in range(3):
        body = ("object %d" % i).encode() * 100
        s.sendall(signed(port, "PUT", "/httpb/k%d" % i, body) + body)
        st, h, _ = r.response()
        check(st == 200 and h["etag"].strip('"') == hashlib.md5(body).hexdigest(),
              "keep-alive put %d" % i)
    # three GETs in one write: three answers, in order
    s.sendall(b"".join(signed(port, "GET", "/httpb/k%d" % i) for i in range(3)))
    for i in range(3):
        st, _, body = r.response()
        check(st == 200 and body == ("object %d" % i).encode() * 100,
              "pipelined get %d in order" % i)
    # 200 requests on the same connection
    for i in range(200):
        s.sendall(signed(port, "HEAD", "/httpb/k1"))
        st, h, _ = r.response(head_only=True)
        assert st == 200 and h["content-length"] == "800", (st, h)
    check(True, "200 requests on one connection")
    s.close()


def test_expect_continue(port):
    s, r = conn(port)
    body = os.urandom(300000)
    s.sendall(signed(port, "PUT", "/httpb/cont", body,
                     {"Expect": "100-continue"}))
    st, _, _ = r.response()
    check(st == 100, "100 Continue before the body")
    s.sendall(body)
    st, h, _ = r.response()
    check(st == 200 and h["etag"].strip('"') == hashlib.md5(body).hexdigest(),
          "body after 100 Continue stored")
    s.close()
    # A refused request gets its error, no 100, and the connection closes:
    # the client never sends the body.
    s, r = conn(port)
    req = signed(port, "PUT", "/httpb/nope", body, {"Expect": "100-continue"})
    i = req.index(b"Signature=") + len(b"Signature=")
    req = req[:i] + (b"1" if req[i:i + 1] == b"0" else b"0") + req[i + 1:]
    s.sendall(req)
    st, _, b = r.response()
    check(st == 403 and b"SignatureDoesNotMatch" in b, "bad signature: 403, no 100")
    check(r.closed(), "connection closed after an error before the body")
    s.close()


def test_chunked_request_body(port):
    s, r = conn(port)
    body = b"".join(os.urandom(1000) for _ in range(70))
    chunks = b""
    for i in range(0, len(body), 7000):
        part = body[i:i + 7000]
        chunks += b"%x\r\n" % len(part) + part + b"\r\n"
    chunks += b"0\r\n\r\n"
    s.sendall(signed(port, "PUT", "/httpb/chunked", body,
                     {"Transfer-Encoding": "chunked"},
                     payload_hash="UNSIGNED-PAYLOAD") + chunks)
    st, h, _ = r.response()
    check(st == 200 and h["etag"].strip('"') == hashlib.md5(body).hexdigest(),
          "chunked transfer-encoding body stored")
    s.sendall(signed(port, "GET", "/httpb/chunked"))
    st, _, got = r.response()
    check(st == 200 and got == body, "chunked body read back")
    s.close()


def test_error_then_next_request(port):
    """A small body answered early is read and dropped; the connection
    carries the next request."""
    s, r = conn(port)
    body = b"x" * 5000
    s.sendall(signed(port, "PUT", "/nosuchbucket0/k", body) + body)
    st, _, b = r.response()
    check(st == 404 and b"NoSuchBucket" in b, "put to a missing bucket: 404")
    s.sendall(signed(port, "GET", "/httpb/k0"))
    st, _, _ = r.response()
    check(st == 200, "the same connection serves the next request")
    s.close()


def test_short_body_then_disconnect(port):
    s, r = conn(port)
    body = os.urandom(2 << 20)
    s.sendall(signed(port, "PUT", "/httpb/short", body) + body[:1 << 20])
    s.close()
    time.sleep(0.5)
    s, r = conn(port)
    s.sendall(signed(port, "HEAD", "/httpb/short"))
    check(r.response(head_only=True)[0] == 404, "a body cut short stores nothing")
    s.close()


def test_slow_head_times_out(port):
    """Slowloris: a head trickling in is cut off at header_timeout_ms."""
    s, r = conn(port)
    s.sendall(b"GET /httpb/k0 HTTP/1.1\r\nHo")
    t0 = time.time()
    st = None
    try:
        for _ in range(40):
            time.sleep(0.2)
            s.sendall(b"x")
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        st, _, b = r.response()
    except (EOFError, ConnectionResetError):
        b = b""
    took = time.time() - t0
    check(st in (400, None) and (st is None or b"RequestTimeout" in b),
          "a trickling head gets 400 RequestTimeout (%s)" % st)
    check(1.2 < took < 6, "cut off after the header timeout (%.1fs)" % took)
    check(r.closed(), "and closed")
    s.close()


def test_idle_connection_closes(port):
    s, r = conn(port)
    t0 = time.time()
    check(r.closed(timeout=10), "an idle keep-alive connection is closed")
    check(2.5 < time.time() - t0 < 8, "after the idle timeout")
    s.close()


def test_connection_limit(cleo):
    """Past gateway.max_connections a client gets 503 SlowDown and a close;
    the connections already open keep working."""
    node = Node(cleo, ["--set", "gateway.max_connections=2"])
    try:
        socks = [conn(node.port) for _ in range(8)]
        refused = 0
        for s, r in socks:
            s.settimeout(1)
            try:
                st, _, b = r.response()
                assert st == 503 and b"SlowDown" in b, (st, b)
                refused += 1
            except (socket.timeout, TimeoutError):
                pass  # admitted: it waits for a request
        check(refused >= 6, "connections past the limit get 503 SlowDown "
              "(%d of 8)" % refused)
        for s, _ in socks:
            s.close()
    finally:
        node.stop()


def vhost_request(port, method, bucket, path, body=b"", v2=False):
    """A virtual-host-style request (Host: <bucket>.s3.localhost) signed
    as S3 clients sign it: SigV4 over the path, SigV2 over /bucket/path."""
    url = "http://%s.s3.localhost:%d%s" % (bucket, port, path)
    h = {} if v2 else {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    req = AWSRequest(method=method, url=url, data=body, headers=h)
    if v2:
        req.auth_path = "/" + bucket + path
        HmacV1Auth(CREDS).add_auth(req)
    else:
        S3SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
    lines = ["%s %s HTTP/1.1" % (method, path),
             "Host: %s.s3.localhost:%d" % (bucket, port),
             "Content-Length: %d" % len(body)]
    for k, v in req.prepare().headers.items():
        if k.lower() not in ("host", "content-length"):
            lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_virtual_host_style(port):
    for v2 in (False, True):
        b = "vhost-v2" if v2 else "vhost-v4"
        s, r = conn(port)
        s.sendall(vhost_request(port, "PUT", b, "/", v2=v2))
        check(r.response()[0] == 200, "virtual-host create bucket (%s)"
              % ("SigV2" if v2 else "SigV4"))
        s.sendall(vhost_request(port, "PUT", b, "/a/b%20c.txt", b"hello", v2))
        check(r.response()[0] == 200, "virtual-host put, key with a space")
        s.sendall(vhost_request(port, "GET", b, "/a/b%20c.txt", v2=v2))
        st, _, body = r.response()
        check(st == 200 and body == b"hello", "virtual-host get")
        s.close()


def test_review_regressions(port):
    """Inputs a review found harmful (each once crashed, corrupted memory
    or grew the node without bound); the node must answer and live on."""
    s, r = conn(port)
    tok = "=" * 8  # decoded to a negative length: wrote before a buffer
    s.sendall(signed(port, "GET", "/httpb?list-type=2&continuation-token="
                     + "%3D" * 8))
    st, _, b = r.response()
    check(st == 400 and b"InvalidArgument" in b,
          "a continuation token of only padding: 400 (%s)" % tok)
    s.sendall(signed(port, "GET", "/httpb/k0?response-content-type="
                     "text%2Fplain%0D%0AX-Injected%3A%20yes"))
    st, h, _ = r.response()
    check(st == 400 and "x-injected" not in h,
          "CR LF in a response-* override: 400, no injected header")
    s.close()
    s, r = conn(port)
    s.sendall(signed(port, "POST", "/httpb/k0?uploadId=abc", b"",
                     {"Content-Length": "1000000000000000"},
                     payload_hash="UNSIGNED-PAYLOAD"))
    st, h, b = r.response()
    check(st == 400 and b"MaxMessageLengthExceeded" in b and
          h.get("connection") == "close",
          "a Complete body of 10^15 bytes is refused before it is read")
    s.close()
    # A client that resets its connection while storage works on its PUT
    # (the answer's write fails: the request was used after it was freed).
    for i in range(20):
        s, r = conn(port)
        body = b"y" * (1 << 20)
        s.sendall(signed(port, "PUT", "/httpb/rst%d" % i, body) + body)
        time.sleep(0.002 * (i % 5))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
    # Tiny reads while a large answer waits unread: the input ring must
    # stop reading, not overflow and drop the connection.
    big = os.urandom(12 << 20)
    s, r = conn(port)
    s.sendall(signed(port, "PUT", "/httpb/big12", big) + big)
    check(r.response()[0] == 200, "a 12 MiB object")
    s.sendall(signed(port, "GET", "/httpb/big12"))
    time.sleep(0.3)  # the answer is now stuck behind a client not reading
    nxt = signed(port, "HEAD", "/httpb/big12")
    for ch in nxt:
        s.send(bytes([ch]))
        time.sleep(0.001)
    st, _, got = r.response()
    st2, _, _ = r.response(head_only=True)
    check(st == 200 and got == big and st2 == 200,
          "tiny writes behind an unread answer: both answered in full")
    s.close()
    s, r = conn(port)
    s.sendall(signed(port, "HEAD", "/httpb/k0"))
    check(r.response(head_only=True)[0] == 200, "the node still serves")
    s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cleo", required=True)
    a = ap.parse_args()
    node = Node(a.cleo)
    try:
        test_keepalive_and_pipelining(node.port)
        test_expect_continue(node.port)
        test_chunked_request_body(node.port)
        test_error_then_next_request(node.port)
        test_short_body_then_disconnect(node.port)
        test_virtual_host_style(node.port)
        test_review_regressions(node.port)
        test_slow_head_times_out(node.port)
        test_idle_connection_closes(node.port)
        check(node.proc.poll() is None, "the node is still up")
    finally:
        node.stop()
    test_connection_limit(a.cleo)
    print("all passed")


if __name__ == "__main__":
    sys.exit(main())
