#!/usr/bin/python3
"""test_s3_rest.py - curl against a real cleo node: LeoFS's REST API on
gateway.rest.port with a bearer token (PUT/GET/HEAD/DELETE /bucket/key,
GET /bucket?prefix= as JSON, 403 without the token), sharing storage with
S3; and presigned S3 URLs (GET, PUT, expired, tampered).

    /usr/bin/python3 test_s3_rest.py --bin build/release/cmd
"""
import hashlib
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3node  # noqa: E402

TOKEN = "rest-token-0123456789"


def curl(t, url, *args, out=None):
    """(status, headers dict, body bytes) of one curl call."""
    hdr = os.path.join(t.tmp, "curl.headers")
    body = out or os.path.join(t.tmp, "curl.body")
    r = t.run(["curl", "-s", "-S", "-D", hdr, "-o", body, "-w",
               "%{http_code}"] + list(args) + [url], timeout=60)
    code = int(r.stdout.strip() or 0)
    headers = {}
    try:
        with open(hdr, "rb") as f:
            # With redirects or 100-continue there are several heads: the
            # last one is the answer.
            text = f.read().decode("latin-1").strip().split("\r\n\r\n")[-1]
            for line in text.split("\r\n")[1:]:
                k, _, v = line.partition(":")
                if k:
                    headers[k.strip().lower()] = v.strip()
    except FileNotFoundError:
        pass
    data = b""
    if out is None and os.path.exists(body):
        with open(body, "rb") as f:
            data = f.read()
        os.remove(body)
    return code, headers, data


def sec_rest(t, node, s3):
    base = "http://127.0.0.1:%d" % node.rest_port
    auth = ["-H", "Authorization: Bearer " + TOKEN]
    s3.create_bucket(Bucket="rest-bkt")
    f = os.path.join(t.tmp, "up.bin")
    data = os.urandom(200000)
    with open(f, "wb") as fh:
        fh.write(data)
    code, h, _ = curl(t, base + "/rest-bkt/dir/obj.bin", "-X", "PUT",
                      "--data-binary", "@" + f, *auth)
    t.check(code == 200, "REST PUT /rest-bkt/dir/obj.bin -> 200 (%d)" % code)
    code, h, body = curl(t, base + "/rest-bkt/dir/obj.bin", *auth)
    t.check(code == 200 and body == data, "REST GET returns the bytes (%d)" %
            code)
    etag = h.get("etag", "").strip('"')
    t.check(etag == hashlib.md5(data).hexdigest(), "REST GET ETag is the "
            "MD5 (%s)" % etag)
    code, h, body = curl(t, base + "/rest-bkt/dir/obj.bin", "-I", *auth)
    t.check(code == 200 and h.get("content-length") == str(len(data)) and
            h.get("etag", "").strip('"') == etag, "REST HEAD -> 200, Content-Length %s" %
            h.get("content-length"))
    code, h, body = curl(t, base + "/rest-bkt/dir/obj.bin", "-r", "10-19",
                         *auth)
    t.check(code == 206 and body == data[10:20], "REST GET with a Range")
    # The same storage as S3.
    g = s3.get_object(Bucket="rest-bkt", Key="dir/obj.bin")
    t.check(g["Body"].read() == data and g["ETag"].strip('"') == etag,
            "S3 reads the REST object with the same ETag")
    s3.put_object(Bucket="rest-bkt", Key="dir/from-s3", Body=b"s3 wrote")
    code, _, body = curl(t, base + "/rest-bkt/dir/from-s3", *auth)
    t.check(code == 200 and body == b"s3 wrote", "REST reads an S3 object")
    s3.put_object(Bucket="rest-bkt", Key="other/x", Body=b"x")
    code, h, body = curl(t, base + "/rest-bkt?prefix=dir/", *auth)
    j = {}
    try:
        j = json.loads(body)
    except ValueError:
        pass
    keys = [o.get("key") for o in j.get("objects", [])]
    t.check(code == 200 and "json" in h.get("content-type", "") and
            keys == ["dir/from-s3", "dir/obj.bin"],
            "REST GET /rest-bkt?prefix=dir/ lists 2 keys as JSON (%s)" %
            body[:200])
    obj = [o for o in j.get("objects", []) if o.get("key") == "dir/obj.bin"]
    t.check(obj and obj[0].get("size") == len(data) and
            obj[0].get("etag", "").strip('"') == etag,
            "the JSON entry has size and etag")
    code, _, body = curl(t, base + "/rest-bkt", *auth)
    t.check(code == 200 and len(json.loads(body or b"{}").get(
        "objects", [])) == 3, "REST GET /rest-bkt lists all 3")
    # Without the token, or a wrong one: 403, nothing changes.
    for what, extra in (("no token", []),
                        ("a wrong token", ["-H", "Authorization: Bearer "
                                           "nope"]),
                        ("a token prefix", ["-H", "Authorization: Bearer "
                                            + TOKEN[:-1]]),
                        ("a longer token", ["-H", "Authorization: Bearer "
                                            + TOKEN + "x"]),
                        ("basic auth", ["-u", "admin:" + TOKEN])):
        code, _, _ = curl(t, base + "/rest-bkt/dir/obj.bin", *extra)
        t.check(code == 403, "REST GET with %s -> 403 (%d)" % (what, code))
        code, _, _ = curl(t, base + "/rest-bkt/dir/obj.bin", "-X", "PUT",
                          "--data-binary", "evil", *extra)
        t.check(code == 403, "REST PUT with %s -> 403 (%d)" % (what, code))
        code, _, _ = curl(t, base + "/rest-bkt/dir/obj.bin", "-X",
                          "DELETE", *extra)
        t.check(code == 403, "REST DELETE with %s -> 403 (%d)" % (what,
                                                                  code))
        code, _, _ = curl(t, base + "/rest-bkt?prefix=", *extra)
        t.check(code == 403, "REST list with %s -> 403 (%d)" % (what, code))
    t.check(s3.get_object(Bucket="rest-bkt", Key="dir/obj.bin")[
        "Body"].read() == data, "the object is unchanged")
    # Errors as JSON.
    code, _, body = curl(t, base + "/rest-bkt/missing", *auth)
    t.check(code == 404 and b"NoSuchKey" in body, "REST GET of a missing "
            "key -> 404 NoSuchKey (%d %s)" % (code, body[:100]))
    code, _, body = curl(t, base + "/no-such-bkt?prefix=", *auth)
    t.check(code == 404 and b"NoSuchBucket" in body,
            "REST list of a missing bucket -> 404 NoSuchBucket (%d)" % code)
    code, _, body = curl(t, base + "/rest-bkt/a/../b", "--path-as-is",
                         "-X", "PUT", "--data-binary", "x", *auth)
    t.check(code == 400, "REST PUT of a key with .. -> 400 (%d)" % code)
    code, _, _ = curl(t, base + "/rest-bkt/dir/obj.bin", "-X", "POST",
                      "--data-binary", "x", *auth)
    t.check(code == 405, "REST POST -> 405 (%d)" % code)
    # The gateway's cache: an object read (and cached) through S3 and
    # rewritten through REST is read back new through S3, and the reverse.
    s3.put_object(Bucket="rest-bkt", Key="hot", Body=b"v1")
    for _ in range(3):
        s3.get_object(Bucket="rest-bkt", Key="hot")["Body"].read()
    code, _, _ = curl(t, base + "/rest-bkt/hot", "-X", "PUT",
                      "--data-binary", "v2 from REST", *auth)
    got = s3.get_object(Bucket="rest-bkt", Key="hot")["Body"].read()
    t.check(code == 200 and got == b"v2 from REST",
            "cache: a REST PUT replaces what S3 reads (%r)" % got)
    for _ in range(3):
        curl(t, base + "/rest-bkt/hot", *auth)
    s3.put_object(Bucket="rest-bkt", Key="hot", Body=b"v3 from S3")
    code, _, body = curl(t, base + "/rest-bkt/hot", *auth)
    t.check(body == b"v3 from S3", "cache: an S3 PUT replaces what REST "
            "reads (%r)" % body)
    code, _, _ = curl(t, base + "/rest-bkt/hot", "-X", "DELETE", *auth)
    got = s3node.err_code(s3.get_object, Bucket="rest-bkt", Key="hot")
    t.check(got == (404, "NoSuchKey"), "cache: a REST DELETE -> S3 404 (%s)"
            % (got,))
    # DELETE.
    code, _, _ = curl(t, base + "/rest-bkt/dir/obj.bin", "-X", "DELETE",
                      *auth)
    t.check(code in (200, 204), "REST DELETE -> 200/204 (%d)" % code)
    code, _, _ = curl(t, base + "/rest-bkt/dir/obj.bin", *auth)
    t.check(code == 404, "REST GET after DELETE -> 404 (%d)" % code)
    t.check(s3node.err_code(s3.head_object, Bucket="rest-bkt",
                            Key="dir/obj.bin")[0] == 404,
            "S3 sees the REST delete")
    # The S3 port does not take the REST token.
    code, _, body = curl(t, node.endpoint + "/rest-bkt/dir/from-s3", *auth)
    t.check(code in (400, 403), "the S3 port refuses the bearer token (%d)"
            % code)


def sec_presign(t, node, s3):
    s3.create_bucket(Bucket="pre-bkt")
    s3.put_object(Bucket="pre-bkt", Key="p.txt", Body=b"presigned body")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "pre-bkt", "Key": "p.txt"},
        ExpiresIn=300)
    code, h, body = curl(t, url)
    t.check(code == 200 and body == b"presigned body",
            "curl GET of a presigned URL -> 200 (%d)" % code)
    url2 = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "pre-bkt", "Key": "p.txt",
                              "ResponseContentType": "text/x-pre"},
        ExpiresIn=300)
    code, h, body = curl(t, url2)
    t.check(code == 200 and h.get("content-type") == "text/x-pre",
            "presigned GET with response-content-type (%s)" %
            h.get("content-type"))
    code, _, body = curl(t, url, "-r", "0-8")
    t.check(code == 206 and body == b"presigned", "presigned GET with a "
            "Range header")
    put = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "pre-bkt", "Key": "up.txt"},
        ExpiresIn=300)
    f = os.path.join(t.tmp, "pput")
    with open(f, "wb") as fh:
        fh.write(b"uploaded by curl")
    code, _, _ = curl(t, put, "-T", f)
    t.check(code == 200 and s3.get_object(Bucket="pre-bkt", Key="up.txt")[
        "Body"].read() == b"uploaded by curl",
        "curl PUT to a presigned URL stores the object (%d)" % code)
    code, _, body = curl(t, url.replace("p.txt", "q.txt"))
    t.check(code == 403 and b"SignatureDoesNotMatch" in body,
            "a presigned URL for another key -> SignatureDoesNotMatch (%d)" %
            code)
    i = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    bad = url[:i] + ("0" if url[i] != "0" else "1") + url[i + 1:]
    code, _, body = curl(t, bad)
    t.check(code == 403 and b"SignatureDoesNotMatch" in body,
            "a tampered signature -> SignatureDoesNotMatch (%d)" % code)
    code, _, body = curl(t, url.replace("X-Amz-Expires=300",
                                        "X-Amz-Expires=900"))
    t.check(code == 403, "a changed X-Amz-Expires -> 403 (%d)" % code)
    code, _, body = curl(t, put)
    t.check(code == 403 and b"SignatureDoesNotMatch" in body,
            "a presigned PUT URL used to GET -> SignatureDoesNotMatch (%d)" %
            code)
    week = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "pre-bkt", "Key": "p.txt"},
        ExpiresIn=7 * 86400 + 1)
    code, _, body = curl(t, week)
    t.check(code in (400, 403), "X-Amz-Expires over 7 days -> 400/403 "
            "(%d %s)" % (code, body[:100]))
    exp = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "pre-bkt", "Key": "p.txt"},
        ExpiresIn=1)
    time.sleep(2.2)
    code, _, body = curl(t, exp)
    t.check(code == 403 and b"AccessDenied" in body,
            "an expired presigned URL -> 403 AccessDenied (%d %s)" %
            (code, body[:100]))
    code, _, body = curl(t, url, "-X", "DELETE")
    t.check(code == 403, "a GET URL used to DELETE -> 403 (%d)" % code)
    t.check(s3.get_object(Bucket="pre-bkt", Key="p.txt")["Body"].read() ==
            b"presigned body", "the object is unchanged")
    # SigV2 query auth, as old clients presign.
    s2 = node.boto3(signature_version="s3")
    url = s2.generate_presigned_url(
        "get_object", Params={"Bucket": "pre-bkt", "Key": "p.txt"},
        ExpiresIn=300)
    code, _, body = curl(t, url)
    t.check(code == 200 and body == b"presigned body",
            "a SigV2 presigned URL (Signature=, Expires=) -> 200 (%d)" %
            code)


def main():
    with s3node.Suite("s3_rest") as t:
        rp = s3node.free_port()
        node = t.node(sets={"gateway.rest.port": str(rp),
                            "gateway.rest.token": TOKEN})
        s3 = node.boto3()
        t.case("rest", sec_rest, t, node, s3)
        t.case("presign", sec_presign, t, node, s3)


if __name__ == "__main__":
    main()
