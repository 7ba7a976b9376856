/*
 * ringver.c - the engine's side of the RING version exchange (ringver.h).
 */
#include "storage/ringver.h"

#include <stdlib.h>
#include <string.h>

#include "manager/contract.h"

#define HINT_EVERY_MS 1000u /* per node and version */

void sto__ringver_set(sto__ringver_t *v, uint32_t ver)
{
    v->ver = ver;
}

/* May node idx (0 = this node) be told version ver now? Records it. */
static bool may_tell(rt_t *rt, sto__ringver_t *v, uint16_t idx, uint32_t ver)
{
    if (idx >= v->ntold) {
        uint32_t n = (uint32_t)idx + 8;
        /* control struct: one slot per node index seen */
        v->told = cleo_xrealloc(v->told, n * sizeof *v->told);
        v->told_ms = cleo_xrealloc(v->told_ms, n * sizeof *v->told_ms);
        memset(v->told + v->ntold, 0, (n - v->ntold) * sizeof *v->told);
        memset(v->told_ms + v->ntold, 0, (n - v->ntold) * sizeof *v->told_ms);
        v->ntold = n;
    }
    uint64_t now = rt_now_ms(rt);
    if (v->told[idx] == ver && now - v->told_ms[idx] < HINT_EVERY_MS)
        return false;
    v->told[idx] = ver;
    v->told_ms[idx] = now;
    return true;
}

static void tell(rt_actor_t *self, sto__ringver_t *v, uint16_t idx,
                 uint32_t ver)
{
    rt_t *rt = rt_actor_rt(self);
    if (!may_tell(rt, v, idx, ver))
        return;
    rt_pid_t to = idx == 0 ? rt_whereis(rt, MGR_AGENT_NAME)
                           : rt_dist_named(rt, idx, MGR_AGENT_NAME);
    if (to == RT_PID_NONE)
        return;
    rt_msg_t *m = rt_msg_new(MGR_AGENT_RING_SEEN);
    m->tag = ver;
    if (rt_send(rt, to, m) == 0)
        v->hints++;
}

void sto__ringver_check(rt_actor_t *self, sto__ringver_t *v,
                        const rt_msg_t *req, rt_from_t from)
{
    if (req->tag == 0 || v->ver == 0 || req->tag == v->ver)
        return;
    if (req->tag > v->ver)
        tell(self, v, 0, req->tag); /* we are behind */
    else if (RT_PID_NODE(from.pid) != 0)
        tell(self, v, (uint16_t)RT_PID_NODE(from.pid), v->ver);
}

void sto__ringver_free(sto__ringver_t *v)
{
    if (v == NULL)
        return;
    free(v->told);
    free(v->told_ms);
    v->told = NULL;
    v->told_ms = NULL;
    v->ntold = 0;
}
