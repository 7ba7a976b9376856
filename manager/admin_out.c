/*
 * admin_out.c - the admin commands' grammar and output: parse a command
 * line, and turn results and errors into an AdminReply's text (for
 * people, columns and one-line errors) and JSON (for scripts, through
 * jansson).
 */
#include "manager/admin.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "manager/fsm.h"

typedef struct {
    const char *noun, *verb; /* verb NULL: the noun alone is the command */
    mgr__cmd_kind_t kind;
    int min, max; /* positional arguments after the verb (NAME ...) */
    bool owner;   /* takes --owner USER */
    const char *usage;
} grammar_t;

#define ACLS "private|public-read|public-read-write|authenticated-read"

static const grammar_t grammar[] = {
    {"user", "create", MGR__CMD_USER_CREATE, 1, 1, false, "user create NAME"},
    {"user", "list", MGR__CMD_USER_LIST, 0, 0, false, "user list"},
    {"user", "delete", MGR__CMD_USER_DELETE, 1, 1, false, "user delete NAME"},
    {"user", "import", MGR__CMD_USER_IMPORT, 3, 3, false,
     "user import NAME ACCESS_KEY SECRET_KEY"},
    {"user", "role", MGR__CMD_USER_ROLE, 2, 2, false,
     "user role NAME admin|user"},
    {"bucket", "create", MGR__CMD_BUCKET_CREATE, 1, 1, true,
     "bucket create NAME [--owner USER]"},
    {"bucket", "delete", MGR__CMD_BUCKET_DELETE, 1, 1, false,
     "bucket delete NAME"},
    {"bucket", "list", MGR__CMD_BUCKET_LIST, 0, 0, true,
     "bucket list [--owner USER]"},
    {"bucket", "du", MGR__CMD_BUCKET_DU, 1, 1, false, "bucket du NAME"},
    {"bucket", "chown", MGR__CMD_BUCKET_CHOWN, 2, 2, false,
     "bucket chown NAME USER"},
    {"bucket", "acl", MGR__CMD_BUCKET_ACL, 1, 2, false,
     "bucket acl NAME [" ACLS "]"},
    {"metrics", NULL, MGR__CMD_METRICS, 0, 0, false, "metrics"},
};
#define NGRAMMAR (sizeof grammar / sizeof grammar[0])

const char *mgr__cmd_usage(void)
{
    return "user create NAME | user list | user delete NAME | "
           "user import NAME ACCESS_KEY SECRET_KEY | "
           "user role NAME admin|user | "
           "bucket create NAME [--owner USER] | bucket delete NAME | "
           "bucket list [--owner USER] | bucket du NAME | "
           "bucket chown NAME USER | bucket acl NAME [ACL] | metrics";
}

bool mgr__cmd_is_user(mgr__cmd_kind_t kind)
{
    return kind == MGR__CMD_USER_CREATE || kind == MGR__CMD_USER_LIST ||
           kind == MGR__CMD_USER_DELETE || kind == MGR__CMD_USER_IMPORT ||
           kind == MGR__CMD_USER_ROLE;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return CLEO_EBADREQ;
}

/* The words the positional arguments must be: names, keys, a role, an
 * ACL. The secret is never echoed. */
static int check_words(const mgr__cmd_t *c, char *err, size_t errlen)
{
    if (c->owner != NULL && !mgr_user_name_is_valid(c->owner))
        return fail(err, errlen, "--owner: invalid user name '%s'", c->owner);
    switch (c->kind) {
    case MGR__CMD_USER_IMPORT:
        if (!mgr_user_name_is_valid(c->name))
            return fail(err, errlen, "invalid user name '%s'", c->name);
        if (!mgr_access_key_is_valid(c->value))
            return fail(err, errlen,
                        "invalid access key '%.*s' (3-%d letters or digits)",
                        MGR_KEY_MAX, c->value, MGR_KEY_MAX);
        if (!mgr_secret_key_is_valid(c->secret))
            return fail(err, errlen,
                        "invalid secret key (8-%d printable characters, no "
                        "spaces)",
                        MGR_KEY_MAX);
        return 0;
    case MGR__CMD_USER_ROLE:
        if (strcmp(c->value, "admin") != 0 && strcmp(c->value, "user") != 0)
            return fail(err, errlen,
                        "user role: '%s' is not a role (admin or user)",
                        c->value);
        return 0;
    case MGR__CMD_BUCKET_CHOWN:
        if (!mgr_user_name_is_valid(c->value))
            return fail(err, errlen, "invalid user name '%s'", c->value);
        return 0;
    case MGR__CMD_BUCKET_ACL:
        if (c->value != NULL && !mgr__fsm_acl_is_valid(c->value))
            return fail(err, errlen,
                        "bucket acl: '%s' is not a canned ACL (" ACLS ")",
                        c->value);
        return 0;
    default:
        return 0;
    }
}

/* The arguments after noun and verb. */
static int parse_args(const grammar_t *g, int argc, char *const *argv,
                      mgr__cmd_t *out, char *err, size_t errlen)
{
    if (g->verb == NULL && argc > 1)
        return fail(err, errlen, "%s: unexpected argument '%s' (usage: %s)",
                    g->noun, argv[1], g->usage);
    const char *pos[3] = {NULL, NULL, NULL};
    int n = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (g->owner && strncmp(a, "--owner=", 8) == 0) {
            out->owner = a + 8;
        } else if (g->owner && strcmp(a, "--owner") == 0) {
            if (i + 1 >= argc)
                return fail(err, errlen, "--owner needs a user (usage: %s)",
                            g->usage);
            out->owner = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            return fail(err, errlen, "%s %s: unknown option '%s' (usage: %s)",
                        g->noun, g->verb, a, g->usage);
        } else if (n < g->max) {
            pos[n++] = a;
        } else {
            return fail(err, errlen,
                        "%s %s: unexpected argument '%s' (usage: %s)", g->noun,
                        g->verb, a, g->usage);
        }
    }
    if (n < g->min)
        return fail(err, errlen, "%s %s: missing %s (usage: %s)", g->noun,
                    g->verb, n == 0 ? "NAME" : "arguments", g->usage);
    out->name = pos[0];
    out->value = pos[1];
    out->secret = pos[2];
    return check_words(out, err, errlen);
}

int mgr__cmd_parse(int argc, char *const *argv, mgr__cmd_t *out, char *err,
                   size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (argc < 1)
        return fail(err, errlen, "no command (%s)", mgr__cmd_usage());
    bool noun = false;
    for (size_t i = 0; i < NGRAMMAR; i++) {
        const grammar_t *g = &grammar[i];
        if (strcmp(argv[0], g->noun) != 0)
            continue;
        noun = true;
        if (g->verb != NULL && (argc < 2 || strcmp(argv[1], g->verb) != 0))
            continue;
        out->kind = g->kind;
        return parse_args(g, argc, argv, out, err, errlen);
    }
    if (noun && argc < 2)
        return fail(err, errlen, "%s: missing subcommand (%s)", argv[0],
                    mgr__cmd_usage());
    if (noun)
        return fail(err, errlen, "%s: unknown subcommand '%s' (%s)", argv[0],
                    argv[1], mgr__cmd_usage());
    return fail(err, errlen, "unknown command '%s' (%s)", argv[0],
                mgr__cmd_usage());
}

/* ---- replies ------------------------------------------------------------ */

char *mgr__xstrdup(const char *s)
{
    s = s != NULL ? s : "";
    size_t n = strlen(s) + 1;
    return memcpy(cleo_xmalloc(n), s, n); /* bounded (STYLE rule 26) */
}

Cleo__Introspect__AdminReply *mgr__reply_new(int rc, char *text, char *json)
{
    Cleo__Introspect__AdminReply *r = cleo_xcalloc(1, sizeof *r);
    cleo__introspect__admin_reply__init(r);
    r->status = rc;
    r->text = text != NULL ? text : mgr__xstrdup("");
    r->json = json != NULL ? json : mgr__xstrdup("");
    return r;
}

/* Out of memory while building a reply sized by the data (every user,
 * every bucket): the command fails with CLEO_ENOMEM; the node goes on. */
static Cleo__Introspect__AdminReply *no_memory(void)
{
    return mgr__reply_new(CLEO_ENOMEM, NULL, NULL);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        s = NULL; /* out of memory: mgr__reply_new() makes it "" */
    va_end(ap);
    return s;
}

/* Serialise and release j. */
static char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT); /* NULL for a NULL j */
    json_decref(j);
    if (s == NULL)
        return NULL;           /* out of memory: mgr__reply_new() makes it "" */
    char *p = mgr__xstrdup(s); /* jansson's allocator need not be malloc */
    free(s);
    return p;
}

/* The verb of a user change, for "cannot <verb> user 'x'". */
static const char *user_verb(mgr__cmd_kind_t kind)
{
    switch (kind) {
    case MGR__CMD_USER_CREATE:
        return "create";
    case MGR__CMD_USER_IMPORT:
        return "import a key for";
    case MGR__CMD_USER_ROLE:
        return "set the role of";
    default:
        return "delete";
    }
}

/* What a user change refused by a cluster's managers or not decided
 * there means; NULL for the statuses every node reports alike. */
static char *cluster_line(const mgr__cmd_t *c, int rc, const char *detail)
{
    const char *n = c->name != NULL ? c->name : "";
    const char *verb = user_verb(c->kind);
    if (rc == CLEO_ENOCONNECTION)
        return fmt("cannot %s user '%s': no manager leader: the cluster "
                   "cannot change now",
                   verb, n);
    if (rc == CLEO_ETIMEDOUT)
        return fmt("%s user '%s': the managers did not answer in time; the "
                   "change may or may not be applied",
                   verb, n);
    if (rc == CLEO_ESTATE && detail != NULL && detail[0] != '\0')
        return fmt("cannot %s user '%s': %s", verb, n, detail);
    return NULL;
}

/* The lines of the commands that name a second thing (a key, a role, a
 * new owner, an ACL); NULL for the common ones. */
static char *change_line(const mgr__cmd_t *c, int rc, const char *detail)
{
    const char *n = c->name != NULL ? c->name : "";
    bool why = detail != NULL && detail[0] != '\0';
    switch (c->kind) {
    case MGR__CMD_USER_IMPORT:
        if (rc == CLEO_EEXIST)
            return fmt("access key '%s' is already in use", c->value);
        return NULL;
    case MGR__CMD_USER_ROLE:
        if (rc == CLEO_ESTATE)
            return fmt("user '%s' is the built-in admin and stays an admin", n);
        return NULL;
    case MGR__CMD_BUCKET_CHOWN:
    case MGR__CMD_BUCKET_ACL:
        /* a cluster's managers say which of bucket and user is gone */
        if (rc == CLEO_ENOTFOUND && why)
            return fmt("cannot change bucket '%s': %s", n, detail);
        if (rc == CLEO_ENOCONNECTION && !why)
            return fmt("cannot change bucket '%s': no manager leader: the "
                       "cluster cannot change now",
                       n);
        return NULL;
    default:
        return NULL;
    }
}

/* What a failed status means for the command. */
static char *error_line(const mgr__cmd_t *c, int rc, const char *detail)
{
    const char *n = c->name != NULL ? c->name : "";
    bool user = mgr__cmd_is_user(c->kind);
    char *line = user && c->kind != MGR__CMD_USER_LIST
                     ? cluster_line(c, rc, detail)
                     : NULL;
    if (line == NULL)
        line = change_line(c, rc, detail);
    if (line != NULL)
        return line;
    if (c->kind == MGR__CMD_BUCKET_CREATE && rc == CLEO_ENOTFOUND)
        return fmt("no such user '%s' (the bucket's owner)",
                   c->owner != NULL ? c->owner : "");
    if (rc == CLEO_ENOCONNECTION && detail != NULL && detail[0] != '\0')
        return fmt("%s", detail);
    if (c->kind == MGR__CMD_CLUSTER && rc == CLEO_ENOPROC)
        return fmt("not in a cluster (cluster.managers is not set)");
    if (c->kind == MGR__CMD_CLUSTER)
        return fmt("%s", cleo_strerror(rc));
    if (rc == CLEO_EINVAL && user)
        return fmt("invalid user name '%s' (1-%d of A-Z a-z 0-9 . _ -, "
                   "starting with a letter or digit)",
                   n, MGR_USER_MAX);
    if (rc == CLEO_EINVAL)
        return fmt("invalid bucket name '%s' (3-63 of a-z 0-9 . -, "
                   "starting and ending with a letter or digit)",
                   n);
    if (rc == CLEO_EEXIST)
        return fmt("%s '%s' already exists", user ? "user" : "bucket", n);
    if (rc == CLEO_ENOTFOUND && user)
        return fmt("no such user '%s'", n);
    if (rc == CLEO_ENOTFOUND)
        return fmt("no such bucket '%s'", n);
    if (rc == CLEO_ESTATE && user)
        return fmt("user '%s' is an admin and cannot be deleted", n);
    if (rc == CLEO_ESTATE)
        return fmt("bucket '%s' is not empty", n);
    if (rc == CLEO_ENOPROC && c->kind == MGR__CMD_METRICS)
        return fmt("metrics service not running");
    if (rc == CLEO_ENOPROC)
        return fmt("%s service not running", user ? "user" : "storage");
    return fmt("%s", cleo_strerror(rc));
}

Cleo__Introspect__AdminReply *mgr__reply_error(const mgr__cmd_t *c, int rc)
{
    return mgr__reply_refused(c, rc, NULL);
}

Cleo__Introspect__AdminReply *mgr__reply_no_user(const char *name)
{
    mgr__cmd_t c = {.kind = MGR__CMD_USER_DELETE, .name = name};
    return mgr__reply_error(&c, CLEO_ENOTFOUND);
}

Cleo__Introspect__AdminReply *mgr__reply_refused(const mgr__cmd_t *c, int rc,
                                                 const char *detail)
{
    char *line = error_line(c, rc, detail);
    json_t *j =
        json_pack("{s:s, s:s}", "error", line, "code", cleo_err_name(rc));
    return mgr__reply_new(rc, line, dump(j));
}

/* "2026-11-25T16:50:44Z" into buf. */
static const char *iso_time(uint64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

Cleo__Introspect__AdminReply *
mgr__reply_user_created(const Cleo__Manager__AccessKey *k)
{
    char *text = fmt("user '%s' created\naccess_key = %s\nsecret_key = %s\n",
                     k->user, k->access_key, k->secret_key);
    json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "user", k->user, "access_key",
                          k->access_key, "secret_key", k->secret_key,
                          "created_ms", (json_int_t)k->created_ms);
    return mgr__reply_new(0, text, dump(j));
}

/* The users as a table (built with open_memstream) and as JSON. */
Cleo__Introspect__AdminReply *
mgr__reply_user_list(const Cleo__Manager__UserList *l)
{
    char *text = NULL, when[32];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return no_memory();
    fprintf(f, "%-24s %-5s %-20s %s\n", "NAME", "ROLE", "CREATED",
            "ACCESS KEYS");
    json_t *arr = json_array();
    for (size_t i = 0; i < l->n_users; i++) {
        const Cleo__Manager__UserInfo *u = l->users[i];
        const char *role = u->user->is_admin ? "admin" : "user";
        fprintf(f, "%-24s %-5s %-20s", u->user->name, role,
                iso_time(u->user->created_ms, when, sizeof when));
        json_t *keys = json_array();
        for (size_t k = 0; k < u->n_access_keys; k++) {
            fprintf(f, "%s%s", k ? ", " : " ", u->access_keys[k]);
            json_array_append_new(keys, json_string(u->access_keys[k]));
        }
        fputc('\n', f);
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:b, s:I, s:o}", "name", u->user->name,
                           "role", role, "is_admin", (int)u->user->is_admin,
                           "created_ms", (json_int_t)u->user->created_ms,
                           "access_keys", keys));
    }
    fclose(f);
    return mgr__reply_new(0, text, dump(json_pack("{s:o}", "users", arr)));
}

/* The replies of the changes that name a second thing. */
static Cleo__Introspect__AdminReply *change_done(const mgr__cmd_t *c)
{
    const char *n = c->name, *v = c->value;
    switch (c->kind) {
    case MGR__CMD_USER_IMPORT:
        return mgr__reply_new(
            0, fmt("access key '%s' imported for user '%s'\n", v, n),
            dump(json_pack("{s:s, s:s, s:b}", "user", n, "access_key", v,
                           "imported", 1)));
    case MGR__CMD_USER_ROLE:
        return mgr__reply_new(
            0, fmt("user '%s' role %s\n", n, v),
            dump(json_pack("{s:s, s:s, s:b}", "user", n, "role", v, "is_admin",
                           strcmp(v, "admin") == 0)));
    case MGR__CMD_BUCKET_CHOWN:
        return mgr__reply_new(
            0, fmt("bucket '%s' owner %s\n", n, v),
            dump(json_pack("{s:s, s:s}", "bucket", n, "owner", v)));
    default: /* MGR__CMD_BUCKET_ACL, setting one */
        return mgr__reply_new(
            0, fmt("bucket '%s' acl %s\n", n, v),
            dump(json_pack("{s:s, s:s}", "bucket", n, "acl", v)));
    }
}

Cleo__Introspect__AdminReply *mgr__reply_done(const mgr__cmd_t *c)
{
    const char *n = c->name;
    switch (c->kind) {
    case MGR__CMD_USER_IMPORT:
    case MGR__CMD_USER_ROLE:
    case MGR__CMD_BUCKET_CHOWN:
    case MGR__CMD_BUCKET_ACL:
        return change_done(c);
    case MGR__CMD_USER_DELETE:
        return mgr__reply_new(
            0, fmt("user '%s' deleted\n", n),
            dump(json_pack("{s:s, s:b}", "user", n, "deleted", 1)));
    case MGR__CMD_BUCKET_CREATE:
        return mgr__reply_new(
            0, fmt("bucket '%s' created (owner %s)\n", n, c->owner),
            dump(json_pack("{s:s, s:s, s:b}", "bucket", n, "owner", c->owner,
                           "created", 1)));
    case MGR__CMD_BUCKET_DELETE:
    default:
        return mgr__reply_new(
            0, fmt("bucket '%s' deleted\n", n),
            dump(json_pack("{s:s, s:b}", "bucket", n, "deleted", 1)));
    }
}

/* A bucket's canned ACL: a record from before ACLs has none. */
static const char *acl_of(const Cleo__Storage__BucketInfo *b)
{
    return b->acl != NULL && b->acl[0] != '\0' ? b->acl : MGR_FSM_ACL_DEFAULT;
}

static json_t *bucket_json(const Cleo__Storage__BucketInfo *b)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "name", b->name, "owner",
                     b->owner, "acl", acl_of(b), "created_ms",
                     (json_int_t)b->created_ms, "objects",
                     (json_int_t)b->objects, "bytes", (json_int_t)b->bytes);
}

Cleo__Introspect__AdminReply *
mgr__reply_bucket_list(const Cleo__Storage__BucketList *l, const char *owner)
{
    char *text = NULL, when[32];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return no_memory();
    fprintf(f, "%-32s %-20s %-18s %-20s %10s %14s\n", "NAME", "OWNER", "ACL",
            "CREATED", "OBJECTS", "BYTES");
    json_t *arr = json_array();
    for (size_t i = 0; i < l->n_buckets; i++) {
        const Cleo__Storage__BucketInfo *b = l->buckets[i];
        if (owner != NULL && strcmp(b->owner, owner) != 0)
            continue;
        fprintf(f, "%-32s %-20s %-18s %-20s %10llu %14llu\n", b->name, b->owner,
                acl_of(b), iso_time(b->created_ms, when, sizeof when),
                (unsigned long long)b->objects, (unsigned long long)b->bytes);
        json_array_append_new(arr, bucket_json(b));
    }
    fclose(f);
    return mgr__reply_new(0, text, dump(json_pack("{s:o}", "buckets", arr)));
}

Cleo__Introspect__AdminReply *
mgr__reply_bucket_du(const Cleo__Storage__BucketInfo *b)
{
    char *text = fmt("%s: %llu objects, %llu bytes (owner %s)\n", b->name,
                     (unsigned long long)b->objects,
                     (unsigned long long)b->bytes, b->owner);
    return mgr__reply_new(0, text, dump(bucket_json(b)));
}

Cleo__Introspect__AdminReply *
mgr__reply_bucket_acl(const Cleo__Storage__BucketInfo *b)
{
    char *text = fmt("%s: acl %s (owner %s)\n", b->name, acl_of(b), b->owner);
    json_t *j = json_pack("{s:s, s:s, s:s}", "bucket", b->name, "owner",
                          b->owner, "acl", acl_of(b));
    return mgr__reply_new(0, text, dump(j));
}

Cleo__Introspect__AdminReply *
mgr__reply_metrics(const Cleo__Metrics__Counters *all)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return no_memory();
    json_t *j = json_object();
    for (size_t i = 0; i < all->n_counters; i++) {
        const Cleo__Metrics__Counter *c = all->counters[i];
        fprintf(f, "%s %llu\n", c->name, (unsigned long long)c->value);
        /* json_int_t is signed: a counter past 2^63 would wrap, which no
         * counter of a running node reaches. */
        json_object_set_new(j, c->name, json_integer((json_int_t)c->value));
    }
    fclose(f);
    return mgr__reply_new(0, text, dump(j));
}
