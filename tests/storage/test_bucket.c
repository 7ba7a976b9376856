/*
 * test_bucket.c - bucket naming rules, create/delete/exists/list and du,
 * and the owner and ACL updates of cleo-adm bucket chown / acl.
 */
#include "stot.c"

TestSuite(sto_bucket, .init = t_setup, .fini = t_teardown);

Test(sto_bucket, bad_names_are_rejected)
{
    const char *bad[] = {"",
                         "ab",
                         "Abc",
                         "a_b",
                         "-abc",
                         "abc-",
                         ".abc",
                         "abc.",
                         "a..b",
                         "192.168.1.1",
                         "xn--abc",
                         "bucket-s3alias",
                         "a b",
                         "caf\xc3\xa9",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                         "aaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(sto_bucket_create(T_db, bad[i], "o", T_NOW), CLEO_EINVAL,
                     "%s", bad[i]);
    cr_expect_eq(sto_bucket_create(T_db, NULL, "o", T_NOW), CLEO_EINVAL);
}

Test(sto_bucket, good_names_are_accepted)
{
    const char *good[] = {"abc", "a-b.c", "my.bucket.01", "1.2.3",
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                          "aaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        cr_expect_eq(sto_bucket_create(T_db, good[i], "o", T_NOW), 0, "%s",
                     good[i]);
        cr_expect(sto_bucket_exists(T_db, good[i]));
    }
}

Test(sto_bucket, create_twice_is_eexist)
{
    cr_assert_eq(sto_bucket_create(T_db, "b1", "alice", T_NOW), CLEO_EINVAL);
    cr_assert_eq(sto_bucket_create(T_db, "bkt", "alice", T_NOW), 0);
    cr_assert_eq(sto_bucket_create(T_db, "bkt", "bob", T_NOW), CLEO_EEXIST);
    sto_bucket_info_t i;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &i), 0);
    cr_expect_str_eq(i.owner, "alice");
    cr_expect_eq(i.created_ms, T_NOW);
}

Test(sto_bucket, delete_missing_is_enotfound)
{
    cr_expect_eq(sto_bucket_delete(T_db, "nope"), CLEO_ENOTFOUND);
    cr_expect_eq(sto_bucket_delete(T_db, "NO"), CLEO_EINVAL);
    cr_expect(!sto_bucket_exists(T_db, "nope"));
    sto_bucket_info_t i;
    cr_expect_eq(sto_bucket_du(T_db, "nope", &i), CLEO_ENOTFOUND);
}

Test(sto_bucket, delete_only_when_empty)
{
    cr_assert_eq(sto_bucket_create(T_db, "bkt", NULL, T_NOW), 0);
    cr_assert_eq(t_put("bkt", "k", 10, 1, 10, NULL), 0);
    cr_expect_eq(sto_bucket_delete(T_db, "bkt"), CLEO_ESTATE);
    cr_assert_eq(sto_delete(T_db, "bkt", "k", T_NOW), 0);
    /* Only a tombstone is left: the bucket counts as empty. */
    cr_expect_eq(sto_bucket_delete(T_db, "bkt"), 0);
    cr_expect(!sto_bucket_exists(T_db, "bkt"));
    /* Recreated, it is empty: the old tombstone went with it. */
    cr_assert_eq(sto_bucket_create(T_db, "bkt", NULL, T_NOW), 0);
    sto_list_opts_t lo = {0};
    sto_list_t *l = NULL;
    cr_assert_eq(sto_list(T_db, "bkt", &lo, &l), 0);
    cr_expect_eq(l->n_entries, 0);
    sto_list_free(l);
    sto_bucket_info_t i;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &i), 0);
    cr_expect_eq(i.objects, 0);
    cr_expect_eq(i.bytes, 0);
}

Test(sto_bucket, list_is_sorted)
{
    const char *names[] = {"zeta", "alpha", "mid.dle", "beta"};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(sto_bucket_create(T_db, names[i], "o", T_NOW + i), 0);
    sto_bucket_info_t *l = NULL;
    size_t n = 0;
    cr_assert_eq(sto_bucket_list(T_db, &l, &n), 0);
    cr_assert_eq(n, 4);
    cr_expect_str_eq(l[0].name, "alpha");
    cr_expect_str_eq(l[1].name, "beta");
    cr_expect_str_eq(l[2].name, "mid.dle");
    cr_expect_str_eq(l[3].name, "zeta");
    free(l);
}

Test(sto_bucket, du_tracks_puts_overwrites_and_deletes)
{
    cr_assert_eq(sto_bucket_create(T_db, "bkt", NULL, T_NOW), 0);
    cr_assert_eq(t_put("bkt", "a", 100, 1, 100, NULL), 0);
    cr_assert_eq(t_put("bkt", "b", T_CHUNK * 2 + 5, 2, 4096, NULL), 0);
    cr_assert_eq(t_put("bkt", "a", 40, 3, 40, NULL), 0); /* overwrite */
    sto_bucket_info_t i;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &i), 0);
    cr_expect_eq(i.objects, 2);
    cr_expect_eq(i.bytes, 40 + T_CHUNK * 2 + 5);
    cr_assert_eq(sto_delete(T_db, "bkt", "b", T_NOW), 0);
    t_reopen(); /* stats survive a restart */
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &i), 0);
    cr_expect_eq(i.objects, 1);
    cr_expect_eq(i.bytes, 40);
    cr_assert_eq(t_put("bkt", "b", 7, 2, 7, NULL), 0); /* revive */
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &i), 0);
    cr_expect_eq(i.objects, 2);
    cr_expect_eq(i.bytes, 47);
}

Test(sto_bucket, update_sets_owner_and_acl_and_keeps_the_rest)
{
    char acl[STO__ACL_MAX + 1];
    cr_assert_eq(sto_bucket_create(T_db, "bkt", "alice", T_NOW), 0);
    cr_assert_eq(sto__bucket_acl(T_db, "bkt", acl, sizeof acl), 0);
    cr_expect_str_eq(acl, "", "never set");
    cr_assert_eq(sto__bucket_update(T_db, "bkt", "bob", NULL), 0);
    cr_assert_eq(sto__bucket_update(T_db, "bkt", "", "public-read"), 0);
    sto_bucket_info_t i;
    cr_assert_eq(sto_bucket_du(T_db, "bkt", &i), 0);
    cr_expect_str_eq(i.owner, "bob", "an empty owner keeps it");
    cr_expect_eq(i.created_ms, T_NOW);
    cr_assert_eq(sto__bucket_acl(T_db, "bkt", acl, sizeof acl), 0);
    cr_expect_str_eq(acl, "public-read");
    cr_expect_eq(sto__bucket_update(T_db, "nope", "bob", NULL), CLEO_ENOTFOUND);
    cr_expect_eq(sto__bucket_acl(T_db, "nope", acl, sizeof acl),
                 CLEO_ENOTFOUND);
    cr_expect_eq(sto__bucket_update(T_db, "NO", "bob", NULL), CLEO_EINVAL);
    char long_acl[STO__ACL_MAX + 2];
    memset(long_acl, 'a', sizeof long_acl - 1);
    long_acl[sizeof long_acl - 1] = '\0';
    cr_expect_eq(sto__bucket_update(T_db, "bkt", NULL, long_acl), CLEO_EINVAL);
    cr_assert_eq(sto_bucket_delete(T_db, "bkt"), 0, "no record is left");
    cr_expect(!sto_bucket_exists(T_db, "bkt"));
}
