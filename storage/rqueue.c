/*
 * rqueue.c - the persistent repair queue (rqueue.h): entries in the
 * `queue` column family, node '\0' bucket '\0' key -> a packed Version.
 */
#include "storage/rqueue.h"

#include <stdlib.h>
#include <string.h>

#include "storage/db.h"

#define QKEY_MAX (STO__RQ_NODE_MAX + 1 + STO_BUCKET_MAX + 1 + STO_KEY_MAX)
#define VAL_MAX 32 /* a packed Version: two varints and a fixed64 */

static int vcmp(const sto_version_t *a, const sto_version_t *b)
{
    if (a->clock != b->clock)
        return a->clock < b->clock ? -1 : 1;
    if (a->node != b->node)
        return a->node < b->node ? -1 : 1;
    return 0;
}

static bool len_ok(const char *s, size_t max)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

/* The entry's key into out (QKEY_MAX bytes): node '\0' bucket '\0' key,
 * its length into *len. 0 or CLEO_EINVAL. */
static int qkey(char *out, const char *node, const char *bucket,
                const char *key, size_t *len)
{
    if (!len_ok(node, STO__RQ_NODE_MAX) || !len_ok(bucket, STO_BUCKET_MAX) ||
        !len_ok(key, STO_KEY_MAX))
        return CLEO_EINVAL;
    size_t nl = strlen(node), bl = strlen(bucket), kl = strlen(key);
    memcpy(out, node, nl + 1);
    memcpy(out + nl + 1, bucket, bl + 1);
    memcpy(out + nl + 1 + bl + 1, key, kl);
    *len = nl + 1 + bl + 1 + kl;
    return 0;
}

static size_t val_encode(const sto_version_t *v, uint8_t *out)
{
    Cleo__Storage__Version pb = CLEO__STORAGE__VERSION__INIT;
    pb.clock = v->clock;
    pb.node = v->node;
    return cleo__storage__version__pack(&pb, out);
}

static int val_decode(const char *p, size_t len, sto_version_t *v)
{
    Cleo__Storage__Version *pb =
        cleo__storage__version__unpack(NULL, len, (const uint8_t *)p);
    if (pb == NULL)
        return CLEO_EPROTO;
    *v = (sto_version_t){pb->clock, pb->node};
    cleo__storage__version__free_unpacked(pb, NULL);
    return 0;
}

/* The entry at k: 1 and *v, 0 if there is none, CLEO_EPROTO (it does
 * not decode), CLEO_ESTORAGE. */
static int entry_read(sto_db_t *db, const char *k, size_t kl, sto_version_t *v)
{
    char *err = NULL;
    size_t len = 0;
    char *val = rocksdb_get_cf(db->rdb, db->ro, db->cf[STO__CF_QUEUE], k, kl,
                               &len, &err);
    if (err != NULL)
        return sto__rerr(err, "get queue");
    if (val == NULL)
        return 0;
    int rc = val_decode(val, len, v);
    rocksdb_free(val);
    return rc < 0 ? rc : 1;
}

int sto__rq_add(sto_db_t *db, const char *node, const char *bucket,
                const char *key, const sto_version_t *v, sto__rq_added_t *out)
{
    char k[QKEY_MAX];
    size_t kl;
    int rc = qkey(k, node, bucket, key, &kl);
    if (rc < 0)
        return rc;
    pthread_mutex_t *mu = sto__stripe(db, k, kl);
    pthread_mutex_lock(mu);
    sto_version_t cur;
    int have = entry_read(db, k, kl, &cur);
    sto__rq_added_t what = have == 0 ? STO__RQ_ADDED : STO__RQ_REPLACED;
    if (have == 1 && vcmp(&cur, v) >= 0) {
        what = STO__RQ_KEPT;
    } else if (have >= 0 || have == CLEO_EPROTO) { /* garbage is replaced */
        uint8_t val[VAL_MAX];
        size_t vl = val_encode(v, val);
        char *err = NULL;
        rocksdb_put_cf(db->rdb, db->wo_sync, db->cf[STO__CF_QUEUE], k, kl,
                       (const char *)val, vl, &err);
        rc = sto__rerr(err, "put queue");
    } else {
        rc = have;
    }
    pthread_mutex_unlock(mu);
    if (rc == 0 && out != NULL)
        *out = what;
    return rc;
}

int sto__rq_remove(sto_db_t *db, const char *node, const char *bucket,
                   const char *key, const sto_version_t *v, bool *removed)
{
    char k[QKEY_MAX];
    size_t kl;
    int rc = qkey(k, node, bucket, key, &kl);
    if (rc < 0)
        return rc;
    pthread_mutex_t *mu = sto__stripe(db, k, kl);
    pthread_mutex_lock(mu);
    sto_version_t cur;
    int have = entry_read(db, k, kl, &cur);
    bool del = have == CLEO_EPROTO || (have == 1 && vcmp(&cur, v) <= 0);
    if (have < 0 && have != CLEO_EPROTO)
        rc = have;
    if (del) {
        char *err = NULL;
        rocksdb_delete_cf(db->rdb, db->wo_sync, db->cf[STO__CF_QUEUE], k, kl,
                          &err);
        rc = sto__rerr(err, "delete queue");
    }
    pthread_mutex_unlock(mu);
    if (rc == 0 && removed != NULL)
        *removed = del;
    return rc;
}

/* Split an entry's key after its node's prefix (plen bytes) into e's
 * bucket and key. @return 0 or CLEO_EPROTO. */
static int entry_parse(const char *k, size_t kl, size_t plen,
                       sto__rq_entry_t *e)
{
    const char *b = k + plen, *end = k + kl;
    const char *z = memchr(b, '\0', (size_t)(end - b));
    if (z == NULL || z == b || (size_t)(z - b) > STO_BUCKET_MAX ||
        end - (z + 1) < 1 || (size_t)(end - (z + 1)) > STO_KEY_MAX)
        return CLEO_EPROTO;
    memcpy(e->bucket, b, (size_t)(z - b));
    e->bucket[z - b] = '\0';
    memcpy(e->key, z + 1, (size_t)(end - (z + 1)));
    e->key[end - (z + 1)] = '\0';
    return 0;
}

/* Seek it to the first entry of prefix p (plen bytes) after the cursor
 * (after_bucket, after_key; both "" = the first). */
static void seek_after(rocksdb_iterator_t *it, char *p, size_t plen,
                       const char *after_bucket, const char *after_key)
{
    size_t bl = after_bucket != NULL ? strlen(after_bucket) : 0;
    size_t kl = after_key != NULL ? strlen(after_key) : 0;
    if (bl == 0 && kl == 0) {
        rocksdb_iter_seek(it, p, plen);
        return;
    }
    if (bl > STO_BUCKET_MAX)
        bl = STO_BUCKET_MAX;
    if (kl > STO_KEY_MAX)
        kl = STO_KEY_MAX;
    memcpy(p + plen, after_bucket, bl);
    p[plen + bl] = '\0';
    memcpy(p + plen + bl + 1, after_key, kl);
    size_t sl = plen + bl + 1 + kl;
    rocksdb_iter_seek(it, p, sl);
    size_t l;
    const char *k = rocksdb_iter_valid(it) ? rocksdb_iter_key(it, &l) : NULL;
    if (k != NULL && l == sl && memcmp(k, p, sl) == 0)
        rocksdb_iter_next(it); /* the cursor itself was given before */
}

static bool in_prefix(rocksdb_iterator_t *it, const char *p, size_t plen)
{
    if (!rocksdb_iter_valid(it))
        return false;
    size_t l;
    const char *k = rocksdb_iter_key(it, &l);
    return l > plen && memcmp(k, p, plen) == 0;
}

/* The entry under it into e (node set by the caller). 0 or CLEO_EPROTO. */
static int entry_at(rocksdb_iterator_t *it, size_t plen, sto__rq_entry_t *e)
{
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    const char *v = rocksdb_iter_value(it, &vl);
    int rc = entry_parse(k, kl, plen, e);
    return rc < 0 ? rc : val_decode(v, vl, &e->v);
}

int sto__rq_scan(sto_db_t *db, const char *node, const char *after_bucket,
                 const char *after_key, size_t max, sto__rq_entry_t **out,
                 size_t *n, bool *more)
{
    if (!len_ok(node, STO__RQ_NODE_MAX))
        return CLEO_EINVAL;
    max = max == 0                 ? STO__RQ_PAGE
          : max > STO__RQ_PAGE_MAX ? STO__RQ_PAGE_MAX
                                   : max;
    sto__rq_entry_t *es = calloc(max, sizeof *es);
    if (es == NULL)
        return CLEO_ENOMEM;
    char p[QKEY_MAX];
    size_t plen = strlen(node) + 1;
    memcpy(p, node, plen);
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ro, db->cf[STO__CF_QUEUE]);
    seek_after(it, p, plen, after_bucket, after_key);
    size_t got = 0;
    for (; got < max && in_prefix(it, p, plen); rocksdb_iter_next(it)) {
        if (entry_at(it, plen, &es[got]) < 0) {
            sto__log("repair queue: an entry of %s does not decode", node);
            continue;
        }
        memcpy(es[got].node, node, plen);
        got++;
    }
    bool follow = got == max && in_prefix(it, p, plen);
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    int rc = sto__rerr(err, "scan queue");
    if (rc < 0 || got == 0) {
        free(es);
        es = NULL;
    }
    if (rc == 0)
        *out = es, *n = got, *more = follow;
    return rc;
}

/* Add one to node's count at the end of *cs (a new row if node differs
 * from the last one's: entries come sorted by node). 0 or CLEO_ENOMEM. */
static int count_one(sto__rq_count_t **cs, size_t *n, size_t *cap,
                     const char *node, size_t nl)
{
    if (*n > 0 && strlen((*cs)[*n - 1].node) == nl &&
        memcmp((*cs)[*n - 1].node, node, nl) == 0) {
        (*cs)[*n - 1].entries++;
        return 0;
    }
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 4;
        sto__rq_count_t *g = realloc(*cs, c * sizeof *g);
        if (g == NULL)
            return CLEO_ENOMEM;
        *cs = g, *cap = c;
    }
    sto__rq_count_t *row = &(*cs)[(*n)++];
    memcpy(row->node, node, nl);
    row->node[nl] = '\0';
    row->entries = 1;
    return 0;
}

int sto__rq_count(sto_db_t *db, const char *node, sto__rq_count_t **out,
                  size_t *n)
{
    bool one = node != NULL && node[0] != '\0';
    if (one && strlen(node) > STO__RQ_NODE_MAX)
        return CLEO_EINVAL;
    size_t plen = one ? strlen(node) + 1 : 0;
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ro, db->cf[STO__CF_QUEUE]);
    if (one)
        rocksdb_iter_seek(it, node, plen);
    else
        rocksdb_iter_seek_to_first(it);
    sto__rq_count_t *cs = NULL;
    size_t got = 0, cap = 0;
    int rc = 0;
    for (; rc == 0 && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (one && (kl <= plen || memcmp(k, node, plen) != 0))
            break;
        const char *z = memchr(k, '\0', kl);
        size_t nl = z != NULL ? (size_t)(z - k) : 0;
        if (nl > 0 && nl <= STO__RQ_NODE_MAX)
            rc = count_one(&cs, &got, &cap, k, nl);
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (rc == 0)
        rc = sto__rerr(err, "count queue");
    else
        rocksdb_free(err);
    if (rc < 0 || got == 0) {
        free(cs);
        cs = NULL;
    }
    if (rc == 0)
        *out = cs, *n = got;
    return rc;
}
