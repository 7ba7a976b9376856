/*
 * auth.h - S3 request authentication as pure functions (private to
 * gateway/): AWS Signature V4 (Authorization header, presigned query,
 * aws-chunked streaming bodies), Signature V2 (header and query) and the
 * x-amz-content-sha256 body check. No actors, no sockets, no globals:
 * every function works on the borrowed request it is given.
 *
 * How the gateway uses it, per request:
 *
 *   gw_auth_req_t rq = {method, raw path, raw query, headers, now};
 *   (and vhost_bucket for a virtual-host style request: SigV2 signs
 *   "/bucket/key" whatever the addressing)
 *   gw_auth_t a;
 *   rc = gw__auth_parse(&rq, &a);             // kind, access key, dates
 *   if (a.kind != GW_AUTH_ANON) {
 *       secret = lookup(a.access_key);        // none: GW_EACCESSKEY
 *       rc = gw__auth_verify(&rq, &a, secret, len, &cache);
 *   }
 *   then the body, by a.payload:
 *     GW_PAYLOAD_SHA256     gw__sha256_check_init(&c, a.payload_sha256),
 *                           _update() per slice, _final() at the end.
 *     GW_PAYLOAD_STREAMING*,
 *     GW_PAYLOAD_UNSIGNED_TRAILER
 *                           gw__chunked_init(&d, &a, cb, data), _feed()
 *                           per slice (cb gets the decoded bytes),
 *                           _finish() at the end of the HTTP body.
 *     GW_PAYLOAD_NONE, GW_PAYLOAD_UNSIGNED: nothing to check.
 *   Commit the object only if the body's final check returned 0.
 *
 * The gateway must read a '+' in the query as a space, as S3 does: the
 * canonical forms accepted by verify assume it (see sigv4.c).
 *
 * Error codes are GW_E* from err.h, CLEO_ENOMEM from runtime/rt.h.
 */
#ifndef CLEO_GATEWAY_AUTH_H
#define CLEO_GATEWAY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gateway/hdr.h"

#define GW_AUTH_MAX_SKEW 900       /* s, header auth: RequestTimeTooSkewed */
#define GW_AUTH_MAX_EXPIRES 604800 /* s, presigned V4: 7 days */
#define GW_AUTH_AK_MAX 128         /* bytes of an access key id */
#define GW_AUTH_REGION_MAX 32      /* bytes of a region name */
#define GW_AUTH_SIGNED_MAX 1024    /* bytes of a SignedHeaders list */
#define GW_AUTH_SECRET_MAX 256     /* bytes of a V4 secret (manager's) */
#define GW_CHUNKED_LINE_MAX 256    /* bytes of a chunk or trailer line */

/* Which mechanism a request uses. */
typedef enum gw_auth_kind_e {
    GW_AUTH_ANON = 0,  /* no credentials at all */
    GW_AUTH_V4_HEADER, /* Authorization: AWS4-HMAC-SHA256 ... */
    GW_AUTH_V4_QUERY,  /* presigned: X-Amz-Algorithm=... in the query */
    GW_AUTH_V2_HEADER, /* Authorization: AWS AK:sig */
    GW_AUTH_V2_QUERY,  /* AWSAccessKeyId=&Expires=&Signature= */
} gw_auth_kind_t;

/* What the body must satisfy after the headers verified. */
typedef enum gw_payload_e {
    GW_PAYLOAD_NONE = 0,          /* anonymous or V2: nothing signed */
    GW_PAYLOAD_SHA256,            /* hex in payload_sha256; check body */
    GW_PAYLOAD_UNSIGNED,          /* UNSIGNED-PAYLOAD */
    GW_PAYLOAD_STREAMING,         /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
    GW_PAYLOAD_STREAMING_TRAILER, /* ...-PAYLOAD-TRAILER (signed trailer) */
    GW_PAYLOAD_UNSIGNED_TRAILER,  /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
} gw_payload_t;

/* The request as the HTTP layer saw it. Every pointer borrows: valid for
 * the duration of each call that takes the struct. */
typedef struct gw_auth_req_s {
    const char *method; /* "GET", as on the wire */
    size_t method_len;
    const char *path; /* raw, percent-encoded, without the query */
    size_t path_len;
    const char *query; /* raw, without the '?'; may be NULL */
    size_t query_len;
    const gw_hdr_t *hdrs;
    size_t nhdrs;
    const char *vhost_bucket; /* V2 only: bucket of a virtual-host */
    size_t vhost_bucket_len;  /* style request, else NULL/0 */
    int64_t now;              /* unix seconds */
} gw_auth_req_t;

/* The outcome of gw__auth_parse(), completed by gw__auth_verify(). It
 * holds copies, never pointers into the request. */
typedef struct gw_auth_s {
    gw_auth_kind_t kind;
    gw_payload_t payload;
    char access_key[GW_AUTH_AK_MAX + 1]; /* NUL-terminated */
    char signature[65]; /* V4: 64 hex; V2: base64 as received */
    char amz_date[17];  /* V4: YYYYMMDDTHHMMSSZ */
    char scope[80];     /* V4: date/region/s3/aws4_request */
    char region[GW_AUTH_REGION_MAX + 1];
    char signed_headers[GW_AUTH_SIGNED_MAX + 1]; /* V4, as received */
    char payload_sha256[65]; /* the hash line of the canonical request */
    char expires[24];        /* V2 query: Expires as received */
    int64_t decoded_len;     /* x-amz-decoded-content-length, -1 = none */
    char trailer[40];        /* *_TRAILER: x-amz-trailer, lowercase */
    /* private */
    unsigned char _key[32]; /* V4 signing key, set by verify */
    bool _key_ok;
} gw_auth_t;

/* A caller-owned cache of V4 signing keys, keyed by a SHA-256 of
 * (secret, date, region), so a verify costs one HMAC chain per key and
 * day instead of one per request. Zero-initialise it; no destroy. One
 * cache per actor: it is not thread-safe. */
#define GW_SIGV4_CACHE_SLOTS 8
typedef struct gw_sigv4_cache_s {
    struct {
        unsigned char id[32];
        unsigned char key[32];
        bool used;
    } slot[GW_SIGV4_CACHE_SLOTS];
    unsigned next; /* round-robin victim */
} gw_sigv4_cache_t;

/** Decide how `rq` authenticates and check what needs no secret: the
 *  syntax of the credentials, the clock skew of header auth, the expiry
 *  of presigned URLs, the payload hash declaration.
 *  @param rq borrows. @param out written only on success.
 *  @return 0, GW_EAUTHHDR (malformed Authorization), GW_EARGUMENT
 *  (malformed query auth, two mechanisms, bad x-amz-content-sha256),
 *  GW_EDENIED (no usable date, not yet valid), GW_ESKEW, GW_EEXPIRED,
 *  GW_ENOLENGTH (streaming without x-amz-decoded-content-length). */
int gw__auth_parse(const gw_auth_req_t *rq, gw_auth_t *out)
    __attribute__((warn_unused_result));

/** Check the signature of a parsed request against the secret key, in
 *  constant time. On success for V4, remembers the signing key in `a`
 *  for the aws-chunked decoder.
 *  @param rq borrows: the same request given to gw__auth_parse().
 *  @param a the parse result; updated (signing key) on success.
 *  @param secret borrows. @param cache borrows; may be NULL.
 *  @return 0 (also for GW_AUTH_ANON), GW_ESIGNATURE, CLEO_ENOMEM,
 *  CLEO_EPROTO (a V4 secret longer than GW_AUTH_SECRET_MAX). */
int gw__auth_verify(const gw_auth_req_t *rq, gw_auth_t *a, const char *secret,
                    size_t secret_len, gw_sigv4_cache_t *cache)
    __attribute__((warn_unused_result));

/** True if the body is aws-chunked (any STREAMING-* payload). */
bool gw__auth_is_chunked(const gw_auth_t *a);

/* ---- Signing (tests, benchmark load generator) ---------------------- */

/** Sign `rq` with SigV4 and write the Authorization header's value.
 *  The headers must already hold every name in `signed_headers` (a
 *  sorted, lowercase, ';'-joined list that includes host), among them
 *  x-amz-date = `amz_date` (YYYYMMDDTHHMMSSZ).
 *  @param payload_hash the canonical request's last line: 64 hex or
 *  UNSIGNED-PAYLOAD or STREAMING-...; all strings borrow.
 *  @param out filled with a NUL-terminated value of at most `cap` bytes.
 *  @return 0, -ENOSPC (cap), GW_EARGUMENT, CLEO_ENOMEM. */
int gw__sigv4_sign(const gw_auth_req_t *rq, const char *access_key,
                   const char *secret, const char *region, const char *amz_date,
                   const char *signed_headers, const char *payload_hash,
                   char *out, size_t cap) __attribute__((warn_unused_result));

/** As gw__sigv4_sign() with the signing key already derived by
 *  gw__sigv4_key() for amz_date's day and `region`: one SHA-256 and one
 *  HMAC per request, for load generators. @param key borrows.
 *  @return 0, -ENOSPC (cap), GW_EARGUMENT, CLEO_ENOMEM. */
int gw__sigv4_sign_key(const gw_auth_req_t *rq, const char *access_key,
                       const unsigned char key[32], const char *region,
                       const char *amz_date, const char *signed_headers,
                       const char *payload_hash, char *out, size_t cap)
    __attribute__((warn_unused_result));

/** Presign `rq` (GET, PUT, ...) for `expires` seconds: write the query
 *  string to send, i.e. rq's query (if any) followed by the X-Amz-*
 *  parameters and X-Amz-Signature. Only host is signed.
 *  @return 0, -ENOSPC (cap), GW_EARGUMENT, CLEO_ENOMEM. */
int gw__sigv4_presign(const gw_auth_req_t *rq, const char *access_key,
                      const char *secret, const char *region,
                      const char *amz_date, int64_t expires, char *out,
                      size_t cap) __attribute__((warn_unused_result));

/** The signing key HMAC chain: kSecret -> date -> region -> s3 ->
 *  aws4_request. @param date 8 bytes YYYYMMDD. @param secret_len at most
 *  GW_AUTH_SECRET_MAX (more is a caller bug: rt_assert). */
void gw__sigv4_key(const char *secret, size_t secret_len, const char *date,
                   const char *region, unsigned char key[32]);

/** The signature of one aws-chunked chunk (also used by tests and the
 *  load generator to build bodies). @param prev_sig 64 hex (the seed
 *  signature for the first chunk). @param out 64 hex + NUL. */
void gw__sigv4_chunk_sig(const unsigned char key[32], const char *amz_date,
                         const char *scope, const char *prev_sig,
                         const unsigned char data_sha256[32], char out[65]);

/* ---- x-amz-content-sha256 body check -------------------------------- */

typedef struct gw_sha256_check_s {
    /* private */
    void *_ctx; /* EVP_MD_CTX */
    unsigned char _want[32];
} gw_sha256_check_t;

/** Start hashing a body that must hash to `hex` (64 hex digits).
 *  @return 0, GW_EARGUMENT (not hex), CLEO_ENOMEM. */
int gw__sha256_check_init(gw_sha256_check_t *c, const char *hex)
    __attribute__((warn_unused_result));
/** Hash the next slice of the body. @param buf borrows. */
void gw__sha256_check_update(gw_sha256_check_t *c, const void *buf, size_t len);
/** At the end of the body. @return 0 or GW_ESHA256. */
int gw__sha256_check_final(gw_sha256_check_t *c)
    __attribute__((warn_unused_result));
/** Release the context; accepts a zeroed or destroyed struct. */
void gw__sha256_check_destroy(gw_sha256_check_t *c);

/* ---- aws-chunked decoder -------------------------------------------- */

/* Receives decoded body bytes; `buf` borrows (valid during the call).
 * Return 0 to go on, <0 to abort the decode with that code. */
typedef int (*gw_chunked_data_cb)(void *data, const char *buf, size_t len);

/*
 * An incremental aws-chunked decoder. It is fed the HTTP body in slices
 * of any size and hands decoded bytes to the callback as they arrive: a
 * chunk's data is emitted BEFORE its signature (which S3 puts after the
 * data it covers) can be checked, so memory stays bounded by one line.
 * A bad signature, framing or length makes _feed() or _finish() fail,
 * and the caller must then discard what it received.
 */
typedef struct gw_chunked_s {
    void *data; /* public: for the callback */
    /* private */
    gw_chunked_data_cb _cb;
    void *_md; /* EVP_MD_CTX over the current chunk */
    unsigned char _key[32];
    char _amz_date[17];
    char _scope[80];
    char _prev[65]; /* previous signature, hex */
    char _want[65]; /* this chunk's declared signature */
    char _line[GW_CHUNKED_LINE_MAX];
    size_t _line_len;
    uint64_t _left;       /* data bytes left in this chunk */
    uint64_t _total;      /* decoded bytes so far */
    int64_t _decoded_len; /* -1 = not checked */
    int _state;
    int _err; /* sticky */
    bool _signed;
    bool _trailer;
    bool _sig_seen; /* x-amz-trailer-signature checked */
    unsigned _ntrailers;
    int _ck;           /* checksum of the decoded data, CK_* */
    bool _ck_seen;     /* its trailer line was checked */
    uint32_t _crc;     /* CK_CRC32 */
    void *_ck_md;      /* EVP_MD_CTX for CK_SHA1 / CK_SHA256 */
    char _ck_name[40]; /* the trailer that carries it */
} gw_chunked_t;

/** Prepare to decode the body of a verified request whose payload is
 *  STREAMING-*; the signatures chain from a->signature (the seed).
 *  @param a borrows: read during the call only.
 *  @return 0, GW_EARGUMENT (not a streaming payload, or signed and not
 *  verified), CLEO_ENOMEM. On failure `d` holds nothing; destroying it
 *  anyway is harmless. */
int gw__chunked_init(gw_chunked_t *d, const gw_auth_t *a, gw_chunked_data_cb cb,
                     void *data) __attribute__((warn_unused_result));
/** Decode the next slice of the body. @param buf borrows.
 *  @return 0, GW_ESIGNATURE (a chunk's or the trailer's signature),
 *  GW_EBADREQ (framing), GW_EINCOMPLETE (more data than
 *  x-amz-decoded-content-length), GW_EBADDIGEST (the trailer's
 *  x-amz-checksum-crc32/-sha1/-sha256 named by x-amz-trailer does not
 *  match the data; other algorithms are accepted unchecked), or the
 *  callback's error. Errors are sticky. */
int gw__chunked_feed(gw_chunked_t *d, const char *buf, size_t len)
    __attribute__((warn_unused_result));
/** The HTTP body ended. @return 0 if the final chunk (and trailer) was
 *  seen and every check passed; GW_EINCOMPLETE (truncated, or the
 *  decoded length differs), or the sticky error. */
int gw__chunked_finish(gw_chunked_t *d) __attribute__((warn_unused_result));
/** Release the decoder; accepts a zeroed or destroyed struct. */
void gw__chunked_destroy(gw_chunked_t *d);

/* ---- helpers shared by auth.c, sigv4.c, sigv2.c, awschunked.c ------- */

/* A growable string with an inline first kilobyte; an allocation
 * failure is sticky in `err` (CLEO_ENOMEM). */
typedef struct gw_sb_s {
    char *p;
    size_t len, cap;
    int err;
    char inl[1024];
} gw_sb_t;

void gw__sb_init(gw_sb_t *b);
void gw__sb_put(gw_sb_t *b, const void *s, size_t n);
void gw__sb_puts(gw_sb_t *b, const char *s);
void gw__sb_destroy(gw_sb_t *b);

/* First header named `lname` (lowercase), case-insensitively; NULL if
 * none. Borrows from rq. */
const gw_hdr_t *gw__auth_hdr(const gw_auth_req_t *rq, const char *lname);
/* Find query parameter `name` (raw, exact) and percent-decode its value
 * into out (NUL-terminated). @return 1 found, 0 absent, GW_EARGUMENT if
 * longer than cap - 1 or present twice. */
int gw__auth_qparam(const gw_auth_req_t *rq, const char *name, char *out,
                    size_t cap);
/* Percent-decode s[0..n) into out (cap bytes incl. NUL); '+' stays.
 * @return the decoded length or -1 if it does not fit. */
ssize_t gw__auth_unescape(const char *s, size_t n, char *out, size_t cap);
/* AWS URI-encode s[0..n) onto b after decoding its %XX escapes; '/' is
 * kept when is_path, and '+' means a space when !is_path. */
void gw__auth_uri_put(gw_sb_t *b, const char *s, size_t n, bool is_path);
/* Parse an HTTP date (RFC 1123, RFC 850, asctime) or an ISO 8601 basic
 * date (YYYYMMDDTHHMMSSZ). @return 0 and *t, or -1. */
int gw__auth_date(const char *s, size_t n, int64_t *t);
/* The value of a hex digit, or -1. (Also the S3 layer's %XX decoder.) */
int gw__hexval(int c);
/* Lowercase hex of n bytes into out (2n + 1). */
void gw__auth_hex(const unsigned char *in, size_t n, char *out);
/* SHA-256 and HMAC-SHA-256/SHA-1 one-shots over OpenSSL. */
void gw__sha256(const void *buf, size_t n, unsigned char out[32]);
void gw__hmac256(const void *key, size_t klen, const void *buf, size_t n,
                 unsigned char out[32]);
void gw__hmac1(const void *key, size_t klen, const void *buf, size_t n,
               unsigned char out[20]);

/* Per-kind phases, dispatched by gw__auth_parse() and _verify(). */
int gw__sigv4_parse_header(const gw_auth_req_t *rq, const gw_hdr_t *auth,
                           gw_auth_t *a);
int gw__sigv4_parse_query(const gw_auth_req_t *rq, gw_auth_t *a);
int gw__sigv4_verify(const gw_auth_req_t *rq, gw_auth_t *a, const char *secret,
                     size_t secret_len, gw_sigv4_cache_t *cache);
int gw__sigv2_parse_header(const gw_auth_req_t *rq, const gw_hdr_t *auth,
                           gw_auth_t *a);
int gw__sigv2_parse_query(const gw_auth_req_t *rq, gw_auth_t *a);
int gw__sigv2_verify(const gw_auth_req_t *rq, const gw_auth_t *a,
                     const char *secret, size_t secret_len);

#endif /* CLEO_GATEWAY_AUTH_H */
