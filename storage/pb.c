/*
 * pb.c - building storage.proto records (see pb.h).
 */
#include "storage/pb.h"

#include <stdlib.h>
#include <string.h>

void *sto__pb_calloc(size_t n, size_t size)
{
    void *p = calloc(n > 0 ? n : 1, size);
    if (p == NULL)
        abort();
    return p;
}

char *sto__pb_strdup(const char *s)
{
    if (s == NULL || *s == '\0')
        return (char *)protobuf_c_empty_string;
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
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
