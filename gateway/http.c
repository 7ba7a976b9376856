/*
 * http.c - llhttp behind a pull API: the head is copied into one bounded
 * buffer, parsing pauses at the end of the head (when a body follows) and
 * at the end of every message, and body bytes go to the owner's callback.
 * The owner bounds body bytes by bounding what it feeds, since llhttp's
 * on_body cannot pause.
 */
#include "gateway/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/err.h"
#include "runtime/rt.h"

/* Append n bytes to the head buffer, extending the string the last
 * callback started. One byte stays free for the NUL closing it. */
static int head_append(gw_http_t *h, const char *at, size_t n)
{
    if (h->len + n + 1 > h->cap) {
        h->err = GW_EHDRTOOBIG;
        return HPE_USER;
    }
    memcpy(h->buf + h->len, at, n);
    h->len += n;
    return 0;
}

/* Close the current string with a NUL and open a new one. */
static int head_next(gw_http_t *h)
{
    if (h->len + 1 > h->cap) {
        h->err = GW_EHDRTOOBIG;
        return HPE_USER;
    }
    h->buf[h->len++] = '\0';
    return 0;
}

static gw_http_t *of(llhttp_t *p)
{
    return p->data;
}

static int on_message_begin(llhttp_t *p)
{
    gw_http_t *h = of(p);
    h->len = 0, h->nh = 0, h->last = 0;
    h->head_ready = false, h->done = false;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    of(p)->last = 1;
    return head_append(of(p), at, n);
}

static int on_field(llhttp_t *p, const char *at, size_t n)
{
    gw_http_t *h = of(p);
    if (h->last != 2) { /* a new header */
        if (h->nh == h->max_h) {
            h->err = GW_EHDRTOOBIG;
            return HPE_USER;
        }
        if (head_next(h) != 0)
            return HPE_USER;
        h->hv[h->nh][0] = (uint32_t)h->len;
        h->hv[h->nh][1] = 0;
        h->hv[h->nh][2] = 0;
        h->hv[h->nh][3] = 0;
        h->nh++;
        h->last = 2;
    }
    h->hv[h->nh - 1][1] += (uint32_t)n;
    return head_append(h, at, n);
}

static int on_value(llhttp_t *p, const char *at, size_t n)
{
    gw_http_t *h = of(p);
    if (h->last != 3) {
        if (h->nh == 0 || head_next(h) != 0)
            return HPE_USER;
        h->hv[h->nh - 1][2] = (uint32_t)h->len;
        h->last = 3;
    }
    h->hv[h->nh - 1][3] += (uint32_t)n;
    return head_append(h, at, n);
}

static bool hdr_is(const gw_hdr_t *x, const char *name)
{
    return x->name_len == strlen(name) &&
           strncasecmp(x->name, name, x->name_len) == 0;
}

/* RFC 9110 tchar: a header name is one token (no blanks, no controls;
 * "Host : x" must be refused, RFC 9112 section 5.1). */
static bool is_token(const char *p, size_t n)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
              (ch >= 'A' && ch <= 'Z') || (ch && strchr(extra, ch))))
            return false;
    }
    return true;
}

/* Turn the offsets into the head's header array (trimmed values). */
static int head_build(gw_http_t *h)
{
    if (head_next(h) != 0)
        return HPE_USER;
    gw_http_head_t *d = &h->head;
    d->hdrs = (gw_hdr_t *)(void *)(h->hv + h->max_h); /* after the offsets */
    for (size_t i = 0; i < h->nh; i++) {
        gw_hdr_t *x = &d->hdrs[i];
        x->name = h->buf + h->hv[i][0];
        x->name_len = h->hv[i][1];
        if (!is_token(x->name, x->name_len))
            return HPE_USER; /* CLEO_EBADREQ: a malformed head */
        const char *v = h->buf + h->hv[i][2];
        size_t vl = h->hv[i][2] ? h->hv[i][3] : 0;
        while (vl > 0 && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        x->value = h->hv[i][2] ? v : "";
        x->value_len = vl;
        if (hdr_is(x, "expect") && vl == 12 &&
            strncasecmp(v, "100-continue", 12) == 0)
            d->expect_continue = true;
    }
    d->nhdrs = h->nh;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    gw_http_t *h = of(p);
    gw_http_head_t *d = &h->head;
    memset(d, 0, sizeof *d);
    if (head_build(h) != 0)
        return -1;
    d->method_id = p->method;
    d->method = llhttp_method_name((llhttp_method_t)p->method);
    d->url = h->buf;
    d->url_len = strlen(h->buf);
    d->chunked = (p->flags & F_CHUNKED) != 0;
    d->content_length =
        (p->flags & F_CONTENT_LENGTH) ? (int64_t)p->content_length : -1;
    d->keep_alive = llhttp_should_keep_alive(p) != 0;
    d->major = p->http_major, d->minor = p->http_minor;
    h->head_ready = true;
    bool body = d->chunked || d->content_length > 0;
    return body ? HPE_PAUSED : 0; /* no body: run on to message complete */
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    gw_http_t *h = of(p);
    if (h->on_body != NULL)
        h->on_body(h->data, at, n);
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    of(p)->done = true;
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

int gw__http_init(gw_http_t *h, size_t max_header_bytes, size_t max_headers)
{
    memset(h, 0, sizeof *h);
    h->cap = max_header_bytes;
    h->max_h = max_headers;
    h->buf = malloc(max_header_bytes);
    /* the offsets, then the header array built from them */
    h->hv = malloc(max_headers * (sizeof *h->hv + sizeof(gw_hdr_t)));
    if (h->buf == NULL || h->hv == NULL) {
        gw__http_destroy(h);
        return CLEO_ENOMEM;
    }
    llhttp_init(&h->p, HTTP_REQUEST, &settings);
    h->p.data = h;
    return 0;
}

void gw__http_destroy(gw_http_t *h)
{
    free(h->buf);
    free(h->hv);
    h->buf = NULL, h->hv = NULL;
}

ssize_t gw__http_feed(gw_http_t *h, const char *p, size_t n, gw_http_ev_t *ev)
{
    bool had_head = h->head_ready;
    llhttp_errno_t e = llhttp_execute(&h->p, p, n);
    *ev = GW_HTTP_MORE;
    if (e == HPE_OK)
        return (ssize_t)n;
    if (e != HPE_PAUSED) {
        int err = h->err ? h->err : CLEO_EBADREQ;
        h->err = 0;
        return err;
    }
    size_t used = (size_t)(llhttp_get_error_pos(&h->p) - p);
    llhttp_resume(&h->p);
    if (h->done)
        *ev = had_head ? GW_HTTP_DONE : GW_HTTP_HEAD;
    else
        *ev = GW_HTTP_HEAD;
    return (ssize_t)used;
}

const gw_http_head_t *gw__http_head(const gw_http_t *h)
{
    return &h->head;
}

bool gw__http_is_done(const gw_http_t *h)
{
    return h->done;
}

void gw__http_next(gw_http_t *h)
{
    h->head_ready = false;
    h->done = false;
}

const char *gw__hdr_get(const gw_hdr_t *h, size_t n, const char *name,
                        size_t *len)
{
    for (size_t i = 0; i < n; i++) {
        if (!hdr_is(&h[i], name))
            continue;
        if (len != NULL)
            *len = h[i].value_len;
        return h[i].value;
    }
    return NULL;
}
