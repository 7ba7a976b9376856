# record.py PORT DIR - a fake S3 endpoint that writes each request it
# receives to DIR/NNN as "METHOD\nTARGET\nname:value\n...\n\nBODY" (the
# format test_clients.c reads), answering 200 and an empty listing.
# How the fixtures in this folder were made (secret "s3cr3t/Key+With=Chars",
# access key AKIDTEST): run it, point aws-cli 1.45, s3cmd 2.3 (V2 and V4),
# curl 7.88 (--aws-sigv4 "aws:amz:us-east-1:s3"), rclone 1.60 (run with
# AWS_CA_BUNDLE unset: its Debian build cannot load one) and boto3 1.43 at http://127.0.0.1:PORT (boto3's trailer checksums need
# TLS: wrap the server's socket in ssl), then copy the files here.
import socketserver, sys, os, itertools
OUT = sys.argv[2]
cnt = itertools.count()
class H(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            method, target, _ = line.decode().split(" ", 2)
            hdrs = []
            while True:
                l = self.rfile.readline().decode()
                if l in ("\r\n", "\n", ""):
                    break
                k, v = l.split(":", 1)
                hdrs.append((k, v.strip()))
            d = {k.lower(): v for k, v in hdrs}
            if d.get("expect", "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.wfile.flush()
            body = b""
            if "content-length" in d:
                body = self.rfile.read(int(d["content-length"]))
            elif d.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    sz = int(self.rfile.readline().split(b";")[0], 16)
                    body += self.rfile.read(sz); self.rfile.readline()
                    if sz == 0:
                        break
            n = next(cnt)
            with open(os.path.join(OUT, "%03d" % n), "wb") as f:
                f.write(f"{method}\n{target}\n".encode())
                for k, v in hdrs:
                    f.write(f"{k}:{v}\n".encode())
                f.write(b"\n" + body)
            if method == "GET" and "list-type" in target or (method == "GET" and target.rstrip("/").count("/") <= 1 and "?" in target):
                x = b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>'
            elif method == "GET" and target == "/":
                x = b'<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult><Owner><ID>a</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>'
            else:
                x = b""
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nETag: \"d41d8cd98f00b204e9800998ecf8427e\"\r\nContent-Type: application/xml\r\n\r\n" % len(x) + x)
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
if __name__ == "__main__":
    S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
