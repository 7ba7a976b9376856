/*
 * cache.c - the object cache actor (cache.h): a hash of bucket/key to
 * {ObjectInfo, bytes} with an LRU list, bounded in bytes.
 *
 * A fill can race with an invalidation: a GET misses, a PUT through
 * another connection drops the key, then the GET's fill arrives with the
 * old bytes. Every miss answer carries the cache's drop epoch and a fill
 * is taken only if no drop happened since, so a stale fill is refused.
 */
#include "gateway/cache.h"

#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "gateway/sock.h"
#include "proto/storage.pb-c.h"
#include "storage/contract.h"

#define BUCKETS 4096 /* hash chains */

typedef struct entry_s {
    struct entry_s *hnext;       /* hash chain */
    struct entry_s *prev, *next; /* LRU: head = most recent */
    char *name;                  /* bucket '\0' key */
    size_t name_len;
    Cleo__Storage__ObjectInfo *info;
    rt_buf_t *buf;
    size_t bytes; /* charged: object + name + overhead */
} entry_t;

typedef struct {
    entry_t *h[BUCKETS];
    entry_t *head, *tail;
    uint64_t bytes, max_bytes, max_obj;
    uint64_t epoch; /* drops so far */
} cache_t;

static uint64_t hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ULL;
    return h;
}

static size_t name_of(const char *bucket, const char *key, char *out,
                      size_t cap)
{
    size_t bl = strlen(bucket), kl = strlen(key);
    if (bl + 1 + kl > cap)
        return 0;
    memcpy(out, bucket, bl);
    out[bl] = '\0';
    memcpy(out + bl + 1, key, kl);
    return bl + 1 + kl;
}

static entry_t **find(cache_t *c, const char *name, size_t n)
{
    entry_t **p = &c->h[hash(name, n) % BUCKETS];
    while (*p != NULL &&
           ((*p)->name_len != n || memcmp((*p)->name, name, n) != 0))
        p = &(*p)->hnext;
    return p;
}

static void lru_unlink(cache_t *c, entry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_front(cache_t *c, entry_t *e)
{
    e->next = c->head;
    e->prev = NULL;
    if (c->head)
        c->head->prev = e;
    else
        c->tail = e;
    c->head = e;
}

static void entry_free(cache_t *c, entry_t **slot)
{
    entry_t *e = *slot;
    *slot = e->hnext;
    lru_unlink(c, e);
    c->bytes -= e->bytes;
    protobuf_c_message_free_unpacked(&e->info->base, NULL);
    rt_buf_unref(e->buf);
    free(e->name);
    free(e);
}

static void evict(cache_t *c)
{
    while (c->bytes > c->max_bytes && c->tail != NULL) {
        entry_t *t = c->tail;
        entry_free(c, find(c, t->name, t->name_len));
    }
}

/* ---- messages -------------------------------------------------------- */

static int on_get(rt_actor_t *self, cache_t *c, rt_msg_t *m)
{
    Cleo__Storage__ObjectReq *q = m->payload;
    char name[STO_BUCKET_MAX + 2 + STO_KEY_MAX];
    size_t n = name_of(q->bucket, q->key, name, sizeof name);
    entry_t *e = n ? *find(c, name, n) : NULL;
    rt_msg_t *reply = rt_msg_new(GW_MSG_CACHE_GET);
    reply->arg = c->epoch;
    if (e == NULL) {
        reply->reason = CLEO_ENOTFOUND;
        metrics_inc(rt_actor_rt(self), "gw.cache.miss", 1);
    } else {
        lru_unlink(c, e);
        lru_front(c, e);
        uint8_t *pk =
            malloc(protobuf_c_message_get_packed_size(&e->info->base));
        size_t len = pk ? protobuf_c_message_pack(&e->info->base, pk) : 0;
        void *copy =
            pk ? cleo__storage__object_info__unpack(NULL, len, pk) : NULL;
        free(pk);
        if (copy == NULL)
            reply->reason = CLEO_ENOTFOUND;
        else
            rt_msg_set_body(reply, copy, rt_buf_ref(e->buf));
        metrics_inc(rt_actor_rt(self), copy ? "gw.cache.hit" : "gw.cache.miss",
                    1);
    }
    return rt_reply(rt_actor_rt(self), rt_msg_caller(m), reply);
}

static int on_put(cache_t *c, rt_msg_t *m)
{
    rt_body_t *b = rt_msg_body(m);
    if (b == NULL || m->arg != c->epoch)
        return 0; /* a drop happened since the miss: the bytes may be old */
    Cleo__Storage__ObjectInfo *oi = b->pb;
    char name[STO_BUCKET_MAX + 2 + STO_KEY_MAX];
    size_t n = name_of(oi->bucket, oi->key, name, sizeof name);
    size_t len = rt_buf_len(b->buf);
    if (n == 0 || len > c->max_obj || len != oi->size)
        return 0;
    entry_t **slot = find(c, name, n);
    if (*slot != NULL)
        entry_free(c, slot);
    entry_t *e = gw__xcalloc(1, sizeof *e);
    e->name = malloc(n);
    if (e->name == NULL) {
        free(e);
        return 0;
    }
    memcpy(e->name, name, n);
    e->name_len = n;
    e->info = oi, b->pb = NULL;
    e->buf = b->buf, b->buf = NULL;
    e->bytes = len + n + sizeof *e + 256;
    e->hnext = *slot;
    *slot = e;
    lru_front(c, e);
    c->bytes += e->bytes;
    evict(c);
    return 0;
}

/* Drop one key, or every key of the bucket when key is "". */
static int on_drop(cache_t *c, rt_msg_t *m)
{
    Cleo__Storage__ObjectReq *q = m->payload;
    c->epoch++;
    if (q->key[0] != '\0') {
        char name[STO_BUCKET_MAX + 2 + STO_KEY_MAX];
        size_t n = name_of(q->bucket, q->key, name, sizeof name);
        entry_t **slot = n ? find(c, name, n) : NULL;
        if (slot != NULL && *slot != NULL)
            entry_free(c, slot);
        return 0;
    }
    for (entry_t *e = c->head, *nx; e != NULL; e = nx) {
        nx = e->next;
        if (strcmp(e->name, q->bucket) == 0)
            entry_free(c, find(c, e->name, e->name_len));
    }
    return 0;
}

static int cache_handle(rt_actor_t *self, rt_msg_t *m)
{
    cache_t *c = rt_state(self);
    switch (m->type) {
    case GW_MSG_CACHE_GET:
        return m->payload ? on_get(self, c, m) : 0;
    case GW_MSG_CACHE_PUT:
        return on_put(c, m);
    case GW_MSG_CACHE_DROP:
        return m->payload ? on_drop(c, m) : 0;
    default:
        return 0;
    }
}

static int cache_init(rt_actor_t *self, void *arg)
{
    const gw_conf_t *conf = arg;
    cache_t *c = gw__xcalloc(1, sizeof *c);
    c->max_bytes = conf->cache_max_bytes;
    c->max_obj = conf->cache_max_object_bytes;
    rt_set_state(self, c);
    return 0;
}

static void cache_destroy(rt_actor_t *self, int reason)
{
    cache_t *c = rt_state(self);
    (void)reason;
    if (c == NULL)
        return;
    for (size_t i = 0; i < BUCKETS; i++)
        while (c->h[i] != NULL)
            entry_free(c, &c->h[i]);
    free(c);
}

static const rt_behaviour_t cache_beh = {
    .name = "gw_cache",
    .init = cache_init,
    .handle = cache_handle,
    .destroy = cache_destroy,
};

int gw_cache_start(rt_actor_t *sup, const sup_child_spec_t *spec, void *extra,
                   rt_pid_t *out)
{
    const gw_conf_t *conf = spec->arg;
    (void)extra;
    if (conf->cache_max_bytes == 0 || conf->cache_max_object_bytes == 0) {
        *out = RT_PID_NONE; /* off: OTP's ignore */
        return 0;
    }
    rt_spawn_opts_t o = {
        .flags = RT_SPAWN_LINK, .name = GW_CACHE_NAME, .sched = RT_SCHED_ANY};
    return rt_spawn(rt_actor_rt(sup), sup, &cache_beh, (void *)conf, &o, out);
}
