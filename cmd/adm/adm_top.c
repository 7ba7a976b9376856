/*
 * adm_top.c - `cleo-adm top`: a full-screen view of the node in the
 * manner of htop and observer_cli. Each second it asks for STATUS and the
 * top actors, and draws scheduler utilisation bars (busy time since the
 * last refresh) and an actor table sorted by the chosen key.
 */
#include "adm.h"

#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#define TOP_REFRESH_MS 1000
#define TOP_SCHED_W 40 /* columns per scheduler cell */
/* A turn this old (ms) is shown under the bars. */
#define TOP_TURN_MS 100

typedef struct top_s {
    const char *sort;  /* "mailbox", "memory", "msgs" or "" (pid) */
    uint64_t busy[64]; /* busy_ns at the last refresh */
    uint64_t up_ms;    /* uptime at the last refresh; 0 = none yet */
    char err[256];
} top_t;

static int fetch(adm_conn_t *c, top_t *t, int kind, uint32_t limit,
                 adm_resp_t **out)
{
    adm_req_t q = CLEO__INTROSPECT__REQUEST__INIT;
    q.kind = kind;
    q.sort = (char *)t->sort;
    q.limit = limit;
    adm_resp_t *r;
    int rc = adm_conn_call(c, &q, &r);
    if (rc < 0) {
        snprintf(t->err, sizeof t->err, "%s: %s", c->path, strerror(-rc));
        return rc;
    }
    if (r->kind == CLEO__INTROSPECT__RESPONSE__KIND__ERROR) {
        snprintf(t->err, sizeof t->err, "%s", r->error);
        adm_resp_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

/* Utilisation of scheduler i since the last refresh (or since start). */
static double util(top_t *t, const Cleo__Introspect__Stats *s, size_t i)
{
    const Cleo__Introspect__Sched *x = s->sched[i];
    if (i >= 64 || t->up_ms == 0 || s->uptime_ms <= t->up_ms)
        return x->utilisation;
    double d = (double)(x->busy_ns - t->busy[i]) /
               ((double)(s->uptime_ms - t->up_ms) * 1e6);
    return d < 0 ? 0 : d > 1 ? 1 : d;
}

static void draw_header(top_t *t, const adm_resp_t *st)
{
    char up[32], rss[32];
    const Cleo__Introspect__Stats *s = st->stats;
    attron(A_BOLD);
    mvprintw(0, 0, "cleo top - %s %s", st->node, st->version);
    attroff(A_BOLD);
    printw("   up %s   actors %llu   rss %s   crashed %llu",
           adm_fmt_uptime(s->uptime_ms, up, sizeof up),
           (unsigned long long)s->actors,
           adm_fmt_bytes(s->rss_bytes, rss, sizeof rss),
           (unsigned long long)s->crashed);
    printw("   long turns %llu   long mqueues %llu",
           (unsigned long long)s->long_turns,
           (unsigned long long)s->long_mqueues);
}

/* A line per scheduler in a turn of TOP_TURN_MS or more (a handler that
 * blocks), from row; returns the next free row. */
static int draw_turns(const Cleo__Introspect__Stats *s, int row)
{
    for (size_t i = 0; i < s->n_sched; i++) {
        const Cleo__Introspect__Sched *x = s->sched[i];
        if (x->turn_ms < TOP_TURN_MS || x->running[0] == '\0')
            continue;
        attron(A_BOLD);
        mvprintw(row++, 0, "%3zu in one turn for %llu ms: %s %s", i,
                 (unsigned long long)x->turn_ms, x->running, x->running_name);
        attroff(A_BOLD);
    }
    return row;
}

/* Scheduler bars from row 2; returns the next free row. */
static int draw_scheds(top_t *t, const Cleo__Introspect__Stats *s)
{
    int per = COLS / TOP_SCHED_W > 0 ? COLS / TOP_SCHED_W : 1;
    int row = 2;
    for (size_t i = 0; i < s->n_sched; i++) {
        int r = row + (int)i / per, col = (int)(i % per) * TOP_SCHED_W;
        double u = util(t, s, i);
        int fill = (int)(u * 20.0 + 0.5);
        mvprintw(r, col, "%3zu [", i);
        attron(A_BOLD);
        for (int k = 0; k < 20; k++)
            addch(k < fill ? '|' : ' ');
        attroff(A_BOLD);
        printw("] %5.1f%% q%-4u", u * 100.0, s->sched[i]->queue);
    }
    for (size_t i = 0; i < s->n_sched && i < 64; i++)
        t->busy[i] = s->sched[i]->busy_ns;
    t->up_ms = s->uptime_ms;
    row += ((int)s->n_sched + per - 1) / per;
    return draw_turns(s, row) + 1;
}

static void draw_actors(top_t *t, const adm_resp_t *a, int row)
{
    char mem[32];
    attron(A_REVERSE);
    mvprintw(row, 0, "%-14s %-20s %-20s %9s %12s %11s %5s", "PID", "NAME",
             "BEHAVIOUR", "MAILBOX", "MSGS", "MEMORY", "LONG");
    for (int x = getcurx(stdscr); x < COLS; x++)
        addch(' ');
    attroff(A_REVERSE);
    for (size_t i = 0; i < a->n_actor && row + 1 + (int)i < LINES - 1; i++) {
        const Cleo__Introspect__Actor *x = a->actor[i];
        mvprintw(row + 1 + (int)i, 0,
                 "%-14s %-20.20s %-20.20s %9llu %12llu %11s %5u", x->pid,
                 x->name[0] ? x->name : "-", x->behaviour,
                 (unsigned long long)x->mailbox, (unsigned long long)x->msgs,
                 adm_fmt_bytes(x->memory, mem, sizeof mem), x->long_turns);
    }
    attron(A_REVERSE);
    mvprintw(LINES - 1, 0,
             "sort: %-8s  m mailbox  b memory  r msgs  l long turns  p pid  "
             "q quit",
             t->sort[0] ? t->sort : "pid");
    attroff(A_REVERSE);
}

/* One refresh. @return 0 or <0 (t->err says why). */
static int draw(adm_conn_t *c, top_t *t)
{
    adm_resp_t *st, *a;
    if (fetch(c, t, CLEO__INTROSPECT__REQUEST__KIND__STATUS, 0, &st) < 0)
        return -1;
    int rows = LINES > 8 ? LINES : 8;
    if (fetch(c, t, CLEO__INTROSPECT__REQUEST__KIND__ACTORS, (uint32_t)rows,
              &a) < 0) {
        adm_resp_free(st);
        return -1;
    }
    erase();
    draw_header(t, st);
    int row = st->stats != NULL ? draw_scheds(t, st->stats) : 2;
    draw_actors(t, a, row);
    refresh();
    adm_resp_free(st);
    adm_resp_free(a);
    return 0;
}

/* A key. @return false to quit. */
static bool on_key(top_t *t, int ch)
{
    switch (ch) {
    case 'q':
    case 'Q':
        return false;
    case 'm':
        t->sort = "mailbox";
        break;
    case 'b':
        t->sort = "memory";
        break;
    case 'r':
        t->sort = "msgs";
        break;
    case 'l':
        t->sort = "long_turns";
        break;
    case 'p':
        t->sort = "";
        break;
    }
    return true;
}

int adm_top_run(adm_conn_t *c, const char *sort)
{
    top_t t = {.sort = sort != NULL ? sort : "msgs"};
    setlocale(LC_ALL, "");
    if (initscr() == NULL) {
        fprintf(stderr, "cleo-adm: top needs a terminal\n");
        return ADM_EXIT_NODE;
    }
    cbreak();
    noecho();
    curs_set(0);
    keypad(stdscr, TRUE);
    timeout(TOP_REFRESH_MS);
    int rc = 0;
    for (;;) {
        if (draw(c, &t) < 0) {
            rc = ADM_EXIT_NODE;
            break;
        }
        int ch = getch();
        if (ch != ERR && !on_key(&t, ch))
            break;
    }
    endwin();
    if (rc != 0)
        fprintf(stderr, "cleo-adm: %s\n", t.err);
    return rc;
}
