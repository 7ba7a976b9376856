/*
 * test_get.c - ranged and streamed reads.
 */
#include "stot.c"

#define N (3 * T_CHUNK + 100) /* three full chunks and a tail */

static void setup(void)
{
    t_setup();
    cr_assert_eq(sto_bucket_create(T_db, "bkt", "o", T_NOW), 0);
    cr_assert_eq(t_put("bkt", "obj", N, 3, 10000, NULL), 0);
    cr_assert_eq(t_put("bkt", "empty", 0, 3, 1, NULL), 0);
}

TestSuite(sto_get, .init = setup, .fini = t_teardown);

static void span(uint64_t first, uint64_t last, uint64_t want_first,
                 uint64_t want_len)
{
    sto_range_t r = {.kind = STO_RANGE_SPAN, .first = first, .last = last};
    sto_get_t *g = NULL;
    cr_assert_eq(sto_get_open(T_db, "bkt", "obj", &r, &g), 0);
    uint64_t f, l;
    sto_get_span(g, &f, &l);
    cr_expect_eq(f, want_first);
    cr_expect_eq(l, want_len);
    sto_get_close(g);
    for (size_t cap = 1; cap <= 1 << 20; cap *= 64)
        cr_expect_eq(t_get_check("bkt", "obj", &r, 3, cap), (ssize_t)want_len);
}

Test(sto_get, spans_at_chunk_borders)
{
    const uint64_t c = T_CHUNK;
    span(0, 0, 0, 1);
    span(c - 1, c - 1, c - 1, 1);
    span(c - 1, c, c - 1, 2);
    span(c, c, c, 1);
    span(c, 2 * c - 1, c, c);
    span(c - 1, 2 * c, c - 1, c + 2);
    span(1, N - 2, 1, N - 2);
    span(N - 1, N - 1, N - 1, 1);
    span(3 * c, N + 1000, 3 * c, 100); /* last clamped */
}

Test(sto_get, open_and_suffix_ranges)
{
    sto_range_t r = {.kind = STO_RANGE_FROM, .first = T_CHUNK + 3};
    cr_expect_eq(t_get_check("bkt", "obj", &r, 3, 5000), N - T_CHUNK - 3);
    r = (sto_range_t){.kind = STO_RANGE_SUFFIX, .suffix_len = 150};
    cr_expect_eq(t_get_check("bkt", "obj", &r, 3, 5000), 150);
    r.suffix_len = N + 5; /* longer than the object: all of it */
    cr_expect_eq(t_get_check("bkt", "obj", &r, 3, 5000), N);
    r = (sto_range_t){.kind = STO_RANGE_ALL};
    cr_expect_eq(t_get_check("bkt", "obj", &r, 3, 5000), N);
}

Test(sto_get, invalid_ranges_are_erange)
{
    sto_range_t bad[] = {
        {.kind = STO_RANGE_SPAN, .first = N, .last = N + 5},
        {.kind = STO_RANGE_SPAN, .first = 10, .last = 9},
        {.kind = STO_RANGE_FROM, .first = N},
        {.kind = STO_RANGE_SUFFIX, .suffix_len = 0},
    };
    sto_get_t *g = NULL;
    for (int i = 0; i < 4; i++)
        cr_expect_eq(sto_get_open(T_db, "bkt", "obj", &bad[i], &g), STO_ERANGE,
                     "case %d", i);
    sto_range_t r = {.kind = STO_RANGE_SPAN, .first = 0, .last = 0};
    cr_expect_eq(sto_get_open(T_db, "bkt", "empty", &r, &g), STO_ERANGE);
    cr_expect_eq(t_get_check("bkt", "empty", NULL, 3, 10), 0);
}

Test(sto_get, meta_is_returned_with_the_stream)
{
    sto_get_t *g = NULL;
    cr_assert_eq(sto_get_open(T_db, "bkt", "obj", NULL, &g), 0);
    const sto_meta_t *m = sto_get_meta(g);
    cr_expect_eq(m->size, N);
    cr_expect_eq(m->n_chunks, 4);
    cr_expect_eq(strlen(m->etag), 32);
    sto_get_close(g);
    cr_expect_eq(sto_get_open(T_db, "bkt", "nope", NULL, &g), CLEO_ENOTFOUND);
}

Test(sto_get, snapshot_survives_overwrite_and_delete)
{
    sto_get_t *g = NULL;
    cr_assert_eq(sto_get_open(T_db, "bkt", "obj", NULL, &g), 0);
    uint8_t buf[1000], want[1000];
    cr_assert_eq(sto_get_read(g, buf, sizeof(buf)), 1000);
    cr_assert_eq(t_put("bkt", "obj", 10, 4, 10, NULL), 0);
    cr_assert_eq(sto_delete(T_db, "bkt", "obj", T_NOW), 0);
    uint64_t off = 1000;
    ssize_t n;
    while ((n = sto_get_read(g, buf, sizeof(buf))) > 0) {
        t_fill(want, (size_t)n, 3, off);
        cr_assert(memcmp(buf, want, (size_t)n) == 0);
        off += (uint64_t)n;
    }
    cr_expect_eq(n, 0);
    cr_expect_eq(off, N);
    sto_get_close(g);
}
