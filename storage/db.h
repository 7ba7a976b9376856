/*
 * db.h - private to storage/: the database handle, key encodings and the
 * helpers every storage file shares. Tests include it for the raw hooks.
 *
 * Encodings:
 *   meta CF  bucket '\0' key            -> 1 header byte + ObjectMeta
 *            (STO__LIVE or STO__TOMB, so listings skip tombstones
 *            without decoding them)
 *   data CF  id (u64 BE) index (u32 BE) -> xxh3 (u64 BE) + payload
 *   sys  CF  'B' name -> BucketRecord;  'S' name -> stats (merge: two
 *            int64 LE deltas, objects and bytes);  "clock" -> u64 BE (merge:
 *            the maximum; sto__clock_persist);
 *            'U' id (u64 BE) -> "" while a put with that id is open
 *            (object and part puts alike);
 *            'M' bucket '\0' key '\0' upload_id -> UploadRecord, one per
 *            multipart upload in progress (sorted by key, then upload
 *            id, whose first 16 hex digits are the initiation clock);
 *            'P' upload_id (32 hex) part_number (u32 BE) -> PartRecord,
 *            one per stored part; its chunks are in the data CF under
 *            the part put's id and move into an ObjectMeta at complete
 *            (an object's chunks may thus have several ids and lengths)
 */
#ifndef CLEO_STORAGE_DB_H
#define CLEO_STORAGE_DB_H

#include <pthread.h>
#include <stdint.h>

#include <rocksdb/c.h>

#include "proto/storage_meta.pb-c.h"
#include "storage/sto.h"

#define STO__LIVE 'L'
#define STO__TOMB 'T'
#define STO__STRIPES 64      /* per-key commit locks */
#define STO__DKEY_LEN 12     /* data CF key bytes */
#define STO__CHUNK_HDR 8     /* xxh3 before the payload */
#define STO__INLINE_MAX 8192 /* one-shot objects up to this live in meta */
#define STO__MKEY_MAX (STO_BUCKET_MAX + 1 + STO_KEY_MAX)

enum { STO__CF_META, STO__CF_DATA, STO__CF_QUEUE, STO__CF_SYS, STO__NCF };

/* The engine is a library that several blocking-pool workers call at
 * once, so unlike actor code it has locks (STYLE rule 45 is about actor
 * state): short per-key stripes around read-modify-write and a bucket
 * rwlock. None is held across more than one key's synced write, so
 * commits of different keys still share WAL syncs. */
struct sto_db_s {
    rocksdb_t *rdb;
    rocksdb_column_family_handle_t *cf[STO__NCF];
    rocksdb_column_family_handle_t *cf_default;
    rocksdb_options_t *opts;
    rocksdb_options_t *cf_opts[STO__NCF];
    rocksdb_writeoptions_t *wo_sync;  /* commits: WAL synced */
    rocksdb_writeoptions_t *wo_async; /* chunks, cleanup */
    rocksdb_readoptions_t *ro;
    sto_opts_t o;
    char *path; /* the directory, for the free-space check */
    /* Bucket create/delete take it for writing, object commits for
     * reading, so a bucket cannot vanish under a commit. */
    pthread_rwlock_t bucket_lock;
    /* Serialise read-modify-write of the same key (old chunks, stats). */
    pthread_mutex_t stripe[STO__STRIPES];
    pthread_mutex_t clock_lock;
    uint64_t clock_last; /* guarded by clock_lock */
};

/* Translate a RocksDB errptr: log it with what, free it, CLEO_ESTORAGE.
 * Returns 0 when err is NULL. */
int sto__rerr(char *err, const char *what);
/* Log a storage message to stderr. */
void sto__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Allocation for fixed-size control structs: aborts on OOM. */
void *sto__xcalloc(size_t n, size_t size);

/* Wall clock ms; the next logical clock (hybrid: >= now_ms << 16). */
uint64_t sto__now_ms(void);
uint64_t sto__clock_next(sto_db_t *db);
/* Versions' clocks are below this (2^63: wall ms << 16 reaches it around
 * the year 6430), so the counter never wraps. */
#define STO__CLOCK_MAX (UINT64_C(1) << 63)
/* Is clock a version's clock we accept from another node: not 0 and
 * below STO__CLOCK_MAX? sto_clock_observe() ignores any other. */
bool sto__clock_valid(uint64_t clock);
/* Add the HLC's current value to the batch (the sys CF's "clock", kept
 * at its maximum), so a restart resumes above every clock it stamped or
 * observed before the batch. */
void sto__clock_persist(sto_db_t *db, rocksdb_writebatch_t *b);

/* Validation: 0 or CLEO_EINVAL. */
int sto__bucket_name_check(const char *name);
int sto__key_check(const char *key);

/* meta CF key: bucket '\0' key into out (>= STO__MKEY_MAX). Returns its
 * length. */
size_t sto__mkey(char *out, const char *bucket, const char *key);
void sto__dkey(char *out, uint64_t id, uint32_t index);
void sto__dkey_parse(const char *k, uint64_t *id, uint32_t *index);
uint64_t sto__be64(const char *p);
void sto__put_be64(char *p, uint64_t v);

/* Read and decode an object's metadata record. *out gives: free with
 * cleo__storage__object_meta__free_unpacked(). ro NULL = db->ro.
 * Returns 0, CLEO_ENOTFOUND (absent; tombstones are returned with
 * deleted set), CLEO_EPROTO, CLEO_ESTORAGE. */
int sto__meta_read(sto_db_t *db, const rocksdb_readoptions_t *ro,
                   const char *mkey, size_t mkey_len,
                   Cleo__Storage__ObjectMeta **out);
/* Encode m with its header byte into a malloc'ed buffer. */
int sto__meta_encode(const Cleo__Storage__ObjectMeta *m, char **out,
                     size_t *len);
/* Build a public sto_meta_t that takes pb. */
int sto__meta_wrap(Cleo__Storage__ObjectMeta *pb, sto_meta_t **out);

/* Does the bucket exist? 0, STO_ENOBUCKET, CLEO_ESTORAGE. */
int sto__bucket_check(sto_db_t *db, const char *bucket);
/* Set an existing bucket's owner and/or canned ACL (cleo-adm bucket
 * chown / acl); NULL or "" keeps each. 0, CLEO_EINVAL (bad name, an
 * owner or ACL too long), CLEO_ENOTFOUND, CLEO_EPROTO, CLEO_ESTORAGE. */
#define STO__ACL_MAX 32 /* bytes of a canned ACL's name */
int sto__bucket_update(sto_db_t *db, const char *name, const char *owner,
                       const char *acl);
/* The bucket's ACL into out (len bytes, truncated; "" when never set).
 * 0, CLEO_ENOTFOUND, CLEO_EPROTO, CLEO_ESTORAGE. */
int sto__bucket_acl(sto_db_t *db, const char *name, char *out, size_t len);
/* Add a stats delta for bucket to the batch. */
void sto__stats_add(sto_db_t *db, rocksdb_writebatch_t *b, const char *bucket,
                    int64_t objects, int64_t bytes);
/* Delete the chunks of m (coalescing runs of one id) in the batch. */
void sto__chunks_delete(sto_db_t *db, rocksdb_writebatch_t *b,
                        const Cleo__Storage__ObjectMeta *m);
/* Delete every chunk stored under id, [0, n). */
void sto__chunks_delete_id(sto_db_t *db, rocksdb_writebatch_t *b, uint64_t id);

/* sys CF key of an open upload: 'U' + id (9 bytes). */
void sto__ukey(char *out, uint64_t id);
/* Is there room to write need more bytes and keep opts.reserve_bytes
 * free? 0, STO_ENOSPACE (also when statvfs fails: unknown is full). */
int sto__space_check(sto_db_t *db, uint64_t need);
/* Free a put's memory without touching the disk, as a crash would leave
 * it: its chunks stay until the next open's sweep. For threads that must
 * not block (a scheduler at shutdown). @param put takes; NULL ok. */
void sto__put_forget(sto_put_t *put);
/* Free the chunks of every put left open by a crash. */
int sto__uploads_sweep(sto_db_t *db);

pthread_mutex_t *sto__stripe(sto_db_t *db, const char *mkey, size_t len);

/* Multipart (mpu.c). Make p, fresh from sto_put_begin(), a put of part
 * part_number of upload_id (copied): its commit calls
 * sto__mpu_part_commit() instead of publishing an object. 0, CLEO_ENOMEM. */
int sto__put_part_set(sto_put_t *p, const char *upload_id,
                      uint32_t part_number);
/* Record the part m (filled by put.c: bucket, key, size, etag, chunks,
 * last-modified) in one synced batch that also removes the 'U' record of
 * put_id and frees the replaced part's chunks. On 0, *enc gives m
 * (clock set) encoded as sto__meta_encode() does. 0, STO_ENOBUCKET,
 * STO_ENOUPLOAD, CLEO_ENOMEM, CLEO_EPROTO, CLEO_ESTORAGE. */
int sto__mpu_part_commit(sto_db_t *db, const char *upload_id,
                         uint32_t part_number, uint64_t put_id,
                         Cleo__Storage__ObjectMeta *m, char **enc,
                         size_t *enc_len);
/* Add to b the abort of every upload in bucket (its delete, under the
 * bucket lock held for writing). 0, CLEO_ENOMEM, CLEO_EPROTO,
 * CLEO_ESTORAGE. */
int sto__mpu_bucket_drop(sto_db_t *db, const char *bucket,
                         rocksdb_writebatch_t *b);

#endif /* CLEO_STORAGE_DB_H */
