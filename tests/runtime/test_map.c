/*
 * test_map.c - the per-actor hash map: put/get/del, growth, and deletion
 * with backward shift against a simple model under a fixed seed.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "../../runtime/map.c"

Test(rt_map, get_on_empty_map_finds_nothing)
{
    rt_map_t m = {0};
    cr_assert_not(rt__map_get(&m, 42, NULL));
    cr_assert_not(rt__map_del(&m, 42, NULL));
    rt__map_destroy(&m);
}

Test(rt_map, put_replaces_and_del_returns_the_value)
{
    rt_map_t m = {0};
    uint64_t v = 0;
    rt__map_put(&m, 7, 70);
    rt__map_put(&m, 7, 71);
    cr_assert_eq(m.n, 1);
    cr_assert(rt__map_get(&m, 7, &v));
    cr_assert_eq(v, 71);
    cr_assert(rt__map_del(&m, 7, &v));
    cr_assert_eq(v, 71);
    cr_assert_not(rt__map_get(&m, 7, NULL));
    cr_assert_eq(m.n, 0);
    rt__map_destroy(&m);
}

Test(rt_map, grows_past_100000_keys)
{
    rt_map_t m = {0};
    for (uint64_t k = 1; k <= 100000; k++)
        rt__map_put(&m, k, k * 3);
    cr_assert_eq(m.n, 100000);
    for (uint64_t k = 1; k <= 100000; k++) {
        uint64_t v;
        cr_assert(rt__map_get(&m, k, &v));
        cr_assert_eq(v, k * 3);
    }
    rt__map_destroy(&m);
    cr_assert_null(m.e);
}

#define SPACE 512

Test(rt_map, random_puts_and_dels_match_a_model)
{
    rt_map_t m = {0};
    uint64_t model[SPACE] = {0}; /* 0 = absent */
    unsigned seed = 12345;
    for (int step = 0; step < 200000; step++) {
        uint64_t k = (uint64_t)(rand_r(&seed) % (SPACE - 1)) + 1;
        if (rand_r(&seed) % 3 == 0) {
            uint64_t v = 0;
            bool had = rt__map_del(&m, k, &v);
            cr_assert_eq(had, model[k] != 0);
            if (had)
                cr_assert_eq(v, model[k]);
            model[k] = 0;
        } else {
            model[k] = (uint64_t)step + 1;
            rt__map_put(&m, k, model[k]);
        }
    }
    uint32_t n = 0;
    for (uint64_t k = 1; k < SPACE; k++) {
        uint64_t v = 0;
        cr_assert_eq(rt__map_get(&m, k, &v), model[k] != 0, "key %lu",
                     (unsigned long)k);
        if (model[k] != 0) {
            cr_assert_eq(v, model[k]);
            n++;
        }
    }
    cr_assert_eq(m.n, n);
    rt__map_destroy(&m);
}
