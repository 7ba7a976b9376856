/*
 * adm.c - cleo-adm: the node console. Parses the command line, connects
 * to the node's introspection socket and runs one subcommand.
 *
 *   cleo-adm [--socket PATH] [--json] SUBCOMMAND [ARGS] [--help]
 *
 * Exit status: 0 done, 1 the node said no or could not be reached, 2 the
 * command line was wrong. Errors are one line on stderr.
 */
#include "adm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"

#define OPT_SORT 0x1u
#define OPT_LIMIT 0x2u
#define OPT_SECONDS 0x4u
#define OPT_ADMIN 0x8u      /* an admin command: VERB [NAME] [--owner USER] */
#define OPT_CLUSTER 0x10u   /* a cluster command, checked by the node */
#define ADMIN_WAIT_MS 40000 /* the node gives up on a command after 30 s */

typedef struct adm_opts_s {
    const char *socket;
    bool json;
    const char *sort;
    uint32_t limit;
    uint32_t seconds;
    const char *owner;   /* admin commands: --owner USER */
    const char *cmd;     /* the subcommand's name */
    const char *args[4]; /* max_args of any command */
    int nargs;
} adm_opts_t;

typedef struct adm_cmd_s {
    const char *name;
    const char *usage;
    const char *help;
    int min_args, max_args;
    unsigned opts;
    int (*run)(adm_conn_t *c, const adm_opts_t *o);
} adm_cmd_t;

static int run_status(adm_conn_t *c, const adm_opts_t *o);
static int run_actors(adm_conn_t *c, const adm_opts_t *o);
static int run_tree(adm_conn_t *c, const adm_opts_t *o);
static int run_info(adm_conn_t *c, const adm_opts_t *o);
static int run_kill(adm_conn_t *c, const adm_opts_t *o);
static int run_trace(adm_conn_t *c, const adm_opts_t *o);
static int run_stats(adm_conn_t *c, const adm_opts_t *o);
static int run_nodes(adm_conn_t *c, const adm_opts_t *o);
static int run_top(adm_conn_t *c, const adm_opts_t *o);
static int run_admin(adm_conn_t *c, const adm_opts_t *o);

static const adm_cmd_t cmds[] = {
    {"status", "status [NODE]",
     "node name, version, roles, uptime, actor count, then the cluster; "
     "with NODE (a member), that node's own view: its status, RING copy, "
     "state and the manager it follows",
     0, 1, OPT_CLUSTER, run_status},
    {"actors", "actors [--sort mailbox|memory|msgs|long_turns] [--limit N]",
     "every actor: pid, name, behaviour, state, mailbox and its limit, "
     "messages, memory, long turns",
     0, 0, OPT_SORT | OPT_LIMIT, run_actors},
    {"tree", "tree", "the supervision tree with pids, behaviours, restarts", 0,
     0, 0, run_tree},
    {"info", "info PID|NAME", "one actor in detail", 1, 1, 0, run_info},
    {"kill", "kill PID|NAME [REASON]",
     "send an exit signal (REASON: kill (default), shutdown, normal)", 1, 2, 0,
     run_kill},
    {"trace", "trace PID|NAME [--seconds N]",
     "print each message the actor handles, live, for N seconds (5)", 1, 1,
     OPT_SECONDS, run_trace},
    {"stats", "stats",
     "scheduler utilisation, run queues, steals, the turn running now; "
     "memory; actor counters, long turns, long message queues; then the "
     "node's counters (e.g. gw.cache.hit) where it has them",
     0, 0, 0, run_stats},
    {"nodes", "nodes",
     "distribution: this node's name, creation, port and connection "
     "counters; each peer's index, address, creation, up, up since, "
     "messages and bytes in/out, ms since it was last heard (LAST TICK)",
     0, 0, 0, run_nodes},
    {"top", "top [--sort mailbox|memory|msgs|long_turns]",
     "full-screen view refreshed each second; keys: m mailbox, b memory, "
     "r messages, l long turns, p pid, q quit",
     0, 0, OPT_SORT, run_top},
    {"user",
     "user create NAME | user list | user delete NAME | "
     "user import NAME ACCESS_KEY SECRET_KEY | user role NAME admin|user",
     "S3 users and their access keys; create prints the new key pair, "
     "import adds a given pair (making the user if needed), role makes a "
     "user an admin or a plain user",
     1, 4, OPT_ADMIN, run_admin},
    {"ring", "ring",
     "the cluster's RING: version, checksum, balance (the largest node's "
     "share / the ideal) and movement (keys moved by the last change / the "
     "least possible)",
     0, 0, OPT_CLUSTER, run_admin},
    {"whereis", "whereis BUCKET/KEY",
     "the key's ring address and replica nodes, and what each holds: "
     "present (etag, size, clock), deleted, absent or unreachable",
     1, 1, OPT_CLUSTER, run_admin},
    {"start", "start", "put the attached nodes in the RING (the first time)", 0,
     0, OPT_CLUSTER, run_admin},
    {"rebalance", "rebalance",
     "a new RING of the attached, running, stopped and suspended nodes", 0, 0,
     OPT_CLUSTER, run_admin},
    {"detach", "detach NODE", "take NODE out of the cluster for good", 1, 1,
     OPT_CLUSTER, run_admin},
    {"suspend", "suspend NODE", "take a running NODE out of service", 1, 1,
     OPT_CLUSTER, run_admin},
    {"resume", "resume NODE", "put a suspended NODE back in service", 1, 1,
     OPT_CLUSTER, run_admin},
    {"rollback", "rollback NODE", "undo the detach of NODE", 1, 1, OPT_CLUSTER,
     run_admin},
    {"manager-add", "manager-add NODE",
     "make NODE (running the manager role) a Raft voter among the managers", 1,
     1, OPT_CLUSTER, run_admin},
    {"manager-remove", "manager-remove NODE",
     "take NODE out of the managers' Raft configuration", 1, 1, OPT_CLUSTER,
     run_admin},
    {"mq-stats", "mq-stats [NODE]",
     "the repair queues of NODE (this node by default): entries queued per "
     "replica node, repaired, failed, dropped",
     0, 1, OPT_CLUSTER, run_admin},
    {"update-consistency-level", "update-consistency-level W R D",
     "the write, read and delete quorums, each 1..N", 3, 3, OPT_CLUSTER,
     run_admin},
    {"bucket",
     "bucket create NAME [--owner USER] | bucket delete NAME | "
     "bucket list [--owner USER] | bucket du NAME | bucket chown NAME USER | "
     "bucket acl NAME [private|public-read|public-read-write|"
     "authenticated-read]",
     "buckets: create (owner admin unless --owner), delete an empty one, "
     "list, show objects and bytes, change the owner, show or set the "
     "canned ACL",
     1, 3, OPT_ADMIN, run_admin},
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

/* ---- errors and help ------------------------------------------------- */

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cleo-adm: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (try cleo-adm --help)\n");
    va_end(ap);
    return ADM_EXIT_USAGE;
}

static int node_error(const adm_conn_t *c, int rc)
{
    fprintf(stderr, "cleo-adm: %s: %s\n", c->path, strerror(-rc));
    return ADM_EXIT_NODE;
}

/* An ERROR response is printed and gives exit 1; others return 0. */
static int check(const adm_resp_t *r)
{
    if (r->kind != CLEO__INTROSPECT__RESPONSE__KIND__ERROR)
        return 0;
    fprintf(stderr, "cleo-adm: %s (%s)\n", r->error, cleo_err_name(r->code));
    return ADM_EXIT_NODE;
}

static void help_main(void)
{
    printf("usage: cleo-adm [--socket PATH] [--json] SUBCOMMAND [ARGS]\n\n"
           "The console of a cleo node, over its introspection socket\n"
           "(default %s; CLEO_SOCKET overrides).\n\n"
           "subcommands:\n",
           ADM_DEFAULT_SOCKET);
    for (size_t i = 0; i < NCMDS; i++)
        printf("  %s\n      %s\n", cmds[i].usage, cmds[i].help);
    printf("\nEach subcommand has --help. Exit status: 0 ok, 1 node error or "
           "cannot connect, 2 usage.\n");
}

static void help_cmd(const adm_cmd_t *c)
{
    printf("usage: cleo-adm [--socket PATH] [--json] %s\n\n%s.\n", c->usage,
           c->help);
    if (c->opts & OPT_ADMIN)
        printf("\nUser names: 1-64 of A-Z a-z 0-9 . _ - (a letter or digit "
               "first);\nbucket names: S3's rules (3-63 of a-z 0-9 . -).\n"
               "--json prints the node's answer as JSON.\n");
    else
        printf("\nPID is \"<node.slot.gen>\"; NAME a registered name.\n"
               "--json prints the node's answer as JSON.\n");
}

/* ---- subcommands ----------------------------------------------------- */

/* One request, its answer printed with show (or as JSON). */
static int simple(adm_conn_t *c, const adm_opts_t *o, adm_req_t *q,
                  void (*show)(const adm_resp_t *))
{
    adm_resp_t *r;
    int rc = adm_conn_call(c, q, &r);
    if (rc < 0)
        return node_error(c, rc);
    if ((rc = check(r)) == 0) {
        if (o->json)
            adm_print_json(&r->base, true);
        else
            show(r);
    }
    adm_resp_free(r);
    return rc;
}

/* A one-word admin command (verb) as a response with its AdminReply,
 * or NULL when the node has no answer for it: no admin actor
 * (ENOTFOUND), an agent that stands in for it (ENOPROC), or any failure,
 * which what (borrows) names in one line on stderr. The caller shows
 * what it has either way. @return gives: adm_resp_free(). */
static adm_resp_t *fetch_admin(adm_conn_t *c, const char *verb,
                               const char *what)
{
    char *argv[] = {(char *)verb};
    Cleo__Introspect__AdminReq a = CLEO__INTROSPECT__ADMIN_REQ__INIT;
    a.n_argv = 1;
    a.argv = argv;
    adm_req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = CLEO__INTROSPECT__REQUEST__KIND__ADMIN;
    q.admin = &a;
    adm_resp_t *r;
    int rc = adm_conn_call(c, &q, &r);
    if (rc < 0) {
        fprintf(stderr, "cleo-adm: %s: %s\n", what, strerror(-rc));
        return NULL;
    }
    if (r->kind == CLEO__INTROSPECT__RESPONSE__KIND__ERROR) {
        if (r->code != CLEO_ENOTFOUND)
            fprintf(stderr, "cleo-adm: %s: %s (%s)\n", what, r->error,
                    cleo_err_name(r->code));
    } else if (r->admin == NULL) {
        fprintf(stderr, "cleo-adm: %s: the node sent no admin reply\n", what);
    } else if (r->admin->status == 0) {
        return r;
    } else if (r->admin->status != CLEO_ENOPROC &&
               r->admin->status != CLEO_ENOTFOUND) {
        fprintf(stderr, "cleo-adm: %s: %s\n", what, r->admin->text);
    }
    adm_resp_free(r);
    return NULL;
}

/* The node, then (in a cluster) the cluster as its agent sees it; --json
 * merges the cluster's fields (leader, members, ...) into the node's. */
static int run_status(adm_conn_t *c, const adm_opts_t *o)
{
    if (o->nargs == 1) { /* status NODE: the cluster command node-status */
        adm_opts_t n = *o;
        n.cmd = "node-status";
        return run_admin(c, &n);
    }
    adm_req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = CLEO__INTROSPECT__REQUEST__KIND__STATUS;
    adm_resp_t *r;
    int rc = adm_conn_call(c, &q, &r);
    if (rc < 0)
        return node_error(c, rc);
    if ((rc = check(r)) == 0) {
        adm_resp_t *cl = fetch_admin(c, "cluster-status", "cluster");
        if (o->json) {
            adm_print_json_with(&r->base, true, NULL,
                                cl ? cl->admin->json : NULL);
        } else {
            adm_print_status(r);
            if (cl != NULL)
                printf("\n%s", cl->admin->text);
        }
        if (cl != NULL)
            adm_resp_free(cl);
    }
    adm_resp_free(r);
    return rc;
}

static int run_actors(adm_conn_t *c, const adm_opts_t *o)
{
    adm_req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = CLEO__INTROSPECT__REQUEST__KIND__ACTORS;
    q.sort = (char *)(o->sort != NULL ? o->sort : "");
    q.limit = o->limit;
    return simple(c, o, &q, adm_print_actors);
}

static int run_tree(adm_conn_t *c, const adm_opts_t *o)
{
    adm_req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = CLEO__INTROSPECT__REQUEST__KIND__TREE;
    return simple(c, o, &q, adm_print_tree);
}

static int run_info(adm_conn_t *c, const adm_opts_t *o)
{
    adm_req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = CLEO__INTROSPECT__REQUEST__KIND__INFO;
    q.target = (char *)o->args[0];
    return simple(c, o, &q, adm_print_info);
}

static void show_killed(const adm_resp_t *r)
{
    printf("sent exit signal to %s\n", r->target);
}

static int run_kill(adm_conn_t *c, const adm_opts_t *o)
{
    adm_req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = CLEO__INTROSPECT__REQUEST__KIND__KILL;
    q.target = (char *)o->args[0];
    q.reason = (char *)(o->nargs > 1 ? o->args[1] : "kill");
    return simple(c, o, &q, show_killed);
}

/* The node's counters: the admin command "metrics"'s JSON, malloc'd, or
 * NULL. A node without the manager role and outside a cluster
 * (cleo-testnode) has no admin actor and so no counters; stats then shows
 * the runtime's figures only. */
static char *fetch_counters(adm_conn_t *c)
{
    adm_resp_t *r = fetch_admin(c, "metrics", "counters");
    char *json = r != NULL ? strdup(r->admin->json) : NULL;
    if (r != NULL && json == NULL)
        fprintf(stderr, "cleo-adm: counters: out of memory\n");
    if (r != NULL)
        adm_resp_free(r);
    return json;
}

/* The runtime's figures, then the node's counters where it has them;
 * --json adds the counters to the response as a "counters" object. */
static int run_stats(adm_conn_t *c, const adm_opts_t *o)
{
    adm_req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = CLEO__INTROSPECT__REQUEST__KIND__STATS;
    adm_resp_t *r;
    int rc = adm_conn_call(c, &q, &r);
    if (rc < 0)
        return node_error(c, rc);
    if ((rc = check(r)) == 0) {
        char *counters = fetch_counters(c);
        if (o->json) {
            adm_print_json_with(&r->base, true, "counters", counters);
        } else {
            adm_print_stats(r);
            adm_print_counters(counters);
        }
        free(counters);
    }
    adm_resp_free(r);
    return rc;
}

/* Distribution peers; "distribution off" (exit 0) on a node without.
 * --json prints the Nodes message itself: {"enabled", "name", ...,
 * "nodes": [peer, ...]}. */
static int run_nodes(adm_conn_t *c, const adm_opts_t *o)
{
    adm_req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = CLEO__INTROSPECT__REQUEST__KIND__NODES;
    adm_resp_t *r;
    int rc = adm_conn_call(c, &q, &r);
    if (rc < 0)
        return node_error(c, rc);
    if ((rc = check(r)) == 0) {
        if (o->json && r->nodes != NULL)
            adm_print_json(&r->nodes->base, true);
        else if (o->json)
            adm_print_json(&r->base, true);
        else
            adm_print_nodes(r);
    }
    adm_resp_free(r);
    return rc;
}

/* Events until TRACE_END, printed as they come. */
static int run_trace(adm_conn_t *c, const adm_opts_t *o)
{
    adm_req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = CLEO__INTROSPECT__REQUEST__KIND__TRACE;
    q.target = (char *)o->args[0];
    q.seconds = o->seconds != 0 ? o->seconds : 5;
    int rc = adm_conn_send(c, &q);
    uint64_t n = 0;
    while (rc == 0) {
        adm_resp_t *r;
        if ((rc = adm_conn_recv(c, (int)(q.seconds + 10) * 1000, &r)) < 0)
            return node_error(c, rc);
        if ((rc = check(r)) != 0) {
            adm_resp_free(r);
            return rc;
        }
        bool end = r->kind == CLEO__INTROSPECT__RESPONSE__KIND__TRACE_END;
        if (o->json)
            adm_print_json(&r->base, false);
        else if (!end)
            adm_print_trace_event(r);
        else
            printf("-- trace of %s ended%s%s: %llu events, %llu dropped\n",
                   r->target, r->exit_reason[0] ? ", it exited: " : "",
                   r->exit_reason, (unsigned long long)n,
                   (unsigned long long)r->dropped);
        fflush(stdout);
        n++;
        adm_resp_free(r);
        if (end)
            return 0;
    }
    return node_error(c, rc);
}

/* An admin command, run by the node's "admin" actor: its text (or JSON)
 * on stdout, or its one-line error on stderr and exit 1. */
static int run_admin(adm_conn_t *c, const adm_opts_t *o)
{
    char *argv[7]; /* the command, 4 arguments, --owner USER */
    size_t n = 0;
    argv[n++] = (char *)o->cmd;
    for (int i = 0; i < o->nargs; i++)
        argv[n++] = (char *)o->args[i];
    if (o->owner != NULL) {
        argv[n++] = "--owner";
        argv[n++] = (char *)o->owner;
    }
    Cleo__Introspect__AdminReq a = CLEO__INTROSPECT__ADMIN_REQ__INIT;
    a.n_argv = n;
    a.argv = argv;
    adm_req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = CLEO__INTROSPECT__REQUEST__KIND__ADMIN;
    q.admin = &a;
    adm_resp_t *r;
    int rc = adm_conn_send(c, &q);
    if (rc < 0 || (rc = adm_conn_recv(c, ADMIN_WAIT_MS, &r)) < 0)
        return node_error(c, rc);
    if ((rc = check(r)) != 0) {
        adm_resp_free(r);
        return rc;
    }
    const Cleo__Introspect__AdminReply *ar = r->admin;
    if (ar == NULL) {
        fprintf(stderr, "cleo-adm: the node sent no admin reply\n");
        rc = ADM_EXIT_NODE;
    } else if (ar->status != 0) {
        fprintf(stderr, "cleo-adm: %s\n", ar->text);
        rc = ADM_EXIT_NODE;
    } else if (o->json) {
        printf("%s\n", ar->json);
    } else {
        fputs(ar->text, stdout);
    }
    adm_resp_free(r);
    return rc;
}

static int run_top(adm_conn_t *c, const adm_opts_t *o)
{
    if (o->json)
        return usage_error("top has no --json");
    return adm_top_run(c, o->sort);
}

/* ---- command line ---------------------------------------------------- */

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* A target is a registered name or "<n.s.g>" with numbers in range. */
static bool target_ok(const char *s)
{
    unsigned long a, b, c;
    char tail;
    if (s[0] == '\0')
        return false;
    if (s[0] != '<')
        return strlen(s) < RT_NAME_MAX;
    return sscanf(s, "<%lu.%lu.%lu%c", &a, &b, &c, &tail) == 4 && tail == '>' &&
           strspn(s + 1, "0123456789.") == strlen(s) - 2 && a <= 0xFFFF &&
           b <= 0xFFFFFF && c <= 0xFFFFFF;
}

/* An option taking a value: --opt V or --opt=V. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0' || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static bool is_opt(const char *a, const char *opt)
{
    size_t n = strlen(opt);
    return strncmp(a, opt, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

/* One option of a subcommand. @return 0, 1 (--help) or an exit status. */
static int parse_opt(const adm_cmd_t *cmd, int argc, char **argv, int *i,
                     adm_opts_t *o)
{
    const char *a = argv[*i], *v;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
        return 1;
    if (strcmp(a, "--json") == 0) {
        o->json = true;
        return 0;
    }
    if (is_opt(a, "--socket")) {
        if ((o->socket = opt_value(argc, argv, i, "--socket")) == NULL)
            return usage_error("--socket needs a path");
        return 0;
    }
    if ((cmd->opts & OPT_SORT) && is_opt(a, "--sort")) {
        v = opt_value(argc, argv, i, "--sort");
        if (v == NULL || (strcmp(v, "mailbox") && strcmp(v, "memory") &&
                          strcmp(v, "msgs") && strcmp(v, "long_turns")))
            return usage_error(
                "--sort takes mailbox, memory, msgs or long_turns");
        o->sort = v;
        return 0;
    }
    if ((cmd->opts & OPT_LIMIT) && is_opt(a, "--limit")) {
        v = opt_value(argc, argv, i, "--limit");
        if (v == NULL || !parse_u32(v, UINT32_MAX, &o->limit))
            return usage_error("--limit takes a number");
        return 0;
    }
    if ((cmd->opts & OPT_ADMIN) && is_opt(a, "--owner")) {
        if ((o->owner = opt_value(argc, argv, i, "--owner")) == NULL ||
            o->owner[0] == '\0')
            return usage_error("--owner needs a user name");
        return 0;
    }
    if ((cmd->opts & OPT_SECONDS) && is_opt(a, "--seconds")) {
        v = opt_value(argc, argv, i, "--seconds");
        if (v == NULL || !parse_u32(v, 3600, &o->seconds) || o->seconds == 0)
            return usage_error("--seconds takes 1..3600");
        return 0;
    }
    return usage_error("%s: unknown option '%s'", cmd->name, a);
}

/* An admin command's shape: a known verb, its arguments after the verb
 * (NAME ...: min..max), --owner where it takes one. The node checks
 * again (names, keys, roles, ACLs, owners). */
static int admin_check(const adm_cmd_t *cmd, const adm_opts_t *o)
{
    static const struct {
        const char *noun, *verb;
        int min, max;
        bool owner;
    } verbs[] = {
        {"user", "create", 1, 1, false},   {"user", "list", 0, 0, false},
        {"user", "delete", 1, 1, false},   {"user", "import", 3, 3, false},
        {"user", "role", 2, 2, false},     {"bucket", "create", 1, 1, true},
        {"bucket", "delete", 1, 1, false}, {"bucket", "list", 0, 0, true},
        {"bucket", "du", 1, 1, false},     {"bucket", "chown", 2, 2, false},
        {"bucket", "acl", 1, 2, false},
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        if (strcmp(cmd->name, verbs[i].noun) != 0 ||
            strcmp(o->args[0], verbs[i].verb) != 0)
            continue;
        if (o->nargs - 1 < verbs[i].min)
            return usage_error("%s %s: missing %s (usage: cleo-adm %s)",
                               cmd->name, o->args[0],
                               o->nargs < 2 ? "NAME" : "arguments", cmd->usage);
        if (o->nargs - 1 > verbs[i].max)
            return usage_error("%s %s: unexpected argument '%s'", cmd->name,
                               o->args[0], o->args[verbs[i].max + 1]);
        if (!verbs[i].owner && o->owner != NULL)
            return usage_error("%s %s: no --owner here", cmd->name, o->args[0]);
        return 0;
    }
    return usage_error("%s: unknown subcommand '%s' (usage: cleo-adm %s)",
                       cmd->name, o->args[0], cmd->usage);
}

/* The subcommand's arguments. @return 0, 1 (help shown) or a status. */
static int parse_cmd(const adm_cmd_t *cmd, int argc, char **argv, int i,
                     adm_opts_t *o)
{
    for (; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            int rc = parse_opt(cmd, argc, argv, &i, o);
            if (rc == 1)
                help_cmd(cmd);
            if (rc != 0)
                return rc;
        } else if (o->nargs < cmd->max_args) {
            o->args[o->nargs++] = argv[i];
        } else {
            return usage_error("%s: unexpected argument '%s'", cmd->name,
                               argv[i]);
        }
    }
    if (o->nargs < cmd->min_args)
        return usage_error("usage: cleo-adm %s", cmd->usage);
    if (cmd->opts & OPT_ADMIN)
        return admin_check(cmd, o);
    if (cmd->opts & OPT_CLUSTER)
        return 0;
    if (o->nargs > 0 && cmd->min_args > 0 && !target_ok(o->args[0]))
        return usage_error("%s: bad pid or name '%s'", cmd->name, o->args[0]);
    return 0;
}

/* Global options before the subcommand. @return the subcommand's index
 * in argv, or -(exit status + 1) when done or wrong. */
static int parse_global(int argc, char **argv, adm_opts_t *o)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help_main();
            return -1;
        } else if (strcmp(argv[i], "--json") == 0) {
            o->json = true;
        } else if (is_opt(argv[i], "--socket")) {
            if ((o->socket = opt_value(argc, argv, &i, "--socket")) == NULL)
                return -1 - usage_error("--socket needs a path");
        } else {
            return -1 - usage_error("unknown option '%s'", argv[i]);
        }
    }
    if (i == argc)
        return -1 - usage_error("no subcommand");
    return i;
}

int main(int argc, char **argv)
{
    adm_opts_t o = {.socket = getenv("CLEO_SOCKET")};
    int i = parse_global(argc, argv, &o);
    if (i < 0)
        return -1 - i;
    const adm_cmd_t *cmd = NULL;
    for (size_t k = 0; k < NCMDS; k++)
        if (strcmp(argv[i], cmds[k].name) == 0)
            cmd = &cmds[k];
    if (cmd == NULL)
        return usage_error("unknown subcommand '%s'", argv[i]);
    int rc = parse_cmd(cmd, argc, argv, i + 1, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (o.socket == NULL || o.socket[0] == '\0')
        o.socket = ADM_DEFAULT_SOCKET;
    adm_conn_t c = {.fd = -1, .path = o.socket};
    if ((rc = adm_conn_open(&c, o.socket)) < 0) {
        fprintf(stderr, "cleo-adm: cannot connect to %s: %s\n", o.socket,
                strerror(-rc));
        return ADM_EXIT_NODE;
    }
    o.cmd = cmd->name;
    rc = cmd->run(&c, &o);
    adm_conn_close(&c);
    return rc;
}
