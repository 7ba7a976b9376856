/*
 * meta.c - validation of names and keys, the meta CF encoding and the
 * public sto_meta_t view of an ObjectMeta record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/db.h"

/* Strict UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF. Listings rely on it: bytes 0xF8..0xFF never occur in a key,
 * so "prefix\xff" sorts after every key that starts with prefix. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t j = 1; j < len; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

int sto__key_check(const char *key)
{
    if (key == NULL)
        return CLEO_EINVAL;
    size_t n = strnlen(key, STO_KEY_MAX + 1);
    if (n == 0 || n > STO_KEY_MAX)
        return CLEO_EINVAL;
    return utf8_valid((const uint8_t *)key, n) ? 0 : CLEO_EINVAL;
}

static bool is_ipv4(const char *s)
{
    int dots = 0, digits = 0;
    for (; *s != '\0'; s++) {
        if (*s == '.') {
            if (digits == 0)
                return false;
            dots++, digits = 0;
        } else if (*s >= '0' && *s <= '9') {
            digits++;
        } else {
            return false;
        }
    }
    return dots == 3 && digits > 0;
}

int sto__bucket_name_check(const char *name)
{
    if (name == NULL)
        return CLEO_EINVAL;
    size_t n = strnlen(name, STO_BUCKET_MAX + 1);
    if (n < 3 || n > STO_BUCKET_MAX)
        return CLEO_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-')
            return CLEO_EINVAL;
        if ((i == 0 || i == n - 1) && !alnum)
            return CLEO_EINVAL;
        if (c == '.' && name[i + 1] == '.')
            return CLEO_EINVAL;
    }
    if (is_ipv4(name) || strncmp(name, "xn--", 4) == 0)
        return CLEO_EINVAL;
    if (n >= 8 && strcmp(name + n - 8, "-s3alias") == 0)
        return CLEO_EINVAL;
    return 0;
}

size_t sto__mkey(char *out, const char *bucket, const char *key)
{
    size_t bl = strlen(bucket), kl = strlen(key);
    memcpy(out, bucket, bl);
    out[bl] = '\0';
    memcpy(out + bl + 1, key, kl);
    return bl + 1 + kl;
}

int sto__meta_read(sto_db_t *db, const rocksdb_readoptions_t *ro,
                   const char *mkey, size_t mkey_len,
                   Cleo__Storage__ObjectMeta **out)
{
    char *err = NULL;
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(db->rdb, ro != NULL ? ro : db->ro,
                              db->cf[STO__CF_META], mkey, mkey_len, &err);
    if (err != NULL)
        return sto__rerr(err, "get meta");
    if (ps == NULL)
        return CLEO_ENOTFOUND;
    size_t len;
    const char *v = rocksdb_pinnableslice_value(ps, &len);
    Cleo__Storage__ObjectMeta *m = NULL;
    if (len >= 1)
        m = cleo__storage__object_meta__unpack(NULL, len - 1,
                                               (const uint8_t *)v + 1);
    rocksdb_pinnableslice_destroy(ps);
    if (m == NULL) {
        sto__log("undecodable metadata record");
        return CLEO_EPROTO;
    }
    *out = m;
    return 0;
}

int sto__meta_encode(const Cleo__Storage__ObjectMeta *m, char **out,
                     size_t *len)
{
    size_t n = cleo__storage__object_meta__get_packed_size(m);
    char *v = malloc(n + 1);
    if (v == NULL)
        return CLEO_ENOMEM;
    v[0] = m->deleted ? STO__TOMB : STO__LIVE;
    cleo__storage__object_meta__pack(m, (uint8_t *)v + 1);
    *out = v;
    *len = n + 1;
    return 0;
}

int sto__meta_wrap(Cleo__Storage__ObjectMeta *pb, sto_meta_t **out)
{
    sto_meta_t *m = calloc(1, sizeof(*m));
    sto_kv_t *kv = calloc(pb->n_user_meta + 1, sizeof(*kv));
    if (m == NULL || kv == NULL) {
        free(m);
        free(kv);
        cleo__storage__object_meta__free_unpacked(pb, NULL);
        return CLEO_ENOMEM;
    }
    for (size_t i = 0; i < pb->n_user_meta; i++) {
        kv[i].key = pb->user_meta[i]->key;
        kv[i].value = pb->user_meta[i]->value;
    }
    *m = (sto_meta_t){.bucket = pb->bucket,
                      .key = pb->key,
                      .size = pb->size,
                      .content_type = pb->content_type,
                      .content_encoding = pb->content_encoding,
                      .cache_control = pb->cache_control,
                      .user_meta = kv,
                      .n_user_meta = pb->n_user_meta,
                      .last_modified_ms = pb->last_modified_ms,
                      .clock = pb->clock,
                      .clock_node = pb->clock_node,
                      .deleted = pb->deleted,
                      .chunk_size = pb->chunk_size,
                      .n_chunks = pb->n_chunks,
                      ._pb = pb,
                      ._kv = kv};
    snprintf(m->etag, sizeof(m->etag), "%s", pb->etag);
    *out = m;
    return 0;
}

void sto_meta_free(sto_meta_t *m)
{
    if (m == NULL)
        return;
    cleo__storage__object_meta__free_unpacked(m->_pb, NULL);
    free(m->_kv);
    free(m);
}

void sto__chunks_delete(sto_db_t *db, rocksdb_writebatch_t *b,
                        const Cleo__Storage__ObjectMeta *m)
{
    size_t i = 0;
    while (i < m->n_chunks) {
        size_t j = i + 1;
        while (j < m->n_chunks && m->chunks[j]->id == m->chunks[i]->id &&
               m->chunks[j]->index == m->chunks[j - 1]->index + 1)
            j++;
        char lo[STO__DKEY_LEN], hi[STO__DKEY_LEN];
        sto__dkey(lo, m->chunks[i]->id, m->chunks[i]->index);
        sto__dkey(hi, m->chunks[i]->id, m->chunks[j - 1]->index + 1);
        if (m->chunks[j - 1]->index == UINT32_MAX)
            sto__dkey(hi, m->chunks[i]->id + 1, 0);
        rocksdb_writebatch_delete_range_cf(b, db->cf[STO__CF_DATA], lo,
                                           sizeof(lo), hi, sizeof(hi));
        i = j;
    }
}

void sto__chunks_delete_id(sto_db_t *db, rocksdb_writebatch_t *b, uint64_t id)
{
    char lo[STO__DKEY_LEN], hi[STO__DKEY_LEN];
    sto__dkey(lo, id, 0);
    sto__dkey(hi, id + 1, 0);
    rocksdb_writebatch_delete_range_cf(b, db->cf[STO__CF_DATA], lo, sizeof(lo),
                                       hi, sizeof(hi));
}
