/*
 * test_list.c - listings against a model (a sorted array of the live
 * keys), with every parameter combination, pagination, tombstones, and
 * 100,000 keys listed by pages without scanning the bucket.
 */
#include "stot.c"

TestSuite(sto_list, .init = t_setup, .fini = t_teardown);

#define NKEYS 1500

typedef struct {
    char *s;
    bool is_prefix;
} item_t;

static char *keys[NKEYS]; /* every key put, sorted */
static bool live[NKEYS];  /* false: deleted (a tombstone) */
static size_t nkeys;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Random keys from a fixed seed over a small alphabet, so prefixes and
 * delimiters collide often; some contain a two-byte UTF-8 letter. */
static void make_keys(void)
{
    static const char *const sym[] = {"a", "b",        "/", "-",
                                      "c", "\xc3\xa9", "/", "a"};
    unsigned seed = 42;
    nkeys = 0;
    while (nkeys < NKEYS) {
        char k[64] = "";
        int len = 1 + rand_r(&seed) % 7;
        for (int i = 0; i < len; i++)
            strcat(k, sym[rand_r(&seed) % 8]);
        bool dup = false;
        for (size_t i = 0; i < nkeys && !dup; i++)
            dup = strcmp(keys[i], k) == 0;
        if (!dup)
            keys[nkeys++] = strdup(k);
    }
    qsort(keys, nkeys, sizeof(char *), cmp_str);
    for (size_t i = 0; i < nkeys; i++) {
        cr_assert_eq(t_put("bkt", keys[i], i % 3, 1, 1, NULL), 0);
        live[i] = rand_r(&seed) % 5 != 0;
    }
    for (size_t i = 0; i < nkeys; i++)
        if (!live[i])
            cr_assert_eq(sto_delete(T_db, "bkt", keys[i], T_NOW), 0);
}

static bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* The model: what one page should hold. Returns the item count and sets
 * *trunc. */
static size_t model(const char *prefix, const char *delim, const char *after,
                    size_t max, item_t *out, bool *trunc)
{
    size_t n = 0;
    *trunc = false;
    for (size_t i = 0; i < nkeys; i++) {
        const char *k = keys[i];
        if (!live[i] || !starts(k, prefix))
            continue;
        if (after != NULL && strcmp(k, after) <= 0)
            continue;
        const char *d = *delim ? strstr(k + strlen(prefix), delim) : NULL;
        if (d != NULL) {
            size_t cl = (size_t)(d - k) + strlen(delim);
            if (after != NULL && strlen(after) >= cl &&
                strncmp(after, k, cl) == 0)
                continue;
            if (n > 0 && out[n - 1].is_prefix && strlen(out[n - 1].s) == cl &&
                strncmp(out[n - 1].s, k, cl) == 0)
                continue;
            if (n == max) {
                *trunc = true;
                break;
            }
            out[n++] = (item_t){strndup(k, cl), true};
        } else {
            if (n == max) {
                *trunc = true;
                break;
            }
            out[n++] = (item_t){strdup(k), false};
        }
    }
    return n;
}

/* The engine's page as one ordered item list. */
static size_t engine(const char *prefix, const char *delim, const char *after,
                     size_t max, item_t *out, bool *trunc, char **marker)
{
    sto_list_opts_t o = {prefix, delim, after, max};
    sto_list_t *l = NULL;
    cr_assert_eq(sto_list(T_db, "bkt", &o, &l), 0);
    size_t e = 0, p = 0, n = 0;
    while (e < l->n_entries || p < l->n_prefixes) {
        bool take_e =
            p == l->n_prefixes ||
            (e < l->n_entries && strcmp(l->entries[e].key, l->prefixes[p]) < 0);
        if (take_e)
            out[n++] = (item_t){strdup(l->entries[e++].key), false};
        else
            out[n++] = (item_t){strdup(l->prefixes[p++]), true};
    }
    *trunc = l->is_truncated;
    *marker = l->next_marker ? strdup(l->next_marker) : NULL;
    sto_list_free(l);
    return n;
}

static void items_free(item_t *it, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(it[i].s);
}

static void compare(const char *prefix, const char *delim, const char *after,
                    size_t max)
{
    static item_t m[NKEYS], e[NKEYS];
    bool mt, et;
    char *marker;
    size_t mn = model(prefix, delim, after, max, m, &mt);
    size_t en = engine(prefix, delim, after, max, e, &et, &marker);
    cr_assert_eq(en, mn, "count: p='%s' d='%s' a='%s' max=%zu", prefix, delim,
                 after ? after : "(null)", max);
    for (size_t i = 0; i < mn; i++) {
        cr_assert_str_eq(e[i].s, m[i].s, "item %zu p='%s' d='%s' a='%s'", i,
                         prefix, delim, after ? after : "(null)");
        cr_assert_eq(e[i].is_prefix, m[i].is_prefix);
    }
    cr_assert_eq(et, mt, "truncated: p='%s' d='%s' a='%s' max=%zu", prefix,
                 delim, after ? after : "(null)", max);
    if (mn > 0)
        cr_assert_str_eq(marker, m[mn - 1].s);
    free(marker);
    items_free(m, mn);
    items_free(e, en);
}

Test(sto_list, every_combination_matches_the_model)
{
    cr_assert_eq(sto_bucket_create(T_db, "bkt", NULL, T_NOW), 0);
    make_keys();
    const char *prefixes[] = {"", "a", "a/", "b/c", "zz", "\xc3\xa9", "/"};
    const char *delims[] = {"", "/", "-", "a/", "\xc3\xa9"};
    const char *afters[] = {NULL, "",    "a",        "a/",  "a/b",
                            "b",  "b/-", "\xc3\xa9", "zzz", keys[NKEYS / 2]};
    const size_t maxes[] = {1, 2, 3, 7, 1000};
    for (size_t p = 0; p < 7; p++)
        for (size_t d = 0; d < 5; d++)
            for (size_t a = 0; a < 10; a++)
                for (size_t x = 0; x < 5; x++)
                    compare(prefixes[p], delims[d], afters[a], maxes[x]);
    for (size_t i = 0; i < nkeys; i++)
        free(keys[i]);
}

/* Paging with next_marker visits exactly the model's full listing. */
Test(sto_list, pages_concatenate_to_the_full_listing)
{
    cr_assert_eq(sto_bucket_create(T_db, "bkt", NULL, T_NOW), 0);
    make_keys();
    const char *prefixes[] = {"", "a", "b/"};
    const char *delims[] = {"", "/", "-"};
    static item_t full[NKEYS], page[NKEYS];
    for (int p = 0; p < 3; p++)
        for (int d = 0; d < 3; d++)
            for (size_t max = 1; max <= 9; max += 4) {
                bool t;
                size_t fn =
                    model(prefixes[p], delims[d], NULL, NKEYS, full, &t);
                size_t got = 0;
                char *marker = NULL;
                do {
                    char *next = NULL;
                    size_t n = engine(prefixes[p], delims[d], marker, max, page,
                                      &t, &next);
                    free(marker);
                    marker = next;
                    cr_assert(n <= max);
                    for (size_t i = 0; i < n; i++, got++) {
                        cr_assert(got < fn);
                        cr_assert_str_eq(page[i].s, full[got].s);
                    }
                    items_free(page, n);
                } while (t);
                free(marker);
                cr_assert_eq(got, fn);
                items_free(full, fn);
            }
    for (size_t i = 0; i < nkeys; i++)
        free(keys[i]);
}

Test(sto_list, tombstones_never_show_nor_make_prefixes)
{
    cr_assert_eq(sto_bucket_create(T_db, "bkt", NULL, T_NOW), 0);
    cr_assert_eq(t_put("bkt", "dir/x", 1, 1, 1, NULL), 0);
    cr_assert_eq(t_put("bkt", "file", 1, 1, 1, NULL), 0);
    cr_assert_eq(sto_delete(T_db, "bkt", "dir/x", T_NOW), 0);
    sto_list_opts_t o = {.delimiter = "/"};
    sto_list_t *l = NULL;
    cr_assert_eq(sto_list(T_db, "bkt", &o, &l), 0);
    cr_expect_eq(l->n_prefixes, 0);
    cr_assert_eq(l->n_entries, 1);
    cr_expect_str_eq(l->entries[0].key, "file");
    cr_expect_eq(l->entries[0].size, 1);
    cr_expect_eq(strlen(l->entries[0].etag), 32);
    cr_expect(!l->is_truncated);
    sto_list_free(l);
}

/* Bytes of keys and values the iterators produced: a scan of the bucket
 * would read ~100 bytes for each of the 100,000 records. */
static uint64_t read_bytes(rocksdb_perfcontext_t *pc)
{
    return rocksdb_perfcontext_metric(pc, rocksdb_iter_read_bytes);
}

Test(sto_list, hundred_thousand_keys_by_pages)
{
    sto_opts_t o;
    t_opts(&o);
    o.no_sync = true; /* 100,000 synced commits would take minutes */
    sto_db_close(T_db);
    t_open_with(&o);
    cr_assert_eq(sto_bucket_create(T_db, "bkt", NULL, T_NOW), 0);
    char k[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(k, sizeof(k), "d%03d/%05d", i % 100, i);
        cr_assert_eq(t_put("bkt", k, 0, 0, 1, NULL), 0);
    }
    sto_list_opts_t lo = {.max_keys = 1000};
    char *marker = NULL, prev[32] = "";
    size_t total = 0, pages = 0;
    bool more;
    do {
        sto_list_t *l = NULL;
        lo.start_after = marker;
        cr_assert_eq(sto_list(T_db, "bkt", &lo, &l), 0);
        for (size_t i = 0; i < l->n_entries; i++) {
            cr_assert_gt(strcmp(l->entries[i].key, prev), 0);
            snprintf(prev, sizeof(prev), "%s", l->entries[i].key);
        }
        total += l->n_entries;
        pages++;
        more = l->is_truncated;
        free(marker);
        marker = l->next_marker ? strdup(l->next_marker) : NULL;
        sto_list_free(l);
    } while (more);
    free(marker);
    cr_expect_eq(total, 100000);
    cr_expect_eq(pages, 100);

    /* 100 groups of 1,000 keys: a delimiter listing seeks from group to
     * group instead of stepping through 100,000 keys. */
    rocksdb_set_perf_level(rocksdb_enable_count);
    rocksdb_perfcontext_t *pc = rocksdb_perfcontext_create();
    rocksdb_perfcontext_reset(pc);
    sto_list_opts_t dl = {.delimiter = "/", .max_keys = 1000};
    sto_list_t *l = NULL;
    cr_assert_eq(sto_list(T_db, "bkt", &dl, &l), 0);
    cr_expect_eq(l->n_prefixes, 100);
    cr_expect_eq(l->n_entries, 0);
    cr_expect_str_eq(l->prefixes[99], "d099/");
    sto_list_free(l);
    cr_expect_lt(read_bytes(pc), 100 * 200, "iterator read %llu bytes",
                 (unsigned long long)read_bytes(pc));
    /* A prefixed page reads only its own keys. */
    rocksdb_perfcontext_reset(pc);
    sto_list_opts_t pl = {.prefix = "d050/", .max_keys = 10};
    cr_assert_eq(sto_list(T_db, "bkt", &pl, &l), 0);
    cr_expect_eq(l->n_entries, 10);
    cr_expect(l->is_truncated);
    cr_expect_str_eq(l->entries[0].key, "d050/00050");
    sto_list_free(l);
    cr_expect_lt(read_bytes(pc), 20 * 200);
    rocksdb_perfcontext_destroy(pc);
}
