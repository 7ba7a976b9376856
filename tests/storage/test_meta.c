/*
 * test_meta.c - key and bucket-name validation and the meta encoding.
 */
#include "stot.c"

TestSuite(sto_meta);

Test(sto_meta, key_lengths)
{
    char k[STO_KEY_MAX + 2];
    memset(k, 'a', sizeof(k));
    k[STO_KEY_MAX] = '\0';
    cr_expect_eq(sto__key_check(k), 0);
    k[STO_KEY_MAX] = 'a';
    k[STO_KEY_MAX + 1] = '\0';
    cr_expect_eq(sto__key_check(k), CLEO_EINVAL);
    cr_expect_eq(sto__key_check(""), CLEO_EINVAL);
    cr_expect_eq(sto__key_check(NULL), CLEO_EINVAL);
}

Test(sto_meta, utf8_rules)
{
    cr_expect_eq(sto__key_check("caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80"),
                 0);
    const char *bad[] = {"\xff",
                         "a\x80",
                         "\xc3",
                         "\xc0\xaf",
                         "\xe0\x80\xaf",
                         "\xed\xa0\x80",
                         "\xf4\x90\x80\x80",
                         "\xf8\x88\x80\x80\x80",
                         "ok\xe2\x82"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(sto__key_check(bad[i]), CLEO_EINVAL, "case %zu", i);
}

Test(sto_meta, mkey_sorts_by_bucket_then_key)
{
    char a[STO__MKEY_MAX], b[STO__MKEY_MAX];
    size_t al = sto__mkey(a, "ab", "z"), bl = sto__mkey(b, "abc", "a");
    cr_expect_eq(al, 4);
    cr_expect(memcmp(a, b, al < bl ? al : bl) < 0);
}

Test(sto_meta, dkey_round_trips)
{
    char k[STO__DKEY_LEN];
    sto__dkey(k, 0x0102030405060708ULL, 0x0a0b0c0d);
    uint64_t id;
    uint32_t ix;
    sto__dkey_parse(k, &id, &ix);
    cr_expect_eq(id, 0x0102030405060708ULL);
    cr_expect_eq(ix, 0x0a0b0c0d);
    cr_expect_eq((uint8_t)k[0], 1);
    cr_expect_eq((uint8_t)k[11], 0x0d);
}

Test(sto_meta, error_names)
{
    cr_expect_str_eq(sto_err_name(STO_ECORRUPT), "STO_ECORRUPT");
    cr_expect_str_eq(sto_err_name(STO_ERANGE), "STO_ERANGE");
    cr_expect_str_eq(sto_err_name(STO_ENOBUCKET), "STO_ENOBUCKET");
    cr_expect_str_eq(sto_err_name(CLEO_ESTORAGE), "CLEO_ESTORAGE");
    cr_expect_str_eq(sto_strerror(STO_ERANGE), "range not satisfiable");
}

Test(sto_meta, bad_options_are_einval)
{
    sto_opts_t o;
    sto_opts_init(&o);
    o.chunk_size = 100;
    sto_db_t *db = NULL;
    cr_expect_eq(sto_db_open("/tmp/cleo-sto-never", &o, &db), CLEO_EINVAL);
    cr_expect_null(db);
}
