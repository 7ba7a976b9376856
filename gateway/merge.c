/*
 * merge.c - k-way merges of listing pages from several storage nodes.
 *
 * Each page is two sorted lists (entries and common prefixes, or
 * uploads); a cursor per page walks them, and each step takes the
 * smallest item of all cursors, consuming it from every page that has
 * it. k is the RING's node count and a page has at most 1000 items, so
 * a linear scan over the cursors is cheaper than a heap would be.
 */
#include "gateway/merge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "gateway/s3pb.h"
#include "gateway/sock.h"

/* ---- ListObjects -------------------------------------------------------- */

typedef struct {
    size_t e, p; /* next entry, next prefix */
} cur_t;

/* The next item of page l at c: its name, and whether it is a prefix.
 * @return NULL when the page is used up. */
static const char *item_of(const Cleo__Storage__ListReply *l, const cur_t *c,
                           bool *is_prefix)
{
    if (l == NULL)
        return NULL;
    const char *e = c->e < l->n_entries ? l->entries[c->e]->key : NULL;
    const char *p = c->p < l->n_prefixes ? l->prefixes[c->p] : NULL;
    *is_prefix = e == NULL || (p != NULL && strcmp(p, e) < 0);
    return *is_prefix ? p : e;
}

/* The smallest next item over all pages, or NULL when all are used up. */
static const char *smallest(const Cleo__Storage__ListReply *const *pages,
                            const cur_t *c, size_t n)
{
    const char *min = NULL;
    for (size_t i = 0; i < n; i++) {
        bool pfx;
        const char *it = item_of(pages[i], &c[i], &pfx);
        if (it != NULL && (min == NULL || strcmp(it, min) < 0))
            min = it;
    }
    return min;
}

static Cleo__Storage__ListEntry *entry_dup(const Cleo__Storage__ListEntry *e)
{
    Cleo__Storage__ListEntry *d =
        s3pb_new(&cleo__storage__list_entry__descriptor);
    d->key = s3pb_str(e->key);
    d->size = e->size;
    d->etag = s3pb_str(e->etag);
    d->last_modified_ms = e->last_modified_ms;
    return d;
}

/* Take the item named min from every page that has it next, and add it
 * to out once. */
static void take(const Cleo__Storage__ListReply *const *pages, cur_t *c,
                 size_t n, const char *min, Cleo__Storage__ListReply *out)
{
    const Cleo__Storage__ListEntry *best = NULL;
    bool prefix = false;
    for (size_t i = 0; i < n; i++) {
        bool pfx;
        const char *it = item_of(pages[i], &c[i], &pfx);
        if (it == NULL || strcmp(it, min) != 0)
            continue;
        if (pfx) {
            prefix = true;
            c[i].p++;
            continue;
        }
        const Cleo__Storage__ListEntry *e = pages[i]->entries[c[i].e++];
        if (best == NULL || e->last_modified_ms > best->last_modified_ms)
            best = e;
    }
    if (prefix && best == NULL)
        out->prefixes[out->n_prefixes++] = s3pb_str(min);
    else
        out->entries[out->n_entries++] = entry_dup(best);
}

int gw__merge_list(const Cleo__Storage__ListReply *const *pages, size_t n,
                   uint32_t max, Cleo__Storage__ListReply **out)
{
    if (max == 0)
        return CLEO_EINVAL;
    Cleo__Storage__ListReply *o =
        s3pb_new(&cleo__storage__list_reply__descriptor);
    o->entries = gw__xcalloc(max, sizeof *o->entries);
    o->prefixes = gw__xcalloc(max, sizeof *o->prefixes);
    cur_t *c = gw__xcalloc(n + 1, sizeof *c);
    const char *min = NULL, *last = "";
    size_t taken = 0;
    while (taken < max && (min = smallest(pages, c, n)) != NULL) {
        take(pages, c, n, min, o);
        last = min;
        taken++;
    }
    o->is_truncated = smallest(pages, c, n) != NULL;
    for (size_t i = 0; i < n; i++)
        if (pages[i] != NULL && pages[i]->is_truncated)
            o->is_truncated = true;
    o->next_marker = s3pb_str(last);
    free(c);
    *out = o;
    return 0;
}

/* ---- ListMultipartUploads ---------------------------------------------- */

static int upload_cmp(const Cleo__Storage__MpuUploadInfo *a,
                      const Cleo__Storage__MpuUploadInfo *b)
{
    int c = strcmp(a->key, b->key);
    return c != 0 ? c : strcmp(a->upload_id, b->upload_id);
}

static const Cleo__Storage__MpuUploadInfo *
upload_at(const Cleo__Storage__MpuUploadList *l, size_t i)
{
    return l != NULL && i < l->n_uploads ? l->uploads[i] : NULL;
}

static const Cleo__Storage__MpuUploadInfo *
upload_min(const Cleo__Storage__MpuUploadList *const *pages, const size_t *c,
           size_t n)
{
    const Cleo__Storage__MpuUploadInfo *min = NULL;
    for (size_t i = 0; i < n; i++) {
        const Cleo__Storage__MpuUploadInfo *u = upload_at(pages[i], c[i]);
        if (u != NULL && (min == NULL || upload_cmp(u, min) < 0))
            min = u;
    }
    return min;
}

static Cleo__Storage__MpuUploadInfo *
upload_dup(const Cleo__Storage__MpuUploadInfo *u)
{
    Cleo__Storage__MpuUploadInfo *d =
        s3pb_new(&cleo__storage__mpu_upload_info__descriptor);
    d->key = s3pb_str(u->key);
    d->upload_id = s3pb_str(u->upload_id);
    d->initiated_ms = u->initiated_ms;
    return d;
}

int gw__merge_uploads(const Cleo__Storage__MpuUploadList *const *pages,
                      size_t n, uint32_t max,
                      Cleo__Storage__MpuUploadList **out)
{
    if (max == 0)
        return CLEO_EINVAL;
    Cleo__Storage__MpuUploadList *o =
        s3pb_new(&cleo__storage__mpu_upload_list__descriptor);
    o->uploads = gw__xcalloc(max, sizeof *o->uploads);
    size_t *c = gw__xcalloc(n + 1, sizeof *c);
    const Cleo__Storage__MpuUploadInfo *min;
    while (o->n_uploads < max && (min = upload_min(pages, c, n)) != NULL) {
        o->uploads[o->n_uploads++] = upload_dup(min);
        for (size_t i = 0; i < n; i++) { /* every page that has it */
            const Cleo__Storage__MpuUploadInfo *u = upload_at(pages[i], c[i]);
            if (u != NULL && upload_cmp(u, o->uploads[o->n_uploads - 1]) == 0)
                c[i]++;
        }
    }
    o->is_truncated = upload_min(pages, c, n) != NULL;
    for (size_t i = 0; i < n; i++)
        if (pages[i] != NULL && pages[i]->is_truncated)
            o->is_truncated = true;
    const Cleo__Storage__MpuUploadInfo *last =
        o->n_uploads > 0 ? o->uploads[o->n_uploads - 1] : NULL;
    o->next_key_marker = s3pb_str(o->is_truncated && last ? last->key : "");
    o->next_upload_id_marker =
        s3pb_str(o->is_truncated && last ? last->upload_id : "");
    free(c);
    *out = o;
    return 0;
}
