/*
 * msg.c - message headers from the pool; payload helpers.
 */
#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/actor.h"
#include "runtime/pool.h"

_Static_assert(sizeof(rt_msg_t) <= 64, "a message header fits 64 bytes");

rt_msg_t *rt_msg_new(uint32_t type)
{
    rt_msg_t *m = rt__pool_alloc(sizeof *m);
    memset(m, 0, sizeof *m);
    m->type = type;
    m->from = rt__tls_actor ? rt__tls_actor->pid : RT_PID_NONE;
    return m;
}

void rt_msg_free(rt_msg_t *m)
{
    if (m == NULL)
        return;
    if (m->payload != NULL && m->payload_free != NULL)
        m->payload_free(m->payload);
    rt__pool_free(sizeof *m, m);
}

static void pb_free(void *p)
{
    protobuf_c_message_free_unpacked(p, NULL);
}

void rt_msg_set_pb(rt_msg_t *m, void *pb)
{
    m->payload = pb;
    m->payload_free = pb_free;
}

static void buf_free(void *p)
{
    rt_buf_unref(p);
}

void rt_msg_set_buf(rt_msg_t *m, rt_buf_t *b)
{
    m->payload = b;
    m->payload_free = buf_free;
}

static void body_free(void *p)
{
    rt_body_t *b = p;
    if (b->pb != NULL)
        protobuf_c_message_free_unpacked(b->pb, NULL);
    rt_buf_unref(b->buf);
    free(b);
}

void rt_msg_set_body(rt_msg_t *m, void *pb, rt_buf_t *buf)
{
    rt_body_t *b = cleo_xmalloc(sizeof *b); /* STYLE rule 26 */
    b->pb = pb;
    b->buf = buf;
    if (m->payload_free != NULL && m->payload != NULL)
        m->payload_free(m->payload);
    m->payload = b;
    m->payload_free = body_free;
}

rt_body_t *rt_msg_body(const rt_msg_t *m)
{
    return m->payload != NULL && m->payload_free == body_free ? m->payload
                                                              : NULL;
}

int rt__msg_payload_kind(const rt_msg_t *m)
{
    if (m->payload == NULL)
        return RT__PAYLOAD_NONE;
    if (m->payload_free == pb_free)
        return RT__PAYLOAD_PB;
    if (m->payload_free == buf_free)
        return RT__PAYLOAD_BUF;
    if (m->payload_free == body_free)
        return RT__PAYLOAD_BODY;
    return -1;
}
