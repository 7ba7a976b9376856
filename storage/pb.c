/*
 * pb.c - building storage.proto records (see pb.h).
 */
#include "storage/pb.h"

#include <stdlib.h>
#include <string.h>

void *sto__pb_calloc(size_t n, size_t size)
{
    return cleo_xcalloc(n > 0 ? n : 1, size);
}

char *sto__pb_strdup(const char *s)
{
    if (s == NULL || *s == '\0')
        return (char *)protobuf_c_empty_string;
    size_t n = strlen(s) + 1;
    return memcpy(cleo_xmalloc(n), s, n);
}

Cleo__Storage__MetaKV **sto__pb_user_meta(const sto_kv_t *v, size_t n)
{
    Cleo__Storage__MetaKV **out = sto__pb_calloc(n, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        Cleo__Storage__MetaKV *kv = sto__pb_calloc(1, sizeof *kv);
        cleo__storage__meta_kv__init(kv);
        kv->key = sto__pb_strdup(v[i].key);
        kv->value = sto__pb_strdup(v[i].value);
        out[i] = kv;
    }
    return out;
}

Cleo__Storage__ObjectInfo *sto__pb_object_info(const sto_meta_t *m)
{
    Cleo__Storage__ObjectInfo *p = sto__pb_calloc(1, sizeof *p);
    cleo__storage__object_info__init(p);
    p->bucket = sto__pb_strdup(m->bucket);
    p->key = sto__pb_strdup(m->key);
    p->size = m->size;
    p->etag = sto__pb_strdup(m->etag);
    p->content_type = sto__pb_strdup(m->content_type);
    p->content_encoding = sto__pb_strdup(m->content_encoding);
    p->cache_control = sto__pb_strdup(m->cache_control);
    p->last_modified_ms = m->last_modified_ms;
    p->clock = m->clock;
    p->clock_node = m->clock_node;
    p->deleted = m->deleted;
    p->n_user_meta = m->n_user_meta;
    p->user_meta = sto__pb_user_meta(m->user_meta, m->n_user_meta);
    return p;
}

sto_kv_t *sto__pb_put_opts(const Cleo__Storage__PutReq *r, sto_put_opts_t *o)
{
    sto_kv_t *kv = sto__pb_calloc(r->n_user_meta, sizeof *kv);
    for (size_t i = 0; i < r->n_user_meta; i++)
        kv[i] = (sto_kv_t){r->user_meta[i]->key, r->user_meta[i]->value};
    *o = (sto_put_opts_t){.content_type = r->content_type,
                          .content_encoding = r->content_encoding,
                          .cache_control = r->cache_control,
                          .user_meta = kv,
                          .n_user_meta = r->n_user_meta};
    return kv;
}

bool sto__pb_version(const Cleo__Storage__Version *r, sto_version_t *v,
                     uint64_t *lm_ms)
{
    if (r == NULL)
        return false;
    *v = (sto_version_t){.clock = r->clock, .node = r->node};
    if (r->last_modified_ms != 0)
        *lm_ms = r->last_modified_ms;
    return true;
}
