#!/usr/bin/python3
"""test_s3_rclone.py - rclone (type s3, provider Other, path style)
against a real cleo node: sync local -> remote and remote -> local and
`rclone check` both ways, over a few directories, 300 small files and a
20 MiB file (sent in 5 MiB multipart chunks); then a change, a delete
and a new file synced and checked again.

    /usr/bin/python3 test_s3_rclone.py --bin build/release/cmd
"""
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3node  # noqa: E402

RCLONE = shutil.which("rclone", path="/usr/bin") or "rclone"
MiB = 1 << 20
FLAGS = ["--transfers", "4", "--checkers", "8", "--retries", "1",
         "--low-level-retries", "1", "--s3-upload-cutoff", "5M",
         "--s3-chunk-size", "5M", "--s3-force-path-style"]


def main():
    with s3node.Suite("s3_rclone") as t:
        node = t.node()
        t.case("rclone", sec_rclone, t, node)


def sec_rclone(t, node):
    env = node.rclone_env("cleo")
    work = os.path.join(node.dir, "work")
    os.makedirs(work)

    def rc(*args, timeout=300):
        return t.run([RCLONE] + list(args) + FLAGS, env=env, cwd=work,
                     timeout=timeout)

    src = os.path.join(work, "src")
    s3node.make_tree(src, 5, 300, 5, big=20 * MiB)
    t.check(rc("mkdir", "cleo:rc-bkt").returncode == 0, "rclone mkdir")
    r = rc("lsd", "cleo:")
    t.check(r.returncode == 0 and "rc-bkt" in r.stdout, "rclone lsd lists "
            "the bucket")
    t.check(rc("sync", src, "cleo:rc-bkt/tree").returncode == 0,
            "rclone sync local -> remote (301 files, one of 20 MiB)")
    r = rc("size", "cleo:rc-bkt/tree", "--json")
    t.check(r.returncode == 0 and '"count":301' in r.stdout.replace(" ", ""),
            "rclone size: 301 objects (%s)" % r.stdout.strip())
    r = rc("check", src, "cleo:rc-bkt/tree")
    t.check(r.returncode == 0, "rclone check local vs remote")
    dst = os.path.join(work, "dst")
    t.check(rc("sync", "cleo:rc-bkt/tree", dst).returncode == 0,
            "rclone sync remote -> local")
    r = rc("check", "cleo:rc-bkt/tree", dst)
    t.check(r.returncode == 0, "rclone check remote vs local")
    t.check(s3node.tree_digest(src) == s3node.tree_digest(dst),
            "the downloaded tree has the same SHA-256s")
    # Changes: one modified, one deleted, one new file in a new directory.
    with open(os.path.join(src, "d0", "f0000.txt"), "wb") as f:
        f.write(b"modified " * 100)
    os.remove(os.path.join(src, "d2", "f0002.txt"))
    os.makedirs(os.path.join(src, "newdir"))
    with open(os.path.join(src, "newdir", "new.txt"), "w") as f:
        f.write("new\n")
    t.check(rc("sync", src, "cleo:rc-bkt/tree").returncode == 0,
            "rclone sync of the changes")
    t.check(rc("check", src, "cleo:rc-bkt/tree").returncode == 0,
            "rclone check after the changes")
    t.check(rc("sync", "cleo:rc-bkt/tree", dst).returncode == 0 and
            rc("check", "cleo:rc-bkt/tree", dst).returncode == 0,
            "sync and check the changes back down")
    t.check(s3node.tree_digest(src) == s3node.tree_digest(dst),
            "the trees are equal again")
    # A check that must fail: a local file differs.
    with open(os.path.join(dst, "d0", "sub1", "f0001.txt"), "ab") as f:
        f.write(b"!")
    r = rc("check", "cleo:rc-bkt/tree", dst)
    t.check(r.returncode != 0, "rclone check notices a changed file")
    r = rc("cat", "cleo:rc-bkt/tree/newdir/new.txt")
    t.check(r.returncode == 0 and r.stdout == "new\n", "rclone cat")
    t.check(rc("purge", "cleo:rc-bkt").returncode == 0, "rclone purge")
    r = rc("lsd", "cleo:")
    t.check("rc-bkt" not in r.stdout, "the bucket is gone")


if __name__ == "__main__":
    main()
