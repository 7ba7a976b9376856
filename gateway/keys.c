/*
 * keys.c - a connection's view of the manager's access keys.
 */
#include "gateway/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/err.h"
#include "gateway/ring.h"
#include "gateway/sock.h"
#include "manager/contract.h"
#include "proto/manager.pb-c.h"

typedef struct {
    gw_key_t k;
    uint64_t at_ms; /* when the manager said so; 0 = empty */
} slot_t;

typedef struct {
    slot_t slot[GW_KEY_SLOTS];
    unsigned next;
    gw_sigv4_cache_t sig;
    gw_key_fn pending; /* the lookup in flight (one per request) */
} keys_t;

static keys_t *keys_of(gw_req_t *r)
{
    void **p = gw__conn_api_state(r);
    if (*p == NULL)
        *p = gw__xcalloc(1, sizeof(keys_t));
    return *p;
}

gw_sigv4_cache_t *gw__keys_sigcache(gw_req_t *r)
{
    return &keys_of(r)->sig;
}

void gw__keys_free(void *state)
{
    free(state);
}

static int on_lookup(rt_actor_t *self, rt_msg_t *reply, int status, void *data)
{
    gw_req_t *r = gw__conn_req(self, (uint64_t)(uintptr_t)data);
    if (r == NULL)
        return 0;
    keys_t *ks = keys_of(r);
    gw_key_fn fn = ks->pending;
    ks->pending = NULL;
    if (status == 0)
        status = reply->reason;
    Cleo__Manager__KeyInfo *ki = status == 0 ? reply->payload : NULL;
    if (status == CLEO_ENOTFOUND || (status == 0 && ki == NULL))
        status = GW_EACCESSKEY;
    if (status < 0) {
        int rc = fn(r, NULL, status == CLEO_ENOPROC ? GW_EUNAVAILABLE : status);
        if (rc < 0)
            gw__req_fail(r, rc);
        return 0;
    }
    slot_t *s = &ks->slot[ks->next++ % GW_KEY_SLOTS];
    snprintf(s->k.access_key, sizeof s->k.access_key, "%s", ki->access_key);
    snprintf(s->k.secret, sizeof s->k.secret, "%s", ki->secret_key);
    snprintf(s->k.user, sizeof s->k.user, "%s", ki->user);
    s->k.is_admin = ki->is_admin;
    s->at_ms = rt_now_ms(rt_actor_rt(self));
    int rc = fn(r, &s->k, 0);
    if (rc < 0)
        gw__req_fail(r, rc);
    return 0;
}

int gw__keys_lookup(gw_req_t *r, const char *access_key, gw_key_fn fn)
{
    rt_actor_t *self = gw__req_actor(r);
    rt_t *rt = rt_actor_rt(self);
    keys_t *ks = keys_of(r);
    uint64_t now = rt_now_ms(rt);
    for (unsigned i = 0; i < GW_KEY_SLOTS; i++) {
        slot_t *s = &ks->slot[i];
        if (s->at_ms != 0 && now - s->at_ms < GW_KEY_TTL_MS &&
            strcmp(s->k.access_key, access_key) == 0)
            return fn(r, &s->k, 0);
    }
    rt_pid_t mgr = gw__role_pid(r->conf, rt, MGR_USERS_NAME);
    if (mgr == RT_PID_NONE)
        return GW_EUNAVAILABLE;
    Cleo__Manager__KeyReq *q = malloc(sizeof *q);
    if (q == NULL)
        return CLEO_ENOMEM;
    cleo__manager__key_req__init(q);
    q->access_key = strdup(access_key);
    if (q->access_key == NULL) {
        free(q);
        return CLEO_ENOMEM;
    }
    rt_msg_t *m = rt_msg_new(MGR_MSG_KEY_LOOKUP);
    rt_msg_set_pb(m, q);
    ks->pending = fn;
    return rt_call(self, mgr, m, 10000, on_lookup, (void *)(uintptr_t)r->seq);
}
