/*
 * dist_sim.c - the simulated network (rt.h): deterministic runtimes
 * joined by in-process links instead of sockets, driven by one seeded
 * schedule. The distribution code above the transport is the real one:
 * senders encode frames into node entries (dist.c), and the receiving
 * side decodes and delivers them (dist_rx.c); only the bytes' journey
 * and the connection's life are simulated here. No handshake: nodes are
 * trusted, and each knows the others by name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/actor.h"
#include "runtime/dist.h"
#include "runtime/kernel.h"

#define SIM_MAX 16 /* nodes */

typedef struct pkt_s { /* one send's chunks, in flight */
    struct pkt_s *next;
    rt__dchunk_t *chunks;
} pkt_t;

/* The connection between nodes a < b; side 0 is a, side 1 is b. */
typedef struct {
    bool up;
    rt__dnode_t *ent[2];      /* side's entry for the other node */
    rt__dist_rx_t rx[2];      /* side's receiving state */
    pkt_t *head[2], *tail[2]; /* in flight toward side */
} link_t;

struct rt_sim_s {
    uint64_t rng;
    uint32_t reset_pm;
    uint32_t n;
    rt_t *rt[SIM_MAX];
    char name[SIM_MAX][RT_DIST_NAME_MAX + 1];
    link_t link[SIM_MAX][SIM_MAX]; /* [a][b], a < b */
    bool cut[SIM_MAX][SIM_MAX];
    rt__dnode_t **cand; /* entries with a connect or frames pending */
    uint32_t ncand, capcand;
    uint64_t resets;
};

/* Remember that entry n may have something to do (once). */
static void cand_add(rt_sim_t *s, rt__dnode_t *n)
{
    for (uint32_t c = 0; c < s->ncand; c++)
        if (s->cand[c] == n)
            return;
    rt__vec_push((void **)&s->cand, &s->ncand, &s->capcand, sizeof n, &n);
}

static uint64_t next_rand(rt_sim_t *s)
{
    uint64_t x = s->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static rt_dist_t *dist(rt_sim_t *s, uint32_t i)
{
    return atomic_load_explicit(&s->rt[i]->dist, memory_order_acquire);
}

/* The node an entry of node i names. */
static uint32_t peer_of(rt_sim_t *s, const rt__dnode_t *n)
{
    for (uint32_t j = 0; j < s->n; j++)
        if (strcmp(s->name[j], n->name) == 0)
            return j;
    return UINT32_MAX;
}

static link_t *link_of(rt_sim_t *s, uint32_t i, uint32_t j, int *side)
{
    *side = i < j ? 0 : 1;
    return i < j ? &s->link[i][j] : &s->link[j][i];
}

int rt_sim_new(const rt_sim_opts_t *o, rt_sim_t **out)
{
    if (o == NULL || o->reset_per_mille > 1000 || out == NULL)
        return CLEO_EINVAL;
    rt_sim_t *s = cleo_xcalloc(1, sizeof *s);
    s->rng = o->seed ? o->seed : 0x9E3779B97F4A7C15ull;
    s->reset_pm = o->reset_per_mille;
    *out = s;
    return 0;
}

int rt_sim_node(rt_sim_t *s, const char *name, rt_t **out)
{
    static const char cookie[] = "sim";
    rt_dist_opts_t o = {.name = name,
                        .cookie = cookie,
                        .cookie_len = sizeof cookie - 1,
                        .creation = s->n + 1};
    if (!rt__dist_opts_ok(&o))
        return CLEO_EINVAL;
    if (s->n == SIM_MAX)
        return CLEO_ELIMIT;
    for (uint32_t j = 0; j < s->n; j++)
        if (strcmp(s->name[j], name) == 0)
            return CLEO_EINVAL;
    rt_opts_t ro = {.deterministic = true,
                    .seed = next_rand(s),
                    .max_actors = 1u << 16}; /* a test's node: small */
    rt_t *rt;
    int rc = rt_new(&ro, &rt);
    if (rc < 0)
        return rc;
    atomic_store_explicit(&rt->dist, rt__dist_new(rt, &o),
                          memory_order_release);
    uint32_t i = s->n++;
    s->rt[i] = rt;
    snprintf(s->name[i], sizeof s->name[i], "%s", name);
    for (uint32_t j = 0; j < i; j++) { /* each knows the others */
        char peer[RT_DIST_NAME_MAX + 8];
        uint16_t idx;
        snprintf(peer, sizeof peer, "%s:1", s->name[j]);
        (void)rt_dist_node(rt, peer, &idx);
        snprintf(peer, sizeof peer, "%s:1", name);
        (void)rt_dist_node(s->rt[j], peer, &idx);
    }
    *out = rt;
    return 0;
}

/* ---- links ---------------------------------------------------------- */

static void pkts_free(pkt_t *p)
{
    while (p != NULL) {
        pkt_t *nx = p->next;
        rt__dchunk_free_all(p->chunks);
        free(p);
        p = nx;
    }
}

/* Drop the link's state: frames in flight are lost. */
static void link_clear(link_t *l)
{
    for (int k = 0; k < 2; k++) {
        pkts_free(l->head[k]);
        l->head[k] = l->tail[k] = NULL;
        rt__dist_rx_destroy(&l->rx[k]);
    }
    l->up = false;
}

/* The connection between i and j is lost, on both sides. */
static void link_reset(rt_sim_t *s, uint32_t i, uint32_t j)
{
    int side;
    link_t *l = link_of(s, i, j, &side);
    if (!l->up)
        return;
    link_clear(l);
    uint32_t a = i < j ? i : j, b = i < j ? j : i;
    rt__dist_on_down(dist(s, a), l->ent[0], true);
    rt__dist_on_down(dist(s, b), l->ent[1], true);
    s->resets++;
}

/* Node i's entry n wants a connection to its peer. */
static void do_connect(rt_sim_t *s, uint32_t i, rt__dnode_t *n)
{
    uint32_t j = peer_of(s, n);
    pthread_mutex_lock(&n->lock);
    n->want_connect = false;
    pthread_mutex_unlock(&n->lock);
    int side;
    link_t *l = link_of(s, i, j, &side);
    if (j == UINT32_MAX || l->up)
        return;
    if (s->cut[i][j]) { /* refused: what waited on it fails */
        rt__dist_on_down(dist(s, i), n, false);
        return;
    }
    rt__dnode_t *old;
    rt__dnode_t *mine =
        rt__dist_bind(dist(s, i), s->name[j], dist(s, j)->creation, &old);
    rt__dnode_t *theirs =
        rt__dist_bind(dist(s, j), s->name[i], dist(s, i)->creation, &old);
    l->ent[side] = mine;
    l->ent[1 - side] = theirs;
    rt__dist_rx_init(&l->rx[side], dist(s, i));
    rt__dist_rx_init(&l->rx[1 - side], dist(s, j));
    l->up = true;
    rt__dnode_t *both[2] = {mine, theirs};
    for (int k = 0; k < 2; k++) {
        pthread_mutex_lock(&both[k]->lock);
        both[k]->state = RT__DN_UP;
        both[k]->want_connect = false;
        snprintf(both[k]->addr, sizeof both[k]->addr, "sim");
        pthread_mutex_unlock(&both[k]->lock);
    }
    rt__dist_on_up(dist(s, i), mine);
    rt__dist_on_up(dist(s, j), theirs);
    cand_add(s, mine);
    cand_add(s, theirs);
}

/* Node i's up entry n: its queued frames go in flight, in order. */
static void do_send(rt_sim_t *s, uint32_t i, rt__dnode_t *n)
{
    uint32_t j = peer_of(s, n);
    int side;
    link_t *l = link_of(s, i, j, &side);
    pthread_mutex_lock(&n->lock);
    rt__dchunk_t *q = n->oq_head;
    n->oq_head = n->oq_tail = NULL;
    n->oq_bytes = 0;
    pthread_mutex_unlock(&n->lock);
    if (q == NULL)
        return;
    pkt_t *p = cleo_xcalloc(1, sizeof *p);
    p->chunks = q;
    int to = 1 - side;
    if (l->tail[to] != NULL)
        l->tail[to]->next = p;
    else
        l->head[to] = p;
    l->tail[to] = p;
}

/* The oldest packet in flight toward side `to` of link (a, b) arrives. */
static void do_deliver(rt_sim_t *s, uint32_t a, uint32_t b, int to)
{
    link_t *l = &s->link[a][b];
    pkt_t *p = l->head[to];
    l->head[to] = p->next;
    if (l->head[to] == NULL)
        l->tail[to] = NULL;
    p->next = NULL;
    const char *why = NULL;
    int rc = 0;
    for (rt__dchunk_t *k = p->chunks; k != NULL && rc == 0; k = k->next) {
        const uint8_t *bytes = rt__dchunk_data(k);
        atomic_fetch_add(&l->ent[to]->bytes_in, k->len);
        rc = rt__dist_rx_feed(&l->rx[to], l->ent[to], bytes, k->len, &why);
    }
    pkts_free(p);
    if (rc < 0) {
        fprintf(stderr, "cleo: sim: bad frame: %s\n", why);
        link_reset(s, a, b);
    }
}

/* ---- the schedule --------------------------------------------------- */

typedef struct {
    enum { O_RUN, O_CONNECT, O_SEND, O_DELIVER } kind;
    uint32_t i, j;
    int to;
    rt__dnode_t *n;
} opt_t;

/* Take every node's work list into the candidates (as the TCP layer's
 * wake-up does). */
static void gather(rt_sim_t *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        uint32_t nw;
        rt__dnode_t **w = rt__dist_take_work(dist(s, i), &nw);
        for (uint32_t k = 0; k < nw; k++) {
            pthread_mutex_lock(&w[k]->lock);
            w[k]->dirty = false;
            pthread_mutex_unlock(&w[k]->lock);
            cand_add(s, w[k]);
        }
        free(w);
    }
}

/* The node an entry belongs to. */
static uint32_t owner_of(rt_sim_t *s, const rt__dnode_t *n)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (rt__dist_node_get(dist(s, i), n->idx) == n)
            return i;
    return UINT32_MAX;
}

/* What may happen next; drops candidates with nothing left to do. */
static uint32_t options(rt_sim_t *s, opt_t *o, uint32_t cap)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->n && k < cap; i++)
        if (s->rt[i]->det.n > 0)
            o[k++] = (opt_t){.kind = O_RUN, .i = i};
    for (uint32_t c = 0; c < s->ncand && k < cap;) {
        rt__dnode_t *n = s->cand[c];
        pthread_mutex_lock(&n->lock);
        bool want = n->want_connect;
        bool send = n->state == RT__DN_UP && n->oq_head != NULL;
        pthread_mutex_unlock(&n->lock);
        if (!want && !send) {
            s->cand[c] = s->cand[--s->ncand];
            continue;
        }
        o[k++] = (opt_t){
            .kind = want ? O_CONNECT : O_SEND, .i = owner_of(s, n), .n = n};
        c++;
    }
    for (uint32_t a = 0; a < s->n; a++)
        for (uint32_t b = a + 1; b < s->n; b++)
            for (int to = 0; to < 2 && k < cap; to++)
                if (s->link[a][b].head[to] != NULL)
                    o[k++] =
                        (opt_t){.kind = O_DELIVER, .i = a, .j = b, .to = to};
    return k;
}

/* A fault, if the dice say so: a random up connection is reset. */
static bool fault(rt_sim_t *s)
{
    if (s->reset_pm == 0 || next_rand(s) % 1000 >= s->reset_pm)
        return false;
    uint32_t up[SIM_MAX * SIM_MAX][2], k = 0;
    for (uint32_t a = 0; a < s->n; a++)
        for (uint32_t b = a + 1; b < s->n; b++)
            if (s->link[a][b].up)
                up[k][0] = a, up[k++][1] = b;
    if (k == 0)
        return false;
    uint32_t r = (uint32_t)(next_rand(s) % k);
    link_reset(s, up[r][0], up[r][1]);
    return true;
}

ssize_t rt_sim_run(rt_sim_t *s, uint64_t max_steps)
{
    opt_t o[4 * SIM_MAX * SIM_MAX + SIM_MAX];
    uint64_t steps = 0;
    while (max_steps == 0 || steps < max_steps) {
        gather(s);
        uint32_t k = options(s, o, sizeof o / sizeof o[0]);
        if (k == 0)
            break;
        steps++;
        if (fault(s))
            continue;
        opt_t *x = &o[next_rand(s) % k];
        switch (x->kind) {
        case O_RUN:
            (void)rt_det_run(s->rt[x->i], 1);
            break;
        case O_CONNECT:
            do_connect(s, x->i, x->n);
            break;
        case O_SEND:
            do_send(s, x->i, x->n);
            break;
        case O_DELIVER:
            do_deliver(s, x->i, x->j, x->to);
            break;
        }
    }
    return (ssize_t)steps;
}

int rt_sim_advance(rt_sim_t *s, uint64_t ms)
{
    uint64_t target = (s->n > 0 ? s->rt[0]->det.now : 0) + ms;
    for (;;) {
        (void)rt_sim_run(s, 0);
        uint64_t next = UINT64_MAX;
        for (uint32_t i = 0; i < s->n; i++) {
            uint64_t t = rt__timers_next(&s->rt[i]->timers);
            next = t < next ? t : next;
        }
        if (next > target)
            break;
        for (uint32_t i = 0; i < s->n; i++) {
            if (next > s->rt[i]->det.now)
                s->rt[i]->det.now = next;
            (void)rt__timers_expire(&s->rt[i]->timers, s->rt[i],
                                    s->rt[i]->det.now);
        }
    }
    for (uint32_t i = 0; i < s->n; i++)
        s->rt[i]->det.now = target;
    (void)rt_sim_run(s, 0);
    return 0;
}

int rt_sim_cut(rt_sim_t *s, rt_t *a, rt_t *b, bool cut)
{
    uint32_t i = UINT32_MAX, j = UINT32_MAX;
    for (uint32_t k = 0; k < s->n; k++) {
        if (s->rt[k] == a)
            i = k;
        if (s->rt[k] == b)
            j = k;
    }
    if (i == UINT32_MAX || j == UINT32_MAX || i == j)
        return CLEO_EINVAL;
    s->cut[i][j] = s->cut[j][i] = cut;
    if (cut)
        link_reset(s, i, j);
    return 0;
}

uint64_t rt_sim_resets(const rt_sim_t *s)
{
    return s->resets;
}

void rt_sim_free(rt_sim_t *s)
{
    if (s == NULL)
        return;
    for (uint32_t a = 0; a < s->n; a++)
        for (uint32_t b = a + 1; b < s->n; b++)
            if (s->link[a][b].up)
                link_clear(&s->link[a][b]);
    for (uint32_t i = 0; i < s->n; i++)
        rt_free(s->rt[i]);
    free(s->cand);
    free(s);
}
