#!/usr/bin/env python3
# test_cluster_s3.py - S3 across a local cluster made by scripts/cluster.sh
# (three real cleo processes on loopback, each running every role, all
# three managers on Raft, one replica per key: N=1), driven with boto3
# through different nodes:
#
#   - before `cleo-adm start` there is no RING: a PUT is 503
#     ServiceUnavailable (the bucket, made through the managers, exists);
#   - a bucket name the managers refuse is InvalidBucketName, and nothing
#     is made;
#   - a bucket made through n1 exists on every node; 60 objects put
#     through n2 land on their primaries (`cleo-adm whereis`): at least
#     two nodes, and each node's storage holds exactly the keys whose
#     primary it is;
#   - listings through n3 merge every node's keys: all of them sorted,
#     pages of 7 (v2 tokens, v1 markers), a delimiter (common prefixes
#     once), a prefix; every object read back through n1 byte for byte;
#     n1's object cache does not serve a key rewritten or deleted
#     through another gateway;
#   - multipart: uploads on keys of two nodes listed together through n3,
#     parts listed through n1, one completed through n2 and read through
#     n3, a part copied from another node's key, an abort; CopyObject
#     between keys with different primaries;
#   - DeleteBucket refused while the bucket holds objects, accepted when
#     DeleteObjects through n3 emptied it: the bucket is then gone on
#     every node, storage records too;
#   - a bucket made through n3 is listed by n1 within a second; made
#     again, BucketAlreadyOwnedByYou;
#   - a node down: keys whose primary it is answer 503, others work,
#     listings 503; a bucket made meanwhile reaches its storage when it
#     is back (each storage node reconciles with the cluster's buckets).
#
#   python3 tests/integration/test_cluster_s3.py --bin build/cmd
#
# It uses its own directory and free ports, and stops every node it
# started, pass or fail.
import argparse
import collections
import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterutil  # noqa: E402
from clusterutil import name  # noqa: E402
from nodeutil import (Fail, check, require, summary, wait_for,  # noqa: E402
                      wait_until)

REGION = "us-east-1"
BIN = None


class Cluster(clusterutil.Cluster):
    """The cluster, with boto3 clients of its nodes signed by the admin
    pair it printed."""

    def start(self, *sets):
        r = super().start(*sets)
        with open(os.path.join(self.dir, "credentials")) as f:
            kv = dict(line.strip().split("=", 1) for line in f if "=" in line)
        self.ak, self.sk = kv["access_key"], kv["secret_key"]
        return r

    def adm_json(self, i, *args):
        r = self.adm(i, "--json", *args)
        require(r.returncode == 0, "n%d %s: %s" % (i, " ".join(args),
                                                  r.stderr))
        return json.loads(r.stdout)

    def s3(self, i):
        """A boto3 client for node i's S3 port (path style, no retries)."""
        import boto3
        from botocore.config import Config
        conf = Config(s3={"addressing_style": "path"},
                      signature_version="s3v4", connect_timeout=5,
                      read_timeout=20, retries={"total_max_attempts": 1})
        return boto3.session.Session().client(
            "s3", endpoint_url="http://127.0.0.1:%d" % self.port(i),
            region_name=REGION, aws_access_key_id=self.ak,
            aws_secret_access_key=self.sk, config=conf)


def err(fn, *a, **kw):
    """(HTTP status, S3 error code) of a call expected to fail, or
    (200, None) when it did not."""
    from botocore.exceptions import ClientError
    try:
        fn(*a, **kw)
        return 200, None
    except ClientError as e:
        return (e.response["ResponseMetadata"]["HTTPStatusCode"],
                e.response["Error"]["Code"])


def bucket_names(c, i):
    return sorted(b["Name"] for b in c.s3(i).list_buckets()["Buckets"])


def records(c, i):
    """{bucket: objects} of node i's own storage (in a cluster `cleo-adm
    bucket list` sums the nodes and says what each holds)."""
    return c.adm_json(i, "bucket", "list").get("nodes", {}).get(name(i), {})


def primary(c, bucket, key):
    j = c.adm_json(1, "whereis", "%s/%s" % (bucket, key))
    return j["replicas"][0]["node"]


def registered(c):
    """Start the cluster and wait for every node registered and the first
    system conf; the RING is not made yet. One replica per key (N=1):
    this test is about where keys land and how listings merge;
    test_cluster_repl.py covers N=3."""
    c.start("cluster.replicas=1", "cluster.w=1", "cluster.r=1", "cluster.d=1")
    wait_until(lambda: len(c.status(1).get("members", [])) == 3, 15,
                  "every node registered")
    wait_until(lambda: c.status(1).get("consistency", {}).get("n", 0) > 0,
                  10, "the first system conf")


def ring_start(c):
    r = c.adm(2, "start")
    require(r.returncode == 0, "start: %s" % r.stderr)
    wait_until(lambda: all(s == "running" for s in
                              clusterutil.states(c.status(3)).values()), 10,
                  "every member running")
    # Each node's copy follows a manager, a heartbeat behind the leader's.
    wait_until(lambda: all(c.adm(i, "ring").returncode == 0
                           for i in (1, 2, 3)), 5, "every node has the RING")


def keys_60():
    """60 keys: flat ones and ones under six 'directories'."""
    ks = []
    for i in range(60):
        ks.append("flat-%03d" % i if i % 2 == 0 else
                  "dir%d/obj-%03d" % (i % 6, i))
    return ks


def list_all_v2(cl, bucket, **kw):
    """Every page of ListObjectsV2: (keys, prefixes, pages)."""
    keys, prefixes, pages, tok = [], [], 0, None
    while True:
        args = dict(Bucket=bucket, **kw)
        if tok:
            args["ContinuationToken"] = tok
        r = cl.list_objects_v2(**args)
        pages += 1
        require(len(r.get("Contents", [])) + len(r.get("CommonPrefixes", []))
                <= kw.get("MaxKeys", 1000), "a page over MaxKeys")
        keys += [o["Key"] for o in r.get("Contents", [])]
        prefixes += [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        if not r["IsTruncated"]:
            return keys, prefixes, pages
        tok = r["NextContinuationToken"]
        require(pages < 100, "paging does not end")


def list_all_v1(cl, bucket, max_keys):
    """Every page of ListObjects (v1): the marker is the last key."""
    keys, marker = [], ""
    for _ in range(100):
        r = cl.list_objects(Bucket=bucket, MaxKeys=max_keys, Marker=marker)
        got = [o["Key"] for o in r.get("Contents", [])]
        keys += got
        if not r["IsTruncated"]:
            return keys
        marker = got[-1]
    raise Fail("v1 paging does not end")


def check_objects(c, data):
    """Puts through n2, placement, listings through n3, reads through n1."""
    s1, s2, s3 = c.s3(1), c.s3(2), c.s3(3)
    for k, v in data.items():
        s2.put_object(Bucket="spread", Key=k, Body=v)
    where = {k: primary(c, "spread", k) for k in data}
    per_node = collections.Counter(where.values())
    check(len(per_node) >= 2, "60 keys over %d primaries: %s"
          % (len(per_node), dict(per_node)))
    held = {i: records(c, i).get("spread", 0) for i in (1, 2, 3)}
    check(all(held[i] == per_node.get(name(i), 0) for i in (1, 2, 3)),
          "each node stores the keys whose primary it is: %s" % held)
    want = sorted(data)
    keys, _, pages = list_all_v2(s3, "spread")
    check(keys == want and pages == 1, "n3 lists all 60 keys in order")
    keys, _, pages = list_all_v2(s3, "spread", MaxKeys=7)
    check(keys == want and pages == 9, "in pages of 7 (v2): %d pages"
          % pages)
    check(list_all_v1(s3, "spread", 7) == want, "in pages of 7 (v1)")
    keys, pfx, _ = list_all_v2(s3, "spread", Delimiter="/")
    check(pfx == ["dir%d/" % i for i in (1, 3, 5)] and
          keys == [k for k in want if "/" not in k],
          "a delimiter: three common prefixes once, the flat keys")
    keys, pfx, pages = list_all_v2(s3, "spread", Delimiter="/", MaxKeys=4)
    check(pfx == ["dir%d/" % i for i in (1, 3, 5)] and len(keys) == 30 and
          pages == 9, "a delimiter in pages of 4")
    keys, _, _ = list_all_v2(s3, "spread", Prefix="dir3/")
    check(keys == [k for k in want if k.startswith("dir3/")], "a prefix")
    bad = [k for k, v in data.items()
           if s1.get_object(Bucket="spread", Key=k)["Body"].read() != v]
    check(not bad, "n1 reads every object back byte for byte (%d bad)"
          % len(bad))
    # n1's object cache holds them now: a write or delete through another
    # gateway must not leave n1 serving the old bytes.
    k = sorted(data)[5]
    again = s1.get_object(Bucket="spread", Key=k)["Body"].read()
    data[k] = b"rewritten through n2"
    s2.put_object(Bucket="spread", Key=k, Body=data[k])
    got = s1.get_object(Bucket="spread", Key=k)["Body"].read()
    check(again != data[k] and got == data[k],
          "n1 reads the new bytes of a key rewritten through n2")
    gone = sorted(data)[6]
    s3.delete_object(Bucket="spread", Key=gone)
    check(err(s1.get_object, Bucket="spread", Key=gone)[0] == 404,
          "n1 does not serve a key deleted through n3")
    s2.put_object(Bucket="spread", Key=gone, Body=data[gone])
    return where


def other_key(c, stem, node):
    """A key stem-N of bucket spread whose primary is not node."""
    for i in range(200):
        if primary(c, "spread", "%s-%d" % (stem, i)) != node:
            return "%s-%d" % (stem, i)
    raise Fail("no key off " + node)


def check_multipart(c, data, where):
    s1, s2, s3 = c.s3(1), c.s3(2), c.s3(3)
    parts = [os.urandom(5 << 20), os.urandom(300 << 10)]
    up = s2.create_multipart_upload(Bucket="spread", Key="big/mpu")
    uid = up["UploadId"]
    etags = []
    for n, p in enumerate(parts, 1):
        r = s2.upload_part(Bucket="spread", Key="big/mpu", UploadId=uid,
                           PartNumber=n, Body=p)
        etags.append({"PartNumber": n, "ETag": r["ETag"]})
    # a second upload, on a key of another node
    k2 = other_key(c, "mpu", primary(c, "spread", "big/mpu"))
    uid2 = s2.create_multipart_upload(Bucket="spread", Key=k2)["UploadId"]
    ups = s3.list_multipart_uploads(Bucket="spread").get("Uploads", [])
    check([(u["Key"], u["UploadId"]) for u in ups] ==
          sorted([("big/mpu", uid), (k2, uid2)]),
          "n3 lists the uploads of two nodes")
    ps = s1.list_parts(Bucket="spread", Key="big/mpu", UploadId=uid)
    check([p["PartNumber"] for p in ps.get("Parts", [])] == [1, 2],
          "n1 lists its parts")
    s2.complete_multipart_upload(Bucket="spread", Key="big/mpu",
                                 UploadId=uid,
                                 MultipartUpload={"Parts": etags})
    got = s3.get_object(Bucket="spread", Key="big/mpu")["Body"].read()
    check(got == b"".join(parts), "completed through n2, read through n3")
    # its only part copied (a range) from a key of another node
    src = next(k for k in sorted(data) if where[k] != primary(c, "spread", k2))
    r = s1.upload_part_copy(Bucket="spread", Key=k2, UploadId=uid2,
                            PartNumber=1, CopySourceRange="bytes=10-99",
                            CopySource={"Bucket": "spread", "Key": src})
    s1.complete_multipart_upload(
        Bucket="spread", Key=k2, UploadId=uid2, MultipartUpload={
            "Parts": [{"PartNumber": 1,
                       "ETag": r["CopyPartResult"]["ETag"]}]})
    got = s3.get_object(Bucket="spread", Key=k2)["Body"].read()
    check(got == data[src][10:100], "a part copied from another node")
    k3 = other_key(c, "abort", where[src])
    uid3 = s3.create_multipart_upload(Bucket="spread", Key=k3)["UploadId"]
    s1.abort_multipart_upload(Bucket="spread", Key=k3, UploadId=uid3)
    ups = s2.list_multipart_uploads(Bucket="spread").get("Uploads", [])
    check(ups == [], "an upload aborted through n1 is gone")


def check_copy(c, data, where):
    """A copy whose source and destination have different primaries."""
    s1, s3 = c.s3(1), c.s3(3)
    src = sorted(data)[0]
    for i in range(100):
        dst = "copy-%d" % i
        if primary(c, "spread", dst) != where[src]:
            break
    s1.copy_object(Bucket="spread", Key=dst,
                   CopySource={"Bucket": "spread", "Key": src},
                   MetadataDirective="COPY")
    got = s3.get_object(Bucket="spread", Key=dst)["Body"].read()
    check(got == data[src], "a copy from %s's node to another (%s)"
          % (src, dst))
    return dst


def check_delete(c):
    s1, s2, s3 = c.s3(1), c.s3(2), c.s3(3)
    st, code = err(s1.delete_bucket, Bucket="spread")
    check((st, code) == (409, "BucketNotEmpty"),
          "DeleteBucket of a full bucket: %s %s" % (st, code))
    keys, _, _ = list_all_v2(s3, "spread")
    r = s3.delete_objects(Bucket="spread", Delete={
        "Objects": [{"Key": k} for k in keys], "Quiet": True})
    check(not r.get("Errors"), "n3 deletes the %d keys in one request"
          % len(keys))
    check(list_all_v2(s1, "spread")[0] == [], "the bucket is empty")
    s2.delete_bucket(Bucket="spread")
    gone = wait_for(lambda: all("spread" not in bucket_names(c, i)
                                for i in (1, 2, 3)), 2)
    check(gone, "after DeleteBucket through n2 no node lists it")
    check(all(err(c.s3(i).head_bucket, Bucket="spread")[0] == 404
              for i in (1, 2, 3)), "HeadBucket is 404 on every node")
    check(wait_for(lambda: all("spread" not in records(c, i)
                               for i in (1, 2, 3)), 5),
          "every node's storage dropped its record")


def case_all(c):
    registered(c)
    s1 = c.s3(1)
    # No RING yet: a bucket exists (the managers'), objects cannot go in.
    s1.create_bucket(Bucket="early")
    st, code = err(s1.put_object, Bucket="early", Key="k", Body=b"x")
    check((st, code) == (503, "ServiceUnavailable"),
          "no RING yet: PUT is %s %s" % (st, code))
    ring_start(c)
    check(err(s1.put_object, Bucket="early", Key="k", Body=b"x")[0] == 200,
          "with the RING the same PUT works")
    # Bad input: a name the managers refuse.
    st, code = err(c.s3(1).create_bucket, Bucket="Bad_Bucket")
    check((st, code) == (400, "InvalidBucketName"),
          "a bad bucket name: %s %s" % (st, code))
    check("Bad_Bucket" not in bucket_names(c, 2), "and nothing was made")
    # One bucket, seen by every gateway.
    s1.create_bucket(Bucket="spread")
    check(wait_for(lambda: all(err(c.s3(i).head_bucket, Bucket="spread")[0]
                               == 200 for i in (2, 3)), 2),
          "a bucket made through n1 exists on n2 and n3")
    data = {k: os.urandom(200 + 37 * n) for n, k in enumerate(keys_60())}
    where = check_objects(c, data)
    check_multipart(c, data, where)
    check_copy(c, data, where)
    check_delete(c)
    # Made through n3, listed through n1 within a second.
    c.s3(3).create_bucket(Bucket="fromn3")
    check(wait_for(lambda: "fromn3" in bucket_names(c, 1), 1),
          "a bucket made through n3 is listed by n1 within a second")
    st, code = err(c.s3(1).create_bucket, Bucket="fromn3")
    check((st, code) == (409, "BucketAlreadyOwnedByYou"),
          "made again: %s %s" % (st, code))
    case_node_down(c)


def case_node_down(c):
    """n3 down: its keys 503, others work; a bucket made meanwhile reaches
    n3's storage when it is back."""
    c.sh("kill", c.dir, "3")
    s1 = c.s3(1)
    on3 = off3 = None
    for i in range(200):
        k = "k%d" % i
        p = primary(c, "fromn3", k)
        if p == name(3) and on3 is None:
            on3 = k
        elif p != name(3) and off3 is None:
            off3 = k
        if on3 and off3:
            break
    st, code = err(s1.put_object, Bucket="fromn3", Key=on3, Body=b"x")
    check((st, code) == (503, "ServiceUnavailable"),
          "a key whose primary is down: %s %s" % (st, code))
    check(err(s1.put_object, Bucket="fromn3", Key=off3, Body=b"x")[0] == 200,
          "a key whose primary is up works")
    check(err(s1.list_objects_v2, Bucket="fromn3")[0] == 503,
          "a listing needs every node: 503")
    # n3 may have led the managers: a new leader first (a few elections)
    check(wait_for(lambda: err(s1.create_bucket, Bucket="while-down")[1]
                   in (None, "BucketAlreadyOwnedByYou"), 10),
          "a bucket made while n3 is down")
    c.sh("start-node", c.dir, "3")
    check(wait_for(lambda: "while-down" in records(c, 3), 15),
          "n3's storage has the bucket made while it was down")


CASES = {"all": case_all}


def main():
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("case", nargs="?", default="all")
    a = ap.parse_args()
    BIN = os.path.abspath(a.bin)
    tmp = tempfile.mkdtemp(prefix="cleo-cluster-s3-")
    c = Cluster(tmp, 3, BIN)
    t0 = time.monotonic()
    try:
        CASES[a.case](c)
    except Fail as e:
        check(False, str(e))
    finally:
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%.1f s" % (time.monotonic() - t0))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
