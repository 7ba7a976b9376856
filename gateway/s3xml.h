/*
 * s3xml.h - S3's XML bodies, both ways, and its dates (private to
 * gateway/). Pure functions: no actors, no sockets, no globals.
 *
 * Writers (s3xml_out.c) append S3's exact response documents to a growable
 * buffer, gw_xbuf_t. Every document but <Error> carries S3's namespace;
 * text is XML-escaped, or percent-encoded when the request asked for
 * encoding-type=url. Parsers (s3xml_in.c) read the three request bodies
 * S3 defines (DeleteObjects, CompleteMultipartUpload,
 * CreateBucketConfiguration) with expat, bounded in size and depth, with
 * DOCTYPE and entity declarations refused. Dates (s3xml_time.c) are
 * formatted and parsed without the C library's time zone machinery.
 *
 * Strings in the input structs are NUL-terminated and borrowed for the
 * call; NULL reads as "" unless a field says it is optional (omitted).
 * Times are milliseconds since the Unix epoch, UTC.
 */
#ifndef CLEO_GATEWAY_S3XML_H
#define CLEO_GATEWAY_S3XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/rt.h"

#define GW_S3XML_WUR __attribute__((warn_unused_result))

#define GW_S3_NS "http://s3.amazonaws.com/doc/2006-03-01/"
#define GW_XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

#define GW_ISO8601_LEN 25   /* "2026-11-25T16:48:58.000Z" + NUL */
#define GW_HTTP_DATE_LEN 30 /* "Wed, 25 Nov 2026 16:48:58 GMT" + NUL */

#define GW_DELETE_MAX_KEYS 1000 /* DeleteObjects: objects per request */
#define GW_MPU_MAX_PARTS 10000  /* CompleteMultipartUpload: parts */
#define GW_XML_MAX_DEPTH 16     /* element nesting the parsers accept */
#define GW_LOCATION_MAX 64      /* LocationConstraint text, bytes */

/* ---------------------------------------------------------------------
 * The output buffer.
 * ------------------------------------------------------------------- */

/* A growable byte buffer, always NUL-terminated once it holds a byte.
 * Sized by clients (a listing of 1000 long keys), so growth failure is
 * CLEO_ENOMEM, never an abort. Zero-initialise or gw__xbuf_init(). */
typedef struct gw_xbuf_s {
    char *base; /* malloc'd; NULL until the first append */
    size_t len; /* bytes written, excluding the trailing NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* growth limit in bytes (0 = none); past it CLEO_ENOMEM */
    /* private */
    int _err; /* sticky: first failure of an append, 0 = none */
} gw_xbuf_t;

/** Initialise an empty buffer that may grow to `max` bytes (0 = no
 *  limit). Cannot fail. */
void gw__xbuf_init(gw_xbuf_t *b, size_t max);
/** Release the buffer's memory; the struct reads as empty after.
 *  Accepts NULL. Cannot fail. */
void gw__xbuf_destroy(gw_xbuf_t *b);
/** Hand the bytes to the caller and leave `b` empty.
 *  @return gives: the NUL-terminated bytes (free with free()), or NULL
 *  when empty; `*len` (optional) gets their length. */
char *gw__xbuf_take(gw_xbuf_t *b, size_t *len);
/** Append `n` raw bytes. @return 0 or CLEO_ENOMEM (the buffer is left as
 *  it was; the error also sticks until gw__xbuf_reset()). */
GW_S3XML_WUR int gw__xbuf_put(gw_xbuf_t *b, const char *s, size_t n);
/** Append a NUL-terminated string (borrows s; NULL appends nothing).
 *  @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__xbuf_puts(gw_xbuf_t *b, const char *s);
/** Append printf-formatted text. @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__xbuf_printf(gw_xbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Append `n` bytes XML-escaped: & < > " ' become entities, and control
 *  bytes (0x00-0x1F, 0x7F) become &#xN; as S3 writes them (XML 1.0
 *  parsers may refuse those: clients that fear them ask for
 *  encoding-type=url). Other bytes, UTF-8 included, pass through.
 *  @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__xbuf_esc(gw_xbuf_t *b, const char *s, size_t n);
/** Append `n` bytes percent-encoded as S3 does for encoding-type=url:
 *  every byte but A-Z a-z 0-9 - _ . ~ and '/' becomes %XX (upper-case
 *  hex), so a space is %20 and '+' is %2B. @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__xbuf_urlenc(gw_xbuf_t *b, const char *s, size_t n);
/** Truncate to `len` bytes (<= b->len) and clear the sticky error.
 *  Cannot fail. */
void gw__xbuf_reset(gw_xbuf_t *b, size_t len);

/* ---------------------------------------------------------------------
 * Dates.
 * ------------------------------------------------------------------- */

/** Format `ms` as ISO 8601 with milliseconds, "2026-11-25T16:48:58.000Z"
 *  (S3's LastModified, CreationDate, Initiated). Writes GW_ISO8601_LEN
 *  bytes with the NUL into `out`; returns out. Cannot fail (years past
 *  9999 are clamped to 9999-12-31T23:59:59.999Z, before 1970 to 0). */
char *gw__time_iso8601(int64_t ms, char out[GW_ISO8601_LEN]);
/** Format `ms` (floored to the second) as an RFC 7231 IMF-fixdate,
 *  "Wed, 25 Nov 2026 16:48:58 GMT", for Last-Modified and Date. Writes
 *  GW_HTTP_DATE_LEN bytes with the NUL into `out`; returns out. Clamped
 *  like gw__time_iso8601(). Cannot fail. */
char *gw__http_date_fmt(int64_t ms, char out[GW_HTTP_DATE_LEN]);
/** Parse an HTTP-date in any of RFC 7231's three forms: IMF-fixdate
 *  ("Sun, 06 Nov 1994 08:49:37 GMT"), RFC 850 ("Sunday, 06-Nov-94
 *  08:49:37 GMT", two-digit years 70-99 as 19xx, else 20xx) and asctime
 *  ("Sun Nov  6 08:49:37 1994"). Surrounding blanks are allowed.
 *  @param s borrows `n` bytes (need not be NUL-terminated).
 *  @param[out] out_sec seconds since the epoch, written on success.
 *  @return 0 or CLEO_EINVAL (any other text, or an impossible date:
 *  callers ignore such an If-Modified-Since, as RFC 7232 says). */
GW_S3XML_WUR int gw__http_date_parse(const char *s, size_t n, int64_t *out_sec);

/* ---------------------------------------------------------------------
 * Writers. Each appends one complete document (the XML declaration and
 * the root element) to `b` and returns 0 or CLEO_ENOMEM; on failure `b`
 * is truncated back to where it was and its sticky error cleared.
 * ------------------------------------------------------------------- */

/* A name/value pair for optional elements. */
typedef struct gw_xml_kv_s {
    const char *name;  /* element name, written as is (not escaped) */
    const char *value; /* text, escaped */
} gw_xml_kv_t;

/* The owner (and initiator) of buckets, objects and uploads. */
typedef struct gw_xml_owner_s {
    const char *id;           /* <ID> */
    const char *display_name; /* <DisplayName> */
} gw_xml_owner_t;

/* <Error>: S3's error body, without namespace, as S3 writes it. */
typedef struct gw_xml_error_s {
    const char *code;         /* S3 code, e.g. "NoSuchKey" */
    const char *message;      /* <Message> */
    const gw_xml_kv_t *extra; /* after Message: BucketName, Key, ...; */
    size_t n_extra;           /*   borrowed array of n_extra pairs */
    const char *resource;     /* <Resource>, optional (NULL = omitted) */
    const char *request_id;   /* <RequestId>, optional */
    const char *host_id;      /* <HostId>, optional */
} gw_xml_error_t;

/** <Error><Code/><Message/>[extra...]<Resource/><RequestId/><HostId/>
 *  </Error>. @param e borrows. @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_error(gw_xbuf_t *b, const gw_xml_error_t *e);

/* One bucket of ListBuckets. */
typedef struct gw_xml_bucket_s {
    const char *name;
    int64_t creation_ms;
} gw_xml_bucket_t;

/** ListAllMyBucketsResult: Owner, then Buckets/Bucket{Name,CreationDate}.
 *  @param owner borrows. @param v borrows an array of `n`.
 *  @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_buckets(gw_xbuf_t *b, const gw_xml_owner_t *owner,
                                   const gw_xml_bucket_t *v, size_t n);

/* One object of a listing (filled from storage's ListEntry). */
typedef struct gw_xml_object_s {
    const char *key;
    uint64_t size;    /* bytes */
    const char *etag; /* without quotes, e.g. "d41d...27e" or "..-3" */
    int64_t last_modified_ms;
} gw_xml_object_t;

/* A listing, v1 (ListObjects) or v2 (ListObjectsV2). */
typedef struct gw_xml_list_s {
    const char *bucket;    /* <Name> */
    const char *prefix;    /* <Prefix>, always written ("" for none) */
    const char *delimiter; /* <Delimiter>, omitted when NULL or "" */
    uint32_t max_keys;     /* <MaxKeys>, as the request asked */
    bool is_truncated;
    bool url_encode; /* encoding-type=url: keys, prefixes, markers,
                        delimiter and start-after are %-encoded */
    /* v1 */
    const char *marker;      /* <Marker>, always written in v1 */
    const char *next_marker; /* <NextMarker>, only when a delimiter was
                                given and the listing is truncated */
    /* v2 */
    const char *continuation_token;      /* optional, as the client sent */
    const char *next_continuation_token; /* optional, when truncated */
    const char *start_after;             /* optional, as the client sent */
    bool fetch_owner;                    /* v2: write <Owner> per object */
    /* both */
    const gw_xml_owner_t *owner;    /* objects' owner; v1 always writes it
                                       when non-NULL, v2 when fetch_owner */
    const gw_xml_object_t *objects; /* borrowed array, sorted by key */
    size_t n_objects;
    const char *const *prefixes; /* CommonPrefixes, borrowed array */
    size_t n_prefixes;
} gw_xml_list_t;

/** ListBucketResult (ListObjects v1). @param l borrows.
 *  @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_list_v1(gw_xbuf_t *b, const gw_xml_list_t *l);
/** ListBucketResult (ListObjectsV2): KeyCount = objects + prefixes.
 *  @param l borrows. @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_list_v2(gw_xbuf_t *b, const gw_xml_list_t *l);

/** <LocationConstraint>region</LocationConstraint> (empty for the default
 *  region, as S3 answers for us-east-1). @param region borrows, may be
 *  NULL. @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_location(gw_xbuf_t *b, const char *region);

/** InitiateMultipartUploadResult{Bucket,Key,UploadId}. All borrowed.
 *  @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_mpu_initiate(gw_xbuf_t *b, const char *bucket,
                                        const char *key, const char *upload_id);
/** CompleteMultipartUploadResult{Location,Bucket,Key,ETag}; `etag`
 *  without quotes (they are added). All borrowed.
 *  @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_mpu_complete(gw_xbuf_t *b, const char *location,
                                        const char *bucket, const char *key,
                                        const char *etag);

/* One part of ListParts (filled from storage's PartInfo). */
typedef struct gw_xml_part_s {
    uint32_t part_number;
    const char *etag; /* without quotes */
    uint64_t size;
    int64_t last_modified_ms;
} gw_xml_part_t;

/* ListParts. */
typedef struct gw_xml_parts_s {
    const char *bucket;
    const char *key;
    const char *upload_id;
    const gw_xml_owner_t *owner; /* Initiator and Owner; NULL = omitted */
    uint32_t part_number_marker;
    uint32_t next_part_number_marker;
    uint32_t max_parts;
    bool is_truncated;
    const gw_xml_part_t *parts; /* borrowed array */
    size_t n_parts;
} gw_xml_parts_t;

/** ListPartsResult. @param p borrows. @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_list_parts(gw_xbuf_t *b, const gw_xml_parts_t *p);

/* One upload of ListMultipartUploads. */
typedef struct gw_xml_upload_s {
    const char *key;
    const char *upload_id;
    int64_t initiated_ms;
} gw_xml_upload_t;

/* ListMultipartUploads. */
typedef struct gw_xml_uploads_s {
    const char *bucket;
    const char *key_marker;            /* always written */
    const char *upload_id_marker;      /* always written */
    const char *next_key_marker;       /* always written */
    const char *next_upload_id_marker; /* always written */
    const char *prefix;                /* omitted when NULL or "" */
    const char *delimiter;             /* omitted when NULL or "" */
    uint32_t max_uploads;
    bool is_truncated;
    bool url_encode; /* encoding-type=url: keys, markers, prefixes */
    const gw_xml_owner_t *owner;    /* Initiator and Owner; NULL = omitted */
    const gw_xml_upload_t *uploads; /* borrowed array */
    size_t n_uploads;
    const char *const *prefixes; /* CommonPrefixes, borrowed array */
    size_t n_prefixes;
} gw_xml_uploads_t;

/** ListMultipartUploadsResult. @param u borrows.
 *  @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_list_uploads(gw_xbuf_t *b,
                                        const gw_xml_uploads_t *u);

/** CopyObjectResult{LastModified,ETag}; `etag` without quotes.
 *  @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_copy_object(gw_xbuf_t *b, int64_t last_modified_ms,
                                       const char *etag);
/** CopyPartResult{LastModified,ETag} (UploadPartCopy).
 *  @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_copy_part(gw_xbuf_t *b, int64_t last_modified_ms,
                                     const char *etag);

/* One outcome of DeleteObjects. */
typedef struct gw_xml_deleted_s {
    const char *key;
    int err; /* 0 = deleted; else any error code, written as
                <Error> with gw__s3_err(err, 1)'s Code and Message */
} gw_xml_deleted_t;

/** DeleteResult: Deleted{Key} per success (none when `quiet`) and
 *  Error{Key,Code,Message} per failure, in the order given.
 *  @param v borrows an array of `n`. @return 0 or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_delete_result(gw_xbuf_t *b,
                                         const gw_xml_deleted_t *v, size_t n,
                                         bool quiet);

/* ---------------------------------------------------------------------
 * Parsers. Each reads a whole body (need not be NUL-terminated), matches
 * elements by local name with or without a namespace, and fails with:
 *   GW_EMAXMSG   len > max_len (nothing parsed)
 *   GW_EBADXML   not well-formed, wrong root, DOCTYPE or entity
 *                declarations, nesting past GW_XML_MAX_DEPTH, or a rule of
 *                the body broken (listed per parser)
 *   CLEO_ENOMEM  an allocation failed
 * Unknown elements are ignored. Outputs are written only on success.
 * ------------------------------------------------------------------- */

/* One object of a DeleteObjects request. */
typedef struct gw_del_obj_s {
    const char *key;        /* exactly as sent (not trimmed), non-empty */
    const char *version_id; /* NULL when absent */
} gw_del_obj_t;

/* A parsed DeleteObjects body. */
typedef struct gw_del_req_s {
    bool quiet;
    size_t n;           /* 1..GW_DELETE_MAX_KEYS */
    gw_del_obj_t *objs; /* n entries, in document order */
    /* private */
    char *_pool; /* the strings objs point into */
} gw_del_req_t;

/** Parse <Delete>[<Quiet>true|false</Quiet>]<Object><Key/>[<VersionId/>]
 *  </Object>...</Delete>. GW_EBADXML also for: no objects, more than
 *  GW_DELETE_MAX_KEYS, an Object without Key or with an empty Key, Quiet
 *  not true/false/1/0.
 *  @param body borrows. @param[out] out on success owns memory released
 *  by gw__del_req_destroy(). @return 0, GW_EMAXMSG, GW_EBADXML or
 *  CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_parse_delete(const char *body, size_t len,
                                        size_t max_len, gw_del_req_t *out);
/** Release a parsed DeleteObjects body. Accepts NULL. Cannot fail. */
void gw__del_req_destroy(gw_del_req_t *r);

/* One part of a CompleteMultipartUpload request. */
typedef struct gw_mpu_part_s {
    uint32_t part_number; /* 1..GW_MPU_MAX_PARTS */
    const char *etag;     /* blanks and surrounding quotes removed */
} gw_mpu_part_t;

/* A parsed CompleteMultipartUpload body. */
typedef struct gw_mpu_req_s {
    size_t n;             /* 1..GW_MPU_MAX_PARTS */
    gw_mpu_part_t *parts; /* in document order (storage checks order) */
    /* private */
    char *_pool;
} gw_mpu_req_t;

/** Parse <CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...
 *  GW_EBADXML also for: no parts, more than GW_MPU_MAX_PARTS, a Part
 *  without PartNumber or ETag, a PartNumber that is not a decimal number
 *  in 1..GW_MPU_MAX_PARTS, an empty ETag.
 *  @param body borrows. @param[out] out on success owns memory released
 *  by gw__mpu_req_destroy(). @return 0, GW_EMAXMSG, GW_EBADXML or
 *  CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_parse_complete(const char *body, size_t len,
                                          size_t max_len, gw_mpu_req_t *out);
/** Release a parsed CompleteMultipartUpload body. Accepts NULL. */
void gw__mpu_req_destroy(gw_mpu_req_t *r);

/** Parse an optional CreateBucketConfiguration body. An empty (or
 *  all-blank) body is accepted and reads as no constraint.
 *  @param body borrows. @param[out] loc gets the LocationConstraint text,
 *  trimmed and NUL-terminated ("" when absent); GW_EBADXML also when it
 *  is longer than GW_LOCATION_MAX - 1 bytes.
 *  @return 0, GW_EMAXMSG, GW_EBADXML or CLEO_ENOMEM. */
GW_S3XML_WUR int gw__s3xml_parse_create_bucket(const char *body, size_t len,
                                               size_t max_len,
                                               char loc[GW_LOCATION_MAX]);

#endif /* CLEO_GATEWAY_S3XML_H */
