#!/usr/bin/env python3
# test_split.py - S3 through a gateway-only node whose storage and manager
# run in another process (s3node's split mode, CLEO_SPLIT=1):
#   down    kill -9 of the back: S3 requests through the front answer 503
#           ServiceUnavailable within one net tick, never hang; the back
#           started again (a new creation) serves through the same front
#           process, the data it had intact.
#   stream  a 1 GiB object PUT and GET through the front: each process's
#           RSS stays within 64 MiB above its idle figure, and the bytes
#           come back equal (SHA-256).
#
#   CLEO_SPLIT=1 /usr/bin/python3 tests/integration/test_split.py \
#       --bin build/release/cmd [down|stream]
import hashlib
import os
import re
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ["CLEO_SPLIT"] = "1"
import s3node  # noqa: E402
from s3node import Suite, err_code  # noqa: E402

TICK_S = 2  # s3node's split pairs run with dist.net_ticktime=2
MiB = 1 << 20


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    return int(m.group(1)) if m else 0


def sec_down(t):
    node = t.node("down")
    s3 = node.boto3(read_timeout=TICK_S * 3)
    s3.create_bucket(Bucket="down-bkt")
    s3.put_object(Bucket="down-bkt", Key="k", Body=b"kept")
    node.back.send_signal(signal.SIGKILL)
    node.back.wait()
    for what, fn in (("GET", lambda: s3.get_object(Bucket="down-bkt",
                                                    Key="k")),
                     ("PUT", lambda: s3.put_object(Bucket="down-bkt",
                                                   Key="k2", Body=b"x")),
                     ("LIST", lambda: s3.list_objects_v2(Bucket="down-bkt"))):
        t0 = time.monotonic()
        st, code = err_code(fn)
        took = time.monotonic() - t0
        t.check(st == 503 and code == "ServiceUnavailable" and
                took <= TICK_S,
                "back killed: %s answers 503 ServiceUnavailable in %.2f s "
                "(%s %s)" % (what, took, st, code))
    t.check(node.alive(), "the front lives on")
    node.start_back()  # the same data dir, a new creation
    deadline = time.monotonic() + 10
    got = None
    while time.monotonic() < deadline and got is None:
        try:
            got = s3.get_object(Bucket="down-bkt", Key="k")["Body"].read()
        except Exception:
            time.sleep(0.2)
    t.check(got == b"kept", "the back again: the same front serves the "
            "object it had (%r)" % got)
    t.check(err_code(lambda: s3.get_object(Bucket="down-bkt", Key="k2"))
            == (404, "NoSuchKey"),
            "the PUT refused while it was down left nothing")


def sec_stream(t):
    # RocksDB's block cache (storage.cache_bytes) would fill with 64 MiB
    # of this object and hide what the streams hold: keep it small.
    node = t.node("stream", sets={"storage.cache_bytes": str(8 * MiB)})
    size = 1024 * MiB
    path = os.path.join(node.dir, "big")
    s3node.write_random(path, size, 11)
    want = s3node.sha256_file(path)
    s3 = node.boto3(read_timeout=120)
    s3.create_bucket(Bucket="big-bkt")
    # Warm up, as the embedded node's slowread test does: RocksDB's
    # memtables (written through by puts) reach their working size on the
    # storage side; what is measured after is what the streams hold.
    with open(path, "rb") as f:
        s3.put_object(Bucket="big-bkt", Key="warm", Body=f.read(256 * MiB))
    s3.get_object(Bucket="big-bkt", Key="warm")["Body"].read()
    s3.delete_object(Bucket="big-bkt", Key="warm")
    time.sleep(0.5)
    pids = {"front": node.proc.pid, "back": node.back.pid}
    idle = {k: rss_kib(p) for k, p in pids.items()}
    peak = dict(idle)
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            for k, p in pids.items():
                try:
                    peak[k] = max(peak[k], rss_kib(p))
                except OSError:
                    pass
            time.sleep(0.05)

    w = threading.Thread(target=watch)
    w.start()
    try:
        with open(path, "rb") as f:
            s3.put_object(Bucket="big-bkt", Key="big", Body=f,
                          ContentLength=size)
        h = hashlib.sha256()
        body = s3.get_object(Bucket="big-bkt", Key="big")["Body"]
        for chunk in iter(lambda: body.read(MiB), b""):
            h.update(chunk)
    finally:
        stop.set()
        w.join()
    t.check(h.hexdigest() == want, "1 GiB through the front: the same bytes")
    with open(node.suite.cleo, "rb") as f:
        sanitized = b"__asan_init" in f.read()
    for k in pids:
        grew = (peak[k] - idle[k]) / 1024.0
        t.check(sanitized or grew <= 64,
                "1 GiB PUT+GET: the %s's RSS grew %.1f MiB (bound 64)%s" %
                (k, grew, " (ASan: shown only)" if sanitized else ""))


def main():
    with Suite("split") as t:
        t.case("down", sec_down, t)
        t.case("stream", sec_stream, t)


if __name__ == "__main__":
    main()
