/*
 * mpu.c - multipart uploads: create, part commit, complete, abort and
 * expiry (listing and part copy are in mpulist.c).
 *
 * An upload is a sys-CF record 'M' bucket '\0' key '\0' upload_id and its
 * parts are 'P' upload_id part_number records (db.h). A part is written
 * by an ordinary streaming put (put.c) whose commit lands here: its
 * chunks stay under the put's id and the part record points at them.
 * Completing moves the listed parts' chunk references into the object's
 * metadata, so no byte is copied, and frees what is not listed; all of it
 * in one synced batch, as a put's commit.
 *
 * Every change to an upload (part commit, complete, abort, expiry) runs
 * under the bucket lock (read) and the object key's stripe, the same
 * locks as a put's commit of that key. So a complete never races a part
 * commit or an abort of its upload, and a part put that is still open
 * when its upload ends fails at commit and frees its chunks.
 */
#include "storage/mpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

/* ---- keys and records ---------------------------------------------- */

size_t sto__mpu_ukey(char *out, const char *bucket, const char *key,
                     const char *upload_id)
{
    out[0] = STO__MPU_UPLOAD;
    size_t n = 1 + sto__mkey(out + 1, bucket, key);
    out[n++] = '\0';
    memcpy(out + n, upload_id, STO_UPLOAD_ID_LEN);
    return n + STO_UPLOAD_ID_LEN;
}

void sto__mpu_pkey(char *out, const char *upload_id, uint32_t part_number)
{
    out[0] = STO__MPU_PART;
    memcpy(out + 1, upload_id, STO_UPLOAD_ID_LEN);
    for (int i = 3; i >= 0; i--, part_number >>= 8)
        out[1 + STO_UPLOAD_ID_LEN + i] = (char)(part_number & 0xff);
}

/* An id we made: 32 lowercase hex digits. Anything else cannot name an
 * upload, so it is STO_ENOUPLOAD like an unknown one. */
static bool upload_id_valid(const char *id)
{
    if (id == NULL || strnlen(id, STO_UPLOAD_ID_LEN + 1) != STO_UPLOAD_ID_LEN)
        return false;
    for (size_t i = 0; i < STO_UPLOAD_ID_LEN; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

int sto__mpu_args_check(const char *bucket, const char *key,
                        const char *upload_id)
{
    if (sto__bucket_name_check(bucket) < 0)
        return STO_ENOBUCKET;
    if (sto__key_check(key) < 0)
        return CLEO_EINVAL;
    return upload_id_valid(upload_id) ? 0 : STO_ENOUPLOAD;
}

int sto__mpu_upload_read(sto_db_t *db, const char *uk, size_t ukl,
                         Cleo__Storage__UploadRecord **out)
{
    char *err = NULL;
    rocksdb_pinnableslice_t *ps = rocksdb_get_pinned_cf(
        db->rdb, db->ro, db->cf[STO__CF_SYS], uk, ukl, &err);
    if (err != NULL)
        return sto__rerr(err, "get upload");
    if (ps == NULL)
        return STO_ENOUPLOAD;
    size_t len;
    const char *v = rocksdb_pinnableslice_value(ps, &len);
    Cleo__Storage__UploadRecord *u =
        cleo__storage__upload_record__unpack(NULL, len, (const uint8_t *)v);
    rocksdb_pinnableslice_destroy(ps);
    if (u == NULL) {
        sto__log("undecodable upload record");
        return CLEO_EPROTO;
    }
    *out = u;
    return 0;
}

void sto__mpu_parts_free(sto__mpu_parts_t *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        cleo__storage__part_record__free_unpacked(ps->v[i], NULL);
    free(ps->v);
    ps->v = NULL;
    ps->n = ps->cap = 0;
}

static int parts_push(sto__mpu_parts_t *ps, const char *v, size_t vl)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 16;
        void *nv = realloc(ps->v, cap * sizeof(*ps->v));
        if (nv == NULL)
            return CLEO_ENOMEM;
        ps->v = nv;
        ps->cap = cap;
    }
    Cleo__Storage__PartRecord *r =
        cleo__storage__part_record__unpack(NULL, vl, (const uint8_t *)v);
    if (r == NULL) {
        sto__log("undecodable part record");
        return CLEO_EPROTO;
    }
    ps->v[ps->n++] = r;
    return 0;
}

int sto__mpu_parts_load(sto_db_t *db, const char *upload_id, uint32_t after,
                        size_t max, sto__mpu_parts_t *out, bool *more)
{
    sto__mpu_parts_t ps = {0};
    char lo[STO__MPU_PKEY_LEN];
    int rc = 0;
    bool over = false;
    if (after >= STO_PART_MAX)
        goto done; /* no part number above it */
    sto__mpu_pkey(lo, upload_id, after + 1);
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ro, db->cf[STO__CF_SYS]);
    for (rocksdb_iter_seek(it, lo, sizeof(lo)); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl != STO__MPU_PKEY_LEN || memcmp(k, lo, 1 + STO_UPLOAD_ID_LEN))
            break;
        if (ps.n == max) {
            over = true;
            break;
        }
        const char *v = rocksdb_iter_value(it, &vl);
        if ((rc = parts_push(&ps, v, vl)) < 0)
            break;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (rc == 0)
        rc = sto__rerr(err, "scan parts");
    else
        rocksdb_free(err);
done:
    if (rc < 0) {
        sto__mpu_parts_free(&ps);
        return rc;
    }
    if (more != NULL)
        *more = over;
    *out = ps;
    return 0;
}

/* Free a part's chunks in the batch. */
static void part_chunks_delete(sto_db_t *db, rocksdb_writebatch_t *b,
                               const Cleo__Storage__PartRecord *p)
{
    Cleo__Storage__ObjectMeta m = CLEO__STORAGE__OBJECT_META__INIT;
    m.chunks = p->chunks;
    m.n_chunks = p->n_chunks;
    sto__chunks_delete(db, b, &m);
}

/* Take the locks an upload of bucket/key changes under; returns the
 * stripe to give to unlock(). */
static pthread_mutex_t *lock(sto_db_t *db, const char *bucket, const char *key)
{
    char mk[STO__MKEY_MAX];
    size_t mkl = sto__mkey(mk, bucket, key);
    pthread_rwlock_rdlock(&db->bucket_lock);
    pthread_mutex_t *l = sto__stripe(db, mk, mkl);
    pthread_mutex_lock(l);
    return l;
}

static void unlock(sto_db_t *db, pthread_mutex_t *l)
{
    pthread_mutex_unlock(l);
    pthread_rwlock_unlock(&db->bucket_lock);
}

static int write_sync(sto_db_t *db, rocksdb_writebatch_t *b, const char *what)
{
    char *err = NULL;
    rocksdb_write(db->rdb, db->wo_sync, b, &err);
    rocksdb_writebatch_destroy(b);
    return sto__rerr(err, what);
}

/* ---- create ---------------------------------------------------------- */

/* The clock first, so ids sort by initiation; then 64 random bits, so an
 * id cannot be guessed from another. */
static void upload_id_new(sto_db_t *db, char out[STO_UPLOAD_ID_LEN + 1])
{
    uint64_t c = sto__clock_next(db), r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (c ^ (uint64_t)(uintptr_t)&r) * 0x9e3779b97f4a7c15ULL;
    snprintf(out, STO_UPLOAD_ID_LEN + 1, "%016llx%016llx",
             (unsigned long long)c, (unsigned long long)r);
}

/* The upload record for o, packed into a malloc'ed buffer. */
static int upload_encode(Cleo__Storage__UploadRecord *u,
                         const sto_put_opts_t *o, char **out, size_t *len)
{
    static const sto_put_opts_t none = {0};
    if (o == NULL)
        o = &none;
    u->content_type = (char *)(o->content_type ? o->content_type : "");
    u->content_encoding =
        (char *)(o->content_encoding ? o->content_encoding : "");
    u->cache_control = (char *)(o->cache_control ? o->cache_control : "");
    Cleo__Storage__UploadRecord__UserMetaEntry *e =
        calloc(o->n_user_meta + 1, sizeof(*e));
    Cleo__Storage__UploadRecord__UserMetaEntry **ep =
        calloc(o->n_user_meta + 1, sizeof(*ep));
    char *v = NULL;
    if (e == NULL || ep == NULL)
        goto out;
    for (size_t i = 0; i < o->n_user_meta; i++) {
        cleo__storage__upload_record__user_meta_entry__init(&e[i]);
        e[i].key = (char *)(o->user_meta[i].key ? o->user_meta[i].key : "");
        e[i].value =
            (char *)(o->user_meta[i].value ? o->user_meta[i].value : "");
        ep[i] = &e[i];
    }
    u->user_meta = ep;
    u->n_user_meta = o->n_user_meta;
    *len = cleo__storage__upload_record__get_packed_size(u);
    if ((v = malloc(*len + 1)) != NULL)
        cleo__storage__upload_record__pack(u, (uint8_t *)v);
out:
    free(e);
    free(ep);
    *out = v;
    return v != NULL ? 0 : CLEO_ENOMEM;
}

int sto_mpu_create(sto_db_t *db, const char *bucket, const char *key,
                   const sto_put_opts_t *o, uint64_t now_ms,
                   char upload_id[STO_UPLOAD_ID_LEN + 1])
{
    if (sto__bucket_name_check(bucket) < 0)
        return STO_ENOBUCKET;
    if (sto__key_check(key) < 0)
        return CLEO_EINVAL;
    char id[STO_UPLOAD_ID_LEN + 1], uk[STO__MPU_UKEY_MAX], *v;
    size_t vl;
    upload_id_new(db, id);
    Cleo__Storage__UploadRecord u = CLEO__STORAGE__UPLOAD_RECORD__INIT;
    u.bucket = (char *)bucket;
    u.key = (char *)key;
    u.upload_id = id;
    u.initiated_ms = now_ms;
    int rc = upload_encode(&u, o, &v, &vl);
    if (rc < 0)
        return rc;
    size_t ukl = sto__mpu_ukey(uk, bucket, key, id);
    /* Under the bucket lock so that the bucket cannot be deleted between
     * the check and the write. */
    pthread_rwlock_rdlock(&db->bucket_lock);
    if ((rc = sto__bucket_check(db, bucket)) == 0) {
        char *err = NULL;
        rocksdb_put_cf(db->rdb, db->wo_sync, db->cf[STO__CF_SYS], uk, ukl, v,
                       vl, &err);
        rc = sto__rerr(err, "create upload");
    }
    pthread_rwlock_unlock(&db->bucket_lock);
    free(v);
    if (rc == 0)
        memcpy(upload_id, id, sizeof(id));
    return rc;
}

/* ---- parts ----------------------------------------------------------- */

int sto_mpu_part_begin(sto_db_t *db, const char *bucket, const char *key,
                       const char *upload_id, uint32_t part_number,
                       sto_put_t **out)
{
    int rc = sto__mpu_args_check(bucket, key, upload_id);
    if (rc < 0)
        return rc;
    if (part_number < 1 || part_number > STO_PART_MAX)
        return CLEO_EINVAL;
    char uk[STO__MPU_UKEY_MAX];
    size_t ukl = sto__mpu_ukey(uk, bucket, key, upload_id);
    Cleo__Storage__UploadRecord *u = NULL;
    if ((rc = sto__mpu_upload_read(db, uk, ukl, &u)) < 0)
        return rc;
    cleo__storage__upload_record__free_unpacked(u, NULL);
    sto_put_t *p;
    if ((rc = sto_put_begin(db, bucket, key, NULL, &p)) < 0)
        return rc;
    if ((rc = sto__put_part_set(p, upload_id, part_number)) < 0) {
        sto_put_abort(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Read part part_number's record if there is one (*out NULL if not). */
static int part_read(sto_db_t *db, const char *pk,
                     Cleo__Storage__PartRecord **out)
{
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(db->rdb, db->ro, db->cf[STO__CF_SYS], pk,
                             STO__MPU_PKEY_LEN, &vl, &err);
    if (err != NULL)
        return sto__rerr(err, "get part");
    *out = NULL;
    if (v == NULL)
        return 0;
    *out = cleo__storage__part_record__unpack(NULL, vl, (const uint8_t *)v);
    rocksdb_free(v);
    return *out != NULL ? 0 : CLEO_EPROTO;
}

/* Under the upload's locks: write the part record over the old one. */
static int part_write(sto_db_t *db, const char *upload_id, uint32_t part_number,
                      uint64_t put_id, Cleo__Storage__ObjectMeta *m, char **enc,
                      size_t *enc_len)
{
    char uk[STO__MPU_UKEY_MAX], pk[STO__MPU_PKEY_LEN];
    size_t ukl = sto__mpu_ukey(uk, m->bucket, m->key, upload_id);
    sto__mpu_pkey(pk, upload_id, part_number);
    Cleo__Storage__UploadRecord *u = NULL;
    Cleo__Storage__PartRecord *old = NULL;
    int rc = sto__mpu_upload_read(db, uk, ukl, &u);
    if (rc < 0 || (rc = part_read(db, pk, &old)) < 0)
        goto out;
    m->clock = sto__clock_next(db);
    Cleo__Storage__PartRecord r = CLEO__STORAGE__PART_RECORD__INIT;
    r.part_number = part_number;
    r.etag = m->etag;
    r.size = m->size;
    r.last_modified_ms = m->last_modified_ms;
    r.chunk_size = m->chunk_size;
    r.chunks = m->chunks;
    r.n_chunks = m->n_chunks;
    size_t vl = cleo__storage__part_record__get_packed_size(&r);
    uint8_t *v = malloc(vl + 1);
    if (v == NULL || (rc = sto__meta_encode(m, enc, enc_len)) < 0) {
        free(v);
        rc = CLEO_ENOMEM;
        goto out;
    }
    cleo__storage__part_record__pack(&r, v);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    rocksdb_writebatch_put_cf(b, db->cf[STO__CF_SYS], pk, sizeof(pk), (char *)v,
                              vl);
    if (old != NULL)
        part_chunks_delete(db, b, old);
    char ik[9];
    sto__ukey(ik, put_id);
    rocksdb_writebatch_delete_cf(b, db->cf[STO__CF_SYS], ik, sizeof(ik));
    free(v);
    if ((rc = write_sync(db, b, "commit part")) < 0) {
        free(*enc);
        *enc = NULL;
    }
out:
    if (u != NULL)
        cleo__storage__upload_record__free_unpacked(u, NULL);
    if (old != NULL)
        cleo__storage__part_record__free_unpacked(old, NULL);
    return rc;
}

int sto__mpu_part_commit(sto_db_t *db, const char *upload_id,
                         uint32_t part_number, uint64_t put_id,
                         Cleo__Storage__ObjectMeta *m, char **enc,
                         size_t *enc_len)
{
    pthread_mutex_t *l = lock(db, m->bucket, m->key);
    int rc = sto__bucket_check(db, m->bucket);
    if (rc == 0)
        rc = part_write(db, upload_id, part_number, put_id, m, enc, enc_len);
    unlock(db, l);
    return rc;
}

/* ---- complete -------------------------------------------------------- */

/* Does the stored etag (32 hex) equal the client's (quotes allowed)? */
static bool etag_eq(const char *stored, const char *given)
{
    if (given == NULL)
        return false;
    size_t n = strlen(given);
    if (n >= 2 && given[0] == '"' && given[n - 1] == '"')
        given++, n -= 2;
    return n == strlen(stored) && strncasecmp(stored, given, n) == 0;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The multipart ETag: hex(MD5(the parts' binary MD5s)) "-" n. */
static int etag_make(Cleo__Storage__PartRecord *const *use, size_t n,
                     char out[STO_ETAG_MAX + 1])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int rc = c != NULL && EVP_DigestInit_ex(c, EVP_md5(), NULL) == 1
                 ? 0
                 : CLEO_ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint8_t d[16];
        const char *h = use[i]->etag;
        if (strlen(h) != 32)
            rc = CLEO_EPROTO;
        for (int k = 0; k < 16 && rc == 0; k++) {
            int hi = hex_nibble(h[2 * k]), lo = hex_nibble(h[2 * k + 1]);
            if (hi < 0 || lo < 0)
                rc = CLEO_EPROTO;
            d[k] = (uint8_t)(hi << 4 | lo);
        }
        if (rc == 0 && EVP_DigestUpdate(c, d, sizeof(d)) != 1)
            rc = CLEO_ENOMEM;
    }
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (rc == 0 && (EVP_DigestFinal_ex(c, d, &dl) != 1 || dl != 16))
        rc = CLEO_ENOMEM;
    EVP_MD_CTX_free(c);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    /* n <= STO_PART_MAX: the modulo only tells the compiler so. */
    snprintf(out + 32, STO_ETAG_MAX + 1 - 32, "-%u", (unsigned)(n % 100000));
    return 0;
}

/* Pick the stored part for each listed one, in order, and apply S3's
 * checks: every listed part exists with its ETag, and all but the last
 * reach the minimum size. */
static int parts_match(sto_db_t *db, const sto__mpu_parts_t *all,
                       const sto_mpu_part_t *parts, size_t n,
                       Cleo__Storage__PartRecord **use)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < all->n && all->v[j]->part_number < parts[i].part_number)
            j++;
        if (j == all->n || all->v[j]->part_number != parts[i].part_number ||
            !etag_eq(all->v[j]->etag, parts[i].etag))
            return STO_EBADPART;
        use[i] = all->v[j];
    }
    for (size_t i = 0; i + 1 < n; i++)
        if (use[i]->size < db->o.mpu_min_part)
            return STO_ETOOSMALL;
    return 0;
}

/* Arrays an object record built by object_fill() points into. */
typedef struct {
    Cleo__Storage__ChunkRef **refs;
    Cleo__Storage__ObjectMeta__UserMetaEntry *um, **ump;
} fill_t;

static void fill_free(fill_t *f)
{
    free(f->refs);
    free(f->um);
    free(f->ump);
}

/* The object's record: the upload's metadata, the parts' chunks in
 * order. Pointers borrow from u, use and f. */
static int object_fill(sto_db_t *db, Cleo__Storage__UploadRecord *u,
                       Cleo__Storage__PartRecord **use, size_t n,
                       uint64_t now_ms, Cleo__Storage__ObjectMeta *m, fill_t *f)
{
    size_t nc = 0, nu = u->n_user_meta;
    uint64_t size = 0;
    for (size_t i = 0; i < n; i++)
        nc += use[i]->n_chunks, size += use[i]->size;
    f->refs = malloc((nc + 1) * sizeof(*f->refs));
    f->um = malloc((nu + 1) * sizeof(*f->um));
    f->ump = malloc((nu + 1) * sizeof(*f->ump));
    if (f->refs == NULL || f->um == NULL || f->ump == NULL)
        return CLEO_ENOMEM;
    for (size_t i = 0, k = 0; i < n; i++)
        for (size_t c = 0; c < use[i]->n_chunks; c++)
            f->refs[k++] = use[i]->chunks[c];
    for (size_t i = 0; i < nu; i++) {
        cleo__storage__object_meta__user_meta_entry__init(&f->um[i]);
        f->um[i].key = u->user_meta[i]->key;
        f->um[i].value = u->user_meta[i]->value;
        f->ump[i] = &f->um[i];
    }
    m->bucket = u->bucket;
    m->key = u->key;
    m->size = size;
    m->content_type = u->content_type;
    m->content_encoding = u->content_encoding;
    m->cache_control = u->cache_control;
    m->user_meta = f->ump;
    m->n_user_meta = nu;
    m->last_modified_ms = now_ms;
    m->chunk_size = db->o.chunk_size;
    m->chunks = f->refs;
    m->n_chunks = nc;
    return 0;
}

/* Add to b: every part record of the upload goes, and the chunks of the
 * parts not listed (use, in part order) are freed. */
static void parts_retire(sto_db_t *db, rocksdb_writebatch_t *b,
                         const char *upload_id, const sto__mpu_parts_t *all,
                         Cleo__Storage__PartRecord *const *use, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < all->n; i++) {
        char pk[STO__MPU_PKEY_LEN];
        sto__mpu_pkey(pk, upload_id, all->v[i]->part_number);
        rocksdb_writebatch_delete_cf(b, db->cf[STO__CF_SYS], pk, sizeof(pk));
        if (k < n && use[k] == all->v[i])
            k++;
        else
            part_chunks_delete(db, b, all->v[i]);
    }
}

/* Publish m over the key's current version and end the upload, in one
 * synced batch. On 0, *enc gives m encoded. */
static int complete_write(sto_db_t *db, Cleo__Storage__ObjectMeta *m,
                          const char *uk, size_t ukl, const char *upload_id,
                          const sto__mpu_parts_t *all,
                          Cleo__Storage__PartRecord *const *use, size_t n,
                          char **enc, size_t *enc_len)
{
    char mk[STO__MKEY_MAX];
    size_t mkl = sto__mkey(mk, m->bucket, m->key);
    Cleo__Storage__ObjectMeta *old = NULL;
    int rc = sto__meta_read(db, NULL, mk, mkl, &old);
    if (rc < 0 && rc != CLEO_ENOTFOUND)
        return rc;
    bool live = old != NULL && !old->deleted;
    if (old != NULL) /* newer than what it replaces, as put.c's */
        sto_clock_observe(db, old->clock);
    m->clock = sto__clock_next(db);
    m->clock_node = db->o.node_id;
    if ((rc = sto__meta_encode(m, enc, enc_len)) < 0)
        goto out;
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    rocksdb_writebatch_put_cf(b, db->cf[STO__CF_META], mk, mkl, *enc, *enc_len);
    if (live)
        sto__chunks_delete(db, b, old);
    sto__stats_add(db, b, m->bucket, live ? 0 : 1,
                   (int64_t)m->size - (live ? (int64_t)old->size : 0));
    sto__clock_persist(db, b); /* the maximum: never lowered */
    parts_retire(db, b, upload_id, all, use, n);
    rocksdb_writebatch_delete_cf(b, db->cf[STO__CF_SYS], uk, ukl);
    if ((rc = write_sync(db, b, "complete upload")) < 0) {
        free(*enc);
        *enc = NULL;
    }
out:
    if (old != NULL)
        cleo__storage__object_meta__free_unpacked(old, NULL);
    return rc;
}

static int complete_locked(sto_db_t *db, const char *bucket, const char *key,
                           const char *upload_id, const sto_mpu_part_t *parts,
                           size_t n, uint64_t now_ms, char **enc,
                           size_t *enc_len)
{
    char uk[STO__MPU_UKEY_MAX], etag[STO_ETAG_MAX + 1];
    size_t ukl = sto__mpu_ukey(uk, bucket, key, upload_id);
    Cleo__Storage__UploadRecord *u = NULL;
    sto__mpu_parts_t all = {0};
    fill_t f = {0};
    Cleo__Storage__PartRecord **use = calloc(n, sizeof(*use));
    int rc = use != NULL ? sto__mpu_upload_read(db, uk, ukl, &u) : CLEO_ENOMEM;
    if (rc < 0 ||
        (rc = sto__mpu_parts_load(db, upload_id, 0, SIZE_MAX, &all, NULL)) <
            0 ||
        (rc = parts_match(db, &all, parts, n, use)) < 0 ||
        (rc = etag_make(use, n, etag)) < 0)
        goto out;
    Cleo__Storage__ObjectMeta m = CLEO__STORAGE__OBJECT_META__INIT;
    if ((rc = object_fill(db, u, use, n, now_ms, &m, &f)) < 0)
        goto out;
    m.etag = etag;
    rc = complete_write(db, &m, uk, ukl, upload_id, &all, use, n, enc, enc_len);
out:
    fill_free(&f);
    sto__mpu_parts_free(&all);
    free(use);
    if (u != NULL)
        cleo__storage__upload_record__free_unpacked(u, NULL);
    return rc;
}

int sto_mpu_complete(sto_db_t *db, const char *bucket, const char *key,
                     const char *upload_id, const sto_mpu_part_t *parts,
                     size_t n, uint64_t now_ms, sto_meta_t **out)
{
    int rc = sto__mpu_args_check(bucket, key, upload_id);
    if (rc < 0)
        return rc;
    if (n == 0 || n > STO_PART_MAX)
        return CLEO_EINVAL;
    for (size_t i = 1; i < n; i++)
        if (parts[i].part_number <= parts[i - 1].part_number)
            return STO_EPARTORDER;
    char *enc = NULL;
    size_t enc_len = 0;
    pthread_mutex_t *l = lock(db, bucket, key);
    if ((rc = sto__bucket_check(db, bucket)) == 0)
        rc = complete_locked(db, bucket, key, upload_id, parts, n, now_ms, &enc,
                             &enc_len);
    unlock(db, l);
    if (rc == 0 && out != NULL) {
        Cleo__Storage__ObjectMeta *pb = cleo__storage__object_meta__unpack(
            NULL, enc_len - 1, (const uint8_t *)enc + 1);
        /* The batch is durable; a failure here only loses the copy. */
        rc = pb == NULL ? CLEO_ENOMEM : sto__meta_wrap(pb, out);
    }
    free(enc);
    return rc;
}

/* ---- abort and expiry ------------------------------------------------ */

/* Add to b: free the upload's parts and forget it. */
static int upload_drop(sto_db_t *db, rocksdb_writebatch_t *b, const char *uk,
                       size_t ukl, const char *upload_id)
{
    sto__mpu_parts_t all = {0};
    int rc = sto__mpu_parts_load(db, upload_id, 0, SIZE_MAX, &all, NULL);
    if (rc < 0)
        return rc;
    parts_retire(db, b, upload_id, &all, NULL, 0);
    rocksdb_writebatch_delete_cf(b, db->cf[STO__CF_SYS], uk, ukl);
    sto__mpu_parts_free(&all);
    return 0;
}

/* Under the upload's locks: free its parts and forget it. */
static int abort_locked(sto_db_t *db, const char *uk, size_t ukl,
                        const char *upload_id)
{
    Cleo__Storage__UploadRecord *u = NULL;
    int rc = sto__mpu_upload_read(db, uk, ukl, &u);
    if (rc < 0)
        return rc;
    cleo__storage__upload_record__free_unpacked(u, NULL);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    if ((rc = upload_drop(db, b, uk, ukl, upload_id)) < 0) {
        rocksdb_writebatch_destroy(b);
        return rc;
    }
    return write_sync(db, b, "abort upload");
}

int sto__mpu_bucket_drop(sto_db_t *db, const char *bucket,
                         rocksdb_writebatch_t *b)
{
    char lo[1 + STO_BUCKET_MAX + 1];
    size_t bl = strlen(bucket), n = 0;
    lo[0] = STO__MPU_UPLOAD;
    memcpy(lo + 1, bucket, bl + 1);
    int rc = 0;
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ro, db->cf[STO__CF_SYS]);
    for (rocksdb_iter_seek(it, lo, bl + 2); rocksdb_iter_valid(it) && rc == 0;
         rocksdb_iter_next(it), n++) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl < bl + 2 + STO_UPLOAD_ID_LEN || memcmp(k, lo, bl + 2) != 0)
            break;
        char id[STO_UPLOAD_ID_LEN + 1];
        memcpy(id, k + kl - STO_UPLOAD_ID_LEN, STO_UPLOAD_ID_LEN);
        id[STO_UPLOAD_ID_LEN] = '\0';
        rc = upload_drop(db, b, k, kl, id);
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (rc == 0)
        rc = sto__rerr(err, "scan bucket uploads");
    else
        rocksdb_free(err);
    if (rc == 0 && n > 0)
        sto__log("bucket %s: aborting %zu multipart upload(s)", bucket, n);
    return rc;
}

int sto_mpu_abort(sto_db_t *db, const char *bucket, const char *key,
                  const char *upload_id)
{
    int rc = sto__mpu_args_check(bucket, key, upload_id);
    if (rc < 0)
        return rc;
    char uk[STO__MPU_UKEY_MAX];
    size_t ukl = sto__mpu_ukey(uk, bucket, key, upload_id);
    pthread_mutex_t *l = lock(db, bucket, key);
    rc = abort_locked(db, uk, ukl, upload_id);
    unlock(db, l);
    return rc;
}

/* Abort the upload of record v (key k) if it is older than cutoff. The
 * record is read again under the locks, so a concurrent complete or
 * abort simply wins. */
static int expire_one(sto_db_t *db, const char *k, size_t kl, const char *v,
                      size_t vl, uint64_t cutoff, bool *done)
{
    Cleo__Storage__UploadRecord *u =
        cleo__storage__upload_record__unpack(NULL, vl, (const uint8_t *)v);
    if (u == NULL) {
        sto__log("undecodable upload record");
        return 0; /* skipped, not fatal: expiry is best effort */
    }
    int rc = 0;
    if (u->initiated_ms < cutoff && strlen(u->upload_id) == STO_UPLOAD_ID_LEN) {
        pthread_mutex_t *l = lock(db, u->bucket, u->key);
        rc = abort_locked(db, k, kl, u->upload_id);
        unlock(db, l);
        *done = rc == 0;
        if (rc == STO_ENOUPLOAD || rc == CLEO_EPROTO)
            rc = 0;
    }
    cleo__storage__upload_record__free_unpacked(u, NULL);
    return rc;
}

int sto_mpu_expire(sto_db_t *db, uint64_t now_ms, uint64_t ttl_ms,
                   uint64_t *expired)
{
    uint64_t cutoff = now_ms > ttl_ms ? now_ms - ttl_ms : 0, n = 0;
    char pre = STO__MPU_UPLOAD, *err = NULL;
    int rc = 0;
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ro, db->cf[STO__CF_SYS]);
    for (rocksdb_iter_seek(it, &pre, 1); rocksdb_iter_valid(it) && rc == 0;
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl < 1 || k[0] != pre)
            break;
        const char *v = rocksdb_iter_value(it, &vl);
        bool done = false;
        rc = expire_one(db, k, kl, v, vl, cutoff, &done);
        n += done;
    }
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (rc == 0)
        rc = sto__rerr(err, "expire uploads");
    else
        rocksdb_free(err);
    if (n > 0)
        sto__log("expired %llu multipart upload(s)", (unsigned long long)n);
    if (rc == 0 && expired != NULL)
        *expired = n;
    return rc;
}
