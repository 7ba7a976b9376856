#!/usr/bin/python3
"""test_s3_s3cmd.py - s3cmd against a real cleo node: mb, put (small and
a 20 MiB multipart), ls, la, info, get, sync up and down, del, rb; run
once with SigV4 and once with signature_v2 = True.

    /usr/bin/python3 test_s3_s3cmd.py --bin build/release/cmd
"""
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3node  # noqa: E402

S3CMD = shutil.which("s3cmd", path="/usr/bin") or "s3cmd"
MiB = 1 << 20


def run_with(t, node, sigv2):
    cfg = node.s3cmd_config(sigv2=sigv2)
    tag = "v2" if sigv2 else "v4"
    work = os.path.join(node.dir, "work-" + tag)
    os.makedirs(work)
    env = s3node.clean_env(os.path.join(node.dir, "home"))

    def s3cmd(*args):
        return t.run([S3CMD, "-c", cfg, "--no-progress"] + list(args),
                     env=env, cwd=work, timeout=300)

    b = "s3://cmd-bkt-" + tag
    t.check(s3cmd("mb", b).returncode == 0, "[%s] s3cmd mb" % tag)
    r = s3cmd("ls")
    t.check(r.returncode == 0 and b in r.stdout, "[%s] s3cmd ls lists the "
            "bucket" % tag)
    one = os.path.join(work, "one.txt")
    with open(one, "w") as f:
        f.write("hello from s3cmd\n")
    t.check(s3cmd("put", one, b + "/dir/one.txt").returncode == 0,
            "[%s] s3cmd put" % tag)
    big = os.path.join(work, "big.bin")
    s3node.write_random(big, 20 * MiB, 20)
    r = s3cmd("put", big, b + "/big.bin")
    t.check(r.returncode == 0, "[%s] s3cmd put of 20 MiB (multipart, "
            "15 MB chunks)" % tag)
    r = s3cmd("ls", b + "/dir/")
    t.check(r.returncode == 0 and "one.txt" in r.stdout and " 17 " in
            r.stdout, "[%s] s3cmd ls shows one.txt, 17 bytes: %r" %
            (tag, r.stdout))
    r = s3cmd("la")
    t.check(r.returncode == 0 and "big.bin" in r.stdout,
            "[%s] s3cmd la" % tag)
    r = s3cmd("info", b + "/dir/one.txt")
    t.check(r.returncode == 0 and "17" in r.stdout and
            "text/plain" in r.stdout, "[%s] s3cmd info: size and type" % tag)
    back = os.path.join(work, "one.back")
    r = s3cmd("get", b + "/dir/one.txt", back)
    t.check(r.returncode == 0 and open(back).read() == "hello from s3cmd\n",
            "[%s] s3cmd get" % tag)
    bigback = os.path.join(work, "big.back")
    r = s3cmd("get", b + "/big.bin", bigback)
    t.check(r.returncode == 0 and s3node.sha256_file(bigback) ==
            s3node.sha256_file(big), "[%s] s3cmd get of the 20 MiB object: "
            "the same SHA-256" % tag)
    src = os.path.join(work, "tree")
    s3node.make_tree(src, 3, 30, 3)
    r = s3cmd("sync", src + "/", b + "/tree/")
    t.check(r.returncode == 0, "[%s] s3cmd sync up (30 files)" % tag)
    r = s3cmd("ls", "--recursive", b + "/tree/")
    t.check(len(r.stdout.splitlines()) == 30, "[%s] 30 objects under tree/"
            % tag)
    dst = os.path.join(work, "tree.down")
    os.makedirs(dst)
    r = s3cmd("sync", b + "/tree/", dst + "/")
    t.check(r.returncode == 0 and s3node.tree_digest(src) ==
            s3node.tree_digest(dst), "[%s] s3cmd sync down: the same tree"
            % tag)
    os.remove(os.path.join(src, "d0", "f0000.txt"))
    with open(os.path.join(src, "d2", "f0002.txt"), "wb") as f:
        f.write(b"changed")
    r = s3cmd("sync", "--delete-removed", src + "/", b + "/tree/")
    t.check(r.returncode == 0, "[%s] s3cmd sync --delete-removed" % tag)
    r = s3cmd("sync", "--delete-removed", b + "/tree/", dst + "/")
    t.check(r.returncode == 0 and s3node.tree_digest(src) ==
            s3node.tree_digest(dst), "[%s] sync the change back down" % tag)
    t.check(s3cmd("del", b + "/dir/one.txt").returncode == 0,
            "[%s] s3cmd del" % tag)
    r = s3cmd("ls", b + "/dir/")
    t.check("one.txt" not in r.stdout, "[%s] one.txt is gone" % tag)
    r = s3cmd("rb", b)
    t.check(r.returncode != 0, "[%s] s3cmd rb of a non-empty bucket fails"
            % tag)
    t.check(s3cmd("del", "--recursive", "--force", b).returncode == 0,
            "[%s] s3cmd del --recursive" % tag)
    t.check(s3cmd("rb", b).returncode == 0, "[%s] s3cmd rb" % tag)
    r = s3cmd("ls")
    t.check(b not in r.stdout, "[%s] the bucket is gone" % tag)
    # A wrong secret is refused.
    bad = cfg + ".bad"
    with open(cfg) as f, open(bad, "w") as g:
        g.write(f.read().replace("secret_key = %s" % node.secret_key,
                                 "secret_key = wrong-secret-0123456789"))
    r = t.run([S3CMD, "-c", bad, "--no-progress", "ls"], env=env, cwd=work,
              timeout=120)
    t.check(r.returncode != 0 and "SignatureDoesNotMatch" in r.stderr,
            "[%s] a wrong secret -> SignatureDoesNotMatch" % tag)


def main():
    with s3node.Suite("s3_s3cmd") as t:
        node = t.node()
        t.case("sigv4", run_with, t, node, False)
        t.case("sigv2", run_with, t, node, True)


if __name__ == "__main__":
    main()
