/*
 * s3xml_in.c - the parsers of S3's XML request bodies, on expat. See
 * s3xml.h for the contracts.
 *
 * Safety: the body's size is checked before expat sees a byte; a DOCTYPE
 * (and so any entity declaration, internal or external) stops the parse,
 * which makes entity expansion attacks (billion laughs) and external
 * entity loading impossible rather than merely limited; nesting is
 * bounded; and every string kept is a copy into one pool per result, so
 * nothing points into the caller's body.
 *
 * Elements are matched by their local name at a fixed depth (the root is
 * depth 1): expat runs with namespace processing, so "uri|Key" and "Key"
 * both read as Key, and an undeclared prefix is malformed.
 */
#include "gateway/s3xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <expat.h>

#include "gateway/err.h"

#define NS_SEP '|'
#define NONE SIZE_MAX       /* an absent string offset */
#define FEED_MAX (1u << 20) /* bytes per XML_Parse call (it takes int) */

typedef struct px_s px_t;
typedef void (*px_fn)(px_t *px, const char *local);

/* A string kept by a parser: offsets into its pool. */
typedef struct item_s {
    size_t a;   /* Delete: key; Complete: etag */
    size_t b;   /* Delete: version id or NONE */
    uint32_t n; /* Complete: part number */
} item_t;

/* One parse: expat, the text of the current element, the kept strings. */
struct px_s {
    XML_Parser xp;
    int err;          /* first error, 0 = none */
    int depth;        /* of the element being read; root = 1 */
    const char *root; /* the local name the root must have */
    px_fn start;      /* per-body handlers, called with the local name */
    px_fn end;
    gw_xbuf_t text; /* character data since the last start tag */
    gw_xbuf_t pool; /* kept strings, NUL-separated */
    item_t *items;  /* Object or Part entries */
    size_t n, cap;
    size_t max_items;
    item_t cur;    /* the entry being read */
    bool in_entry; /* inside an Object or Part at depth 2 */
    bool has_a, has_n;
    bool quiet;                /* Delete's Quiet */
    char loc[GW_LOCATION_MAX]; /* CreateBucketConfiguration's constraint */
};

/* Stop the parse with `err` (the first error wins). */
static void fail(px_t *px, int err)
{
    if (px->err == 0) {
        px->err = err;
        XML_StopParser(px->xp, XML_FALSE);
    }
}

static const char *local_name(const char *name)
{
    const char *sep = strrchr(name, NS_SEP);
    return sep != NULL ? sep + 1 : name;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The current text with XML blanks trimmed; `*n` gets its length. */
static const char *trimmed(px_t *px, size_t *n)
{
    const char *s = px->text.base != NULL ? px->text.base : "";
    size_t len = px->text.len;
    while (len > 0 && is_blank(*s))
        s++, len--;
    while (len > 0 && is_blank(s[len - 1]))
        len--;
    *n = len;
    return s;
}

/* Copy `n` bytes and a NUL into the pool; returns the offset or NONE
 * (and fails the parse) when out of memory. */
static size_t keep(px_t *px, const char *s, size_t n)
{
    size_t off = px->pool.len;
    if (gw__xbuf_put(&px->pool, s, n) < 0 ||
        gw__xbuf_put(&px->pool, "", 1) < 0) {
        fail(px, CLEO_ENOMEM);
        return NONE;
    }
    return off;
}

/* Append the current entry; too many is GW_EBADXML. */
static void push(px_t *px)
{
    if (px->n == px->max_items) {
        fail(px, GW_EBADXML);
        return;
    }
    if (px->n == px->cap) {
        size_t cap = px->cap != 0 ? px->cap * 2 : 16;
        item_t *v = realloc(px->items, cap * sizeof *v);
        if (v == NULL) {
            fail(px, CLEO_ENOMEM);
            return;
        }
        px->items = v;
        px->cap = cap;
    }
    px->items[px->n++] = px->cur;
}

/* ---------------------------------------------------------------------
 * expat handlers, common to every body.
 * ------------------------------------------------------------------- */

static void XMLCALL on_start(void *ud, const XML_Char *name,
                             const XML_Char **attrs)
{
    px_t *px = ud;
    if (px->err != 0)
        return;
    if (++px->depth > GW_XML_MAX_DEPTH) {
        fail(px, GW_EBADXML);
        return;
    }
    const char *local = local_name(name);
    if (px->depth == 1 && strcmp(local, px->root) != 0) {
        fail(px, GW_EBADXML);
        return;
    }
    gw__xbuf_reset(&px->text, 0);
    px->start(px, local);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    px_t *px = ud;
    if (px->err != 0)
        return;
    px->end(px, local_name(name));
    px->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    px_t *px = ud;
    if (px->err != 0 || px->depth < 2)
        return;
    if (gw__xbuf_put(&px->text, s, (size_t)len) < 0)
        fail(px, CLEO_ENOMEM);
}

/* A DOCTYPE, and so any entity declaration, is refused outright. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name,
                               const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset)
{
    fail(ud, GW_EBADXML);
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param,
                              const XML_Char *value, int value_len,
                              const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
    fail(ud, GW_EBADXML);
}

/* Feed the body to expat. @return 0 or the parse's error. */
static int feed(px_t *px, const char *body, size_t len)
{
    px->xp = XML_ParserCreateNS(NULL, NS_SEP);
    if (px->xp == NULL)
        return CLEO_ENOMEM;
    XML_SetUserData(px->xp, px);
    XML_SetElementHandler(px->xp, on_start, on_end);
    XML_SetCharacterDataHandler(px->xp, on_text);
    XML_SetStartDoctypeDeclHandler(px->xp, on_doctype);
    XML_SetEntityDeclHandler(px->xp, on_entity);
    XML_SetParamEntityParsing(px->xp, XML_PARAM_ENTITY_PARSING_NEVER);
    int rc = 0;
    do {
        size_t n = len < FEED_MAX ? len : FEED_MAX;
        bool last = n == len;
        if (XML_Parse(px->xp, body, (int)n, last) != XML_STATUS_OK) {
            rc = px->err != 0 ? px->err : GW_EBADXML;
            break;
        }
        body += n;
        len -= n;
    } while (len > 0);
    if (rc == 0 && px->err != 0)
        rc = px->err;
    XML_ParserFree(px->xp);
    px->xp = NULL;
    return rc;
}

static void px_init(px_t *px, const char *root, px_fn start, px_fn end,
                    size_t max_items)
{
    *px = (px_t){
        .root = root, .start = start, .end = end, .max_items = max_items};
    gw__xbuf_init(&px->text, 0);
    gw__xbuf_init(&px->pool, 0);
}

static void px_destroy(px_t *px)
{
    gw__xbuf_destroy(&px->text);
    gw__xbuf_destroy(&px->pool);
    free(px->items);
}

/* Check the size and parse. @return 0 or an error. */
static int px_run(px_t *px, const char *body, size_t len, size_t max_len)
{
    if (len > max_len)
        return GW_EMAXMSG;
    return feed(px, body, len);
}

/* ---------------------------------------------------------------------
 * DeleteObjects.
 * ------------------------------------------------------------------- */

static void del_start(px_t *px, const char *local)
{
    if (px->depth == 2 && strcmp(local, "Object") == 0) {
        px->in_entry = true;
        px->has_a = false;
        px->cur = (item_t){.a = NONE, .b = NONE};
    }
}

/* Quiet's value: true/false/1/0, case-insensitive, blanks trimmed. */
static void del_quiet(px_t *px)
{
    size_t n;
    const char *s = trimmed(px, &n);
    if ((n == 4 && strncasecmp(s, "true", 4) == 0) || (n == 1 && *s == '1'))
        px->quiet = true;
    else if ((n == 5 && strncasecmp(s, "false", 5) == 0) ||
             (n == 1 && *s == '0'))
        px->quiet = false;
    else
        fail(px, GW_EBADXML);
}

static void del_end(px_t *px, const char *local)
{
    if (px->depth == 2 && strcmp(local, "Quiet") == 0) {
        del_quiet(px);
    } else if (px->depth == 2 && px->in_entry) { /* </Object> */
        px->in_entry = false;
        if (!px->has_a)
            fail(px, GW_EBADXML);
        else
            push(px);
    } else if (px->depth == 3 && px->in_entry) {
        /* Keys are kept exactly as sent: blanks are part of a key. */
        if (strcmp(local, "Key") == 0) {
            if (px->has_a || px->text.len == 0) {
                fail(px, GW_EBADXML);
                return;
            }
            px->cur.a = keep(px, px->text.base, px->text.len);
            px->has_a = true;
        } else if (strcmp(local, "VersionId") == 0) {
            size_t n;
            const char *s = trimmed(px, &n);
            px->cur.b = keep(px, s, n);
        }
    }
}

int gw__s3xml_parse_delete(const char *body, size_t len, size_t max_len,
                           gw_del_req_t *out)
{
    px_t px;
    px_init(&px, "Delete", del_start, del_end, GW_DELETE_MAX_KEYS);
    int rc = px_run(&px, body, len, max_len);
    if (rc == 0 && px.n == 0)
        rc = GW_EBADXML;
    gw_del_obj_t *objs = NULL;
    if (rc == 0 && (objs = calloc(px.n, sizeof *objs)) == NULL)
        rc = CLEO_ENOMEM;
    if (rc < 0)
        goto done;
    char *pool = gw__xbuf_take(&px.pool, NULL);
    for (size_t i = 0; i < px.n; i++) {
        objs[i].key = pool + px.items[i].a;
        if (px.items[i].b != NONE)
            objs[i].version_id = pool + px.items[i].b;
    }
    *out = (gw_del_req_t){
        .quiet = px.quiet, .n = px.n, .objs = objs, ._pool = pool};
done:
    px_destroy(&px);
    return rc;
}

void gw__del_req_destroy(gw_del_req_t *r)
{
    if (r == NULL)
        return;
    free(r->objs);
    free(r->_pool);
    *r = (gw_del_req_t){0};
}

/* ---------------------------------------------------------------------
 * CompleteMultipartUpload.
 * ------------------------------------------------------------------- */

static void mpu_start(px_t *px, const char *local)
{
    if (px->depth == 2 && strcmp(local, "Part") == 0) {
        px->in_entry = true;
        px->has_a = px->has_n = false;
        px->cur = (item_t){.a = NONE, .b = NONE};
    }
}

/* PartNumber: decimal digits only, 1..GW_MPU_MAX_PARTS. */
static void mpu_number(px_t *px)
{
    size_t n;
    const char *s = trimmed(px, &n);
    uint32_t v = 0;
    if (n == 0 || px->has_n)
        goto bad;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            goto bad;
        v = v * 10 + (uint32_t)(s[i] - '0');
        if (v > GW_MPU_MAX_PARTS)
            goto bad;
    }
    if (v == 0)
        goto bad;
    px->cur.n = v;
    px->has_n = true;
    return;
bad:
    fail(px, GW_EBADXML);
}

/* ETag: blanks trimmed, then one pair of surrounding quotes removed. */
static void mpu_etag(px_t *px)
{
    size_t n;
    const char *s = trimmed(px, &n);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
        s++, n -= 2;
    if (n == 0 || px->has_a) {
        fail(px, GW_EBADXML);
        return;
    }
    px->cur.a = keep(px, s, n);
    px->has_a = true;
}

static void mpu_end(px_t *px, const char *local)
{
    if (px->depth == 2 && px->in_entry) { /* </Part> */
        px->in_entry = false;
        if (!px->has_a || !px->has_n)
            fail(px, GW_EBADXML);
        else
            push(px);
    } else if (px->depth == 3 && px->in_entry) {
        if (strcmp(local, "PartNumber") == 0)
            mpu_number(px);
        else if (strcmp(local, "ETag") == 0)
            mpu_etag(px);
    }
}

int gw__s3xml_parse_complete(const char *body, size_t len, size_t max_len,
                             gw_mpu_req_t *out)
{
    px_t px;
    px_init(&px, "CompleteMultipartUpload", mpu_start, mpu_end,
            GW_MPU_MAX_PARTS);
    int rc = px_run(&px, body, len, max_len);
    if (rc == 0 && px.n == 0)
        rc = GW_EBADXML;
    gw_mpu_part_t *parts = NULL;
    if (rc == 0 && (parts = calloc(px.n, sizeof *parts)) == NULL)
        rc = CLEO_ENOMEM;
    if (rc < 0)
        goto done;
    char *pool = gw__xbuf_take(&px.pool, NULL);
    for (size_t i = 0; i < px.n; i++) {
        parts[i].part_number = px.items[i].n;
        parts[i].etag = pool + px.items[i].a;
    }
    *out = (gw_mpu_req_t){.n = px.n, .parts = parts, ._pool = pool};
done:
    px_destroy(&px);
    return rc;
}

void gw__mpu_req_destroy(gw_mpu_req_t *r)
{
    if (r == NULL)
        return;
    free(r->parts);
    free(r->_pool);
    *r = (gw_mpu_req_t){0};
}

/* ---------------------------------------------------------------------
 * CreateBucketConfiguration.
 * ------------------------------------------------------------------- */

static void loc_start(px_t *px, const char *local) {}

static void loc_end(px_t *px, const char *local)
{
    if (px->depth != 2 || strcmp(local, "LocationConstraint") != 0)
        return;
    size_t n;
    const char *s = trimmed(px, &n);
    if (n >= sizeof px->loc) {
        fail(px, GW_EBADXML);
        return;
    }
    memcpy(px->loc, s, n);
    px->loc[n] = '\0';
}

int gw__s3xml_parse_create_bucket(const char *body, size_t len, size_t max_len,
                                  char loc[GW_LOCATION_MAX])
{
    if (len > max_len)
        return GW_EMAXMSG;
    size_t i = 0;
    while (i < len && is_blank(body[i]))
        i++;
    if (i == len) {
        loc[0] = '\0';
        return 0;
    }
    px_t px;
    px_init(&px, "CreateBucketConfiguration", loc_start, loc_end, 0);
    int rc = px_run(&px, body, len, max_len);
    if (rc == 0)
        memcpy(loc, px.loc, sizeof px.loc);
    px_destroy(&px);
    return rc;
}
