/*
 * db.c - opening and closing the RocksDB instance, the error edge, the
 * logical clock and the small helpers shared by the storage files.
 */
#include "storage/db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

static const char *const cf_names[STO__NCF] = {"meta", "data", "queue", "sys"};

int sto__rerr(char *err, const char *what)
{
    if (err == NULL)
        return 0;
    sto__log("rocksdb %s: %s", what, err);
    /* A full disk is the one failure a client can act on (S3 answers it
     * with 507/503 rather than 500), so it keeps its own code. */
    int rc =
        strstr(err, "No space left") != NULL ? STO_ENOSPACE : CLEO_ESTORAGE;
    rocksdb_free(err);
    return rc;
}

void sto__log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cleo storage: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void *sto__xcalloc(size_t n, size_t size)
{
    return cleo_xcalloc(n, size);
}

const char *sto_err_name(int err)
{
    switch (err) {
    case STO_ENOBUCKET:
        return "STO_ENOBUCKET";
    case STO_ECORRUPT:
        return "STO_ECORRUPT";
    case STO_ERANGE:
        return "STO_ERANGE";
    case STO_ENOSPACE:
        return "STO_ENOSPACE";
    case STO_ENOUPLOAD:
        return "STO_ENOUPLOAD";
    case STO_EBADPART:
        return "STO_EBADPART";
    case STO_EPARTORDER:
        return "STO_EPARTORDER";
    case STO_ETOOSMALL:
        return "STO_ETOOSMALL";
    case STO_ESUPERSEDED:
        return "STO_ESUPERSEDED";
    default:
        return cleo_err_name(err);
    }
}

const char *sto_strerror(int err)
{
    switch (err) {
    case STO_ENOBUCKET:
        return "no such bucket";
    case STO_ECORRUPT:
        return "stored data failed its checksum";
    case STO_ERANGE:
        return "range not satisfiable";
    case STO_ENOSPACE:
        return "the disk is full";
    case STO_ENOUPLOAD:
        return "no such multipart upload";
    case STO_EBADPART:
        return "a listed part is missing or its ETag differs";
    case STO_EPARTORDER:
        return "parts not listed in ascending order";
    case STO_ETOOSMALL:
        return "a part other than the last is too small";
    case STO_ESUPERSEDED:
        return "a newer version of the object is stored";
    default:
        return cleo_strerror(err);
    }
}

uint64_t sto__be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (uint8_t)p[i];
    return v;
}

void sto__put_be64(char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (char)(v & 0xff);
}

void sto__dkey(char *out, uint64_t id, uint32_t index)
{
    sto__put_be64(out, id);
    for (int i = 3; i >= 0; i--, index >>= 8)
        out[8 + i] = (char)(index & 0xff);
}

void sto__dkey_parse(const char *k, uint64_t *id, uint32_t *index)
{
    *id = sto__be64(k);
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = (v << 8) | (uint8_t)k[8 + i];
    *index = v;
}

uint64_t sto__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A hybrid logical clock: wall-clock ms in the high bits keeps it growing
 * across restarts, the counter in the low 16 bits keeps it unique. The
 * same counter names a put's chunks (its id), so ids never repeat. */
uint64_t sto_clock_next(sto_db_t *db)
{
    uint64_t wall = sto__now_ms() << 16;
    pthread_mutex_lock(&db->clock_lock);
    uint64_t c = db->clock_last + 1;
    if (c < wall)
        c = wall;
    db->clock_last = c;
    pthread_mutex_unlock(&db->clock_lock);
    return c;
}

uint64_t sto__clock_next(sto_db_t *db)
{
    return sto_clock_next(db);
}

/* Another node's clock comes from the network: one at or above
 * STO__CLOCK_MAX is refused (sto__clock_valid), so that observing it can
 * never bring the counter, and the chunk ids drawn from it, near a wrap. */
bool sto__clock_valid(uint64_t clock)
{
    return clock != 0 && clock < STO__CLOCK_MAX;
}

void sto_clock_observe(sto_db_t *db, uint64_t clock)
{
    if (!sto__clock_valid(clock))
        return;
    pthread_mutex_lock(&db->clock_lock);
    if (db->clock_last < clock)
        db->clock_last = clock;
    pthread_mutex_unlock(&db->clock_lock);
}

int sto_version_cmp(const sto_version_t *a, const sto_version_t *b)
{
    if (a->clock != b->clock)
        return a->clock < b->clock ? -1 : 1;
    if (a->node != b->node)
        return a->node < b->node ? -1 : 1;
    return 0;
}

/* The clock is stored as a merge operand that keeps the maximum (see
 * stats_sum): batches of different keys may reach the WAL in another
 * order than their clocks were drawn, and a put would let the later
 * batch store the smaller clock. */
void sto__clock_persist(sto_db_t *db, rocksdb_writebatch_t *b)
{
    pthread_mutex_lock(&db->clock_lock);
    uint64_t c = db->clock_last;
    pthread_mutex_unlock(&db->clock_lock);
    char v[8];
    sto__put_be64(v, c);
    rocksdb_writebatch_merge_cf(b, db->cf[STO__CF_SYS], "clock", 5, v, 8);
}

pthread_mutex_t *sto__stripe(sto_db_t *db, const char *mkey, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)mkey[i]) * 1099511628211ULL;
    return &db->stripe[h % STO__STRIPES];
}

void sto_opts_init(sto_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->chunk_size = STO_DEFAULT_CHUNK_SIZE;
    o->tombstone_ttl_ms = STO_DEFAULT_TOMBSTONE_TTL_MS;
    o->cache_bytes = STO_DEFAULT_CACHE_BYTES;
    o->reserve_bytes = STO_DEFAULT_RESERVE_BYTES;
    o->mpu_min_part = STO_DEFAULT_MPU_MIN_PART;
    o->mpu_ttl_ms = STO_DEFAULT_MPU_TTL_MS;
}

/* The "clock" record: the largest of the base and the operands, each a
 * u64 BE (sto__clock_persist). */
static char *clock_max(const char *base, size_t base_len,
                       const char *const *ops, const size_t *lens, int n,
                       unsigned char *ok, size_t *out_len)
{
    uint64_t c = base != NULL && base_len == 8 ? sto__be64(base) : 0;
    for (int i = 0; i < n; i++)
        if (lens[i] == 8 && sto__be64(ops[i]) > c)
            c = sto__be64(ops[i]);
    char *v = malloc(8);
    if (v == NULL) {
        *ok = 0;
        return NULL;
    }
    sto__put_be64(v, c);
    *ok = 1;
    *out_len = 8;
    return v;
}

static bool is_clock_key(const char *k, size_t kl)
{
    return kl == 5 && memcmp(k, "clock", 5) == 0;
}

/* Bucket stats are merge operands of two int64 LE deltas; the merged
 * value has the same form, so full and partial merge are one sum. */
static char *stats_sum(const char *base, size_t base_len,
                       const char *const *ops, const size_t *lens, int n,
                       unsigned char *ok, size_t *out_len)
{
    int64_t acc[2] = {0, 0};
    if (base != NULL && base_len == sizeof(acc))
        memcpy(acc, base, sizeof(acc));
    for (int i = 0; i < n; i++) {
        int64_t d[2];
        if (lens[i] != sizeof(d))
            continue;
        memcpy(d, ops[i], sizeof(d));
        acc[0] += d[0];
        acc[1] += d[1];
    }
    char *v = malloc(sizeof(acc));
    if (v == NULL) {
        *ok = 0;
        return NULL;
    }
    memcpy(v, acc, sizeof(acc));
    *ok = 1;
    *out_len = sizeof(acc);
    return v;
}

static char *merge_full(void *st, const char *k, size_t kl, const char *v,
                        size_t vl, const char *const *ops, const size_t *lens,
                        int n, unsigned char *ok, size_t *out_len)
{
    if (is_clock_key(k, kl))
        return clock_max(v, vl, ops, lens, n, ok, out_len);
    return stats_sum(v, vl, ops, lens, n, ok, out_len);
}

static char *merge_partial(void *st, const char *k, size_t kl,
                           const char *const *ops, const size_t *lens, int n,
                           unsigned char *ok, size_t *out_len)
{
    if (is_clock_key(k, kl))
        return clock_max(NULL, 0, ops, lens, n, ok, out_len);
    return stats_sum(NULL, 0, ops, lens, n, ok, out_len);
}

static void merge_free(void *st, const char *v, size_t len)
{
    free((void *)v);
}

static const char *merge_name(void *st)
{
    return "cleo.stats.v1";
}

static void merge_destroy(void *st) {}

static void options_build(sto_db_t *db)
{
    db->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(db->opts, 1);
    /* RocksDB's info LOG lives on the data disk, and the packaged build
     * asserts (aborting the node) on a LOG write after one failed, as on
     * a full disk: keep it to fatal messages and the header. */
    rocksdb_options_set_info_log_level(db->opts, 4 /* FATAL_LEVEL */);
    rocksdb_options_set_create_missing_column_families(db->opts, 1);
    rocksdb_options_increase_parallelism(db->opts, 2);
    rocksdb_block_based_table_options_t *t =
        rocksdb_block_based_options_create();
    rocksdb_cache_t *cache = rocksdb_cache_create_lru(db->o.cache_bytes);
    rocksdb_block_based_options_set_block_cache(t, cache);
    for (int i = 0; i < STO__NCF; i++) {
        rocksdb_options_t *o = rocksdb_options_create_copy(db->opts);
        rocksdb_options_set_block_based_table_factory(o, t);
        db->cf_opts[i] = o;
    }
    /* Chunks are mostly incompressible; keep their memtables small so a
     * stream of puts keeps memory bounded. */
    rocksdb_options_t *d = db->cf_opts[STO__CF_DATA];
    rocksdb_options_set_compression(d, rocksdb_no_compression);
    rocksdb_options_set_write_buffer_size(d, 16 << 20);
    rocksdb_options_set_max_write_buffer_number(d, 2);
    rocksdb_options_set_merge_operator(
        db->cf_opts[STO__CF_SYS],
        rocksdb_mergeoperator_create(NULL, merge_destroy, merge_full,
                                     merge_partial, merge_free, merge_name));
    rocksdb_cache_destroy(cache);
    rocksdb_block_based_options_destroy(t);
}

/* The clock must not go back after a restart: start above the stored
 * clock and above the newest chunk id. */
static int clock_restore(sto_db_t *db)
{
    char *err = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(db->rdb, db->ro, db->cf[STO__CF_SYS], "clock", 5,
                             &len, &err);
    if (err != NULL)
        return sto__rerr(err, "get clock");
    if (v != NULL && len == 8)
        db->clock_last = sto__be64(v);
    rocksdb_free(v);
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ro, db->cf[STO__CF_DATA]);
    rocksdb_iter_seek_to_last(it);
    if (rocksdb_iter_valid(it)) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl == STO__DKEY_LEN && sto__be64(k) > db->clock_last)
            db->clock_last = sto__be64(k);
    }
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    return sto__rerr(err, "seek data");
}

static int opts_check(sto_opts_t *o)
{
    if (o->chunk_size < 4096 || o->chunk_size > ((size_t)64 << 20))
        return CLEO_EINVAL;
    if (o->cache_bytes == 0)
        o->cache_bytes = STO_DEFAULT_CACHE_BYTES;
    return 0;
}

int sto_db_open(const char *path, const sto_opts_t *opts, sto_db_t **out)
{
    sto_db_t *db = sto__xcalloc(1, sizeof(*db));
    int rc;
    if (opts != NULL)
        db->o = *opts;
    else
        sto_opts_init(&db->o);
    if ((rc = opts_check(&db->o)) < 0) {
        free(db);
        return rc;
    }
    if ((db->path = strdup(path)) == NULL) {
        free(db);
        return CLEO_ENOMEM;
    }
    pthread_rwlock_init(&db->bucket_lock, NULL);
    pthread_mutex_init(&db->clock_lock, NULL);
    for (int i = 0; i < STO__STRIPES; i++)
        pthread_mutex_init(&db->stripe[i], NULL);
    options_build(db);
    const char *names[STO__NCF + 1] = {"default"};
    const rocksdb_options_t *copts[STO__NCF + 1] = {db->opts};
    rocksdb_column_family_handle_t *h[STO__NCF + 1] = {0};
    for (int i = 0; i < STO__NCF; i++) {
        names[i + 1] = cf_names[i];
        copts[i + 1] = db->cf_opts[i];
    }
    char *err = NULL;
    db->rdb = rocksdb_open_column_families(db->opts, path, STO__NCF + 1, names,
                                           copts, h, &err);
    if ((rc = sto__rerr(err, "open")) < 0)
        goto fail;
    db->cf_default = h[0];
    memcpy(db->cf, h + 1, sizeof(db->cf));
    db->wo_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(db->wo_sync, db->o.no_sync ? 0 : 1);
    db->wo_async = rocksdb_writeoptions_create();
    db->ro = rocksdb_readoptions_create();
    if ((rc = clock_restore(db)) < 0 || (rc = sto__uploads_sweep(db)) < 0)
        goto fail;
    *out = db;
    return 0;
fail:
    sto_db_close(db);
    return rc;
}

void sto_db_close(sto_db_t *db)
{
    if (db == NULL)
        return;
    for (int i = 0; i < STO__NCF; i++)
        if (db->cf[i] != NULL)
            rocksdb_column_family_handle_destroy(db->cf[i]);
    if (db->cf_default != NULL)
        rocksdb_column_family_handle_destroy(db->cf_default);
    if (db->rdb != NULL)
        rocksdb_close(db->rdb);
    for (int i = 0; i < STO__NCF; i++)
        if (db->cf_opts[i] != NULL)
            rocksdb_options_destroy(db->cf_opts[i]);
    if (db->opts != NULL)
        rocksdb_options_destroy(db->opts);
    if (db->wo_sync != NULL)
        rocksdb_writeoptions_destroy(db->wo_sync);
    if (db->wo_async != NULL)
        rocksdb_writeoptions_destroy(db->wo_async);
    if (db->ro != NULL)
        rocksdb_readoptions_destroy(db->ro);
    pthread_rwlock_destroy(&db->bucket_lock);
    pthread_mutex_destroy(&db->clock_lock);
    for (int i = 0; i < STO__STRIPES; i++)
        pthread_mutex_destroy(&db->stripe[i]);
    free(db->path);
    free(db);
}

/* RocksDB cannot be trusted to survive a full disk: a write that fails
 * with ENOSPC stops all writes (deletes too) until the database is
 * reopened, a flush that fails does the same, and a build with
 * assertions aborts on its info log's failed writer. So puts stop while
 * reserve_bytes are still free, leaving room for deletes, aborts,
 * metadata and the memtable flushes that make deletes reclaim space. */
int sto__space_check(sto_db_t *db, uint64_t need)
{
    if (db->o.reserve_bytes == 0)
        return 0;
    struct statvfs st;
    if (statvfs(db->path, &st) < 0)
        return STO_ENOSPACE;
    uint64_t free_bytes = (uint64_t)st.f_bavail * st.f_frsize;
    return free_bytes >= need + db->o.reserve_bytes ? 0 : STO_ENOSPACE;
}
