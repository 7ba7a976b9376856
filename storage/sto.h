/*
 * sto.h - the storage engine: S3 objects and buckets on one RocksDB.
 *
 * A synchronous, thread-safe library. Every function may block on disk, so
 * the storage actors call it from the runtime's blocking-work pool, never
 * from a scheduler thread (STYLE rule 41). Any number of threads may use
 * one sto_db_t at once; a sto_put_t or sto_get_t belongs to one thread at
 * a time.
 *
 * Layout: column families `meta` (bucket '\0' key -> ObjectMeta), `data`
 * (object id, chunk index -> checksummed chunk), `queue` (the recovery
 * queue, later) and `sys` (buckets, per-bucket stats, the clock). Objects
 * are stored as chunks of opts.chunk_size bytes, streamed in and out, so
 * memory per put or get is one chunk whatever the object size.
 *
 * Durability: sto_put_commit() and sto_delete() return only after their
 * one WriteBatch is in a synced WAL; concurrent commits on different
 * threads share syncs (RocksDB's group commit).
 *
 * Conventions (shared/STYLE.md): int functions return 0 or a negative
 * CLEO_E* / STO_E* code; out-parameters are written only on success;
 * pointers say who owns them with "borrows", "takes", "gives" or
 * "valid until". The `db` parameter is always borrowed; strings passed in
 * are borrowed (copied when kept).
 */
#ifndef CLEO_STORAGE_STO_H
#define CLEO_STORAGE_STO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/rt.h"
#include "storage/contract.h"
#include "supervisors/sup.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STO_API __attribute__((visibility("default")))
#define STO_WUR __attribute__((warn_unused_result))

/* Errors: the STO_E* codes are in storage/contract.h. */

/** Name of an error code: the STO_E* ones, else cleo_err_name(). Static,
 *  never NULL. */
STO_API const char *sto_err_name(int err);
/** Message for an error code: the STO_E* ones, else cleo_strerror().
 *  Static, never NULL. */
STO_API const char *sto_strerror(int err);

/* ---------------------------------------------------------------------
 * The database.
 * ------------------------------------------------------------------- */

#define STO_DEFAULT_CHUNK_SIZE ((size_t)5 << 20)               /* 5 MiB */
#define STO_DEFAULT_TOMBSTONE_TTL_MS (7ULL * 24 * 3600 * 1000) /* 7 days */
#define STO_DEFAULT_CACHE_BYTES ((size_t)64 << 20)             /* 64 MiB */
#define STO_DEFAULT_RESERVE_BYTES ((uint64_t)64 << 20)         /* 64 MiB */
#define STO_DEFAULT_MPU_MIN_PART ((uint64_t)5 << 20)           /* 5 MiB */
#define STO_DEFAULT_MPU_TTL_MS (7ULL * 24 * 3600 * 1000)       /* 7 days */

typedef struct sto_db_s sto_db_t;

typedef struct {
    size_t chunk_size;         /* bytes per chunk, >= 4 KiB, <= 64 MiB */
    uint64_t tombstone_ttl_ms; /* tombstones older than this are purged */
    size_t cache_bytes;        /* RocksDB block cache */
    bool no_sync;              /* tests and benches only: WAL not synced */
    uint64_t mpu_min_part;     /* bytes each part but the last needs at
                                  sto_mpu_complete(); 0 = no minimum */
    uint64_t mpu_ttl_ms;       /* sto_db_compact() frees multipart uploads
                                  initiated longer ago; 0 = never */
    uint64_t reserve_bytes;    /* free disk space puts must leave: below
                                  it they fail with STO_ENOSPACE while
                                  deletes, aborts and RocksDB's flushes
                                  still have room; 0 = no check */
    uint64_t node_id;          /* this node's id in the versions it stamps (the
                                  tie-break, sto_version_t.node): a hash of the
                                  node's name in a cluster; 0 on a single node */
} sto_opts_t;

/** Fill o with the defaults above (no_sync false). */
STO_API void sto_opts_init(sto_opts_t *o);

/** Open (creating if missing) the database directory at path with the
 *  column families meta, data, queue and sys.
 *  @param path borrows. @param opts borrows; NULL = defaults.
 *  @param[out] out gives: close with sto_db_close().
 *  @return 0, CLEO_EINVAL (bad option), CLEO_ESTORAGE (RocksDB could not
 *  open it, e.g. locked by another process). */
STO_API STO_WUR int sto_db_open(const char *path, const sto_opts_t *opts,
                                sto_db_t **out);

/** Close the database. Every put, get and list result must be finished
 *  first. Accepts NULL; cannot fail. */
STO_API void sto_db_close(sto_db_t *db);

/** Purge tombstones older than the TTL (relative to now_ms, wall clock ms)
 *  and multipart uploads older than opts.mpu_ttl_ms (sto_mpu_expire()),
 *  then compact every column family.
 *  @return 0, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_db_compact(sto_db_t *db, uint64_t now_ms);

/** Purge tombstones whose deleted_at_ms + ttl < now_ms.
 *  @param[out] purged number removed; may be NULL.
 *  @return 0, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_purge(sto_db_t *db, uint64_t now_ms, uint64_t *purged);

/* ---------------------------------------------------------------------
 * Buckets. Names follow S3's rules: 3-63 bytes of [a-z0-9.-], starting
 * and ending with a letter or digit, no "..", not an IPv4 address, not
 * starting with "xn--" or ending with "-s3alias".
 * ------------------------------------------------------------------- */

typedef struct {
    char name[STO_BUCKET_MAX + 1];
    char owner[STO_OWNER_MAX + 1];
    uint64_t created_ms; /* wall clock */
    uint64_t objects;    /* live objects */
    uint64_t bytes;      /* sum of live objects' sizes */
} sto_bucket_info_t;

/** Create a bucket. @param name, owner borrow (owner may be NULL = "").
 *  @return 0, CLEO_EINVAL, CLEO_EEXIST, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_bucket_create(sto_db_t *db, const char *name,
                                      const char *owner, uint64_t now_ms);

/** Delete an empty bucket (tombstones do not count; they are dropped, and
 *  multipart uploads in progress are aborted, in the same batch).
 *  @return 0, CLEO_EINVAL, CLEO_ENOTFOUND, CLEO_ESTATE (not empty),
 *  CLEO_ESTORAGE. */
STO_API STO_WUR int sto_bucket_delete(sto_db_t *db, const char *name);

/** Does the bucket exist? False on a storage error too (logged). */
STO_API bool sto_bucket_exists(sto_db_t *db, const char *name);

/** A bucket's record with its live object count and bytes.
 *  @param[out] out borrows caller memory, filled on success.
 *  @return 0, CLEO_EINVAL, CLEO_ENOTFOUND, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_bucket_du(sto_db_t *db, const char *name,
                                  sto_bucket_info_t *out);

/** Every bucket, sorted by name.
 *  @param[out] out gives: free() it (NULL when *n is 0).
 *  @return 0, CLEO_ENOMEM, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_bucket_list(sto_db_t *db, sto_bucket_info_t **out,
                                    size_t *n);

/* ---------------------------------------------------------------------
 * Object metadata.
 * ------------------------------------------------------------------- */

typedef struct {
    const char *key;
    const char *value;
} sto_kv_t;

/* An object version: the hybrid logical clock it was stamped with (wall
 * ms << 16 | a counter; db.c) and the id of the node that stamped it.
 * Versions compare by clock, then node: the highest wins everywhere
 * (reads, repair, anti-entropy), and a tombstone is a version too. */
typedef struct {
    uint64_t clock;
    uint64_t node;
} sto_version_t;

/** <0, 0, >0 as a is older than, the same as, newer than b. */
STO_API int sto_version_cmp(const sto_version_t *a, const sto_version_t *b);

/** A new clock from the database's HLC: above every clock it stamped or
 *  observed, and above the wall clock. Thread-safe; cannot fail. */
STO_API uint64_t sto_clock_next(sto_db_t *db);

/** Raise the HLC to at least clock (a version another node stamped), so
 *  this node's next version of any key is newer. A clock of 0 or of 2^63
 *  and above (no HLC stamps one before the year 6430) is ignored, so
 *  that no input can make the counter wrap. Thread-safe. */
STO_API void sto_clock_observe(sto_db_t *db, uint64_t clock);

typedef struct {
    const char *bucket;
    const char *key;
    uint64_t size;                /* bytes */
    char etag[STO_ETAG_MAX + 1];  /* MD5 hex; multipart: "<hex>-<parts>" */
    const char *content_type;     /* "" when unset */
    const char *content_encoding; /* "" when unset */
    const char *cache_control;    /* "" when unset */
    const sto_kv_t *user_meta;    /* n_user_meta pairs */
    size_t n_user_meta;
    uint64_t last_modified_ms; /* wall clock */
    uint64_t clock;            /* the version's HLC; grows with each write */
    uint64_t clock_node;       /* the version's node (sto_version_t) */
    bool deleted;              /* a tombstone (sto_head_any() only) */
    uint64_t chunk_size;       /* bytes per chunk when written */
    size_t n_chunks;
    /* private */
    void *_pb;
    sto_kv_t *_kv;
} sto_meta_t;

/** Free metadata from sto_head() or sto_put_commit(). Accepts NULL. */
STO_API void sto_meta_free(sto_meta_t *m);

/** An object's metadata. @param bucket, key borrow.
 *  @param[out] out gives: free with sto_meta_free().
 *  @return 0, CLEO_EINVAL, STO_ENOBUCKET, CLEO_ENOTFOUND, CLEO_ENOMEM,
 *  CLEO_ESTORAGE, CLEO_EPROTO (undecodable record). */
STO_API STO_WUR int sto_head(sto_db_t *db, const char *bucket, const char *key,
                             sto_meta_t **out);

/** Delete an object: write a tombstone (deleted_at_ms = now_ms), free its
 *  chunks and update the bucket's stats, in one synced batch.
 *  @return 0, CLEO_EINVAL, STO_ENOBUCKET, CLEO_ENOTFOUND (absent or
 *  already a tombstone), CLEO_ESTORAGE. */
STO_API STO_WUR int sto_delete(sto_db_t *db, const char *bucket,
                               const char *key, uint64_t now_ms);

/** A replica's delete: a tombstone of version v (deleted_at_ms and
 *  last_modified_ms = now_ms), written even if the key is absent or
 *  already a tombstone (an older put that arrives later then loses),
 *  freeing a live version's chunks and updating the stats, in one synced
 *  batch; unless the key's current version is the same or newer. Raises
 *  the HLC to v->clock. @param bucket, key, v borrow.
 *  @return 0, STO_ESUPERSEDED (nothing changed), CLEO_EINVAL (also a
 *  clock of 0 or of 2^63 and above), STO_ENOBUCKET, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_delete_version(sto_db_t *db, const char *bucket,
                                       const char *key, uint64_t now_ms,
                                       const sto_version_t *v);

/** As sto_head(), tombstones included (out->deleted set, size 0, etag
 *  ""): what a replica holds of the key, for reads that compare
 *  versions and for repair. @return as sto_head(); CLEO_ENOTFOUND only
 *  when the key has no record at all. */
STO_API STO_WUR int sto_head_any(sto_db_t *db, const char *bucket,
                                 const char *key, sto_meta_t **out);

/* ---------------------------------------------------------------------
 * Streaming put: begin, write any number of times, then commit or abort.
 * Nothing is visible until commit; full chunks are stored under a private
 * id as they fill, so memory is one chunk.
 * ------------------------------------------------------------------- */

typedef struct sto_put_s sto_put_t;

typedef struct {
    const char *content_type;     /* may be NULL */
    const char *content_encoding; /* may be NULL */
    const char *cache_control;    /* may be NULL */
    const sto_kv_t *user_meta;    /* n_user_meta pairs */
    size_t n_user_meta;
    uint64_t now_ms; /* last-modified; 0 = the wall clock */
    /* The caller writes the whole object, at most one chunk, at once:
     * no crash record is written and the chunk goes into the commit's
     * one synced batch (one WAL write per small put, not three). A
     * one-shot put that outgrows a chunk fails with CLEO_EINVAL. */
    bool one_shot;
    /* NULL: commit stamps a new version (sto_clock_next, opts.node_id).
     * Set (borrowed until begin returns; copied): a replica's write of
     * that version, with now_ms as its last-modified. Commit stores it
     * only if it is newer than the key's current version, live or
     * tombstone; otherwise it frees the written chunks and fails with
     * STO_ESUPERSEDED, changing nothing. It raises the HLC to the
     * version's clock (sto_clock_observe). */
    const sto_version_t *version;
} sto_put_opts_t;

/** Start a put. @param bucket, key, o borrow (copied; o may be NULL).
 *  @param[out] out gives: finish with sto_put_commit() or sto_put_abort().
 *  @return 0, CLEO_EINVAL (key; a version's clock of 0 or of 2^63 and
 *  above), STO_ENOBUCKET, STO_ENOSPACE,
 *  CLEO_ENOMEM, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_put_begin(sto_db_t *db, const char *bucket,
                                  const char *key, const sto_put_opts_t *o,
                                  sto_put_t **out);

/** Append len bytes. @param buf borrows.
 *  @return 0, STO_ENOSPACE, CLEO_ESTORAGE (the put is then failed: only
 *  abort remains, and commit returns the same error). */
STO_API STO_WUR int sto_put_write(sto_put_t *put, const void *buf, size_t len);

/** Verify and publish. expected_size < 0 and expected_md5 NULL skip the
 *  checks. On success, one synced batch writes the metadata with a new
 *  clock, frees the previous version's chunks and updates the bucket's
 *  stats. On any error nothing becomes visible and the written chunks are
 *  freed.
 *  @param put takes: freed whatever the result.
 *  @param expected_md5 borrows 16 raw bytes, or NULL.
 *  @param[out] out gives the new metadata (sto_meta_free()); may be NULL.
 *  @return 0, CLEO_EBADREQ (size or MD5 mismatch), STO_ENOBUCKET (bucket
 *  deleted meanwhile), STO_ESUPERSEDED (a replica's put, o->version, not
 *  newer than the key's current version), STO_ENOSPACE, CLEO_ENOMEM,
 *  CLEO_ESTORAGE. */
STO_API STO_WUR int sto_put_commit(sto_put_t *put, int64_t expected_size,
                                   const uint8_t *expected_md5,
                                   sto_meta_t **out);

/** Abandon a put and free its chunks. @param put takes. Accepts NULL. */
STO_API void sto_put_abort(sto_put_t *put);

/* ---------------------------------------------------------------------
 * Streaming get with an optional byte range (HTTP Range semantics).
 * ------------------------------------------------------------------- */

typedef struct {
    sto_range_kind_t kind;
    uint64_t first;
    uint64_t last;
    uint64_t suffix_len;
} sto_range_t;

typedef struct sto_get_s sto_get_t;

/** Open an object for reading from a consistent snapshot: a concurrent
 *  overwrite or delete does not disturb it.
 *  @param bucket, key, range borrow (range may be NULL = all).
 *  @param[out] out gives: close with sto_get_close().
 *  @return 0, CLEO_EINVAL, STO_ENOBUCKET, CLEO_ENOTFOUND, STO_ERANGE
 *  (first beyond the end, last < first, suffix 0, or any range on an
 *  empty object), CLEO_ENOMEM, CLEO_EPROTO, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_get_open(sto_db_t *db, const char *bucket,
                                 const char *key, const sto_range_t *range,
                                 sto_get_t **out);

/** The object's metadata. @return valid until sto_get_close(). */
STO_API const sto_meta_t *sto_get_meta(const sto_get_t *get);

/** The resolved span: first byte offset and byte count to be read. */
STO_API void sto_get_span(const sto_get_t *get, uint64_t *first, uint64_t *len);

/** Read up to cap bytes of the span into buf. Each chunk's checksum is
 *  checked before any of its bytes are returned.
 *  @param buf borrows. @return bytes read, 0 at the end, STO_ECORRUPT
 *  (bad or missing chunk: no bytes of it are returned), CLEO_ESTORAGE. */
STO_API ssize_t sto_get_read(sto_get_t *get, void *buf, size_t cap);

/** Finish a get. @param get takes. Accepts NULL. */
STO_API void sto_get_close(sto_get_t *get);

/** Copy src_bucket/src_key to bucket/key on the server: the source is
 *  read from a snapshot and streamed into a new put one chunk at a time
 *  (memory: about two chunks), its bytes checked against its ETag when
 *  that is a plain MD5. Copying an object onto itself is allowed.
 *  @param src_bucket, src_key, bucket, key borrow.
 *  @param o borrows: the destination's metadata (S3's REPLACE); NULL =
 *  the source's content type, encoding, cache control and user metadata
 *  (S3's COPY), last-modified now.
 *  @param[out] out gives the new metadata (sto_meta_free()); may be NULL.
 *  @return 0, as sto_get_open() for the source (CLEO_EINVAL,
 *  STO_ENOBUCKET, CLEO_ENOTFOUND), as sto_put_begin() and
 *  sto_put_commit() for the destination, STO_ECORRUPT (a source chunk
 *  is bad or missing; nothing is written), CLEO_ENOMEM, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_copy(sto_db_t *db, const char *src_bucket,
                             const char *src_key, const char *bucket,
                             const char *key, const sto_put_opts_t *o,
                             sto_meta_t **out);

/* ---------------------------------------------------------------------
 * Listing (S3 ListObjects / ListObjectsV2), answered by seeking.
 * ------------------------------------------------------------------- */

typedef struct {
    const char *prefix;      /* NULL or "" = all */
    const char *delimiter;   /* NULL or "" = none */
    const char *start_after; /* marker / continuation; NULL = start */
    size_t max_keys;         /* entries + prefixes per page; 0 = 1000 */
} sto_list_opts_t;

typedef struct {
    char *key;
    uint64_t size;
    char etag[STO_ETAG_MAX + 1];
    uint64_t last_modified_ms;
} sto_list_entry_t;

typedef struct {
    sto_list_entry_t *entries; /* sorted by key */
    size_t n_entries;
    char **prefixes; /* common prefixes, sorted */
    size_t n_prefixes;
    bool is_truncated;
    char *next_marker; /* last key or prefix returned; NULL if none; pass
                          as start_after for the next page */
} sto_list_t;

/** List one page of a bucket's live objects. Keys and common prefixes
 *  after start_after that start with prefix are returned in order, a key
 *  containing the delimiter after the prefix rolling up into a common
 *  prefix (counted once). A common prefix that start_after falls within
 *  is not repeated.
 *  @param o borrows. @param[out] out gives: free with sto_list_free().
 *  @return 0, CLEO_EINVAL, STO_ENOBUCKET, CLEO_ENOMEM, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_list(sto_db_t *db, const char *bucket,
                             const sto_list_opts_t *o, sto_list_t **out);

/** Free a listing. Accepts NULL. */
STO_API void sto_list_free(sto_list_t *l);

/* ---------------------------------------------------------------------
 * Multipart uploads (S3 CreateMultipartUpload, UploadPart[Copy],
 * CompleteMultipartUpload, AbortMultipartUpload, ListParts,
 * ListMultipartUploads). Parts are stored as they arrive, as chunks under
 * their own put ids; completing references those chunks from the
 * object's metadata, so no data is copied. An upload is known by bucket,
 * key and upload id together: an id given with another bucket or key is
 * STO_ENOUPLOAD. Nothing of an upload is visible to head, get or list.
 * ------------------------------------------------------------------- */

/** A part as CompleteMultipartUpload lists it. */
typedef struct {
    uint32_t part_number;
    const char *etag; /* MD5 hex; surrounding quotes are tolerated */
} sto_mpu_part_t;

/** A stored part. */
typedef struct {
    uint32_t part_number;
    char etag[STO_ETAG_MAX + 1]; /* MD5 hex of the part */
    uint64_t size;               /* bytes */
    uint64_t last_modified_ms;   /* wall clock */
} sto_part_info_t;

typedef struct {
    sto_part_info_t *parts; /* by part number */
    size_t n_parts;
    bool is_truncated;
    uint32_t next_part_marker; /* last part number returned; 0 if none */
    uint64_t initiated_ms;     /* the upload's creation, wall clock */
} sto_part_list_t;

typedef struct {
    const char *prefix;           /* NULL or "" = all keys */
    const char *key_marker;       /* NULL or "" = from the start */
    const char *upload_id_marker; /* with key_marker: uploads of that key
                                     after this id; NULL = none */
    size_t max_uploads;           /* 0 = 1000 */
} sto_upload_list_opts_t;

typedef struct {
    char *key;
    char upload_id[STO_UPLOAD_ID_LEN + 1];
    uint64_t initiated_ms; /* wall clock */
} sto_upload_info_t;

typedef struct {
    sto_upload_info_t *uploads; /* by key, then initiation */
    size_t n_uploads;
    bool is_truncated;
    char *next_key_marker; /* last upload's key; NULL if none */
    char next_upload_id_marker[STO_UPLOAD_ID_LEN + 1]; /* its id, or "" */
} sto_upload_list_t;

/** Start a multipart upload of bucket/key. The object's metadata is
 *  taken from o now (o->now_ms is ignored) and applied at completion.
 *  @param bucket, key, o borrow (copied; o may be NULL).
 *  @param now_ms the initiation time (wall clock ms).
 *  @param[out] upload_id borrows caller memory: STO_UPLOAD_ID_LEN hex
 *  characters and a NUL, unguessable (a clock and 64 random bits).
 *  @return 0, CLEO_EINVAL (key), STO_ENOBUCKET, CLEO_ENOMEM,
 *  CLEO_ESTORAGE. */
STO_API STO_WUR int sto_mpu_create(sto_db_t *db, const char *bucket,
                                   const char *key, const sto_put_opts_t *o,
                                   uint64_t now_ms,
                                   char upload_id[STO_UPLOAD_ID_LEN + 1]);

/** Start storing part part_number of an upload: a streaming put whose
 *  sto_put_commit() records the part (replacing and freeing a previous
 *  part of that number) instead of publishing an object. The meta that
 *  commit gives out carries the part's etag (MD5 hex), size and
 *  last_modified_ms. Commit fails with STO_ENOUPLOAD, freeing the part,
 *  if the upload was completed or aborted meanwhile.
 *  @param bucket, key, upload_id borrow.
 *  @param[out] out gives: finish with sto_put_commit() or sto_put_abort().
 *  @return 0, CLEO_EINVAL (key, or part_number outside 1..STO_PART_MAX),
 *  STO_ENOBUCKET, STO_ENOUPLOAD, CLEO_ENOMEM, CLEO_EPROTO,
 *  CLEO_ESTORAGE. */
STO_API STO_WUR int sto_mpu_part_begin(sto_db_t *db, const char *bucket,
                                       const char *key, const char *upload_id,
                                       uint32_t part_number, sto_put_t **out);

/** Store part part_number of an upload from (a range of) another
 *  object (UploadPartCopy), streamed through one chunk of memory from a
 *  snapshot of the source.
 *  @param bucket, key, upload_id, src_bucket, src_key borrow.
 *  @param range borrows; NULL = the whole source. A STO_RANGE_SPAN must
 *  lie within the source (S3 refuses a last byte beyond it).
 *  @param[out] out borrows caller memory, filled on success; may be NULL.
 *  @return 0, as sto_mpu_part_begin(), as sto_get_open() for the source
 *  (CLEO_ENOTFOUND, STO_ERANGE, ...), STO_ECORRUPT. */
STO_API STO_WUR int
sto_mpu_part_copy(sto_db_t *db, const char *bucket, const char *key,
                  const char *upload_id, uint32_t part_number,
                  const char *src_bucket, const char *src_key,
                  const sto_range_t *range, sto_part_info_t *out);

/** Complete an upload: publish bucket/key made of the listed parts. The
 *  parts must be listed in strictly ascending order, each must exist with
 *  the ETag given, and each but the last must hold at least
 *  opts.mpu_min_part bytes. One synced batch writes the metadata (ETag =
 *  hex(MD5(the parts' binary MD5s)) "-" n, chunks referencing the parts'
 *  chunks: no data is copied), frees the unlisted parts and the previous
 *  version's chunks, removes the upload and updates the bucket's stats.
 *  On any error nothing changes: the upload stays as it was.
 *  @param bucket, key, upload_id borrow. @param parts borrows n entries.
 *  @param now_ms the object's last-modified (wall clock ms).
 *  @param[out] out gives the new metadata (sto_meta_free()); may be NULL.
 *  @return 0, CLEO_EINVAL (key, or n == 0), STO_ENOBUCKET, STO_ENOUPLOAD,
 *  STO_EPARTORDER, STO_EBADPART, STO_ETOOSMALL, CLEO_ENOMEM, CLEO_EPROTO,
 *  CLEO_ESTORAGE. */
STO_API STO_WUR int sto_mpu_complete(sto_db_t *db, const char *bucket,
                                     const char *key, const char *upload_id,
                                     const sto_mpu_part_t *parts, size_t n,
                                     uint64_t now_ms, sto_meta_t **out);

/** Abort an upload: free its parts and forget it, in one synced batch. A
 *  part put still open then fails at commit.
 *  @param bucket, key, upload_id borrow.
 *  @return 0, CLEO_EINVAL (key), STO_ENOBUCKET (bad bucket name),
 *  STO_ENOUPLOAD, CLEO_EPROTO, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_mpu_abort(sto_db_t *db, const char *bucket,
                                  const char *key, const char *upload_id);

/** One page of an upload's parts with numbers above part_marker.
 *  @param bucket, key, upload_id borrow. @param max 0 = 1000.
 *  @param[out] out gives: free with sto_part_list_free().
 *  @return 0, CLEO_EINVAL (key), STO_ENOBUCKET (bad bucket name),
 *  STO_ENOUPLOAD, CLEO_ENOMEM, CLEO_EPROTO, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_mpu_list_parts(sto_db_t *db, const char *bucket,
                                       const char *key, const char *upload_id,
                                       uint32_t part_marker, size_t max,
                                       sto_part_list_t **out);

/** Free a part list. Accepts NULL. */
STO_API void sto_part_list_free(sto_part_list_t *l);

/** One page of a bucket's uploads in progress whose keys start with
 *  o->prefix, by key then initiation, after (key_marker,
 *  upload_id_marker) as S3 defines: without an upload_id_marker, keys
 *  after key_marker; with one, also the uploads of key_marker initiated
 *  after that id's.
 *  @param bucket, o borrow (o may be NULL = defaults).
 *  @param[out] out gives: free with sto_upload_list_free().
 *  @return 0, STO_ENOBUCKET, CLEO_EINVAL (prefix or marker over
 *  STO_KEY_MAX bytes), CLEO_ENOMEM, CLEO_EPROTO, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_mpu_list_uploads(sto_db_t *db, const char *bucket,
                                         const sto_upload_list_opts_t *o,
                                         sto_upload_list_t **out);

/** Free an upload list. Accepts NULL. */
STO_API void sto_upload_list_free(sto_upload_list_t *l);

/** Abort every upload initiated before now_ms - ttl_ms (wall clock ms).
 *  sto_db_compact() calls it with opts.mpu_ttl_ms.
 *  @param[out] expired number aborted; may be NULL.
 *  @return 0, CLEO_ESTORAGE. */
STO_API STO_WUR int sto_mpu_expire(sto_db_t *db, uint64_t now_ms,
                                   uint64_t ttl_ms, uint64_t *expired);

/* ---------------------------------------------------------------------
 * Integrity.
 * ------------------------------------------------------------------- */

/** Called once per corrupt chunk found by sto_scrub(), with the chunk's
 *  id and index and STO_ECORRUPT. */
typedef void (*sto_scrub_cb)(void *data, uint64_t id, uint32_t index, int err);

typedef struct {
    uint64_t chunks;  /* chunks checked */
    uint64_t bytes;   /* payload bytes checked */
    uint64_t corrupt; /* chunks that failed */
} sto_scrub_stats_t;

/** Walk every chunk and verify its checksum.
 *  @param cb may be NULL. @param data borrows, passed to cb.
 *  @param[out] out filled on success; may be NULL.
 *  @return 0 (even if corruption was found), CLEO_ESTORAGE. */
STO_API STO_WUR int sto_scrub(sto_db_t *db, sto_scrub_cb cb, void *data,
                              sto_scrub_stats_t *out);

/* ---------------------------------------------------------------------
 * The engine actor and its messages are in storage/contract.h.
 * ------------------------------------------------------------------- */

#define STO_CLIENT_TIMEOUT_MS 60000u /* the client helpers' timeout */

/** What the storage actors start with: the engine, the scrubber and the
 *  compactor all take a `const sto_engine_conf_t *` as spec->arg, which
 *  must outlive the supervisor (restarts reuse it). */
typedef struct sto_engine_conf_s {
    const char *path;             /* the database directory; borrows */
    sto_opts_t opts;              /* chunk size, TTL, cache (sto_opts_init) */
    uint64_t scrub_interval_ms;   /* periodic scrub; 0 = only on demand */
    uint64_t compact_interval_ms; /* periodic compaction; 0 = on demand */
    uint32_t stream_idle_ms;      /* stream idle stop; 0 = STO_STREAM_IDLE_MS */
    /* Load shedding (storage.mailbox_limit): the engine's mailbox limit
     * (rt_spawn_opts_t), and also how many reads and how many writes it
     * keeps queued or running on the pools. Past it a new request is
     * answered CLEO_EOVERLOAD at once and changes nothing; streams
     * already open go on. 0 = unbounded. */
    uint32_t mailbox_limit;
    /* Test-only (debug.storage_write_delay_ms): each write job of the
     * engine sleeps this long on the I/O pool first, as on a slow disk.
     * 0 = off. */
    uint32_t debug_write_delay_ms;
} sto_engine_conf_t;

/* The default of sto_engine_conf_t.mailbox_limit: 32 times the I/O
 * pool's 64 threads, so that group commit always has full batches and a
 * burst queues rather than fails, while a full queue of 1 MiB puts on a
 * disk writing 100 MB/s drains in about 20 s, well inside the gateway's
 * 60 s call timeout (a put answered by a timeout may still commit). */
#define STO_DEFAULT_MAILBOX_LIMIT 2048u

/** Fill c with path, sto_opts_init()'s defaults, no periodic work and
 *  mailbox_limit STO_DEFAULT_MAILBOX_LIMIT.
 *  @param path borrows: must outlive c's use. */
STO_API void sto_engine_conf_init(sto_engine_conf_t *c, const char *path);

/** A sup_start_fn for the engine. spec->arg is a `const
 *  sto_engine_conf_t *` (above). The engine is linked to `sup`, traps
 *  exits and registers as STO_ENGINE_NAME. It returns at once and opens
 *  the database on the blocking pool (retrying while a predecessor still
 *  holds it); requests that arrive meanwhile wait and are served after
 *  the open. If the open fails, the engine stops with that error.
 *  Its mailbox limit is conf->mailbox_limit, and a client request that
 *  finds that many reads (or writes) of its kind already queued or
 *  running on the pools, or that many calls waiting for the open, is
 *  answered CLEO_EOVERLOAD at once and does nothing.
 *  @return 0, CLEO_EEXIST (the name is taken), or as gen_server_start(). */
STO_API STO_WUR int sto_engine_start(rt_actor_t *sup,
                                     const sup_child_spec_t *spec, void *extra,
                                     rt_pid_t *out);

/** sup_start_fns for the scrubber and the compactor: gen_servers linked
 *  to `sup`, registered as STO_SCRUBBER_NAME / STO_COMPACTOR_NAME, whose
 *  spec->arg is the engine's `const sto_engine_conf_t *` (their
 *  intervals; 0 = on demand only). They find the engine by name at each
 *  run (CLEO_ENOPROC when there is none), so start them after it.
 *  @return 0, CLEO_EEXIST (the name is taken), or as gen_server_start(). */
STO_API STO_WUR int sto_scrubber_start(rt_actor_t *sup,
                                       const sup_child_spec_t *spec,
                                       void *extra, rt_pid_t *out);
STO_API STO_WUR int sto_compactor_start(rt_actor_t *sup,
                                        const sup_child_spec_t *spec,
                                        void *extra, rt_pid_t *out);

/** A sup_start_fn for the bucket sync of a cluster node (bucketsync.c),
 *  registered as STO_BUCKET_SYNC_NAME and linked to `sup`: it subscribes
 *  to the node's cluster agent (manager/contract.h's MGR_AGENT_NAME;
 *  it waits for it) and makes the engine's bucket records follow the
 *  cluster's buckets: missing ones created, ones the cluster deleted
 *  dropped when empty. Start it after the engine, on nodes of a cluster
 *  only. spec->arg is unused.
 *  @return 0, CLEO_EEXIST (the name is taken), or as rt_spawn(). */
#define STO_BUCKET_SYNC_NAME "sto_bucket_sync"
STO_API STO_WUR int sto_bucket_sync_start(rt_actor_t *sup,
                                          const sup_child_spec_t *spec,
                                          void *extra, rt_pid_t *out);

/* ---------------------------------------------------------------------
 * Blocking clients of the engine, for mains and tests: each sends one
 * request to STO_ENGINE_NAME with gen_server_call_sync() and waits up to
 * STO_CLIENT_TIMEOUT_MS. Not from a scheduler thread (CLEO_EDEADLK).
 * Besides the codes of the matching sto_* call they return CLEO_ENOPROC
 * (no engine registered, or it died), CLEO_ETIMEDOUT, CLEO_ESHUTDOWN,
 * CLEO_EOVERLOAD (the engine is over its limit: nothing was done).
 * Records given out are freed with protobuf_c_message_free_unpacked(x,
 * NULL).
 * ------------------------------------------------------------------- */

/** @param name, owner borrow (owner may be NULL). */
STO_API STO_WUR int sto_client_bucket_create_sync(rt_t *rt, const char *name,
                                                  const char *owner);
/** @param name borrows. */
STO_API STO_WUR int sto_client_bucket_delete_sync(rt_t *rt, const char *name);
/** @param name borrows. @param[out] out whether it exists. */
STO_API STO_WUR int sto_client_bucket_exists_sync(rt_t *rt, const char *name,
                                                  bool *out);
/** @param[out] out gives. */
STO_API STO_WUR int
sto_client_bucket_list_sync(rt_t *rt, Cleo__Storage__BucketList **out);
/** @param name borrows. @param[out] out gives. */
STO_API STO_WUR int sto_client_bucket_du_sync(rt_t *rt, const char *name,
                                              Cleo__Storage__BucketInfo **out);
/** Put a whole object. @param bucket, key, o borrow (o may be NULL;
 *  now_ms is ignored: the engine stamps the wall clock).
 *  @param body takes one reference: its len bytes are the object.
 *  @param[out] out gives the new metadata; may be NULL. */
STO_API STO_WUR int sto_client_put_sync(rt_t *rt, const char *bucket,
                                        const char *key, rt_buf_t *body,
                                        const sto_put_opts_t *o,
                                        Cleo__Storage__ObjectInfo **out);
/** Get a whole object. @param bucket, key borrow.
 *  @param[out] body gives one reference (rt_buf_unref()).
 *  @param[out] info gives the metadata; may be NULL. */
STO_API STO_WUR int sto_client_get_sync(rt_t *rt, const char *bucket,
                                        const char *key, rt_buf_t **body,
                                        Cleo__Storage__ObjectInfo **info);
/** Server-side copy (STO_MSG_COPY). @param src_bucket, src_key,
 *  bucket, key, o borrow (o NULL = copy the source's metadata, else
 *  replace it with o's; now_ms ignored). @param[out] out gives; may be
 *  NULL. */
STO_API STO_WUR int sto_client_copy_sync(rt_t *rt, const char *src_bucket,
                                         const char *src_key,
                                         const char *bucket, const char *key,
                                         const sto_put_opts_t *o,
                                         Cleo__Storage__ObjectInfo **out);
/** @param bucket, key borrow. @param[out] out gives. */
STO_API STO_WUR int sto_client_head_sync(rt_t *rt, const char *bucket,
                                         const char *key,
                                         Cleo__Storage__ObjectInfo **out);
/** @param bucket, key borrow. */
STO_API STO_WUR int sto_client_delete_sync(rt_t *rt, const char *bucket,
                                           const char *key);
/** @param bucket, o borrow (o may be NULL = defaults; max_keys over 1000
 *  is 1000). @param[out] out gives. */
STO_API STO_WUR int sto_client_list_sync(rt_t *rt, const char *bucket,
                                         const sto_list_opts_t *o,
                                         Cleo__Storage__ListReply **out);

/* ---------------------------------------------------------------------
 * The repairer (storage/repair.c; issue 12): a gen_server registered as
 * STO_REPAIR_NAME on the storage nodes of a cluster. A write's
 * coordinator that answered while a replica missed the write casts it
 * REPAIR_ENQUEUE (a RepairItem: that node must get at least this version
 * of the key). The repairer keeps these in the persistent repair queue
 * (the database's `queue` column family, through the engine's
 * REPAIR_ADD / REMOVE / SCAN / COUNT) and pushes this node's version of
 * each key to its node when that node is reachable: at NODEUP, and on a
 * retry timer with exponential backoff while it is not. REPAIR_STATS (a
 * call, no payload) answers each target's queue (RepairStats); `cleo-adm
 * info sto_repair` shows the same. storage/repair.h has the details.
 * ------------------------------------------------------------------- */

/* STO_REPAIR_NAME, STO_MSG_REPAIR_ENQUEUE and STO_MSG_REPAIR_STATS are
 * in contract.h (cleo-adm mq-stats asks the repairer from the manager). */
#define STO_MSG_REPAIR_ADD CLEO__STORAGE__MSG_ID__REPAIR_ADD
#define STO_MSG_REPAIR_REMOVE CLEO__STORAGE__MSG_ID__REPAIR_REMOVE
#define STO_MSG_REPAIR_SCAN CLEO__STORAGE__MSG_ID__REPAIR_SCAN
#define STO_MSG_REPAIR_COUNT CLEO__STORAGE__MSG_ID__REPAIR_COUNT

#define STO_REPAIR_BACKOFF_MIN_MS 1000u  /* the first retry's delay */
#define STO_REPAIR_BACKOFF_MAX_MS 60000u /* doubling up to this */

/* The repairer's spec->arg; NULL = the defaults above. */
typedef struct sto_repair_conf_s {
    uint32_t backoff_min_ms; /* 0 = STO_REPAIR_BACKOFF_MIN_MS */
    uint32_t backoff_max_ms; /* 0 = STO_REPAIR_BACKOFF_MAX_MS */
} sto_repair_conf_t;

/** A sup_start_fn for the repairer: a gen_server linked to `sup`,
 *  registered as STO_REPAIR_NAME, that finds the engine by name at each
 *  call (start it after the engine) and the targets' engines over
 *  distribution. spec->arg is a `const sto_repair_conf_t *` that outlives
 *  the supervisor, or NULL. It reads the queue's counts from the engine
 *  when it starts and drains what is there.
 *  @return 0, CLEO_EEXIST (the name is taken), or as gen_server_start(). */
STO_API STO_WUR int sto_repair_start(rt_actor_t *sup,
                                     const sup_child_spec_t *spec, void *extra,
                                     rt_pid_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CLEO_STORAGE_STO_H */
