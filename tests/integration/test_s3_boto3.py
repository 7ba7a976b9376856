#!/usr/bin/python3
"""test_s3_boto3.py - every S3 operation and error code of issue #5 with
boto3 against a real cleo node (one node per ctest).

    /usr/bin/python3 test_s3_boto3.py --bin build/release/cmd ops
    ... buckets objects conditional copy list cache   (sections of ops)
    ... mpu                                            (multipart)
    ... errors                        (error codes, EntityTooLarge)
    ... auth         (signatures, keys, skew, a second user's access)
    ... copyauth             (a copy needs read access to its source)
    ... conn    (keep-alive reuse after answers that skip the body)
    ... concurrency            (parallel clients, one contended key)
    ... ranges     (ranges over 64 KiB chunks, parts, cached objects)

Each error checks the HTTP status, the S3 error code and that the data
did not change.
"""
import base64
import datetime
import hashlib
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3node  # noqa: E402
from s3node import err_code, Suite  # noqa: E402

MiB = 1 << 20


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def etag_of(data):
    return '"%s"' % hashlib.md5(data).hexdigest()


def body(s3, b, k, **kw):
    return s3.get_object(Bucket=b, Key=k, **kw)["Body"].read()


# ---------------------------------------------------------------------
# ops: buckets, objects, conditions, copy, listing, cache invalidation
# ---------------------------------------------------------------------

def sec_buckets(t, s3):
    for b in ("alpha-bkt", "beta.bkt", "gamma-0"):
        r = s3.create_bucket(Bucket=b)
        t.check(r["ResponseMetadata"]["HTTPStatusCode"] == 200,
                "CreateBucket %s -> 200" % b)
    r = s3.list_buckets()
    names = [x["Name"] for x in r["Buckets"]]
    t.check({"alpha-bkt", "beta.bkt", "gamma-0"} <= set(names),
            "ListBuckets lists the three buckets (%s)" % names)
    t.check(names == sorted(names), "ListBuckets is sorted by name")
    t.check(all(isinstance(x.get("CreationDate"), datetime.datetime)
                for x in r["Buckets"]), "ListBuckets has CreationDates")
    t.check(bool(r.get("Owner", {}).get("ID")), "ListBuckets has an Owner")
    r = s3.head_bucket(Bucket="alpha-bkt")
    t.check(r["ResponseMetadata"]["HTTPStatusCode"] == 200, "HeadBucket 200")
    t.check(err_code(s3.head_bucket, Bucket="no-such-bkt")[0] == 404,
            "HeadBucket of a missing bucket -> 404")
    r = s3.get_bucket_location(Bucket="alpha-bkt")
    t.check(r.get("LocationConstraint") in (None, ""),
            "GetBucketLocation: us-east-1 is the empty constraint (%r)" %
            r.get("LocationConstraint"))
    r = s3.delete_bucket(Bucket="gamma-0")
    t.check(r["ResponseMetadata"]["HTTPStatusCode"] == 204,
            "DeleteBucket -> 204")
    t.check(err_code(s3.head_bucket, Bucket="gamma-0")[0] == 404,
            "the deleted bucket is gone (HeadBucket 404)")
    t.check("gamma-0" not in [x["Name"] for x in
                              s3.list_buckets()["Buckets"]],
            "the deleted bucket is not listed")
    # cleo-adm's buckets are S3's buckets.
    node = t.main
    r = node.adm("bucket", "create", "adm-made")
    t.check(r.returncode == 0, "cleo-adm bucket create adm-made")
    s3.put_object(Bucket="adm-made", Key="x", Body=b"12345")
    s3.put_object(Bucket="adm-made", Key="y", Body=b"678")
    r = node.adm("--json", "bucket", "du", "adm-made")
    j = json.loads(r.stdout or "{}")
    t.check(j.get("objects") == 2 and j.get("bytes") == 8,
            "cleo-adm bucket du counts what S3 wrote (%s)" % r.stdout.strip())
    r = node.adm("--json", "bucket", "list")
    names = [x.get("name") for x in json.loads(r.stdout or "{}").get(
        "buckets", [])]
    t.check(sorted(names) == sorted(x["Name"] for x in s3.list_buckets()[
        "Buckets"]), "cleo-adm bucket list = ListBuckets (%s)" % names)
    r = node.adm("bucket", "delete", "adm-made")
    t.check(r.returncode != 0 and s3.head_bucket(Bucket="adm-made")[
        "ResponseMetadata"]["HTTPStatusCode"] == 200,
        "cleo-adm bucket delete of a non-empty bucket fails, bucket kept")
    s3.delete_objects(Bucket="adm-made", Delete={"Objects": [
        {"Key": "x"}, {"Key": "y"}]})
    r = node.adm("bucket", "delete", "adm-made")
    t.check(r.returncode == 0 and err_code(s3.head_bucket,
                                           Bucket="adm-made")[0] == 404,
            "cleo-adm bucket delete -> S3 HeadBucket 404")
    # Virtual-host style: Host <bucket>.s3.localhost:<port>, signed.
    st, raw = t.raw_signed("GET", "/?list-type=2", b"",
                           host="alpha-bkt.s3.localhost:%d" % t.main.port)
    t.check(st == 200 and b"<Name>alpha-bkt</Name>" in raw,
            "virtual-host style ListObjectsV2 (Host alpha-bkt.s3.localhost)"
            " -> 200 (%s %s)" % (st, raw[:200]))
    s3.put_object(Bucket="alpha-bkt", Key="vh", Body=b"vhost")
    st, raw = t.raw_signed("GET", "/vh", b"",
                           host="alpha-bkt.s3.localhost:%d" % t.main.port)
    t.check(st == 200 and raw == b"vhost",
            "virtual-host style GetObject (%s %s)" % (st, raw[:100]))
    s3.delete_object(Bucket="alpha-bkt", Key="vh")


def sec_objects(t, s3):
    b = "obj-bkt"
    s3.create_bucket(Bucket=b)
    data = b"0123456789abcdefghij" * 50  # 1000 bytes
    r = s3.put_object(Bucket=b, Key="dir/obj.txt", Body=data,
                      ContentMD5=md5_b64(data), ContentType="text/plain",
                      Metadata={"color": "blue", "shape": "round square"})
    t.check(r["ETag"] == etag_of(data), "PutObject ETag is the MD5 (%s)" %
            r["ETag"])
    h = s3.head_object(Bucket=b, Key="dir/obj.txt")
    t.check(h["ContentLength"] == 1000, "HeadObject Content-Length 1000")
    t.check(h["ETag"] == etag_of(data), "HeadObject ETag")
    t.check(h["ContentType"] == "text/plain", "HeadObject Content-Type (%s)"
            % h.get("ContentType"))
    t.check(h["Metadata"] == {"color": "blue", "shape": "round square"},
            "HeadObject user metadata (%s)" % h["Metadata"])
    t.check(h.get("AcceptRanges") == "bytes", "Accept-Ranges: bytes")
    lm = h.get("LastModified")
    now = datetime.datetime.now(datetime.timezone.utc)
    t.check(isinstance(lm, datetime.datetime) and
            abs((now - lm).total_seconds()) < 120,
            "Last-Modified is about now (%s)" % lm)
    lo = s3.list_objects_v2(Bucket=b, Prefix="dir/obj.txt")["Contents"][0]
    t.check(lo["LastModified"].replace(microsecond=0) == lm and
            lo["ETag"] == h["ETag"] and lo["Size"] == 1000,
            "the listing agrees with HEAD: LastModified, ETag, Size (%s %s)"
            % (lo["LastModified"], lm))
    hh = h["ResponseMetadata"]["HTTPHeaders"]
    t.check(bool(hh.get("x-amz-request-id")) and bool(hh.get("date")),
            "x-amz-request-id and Date headers")
    g = s3.get_object(Bucket=b, Key="dir/obj.txt")
    t.check(g["Body"].read() == data, "GetObject body")
    t.check(g["ETag"] == etag_of(data) and g["ContentLength"] == 1000 and
            g["Metadata"].get("color") == "blue",
            "GetObject ETag, Content-Length, metadata")
    # Ranges.
    for rng, want, cr in (("bytes=0-4", data[0:5], "bytes 0-4/1000"),
                          ("bytes=995-", data[995:], "bytes 995-999/1000"),
                          ("bytes=-3", data[-3:], "bytes 997-999/1000"),
                          ("bytes=10-2000", data[10:], "bytes 10-999/1000")):
        g = s3.get_object(Bucket=b, Key="dir/obj.txt", Range=rng)
        got = g["Body"].read()
        t.check(g["ResponseMetadata"]["HTTPStatusCode"] == 206 and
                got == want and g.get("ContentRange") == cr and
                g["ContentLength"] == len(want),
                "GetObject Range %s -> 206 %s (%s, %d bytes)" %
                (rng, cr, g.get("ContentRange"), len(got)))
    # response-* overrides.
    g = s3.get_object(Bucket=b, Key="dir/obj.txt",
                      ResponseContentType="application/x-cleo",
                      ResponseContentDisposition="attachment; filename=x",
                      ResponseCacheControl="no-cache",
                      ResponseContentLanguage="fr",
                      ResponseExpires=datetime.datetime(2030, 1, 1))
    hh = g["ResponseMetadata"]["HTTPHeaders"]
    t.check(g["ContentType"] == "application/x-cleo",
            "response-content-type override (%s)" % g["ContentType"])
    t.check(hh.get("content-disposition") == "attachment; filename=x" and
            hh.get("cache-control") == "no-cache" and
            hh.get("content-language") == "fr" and "expires" in hh,
            "response-content-disposition/cache-control/language/expires "
            "(%s)" % {k: hh.get(k) for k in ("content-disposition",
                                              "cache-control",
                                              "content-language",
                                              "expires")})
    # Empty object, and a key with spaces and UTF-8.
    s3.put_object(Bucket=b, Key="empty", Body=b"")
    g = s3.get_object(Bucket=b, Key="empty")
    t.check(g["ContentLength"] == 0 and g["Body"].read() == b"" and
            g["ETag"] == etag_of(b""), "empty object")
    k = "sp ace/ünï €+plus&amp=eq?q#h"
    s3.put_object(Bucket=b, Key=k, Body=b"odd")
    t.check(body(s3, b, k) == b"odd", "a key with spaces, UTF-8, +&=?#")
    # Overwrite.
    s3.put_object(Bucket=b, Key="dir/obj.txt", Body=b"v2")
    t.check(body(s3, b, "dir/obj.txt") == b"v2", "PutObject overwrites")
    # DeleteObject.
    r = s3.delete_object(Bucket=b, Key="dir/obj.txt")
    t.check(r["ResponseMetadata"]["HTTPStatusCode"] == 204,
            "DeleteObject -> 204")
    t.check(err_code(s3.get_object, Bucket=b, Key="dir/obj.txt") ==
            (404, "NoSuchKey"), "the deleted object is gone")
    r = s3.delete_object(Bucket=b, Key="never-was")
    t.check(r["ResponseMetadata"]["HTTPStatusCode"] == 204,
            "DeleteObject of a missing key -> 204")
    # DeleteObjects.
    for i in range(3):
        s3.put_object(Bucket=b, Key="multi/%d" % i, Body=b"x")
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [
        {"Key": "multi/0"}, {"Key": "multi/1"}, {"Key": "multi/nope"}]})
    got = sorted(d["Key"] for d in r.get("Deleted", []))
    t.check(got == ["multi/0", "multi/1", "multi/nope"] and
            not r.get("Errors"), "DeleteObjects reports 3 deleted (%s)" % got)
    left = [o["Key"] for o in s3.list_objects_v2(
        Bucket=b, Prefix="multi/").get("Contents", [])]
    t.check(left == ["multi/2"], "DeleteObjects left multi/2 (%s)" % left)
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "multi/2"}],
                                            "Quiet": True})
    t.check(not r.get("Deleted") and not r.get("Errors"),
            "DeleteObjects Quiet answers nothing")
    t.check(err_code(s3.head_object, Bucket=b, Key="multi/2")[0] == 404,
            "quiet DeleteObjects deleted multi/2")


def sec_conditional(t, s3):
    b = "cond-bkt"
    s3.create_bucket(Bucket=b)
    data = b"conditional body"
    s3.put_object(Bucket=b, Key="c", Body=data)
    h = s3.head_object(Bucket=b, Key="c")
    et, lm = h["ETag"], h["LastModified"]
    past = lm - datetime.timedelta(days=1)
    future = lm + datetime.timedelta(days=1)
    cases = [
        ("If-Match right", dict(IfMatch=et), 200, None),
        ("If-Match *", dict(IfMatch="*"), 200, None),
        ("If-Match wrong", dict(IfMatch='"0123"'), 412, "PreconditionFailed"),
        ("If-None-Match right", dict(IfNoneMatch=et), 304, None),
        ("If-None-Match wrong", dict(IfNoneMatch='"0123"'), 200, None),
        ("If-Modified-Since past", dict(IfModifiedSince=past), 200, None),
        ("If-Modified-Since future", dict(IfModifiedSince=future), 304,
         None),
        ("If-Unmodified-Since future", dict(IfUnmodifiedSince=future), 200,
         None),
        ("If-Unmodified-Since past", dict(IfUnmodifiedSince=past), 412,
         "PreconditionFailed"),
        # RFC 7232 order: If-Match wins over If-Unmodified-Since...
        ("If-Match right + If-Unmodified-Since past",
         dict(IfMatch=et, IfUnmodifiedSince=past), 200, None),
        # ...and If-None-Match over If-Modified-Since.
        ("If-None-Match wrong + If-Modified-Since future",
         dict(IfNoneMatch='"0123"', IfModifiedSince=future), 200, None),
    ]
    for what, kw, st, code in cases:
        got = err_code(s3.get_object, Bucket=b, Key="c", **kw)
        ok = got[0] == st and (code is None or got[1] == code)
        t.check(ok, "GetObject %s -> %d %s (got %s)" % (what, st, code or "",
                                                         got))
        got = err_code(s3.head_object, Bucket=b, Key="c", **kw)
        t.check(got[0] == st, "HeadObject %s -> %d (got %s)" % (what, st,
                                                                got[0]))
    t.check(body(s3, b, "c", IfMatch=et) == data, "If-Match GET body")


def sec_copy(t, s3):
    b, b2 = "copy-src", "copy-dst"
    s3.create_bucket(Bucket=b)
    s3.create_bucket(Bucket=b2)
    data = os.urandom(3000)
    s3.put_object(Bucket=b, Key="src", Body=data, ContentType="image/png",
                  Metadata={"a": "1"})
    src = {"Bucket": b, "Key": "src"}
    r = s3.copy_object(Bucket=b2, Key="copied", CopySource=src)
    t.check(r["CopyObjectResult"]["ETag"] == etag_of(data),
            "CopyObject result ETag = source MD5")
    h = s3.head_object(Bucket=b2, Key="copied")
    t.check(h["Metadata"] == {"a": "1"} and h["ContentType"] == "image/png"
            and h["ContentLength"] == 3000,
            "CopyObject COPY keeps metadata and type (%s %s)" %
            (h["Metadata"], h["ContentType"]))
    t.check(body(s3, b2, "copied") == data, "copied body")
    r = s3.copy_object(Bucket=b2, Key="replaced", CopySource=src,
                       MetadataDirective="REPLACE", ContentType="text/x-new",
                       Metadata={"b": "2"})
    h = s3.head_object(Bucket=b2, Key="replaced")
    t.check(h["Metadata"] == {"b": "2"} and h["ContentType"] == "text/x-new",
            "CopyObject REPLACE sets new metadata (%s %s)" %
            (h["Metadata"], h["ContentType"]))
    # Copy onto itself with REPLACE: the way to change metadata.
    s3.copy_object(Bucket=b, Key="src", CopySource=src,
                   MetadataDirective="REPLACE", Metadata={"c": "3"})
    h = s3.head_object(Bucket=b, Key="src")
    t.check(h["Metadata"] == {"c": "3"} and body(s3, b, "src") == data,
            "copy onto itself with REPLACE")
    et = h["ETag"]
    r = s3.copy_object(Bucket=b2, Key="cond", CopySource=src,
                       CopySourceIfMatch=et)
    t.check(r["ResponseMetadata"]["HTTPStatusCode"] == 200,
            "copy-source-if-match right -> 200")
    got = err_code(s3.copy_object, Bucket=b2, Key="cond2", CopySource=src,
                   CopySourceIfMatch='"deadbeef"')
    t.check(got == (412, "PreconditionFailed"),
            "copy-source-if-match wrong -> 412 PreconditionFailed (%s)" %
            (got,))
    t.check(err_code(s3.head_object, Bucket=b2, Key="cond2")[0] == 404,
            "the failed copy stored nothing")
    got = err_code(s3.copy_object, Bucket=b2, Key="cond3", CopySource=src,
                   CopySourceIfNoneMatch=et)
    t.check(got == (412, "PreconditionFailed"),
            "copy-source-if-none-match right -> 412 (%s)" % (got,))
    h = s3.head_object(Bucket=b, Key="src")
    got = err_code(s3.copy_object, Bucket=b2, Key="cond4", CopySource=src,
                   CopySourceIfUnmodifiedSince=h["LastModified"] -
                   datetime.timedelta(days=1))
    t.check(got == (412, "PreconditionFailed"),
            "copy-source-if-unmodified-since past -> 412 (%s)" % (got,))
    got = err_code(s3.copy_object, Bucket=b2, Key="cond5", CopySource=src,
                   CopySourceIfModifiedSince=h["LastModified"] -
                   datetime.timedelta(days=1))
    t.check(got[0] == 200, "copy-source-if-modified-since past -> 200 (%s)"
            % (got,))
    got = err_code(s3.copy_object, Bucket=b2, Key="x",
                   CopySource={"Bucket": b, "Key": "missing"})
    t.check(got == (404, "NoSuchKey"), "copy of a missing key -> NoSuchKey "
            "(%s)" % (got,))
    got = err_code(s3.copy_object, Bucket=b2, Key="x",
                   CopySource={"Bucket": "no-such-bkt", "Key": "src"})
    t.check(got == (404, "NoSuchBucket"),
            "copy from a missing bucket -> NoSuchBucket (%s)" % (got,))


def list_all_v2(s3, **kw):
    keys, prefixes, pages, tok = [], [], 0, None
    while True:
        a = dict(kw)
        if tok:
            a["ContinuationToken"] = tok
        r = s3.list_objects_v2(**a)
        pages += 1
        keys += [o["Key"] for o in r.get("Contents", [])]
        prefixes += [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        if not r["IsTruncated"]:
            return keys, prefixes, pages
        tok = r["NextContinuationToken"]
        if pages > 100:
            raise s3node.Fail("ListObjectsV2 does not end")


def list_all_v1(s3, **kw):
    keys, prefixes, pages, marker = [], [], 0, None
    while True:
        a = dict(kw)
        if marker:
            a["Marker"] = marker
        r = s3.list_objects(**a)
        pages += 1
        ks = [o["Key"] for o in r.get("Contents", [])]
        ps = [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        keys += ks
        prefixes += ps
        if not r["IsTruncated"]:
            return keys, prefixes, pages
        marker = r.get("NextMarker") or (ks[-1] if ks else None)
        if pages > 100 or marker is None:
            raise s3node.Fail("ListObjects does not end")


def sec_list(t, s3):
    b = "list-bkt"
    s3.create_bucket(Bucket=b)
    keys = (["a/%02d" % i for i in range(12)] + ["b/x/1", "b/x/2", "b/y"] +
            ["c%d" % i for i in range(5)] + ["d e/f+g"] +
            ["\u00e9t\u00e9", "\u65e5\u672c", "~tilde", "Zed", "\U0001f600"])
    for k in keys:
        s3.put_object(Bucket=b, Key=k, Body=k.encode())
    allk = sorted(keys)  # code point order = UTF-8 byte order
    top = [k for k in allk if "/" not in k]
    r = s3.list_objects_v2(Bucket=b)
    t.check([o["Key"] for o in r["Contents"]] == allk and
            r["KeyCount"] == len(allk) and not r["IsTruncated"],
            "ListObjectsV2 lists all %d keys in order" % len(allk))
    o = r["Contents"][0]
    t.check(o["Size"] == len(o["Key"]) and o["ETag"] == etag_of(
        o["Key"].encode()) and "Owner" not in o,
        "ListObjectsV2 entries: Size, ETag, no Owner without fetch-owner")
    r = s3.list_objects_v2(Bucket=b, FetchOwner=True, MaxKeys=1)
    t.check(bool(r["Contents"][0].get("Owner", {}).get("ID")),
            "fetch-owner=true gives an Owner")
    r = s3.list_objects_v2(Bucket=b, Prefix="a/", MaxKeys=5)
    t.check(len(r["Contents"]) == 5 and r["IsTruncated"] and
            r["KeyCount"] == 5 and r["MaxKeys"] == 5 and
            r.get("NextContinuationToken"),
            "max-keys=5: 5 keys, truncated, a continuation token")
    got, _, pages = list_all_v2(s3, Bucket=b, MaxKeys=4)
    t.check(got == allk and pages == (len(allk) + 3) // 4,
            "continuation-token walk: all keys in %d pages" % pages)
    got, pre, _ = list_all_v2(s3, Bucket=b, Delimiter="/")
    t.check(got == top and pre == ["a/", "b/", "d e/"],
            "delimiter=/: keys %s, common prefixes %s" % (got, pre))
    got, pre, _ = list_all_v2(s3, Bucket=b, Prefix="b/", Delimiter="/")
    t.check(got == ["b/y"] and pre == ["b/x/"],
            "prefix=b/ delimiter=/ (%s %s)" % (got, pre))
    got, pre, pages = list_all_v2(s3, Bucket=b, Delimiter="/", MaxKeys=2)
    t.check(got + pre and sorted(got + pre) == sorted(
        top + ["a/", "b/", "d e/"]),
        "delimiter with max-keys=2 pages through keys and prefixes "
        "(%d pages: %s %s)" % (pages, got, pre))
    r = s3.list_objects_v2(Bucket=b, StartAfter="b/x/2")
    t.check([o["Key"] for o in r["Contents"]] ==
            [k for k in allk if k > "b/x/2"], "start-after=b/x/2")
    r = s3.list_objects_v2(Bucket=b, Prefix="zzz")
    t.check(r["KeyCount"] == 0 and "Contents" not in r, "empty listing")
    # v1
    got, _, _ = list_all_v1(s3, Bucket=b)
    t.check(got == allk, "ListObjects v1 lists all keys")
    r = s3.list_objects(Bucket=b, Marker="c2")
    t.check([o["Key"] for o in r["Contents"]] ==
            [k for k in allk if k > "c2"], "v1 marker=c2")
    r = s3.list_objects(Bucket=b, MaxKeys=3)
    t.check(len(r["Contents"]) == 3 and r["IsTruncated"],
            "v1 max-keys=3 truncated")
    got, _, pages = list_all_v1(s3, Bucket=b, MaxKeys=6)
    t.check(got == allk and pages == (len(allk) + 5) // 6,
            "v1 marker walk in %d pages" % pages)
    got, pre, _ = list_all_v1(s3, Bucket=b, Delimiter="/", Prefix="")
    t.check(got == top and pre == ["a/", "b/", "d e/"],
            "v1 delimiter=/ (%s %s)" % (got, pre))
    r = s3.list_objects(Bucket=b, Delimiter="/", MaxKeys=2)
    t.check(r["IsTruncated"] and r.get("NextMarker"),
            "v1 with delimiter and truncation gives NextMarker (%s)" %
            r.get("NextMarker"))
    # encoding-type=url, read raw (boto3 decodes it).
    for q in ("list-type=2&prefix=d&encoding-type=url",
              "prefix=d&encoding-type=url"):
        st, raw = t.raw_get("/%s?%s" % (b, q))
        t.check(st == 200 and b"<Key>d%20e/f%2Bg</Key>" in raw and
                b"<EncodingType>url</EncodingType>" in raw,
                "encoding-type=url encodes keys (%s): %s" % (q, raw[-300:]))
    r = s3.list_objects_v2(Bucket=b, Prefix="d", EncodingType="url")
    got = [o["Key"] for o in r["Contents"]]
    # botocore leaves keys encoded when the caller asked for the encoding.
    t.check(got == ["d%20e/f%2Bg"], "boto3 EncodingType=url (%s)" % got)


def sec_cache(t, s3):
    """The gateway's object cache must never serve a stale object."""
    b = "cache-bkt"
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="hot", Body=b"version-1")
    # A gateway-only node has no admin actor to report its counters (a
    # known gap): split runs read the object back without counting hits.
    counted = not s3node.SPLIT
    hits0 = t.main.counters().get("gw.cache.hit", 0) if counted else 0
    for _ in range(3):
        body(s3, b, "hot")
        s3.head_object(Bucket=b, Key="hot")
    # The cache fills by a message of its own after a miss: a few more
    # reads until one is a hit, so that what follows tests invalidation.
    for _ in range(20 if counted else 5):
        if counted and t.main.counters().get("gw.cache.hit", 0) > hits0:
            break
        body(s3, b, "hot")
    if counted:
        t.check(t.main.counters().get("gw.cache.hit", 0) > hits0,
                "cache: the hot object is served from the cache "
                "(gw.cache.hit)")
    s3.put_object(Bucket=b, Key="hot", Body=b"version-2!")
    t.check(body(s3, b, "hot") == b"version-2!" and
            s3.head_object(Bucket=b, Key="hot")["ContentLength"] == 10,
            "cache: PUT replaces the cached object (GET and HEAD)")
    s3.put_object(Bucket=b, Key="other", Body=b"from-copy")
    s3.copy_object(Bucket=b, Key="hot", CopySource={"Bucket": b,
                                                    "Key": "other"})
    t.check(body(s3, b, "hot") == b"from-copy", "cache: COPY onto it")
    body(s3, b, "hot")
    s3.delete_object(Bucket=b, Key="hot")
    t.check(err_code(s3.get_object, Bucket=b, Key="hot")[0] == 404 and
            err_code(s3.head_object, Bucket=b, Key="hot")[0] == 404,
            "cache: DELETE -> 404")
    s3.put_object(Bucket=b, Key="hot", Body=b"again")
    body(s3, b, "hot")
    s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "hot"}]})
    t.check(err_code(s3.get_object, Bucket=b, Key="hot")[0] == 404,
            "cache: DeleteObjects -> 404")
    s3.put_object(Bucket=b, Key="hot", Body=b"before-mpu")
    body(s3, b, "hot")
    u = s3.create_multipart_upload(Bucket=b, Key="hot")["UploadId"]
    p = s3.upload_part(Bucket=b, Key="hot", UploadId=u, PartNumber=1,
                       Body=b"mpu-data")
    s3.complete_multipart_upload(
        Bucket=b, Key="hot", UploadId=u,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
    t.check(body(s3, b, "hot") == b"mpu-data",
            "cache: CompleteMultipartUpload replaces it")
    t.check(body(s3, b, "hot", Range="bytes=4-7") == b"data",
            "cache: a range of the new object")


def sec_concurrency(t, s3):
    """Clients in parallel: distinct keys never mix, and concurrent writes
    of one key leave one whole version."""
    import random
    import threading
    from concurrent.futures import ThreadPoolExecutor
    b = "conc-bkt"
    s3.create_bucket(Bucket=b)
    local = threading.local()

    def client():
        if not hasattr(local, "s3"):
            local.s3 = t.main.boto3(max_pool_connections=2)
        return local.s3

    def work(i):
        c = client()
        rnd = random.Random(i)
        errs = []
        for j in range(6):
            k = "w%02d/o%d" % (i, j)
            data = rnd.randbytes(rnd.choice([0, 1, 100, 4096, 70000,
                                             300000, 1 << 20]))
            c.put_object(Bucket=b, Key=k, Body=data)
            got = c.get_object(Bucket=b, Key=k)["Body"].read()
            if got != data:
                errs.append("%s: %d bytes back, %d put" % (k, len(got),
                                                          len(data)))
        return errs

    with ThreadPoolExecutor(12) as ex:
        errs = sum(ex.map(work, range(12)), [])
    t.check(not errs, "12 clients x 6 PUT+GET of their own keys, sizes 0 "
            "to 1 MiB: every GET returns its PUT (%s)" % errs[:3])
    n = len(list_all_v2(s3, Bucket=b)[0])
    t.check(n == 72, "72 keys listed (%d)" % n)
    versions = [bytes([v]) * (200000 + v) for v in range(8)]

    def overwrite(v):
        client().put_object(Bucket=b, Key="contended", Body=versions[v])

    def reader(_):
        bad = 0
        for _ in range(10):
            try:
                d = client().get_object(Bucket=b, Key="contended")[
                    "Body"].read()
            except Exception:
                continue  # not written yet
            if d not in versions:
                bad += 1
        return bad

    with ThreadPoolExecutor(12) as ex:
        w = [ex.submit(overwrite, v) for v in range(8)]
        r = [ex.submit(reader, i) for i in range(4)]
        for f in w:
            f.result()
        torn = sum(f.result() for f in r)
    final = s3.get_object(Bucket=b, Key="contended")["Body"].read()
    t.check(final in versions and torn == 0,
            "8 concurrent PUTs of one key and 4 readers: only whole "
            "versions are ever read (%d torn reads)" % torn)


# ---------------------------------------------------------------------
# mpu: multipart uploads
# ---------------------------------------------------------------------

def sec_mpu(t, s3):
    b = "mpu-bkt"
    s3.create_bucket(Bucket=b)
    p1 = os.urandom(5 * MiB)
    src5 = os.urandom(5 * MiB)
    src6 = os.urandom(6 * MiB)
    p4 = os.urandom(1000)
    s3.put_object(Bucket=b, Key="src5", Body=src5)
    s3.put_object(Bucket=b, Key="src6", Body=src6)
    r = s3.create_multipart_upload(Bucket=b, Key="big/obj",
                                   ContentType="application/x-mpu",
                                   Metadata={"m": "pu"})
    u = r["UploadId"]
    t.check(bool(u) and r["Key"] == "big/obj" and r["Bucket"] == b,
            "CreateMultipartUpload gives an UploadId")
    e1 = s3.upload_part(Bucket=b, Key="big/obj", UploadId=u, PartNumber=1,
                        Body=p1, ContentMD5=md5_b64(p1))["ETag"]
    t.check(e1 == etag_of(p1), "UploadPart ETag is the part's MD5")
    r = s3.upload_part_copy(Bucket=b, Key="big/obj", UploadId=u,
                            PartNumber=2, CopySource={"Bucket": b,
                                                      "Key": "src5"})
    e2 = r["CopyPartResult"]["ETag"]
    t.check(e2 == etag_of(src5), "UploadPartCopy (whole object) ETag")
    r = s3.upload_part_copy(Bucket=b, Key="big/obj", UploadId=u,
                            PartNumber=3, CopySource={"Bucket": b,
                                                      "Key": "src6"},
                            CopySourceRange="bytes=1048576-6291455")
    e3 = r["CopyPartResult"]["ETag"]
    t.check(e3 == etag_of(src6[MiB:]), "UploadPartCopy with a range ETag")
    e4 = s3.upload_part(Bucket=b, Key="big/obj", UploadId=u, PartNumber=4,
                        Body=p4)["ETag"]
    # Re-uploading a part replaces it.
    p4 = b"last part, replaced"
    e4 = s3.upload_part(Bucket=b, Key="big/obj", UploadId=u, PartNumber=4,
                        Body=p4)["ETag"]
    r = s3.list_parts(Bucket=b, Key="big/obj", UploadId=u)
    parts = [(p["PartNumber"], p["ETag"], p["Size"]) for p in r["Parts"]]
    t.check(parts == [(1, e1, 5 * MiB), (2, e2, 5 * MiB), (3, e3, 5 * MiB),
                      (4, e4, len(p4))],
            "ListParts: 4 parts with ETags and sizes (%s)" %
            [(p[0], p[2]) for p in parts])
    r = s3.list_parts(Bucket=b, Key="big/obj", UploadId=u, MaxParts=2)
    t.check(len(r["Parts"]) == 2 and r["IsTruncated"] and
            r.get("NextPartNumberMarker") == 2, "ListParts max-parts=2")
    r = s3.list_parts(Bucket=b, Key="big/obj", UploadId=u,
                      PartNumberMarker=2)
    t.check([p["PartNumber"] for p in r["Parts"]] == [3, 4],
            "ListParts part-number-marker=2")
    u2 = s3.create_multipart_upload(Bucket=b, Key="other")["UploadId"]
    r = s3.list_multipart_uploads(Bucket=b)
    ups = sorted((x["Key"], x["UploadId"]) for x in r.get("Uploads", []))
    t.check(ups == sorted([("big/obj", u), ("other", u2)]),
            "ListMultipartUploads lists both uploads (%s)" % ups)
    r = s3.list_multipart_uploads(Bucket=b, Prefix="big/")
    t.check([x["Key"] for x in r.get("Uploads", [])] == ["big/obj"],
            "ListMultipartUploads prefix=big/")
    t.check(err_code(s3.head_object, Bucket=b, Key="big/obj")[0] == 404,
            "an incomplete upload is not an object")
    parts = [{"PartNumber": n, "ETag": e}
             for n, e in ((1, e1), (2, e2), (3, e3), (4, e4))]
    r = s3.complete_multipart_upload(Bucket=b, Key="big/obj", UploadId=u,
                                     MultipartUpload={"Parts": parts})
    whole = p1 + src5 + src6[MiB:] + p4
    md5s = b"".join(hashlib.md5(x).digest()
                    for x in (p1, src5, src6[MiB:], p4))
    want = '"%s-4"' % hashlib.md5(md5s).hexdigest()
    t.check(r["ETag"] == want, "CompleteMultipartUpload ETag md5-of-md5s-4 "
            "(%s, want %s)" % (r["ETag"], want))
    h = s3.head_object(Bucket=b, Key="big/obj")
    t.check(h["ContentLength"] == len(whole) and h["ETag"] == want and
            h["Metadata"] == {"m": "pu"} and
            h["ContentType"] == "application/x-mpu",
            "HeadObject of the completed object: size, ETag, metadata, type")
    got = body(s3, b, "big/obj")
    t.check(hashlib.sha256(got).digest() == hashlib.sha256(whole).digest(),
            "GetObject of the completed object: the bytes of the 4 parts")
    rng = body(s3, b, "big/obj", Range="bytes=%d-%d" % (5 * MiB - 10,
                                                         5 * MiB + 9))
    t.check(rng == whole[5 * MiB - 10:5 * MiB + 10],
            "a range across the part boundary")
    t.check(err_code(s3.list_parts, Bucket=b, Key="big/obj",
                     UploadId=u) == (404, "NoSuchUpload"),
            "ListParts after complete -> NoSuchUpload")
    # Abort.
    s3.upload_part(Bucket=b, Key="other", UploadId=u2, PartNumber=1,
                   Body=b"abc")
    r = s3.abort_multipart_upload(Bucket=b, Key="other", UploadId=u2)
    t.check(r["ResponseMetadata"]["HTTPStatusCode"] == 204,
            "AbortMultipartUpload -> 204")
    t.check(err_code(s3.list_parts, Bucket=b, Key="other", UploadId=u2) ==
            (404, "NoSuchUpload"), "ListParts after abort -> NoSuchUpload")
    t.check(not s3.list_multipart_uploads(Bucket=b).get("Uploads"),
            "no uploads left")
    t.check(err_code(s3.head_object, Bucket=b, Key="other")[0] == 404,
            "the aborted upload left no object")
    sec_mpu_errors(t, s3, b)


def sec_mpu_errors(t, s3, b):
    small = b"s" * 1024
    big = os.urandom(5 * MiB)
    s3.put_object(Bucket=b, Key="keep", Body=b"old")
    u = s3.create_multipart_upload(Bucket=b, Key="keep")["UploadId"]
    e1 = s3.upload_part(Bucket=b, Key="keep", UploadId=u, PartNumber=1,
                        Body=small)["ETag"]
    e2 = s3.upload_part(Bucket=b, Key="keep", UploadId=u, PartNumber=2,
                        Body=big)["ETag"]

    def complete(parts, uid=u, key="keep"):
        return err_code(s3.complete_multipart_upload, Bucket=b, Key=key,
                        UploadId=uid, MultipartUpload={"Parts": parts})

    got = complete([{"PartNumber": 1, "ETag": e1},
                    {"PartNumber": 2, "ETag": e2}])
    t.check(got == (400, "EntityTooSmall"),
            "a 1 KiB part that is not the last -> EntityTooSmall (%s)" %
            (got,))
    got = complete([{"PartNumber": 2, "ETag": e2},
                    {"PartNumber": 1, "ETag": e1}])
    t.check(got == (400, "InvalidPartOrder"),
            "parts 2,1 -> InvalidPartOrder (%s)" % (got,))
    got = complete([{"PartNumber": 1, "ETag": '"%s"' % ("0" * 32)}])
    t.check(got == (400, "InvalidPart"), "a wrong ETag -> InvalidPart (%s)"
            % (got,))
    got = complete([{"PartNumber": 1, "ETag": e1},
                    {"PartNumber": 7, "ETag": e2}])
    t.check(got == (400, "InvalidPart"),
            "a part never uploaded -> InvalidPart (%s)" % (got,))
    got = complete([{"PartNumber": 1, "ETag": e1},
                    {"PartNumber": 1, "ETag": e1}])
    t.check(got[0] == 400 and got[1] in ("InvalidPartOrder", "InvalidPart"),
            "part 1 twice -> InvalidPartOrder (%s)" % (got,))
    got = complete([{"PartNumber": 1, "ETag": e1}], uid="no-such-upload")
    t.check(got == (404, "NoSuchUpload"),
            "complete of an unknown upload -> NoSuchUpload (%s)" % (got,))
    got = err_code(s3.upload_part, Bucket=b, Key="keep",
                   UploadId="no-such-upload", PartNumber=1, Body=b"x")
    t.check(got == (404, "NoSuchUpload"),
            "UploadPart to an unknown upload -> NoSuchUpload (%s)" % (got,))
    got = err_code(s3.abort_multipart_upload, Bucket=b, Key="keep",
                   UploadId="no-such-upload")
    t.check(got == (404, "NoSuchUpload"),
            "abort of an unknown upload -> NoSuchUpload (%s)" % (got,))
    got = err_code(s3.upload_part, Bucket=b, Key="keep", UploadId=u,
                   PartNumber=10001, Body=b"x")
    t.check(got[0] == 400 and got[1] == "InvalidArgument",
            "part number 10001 -> InvalidArgument (%s)" % (got,))
    got = err_code(s3.upload_part, Bucket=b, Key="keep", UploadId=u,
                   PartNumber=3, Body=b"xyz", ContentMD5=md5_b64(b"abc"))
    t.check(got == (400, "BadDigest"), "UploadPart with a wrong Content-MD5 "
            "-> BadDigest (%s)" % (got,))
    # Raw bodies: malformed and empty part lists.
    for what, xml in (("not XML", b"<CompleteMultipartUpload><Part>"),
                      ("no parts", b"<CompleteMultipartUpload>"
                       b"</CompleteMultipartUpload>"),
                      ("a part without ETag",
                       b"<CompleteMultipartUpload><Part><PartNumber>1"
                       b"</PartNumber></Part></CompleteMultipartUpload>"),
                      ("PartNumber not a number",
                       b"<CompleteMultipartUpload><Part><PartNumber>x"
                       b"</PartNumber><ETag>" + e1.encode() +
                       b"</ETag></Part></CompleteMultipartUpload>")):
        st, raw = t.raw_signed("POST", "/%s/keep?uploadId=%s" % (b, u), xml)
        t.check(st == 400 and s3node.xml_code(raw) in ("MalformedXML",
                                                       "InvalidPart"),
                "CompleteMultipartUpload %s -> 400 MalformedXML (%s %s)" %
                (what, st, s3node.xml_code(raw)))
    t.check(body(s3, b, "keep") == b"old",
            "after the failed completes the object is unchanged")
    r = s3.list_parts(Bucket=b, Key="keep", UploadId=u)
    t.check([p["PartNumber"] for p in r["Parts"]] == [1, 2],
            "the upload still has parts 1 and 2")
    s3.abort_multipart_upload(Bucket=b, Key="keep", UploadId=u)


# ---------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------

def sec_errors(t, s3):
    b = "err-bkt"
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="k", Body=b"0123456789")
    e = err_code
    t.check(e(s3.get_object, Bucket="no-such-bkt", Key="k") ==
            (404, "NoSuchBucket"), "GetObject in a missing bucket -> "
            "NoSuchBucket")
    t.check(e(s3.list_objects_v2, Bucket="no-such-bkt") ==
            (404, "NoSuchBucket"), "ListObjectsV2 of a missing bucket")
    t.check(e(s3.put_object, Bucket="no-such-bkt", Key="k", Body=b"x") ==
            (404, "NoSuchBucket"), "PutObject in a missing bucket")
    t.check(e(s3.delete_bucket, Bucket="no-such-bkt") ==
            (404, "NoSuchBucket"), "DeleteBucket of a missing bucket")
    t.check(e(s3.get_object, Bucket=b, Key="nope") == (404, "NoSuchKey"),
            "GetObject of a missing key -> NoSuchKey")
    t.check(e(s3.head_object, Bucket=b, Key="nope")[0] == 404,
            "HeadObject of a missing key -> 404")
    got = e(s3.delete_bucket, Bucket=b)
    t.check(got == (409, "BucketNotEmpty"), "DeleteBucket of a non-empty "
            "bucket -> BucketNotEmpty (%s)" % (got,))
    t.check(body(s3, b, "k") == b"0123456789", "... and the object is there")
    got = e(s3.create_bucket, Bucket=b)
    t.check(got == (409, "BucketAlreadyOwnedByYou"),
            "CreateBucket twice -> BucketAlreadyOwnedByYou (%s)" % (got,))
    t.check(body(s3, b, "k") == b"0123456789",
            "... and the bucket kept its object")
    for name in ("ab", "x" * 64, "Upper-Case", "-leading", "trailing-",
                 "under_score", "192.168.1.1", "dot..dot", ".dot", "dot."):
        got = e(s3.create_bucket, Bucket=name)
        t.check(got == (400, "InvalidBucketName"),
                "CreateBucket %r -> InvalidBucketName (%s)" % (name, got))
    names = [x["Name"] for x in s3.list_buckets()["Buckets"]]
    t.check(b in names and all(n == n.lower() and "_" not in n and
                               len(n) >= 3 and len(n) <= 63 and
                               n[0] != "-" for n in names),
            "no bad bucket was created (%s)" % names)
    for rng in ("bytes=10-20", "bytes=100-"):
        got = e(s3.get_object, Bucket=b, Key="k", Range=rng)
        t.check(got == (416, "InvalidRange"), "Range %s of 10 bytes -> "
                "InvalidRange (%s)" % (rng, got))
    got = e(s3.put_object, Bucket=b, Key="k", Body=b"new data",
            ContentMD5=md5_b64(b"other data"))
    t.check(got == (400, "BadDigest"), "wrong Content-MD5 -> BadDigest (%s)"
            % (got,))
    t.check(body(s3, b, "k") == b"0123456789", "... object unchanged")
    got = e(s3.put_object, Bucket=b, Key="k", Body=b"new data",
            ContentMD5="not-base64!")
    t.check(got[0] == 400 and got[1] in ("InvalidDigest", "BadDigest"),
            "malformed Content-MD5 -> InvalidDigest (%s)" % (got,))
    t.check(body(s3, b, "k") == b"0123456789", "... object unchanged")
    # MalformedXML: DeleteObjects with a broken body.
    xml = b"<Delete><Object><Key>k</Key></Object>"
    st, raw = t.raw_signed("POST", "/%s?delete" % b, xml,
                           {"Content-MD5": md5_b64(xml)})
    t.check(st == 400 and s3node.xml_code(raw) == "MalformedXML",
            "DeleteObjects with broken XML -> MalformedXML (%s %s)" %
            (st, s3node.xml_code(raw)))
    t.check(body(s3, b, "k") == b"0123456789", "... object unchanged")
    # NotImplemented and MethodNotAllowed.
    got = e(s3.put_object_tagging, Bucket=b, Key="k",
            Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    t.check(got == (501, "NotImplemented"), "PUT ?tagging -> NotImplemented "
            "(%s)" % (got,))
    got = e(s3.get_bucket_policy, Bucket=b)
    t.check(got == (501, "NotImplemented"), "GET ?policy -> NotImplemented "
            "(%s)" % (got,))
    for m, target in (("PATCH", "/%s/k" % b), ("PATCH", "/%s" % b),
                      ("PUT", "/"), ("OPTIONS", "/%s/k" % b)):
        st, raw = t.raw_signed(m, target, b"")
        t.check(st == 405 and s3node.xml_code(raw) == "MethodNotAllowed",
                "%s %s -> 405 MethodNotAllowed (%s %s)" %
                (m, target, st, s3node.xml_code(raw)))
    t.check(body(s3, b, "k") == b"0123456789", "... object unchanged")
    # MissingContentLength: a PUT with neither length nor chunked body.
    req = s3node.signed_raw(t.main, "PUT", "/%s/nolen" % b,
                            payload="UNSIGNED-PAYLOAD",
                            extra={"Connection": "close",
                                   "Transfer-Encoding": "identity"})
    req = req.replace(b"Transfer-Encoding: identity\r\n", b"")
    st, _, raw, _ = s3node.raw_request(t.main.port, req)
    t.check(st == 411 and s3node.xml_code(raw) == "MissingContentLength",
            "PUT without Content-Length -> 411 MissingContentLength (%s %s)"
            % (st, s3node.xml_code(raw)))
    t.check(e(s3.head_object, Bucket=b, Key="nolen")[0] == 404,
            "... nothing stored")


def sec_ranges(t):
    """Ranges across stored chunks (storage.chunk_size = 64 KiB here),
    multipart part boundaries and cached objects, against Python's
    slicing of the same bytes."""
    import random
    n = t.node("chunky", sets={"storage.chunk_size": "65536"})
    s3 = n.boto3()
    b = "range-bkt"
    s3.create_bucket(Bucket=b)
    rnd = random.Random(42)
    objs = {"big": rnd.randbytes(MiB + 123), "small": rnd.randbytes(5000),
            "chunk": rnd.randbytes(65536)}
    for k, v in objs.items():
        s3.put_object(Bucket=b, Key=k, Body=v)
    p1, p2 = rnd.randbytes(5 * MiB + 1000), rnd.randbytes(70001)
    u = s3.create_multipart_upload(Bucket=b, Key="mpu")["UploadId"]
    parts = [{"PartNumber": i + 1, "ETag": s3.upload_part(
        Bucket=b, Key="mpu", UploadId=u, PartNumber=i + 1, Body=p)["ETag"]}
        for i, p in enumerate((p1, p2))]
    s3.complete_multipart_upload(Bucket=b, Key="mpu", UploadId=u,
                                 MultipartUpload={"Parts": parts})
    objs["mpu"] = p1 + p2
    bad = []
    for k, v in objs.items():
        size = len(v)
        got = s3.get_object(Bucket=b, Key=k)["Body"].read()
        if got != v:
            bad.append("%s whole" % k)
        edges = [0, 1, 65535, 65536, 65537, size - 1, 5 * MiB + 999,
                 5 * MiB + 1000, 5 * MiB + 1001]
        specs = [(a, a + ln) for a in edges if a < size
                 for ln in (0, 1, 2, 65536)]
        specs += [(a, a + rnd.randint(0, 300000)) for a in
                  (rnd.randrange(size) for _ in range(25))]
        for first, last in specs:
            g = s3.get_object(Bucket=b, Key=k,
                              Range="bytes=%d-%d" % (first, last))
            want = v[first:last + 1]
            cr = "bytes %d-%d/%d" % (first, min(last, size - 1), size)
            if g["Body"].read() != want or g.get("ContentRange") != cr:
                bad.append("%s bytes=%d-%d" % (k, first, last))
        for suffix in (1, 100, 65536, size, size + 10):
            g = s3.get_object(Bucket=b, Key=k, Range="bytes=-%d" % suffix)
            if g["Body"].read() != v[-suffix:]:
                bad.append("%s bytes=-%d" % (k, suffix))
    t.check(not bad, "ranges at and across chunk and part boundaries, "
            "suffixes, random spans: all equal Python's slices (bad: %s)" %
            bad[:5])
    n.stop()


def sec_too_large(t):
    n = t.node_named("small", sets={"gateway.max_put_mb": "1"})
    s3 = n.boto3()
    s3.create_bucket(Bucket="tl-bkt")
    s3.put_object(Bucket="tl-bkt", Key="k", Body=b"old")
    # The head alone says too much: the answer comes before any body.
    # (boto3 would send the body with the head, and the node's close after
    # an early answer can reset the connection before boto3 reads it.)
    head = s3node.signed_raw(n, "PUT", "/tl-bkt/k",
                             payload="UNSIGNED-PAYLOAD",
                             extra={"Content-Length": str(MiB + 1)})
    st, _, raw, _ = s3node.raw_request(n.port, head)
    t.check(st == 400 and s3node.xml_code(raw) == "EntityTooLarge",
            "PUT with Content-Length 1 MiB + 1 and max_put_mb=1 -> 400 "
            "EntityTooLarge (%s %s)" % (st, s3node.xml_code(raw)))
    t.check(body(s3, "tl-bkt", "k") == b"old", "... object unchanged")
    # A chunked body has no length: it is cut when it passes the limit.
    req = s3node.signed_raw(n, "PUT", "/tl-bkt/k",
                            payload="UNSIGNED-PAYLOAD",
                            extra={"Transfer-Encoding": "chunked"})
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"z" * 64 * 1024)
    st, _, raw, _ = s3node.raw_request(n.port, req + chunk * 17 +
                                       b"0\r\n\r\n")
    t.check((st == 400 and s3node.xml_code(raw) == "EntityTooLarge") or
            (st is None and raw == b"<reset>"),
            "a chunked PUT of 1 MiB + 64 KiB -> 400 EntityTooLarge, or a "
            "reset (%s %s)" % (st, s3node.xml_code(raw) or raw[:20]))
    t.check(body(s3, "tl-bkt", "k") == b"old", "... object unchanged")
    got = err_code(s3.put_object, Bucket="tl-bkt", Key="k", Body=b"y" * MiB)
    t.check(got[0] == 200, "PUT of exactly 1 MiB is allowed (%s)" % (got,))
    n.stop()


def sec_auth(t, s3):
    from botocore import UNSIGNED
    from botocore.config import Config
    import boto3
    node = t.main
    b = "auth-bkt"
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="k", Body=b"secret data")
    e = err_code
    bad = node.boto3(secret_key="W" * 40)
    t.check(e(bad.get_object, Bucket=b, Key="k") ==
            (403, "SignatureDoesNotMatch"), "a wrong secret -> "
            "SignatureDoesNotMatch")
    t.check(e(bad.put_object, Bucket=b, Key="k", Body=b"evil") ==
            (403, "SignatureDoesNotMatch"), "PUT with a wrong secret")
    t.check(e(bad.delete_object, Bucket=b, Key="k")[0] == 403,
            "DELETE with a wrong secret")
    unk = node.boto3(access_key="AKIANOSUCHKEY0000000")
    t.check(e(unk.get_object, Bucket=b, Key="k") ==
            (403, "InvalidAccessKeyId"), "an unknown access key -> "
            "InvalidAccessKeyId")
    t.check(e(unk.list_buckets) == (403, "InvalidAccessKeyId"),
            "ListBuckets with an unknown key")
    anon = boto3.session.Session().client(
        "s3", endpoint_url=node.endpoint, region_name="us-east-1",
        config=Config(signature_version=UNSIGNED,
                      s3={"addressing_style": "path"},
                      retries={"total_max_attempts": 1}))
    t.check(e(anon.get_object, Bucket=b, Key="k") == (403, "AccessDenied"),
            "an unsigned GET -> AccessDenied")
    t.check(e(anon.put_object, Bucket=b, Key="k", Body=b"evil") ==
            (403, "AccessDenied"), "an unsigned PUT -> AccessDenied")
    t.check(e(anon.list_buckets) == (403, "AccessDenied"),
            "an unsigned ListBuckets -> AccessDenied")
    with s3node.skewed_clock(-20 * 60):
        got = e(s3.get_object, Bucket=b, Key="k")
        got2 = e(s3.put_object, Bucket=b, Key="k", Body=b"evil")
    t.check(got == (403, "RequestTimeTooSkewed"),
            "a clock 20 min behind -> RequestTimeTooSkewed (%s)" % (got,))
    t.check(got2 == (403, "RequestTimeTooSkewed"), "PUT with it (%s)" %
            (got2,))
    with s3node.skewed_clock(20 * 60):
        got = e(s3.get_object, Bucket=b, Key="k")
    t.check(got == (403, "RequestTimeTooSkewed"),
            "a clock 20 min ahead -> RequestTimeTooSkewed (%s)" % (got,))
    with s3node.skewed_clock(-60):
        got = e(s3.get_object, Bucket=b, Key="k")
    t.check(got[0] == 200, "a clock 1 min behind is fine (%s)" % (got,))
    # A second user.
    ak, sk = node.create_user("bob")
    bob = node.boto3(access_key=ak, secret_key=sk)
    for what, fn, kw, want in (
            ("GETs admin's object", bob.get_object, {"Key": "k"},
             (403, "AccessDenied")),
            ("HEADs admin's object", bob.head_object, {"Key": "k"},
             (403, None)),
            ("PUTs into admin's bucket", bob.put_object,
             {"Key": "k", "Body": b"bob was here"}, (403, "AccessDenied")),
            ("PUTs a new key into admin's bucket", bob.put_object,
             {"Key": "bobs", "Body": b"x"}, (403, "AccessDenied")),
            ("DELETEs admin's object", bob.delete_object, {"Key": "k"},
             (403, "AccessDenied")),
            ("DeleteObjects in admin's bucket", bob.delete_objects,
             {"Delete": {"Objects": [{"Key": "k"}]}},
             (403, "AccessDenied")),
            ("lists admin's bucket", bob.list_objects_v2, {},
             (403, "AccessDenied")),
            ("lists admin's bucket (v1)", bob.list_objects, {},
             (403, "AccessDenied")),
            ("lists admin's uploads", bob.list_multipart_uploads, {},
             (403, "AccessDenied")),
            ("starts an upload in admin's bucket",
             bob.create_multipart_upload, {"Key": "mp"},
             (403, "AccessDenied")),
            ("deletes admin's bucket", bob.delete_bucket, {},
             (403, "AccessDenied")),
            ("HEADs admin's bucket", bob.head_bucket, {}, (403, None)),
            ("asks admin's bucket's location", bob.get_bucket_location, {},
             (403, "AccessDenied")),
            ("copies inside admin's bucket", bob.copy_object,
             {"Key": "c", "CopySource": {"Bucket": b, "Key": "k"}},
             (403, "AccessDenied"))):
        got = e(fn, Bucket=b, **kw)
        if want[1] is None:
            got = (got[0], None)
        t.check(got == want, "bob %s -> %s (%s)" % (what, want, got))
    got = e(bob.create_bucket, Bucket=b)
    t.check(got == (409, "BucketAlreadyExists"),
            "bob creates admin's bucket name -> BucketAlreadyExists (%s)" %
            (got,))
    t.check(body(s3, b, "k") == b"secret data" and
            [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]] ==
            ["k"], "admin's bucket and object are unchanged")
    bob.create_bucket(Bucket="bob-bkt")
    bob.put_object(Bucket="bob-bkt", Key="mine", Body=b"bob's")
    t.check(body(bob, "bob-bkt", "mine") == b"bob's",
            "bob uses his own bucket")
    names = [x["Name"] for x in bob.list_buckets()["Buckets"]]
    t.check(names == ["bob-bkt"], "bob's ListBuckets shows his bucket only "
            "(%s)" % names)


def sec_copy_auth(t, s3):
    """A copy reads its source: the caller needs read access to it."""
    e = err_code
    b = "secret-bkt"
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="k", Body=b"secret data")
    ak, sk = t.main.create_user("eve")
    eve = t.main.boto3(access_key=ak, secret_key=sk)
    eve.create_bucket(Bucket="eve-bkt")
    got = e(eve.copy_object, Bucket="eve-bkt", Key="stolen",
            CopySource={"Bucket": b, "Key": "k"})
    t.check(got == (403, "AccessDenied"),
            "eve copies admin's object into her bucket -> AccessDenied (%s)"
            % (got,))
    got = e(eve.head_object, Bucket="eve-bkt", Key="stolen")
    t.check(got[0] == 404, "... nothing stored (%s)" % (got,))
    u = eve.create_multipart_upload(Bucket="eve-bkt", Key="up")["UploadId"]
    got = e(eve.upload_part_copy, Bucket="eve-bkt", Key="up", UploadId=u,
            PartNumber=1, CopySource={"Bucket": b, "Key": "k"})
    t.check(got == (403, "AccessDenied"),
            "eve UploadPartCopy from admin's object -> AccessDenied (%s)" %
            (got,))
    got = e(eve.list_parts, Bucket="eve-bkt", Key="up", UploadId=u)
    t.check(got[0] == 200 and not eve.list_parts(
        Bucket="eve-bkt", Key="up", UploadId=u).get("Parts"),
        "... no part stored")


# ---------------------------------------------------------------------
# conn: keep-alive connections reused after answers that did not read
# the request body (checks that err_code's connection drop would hide)
# ---------------------------------------------------------------------

def sec_conn(t, s3):
    b = "conn-bkt"
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="k", Body=b"kept")
    # botocore sends Expect: 100-continue with PutObject, even for an
    # empty body, and sends the body with the head; a node that answers
    # without 100 Continue must leave the connection usable for botocore.
    s3.put_object(Bucket=b, Key="empty", Body=b"")
    try:
        r = s3.put_object(Bucket=b, Key="after-empty", Body=b"ae")
        got = r["ResponseMetadata"]["HTTPStatusCode"]
    except Exception as e:
        got = "%s: %s" % (type(e).__name__, e)
    t.check(got == 200, "boto3: a PutObject right after an empty PutObject "
            "on the same connection (%s)" % (got,))
    s3b = t.main.boto3()
    s3b.list_buckets()
    for what, call in (
            ("PUT ?tagging (501)", lambda: s3b.put_object_tagging(
                Bucket=b, Key="k", Tagging={"TagSet": [
                    {"Key": "a", "Value": "b"}]})),
            ("PUT with a bad Content-MD5 (400)", lambda: s3b.put_object(
                Bucket=b, Key="k", Body=b"new", ContentMD5="AAAAAAAAAAAAAA"
                "AAAAAAAA==")),
            ("PUT into a missing bucket (404)", lambda: s3b.put_object(
                Bucket="no-such-bkt", Key="k", Body=b"new"))):
        try:
            call()
        except Exception:
            pass
        try:
            got = s3b.get_object(Bucket=b, Key="k")["Body"].read()
        except Exception as e:
            got = "%s: %s" % (type(e).__name__, e)
        t.check(got == b"kept", "boto3: a GET on the connection after %s "
                "(%s)" % (what, got))
    # The same over one raw socket: an error answered before the body was
    # read must either be followed by reading (and dropping) that body,
    # or by closing the connection; never by silence.
    node = t.main
    body = b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag>" \
        b"</TagSet></Tagging>"
    for what, req in (
            ("501 NotImplemented", s3node.signed_raw(
                node, "PUT", "/%s/k?tagging" % b, body=body)),
            ("403 SignatureDoesNotMatch", s3node.signed_raw(
                node, "PUT", "/%s/k" % b, body=b"abc",
                secret_key="wrong-secret-key")),
            ("403 AccessDenied (unsigned)", s3node.raw_bytes(
                "PUT", "/%s/k" % b, {"Host": "x", "Content-Length": "3"},
                b"abc")),
            ("404 NoSuchBucket", s3node.signed_raw(
                node, "PUT", "/no-such-bkt/k", body=b"abc"))):
        s = node.raw(timeout=3)
        s.sendall(req)
        st1, h1, _, _ = s3node.read_response(s, read_all=False)
        closing = h1.get("connection", "").lower() == "close"
        try:
            s.sendall(s3node.signed_raw(node, "GET", "/%s/k" % b))
            st2, _, b2, _ = s3node.read_response(s, read_all=False)
        except OSError:
            st2, b2 = None, b""
        s.close()
        t.check(st2 == 200 and b2 == b"kept" or (closing and st2 is None),
                "raw: after %s (got %s, Connection: close %s) the next "
                "request is answered, or the connection was closed (next: "
                "%s)" % (what, st1, closing, st2))


# ---------------------------------------------------------------------

class T(Suite):
    main = None  # the node the sections share

    def node_named(self, name, sets=None):
        return self.node(name, sets=sets)

    def raw_signed(self, method, target, data, headers=None, host=None):
        req = s3node.signed_raw(self.main, method, target, headers, data,
                                host=host)
        st, _, raw, _ = s3node.raw_request(self.main.port, req,
                                           read_all=False)
        return st, raw

    def raw_get(self, target):
        return self.raw_signed("GET", target, b"")


def main():
    with T("s3_boto3") as t:
        groups = {"ops": ["buckets", "objects", "conditional", "copy",
                          "list", "cache"],
                  "mpu": ["mpu"], "errors": ["errors", "too_large"],
                  "concurrency": ["concurrency"], "ranges": ["ranges"],
                  "auth": ["auth"], "copyauth": ["copy_auth"],
                  "conn": ["conn"]}
        want = []
        for c in t.args.cases or ["ops", "mpu", "errors", "auth", "copyauth",
                                  "conn", "concurrency", "ranges"]:
            want += groups.get(c, [c])
        t.args.cases = want
        t.main = t.node()
        s3 = t.main.boto3()
        t.case("buckets", sec_buckets, t, s3)
        t.case("objects", sec_objects, t, s3)
        t.case("conditional", sec_conditional, t, s3)
        t.case("copy", sec_copy, t, s3)
        t.case("list", sec_list, t, s3)
        t.case("cache", sec_cache, t, s3)
        t.case("mpu", sec_mpu, t, s3)
        t.case("concurrency", sec_concurrency, t, s3)
        t.case("ranges", sec_ranges, t)
        t.case("errors", sec_errors, t, s3)
        t.case("auth", sec_auth, t, s3)
        t.case("too_large", sec_too_large, t)
        t.case("copy_auth", sec_copy_auth, t, s3)
        t.case("conn", sec_conn, t, s3)


if __name__ == "__main__":
    main()
