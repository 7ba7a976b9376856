#!/usr/bin/env python3
"""Signature test vectors for gateway/sigv4.c, sigv2.c and awschunked.c,
computed by botocore (the signer of aws-cli and boto3), not by our code.

Regenerate (Debian: python3-boto3 installed):

    python3 tests/gateway/vectors.py > tests/gateway/auth_vectors.h

Each vector is a request as it would appear on the wire after botocore
signed it: method, raw path, raw query and the headers in order. The
clock is pinned to NOW so the C tests can pass the same `now`.
"""
import base64
import datetime
import hashlib
import hmac
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NOW = datetime.datetime(2026, 11, 25, 12, 0, 0,
                        tzinfo=datetime.timezone.utc)
NOW_TS = int(NOW.timestamp())
HOST = "127.0.0.1:8080"
CREDS = Credentials(AK, SK)


def wire(req):
    u = urlsplit(req.url)
    hdrs = [(k, v if isinstance(v, str) else v.decode()) for k, v in
            req.headers.items()]
    if not any(k.lower() == "host" for k, _ in hdrs):
        hdrs.insert(0, ("Host", HOST))  # what the HTTP client adds
    return req.method, u.path, u.query, hdrs


def v4(method, path, query="", headers=None, body=b"", sha=None):
    url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url, data=body,
                     headers=dict(headers or {}))
    if sha is not None:
        req.context["payload_signing_enabled"] = True
    with mock.patch.object(botocore.auth, "get_current_datetime",
                           return_value=NOW.replace(tzinfo=None)):
        botocore.auth.S3SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
    if sha is not None:
        req.headers.replace_header("X-Amz-Content-SHA256", sha)
        with mock.patch.object(botocore.auth, "get_current_datetime",
                               return_value=NOW.replace(tzinfo=None)):
            # Re-sign with the forced payload hash line.
            del req.headers["Authorization"]
            signer = botocore.auth.S3SigV4Auth(CREDS, "s3", "us-east-1")
            signer.payload = lambda r: sha
            signer.add_auth(req)
    return wire(req)


def v4q(method, path, query="", expires=3600):
    url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url)
    with mock.patch.object(botocore.auth, "get_current_datetime",
                           return_value=NOW.replace(tzinfo=None)):
        botocore.auth.S3SigV4QueryAuth(CREDS, "s3", "us-east-1",
                                       expires=expires).add_auth(req)
    return wire(req)


def v2(method, path, query="", headers=None):
    url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    with mock.patch.object(botocore.auth.HmacV1Auth, "_get_date",
                           return_value="Wed, 25 Nov 2026 12:00:00 GMT"):
        botocore.auth.HmacV1Auth(CREDS).add_auth(req)
    return wire(req)


def v2q(method, path, query="", expires=600):
    url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url)
    with mock.patch("time.time", return_value=float(NOW_TS)):
        botocore.auth.HmacV1QueryAuth(CREDS, expires=expires).add_auth(req)
    del req.headers["Date"]  # moved into the URL as Expires
    return wire(req)


def c(s):
    out = '"'
    for ch in s.encode():
        if ch in (0x22, 0x5C):
            out += "\\" + chr(ch)
        elif 32 <= ch < 127:
            out += chr(ch)
        else:
            out += "\\%03o" % ch
    return out + '"'


def emit(name, w, body=""):
    method, path, query, hdrs = w
    print(f"    {{{c(name)}, {c(method)}, {c(path)}, {c(query)}, {c(body)},")
    print(f"     {len(hdrs)}, {{")
    for k, v in hdrs:
        print(f"         {{{c(k)}, {c(v)}}},")
    print("     }},")


def chunk_vectors():
    """AWS's documented aws-chunked example (PUT chunkObject.txt): our
    own HMAC chain, checked against the signatures in AWS's page."""
    key_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    date, scope = "20130524T000000Z", "20130524/us-east-1/s3/aws4_request"

    def h(k, m):
        return hmac.new(k, m.encode(), hashlib.sha256).digest()
    k = h(h(h(h(("AWS4" + key_secret).encode(), "20130524"),
              "us-east-1"), "s3"), "aws4_request")
    prev = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    sigs = []
    for data in (b"a" * 65536, b"a" * 1024, b""):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", date, scope, prev,
                         hashlib.sha256(b"").hexdigest(),
                         hashlib.sha256(data).hexdigest()])
        prev = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        sigs.append(prev)
    assert sigs == [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ], sigs
    for i, s in enumerate(sigs):
        print(f"#define AWS_CHUNK_SIG{i} {c(s)}")


def trailer_vectors():
    """botocore's own STREAMING-UNSIGNED-PAYLOAD-TRAILER body."""
    import io
    from botocore import httpchecksum as hc
    data = b"hello world, this is aws-chunked"
    w = hc.AwsChunkedWrapper(io.BytesIO(data), checksum_cls=hc.Crc32Checksum,
                             checksum_name="x-amz-checksum-crc32",
                             chunk_size=8)
    print(f"#define TRAILER_DATA {c(data.decode())}")
    print(f"#define TRAILER_BODY {c(w.read().decode())}")
    w = hc.AwsChunkedWrapper(io.BytesIO(data),
                             checksum_cls=hc.Sha256Checksum,
                             checksum_name="x-amz-checksum-sha256",
                             chunk_size=16)
    print(f"#define TRAILER_BODY_SHA256 {c(w.read().decode())}")
    w = hc.AwsChunkedWrapper(io.BytesIO(data), checksum_cls=hc.Sha1Checksum,
                             checksum_name="x-amz-checksum-sha1",
                             chunk_size=1024)
    print(f"#define TRAILER_BODY_SHA1 {c(w.read().decode())}")


def main():
    empty = hashlib.sha256(b"").hexdigest()
    hello = hashlib.sha256(b"hello").hexdigest()
    print("/* Generated by tests/gateway/vectors.py (botocore "
          f"{botocore.__version__}); do not edit. */")
    print(f"#define VEC_NOW {NOW_TS}")
    print(f"#define VEC_AK {c(AK)}")
    print(f"#define VEC_SK {c(SK)}")
    chunk_vectors()
    trailer_vectors()
    print("static const vec_t v4_vectors[] = {")
    emit("get_list_query", v4("GET", "/bucket",
                              "list-type=2&prefix=a%20b&max-keys=10"))
    emit("put_encoded_key", v4("PUT", "/bucket/my%20key%2Bplus~tilde",
                               headers={"Content-Type": "text/plain"},
                               body=b"hello", sha=hello), "hello")
    emit("get_unicode_key", v4("GET", "/bucket/%C3%A9t%C3%A9/%E2%9C%93"))
    emit("get_escaped_slash", v4("GET", "/bucket/a%2Fb/c"))
    emit("uploads_no_value", v4("POST", "/bucket/big", "uploads"))
    emit("repeated_and_empty", v4("GET", "/bucket",
                                  "prefix=&b=2&a=2&a=1&delimiter=%2F"))
    emit("meta_spaces", v4("PUT", "/bucket/k", headers={
        "x-amz-meta-note": "  a   b  c ", "Content-Type": "text/plain"},
        body=b"", sha=empty))
    emit("unsigned_payload", v4("PUT", "/bucket/u", body=b"hello",
                                sha="UNSIGNED-PAYLOAD"), "hello")
    emit("upload_part", v4("PUT", "/bucket/big",
                           "partNumber=3&uploadId=abc%2Bdef%3D",
                           body=b"hello", sha=hello), "hello")
    # Clients that send (and sign) bytes AWS's rules would escape:
    # botocore signs the wire bytes, so must we.
    emit("raw_specials", v4("GET", "/bucket/a!b(c)*'d"))
    emit("raw_plus_query", v4("GET", "/bucket", "prefix=a+b&x=%7e"))
    print("};")
    print("static const vec_t v4q_vectors[] = {")
    emit("presign_get", v4q("GET", "/bucket/my%20key"))
    emit("presign_get_resp", v4q(
        "GET", "/bucket/f.txt",
        "response-content-disposition=attachment%3B%20filename%3Df.txt"))
    emit("presign_put_week", v4q("PUT", "/bucket/up", expires=604800))
    print("};")
    print("static const vec_t v2_vectors[] = {")
    emit("v2_get", v2("GET", "/bucket/my%20key"))
    emit("v2_put_amz", v2("PUT", "/bucket/k", headers={
        "Content-Type": "text/plain", "Content-MD5": "XUFAKrxLKna5cZ2REBfFkg==",
        "x-amz-meta-b": "2", "X-Amz-Meta-A": "1", "x-amz-acl": "private"}))
    emit("v2_subresources", v2("GET", "/bucket/k",
                               "versionId=3&acl&prefix=x&uploadId=a%2Fb"))
    emit("v2_amz_date_and_date", v2("GET", "/bucket/k", headers={
        "x-amz-date": "Wed, 25 Nov 2026 12:01:00 GMT"}))
    # s3cmd's way: x-amz-date and no Date, so the date line is empty
    # (AWS's RESTAuthentication rule; botocore always sends Date).
    xd = "Wed, 25 Nov 2026 11:59:00 +0000"
    sts = f"GET\n\n\n\nx-amz-date:{xd}\n/bucket/k?uploads"
    sig = base64.b64encode(hmac.new(SK.encode(), sts.encode(),
                                    hashlib.sha1).digest()).decode()
    emit("v2_s3cmd_style", ("GET", "/bucket/k", "uploads", [
        ("Host", HOST), ("x-amz-date", xd),
        ("Authorization", f"AWS {AK}:{sig}")]))
    print("};")
    print("static const vec_t v2q_vectors[] = {")
    emit("v2q_get", v2q("GET", "/bucket/my%20key"))
    emit("v2q_acl", v2q("GET", "/bucket/k", "acl"))
    print("};")


if __name__ == "__main__":
    main()
