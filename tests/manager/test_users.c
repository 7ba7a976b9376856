/*
 * test_users.c - mgr_users (manager/users.c, store.c, tab.c, keys.c,
 * client.c): the admin made on first start and its credentials file;
 * create, list, get, lookup and delete through the blocking clients;
 * duplicates and bad names refused with nothing changed; the users
 * surviving a killed actor and a whole new runtime; the
 * CLEO_ACCESS_KEY/CLEO_SECRET_KEY override. Each test runs its own
 * runtime and supervisor over a fresh temporary directory (Criterion
 * forks one process per test).
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "manager/mgr.h"
#include "supervisors/sup.h"

static char T_dir[64];
static char T_db[96];
static char T_cred[96];
static rt_t *T_rt;
static rt_pid_t T_sup;
static mgr_users_opts_t T_opts;

static const sup_child_spec_t kids[] = {
    {"users", mgr_users_start, &T_opts, SUP_PERMANENT, 5000, SUP_WORKER}};
static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 10, 5000}, kids, 1};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static void start(void)
{
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    cr_assert_eq(sup_start(T_rt, NULL, "manager_sup", &spec, &T_sup), 0);
    cr_assert_neq(rt_whereis(T_rt, MGR_USERS_NAME), RT_PID_NONE);
    /* The first request waits for the load (and the credentials file). */
    Cleo__Manager__UserList *l = NULL;
    cr_assert_eq(mgr_client_user_list_sync(T_rt, &l), 0);
    protobuf_c_message_free_unpacked(&l->base, NULL);
}

static void stop(void)
{
    cr_assert_eq(rt_shutdown(T_rt), 0);
    rt_free(T_rt);
    T_rt = NULL;
}

static void setup(void)
{
    snprintf(T_dir, sizeof T_dir, "/tmp/cleo-mgr-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    snprintf(T_db, sizeof T_db, "%s/manager", T_dir);
    snprintf(T_cred, sizeof T_cred, "%s/credentials", T_dir);
    T_opts = (mgr_users_opts_t){.dir = T_db,
                                .credentials = T_cred,
                                .endpoint = "http://127.0.0.1:18080"};
    start();
}

static void teardown(void)
{
    if (T_rt != NULL)
        stop();
    nftw(T_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(mgr_users, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers ----------------------------------------------------------- */

/* The value of "name = value" in the credentials file ("" if absent). */
static void cred_value(const char *name, char *out, size_t len)
{
    FILE *f = fopen(T_cred, "r");
    cr_assert_not_null(f, "no %s", T_cred);
    char line[512], key[64], val[256];
    out[0] = '\0';
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "%63s = %255s", key, val) == 2 &&
            strcmp(key, name) == 0)
            snprintf(out, len, "%s", val);
    fclose(f);
}

static Cleo__Manager__UserList *list(void)
{
    Cleo__Manager__UserList *l = NULL;
    cr_assert_eq(mgr_client_user_list_sync(T_rt, &l), 0);
    return l;
}

static size_t nusers(void)
{
    Cleo__Manager__UserList *l = list();
    size_t n = l->n_users;
    protobuf_c_message_free_unpacked(&l->base, NULL);
    return n;
}

static bool all_in(const char *s, const char *set)
{
    return strspn(s, set) == strlen(s);
}

#define UPPER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define B64 UPPER_DIGITS "abcdefghijklmnopqrstuvwxyz+/"

/* Wait until a new mgr_users (not old) is registered. */
static rt_pid_t wait_restarted(rt_pid_t old)
{
    for (int i = 0; i < 500; i++) {
        rt_pid_t p = rt_whereis(T_rt, MGR_USERS_NAME);
        if (p != RT_PID_NONE && p != old)
            return p;
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    }
    cr_assert_fail("mgr_users was not restarted");
    return RT_PID_NONE;
}

/* ---- first start -------------------------------------------------------- */

Test(mgr_users, first_start_makes_the_admin_and_its_credentials_file)
{
    Cleo__Manager__UserList *l = list();
    cr_assert_eq(l->n_users, 1);
    Cleo__Manager__UserInfo *a = l->users[0];
    cr_assert_str_eq(a->user->name, MGR_ADMIN_USER);
    cr_assert(a->user->is_admin);
    cr_assert_eq(a->n_access_keys, 1);
    char ak[256], sk[256], ep[256];
    cred_value("access_key", ak, sizeof ak);
    cred_value("secret_key", sk, sizeof sk);
    cred_value("endpoint", ep, sizeof ep);
    cr_assert_str_eq(ak, a->access_keys[0]);
    cr_assert_str_eq(ep, "http://127.0.0.1:18080");
    cr_assert_eq(strlen(ak), MGR_ACCESS_KEY_LEN);
    cr_assert(all_in(ak, UPPER_DIGITS));
    cr_assert_eq(strlen(sk), MGR_SECRET_KEY_LEN);
    cr_assert(all_in(sk, B64));
    struct stat st;
    cr_assert_eq(stat(T_cred, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);

    Cleo__Manager__KeyInfo *k = NULL;
    cr_assert_eq(mgr_client_key_lookup_sync(T_rt, ak, &k), 0);
    cr_assert_str_eq(k->secret_key, sk);
    cr_assert_str_eq(k->user, MGR_ADMIN_USER);
    cr_assert(k->is_admin);
    protobuf_c_message_free_unpacked(&k->base, NULL);
    protobuf_c_message_free_unpacked(&l->base, NULL);
}

/* ---- create, list, lookup, delete --------------------------------------- */

Test(mgr_users, create_list_lookup_get_delete)
{
    Cleo__Manager__AccessKey *p = NULL;
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "alice", &p), 0);
    cr_assert_str_eq(p->user, "alice");
    cr_assert_eq(strlen(p->access_key), MGR_ACCESS_KEY_LEN);
    cr_assert(all_in(p->access_key, UPPER_DIGITS));
    cr_assert_eq(strlen(p->secret_key), MGR_SECRET_KEY_LEN);
    cr_assert(all_in(p->secret_key, B64));
    cr_assert_gt(p->created_ms, 0);
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "bob.b-1_x", NULL), 0);

    Cleo__Manager__UserList *l = list();
    cr_assert_eq(l->n_users, 3);
    cr_assert_str_eq(l->users[0]->user->name, "admin"); /* sorted */
    cr_assert_str_eq(l->users[1]->user->name, "alice");
    cr_assert_str_eq(l->users[2]->user->name, "bob.b-1_x");
    cr_assert_not(l->users[1]->user->is_admin);
    cr_assert_eq(l->users[1]->n_access_keys, 1);
    cr_assert_str_eq(l->users[1]->access_keys[0], p->access_key);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    Cleo__Manager__KeyInfo *k = NULL;
    cr_assert_eq(mgr_client_key_lookup_sync(T_rt, p->access_key, &k), 0);
    cr_assert_str_eq(k->secret_key, p->secret_key);
    cr_assert_str_eq(k->user, "alice");
    cr_assert_not(k->is_admin);
    protobuf_c_message_free_unpacked(&k->base, NULL);

    Cleo__Manager__UserInfo *u = NULL;
    cr_assert_eq(mgr_client_user_get_sync(T_rt, "alice", &u), 0);
    cr_assert_str_eq(u->user->name, "alice");
    protobuf_c_message_free_unpacked(&u->base, NULL);

    cr_assert_eq(mgr_client_user_delete_sync(T_rt, "alice"), 0);
    cr_assert_eq(mgr_client_key_lookup_sync(T_rt, p->access_key, &k),
                 CLEO_ENOTFOUND);
    cr_assert_eq(mgr_client_user_get_sync(T_rt, "alice", &u), CLEO_ENOTFOUND);
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, "alice"), CLEO_ENOTFOUND);
    cr_assert_eq(nusers(), 2);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

Test(mgr_users, many_users_get_distinct_keys)
{
    char name[32];
    Cleo__Manager__AccessKey *p[40];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "u%02d", i);
        cr_assert_eq(mgr_client_user_create_sync(T_rt, name, &p[i]), 0);
    }
    for (int i = 0; i < 40; i++)
        for (int j = i + 1; j < 40; j++)
            cr_assert_str_neq(p[i]->access_key, p[j]->access_key);
    cr_assert_eq(nusers(), 41);
    for (int i = 0; i < 40; i++)
        protobuf_c_message_free_unpacked(&p[i]->base, NULL);
}

/* ---- refusals ------------------------------------------------------------ */

Test(mgr_users, duplicate_user_is_refused_and_keeps_its_key)
{
    Cleo__Manager__AccessKey *p = NULL;
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "alice", &p), 0);
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "alice", NULL), CLEO_EEXIST);
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "admin", NULL), CLEO_EEXIST);
    Cleo__Manager__UserInfo *u = NULL;
    cr_assert_eq(mgr_client_user_get_sync(T_rt, "alice", &u), 0);
    cr_assert_eq(u->n_access_keys, 1);
    cr_assert_str_eq(u->access_keys[0], p->access_key);
    cr_assert_eq(nusers(), 2);
    protobuf_c_message_free_unpacked(&u->base, NULL);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

Test(mgr_users, bad_names_are_refused_and_change_nothing)
{
    char longest[MGR_USER_MAX + 1], too_long[MGR_USER_MAX + 2];
    memset(longest, 'a', MGR_USER_MAX);
    longest[MGR_USER_MAX] = '\0';
    memset(too_long, 'a', MGR_USER_MAX + 1);
    too_long[MGR_USER_MAX + 1] = '\0';
    const char *bad[] = {"",    too_long,   "a b", "../x", "-x", ".x",
                         "a/b", "\xc3\xa9", "x\n", "a:b",  "_x", "a\tb"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(mgr_client_user_create_sync(T_rt, bad[i], NULL),
                     CLEO_EINVAL, "'%s'", bad[i]);
        cr_assert_eq(mgr_client_user_delete_sync(T_rt, bad[i]), CLEO_EINVAL);
        cr_assert_not(mgr_user_name_is_valid(bad[i]));
    }
    cr_assert_eq(nusers(), 1);
    cr_assert_eq(mgr_client_user_create_sync(T_rt, longest, NULL), 0);
    cr_assert_eq(nusers(), 2);
}

Test(mgr_users, the_admin_cannot_be_deleted)
{
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, MGR_ADMIN_USER),
                 CLEO_ESTATE);
    cr_assert_eq(nusers(), 1);
    Cleo__Manager__KeyInfo *k = NULL;
    cr_assert_eq(mgr_client_key_lookup_sync(T_rt, "NOSUCHKEY", &k),
                 CLEO_ENOTFOUND);
    cr_assert_eq(mgr_client_key_lookup_sync(T_rt, "", &k), CLEO_ENOTFOUND);
}

Test(mgr_users, bad_requests_are_answered_not_fatal)
{
    rt_pid_t pid = rt_whereis(T_rt, MGR_USERS_NAME);
    rt_msg_t *reply = NULL;
    /* no payload where a UserReq is needed */
    cr_assert_eq(gen_server_call_sync(
                     T_rt, pid, rt_msg_new(MGR_MSG_USER_CREATE), 5000, &reply),
                 0);
    cr_assert_eq(reply->reason, CLEO_EBADREQ);
    rt_msg_free(reply);
    /* a KeyReq where a UserReq is needed */
    rt_msg_t *m = mgr_msg_new(MGR_MSG_KEY_LOOKUP, "alice");
    m->type = MGR_MSG_USER_CREATE;
    cr_assert_eq(gen_server_call_sync(T_rt, pid, m, 5000, &reply), 0);
    cr_assert_eq(reply->reason, CLEO_EBADREQ);
    rt_msg_free(reply);
    /* an unknown type */
    cr_assert_eq(gen_server_call_sync(T_rt, pid,
                                      rt_msg_new(MGR_MSG_USER_CREATE + 0x76),
                                      5000, &reply),
                 0);
    cr_assert_eq(reply->reason, CLEO_EBADREQ);
    rt_msg_free(reply);
    cr_assert_eq(rt_whereis(T_rt, MGR_USERS_NAME), pid);
    cr_assert_eq(nusers(), 1);
}

/* ---- user import, user role ----------------------------------------------
 */

/* USER_IMPORT (pair of user) or, with ak NULL, USER_SET_ROLE (user's
 * is_admin): the status. */
static int change(const char *user, const char *ak, const char *sk,
                  bool is_admin)
{
    rt_msg_t *m, *r = NULL;
    if (ak != NULL) {
        Cleo__Manager__AccessKey *k = calloc(1, sizeof *k);
        cleo__manager__access_key__init(k);
        k->user = strdup(user);
        k->access_key = strdup(ak);
        k->secret_key = strdup(sk);
        m = rt_msg_new(CLEO__MANAGER__MSG_ID__USER_IMPORT);
        rt_msg_set_pb(m, k);
    } else {
        Cleo__Manager__User *u = calloc(1, sizeof *u);
        cleo__manager__user__init(u);
        u->name = strdup(user);
        u->is_admin = is_admin;
        m = rt_msg_new(CLEO__MANAGER__MSG_ID__USER_SET_ROLE);
        rt_msg_set_pb(m, u);
    }
    rt_pid_t pid = rt_whereis(T_rt, MGR_USERS_NAME);
    cr_assert_eq(gen_server_call_sync(T_rt, pid, m, 5000, &r), 0);
    int rc = r->reason;
    rt_msg_free(r);
    return rc;
}

/* KEY_LOOKUP: 0 with the owner and its role, or the status. */
static int owner_of(const char *ak, char *user, bool *admin)
{
    Cleo__Manager__KeyInfo *k = NULL;
    int rc = mgr_client_key_lookup_sync(T_rt, ak, &k);
    if (rc == 0) {
        strcpy(user, k->user);
        *admin = k->is_admin;
        protobuf_c_message_free_unpacked(&k->base, NULL);
    }
    return rc;
}

Test(mgr_users, import_makes_the_user_or_adds_the_pair_and_survives_a_reopen)
{
    char u[128];
    bool admin = true;
    cr_assert_eq(change("carol", "CAROLKEY01", "carol-secret1", false), 0);
    cr_assert_eq(owner_of("CAROLKEY01", u, &admin), 0);
    cr_assert_str_eq(u, "carol");
    cr_assert_not(admin, "an imported user is a plain one");
    cr_assert_eq(change("carol", "CAROLKEY02", "carol-secret2", false), 0);
    cr_assert_eq(nusers(), 2);
    cr_assert_eq(change("dave", "CAROLKEY01", "dave-secret1", false),
                 CLEO_EEXIST, "a pair in use");
    cr_assert_eq(change("dave", "ab", "dave-secret1", false), CLEO_EINVAL);
    cr_assert_eq(change("dave", "DAVEKEY01", "short", false), CLEO_EINVAL);
    cr_assert_eq(change("da/ve", "DAVEKEY01", "dave-secret1", false),
                 CLEO_EINVAL);
    cr_assert_eq(nusers(), 2, "the refusals made no user");
    stop();
    start();
    cr_assert_eq(owner_of("CAROLKEY02", u, &admin), 0);
    cr_assert_str_eq(u, "carol");
    Cleo__Manager__UserInfo *i = NULL;
    cr_assert_eq(mgr_client_user_get_sync(T_rt, "carol", &i), 0);
    cr_assert_eq(i->n_access_keys, 2);
    protobuf_c_message_free_unpacked(&i->base, NULL);
}

Test(mgr_users, role_sets_is_admin_except_the_builtin_admins)
{
    char u[128];
    bool admin = false;
    cr_assert_eq(change("carol", "CAROLKEY01", "carol-secret1", false), 0);
    cr_assert_eq(change("carol", NULL, NULL, true), 0);
    cr_assert_eq(owner_of("CAROLKEY01", u, &admin), 0);
    cr_assert(admin);
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, "carol"), CLEO_ESTATE);
    cr_assert_eq(change("carol", NULL, NULL, true), 0, "no change: done");
    cr_assert_eq(change("nobody", NULL, NULL, true), CLEO_ENOTFOUND);
    cr_assert_eq(change(MGR_ADMIN_USER, NULL, NULL, false), CLEO_ESTATE);
    stop();
    start();
    cr_assert_eq(owner_of("CAROLKEY01", u, &admin), 0);
    cr_assert(admin, "the role survives a reopen");
    cr_assert_eq(change("carol", NULL, NULL, false), 0);
    cr_assert_eq(owner_of("CAROLKEY01", u, &admin), 0);
    cr_assert_not(admin);
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, "carol"), 0);
}

/* ---- persistence ----------------------------------------------------------
 */

Test(mgr_users, users_survive_a_killed_actor)
{
    Cleo__Manager__AccessKey *p = NULL;
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "alice", &p), 0);
    rt_pid_t old = rt_whereis(T_rt, MGR_USERS_NAME);
    cr_assert_eq(rt_exit(T_rt, old, RT_REASON_KILL), 0);
    wait_restarted(old);
    Cleo__Manager__KeyInfo *k = NULL;
    cr_assert_eq(mgr_client_key_lookup_sync(T_rt, p->access_key, &k), 0);
    cr_assert_str_eq(k->secret_key, p->secret_key);
    cr_assert_eq(nusers(), 2);
    /* and it takes changes again */
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, "alice"), 0);
    cr_assert_eq(nusers(), 1);
    protobuf_c_message_free_unpacked(&k->base, NULL);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

Test(mgr_users, users_survive_a_reopen_and_the_admin_key_stays)
{
    char ak[256], ak2[256];
    cred_value("access_key", ak, sizeof ak);
    Cleo__Manager__AccessKey *p = NULL;
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "alice", &p), 0);
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "bob", NULL), 0);
    cr_assert_eq(mgr_client_user_delete_sync(T_rt, "bob"), 0);
    stop();
    start();
    cred_value("access_key", ak2, sizeof ak2);
    cr_assert_str_eq(ak, ak2);
    Cleo__Manager__UserList *l = list();
    cr_assert_eq(l->n_users, 2);
    cr_assert_str_eq(l->users[1]->user->name, "alice");
    cr_assert_str_eq(l->users[0]->access_keys[0], ak);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    Cleo__Manager__KeyInfo *k = NULL;
    cr_assert_eq(mgr_client_key_lookup_sync(T_rt, p->access_key, &k), 0);
    cr_assert_str_eq(k->secret_key, p->secret_key);
    protobuf_c_message_free_unpacked(&k->base, NULL);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

/* ---- the environment's key pair ------------------------------------------ */

Test(mgr_users, env_pair_is_the_admin_key_on_first_start_and_after)
{
    stop();
    nftw(T_db, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    unlink(T_cred);
    T_opts.admin_access_key = "SCRIPTKEY1";
    T_opts.admin_secret_key = "script-secret-1";
    start();
    char ak[256], sk[256];
    cred_value("access_key", ak, sizeof ak);
    cred_value("secret_key", sk, sizeof sk);
    cr_assert_str_eq(ak, "SCRIPTKEY1");
    cr_assert_str_eq(sk, "script-secret-1");
    Cleo__Manager__KeyInfo *k = NULL;
    cr_assert_eq(mgr_client_key_lookup_sync(T_rt, "SCRIPTKEY1", &k), 0);
    cr_assert_str_eq(k->secret_key, "script-secret-1");
    cr_assert(k->is_admin);
    protobuf_c_message_free_unpacked(&k->base, NULL);
    cr_assert_eq(mgr_client_user_create_sync(T_rt, "alice", NULL), 0);

    /* A later start with another pair: it replaces the admin's key. */
    stop();
    T_opts.admin_access_key = "SCRIPTKEY2";
    T_opts.admin_secret_key = "script-secret-2";
    start();
    cr_assert_eq(mgr_client_key_lookup_sync(T_rt, "SCRIPTKEY1", &k),
                 CLEO_ENOTFOUND);
    cr_assert_eq(mgr_client_key_lookup_sync(T_rt, "SCRIPTKEY2", &k), 0);
    cr_assert_str_eq(k->secret_key, "script-secret-2");
    cr_assert_str_eq(k->user, MGR_ADMIN_USER);
    protobuf_c_message_free_unpacked(&k->base, NULL);
    cred_value("access_key", ak, sizeof ak);
    cr_assert_str_eq(ak, "SCRIPTKEY2");
    cr_assert_eq(nusers(), 2); /* alice untouched */

    /* Without the pair, the last one stays. */
    stop();
    T_opts.admin_access_key = T_opts.admin_secret_key = NULL;
    start();
    cr_assert_eq(mgr_client_key_lookup_sync(T_rt, "SCRIPTKEY2", &k), 0);
    protobuf_c_message_free_unpacked(&k->base, NULL);
}

Test(mgr_users, env_pair_is_read_and_checked)
{
    const char *ak = NULL, *sk = NULL;
    char err[256];
    unsetenv(MGR_ENV_ACCESS_KEY);
    unsetenv(MGR_ENV_SECRET_KEY);
    cr_assert_eq(mgr_env_keys(&ak, &sk, err, sizeof err), 0);
    setenv(MGR_ENV_ACCESS_KEY, "AKIAEXAMPLE", 1);
    cr_assert_eq(mgr_env_keys(&ak, &sk, err, sizeof err), CLEO_EINVAL);
    cr_assert(strstr(err, "together") != NULL);
    setenv(MGR_ENV_SECRET_KEY, "short", 1);
    cr_assert_eq(mgr_env_keys(&ak, &sk, err, sizeof err), CLEO_EINVAL);
    setenv(MGR_ENV_SECRET_KEY, "wJalrXUtnFEMI/K7MDENG", 1);
    setenv(MGR_ENV_ACCESS_KEY, "AK IA", 1);
    cr_assert_eq(mgr_env_keys(&ak, &sk, err, sizeof err), CLEO_EINVAL);
    setenv(MGR_ENV_ACCESS_KEY, "AKIAEXAMPLE", 1);
    cr_assert_eq(mgr_env_keys(&ak, &sk, err, sizeof err), 1);
    cr_assert_str_eq(ak, "AKIAEXAMPLE");
    cr_assert_str_eq(sk, "wJalrXUtnFEMI/K7MDENG");
}

Test(mgr_users, a_half_pair_in_the_options_is_refused)
{
    static mgr_users_opts_t half;
    half = T_opts;
    half.admin_access_key = "ONLYHALF";
    static const sup_child_spec_t k = {
        "half", mgr_users_start, &half, SUP_TEMPORARY, 5000, SUP_WORKER};
    rt_pid_t pid;
    cr_assert_eq(sup_start_child_sync(T_rt, T_sup, &k, NULL, &pid),
                 CLEO_EINVAL);
}

/* ---- concurrency ------------------------------------------------------------
 */

typedef struct {
    int id;
    int created, dup_ok, dup_exists;
} worker_t;

/* Create ten users of its own and race the others for "shared". */
static void *worker(void *p)
{
    worker_t *w = p;
    char name[32];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "w%d-%d", w->id, i);
        if (mgr_client_user_create_sync(T_rt, name, NULL) == 0)
            w->created++;
        Cleo__Manager__UserList *l = NULL;
        if (mgr_client_user_list_sync(T_rt, &l) == 0)
            protobuf_c_message_free_unpacked(&l->base, NULL);
    }
    int rc = mgr_client_user_create_sync(T_rt, "shared", NULL);
    w->dup_ok = rc == 0;
    w->dup_exists = rc == CLEO_EEXIST;
    return NULL;
}

Test(mgr_users, concurrent_changes_are_applied_one_at_a_time)
{
    pthread_t t[4];
    worker_t w[4] = {{0}};
    for (int i = 0; i < 4; i++) {
        w[i].id = i;
        cr_assert_eq(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    }
    int ok = 0, exists = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].created, 10);
        ok += w[i].dup_ok;
        exists += w[i].dup_exists;
    }
    cr_assert_eq(ok, 1, "exactly one creates the shared name");
    cr_assert_eq(exists, 3);
    cr_assert_eq(nusers(), 1 + 40 + 1);
}
