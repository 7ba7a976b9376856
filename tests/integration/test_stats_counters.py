#!/usr/bin/python3
"""test_stats_counters.py - the gateway's object cache seen through
`cleo-adm stats` (issue 5, "Object cache": hit/miss counters), against a
real node (cmd/cleo) driven by boto3.

Starts a node on a free 127.0.0.1 port with a fresh data dir and a known
admin key pair (CLEO_ACCESS_KEY/CLEO_SECRET_KEY), then: creates a bucket
and a small object, GETs it twice, and `cleo-adm stats` shows the
counters (text under "counters", and --json's "counters" object) with
gw.cache.miss >= 1 and gw.cache.hit >= 1; a PUT of a new version is what
the next GETs return (the cache was invalidated); after a DELETE a GET is
404. With --testnode, a node without the manager role (cleo-testnode)
still answers `cleo-adm stats` with its runtime figures and exit 0.
Every process started here is stopped before exit.

Run with Debian's /usr/bin/python3 (python3-boto3); without boto3 the
test exits 77 (skipped).
"""
import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodeutil  # noqa: E402
from nodeutil import FAILED, Adm, check, free_port  # noqa: E402

try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:
    print("skip: boto3 is not installed (apt install python3-boto3)")
    sys.exit(77)

ACCESS_KEY = "CLEOSTATSTEST0000001"
SECRET_KEY = "cleo/stats/test/secret/0123456789abcdefgh"
adm = None  # an Adm, set in main
NODES = []


def start_node(argv, data, env):
    """A node whose output goes to <data>.out, remembered in NODES."""
    node = nodeutil.Node(argv, data, data + ".out", env=env, stop_timeout=20)
    NODES.append(node)
    return node


def wait_up(node, port=None):
    """Until the socket answers `status` (and the S3 port accepts)."""
    if not nodeutil.wait_up(node, adm, 400, port):
        raise RuntimeError("the node did not come up: %s" % node.output())


def start_cleo(binary, data, port):
    env = dict(os.environ)
    env["CLEO_ACCESS_KEY"] = ACCESS_KEY
    env["CLEO_SECRET_KEY"] = SECRET_KEY
    env.pop("CLEO_SOCKET", None)
    argv = [binary, "--data", data, "--set", "heart.enabled=false",
            "--set", "gateway.http.port=%d" % port]
    node = start_node(argv, data, env)
    wait_up(node, port)
    return node


def s3_client(port):
    kw = dict(signature_version="s3v4", s3={"addressing_style": "path"},
              retries={"max_attempts": 1}, connect_timeout=5,
              read_timeout=30)
    try:  # newer botocore: no default CRC32 trailers (aws-chunked bodies)
        cfg = botocore.config.Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required", **kw)
    except TypeError:
        cfg = botocore.config.Config(**kw)
    return boto3.session.Session().client(
        "s3", endpoint_url="http://127.0.0.1:%d" % port,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1", config=cfg)


def counters_text(out):
    """The name -> value lines under the "counters" heading."""
    lines = out.splitlines()
    if "counters" not in lines:
        return None
    vals = {}
    for line in lines[lines.index("counters") + 1:]:
        m = re.fullmatch(r"\s+(\S+)\s+(\d+)", line)
        if m:
            vals[m.group(1)] = int(m.group(2))
    return vals


def stats(sock):
    """(text counters, --json counters), or Nones on failure."""
    rc, out, err = adm(["stats"], sock)
    text = counters_text(out) if rc == 0 else None
    rc, out, err = adm(["--json", "stats"], sock)
    j = json.loads(out).get("counters") if rc == 0 else None
    return text, j


def get_body(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_counters(node, s3):
    s3.create_bucket(Bucket="cachebkt")
    v1 = b"version one of a small object\n" * 4
    s3.put_object(Bucket="cachebkt", Key="obj", Body=v1)
    got = [get_body(s3, "cachebkt", "obj") for _ in range(2)]
    check(got == [v1, v1], "GET twice returns the object")
    # The first GET's miss fills the cache by a message of its own, and the
    # counters are casts: allow a few more GETs and reads to settle.
    text = j = None
    for _ in range(50):
        text, j = stats(node.sock)
        if (text or {}).get("gw.cache.hit", 0) >= 1 and \
                (j or {}).get("gw.cache.hit", 0) >= 1:
            break
        check(get_body(s3, "cachebkt", "obj") == v1, "GET again returns v1")
        time.sleep(0.1)
    check(text is not None, "cleo-adm stats prints a counters section")
    check(j is not None and isinstance(j, dict),
          "cleo-adm --json stats has a counters object")
    text, j = text or {}, j or {}
    check(text.get("gw.cache.miss", 0) >= 1,
          "stats: gw.cache.miss >= 1 (%r)" % text.get("gw.cache.miss"))
    check(text.get("gw.cache.hit", 0) >= 1,
          "stats: gw.cache.hit >= 1 (%r)" % text.get("gw.cache.hit"))
    check(j.get("gw.cache.miss", 0) >= 1 and j.get("gw.cache.hit", 0) >= 1,
          "--json stats: miss and hit >= 1 (%r)" % j)
    check(list(text) == sorted(text), "counters sorted by name")
    rc, out, err = adm(["stats"], node.sock)
    check(rc == 0 and out.index("SCHED") < out.index("\ncounters\n"),
          "the runtime figures come first, then the counters")
    rc, out, err = adm(["--json", "stats"], node.sock)
    check(rc == 0 and "sched" in json.dumps(json.loads(out)),
          "--json stats keeps the runtime figures")


def test_invalidation(s3):
    v2 = b"the second version, of another length\n"
    s3.put_object(Bucket="cachebkt", Key="obj", Body=v2)
    got = [get_body(s3, "cachebkt", "obj") for _ in range(3)]
    check(got == [v2, v2, v2], "after a PUT, GETs return the new version")
    s3.delete_object(Bucket="cachebkt", Key="obj")
    for i in range(2):
        try:
            s3.get_object(Bucket="cachebkt", Key="obj")
            check(False, "GET %d after DELETE is 404 (it was found)" % i)
        except botocore.exceptions.ClientError as e:
            status = e.response["ResponseMetadata"]["HTTPStatusCode"]
            check(status == 404, "GET %d after DELETE is 404 (%s, %s)"
                  % (i, status, e.response["Error"].get("Code")))


def test_testnode(binary, data):
    """A node without an admin actor: runtime stats only, exit 0."""
    os.makedirs(data)
    node = start_node([binary, "--data", data], data, dict(os.environ))
    try:
        wait_up(node)
        rc, out, err = adm(["stats"], node.sock)
        check(rc == 0 and "SCHED" in out and "counters" not in out and
              err == "", "stats on cleo-testnode: runtime figures only "
              "(rc %d, err %r)" % (rc, err))
        rc, out, err = adm(["--json", "stats"], node.sock)
        j = json.loads(out) if rc == 0 else {}
        check(rc == 0 and "stats" in j and "counters" not in j,
              "--json stats on cleo-testnode: no counters member")
    finally:
        node.stop()


def main():
    global adm
    ap = argparse.ArgumentParser()
    ap.add_argument("--adm", required=True)
    ap.add_argument("--cleo", required=True)
    ap.add_argument("--testnode")
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()
    adm = Adm(opts.adm, timeout=60)
    tmp = tempfile.mkdtemp(prefix="cleo-stats-it-")

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    try:
        port = free_port()
        node = start_cleo(opts.cleo, os.path.join(tmp, "data"), port)
        s3 = s3_client(port)
        test_counters(node, s3)
        test_invalidation(s3)
        node.stop()
        if opts.testnode:
            test_testnode(opts.testnode, os.path.join(tmp, "testnode"))
    except Exception as e:
        check(False, "unexpected %s: %s" % (type(e).__name__, e))
        for n in NODES:
            print("--- node output (%s):\n%s" % (n.data, n.output()))
    finally:
        for n in NODES:
            n.stop()
        if not opts.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % len(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
