/*
 * test_merge.c - gateway/merge.c: the pages of one listing from several
 * storage nodes merged into one, by key, with common prefixes counted
 * once and truncation and the next marker right across nodes. The last
 * tests page through a bucket spread over three "nodes" with a model of
 * storage's own paging, and check the merged pages against the whole
 * sorted listing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "gateway/merge.h"
#include "gateway/s3pb.h"
#include "runtime/rt.h"

/* ---- building pages ----------------------------------------------------- */

static Cleo__Storage__ListReply *page(void)
{
    return s3pb_new(&cleo__storage__list_reply__descriptor);
}

static void add_entry(Cleo__Storage__ListReply *l, const char *key, uint64_t lm)
{
    Cleo__Storage__ListEntry *e =
        s3pb_new(&cleo__storage__list_entry__descriptor);
    e->key = s3pb_str(key);
    e->etag = s3pb_str("etag");
    e->size = strlen(key);
    e->last_modified_ms = lm;
    l->entries = realloc(l->entries, (l->n_entries + 1) * sizeof *l->entries);
    l->entries[l->n_entries++] = e;
}

static void add_prefix(Cleo__Storage__ListReply *l, const char *p)
{
    l->prefixes =
        realloc(l->prefixes, (l->n_prefixes + 1) * sizeof *l->prefixes);
    l->prefixes[l->n_prefixes++] = s3pb_str(p);
}

static void pfree(void *m)
{
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* The merged page's items as "k:" / "p:" names joined by spaces. */
static void items(const Cleo__Storage__ListReply *l, char *out, size_t cap)
{
    size_t e = 0, p = 0, n = 0;
    out[0] = '\0';
    while (e < l->n_entries || p < l->n_prefixes) {
        bool take_p = e == l->n_entries ||
                      (p < l->n_prefixes &&
                       strcmp(l->prefixes[p], l->entries[e]->key) < 0);
        n += (size_t)snprintf(out + n, cap - n, "%s%s:%s", n ? " " : "",
                              take_p ? "p" : "k",
                              take_p ? l->prefixes[p++] : l->entries[e++]->key);
    }
}

/* ---- ListObjects -----------------------------------------------------------
 */

Test(gw_merge, interleaves_keys_of_several_nodes_in_order)
{
    Cleo__Storage__ListReply *a = page(), *b = page(), *c = page();
    add_entry(a, "apple", 1), add_entry(a, "kiwi", 1);
    add_entry(b, "banana", 1), add_entry(b, "mango", 1);
    add_entry(c, "cherry", 1);
    const Cleo__Storage__ListReply *pages[] = {a, b, c};
    Cleo__Storage__ListReply *m;
    cr_assert_eq(gw__merge_list(pages, 3, 1000, &m), 0);
    char s[512];
    items(m, s, sizeof s);
    cr_assert_str_eq(s, "k:apple k:banana k:cherry k:kiwi k:mango");
    cr_assert_not(m->is_truncated);
    cr_assert_str_eq(m->next_marker, "mango");
    pfree(m), pfree(a), pfree(b), pfree(c);
}

Test(gw_merge, a_common_prefix_of_several_nodes_counts_once)
{
    Cleo__Storage__ListReply *a = page(), *b = page();
    add_prefix(a, "logs/"), add_entry(a, "z", 1);
    add_prefix(b, "img/"), add_prefix(b, "logs/");
    const Cleo__Storage__ListReply *pages[] = {a, b};
    Cleo__Storage__ListReply *m;
    cr_assert_eq(gw__merge_list(pages, 2, 1000, &m), 0);
    char s[512];
    items(m, s, sizeof s);
    cr_assert_str_eq(s, "p:img/ p:logs/ k:z");
    cr_assert_eq(m->n_prefixes, 2);
    pfree(m), pfree(a), pfree(b);
}

Test(gw_merge, a_key_of_two_nodes_counts_once_newest_kept)
{
    Cleo__Storage__ListReply *a = page(), *b = page();
    add_entry(a, "k", 5);
    add_entry(b, "k", 9);
    const Cleo__Storage__ListReply *pages[] = {a, b};
    Cleo__Storage__ListReply *m;
    cr_assert_eq(gw__merge_list(pages, 2, 1000, &m), 0);
    cr_assert_eq(m->n_entries, 1);
    cr_assert_eq(m->entries[0]->last_modified_ms, 9);
    pfree(m), pfree(a), pfree(b);
}

Test(gw_merge, cuts_at_max_items_and_says_truncated_with_the_last_item)
{
    Cleo__Storage__ListReply *a = page(), *b = page();
    add_entry(a, "a1", 1), add_prefix(a, "a2/"), add_entry(a, "a3", 1);
    add_entry(b, "b1", 1), add_entry(b, "b2", 1);
    const Cleo__Storage__ListReply *pages[] = {a, b};
    Cleo__Storage__ListReply *m;
    cr_assert_eq(gw__merge_list(pages, 2, 2, &m), 0);
    char s[512];
    items(m, s, sizeof s);
    cr_assert_str_eq(s, "k:a1 p:a2/");
    cr_assert(m->is_truncated);
    cr_assert_str_eq(m->next_marker, "a2/"); /* storage skips the group */
    pfree(m), pfree(a), pfree(b);
}

Test(gw_merge, a_node_truncated_at_the_end_truncates_the_merge)
{
    /* b's page was cut by storage: keys after "b2" may exist there, so
     * the merge is truncated though every item given fits. */
    Cleo__Storage__ListReply *a = page(), *b = page();
    add_entry(a, "a1", 1);
    add_entry(b, "b1", 1), add_entry(b, "b2", 1);
    b->is_truncated = true;
    const Cleo__Storage__ListReply *pages[] = {a, b};
    Cleo__Storage__ListReply *m;
    cr_assert_eq(gw__merge_list(pages, 2, 3, &m), 0);
    cr_assert_eq(m->n_entries, 3);
    cr_assert(m->is_truncated);
    cr_assert_str_eq(m->next_marker, "b2");
    pfree(m), pfree(a), pfree(b);
}

Test(gw_merge, empty_and_missing_pages_give_an_empty_page)
{
    Cleo__Storage__ListReply *a = page();
    const Cleo__Storage__ListReply *pages[] = {a, NULL};
    Cleo__Storage__ListReply *m;
    cr_assert_eq(gw__merge_list(pages, 2, 10, &m), 0);
    cr_assert_eq(m->n_entries + m->n_prefixes, 0);
    cr_assert_not(m->is_truncated);
    cr_assert_str_eq(m->next_marker, "");
    pfree(m), pfree(a);
}

Test(gw_merge, max_zero_is_refused)
{
    Cleo__Storage__ListReply *m = NULL;
    cr_assert_eq(gw__merge_list(NULL, 0, 0, &m), CLEO_EINVAL);
    cr_assert_null(m);
}

/* ---- paging across nodes: a model of storage ---------------------------- */

#define NODES 3
#define KEYS 200

typedef struct {
    char *keys[KEYS]; /* sorted */
    size_t n;
} node_t;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* storage's LIST on one node (storage/list.c's rules): items after
 * `after` with prefix, keys rolled up at the delimiter after the prefix,
 * a whole group skipped when `after` is inside it, at most max. */
static Cleo__Storage__ListReply *node_list(const node_t *n, const char *prefix,
                                           const char *delim, const char *after,
                                           size_t max)
{
    Cleo__Storage__ListReply *l = page();
    size_t pl = strlen(prefix), dl = strlen(delim), got = 0;
    char last_p[256] = "";
    for (size_t i = 0; i < n->n; i++) {
        const char *k = n->keys[i];
        if (strncmp(k, prefix, pl) != 0)
            continue;
        const char *d = dl ? strstr(k + pl, delim) : NULL;
        char item[256];
        snprintf(item, sizeof item, "%.*s",
                 d ? (int)(d - k + (long)dl) : (int)strlen(k), k);
        if (strcmp(item, after) <= 0 || strcmp(item, last_p) == 0)
            continue;
        if (d != NULL && strncmp(after, item, strlen(item)) == 0)
            continue; /* after is inside this group */
        if (got == max) {
            l->is_truncated = true;
            break;
        }
        if (d != NULL) {
            add_prefix(l, item);
            snprintf(last_p, sizeof last_p, "%s", item);
        } else {
            add_entry(l, k, 1);
        }
        got++;
    }
    return l;
}

static void spread(node_t *nodes, char **all, size_t *n_all)
{
    memset(nodes, 0, NODES * sizeof *nodes);
    *n_all = 0;
    for (int i = 0; i < KEYS; i++) {
        char k[64];
        if (i % 3 == 0)
            snprintf(k, sizeof k, "dir%02d/file%03d", i % 11, i);
        else
            snprintf(k, sizeof k, "key%04d", (i * 37) % 1000);
        node_t *n = &nodes[(i * 7 + i / 5) % NODES]; /* any spread */
        n->keys[n->n++] = strdup(k);
        all[(*n_all)++] = strdup(k);
    }
    for (int i = 0; i < NODES; i++)
        qsort(nodes[i].keys, nodes[i].n, sizeof(char *), cmp_str);
    qsort(all, *n_all, sizeof(char *), cmp_str);
}

/* Page through the merged listing with page size max; the items in
 * order, one per line. */
static char *page_through(const node_t *nodes, const char *prefix,
                          const char *delim, size_t max, size_t *pages_out)
{
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap), after[256] = "";
    size_t pages = 0;
    for (;;) {
        const Cleo__Storage__ListReply *pg[NODES];
        for (int i = 0; i < NODES; i++)
            pg[i] = node_list(&nodes[i], prefix, delim, after, max);
        Cleo__Storage__ListReply *m;
        cr_assert_eq(gw__merge_list(pg, NODES, (uint32_t)max, &m), 0);
        cr_assert_leq(m->n_entries + m->n_prefixes, max);
        char s[1 << 14];
        items(m, s, sizeof s);
        len +=
            (size_t)snprintf(out + len, cap - len, "%s%s", s, s[0] ? " " : "");
        pages++;
        bool more = m->is_truncated;
        snprintf(after, sizeof after, "%s", m->next_marker);
        pfree(m);
        for (int i = 0; i < NODES; i++)
            pfree((void *)pg[i]);
        if (!more)
            break;
        cr_assert_lt(pages, 1000, "paging does not end");
    }
    *pages_out = pages;
    return out;
}

static void free_all(node_t *nodes, char **all, size_t n_all)
{
    for (int i = 0; i < NODES; i++)
        for (size_t j = 0; j < nodes[i].n; j++)
            free(nodes[i].keys[j]);
    for (size_t j = 0; j < n_all; j++)
        free(all[j]);
}

Test(gw_merge, paging_over_three_nodes_gives_every_key_once_in_order)
{
    node_t nodes[NODES];
    char *all[KEYS];
    size_t n_all, pages;
    spread(nodes, all, &n_all);
    size_t sizes[] = {1, 7, 13, 1000};
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        char *got = page_through(nodes, "", "", sizes[z], &pages);
        char *want = calloc(1, 1 << 16);
        size_t len = 0;
        for (size_t j = 0; j < n_all; j++)
            len +=
                (size_t)snprintf(want + len, (1 << 16) - len, "k:%s ", all[j]);
        cr_assert_str_eq(got, want, "page size %zu", sizes[z]);
        cr_assert_eq(pages, (n_all + sizes[z] - 1) / sizes[z],
                     "page size %zu: %zu pages", sizes[z], pages);
        free(got), free(want);
    }
    free_all(nodes, all, n_all);
}

Test(gw_merge, paging_with_a_delimiter_rolls_up_across_nodes)
{
    node_t nodes[NODES];
    char *all[KEYS];
    size_t n_all, pages;
    spread(nodes, all, &n_all);
    /* the whole listing at once, then in pages of 7: the same items */
    char *whole = page_through(nodes, "", "/", 1000, &pages);
    cr_assert_eq(pages, 1);
    for (int d = 0; d < 11; d++) { /* each dirNN/ once */
        char p[32];
        snprintf(p, sizeof p, "p:dir%02d/ ", d);
        char *at = strstr(whole, p);
        cr_assert_not_null(at, "%s missing", p);
        cr_assert_null(strstr(at + 1, p), "%s twice", p);
    }
    cr_assert_null(strstr(whole, "k:dir"), "rolled-up keys listed");
    char *paged = page_through(nodes, "", "/", 7, &pages);
    cr_assert_str_eq(paged, whole);
    cr_assert_gt(pages, 1);
    char *in_dir = page_through(nodes, "dir03/", "/", 2, &pages);
    cr_assert_not_null(strstr(in_dir, "k:dir03/file"));
    cr_assert_null(strstr(in_dir, "p:"));
    free(whole), free(paged), free(in_dir);
    free_all(nodes, all, n_all);
}

/* ---- ListMultipartUploads ---------------------------------------------- */

static Cleo__Storage__MpuUploadList *uploads(void)
{
    return s3pb_new(&cleo__storage__mpu_upload_list__descriptor);
}

static void add_upload(Cleo__Storage__MpuUploadList *l, const char *key,
                       const char *id)
{
    Cleo__Storage__MpuUploadInfo *u =
        s3pb_new(&cleo__storage__mpu_upload_info__descriptor);
    u->key = s3pb_str(key);
    u->upload_id = s3pb_str(id);
    l->uploads = realloc(l->uploads, (l->n_uploads + 1) * sizeof *l->uploads);
    l->uploads[l->n_uploads++] = u;
}

Test(gw_merge, uploads_merge_by_key_then_id_with_the_next_markers)
{
    Cleo__Storage__MpuUploadList *a = uploads(), *b = uploads();
    add_upload(a, "a", "02"), add_upload(a, "c", "01");
    add_upload(b, "a", "01"), add_upload(b, "b", "09"),
        add_upload(b, "d", "01");
    const Cleo__Storage__MpuUploadList *pages[] = {a, b};
    Cleo__Storage__MpuUploadList *m;
    cr_assert_eq(gw__merge_uploads(pages, 2, 3, &m), 0);
    cr_assert_eq(m->n_uploads, 3);
    cr_assert_str_eq(m->uploads[0]->key, "a");
    cr_assert_str_eq(m->uploads[0]->upload_id, "01");
    cr_assert_str_eq(m->uploads[1]->upload_id, "02");
    cr_assert_str_eq(m->uploads[2]->key, "b");
    cr_assert(m->is_truncated);
    cr_assert_str_eq(m->next_key_marker, "b");
    cr_assert_str_eq(m->next_upload_id_marker, "09");
    pfree(m);
    cr_assert_eq(gw__merge_uploads(pages, 2, 1000, &m), 0);
    cr_assert_eq(m->n_uploads, 5);
    cr_assert_not(m->is_truncated);
    cr_assert_str_eq(m->next_key_marker, "");
    pfree(m), pfree(a), pfree(b);
}

Test(gw_merge, an_upload_two_nodes_give_counts_once)
{
    Cleo__Storage__MpuUploadList *a = uploads(), *b = uploads();
    add_upload(a, "k", "07");
    add_upload(b, "k", "07");
    b->is_truncated = true;
    const Cleo__Storage__MpuUploadList *pages[] = {a, b};
    Cleo__Storage__MpuUploadList *m;
    cr_assert_eq(gw__merge_uploads(pages, 2, 10, &m), 0);
    cr_assert_eq(m->n_uploads, 1);
    cr_assert(m->is_truncated); /* b may have more */
    cr_assert_str_eq(m->next_upload_id_marker, "07");
    pfree(m), pfree(a), pfree(b);
}
