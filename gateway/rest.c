/*
 * rest.c - LeoFS's REST API on its own listener: GET / PUT / HEAD /
 * DELETE /bucket/key, and GET /bucket?prefix= as a JSON listing. Open,
 * or with `Authorization: Bearer <gateway.rest.token>`. It shares the S3
 * layer's object handlers (same storage, same limits); only errors and
 * listings are JSON.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "gateway/api.h"
#include "gateway/err.h"
#include "gateway/s3.h"
#include "gateway/s3pb.h"
#include "storage/contract.h"

static int json_reply(gw_req_t *r, int status, json_t *j)
{
    char *txt = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (txt == NULL)
        return CLEO_ENOMEM;
    rt_buf_t *b = gw__buf_of(txt, strlen(txt));
    free(txt);
    if (b == NULL)
        return CLEO_ENOMEM;
    return gw__resp_full(r, status, NULL, 0, "application/json", b);
}

static int rest_error(gw_req_t *r, int err)
{
    s3_t *s = r->op;
    const gw_s3_err_t *e = gw__s3_err(err, s != NULL && s->key != NULL);
    if (err == GW_ENOTMODIFIED || r->no_body)
        return gw__resp_full(r, e->status, NULL, 0, NULL, NULL);
    json_t *j =
        json_pack("{s:s, s:s}", "error", e->code, "message", e->message);
    return j != NULL ? json_reply(r, e->status, j) : CLEO_ENOMEM;
}

static int on_list(gw_req_t *r, s3_t *s, rt_msg_t *m, int status)
{
    if (status == STO_ENOBUCKET || status == CLEO_EINVAL)
        return GW_ENOBUCKET;
    if (status < 0)
        return status;
    Cleo__Storage__ListReply *l = m->payload;
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < l->n_entries; i++)
        json_array_append_new(
            arr, json_pack("{s:s, s:I, s:s, s:I}", "key", l->entries[i]->key,
                           "size", (json_int_t)l->entries[i]->size, "etag",
                           l->entries[i]->etag, "last_modified_ms",
                           (json_int_t)l->entries[i]->last_modified_ms));
    json_t *j = json_pack("{s:s, s:o, s:b, s:s}", "bucket", s->bucket,
                          "objects", arr, "is_truncated", l->is_truncated,
                          "next_marker", l->next_marker);
    return j != NULL ? json_reply(r, 200, j) : CLEO_ENOMEM;
}

/* Bearer token check, constant time. */
static bool token_ok(gw_req_t *r)
{
    const char *want = r->conf->rest_token;
    if (want == NULL || want[0] == '\0')
        return true;
    size_t n, wl = strlen(want);
    const char *v =
        gw__hdr_get(r->head->hdrs, r->head->nhdrs, "authorization", &n);
    return v != NULL && n == wl + 7 && strncmp(v, "Bearer ", 7) == 0 &&
           CRYPTO_memcmp(v + 7, want, wl) == 0;
}

static int rest_begin(gw_req_t *r)
{
    int rc = s3_setup(r);
    if (rc < 0)
        return rc;
    s3_t *s = r->op;
    if (!token_ok(r))
        return GW_EDENIED;
    snprintf(s->user, sizeof s->user, "admin");
    s->is_admin = true;
    if (s->bucket[0] == '\0')
        return GW_EMETHOD;
    if (r->conf->view != NULL && (rc = s3_view_may_read(s, s->bucket)) < 0)
        return rc; /* a cluster: the managers' buckets */
    if (s->key == NULL) {
        if (r->head->method_id != HTTP_GET)
            return GW_EMETHOD;
        const char *mk = s3_q(s, "max-keys");
        int max = mk ? atoi(mk) : 1000; /* storage's page: 1..1000 */
        return s3_list_all(
            r, s3_q(s, "prefix"), s3_q(s, "delimiter"), s3_q(s, "marker"),
            max <= 0 || max > 1000 ? 1000 : (uint32_t)max, on_list);
    }
    switch (r->head->method_id) {
    case HTTP_GET:
        s->op = S3_GET_OBJECT;
        break;
    case HTTP_HEAD:
        s->op = S3_HEAD_OBJECT;
        break;
    case HTTP_PUT:
        s->op = S3_PUT_OBJECT;
        break;
    case HTTP_DELETE:
        s->op = S3_DELETE_OBJECT;
        break;
    default:
        return GW_EMETHOD;
    }
    return s3_object_op(r, s);
}

const gw_api_t gw__rest_api = {"rest", rest_begin, rest_error, NULL};
