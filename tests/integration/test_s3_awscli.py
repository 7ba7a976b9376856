#!/usr/bin/python3
"""test_s3_awscli.py - aws-cli (Debian's /usr/bin/aws) against a real cleo
node: s3 mb/cp/ls/sync/rm/rb, s3api list-objects-v2 pagination over 250
keys, a 100 MiB multipart upload and download compared by SHA-256, and
presigned URLs fetched with curl (valid, expired, tampered).

    /usr/bin/python3 test_s3_awscli.py --bin build/release/cmd
"""
import json
import os
import shutil
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3node  # noqa: E402

AWS = shutil.which("aws", path="/usr/bin") or "aws"
MiB = 1 << 20


def main():
    with s3node.Suite("s3_awscli") as t:
        node = t.node()
        env = node.aws_env()
        work = os.path.join(node.dir, "work")
        os.makedirs(work)

        def aws(*args, timeout=300):
            return t.run([AWS, "--endpoint-url", node.endpoint] +
                         list(args), env=env, timeout=timeout, cwd=work)
        aws.env = env

        t.case("s3", sec_s3, t, node, aws, work)
        t.case("pagination", sec_pages, t, node, aws, work)
        t.case("multipart", sec_big, t, node, aws, work)
        t.case("presign", sec_presign, t, node, aws, work)


def sec_s3(t, node, aws, work):
    b = "s3://cli-bkt"
    t.check(aws("s3", "mb", b).returncode == 0, "aws s3 mb")
    r = aws("s3", "mb", b)
    t.check(r.returncode != 0 and "BucketAlreadyOwnedByYou" in r.stderr,
            "aws s3 mb again -> BucketAlreadyOwnedByYou")
    r = aws("s3", "ls")
    t.check(r.returncode == 0 and "cli-bkt" in r.stdout, "aws s3 ls lists "
            "the bucket")
    env_bad = dict(aws.env, AWS_ACCESS_KEY_ID=node.access_key,
                   AWS_SECRET_ACCESS_KEY="wrong-secret-0123456789")
    r = t.run([AWS, "--endpoint-url", node.endpoint, "s3", "ls"],
              env=env_bad, cwd=work)
    t.check(r.returncode != 0 and "SignatureDoesNotMatch" in r.stderr,
            "aws with a wrong secret -> SignatureDoesNotMatch")
    env_bad["AWS_ACCESS_KEY_ID"] = "NOSUCHKEY00000000000"
    r = t.run([AWS, "--endpoint-url", node.endpoint, "s3", "ls"],
              env=env_bad, cwd=work)
    t.check(r.returncode != 0 and "InvalidAccessKeyId" in r.stderr,
            "aws with an unknown key -> InvalidAccessKeyId")
    one = os.path.join(work, "one.txt")
    with open(one, "w") as f:
        f.write("hello from aws-cli\n")
    t.check(aws("s3", "cp", one, b + "/dir/one.txt").returncode == 0,
            "aws s3 cp up")
    r = aws("s3", "ls", b + "/dir/")
    t.check(r.returncode == 0 and "one.txt" in r.stdout and " 19 " in
            r.stdout, "aws s3 ls shows one.txt, 19 bytes: %r" % r.stdout)
    r = aws("s3", "ls", b)
    t.check(r.returncode == 0 and "PRE dir/" in r.stdout,
            "aws s3 ls shows the prefix dir/: %r" % r.stdout)
    back = os.path.join(work, "one.back")
    t.check(aws("s3", "cp", b + "/dir/one.txt", back).returncode == 0 and
            open(back).read() == "hello from aws-cli\n", "aws s3 cp down")
    r = aws("s3", "cp", b + "/dir/one.txt", "-")
    t.check(r.returncode == 0 and r.stdout == "hello from aws-cli\n",
            "aws s3 cp to stdout")
    # sync up, down, changes, --delete
    src = os.path.join(work, "tree")
    s3node.make_tree(src, 4, 40, 1)
    r = aws("s3", "sync", src, b + "/tree/")
    t.check(r.returncode == 0, "aws s3 sync up (40 files)")
    r = aws("s3", "ls", "--recursive", b + "/tree/")
    n = len([l for l in r.stdout.splitlines() if l.strip()])
    t.check(n == 40, "aws s3 ls --recursive: 40 objects (%d)" % n)
    r = aws("s3", "sync", src, b + "/tree/")
    t.check(r.returncode == 0 and "upload:" not in r.stdout,
            "a second sync uploads nothing")
    dst = os.path.join(work, "tree.down")
    r = aws("s3", "sync", b + "/tree/", dst)
    t.check(r.returncode == 0 and s3node.tree_digest(src) ==
            s3node.tree_digest(dst), "aws s3 sync down: the same tree")
    with open(os.path.join(src, "d0", "f0000.txt"), "wb") as f:
        f.write(b"changed and longer than before" * 200)
    os.remove(os.path.join(src, "d0", "f0004.txt"))
    r = aws("s3", "sync", "--delete", src, b + "/tree/")
    t.check(r.returncode == 0 and "delete: " in r.stdout and "upload: " in
            r.stdout, "sync --delete uploads the change, deletes the gone")
    r = aws("s3", "sync", "--delete", b + "/tree/", dst)
    t.check(r.returncode == 0 and s3node.tree_digest(src) ==
            s3node.tree_digest(dst), "sync --delete down: the same tree")
    # rm and rb
    r = aws("s3", "rb", b)
    t.check(r.returncode != 0 and "BucketNotEmpty" in r.stderr,
            "aws s3 rb of a non-empty bucket -> BucketNotEmpty")
    t.check(aws("s3", "rm", b + "/dir/one.txt").returncode == 0,
            "aws s3 rm")
    r = aws("s3", "ls", b + "/dir/")
    t.check("one.txt" not in r.stdout, "one.txt is gone")
    t.check(aws("s3", "rm", "--recursive", b + "/").returncode == 0,
            "aws s3 rm --recursive")
    r = aws("s3", "ls", "--recursive", b)
    t.check(r.stdout.strip() == "", "the bucket is empty: %r" % r.stdout)
    t.check(aws("s3", "rb", b).returncode == 0, "aws s3 rb")
    r = aws("s3", "ls")
    t.check("cli-bkt" not in r.stdout, "the bucket is gone")
    aws("s3", "mb", "s3://cli-full")
    aws("s3", "cp", one, "s3://cli-full/x")
    t.check(aws("s3", "rb", "--force", "s3://cli-full").returncode == 0,
            "aws s3 rb --force empties and removes")


def sec_pages(t, node, aws, work):
    b = "cli-pages"
    t.check(aws("s3", "mb", "s3://" + b).returncode == 0, "mb " + b)
    src = os.path.join(work, "many")
    os.makedirs(src)
    for i in range(250):
        with open(os.path.join(src, "k%03d" % i), "w") as f:
            f.write("%d\n" % i)
    r = aws("s3", "sync", src, "s3://%s/p/" % b)
    t.check(r.returncode == 0, "250 keys uploaded by sync")
    want = ["p/k%03d" % i for i in range(250)]
    r = aws("s3api", "list-objects-v2", "--bucket", b, "--page-size", "40",
            "--output", "json")
    keys = [o["Key"] for o in json.loads(r.stdout or "{}").get(
        "Contents", [])]
    t.check(r.returncode == 0 and keys == want,
            "list-objects-v2 --page-size 40 walks all 250 keys (%d)" %
            len(keys))
    r = aws("s3api", "list-objects-v2", "--bucket", b, "--page-size", "40",
            "--max-items", "100", "--output", "json")
    j = json.loads(r.stdout or "{}")
    keys = [o["Key"] for o in j.get("Contents", [])]
    tok = j.get("NextToken")
    t.check(keys == want[:100] and tok, "--max-items 100: the first 100 "
            "and a NextToken (%d keys)" % len(keys))
    r = aws("s3api", "list-objects-v2", "--bucket", b, "--page-size", "40",
            "--max-items", "100", "--starting-token", tok or "",
            "--output", "json")
    j = json.loads(r.stdout or "{}")
    keys2 = [o["Key"] for o in j.get("Contents", [])]
    t.check(keys2 == want[100:200] and j.get("NextToken"),
            "--starting-token: the next 100 (%d)" % len(keys2))
    r = aws("s3api", "list-objects-v2", "--bucket", b, "--max-items", "100",
            "--starting-token", j.get("NextToken") or "", "--output",
            "json")
    j = json.loads(r.stdout or "{}")
    keys3 = [o["Key"] for o in j.get("Contents", [])]
    t.check(keys3 == want[200:] and not j.get("NextToken"),
            "the last 50 and no NextToken (%d)" % len(keys3))
    r = aws("s3api", "list-objects-v2", "--bucket", b, "--max-keys", "7",
            "--no-paginate", "--output", "json")
    j = json.loads(r.stdout or "{}")
    t.check(j.get("KeyCount") == 7 and j.get("IsTruncated") is True and
            j.get("NextContinuationToken"), "--max-keys 7 --no-paginate: "
            "one truncated page")
    r = aws("s3api", "list-objects", "--bucket", b, "--page-size", "60",
            "--output", "json")
    keys = [o["Key"] for o in json.loads(r.stdout or "{}").get(
        "Contents", [])]
    t.check(keys == want, "list-objects (v1) --page-size 60: all 250")
    r = aws("s3", "ls", "s3://%s/p/" % b, "--page-size", "33")
    t.check(len(r.stdout.splitlines()) == 250, "aws s3 ls --page-size 33 "
            "lists 250")


def sec_big(t, node, aws, work):
    b = "s3://cli-big"
    aws("s3", "mb", b)
    big = os.path.join(work, "big.bin")
    s3node.write_random(big, 100 * MiB, 100)
    want = s3node.sha256_file(big)
    t0 = time.monotonic()
    r = aws("s3", "cp", big, b + "/big.bin", timeout=600)
    t.check(r.returncode == 0, "aws s3 cp of 100 MiB (multipart, %.1f s)" %
            (time.monotonic() - t0))
    r = aws("s3api", "head-object", "--bucket", "cli-big", "--key",
            "big.bin", "--output", "json")
    j = json.loads(r.stdout or "{}")
    t.check(j.get("ContentLength") == 100 * MiB and
            j.get("ETag", "").endswith('-13"'),
            "head-object: 100 MiB, ETag of 13 parts (%s)" % j.get("ETag"))
    out = os.path.join(work, "big.out")
    t0 = time.monotonic()
    r = aws("s3", "cp", b + "/big.bin", out, timeout=600)
    t.check(r.returncode == 0 and s3node.sha256_file(out) == want,
            "aws s3 cp down: the same SHA-256 (%.1f s)" %
            (time.monotonic() - t0))
    os.remove(out)
    os.remove(big)


def curl(t, url, out=None, method=None):
    argv = ["curl", "-s", "-o", out or "-", "-w", "\n%{http_code}"]
    if method:
        argv += ["-X", method]
    r = t.run(argv + [url], timeout=60)
    body, _, code = r.stdout.rpartition("\n")
    return int(code or 0), body


def sec_presign(t, node, aws, work):
    b = "s3://cli-pre"
    aws("s3", "mb", b)
    f = os.path.join(work, "pre.txt")
    with open(f, "w") as fh:
        fh.write("presigned content")
    aws("s3", "cp", f, b + "/pre.txt")
    r = aws("s3", "presign", b + "/pre.txt", "--expires-in", "300")
    url = r.stdout.strip()
    t.check(r.returncode == 0 and "X-Amz-Signature=" in url,
            "aws s3 presign gives a SigV4 URL")
    code, body = curl(t, url)
    t.check(code == 200 and body == "presigned content",
            "curl GET of the presigned URL -> 200 and the object (%d)" % code)
    code, body = curl(t, url.replace("pre.txt", "prf.txt"))
    t.check(code == 403 and "SignatureDoesNotMatch" in body,
            "the URL for another key -> 403 SignatureDoesNotMatch (%d)" %
            code)
    code, body = curl(t, url, method="DELETE")
    t.check(code == 403, "the GET URL used for DELETE -> 403 (%d)" % code)
    r = aws("s3", "presign", b + "/pre.txt", "--expires-in", "1")
    time.sleep(2.2)
    code, body = curl(t, r.stdout.strip())
    t.check(code == 403 and "AccessDenied" in body,
            "an expired presigned URL -> 403 AccessDenied (%d %s)" %
            (code, body[:120]))
    r = aws("s3", "ls", b + "/pre.txt")
    t.check("pre.txt" in r.stdout, "the object is still there")


if __name__ == "__main__":
    main()
