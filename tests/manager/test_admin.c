/*
 * test_admin.c - the admin command actor (manager/admin.c, admin_out.c):
 * RT_MSG_ADMIN calls as the introspection server makes them, against a
 * real mgr_users and storage engine under one supervisor. Users and
 * buckets commands (text and JSON), every error answered with a status
 * and one line, bad command lines refused, and the answer when the
 * storage engine is not running.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "manager/mgr.h"
#include "proto/introspect.pb-c.h"
#include "storage/sto.h"
#include "supervisors/sup.h"

static char T_dir[64];
static char T_mgr[96], T_sto[96];
static rt_t *T_rt;
static rt_pid_t T_sup;
static mgr_users_opts_t T_opts;
static sto_engine_conf_t T_conf;

static const sup_child_spec_t kids[] = {
    {"engine", sto_engine_start, &T_conf, SUP_PERMANENT, 5000, SUP_WORKER},
    {"users", mgr_users_start, &T_opts, SUP_PERMANENT, 5000, SUP_WORKER},
    {"admin", mgr_admin_start, NULL, SUP_PERMANENT, 5000, SUP_WORKER},
};
static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 10, 5000}, kids, 3};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static void setup(void)
{
    snprintf(T_dir, sizeof T_dir, "/tmp/cleo-adm-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    snprintf(T_mgr, sizeof T_mgr, "%s/manager", T_dir);
    snprintf(T_sto, sizeof T_sto, "%s/storage", T_dir);
    T_opts = (mgr_users_opts_t){.dir = T_mgr, .no_sync = true};
    sto_engine_conf_init(&T_conf, T_sto);
    T_conf.opts.no_sync = true;
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    cr_assert_eq(sup_start(T_rt, NULL, "manager_sup", &spec, &T_sup), 0);
}

static void teardown(void)
{
    cr_assert_eq(rt_shutdown(T_rt), 0);
    rt_free(T_rt);
    nftw(T_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(mgr_admin, .init = setup, .fini = teardown, .timeout = 120);

/* Run one command (words, NULL-terminated). @return gives the reply. */
static Cleo__Introspect__AdminReply *run(const char *w, ...)
{
    char *argv[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, w);
    for (const char *s = w; s != NULL && n < 16; s = va_arg(ap, const char *))
        argv[n++] = (char *)s;
    va_end(ap);
    Cleo__Introspect__AdminReq q = CLEO__INTROSPECT__ADMIN_REQ__INIT;
    q.n_argv = n;
    q.argv = argv;
    /* A malloc'd copy, as the introspection server sends. */
    uint8_t buf[4096];
    size_t len = cleo__introspect__admin_req__pack(&q, buf);
    rt_msg_t *m = rt_msg_new(RT_MSG_ADMIN);
    rt_msg_set_pb(m, cleo__introspect__admin_req__unpack(NULL, len, buf));
    rt_msg_t *reply = NULL;
    rt_pid_t pid = rt_whereis(T_rt, MGR_ADMIN_NAME);
    cr_assert_neq(pid, RT_PID_NONE);
    cr_assert_eq(gen_server_call_sync(T_rt, pid, m, 30000, &reply), 0);
    cr_assert_eq(reply->type, RT_MSG_ADMIN);
    const ProtobufCMessage *pb = reply->payload;
    cr_assert_not_null(pb);
    cr_assert_eq(pb->descriptor, &cleo__introspect__admin_reply__descriptor);
    Cleo__Introspect__AdminReply *r = reply->payload;
    reply->payload = NULL;
    rt_msg_free(reply);
    return r;
}

static void done(Cleo__Introspect__AdminReply *r)
{
    cleo__introspect__admin_reply__free_unpacked(r, NULL);
}

/* A failure: status want and one line of text. */
static void expect_error(Cleo__Introspect__AdminReply *r, int want,
                         const char *has)
{
    cr_assert_eq(r->status, want, "status %d (%s), want %d", r->status, r->text,
                 want);
    cr_assert(strchr(r->text, '\n') == NULL, "one line: %s", r->text);
    cr_assert(strstr(r->text, has) != NULL, "'%s' in '%s'", has, r->text);
    done(r);
}

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    cr_assert_not_null(j, "bad JSON: %s", s);
    return j;
}

Test(mgr_admin, user_commands)
{
    Cleo__Introspect__AdminReply *r = run("user", "create", "alice", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    cr_assert(strstr(r->text, "access_key = ") != NULL);
    json_t *j = parse(r->json);
    const char *ak = json_string_value(json_object_get(j, "access_key"));
    cr_assert_eq(strlen(ak), MGR_ACCESS_KEY_LEN);
    Cleo__Manager__KeyInfo *k = NULL;
    cr_assert_eq(mgr_client_key_lookup_sync(T_rt, ak, &k), 0);
    cr_assert_str_eq(k->user, "alice");
    protobuf_c_message_free_unpacked(&k->base, NULL);
    json_decref(j);
    done(r);

    r = run("user", "list", NULL);
    cr_assert_eq(r->status, 0);
    cr_assert(strstr(r->text, "alice") && strstr(r->text, "admin"));
    j = parse(r->json);
    cr_assert_eq(json_array_size(json_object_get(j, "users")), 2);
    json_decref(j);
    done(r);

    expect_error(run("user", "create", "alice", NULL), CLEO_EEXIST,
                 "already exists");
    expect_error(run("user", "create", "a/b", NULL), CLEO_EINVAL,
                 "invalid user name");
    expect_error(run("user", "delete", "admin", NULL), CLEO_ESTATE, "admin");
    r = run("user", "delete", "alice", NULL);
    cr_assert_eq(r->status, 0);
    done(r);
    expect_error(run("user", "delete", "alice", NULL), CLEO_ENOTFOUND,
                 "no such user");
}

Test(mgr_admin, bucket_commands)
{
    Cleo__Introspect__AdminReply *r = run("user", "create", "alice", NULL);
    done(r);
    r = run("bucket", "create", "bkt1", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    cr_assert(strstr(r->text, "owner admin") != NULL, "%s", r->text);
    done(r);
    r = run("bucket", "create", "bkt2", "--owner", "alice", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    done(r);
    r = run("bucket", "create", "bkt3", "--owner=alice", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    done(r);

    r = run("bucket", "list", NULL);
    cr_assert_eq(r->status, 0);
    json_t *j = parse(r->json);
    cr_assert_eq(json_array_size(json_object_get(j, "buckets")), 3);
    json_decref(j);
    done(r);
    r = run("bucket", "list", "--owner", "alice", NULL);
    j = parse(r->json);
    json_t *b = json_object_get(j, "buckets");
    cr_assert_eq(json_array_size(b), 2);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_array_get(b, 0), "name")),
        "bkt2");
    json_decref(j);
    done(r);

    rt_buf_t *body;
    cr_assert_eq(rt_buf_new(5, &body), 0);
    memcpy(rt_buf_data(body), "hello", 5);
    cr_assert_eq(rt_buf_set_len(body, 5), 0);
    cr_assert_eq(sto_client_put_sync(T_rt, "bkt1", "k", body, NULL, NULL), 0);
    r = run("bucket", "du", "bkt1", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    j = parse(r->json);
    cr_assert_eq(json_integer_value(json_object_get(j, "objects")), 1);
    cr_assert_eq(json_integer_value(json_object_get(j, "bytes")), 5);
    json_decref(j);
    done(r);

    expect_error(run("bucket", "delete", "bkt1", NULL), CLEO_ESTATE,
                 "not empty");
    expect_error(run("bucket", "create", "bkt1", NULL), CLEO_EEXIST,
                 "already exists");
    expect_error(run("bucket", "create", "B_1", NULL), CLEO_EINVAL,
                 "invalid bucket name");
    expect_error(run("bucket", "create", "bkt4", "--owner", "nobody", NULL),
                 CLEO_ENOTFOUND, "no such user 'nobody'");
    expect_error(run("bucket", "du", "nope", NULL), CLEO_ENOTFOUND,
                 "no such bucket");
    expect_error(run("bucket", "delete", "nope", NULL), CLEO_ENOTFOUND,
                 "no such bucket");
    bool exists = true;
    cr_assert_eq(sto_client_bucket_exists_sync(T_rt, "bkt4", &exists), 0);
    cr_assert_not(exists);

    cr_assert_eq(sto_client_delete_sync(T_rt, "bkt1", "k"), 0);
    r = run("bucket", "delete", "bkt1", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    done(r);
    cr_assert_eq(sto_client_bucket_exists_sync(T_rt, "bkt1", &exists), 0);
    cr_assert_not(exists);
}

Test(mgr_admin, bucket_chown_and_acl)
{
    done(run("user", "create", "alice", NULL));
    done(run("bucket", "create", "bkt1", NULL));
    Cleo__Introspect__AdminReply *r = run("bucket", "acl", "bkt1", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    cr_assert_str_eq(r->json,
                     "{\"bucket\":\"bkt1\",\"owner\":\"admin\",\"acl\":"
                     "\"private\"}");
    done(r);
    r = run("bucket", "chown", "bkt1", "alice", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    done(r);
    r = run("bucket", "acl", "bkt1", "public-read", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    done(r);
    r = run("bucket", "list", NULL);
    json_t *j = parse(r->json);
    json_t *b = json_array_get(json_object_get(j, "buckets"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(b, "owner")), "alice");
    cr_assert_str_eq(json_string_value(json_object_get(b, "acl")),
                     "public-read");
    json_decref(j);
    done(r);
    expect_error(run("bucket", "chown", "bkt1", "nobody", NULL), CLEO_ENOTFOUND,
                 "no such user 'nobody'");
    expect_error(run("bucket", "chown", "nope", "alice", NULL), CLEO_ENOTFOUND,
                 "no such bucket 'nope'");
    expect_error(run("bucket", "acl", "nope", NULL), CLEO_ENOTFOUND,
                 "no such bucket 'nope'");
    expect_error(run("bucket", "acl", "nope", "private", NULL), CLEO_ENOTFOUND,
                 "no such bucket 'nope'");
}

Test(mgr_admin, user_import_and_role)
{
    Cleo__Introspect__AdminReply *r =
        run("user", "import", "carol", "CAROLKEY01", "carol-secret1", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    done(r);
    r = run("user", "role", "carol", "admin", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    done(r);
    r = run("user", "list", NULL);
    cr_assert(strstr(r->text, "carol                    admin") != NULL, "%s",
              r->text);
    json_t *j = parse(r->json);
    json_t *u = json_array_get(json_object_get(j, "users"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(u, "role")), "admin");
    json_decref(j);
    done(r);
    expect_error(
        run("user", "import", "dave", "CAROLKEY01", "dave-secret1", NULL),
        CLEO_EEXIST, "already in use");
    expect_error(run("user", "role", "nobody", "admin", NULL), CLEO_ENOTFOUND,
                 "no such user 'nobody'");
    expect_error(run("user", "role", "admin", "user", NULL), CLEO_ESTATE,
                 "built-in admin");
}

Test(mgr_admin, bad_command_lines_are_refused)
{
    const char *cases[][5] = {
        {"frob", NULL},
        {"user", NULL},
        {"user", "frob", NULL},
        {"user", "create", NULL},
        {"user", "create", "a", "b", NULL},
        {"user", "list", "x", NULL},
        {"user", "create", "x", "--owner", NULL},
        {"bucket", "create", "b", "--owner", NULL},
        {"bucket", "create", "b", "--owner", "bad name"},
        {"bucket", "du", NULL},
        {"bucket", "list", "--colour", NULL},
        {"user", "import", "a", "AKEY1", NULL},
        {"user", "import", "a", "ab", "secret-1"},
        {"user", "import", "a", "AKEY1", "short"},
        {"user", "import", "a b", "AKEY1", "secret-1"},
        {"user", "role", "a", "root"},
        {"user", "role", "a", NULL},
        {"bucket", "chown", "b", NULL},
        {"bucket", "chown", "bkt", "bad name"},
        {"bucket", "acl", "bkt", "everyone"},
        {"bucket", "acl", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *c = cases[i];
        Cleo__Introspect__AdminReply *r =
            run(c[0], c[1], c[2], c[3], c[4], NULL);
        cr_assert_eq(r->status, CLEO_EBADREQ, "case %zu: %s", i, r->text);
        cr_assert(strchr(r->text, '\n') == NULL);
        done(r);
    }
    /* an empty argv and a request without its record */
    Cleo__Introspect__AdminReply *r = run(NULL);
    cr_assert_eq(r->status, CLEO_EBADREQ);
    done(r);
    rt_msg_t *reply = NULL;
    cr_assert_eq(gen_server_call_sync(T_rt, rt_whereis(T_rt, MGR_ADMIN_NAME),
                                      rt_msg_new(RT_MSG_ADMIN), 5000, &reply),
                 0);
    Cleo__Introspect__AdminReply *ar = reply->payload;
    cr_assert_eq(ar->status, CLEO_EBADREQ);
    rt_msg_free(reply);
}

Test(mgr_admin, without_storage_bucket_commands_say_so)
{
    cr_assert_eq(sup_terminate_child_sync(T_rt, T_sup, "engine", RT_PID_NONE),
                 0);
    expect_error(run("bucket", "list", NULL), CLEO_ENOPROC,
                 "storage service not running");
    Cleo__Introspect__AdminReply *r = run("user", "list", NULL);
    cr_assert_eq(r->status, 0);
    done(r);
}

Test(mgr_admin, metrics_lists_the_counters_sorted_by_name)
{
    cr_assert_eq(metrics_start(T_rt, NULL, NULL), 0);
    Cleo__Introspect__AdminReply *r = run("metrics", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    cr_assert_str_eq(r->text, "");
    cr_assert_str_eq(r->json, "{}");
    done(r);
    metrics_inc(T_rt, "gw.cache.miss", 2);
    metrics_inc(T_rt, "gw.cache.hit", 5);
    metrics_inc(T_rt, "a.first", 1);
    uint64_t v = 0; /* the casts have landed once a later call answers */
    cr_assert_eq(metrics_get_sync(T_rt, "a.first", &v), 0);
    r = run("metrics", NULL);
    cr_assert_eq(r->status, 0, "%s", r->text);
    cr_assert_str_eq(r->text, "a.first 1\ngw.cache.hit 5\ngw.cache.miss 2\n");
    json_t *j = parse(r->json);
    cr_assert_eq(json_object_size(j), 3);
    cr_assert_eq(json_integer_value(json_object_get(j, "gw.cache.hit")), 5);
    cr_assert_eq(json_integer_value(json_object_get(j, "gw.cache.miss")), 2);
    json_decref(j);
    done(r);
    r = run("metrics", "extra", NULL);
    cr_assert_eq(r->status, CLEO_EBADREQ, "%s", r->text);
    done(r);
}

Test(mgr_admin, without_metrics_the_metrics_command_says_so)
{
    expect_error(run("metrics", NULL), CLEO_ENOPROC,
                 "metrics service not running");
}
