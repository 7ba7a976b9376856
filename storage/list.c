/*
 * list.c - S3 listing by seeking in the meta CF.
 *
 * The iterator starts at bucket '\0' max(prefix, start_after) and never
 * walks a rolled-up group: once a common prefix is emitted it seeks to
 * prefix+"\xff", which sorts after every UTF-8 key that starts with it
 * (0xFF never occurs in UTF-8). Tombstones are skipped by their header
 * byte without being decoded.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/db.h"

typedef struct {
    sto_db_t *db;
    rocksdb_iterator_t *it;
    sto_list_t *l;
    size_t cap_e, cap_p;
    char mk[STO__MKEY_MAX + 8]; /* seek key scratch */
    size_t blen;                /* bytes of bucket '\0' */
    const char *prefix, *delim, *after;
    size_t plen, dlen, alen;
} lister_t;

static int push_prefix(lister_t *ls, const char *k, size_t n)
{
    sto_list_t *l = ls->l;
    if (l->n_prefixes == ls->cap_p) {
        size_t cap = ls->cap_p ? ls->cap_p * 2 : 16;
        void *p = realloc(l->prefixes, cap * sizeof(char *));
        if (p == NULL)
            return CLEO_ENOMEM;
        l->prefixes = p;
        ls->cap_p = cap;
    }
    char *s = strndup(k, n);
    if (s == NULL)
        return CLEO_ENOMEM;
    l->prefixes[l->n_prefixes++] = s;
    return 0;
}

static int push_entry(lister_t *ls, const char *k, size_t n, const char *v,
                      size_t vl)
{
    sto_list_t *l = ls->l;
    if (l->n_entries == ls->cap_e) {
        size_t cap = ls->cap_e ? ls->cap_e * 2 : 16;
        void *p = realloc(l->entries, cap * sizeof(*l->entries));
        if (p == NULL)
            return CLEO_ENOMEM;
        l->entries = p;
        ls->cap_e = cap;
    }
    Cleo__Storage__ObjectMeta *m = cleo__storage__object_meta__unpack(
        NULL, vl - 1, (const uint8_t *)v + 1);
    if (m == NULL)
        return CLEO_EPROTO;
    sto_list_entry_t *e = &l->entries[l->n_entries];
    memset(e, 0, sizeof(*e));
    e->key = strndup(k, n);
    e->size = m->size;
    e->last_modified_ms = m->last_modified_ms;
    strncpy(e->etag, m->etag, sizeof(e->etag) - 1);
    cleo__storage__object_meta__free_unpacked(m, NULL);
    if (e->key == NULL)
        return CLEO_ENOMEM;
    l->n_entries++;
    return 0;
}

/* Seek the iterator to bucket '\0' k [+ tail]. */
static void seek_to(lister_t *ls, const char *k, size_t n, const char *tail,
                    size_t tn)
{
    memcpy(ls->mk + ls->blen, k, n);
    memcpy(ls->mk + ls->blen + n, tail, tn);
    rocksdb_iter_seek(ls->it, ls->mk, ls->blen + n + tn);
}

/* Length of the common prefix k rolls up into, or 0 if none. */
static size_t rollup(const lister_t *ls, const char *k, size_t n)
{
    if (ls->dlen == 0 || n < ls->plen + ls->dlen)
        return 0;
    const char *d = memmem(k + ls->plen, n - ls->plen, ls->delim, ls->dlen);
    return d == NULL ? 0 : (size_t)(d - k) + ls->dlen;
}

static bool at_or_before_after(const lister_t *ls, const char *k, size_t n)
{
    if (ls->after == NULL)
        return false;
    int c = memcmp(k, ls->after, n < ls->alen ? n : ls->alen);
    return c < 0 || (c == 0 && n <= ls->alen);
}

/* One step: the iterator is on a key of the bucket with the prefix.
 * Sets *emitted when an entry or prefix was produced (or, when full,
 * *more when one would have been). */
static int step(lister_t *ls, const char *k, size_t n, bool full, bool *more)
{
    size_t vl;
    const char *v = rocksdb_iter_value(ls->it, &vl);
    size_t cp = rollup(ls, k, n);
    if (cp > 0 && ls->after != NULL && ls->alen >= cp &&
        memcmp(ls->after, k, cp) == 0) {
        seek_to(ls, k, cp, "\xff", 1); /* start_after is inside it */
        return 0;
    }
    if (vl < 1 || v[0] != STO__LIVE || at_or_before_after(ls, k, n)) {
        rocksdb_iter_next(ls->it);
        return 0;
    }
    if (full) {
        *more = true;
        return 0;
    }
    int rc = cp > 0 ? push_prefix(ls, k, cp) : push_entry(ls, k, n, v, vl);
    if (rc < 0)
        return rc;
    if (cp > 0)
        seek_to(ls, k, cp, "\xff", 1);
    else
        rocksdb_iter_next(ls->it);
    return 0;
}

static int run(lister_t *ls, size_t max_keys)
{
    sto_list_t *l = ls->l;
    const char *start = ls->prefix;
    size_t slen = ls->plen;
    if (ls->after != NULL) {
        size_t m = ls->alen < slen ? ls->alen : slen;
        int c = memcmp(ls->after, start, m);
        if (c > 0 || (c == 0 && ls->alen > slen))
            start = ls->after, slen = ls->alen;
    }
    seek_to(ls, start, slen, "", 0);
    bool more = false;
    while (!more && rocksdb_iter_valid(ls->it)) {
        size_t kl;
        const char *k = rocksdb_iter_key(ls->it, &kl);
        if (kl < ls->blen + ls->plen || memcmp(k, ls->mk, ls->blen) != 0 ||
            memcmp(k + ls->blen, ls->prefix, ls->plen) != 0)
            break;
        bool full = l->n_entries + l->n_prefixes >= max_keys;
        int rc = step(ls, k + ls->blen, kl - ls->blen, full, &more);
        if (rc < 0)
            return rc;
    }
    l->is_truncated = more;
    return 0;
}

static int marker_set(sto_list_t *l)
{
    const char *e = l->n_entries ? l->entries[l->n_entries - 1].key : NULL;
    const char *p = l->n_prefixes ? l->prefixes[l->n_prefixes - 1] : NULL;
    const char *last = e == NULL ? p : p == NULL ? e : strcmp(e, p) > 0 ? e : p;
    if (last == NULL)
        return 0;
    l->next_marker = strdup(last);
    return l->next_marker == NULL ? CLEO_ENOMEM : 0;
}

int sto_list(sto_db_t *db, const char *bucket, const sto_list_opts_t *o,
             sto_list_t **out)
{
    int rc;
    if (sto__bucket_name_check(bucket) < 0)
        return STO_ENOBUCKET;
    if ((rc = sto__bucket_check(db, bucket)) < 0)
        return rc;
    lister_t ls = {.db = db};
    ls.prefix = o->prefix != NULL ? o->prefix : "";
    ls.delim = o->delimiter != NULL ? o->delimiter : "";
    ls.after =
        o->start_after != NULL && o->start_after[0] ? o->start_after : NULL;
    ls.plen = strlen(ls.prefix);
    ls.dlen = strlen(ls.delim);
    ls.alen = ls.after != NULL ? strlen(ls.after) : 0;
    if (ls.plen > STO_KEY_MAX || ls.alen > STO_KEY_MAX || ls.dlen > STO_KEY_MAX)
        return CLEO_EINVAL;
    ls.blen = strlen(bucket) + 1;
    memcpy(ls.mk, bucket, ls.blen);
    ls.l = calloc(1, sizeof(*ls.l));
    if (ls.l == NULL)
        return CLEO_ENOMEM;
    ls.it = rocksdb_create_iterator_cf(db->rdb, db->ro, db->cf[STO__CF_META]);
    rc = run(&ls, o->max_keys ? o->max_keys : 1000);
    char *err = NULL;
    rocksdb_iter_get_error(ls.it, &err);
    rocksdb_iter_destroy(ls.it);
    if (err != NULL && rc == 0)
        rc = sto__rerr(err, "list");
    else
        rocksdb_free(err);
    if (rc == 0)
        rc = marker_set(ls.l);
    if (rc < 0) {
        sto_list_free(ls.l);
        return rc;
    }
    *out = ls.l;
    return 0;
}

void sto_list_free(sto_list_t *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n_entries; i++)
        free(l->entries[i].key);
    for (size_t i = 0; i < l->n_prefixes; i++)
        free(l->prefixes[i]);
    free(l->entries);
    free(l->prefixes);
    free(l->next_marker);
    free(l);
}
