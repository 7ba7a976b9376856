/*
 * adm_out.c - how cleo-adm shows responses: tables and trees for people,
 * JSON (any protobuf message, through its descriptor) for scripts.
 */
#include "adm.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- JSON -------------------------------------------------------------- */

static json_t *msg_json(const ProtobufCMessage *m, bool sparse);

static json_t *enum_json(const ProtobufCFieldDescriptor *f, int v)
{
    const ProtobufCEnumValue *e =
        protobuf_c_enum_descriptor_get_value(f->descriptor, v);
    if (e == NULL)
        return json_integer(v);
    char low[64];
    size_t i = 0;
    for (; e->name[i] != '\0' && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)e->name[i]);
    low[i] = '\0';
    return json_string(low);
}

/* One value of field f stored at p. */
static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) { /* size: dispatch */
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return json_integer((json_int_t) * (const uint64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT:
        return json_real(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM:
        return enum_json(f, *(const int *)p);
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        json_t *j = json_string(s != NULL ? s : "");
        return j != NULL ? j : json_string("?"); /* not UTF-8 */
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        return sub != NULL ? msg_json(sub, false) : NULL;
    }
    default:
        return NULL;
    }
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return 4;
    }
}

/* A value the protobuf would not send: 0, "", false, []. */
static bool is_default(const json_t *v)
{
    return (json_is_integer(v) && json_integer_value(v) == 0) ||
           (json_is_string(v) && json_string_length(v) == 0) ||
           json_is_false(v) || (json_is_array(v) && json_array_size(v) == 0);
}

/* The message as an object; sparse leaves out default values (for the
 * Response envelope, whose fields each belong to one kind). */
static json_t *msg_json(const ProtobufCMessage *m, bool sparse)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    json_t *o = json_object();
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m + f->offset;
        json_t *v;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n =
                *(const size_t *)((const char *)m + f->quantifier_offset);
            const char *arr = *(char *const *)base;
            v = json_array();
            for (size_t k = 0; k < n; k++) {
                json_t *e = value_json(f, arr + k * elem_size(f));
                if (e != NULL)
                    json_array_append_new(v, e);
            }
        } else {
            v = value_json(f, base);
        }
        if (v != NULL && sparse && is_default(v) && strcmp(f->name, "kind"))
            json_decref(v);
        else if (v != NULL)
            json_object_set_new(o, f->name, v);
    }
    return o;
}

void adm_print_json(const ProtobufCMessage *m, bool pretty)
{
    adm_print_json_with(m, pretty, NULL, NULL);
}

void adm_print_json_with(const ProtobufCMessage *m, bool pretty,
                         const char *key, const char *extra)
{
    json_t *o =
        msg_json(m, m->descriptor == &cleo__introspect__response__descriptor);
    json_t *x = extra != NULL ? json_loads(extra, 0, NULL) : NULL;
    if (x != NULL && key != NULL)
        json_object_set_new(o, key, x);
    else if (x != NULL) { /* merge its fields */
        (void)json_object_update(o, x);
        json_decref(x);
    }
    char *s = json_dumps(o, (pretty ? JSON_INDENT(2) : JSON_COMPACT) |
                                JSON_PRESERVE_ORDER);
    if (s != NULL)
        printf("%s\n", s);
    free(s);
    json_decref(o);
}

/* ---- formats ------------------------------------------------------------ */

const char *adm_fmt_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
}

const char *adm_fmt_uptime(uint64_t ms, char *buf, size_t len)
{
    uint64_t s = ms / 1000, d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
    if (d > 0)
        snprintf(buf, len, "%llud %lluh %llum", (unsigned long long)d,
                 (unsigned long long)h, (unsigned long long)m);
    else if (h > 0)
        snprintf(buf, len, "%lluh %llum %llus", (unsigned long long)h,
                 (unsigned long long)m, (unsigned long long)(s % 60));
    else
        snprintf(buf, len, "%llum %llus", (unsigned long long)m,
                 (unsigned long long)(s % 60));
    return buf;
}

/* ---- text ---------------------------------------------------------------- */

void adm_print_status(const adm_resp_t *r)
{
    char b[32];
    printf("node       %s\n", r->node);
    printf("version    %s\n", r->version);
    printf("roles      ");
    for (size_t i = 0; i < r->n_roles; i++)
        printf("%s%s", i ? ", " : "", r->roles[i]);
    printf("%s\n", r->n_roles ? "" : "-");
    if (r->stats == NULL)
        return;
    const Cleo__Introspect__Stats *s = r->stats;
    printf("uptime     %s\n", adm_fmt_uptime(s->uptime_ms, b, sizeof b));
    printf("actors     %llu (spawned %llu, exited %llu, crashed %llu)\n",
           (unsigned long long)s->actors, (unsigned long long)s->spawned,
           (unsigned long long)s->exited, (unsigned long long)s->crashed);
    printf("memory     %s rss\n", adm_fmt_bytes(s->rss_bytes, b, sizeof b));
    printf("schedulers %zu\n", s->n_sched);
}

/* A mailbox limit: "-" for none. */
static const char *fmt_limit(uint32_t n, char *buf, size_t len)
{
    if (n == 0)
        return "-";
    snprintf(buf, len, "%u", n);
    return buf;
}

static void actor_row(const Cleo__Introspect__Actor *a)
{
    char b[32], l[16];
    printf("%-14s %-18s %-20s %-9s %8llu %7s %10llu %10s %5u\n", a->pid,
           a->name[0] ? a->name : "-", a->behaviour, a->state,
           (unsigned long long)a->mailbox,
           fmt_limit(a->mailbox_limit, l, sizeof l),
           (unsigned long long)a->msgs, adm_fmt_bytes(a->memory, b, sizeof b),
           a->long_turns);
}

void adm_print_actors(const adm_resp_t *r)
{
    printf("%-14s %-18s %-20s %-9s %8s %7s %10s %10s %5s\n", "PID", "NAME",
           "BEHAVIOUR", "STATE", "MAILBOX", "LIMIT", "MSGS", "MEMORY", "LONG");
    for (size_t i = 0; i < r->n_actor; i++)
        actor_row(r->actor[i]);
    if (r->total > r->n_actor)
        printf("(%zu of %llu actors shown)\n", r->n_actor,
               (unsigned long long)r->total);
}

/* The behaviour's own status (sys:get_status), its lines under one
 * another; nothing for an actor that did not answer. */
static void print_status(const char *text)
{
    const char *label = "status     ";
    while (text != NULL && *text != '\0') {
        size_t n = strcspn(text, "\n");
        printf("%s%.*s\n", label, (int)n, text);
        label = "           ";
        text += n + (text[n] == '\n');
    }
}

void adm_print_info(const adm_resp_t *r)
{
    char b[32];
    if (r->n_actor == 0)
        return;
    const Cleo__Introspect__Actor *a = r->actor[0];
    printf("pid        %s\n", a->pid);
    printf("name       %s\n", a->name[0] ? a->name : "-");
    printf("behaviour  %s\n", a->behaviour);
    printf("state      %s\n", a->state);
    printf("mailbox    %llu\n", (unsigned long long)a->mailbox);
    printf("mbox limit %s\n", fmt_limit(a->mailbox_limit, b, sizeof b));
    printf("long turns %u (turns over runtime.long_turn_ms)\n", a->long_turns);
    printf("long queue %u (times the mailbox reached runtime.long_mqueue)\n",
           a->long_mqueues);
    printf("msgs       %llu\n", (unsigned long long)a->msgs);
    printf("memory     %s\n", adm_fmt_bytes(a->memory, b, sizeof b));
    printf("links      %u\n", a->links);
    printf("monitors   %u\n", a->monitors);
    if (a->sched >= 0)
        printf("scheduler  %d (pinned)\n", a->sched);
    else
        printf("scheduler  any\n");
    printf("trap_exit  %s\n", a->trap_exit ? "true" : "false");
    print_status(a->status);
}

/* One line of the tree: id, pid, behaviour, then what a supervisor
 * tells about the child. */
static void tree_line(const Cleo__Introspect__Child *c, bool root)
{
    printf("%s %s", c->id, c->pid[0] ? c->pid : "(not running)");
    if (c->behaviour[0])
        printf(" [%s]", c->behaviour);
    if (c->children != NULL)
        printf(" %s", c->children->strategy);
    if (!root)
        printf(" %s %s, restarts %u", c->type, c->restart, c->restarts);
    printf("\n");
}

static void tree_walk(const Cleo__Introspect__Child *c, char *prefix,
                      size_t plen, int depth)
{
    if (c->children == NULL || depth > 32)
        return;
    size_t n = c->children->n_child, len = strlen(prefix);
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n;
        printf("%s%s", prefix, last ? "└── " : "├── ");
        tree_line(c->children->child[i], false);
        snprintf(prefix + len, plen - len, "%s", last ? "    " : "│   ");
        tree_walk(c->children->child[i], prefix, plen, depth + 1);
        prefix[len] = '\0';
    }
}

void adm_print_tree(const adm_resp_t *r)
{
    char prefix[512] = "";
    if (r->root == NULL)
        return;
    tree_line(r->root, true);
    tree_walk(r->root, prefix, sizeof prefix, 0);
}

/* One scheduler, with the turn it is in now (age and actor). */
static void sched_row(const Cleo__Introspect__Sched *x)
{
    char turn[24] = "-";
    if (x->running[0] != '\0')
        snprintf(turn, sizeof turn, "%llu ms", (unsigned long long)x->turn_ms);
    printf("%-5u %5.1f%% %6u %12llu %12llu %8llu %10llu %9s  %s%s%s%s\n", x->id,
           x->utilisation * 100.0, x->queue, (unsigned long long)x->runs,
           (unsigned long long)x->msgs, (unsigned long long)x->steals,
           (unsigned long long)x->sleeps, turn,
           x->running[0] ? x->running : "-", x->running_name[0] ? " (" : "",
           x->running_name, x->running_name[0] ? ")" : "");
}

void adm_print_stats(const adm_resp_t *r)
{
    char b[32];
    const Cleo__Introspect__Stats *s = r->stats;
    if (s == NULL)
        return;
    printf("actors     %llu alive (max %u), spawned %llu, exited %llu, "
           "crashed %llu\n",
           (unsigned long long)s->actors, s->max_actors,
           (unsigned long long)s->spawned, (unsigned long long)s->exited,
           (unsigned long long)s->crashed);
    printf("messages   %llu dropped (sent to dead pids)\n",
           (unsigned long long)s->dropped);
    printf("long       %llu turns over runtime.long_turn_ms, %llu mailboxes "
           "reached runtime.long_mqueue\n",
           (unsigned long long)s->long_turns,
           (unsigned long long)s->long_mqueues);
    printf("timers     %llu pending\n", (unsigned long long)s->timers);
    printf("memory     %s rss\n", adm_fmt_bytes(s->rss_bytes, b, sizeof b));
    printf("uptime     %s\n\n", adm_fmt_uptime(s->uptime_ms, b, sizeof b));
    printf("%-5s %6s %6s %12s %12s %8s %10s %9s  %s\n", "SCHED", "UTIL",
           "QUEUE", "RUNS", "MSGS", "STEALS", "SLEEPS", "TURN", "RUNNING");
    for (size_t i = 0; i < s->n_sched; i++)
        sched_row(s->sched[i]);
}

/* A wall-clock time in ms as "2026-12-07 19:15:03Z"; "-" for 0. */
static const char *fmt_wall(uint64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms == 0 || gmtime_r(&t, &tm) == NULL ||
        strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "-");
    return buf;
}

static void peer_row(const Cleo__Introspect__DistNode *p)
{
    char since[32], bin[32], bout[32], tick[32];
    if (p->creation != 0)
        snprintf(tick, sizeof tick, "%llu ms",
                 (unsigned long long)p->last_recv_ms);
    else
        snprintf(tick, sizeof tick, "-");
    printf("%5u %-24s %-21s %10u %-3s %-20s %10llu %10llu %10s %10s %9s\n",
           p->node, p->name, p->address[0] ? p->address : "-", p->creation,
           p->up ? "yes" : "no", fmt_wall(p->up_since_ms, since, sizeof since),
           (unsigned long long)p->msgs_in, (unsigned long long)p->msgs_out,
           adm_fmt_bytes(p->bytes_in, bin, sizeof bin),
           adm_fmt_bytes(p->bytes_out, bout, sizeof bout), tick);
}

void adm_print_nodes(const adm_resp_t *r)
{
    const Cleo__Introspect__Nodes *n = r->nodes;
    if (n == NULL || !n->enabled) {
        printf("distribution off\n");
        return;
    }
    printf("node       %s, creation %u, port %u, %s\n", n->name, n->creation,
           n->port,
           !n->tls         ? "plain TCP"
           : n->tls_verify ? "TLS, peers verified"
                           : "TLS, peers not verified");
    printf("links      %llu connects, %llu disconnects; refused: %llu bad "
           "cookie, %llu bad handshake, %llu bad frame; %llu frames "
           "dropped\n\n",
           (unsigned long long)n->connects, (unsigned long long)n->disconnects,
           (unsigned long long)n->bad_cookie,
           (unsigned long long)n->bad_handshake,
           (unsigned long long)n->bad_frame, (unsigned long long)n->dropped);
    printf("%5s %-24s %-21s %10s %-3s %-20s %10s %10s %10s %10s %9s\n", "INDEX",
           "NAME", "ADDRESS", "CREATION", "UP", "UP SINCE", "MSGS IN",
           "MSGS OUT", "BYTES IN", "BYTES OUT", "LAST TICK");
    if (n->n_nodes == 0)
        printf("(no peers)\n");
    for (size_t i = 0; i < n->n_nodes; i++)
        peer_row(n->nodes[i]);
}

void adm_print_counters(const char *json)
{
    if (json == NULL)
        return;
    json_t *o = json_loads(json, 0, NULL);
    if (!json_is_object(o)) {
        fprintf(stderr, "cleo-adm: counters: the node's answer is not a "
                        "JSON object\n");
        json_decref(o);
        return;
    }
    printf("\ncounters\n");
    if (json_object_size(o) == 0)
        printf("  (none yet)\n");
    const char *name;
    json_t *v;
    /* The node sends them sorted by name; jansson keeps that order. */
    json_object_foreach(o, name, v)
    {
        printf("  %-32s %14" JSON_INTEGER_FORMAT "\n", name,
               json_integer_value(v));
    }
    json_decref(o);
}

void adm_print_trace_event(const adm_resp_t *r)
{
    static uint64_t first_ms; /* one trace per process: times from it */
    const Cleo__Introspect__TraceEvent *e = r->event;
    if (e == NULL)
        return;
    if (first_ms == 0)
        first_ms = e->at_ms != 0 ? e->at_ms : 1;
    printf("+%9.3fs %s <- %s type=%u\n", (double)(e->at_ms - first_ms) / 1000.0,
           e->pid, e->from[0] ? e->from : "(outside)", e->type);
    fflush(stdout);
}
