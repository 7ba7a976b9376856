/*
 * put.c - the streaming put: chunks are written under a fresh id as they
 * fill and published by one synced batch at commit.
 *
 * Chunk writes are not synced themselves: they precede the commit's batch
 * in the same WAL, so the commit's sync makes them durable too. Until the
 * commit no metadata points at the id. An upload record 'U' id in the sys
 * CF, written before the first chunk and removed by the commit's or the
 * abort's batch, lets sto_db_open() free the chunks of puts that a crash
 * interrupted (sto__uploads_sweep()).
 *
 * A part put (sto_mpu_part_begin(), mpu.c) is the same put whose commit
 * records a part of a multipart upload instead of publishing an object.
 *
 * A replica's put (sto_put_opts_t.version) carries the version its
 * coordinator stamped; the commit compares it with the key's current
 * record under the key's stripe lock, so of two racing versions the
 * newer stays whatever order they commit in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <xxhash.h>

#include "storage/db.h"

struct sto_put_s {
    sto_db_t *db;
    char *bucket, *key;
    char *content_type, *content_encoding, *cache_control;
    Cleo__Storage__ObjectMeta__UserMetaEntry *um; /* n_um, strdup'ed */
    size_t n_um;
    uint64_t now_ms;
    uint64_t id;                   /* chunk id, unique per put */
    char *buf;                     /* STO__CHUNK_HDR + chunk_size bytes */
    size_t fill;                   /* payload bytes in buf */
    uint64_t size;                 /* bytes written so far */
    Cleo__Storage__ChunkRef *refs; /* n_refs chunks written */
    size_t n_refs, cap_refs;
    EVP_MD_CTX *md5;
    int failed;      /* first error, 0 = fine */
    char *upload_id; /* a part put (mpu.c): its upload; else NULL */
    uint32_t part_number;
    bool one_shot;  /* no 'U' record; the chunk rides in the commit batch */
    bool inlined;   /* one-shot and small: the bytes go in the metadata */
    uint64_t ixxh;  /* inlined: XXH3 of the bytes */
    bool versioned; /* a replica's put of `version` */
    sto_version_t version; /* versioned: the version to store */
};

static char *dup_or_empty(const char *s, int *rc)
{
    char *d = strdup(s != NULL ? s : "");
    if (d == NULL)
        *rc = CLEO_ENOMEM;
    return d;
}

static int copy_opts(sto_put_t *p, const sto_put_opts_t *o)
{
    static const sto_put_opts_t none = {0};
    int rc = 0;
    if (o == NULL)
        o = &none;
    p->content_type = dup_or_empty(o->content_type, &rc);
    p->content_encoding = dup_or_empty(o->content_encoding, &rc);
    p->cache_control = dup_or_empty(o->cache_control, &rc);
    p->now_ms = o->now_ms != 0 ? o->now_ms : sto__now_ms();
    if (o->version != NULL) {
        p->versioned = true;
        p->version = *o->version;
    }
    if (o->n_user_meta == 0 || rc < 0)
        return rc;
    p->um = calloc(o->n_user_meta, sizeof(*p->um));
    if (p->um == NULL)
        return CLEO_ENOMEM;
    p->n_um = o->n_user_meta;
    for (size_t i = 0; i < o->n_user_meta; i++) {
        Cleo__Storage__ObjectMeta__UserMetaEntry e =
            CLEO__STORAGE__OBJECT_META__USER_META_ENTRY__INIT;
        e.key = dup_or_empty(o->user_meta[i].key, &rc);
        e.value = dup_or_empty(o->user_meta[i].value, &rc);
        p->um[i] = e;
    }
    return rc;
}

static void put_free(sto_put_t *p)
{
    free(p->bucket);
    free(p->key);
    free(p->content_type);
    free(p->content_encoding);
    free(p->cache_control);
    for (size_t i = 0; i < p->n_um; i++) {
        free(p->um[i].key);
        free(p->um[i].value);
    }
    free(p->um);
    free(p->buf);
    free(p->refs);
    EVP_MD_CTX_free(p->md5);
    free(p->upload_id);
    free(p);
}

int sto_put_begin(sto_db_t *db, const char *bucket, const char *key,
                  const sto_put_opts_t *o, sto_put_t **out)
{
    int rc;
    if (sto__bucket_name_check(bucket) < 0)
        return STO_ENOBUCKET;
    if ((rc = sto__key_check(key)) < 0)
        return rc;
    if (o != NULL && o->version != NULL && !sto__clock_valid(o->version->clock))
        return CLEO_EINVAL;
    if ((rc = sto__bucket_check(db, bucket)) < 0 ||
        (rc = sto__space_check(db, 0)) < 0)
        return rc;
    sto_put_t *p = sto__xcalloc(1, sizeof(*p));
    p->db = db;
    p->bucket = strdup(bucket);
    p->key = strdup(key);
    p->buf = malloc(STO__CHUNK_HDR + db->o.chunk_size);
    p->md5 = EVP_MD_CTX_new();
    rc = CLEO_ENOMEM;
    if (p->bucket == NULL || p->key == NULL || p->buf == NULL ||
        p->md5 == NULL || EVP_DigestInit_ex(p->md5, EVP_md5(), NULL) != 1)
        goto fail;
    if ((rc = copy_opts(p, o)) < 0)
        goto fail;
    p->id = sto__clock_next(db);
    p->one_shot = o != NULL && o->one_shot;
    if (p->one_shot) { /* nothing is written before the commit */
        *out = p;
        return 0;
    }
    char uk[9], *err = NULL;
    sto__ukey(uk, p->id);
    rocksdb_put_cf(db->rdb, db->wo_async, db->cf[STO__CF_SYS], uk, sizeof(uk),
                   "", 0, &err);
    if ((rc = sto__rerr(err, "put upload")) < 0)
        goto fail;
    *out = p;
    return 0;
fail:
    put_free(p);
    return rc;
}

int sto__put_part_set(sto_put_t *p, const char *upload_id, uint32_t part_number)
{
    p->upload_id = strdup(upload_id);
    p->part_number = part_number;
    return p->upload_id != NULL ? 0 : CLEO_ENOMEM;
}

/* Store the buffered chunk under (id, n_refs) and remember its ref. */
static int chunk_flush(sto_put_t *p)
{
    if (p->n_refs == p->cap_refs) {
        size_t cap = p->cap_refs ? p->cap_refs * 2 : 16;
        void *r = realloc(p->refs, cap * sizeof(*p->refs));
        if (r == NULL)
            return CLEO_ENOMEM;
        p->refs = r;
        p->cap_refs = cap;
    }
    int rc = sto__space_check(p->db, STO__CHUNK_HDR + p->fill);
    if (rc < 0)
        return rc;
    uint64_t h = XXH3_64bits(p->buf + STO__CHUNK_HDR, p->fill);
    sto__put_be64(p->buf, h);
    char k[STO__DKEY_LEN];
    sto__dkey(k, p->id, (uint32_t)p->n_refs);
    char *err = NULL;
    rocksdb_put_cf(p->db->rdb, p->db->wo_async, p->db->cf[STO__CF_DATA], k,
                   sizeof(k), p->buf, STO__CHUNK_HDR + p->fill, &err);
    if ((rc = sto__rerr(err, "put chunk")) < 0)
        return rc;
    Cleo__Storage__ChunkRef r = CLEO__STORAGE__CHUNK_REF__INIT;
    r.id = p->id;
    r.index = (uint32_t)p->n_refs;
    r.len = (uint32_t)p->fill;
    r.xxh3 = h;
    p->refs[p->n_refs++] = r;
    p->fill = 0;
    return 0;
}

/* One-shot and small: the bytes go into the metadata record itself. */
static int data_inline(sto_put_t *p)
{
    int rc = sto__space_check(p->db, p->fill);
    if (rc < 0)
        return rc;
    p->ixxh = XXH3_64bits(p->buf + STO__CHUNK_HDR, p->fill);
    p->inlined = true;
    return 0;
}

/* One-shot: checksum the buffered chunk and record its ref; publish()
 * writes it in the commit's batch. */
static int chunk_inline(sto_put_t *p)
{
    int rc = sto__space_check(p->db, STO__CHUNK_HDR + p->fill);
    if (rc < 0)
        return rc;
    p->refs = malloc(sizeof(*p->refs));
    if (p->refs == NULL)
        return CLEO_ENOMEM;
    p->cap_refs = 1;
    uint64_t h = XXH3_64bits(p->buf + STO__CHUNK_HDR, p->fill);
    sto__put_be64(p->buf, h);
    Cleo__Storage__ChunkRef r = CLEO__STORAGE__CHUNK_REF__INIT;
    r.id = p->id;
    r.index = 0;
    r.len = (uint32_t)p->fill;
    r.xxh3 = h;
    p->refs[p->n_refs++] = r;
    return 0;
}

int sto_put_write(sto_put_t *p, const void *buf, size_t len)
{
    const char *src = buf;
    size_t cs = p->db->o.chunk_size;
    if (p->failed < 0)
        return p->failed;
    if (EVP_DigestUpdate(p->md5, buf, len) != 1)
        return p->failed = CLEO_ENOMEM;
    p->size += len;
    while (len > 0) {
        size_t n = cs - p->fill < len ? cs - p->fill : len;
        memcpy(p->buf + STO__CHUNK_HDR + p->fill, src, n);
        p->fill += n;
        src += n;
        len -= n;
        if (p->fill == cs && len > 0 && p->one_shot)
            return p->failed = CLEO_EINVAL; /* more than one chunk */
        if (p->fill == cs && !p->one_shot) {
            int rc = chunk_flush(p);
            if (rc < 0)
                return p->failed = rc;
        }
    }
    return 0;
}

/* Check size and MD5; fill etag (hex). */
static int verify(sto_put_t *p, int64_t size, const uint8_t *md5, char etag[33])
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (EVP_DigestFinal_ex(p->md5, d, &dl) != 1 || dl != 16)
        return CLEO_ESTORAGE;
    for (int i = 0; i < 16; i++)
        snprintf(etag + 2 * i, 3, "%02x", d[i]);
    if (size >= 0 && (uint64_t)size != p->size)
        return CLEO_EBADREQ;
    if (md5 != NULL && memcmp(md5, d, 16) != 0)
        return CLEO_EBADREQ;
    return 0;
}

/* Fill the new record; pointers borrow from p, refs and ptrs. */
static void meta_fill(sto_put_t *p, Cleo__Storage__ObjectMeta *m, char *etag,
                      Cleo__Storage__ChunkRef **refp,
                      Cleo__Storage__ObjectMeta__UserMetaEntry **ump)
{
    m->bucket = p->bucket;
    m->key = p->key;
    m->size = p->size;
    m->etag = etag;
    m->content_type = p->content_type;
    m->content_encoding = p->content_encoding;
    m->cache_control = p->cache_control;
    for (size_t i = 0; i < p->n_um; i++)
        ump[i] = &p->um[i];
    m->user_meta = ump;
    m->n_user_meta = p->n_um;
    m->last_modified_ms = p->now_ms;
    m->chunk_size = p->db->o.chunk_size;
    for (size_t i = 0; i < p->n_refs; i++)
        refp[i] = &p->refs[i];
    m->chunks = refp;
    m->n_chunks = p->n_refs;
    if (p->inlined) {
        m->inline_data.data = (uint8_t *)p->buf + STO__CHUNK_HDR;
        m->inline_data.len = p->fill;
        m->inline_xxh3 = p->ixxh;
    }
}

/* Give m its version: a replica's, if it is newer than old's (live or
 * tombstone; else STO_ESUPERSEDED), or a new one from the HLC. The HLC
 * first observes old's clock, so a new version is newer than the one it
 * replaces even if the clock stored at the last commit was behind. */
static int version_set(sto_put_t *p, const Cleo__Storage__ObjectMeta *old,
                       Cleo__Storage__ObjectMeta *m)
{
    sto_db_t *db = p->db;
    if (old != NULL)
        sto_clock_observe(db, old->clock);
    if (!p->versioned) {
        m->clock = sto_clock_next(db);
        m->clock_node = db->o.node_id;
        return 0;
    }
    sto_clock_observe(db, p->version.clock);
    sto_version_t cur = {old != NULL ? old->clock : 0,
                         old != NULL ? old->clock_node : 0};
    if (old != NULL && sto_version_cmp(&p->version, &cur) <= 0)
        return STO_ESUPERSEDED;
    m->clock = p->version.clock;
    m->clock_node = p->version.node;
    return 0;
}

/* Under the key's stripe lock: replace the old version in one batch. */
static int publish(sto_put_t *p, Cleo__Storage__ObjectMeta *m, const char *mk,
                   size_t mkl, char **enc, size_t *enc_len)
{
    sto_db_t *db = p->db;
    Cleo__Storage__ObjectMeta *old = NULL;
    int rc = sto__meta_read(db, NULL, mk, mkl, &old);
    if (rc < 0 && rc != CLEO_ENOTFOUND)
        return rc;
    bool live = old != NULL && !old->deleted;
    if ((rc = version_set(p, old, m)) < 0 ||
        (rc = sto__meta_encode(m, enc, enc_len)) < 0)
        goto out;
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    if (p->one_shot && p->n_refs == 1) { /* the chunk, in the same batch */
        char k[STO__DKEY_LEN];
        sto__dkey(k, p->id, 0);
        rocksdb_writebatch_put_cf(b, db->cf[STO__CF_DATA], k, sizeof(k), p->buf,
                                  STO__CHUNK_HDR + p->refs[0].len);
    }
    rocksdb_writebatch_put_cf(b, db->cf[STO__CF_META], mk, mkl, *enc, *enc_len);
    if (live)
        sto__chunks_delete(db, b, old);
    sto__stats_add(db, b, p->bucket, live ? 0 : 1,
                   (int64_t)m->size - (live ? (int64_t)old->size : 0));
    sto__clock_persist(db, b);
    char uk[9];
    sto__ukey(uk, p->id);
    rocksdb_writebatch_delete_cf(b, db->cf[STO__CF_SYS], uk, sizeof(uk));
    char *err = NULL;
    rocksdb_write(db->rdb, db->wo_sync, b, &err);
    rocksdb_writebatch_destroy(b);
    rc = sto__rerr(err, "commit");
out:
    if (old != NULL)
        cleo__storage__object_meta__free_unpacked(old, NULL);
    return rc;
}

static int commit_locked(sto_put_t *p, Cleo__Storage__ObjectMeta *m, char **enc,
                         size_t *enc_len)
{
    char mk[STO__MKEY_MAX];
    size_t mkl = sto__mkey(mk, p->bucket, p->key);
    pthread_rwlock_rdlock(&p->db->bucket_lock);
    int rc = sto__bucket_check(p->db, p->bucket);
    if (rc == 0) {
        pthread_mutex_t *l = sto__stripe(p->db, mk, mkl);
        pthread_mutex_lock(l);
        rc = publish(p, m, mk, mkl, enc, enc_len);
        pthread_mutex_unlock(l);
    }
    pthread_rwlock_unlock(&p->db->bucket_lock);
    return rc;
}

int sto_put_commit(sto_put_t *p, int64_t expected_size,
                   const uint8_t *expected_md5, sto_meta_t **out)
{
    int rc = p->failed;
    char etag[33], *enc = NULL;
    size_t enc_len = 0;
    Cleo__Storage__ChunkRef **refp = NULL;
    Cleo__Storage__ObjectMeta__UserMetaEntry **ump = NULL;
    if (rc == 0 && p->fill > 0)
        rc = !p->one_shot                 ? chunk_flush(p)
             : p->fill <= STO__INLINE_MAX ? data_inline(p)
                                          : chunk_inline(p);
    if (rc == 0)
        rc = verify(p, expected_size, expected_md5, etag);
    if (rc < 0)
        goto fail;
    refp = malloc((p->n_refs + 1) * sizeof(*refp));
    ump = malloc((p->n_um + 1) * sizeof(*ump));
    rc = CLEO_ENOMEM;
    if (refp == NULL || ump == NULL)
        goto fail;
    Cleo__Storage__ObjectMeta m = CLEO__STORAGE__OBJECT_META__INIT;
    meta_fill(p, &m, etag, refp, ump);
    if (p->upload_id != NULL)
        rc = sto__mpu_part_commit(p->db, p->upload_id, p->part_number, p->id,
                                  &m, &enc, &enc_len);
    else
        rc = commit_locked(p, &m, &enc, &enc_len);
    if (rc < 0)
        goto fail;
    if (out != NULL) {
        Cleo__Storage__ObjectMeta *pb = cleo__storage__object_meta__unpack(
            NULL, enc_len - 1, (const uint8_t *)enc + 1);
        /* The batch is durable; a failure here only loses the copy. */
        rc = pb == NULL ? CLEO_ENOMEM : sto__meta_wrap(pb, out);
    }
    free(enc);
    free(refp);
    free(ump);
    put_free(p);
    return rc;
fail:
    free(enc);
    free(refp);
    free(ump);
    sto_put_abort(p);
    return rc;
}

void sto_put_abort(sto_put_t *p)
{
    if (p == NULL)
        return;
    if (p->id != 0) {
        rocksdb_writebatch_t *b = rocksdb_writebatch_create();
        char uk[9];
        sto__ukey(uk, p->id);
        rocksdb_writebatch_delete_cf(b, p->db->cf[STO__CF_SYS], uk, sizeof(uk));
        sto__chunks_delete_id(p->db, b, p->id);
        char *err = NULL;
        rocksdb_write(p->db->rdb, p->db->wo_async, b, &err);
        rocksdb_writebatch_destroy(b);
        sto__rerr(err, "abort put");
    }
    put_free(p);
}

void sto__put_forget(sto_put_t *p)
{
    if (p != NULL)
        put_free(p); /* its 'U' record stays: the next open's sweep */
}
