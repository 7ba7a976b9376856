#!/usr/bin/python3
"""test_s3_restart.py - what a cleo node acknowledged survives a restart:
objects (small, multi-chunk, multipart, empty), metadata, ETags, deletes,
buckets, a second user's key and an upload in progress. First a clean
stop (SIGTERM, exit 0), then a kill -9 of a node that had just answered.

    /usr/bin/python3 test_s3_restart.py --bin build/release/cmd
"""
import hashlib
import os
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3node  # noqa: E402
from s3node import err_code  # noqa: E402

MiB = 1 << 20


def snapshot(s3, buckets):
    """{(bucket, key): (etag, size, sha256, metadata, content type)}."""
    out = {}
    for b in buckets:
        for o in s3.list_objects_v2(Bucket=b).get("Contents", []):
            g = s3.get_object(Bucket=b, Key=o["Key"])
            data = g["Body"].read()
            out[(b, o["Key"])] = (g["ETag"], len(data),
                                  hashlib.sha256(data).hexdigest(),
                                  g["Metadata"], g["ContentType"])
    return out


def write_phase(t, node, s3, tag):
    b = "rs-" + tag
    s3.create_bucket(Bucket=b)
    for i in range(20):
        s3.put_object(Bucket=b, Key="small/%02d" % i,
                      Body=("small %d %s" % (i, tag)).encode() * (i + 1),
                      Metadata={"i": str(i)})
    s3.put_object(Bucket=b, Key="typed", Body=b"{}",
                  ContentType="application/json")
    # Larger than storage.chunk_size (5 MiB): several chunks.
    s3.put_object(Bucket=b, Key="chunks", Body=os.urandom(12 * MiB + 7))
    u = s3.create_multipart_upload(Bucket=b, Key="mpu",
                                   Metadata={"kind": "mpu"})["UploadId"]
    parts = []
    for n, size in ((1, 5 * MiB), (2, 5 * MiB), (3, 1234)):
        e = s3.upload_part(Bucket=b, Key="mpu", UploadId=u, PartNumber=n,
                           Body=os.urandom(size))["ETag"]
        parts.append({"PartNumber": n, "ETag": e})
    s3.complete_multipart_upload(Bucket=b, Key="mpu", UploadId=u,
                                 MultipartUpload={"Parts": parts})
    s3.put_object(Bucket=b, Key="overwritten", Body=b"first")
    s3.put_object(Bucket=b, Key="overwritten", Body=b"second")
    s3.put_object(Bucket=b, Key="deleted", Body=b"gone soon")
    s3.delete_object(Bucket=b, Key="deleted")
    s3.copy_object(Bucket=b, Key="copied", CopySource={"Bucket": b,
                                                       "Key": "typed"})
    # Last among the PUTs: an empty PutObject breaks botocore's next PUT on
    # the connection (see test_s3_boto3.py "right after an empty").
    s3.put_object(Bucket=b, Key="empty", Body=b"")
    s3.list_objects_v2(Bucket=b, MaxKeys=1)
    s3.create_bucket(Bucket="rs-gone-" + tag)
    s3.delete_bucket(Bucket="rs-gone-" + tag)
    # An upload left open across the restart.
    open_u = s3.create_multipart_upload(Bucket=b, Key="open")["UploadId"]
    e1 = s3.upload_part(Bucket=b, Key="open", UploadId=open_u, PartNumber=1,
                        Body=b"open part")["ETag"]
    return b, (open_u, e1)


def read_phase(t, node, s3, b, before, upload, how):
    after = snapshot(s3, [b])
    t.check(set(after) == set(before), "%s: the same keys (%d)" %
            (how, len(after)))
    diff = [k for k in before if after.get(k) != before[k]]
    t.check(not diff, "%s: the same ETags, sizes, bytes, metadata and "
            "types (differ: %s)" % (how, diff[:5]))
    t.check(after.get((b, "overwritten"), (0, 0, 0))[2] ==
            hashlib.sha256(b"second").hexdigest(),
            "%s: the last write of a key won" % how)
    t.check(err_code(s3.get_object, Bucket=b, Key="deleted") ==
            (404, "NoSuchKey"), "%s: a deleted key stays deleted" % how)
    names = [x["Name"] for x in s3.list_buckets()["Buckets"]]
    t.check(b in names and not any(n.startswith("rs-gone-") for n in names),
            "%s: the buckets (%s)" % (how, names))
    u, e1 = upload
    r = s3.list_multipart_uploads(Bucket=b)
    t.check([x["UploadId"] for x in r.get("Uploads", [])] == [u],
            "%s: the open upload is still listed" % how)
    r = s3.complete_multipart_upload(
        Bucket=b, Key="open", UploadId=u,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]})
    t.check(s3.get_object(Bucket=b, Key="open")["Body"].read() ==
            b"open part", "%s: ... and completes after it" % how)


def sec_restart(t, node):
    s3 = node.boto3()
    ak, sk = node.create_user("carol")
    carol = node.boto3(access_key=ak, secret_key=sk)
    carol.create_bucket(Bucket="carol-bkt")
    carol.put_object(Bucket="carol-bkt", Key="c", Body=b"carol's")
    b, upload = write_phase(t, node, s3, "term")
    before = snapshot(s3, [b])
    rc = node.stop()
    t.check(rc == 0, "SIGTERM: exit code 0 (%s)" % rc)
    node.start()
    read_phase(t, node, s3, b, before, upload, "after SIGTERM")
    t.check(carol.get_object(Bucket="carol-bkt", Key="c")["Body"].read() ==
            b"carol's", "carol's key and bucket survive the restart")
    t.check(err_code(carol.get_object, Bucket=b, Key="empty") ==
            (403, "AccessDenied"), "... and her bucket owner rules too")
    cred = node.credentials_file()
    t.check(cred.get("access_key") == node.access_key,
            "<data>/credentials keeps the admin key")

    # kill -9 right after the last acknowledged write.
    b2, upload2 = write_phase(t, node, s3, "kill")
    before2 = snapshot(s3, [b2])
    s3.put_object(Bucket=b2, Key="last-ack", Body=b"acknowledged")
    before2[(b2, "last-ack")] = ('"%s"' % hashlib.md5(
        b"acknowledged").hexdigest(), 12, hashlib.sha256(
        b"acknowledged").hexdigest(), {}, "binary/octet-stream")
    os.killpg(node.proc.pid, signal.SIGKILL)
    node.proc.wait()
    node.start()
    after = snapshot(s3, [b2])
    ct = after.get((b2, "last-ack"), (0, 0, 0, 0, None))[4]
    before2[(b2, "last-ack")] = before2[(b2, "last-ack")][:4] + (ct,)
    read_phase(t, node, s3, b2, before2, upload2, "after kill -9")
    read_phase_again = snapshot(s3, [b])
    t.check(all(read_phase_again.get(k) == v for k, v in before.items()),
            "after kill -9: the first bucket is intact too")


def main():
    with s3node.Suite("s3_restart") as t:
        node = t.node()
        t.case("restart", sec_restart, t, node)


if __name__ == "__main__":
    main()
