/*
 * sock.c - libuv callbacks of a client socket, turned into messages.
 */
#include "gateway/sock.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    uv_write_t w;
    char *head;
    rt_buf_t *body;
    uint64_t notify;
} wreq_t;

void *gw__xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        fprintf(stderr, "cleo: out of memory (%zu bytes)\n", n * size);
        abort();
    }
    return p;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    gw_sock_t *s = h->data;
    (void)hint;
    *buf = uv_buf_init(NULL, 0);
    if (s->rbuf == NULL && rt_buf_new(GW_READ_BYTES, &s->rbuf) < 0)
        return; /* libuv reports UV_ENOBUFS to on_read */
    *buf = uv_buf_init(rt_buf_data(s->rbuf), GW_READ_BYTES);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    gw_sock_t *s = st->data;
    (void)buf;
    if (nread == 0)
        return; /* EAGAIN: keep the buffer for the next read */
    rt_msg_t *m = rt_msg_new(GW_MSG_READ);
    if (nread > 0) {
        if (rt_buf_set_len(s->rbuf, (size_t)nread) < 0)
            abort(); /* libuv never reads past the buffer it was lent */
        rt_msg_set_buf(m, s->rbuf);
        s->rbuf = NULL;
    } else {
        m->reason = (int)nread;
    }
    (void)rt_send(s->rt, s->owner, m);
}

int gw__sock_read_start(gw_sock_t *s)
{
    return uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
}

void gw__sock_read_stop(gw_sock_t *s)
{
    (void)uv_read_stop((uv_stream_t *)&s->tcp);
}

static void on_written(uv_write_t *w, int status)
{
    wreq_t *q = (wreq_t *)w;
    gw_sock_t *s = w->handle->data;
    rt_msg_t *m = rt_msg_new(GW_MSG_WRITTEN);
    m->reason = status;
    m->arg = q->notify;
    (void)rt_send(s->rt, s->owner, m);
    free(q->head);
    rt_buf_unref(q->body);
    free(q);
}

int gw__sock_write(gw_sock_t *s, char *head, size_t head_len, rt_buf_t *body,
                   uint64_t notify)
{
    wreq_t *q = gw__xcalloc(1, sizeof *q);
    uv_buf_t b[2];
    unsigned n = 0;
    q->head = head, q->body = body, q->notify = notify;
    if (head_len > 0)
        b[n++] = uv_buf_init(head, (unsigned)head_len);
    if (body != NULL && rt_buf_len(body) > 0)
        b[n++] = uv_buf_init(rt_buf_data(body), (unsigned)rt_buf_len(body));
    if (n == 0) { /* nothing to send: report it written at once */
        b[n++] = uv_buf_init((char *)"", 0);
    }
    int rc = uv_write(&q->w, (uv_stream_t *)&s->tcp, b, n, on_written);
    if (rc < 0) {
        free(q->head);
        rt_buf_unref(q->body);
        free(q);
    }
    return rc;
}

static void on_closed(uv_handle_t *h)
{
    gw_sock_t *s = h->data;
    rt_buf_unref(s->rbuf);
    free(s);
}

void gw__sock_close(void *p)
{
    gw_sock_t *s = p;
    uv_close((uv_handle_t *)&s->tcp, on_closed);
}
