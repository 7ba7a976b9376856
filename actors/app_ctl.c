/*
 * app_ctl.c - applications that depend on one another, as OTP's
 * application controller runs them: starting one starts what it depends
 * on first (ensure_all_started), and stopping goes in reverse, so that
 * no application runs without the ones it needs.
 *
 * The running applications are kept in start order. Every start follows
 * a dependency order, so that list is one too, and its reverse is a safe
 * stop order.
 */
#include <stdlib.h>
#include <string.h>

#include "actors/gen.h"

#define CTL_FREE_WAIT_MS 10000u /* app_ctl_free: each stop's timeout */

enum { WHITE = 0, GREY, BLACK }; /* depth-first marks */

typedef struct ctl_ent_s {
    const app_spec_t *spec; /* borrows: static */
    app_t *app;             /* while running; NULL otherwise */
    int mark;               /* during a plan only */
} ctl_ent_t;

struct app_ctl_s {
    rt_t *rt;
    ctl_ent_t *v;
    size_t n;
    size_t *running; /* indexes of v, in start order */
    size_t nrunning;
};

static ctl_ent_t *find(app_ctl_t *c, const char *name, size_t *at)
{
    for (size_t i = 0; name != NULL && i < c->n; i++)
        if (strcmp(c->v[i].spec->name, name) == 0) {
            if (at != NULL)
                *at = i;
            return &c->v[i];
        }
    return NULL;
}

int app_ctl_new(rt_t *rt, const app_spec_t *const *specs, size_t n,
                app_ctl_t **out)
{
    if (rt == NULL || (specs == NULL && n > 0) || out == NULL)
        return CLEO_EINVAL;
    app_ctl_t *c = gen__xcalloc(sizeof *c);
    c->rt = rt;
    c->v = gen__xcalloc((n ? n : 1) * sizeof *c->v);
    c->running = gen__xcalloc((n ? n : 1) * sizeof *c->running);
    for (size_t i = 0; i < n; i++) {
        const app_spec_t *s = specs[i];
        if (s == NULL || s->name == NULL || s->start == NULL ||
            find(c, s->name, NULL) != NULL) {
            app_ctl_free(c);
            return CLEO_EINVAL;
        }
        c->v[c->n++].spec = s;
    }
    *out = c;
    return 0;
}

/* Append to plan, after its dependencies, every application i needs that
 * is not running, i included (a depth-first walk: grey = on the current
 * path, so meeting one again is a cycle). @return 0, CLEO_ENOTFOUND,
 * CLEO_EINVAL (a cycle). */
static int plan_add(app_ctl_t *c, size_t i, size_t *plan, size_t *n)
{
    ctl_ent_t *e = &c->v[i];
    if (e->mark == GREY)
        return CLEO_EINVAL;
    if (e->mark == BLACK)
        return 0;
    e->mark = GREY;
    for (const char *const *d = e->spec->deps; d != NULL && *d != NULL; d++) {
        size_t j;
        if (find(c, *d, &j) == NULL)
            return CLEO_ENOTFOUND;
        int rc = plan_add(c, j, plan, n);
        if (rc < 0)
            return rc;
    }
    e->mark = BLACK;
    if (e->app == NULL)
        plan[(*n)++] = i;
    return 0;
}

/* Stop the running application at position k of the start order,
 * killing it after timeout_ms. @return 0 or CLEO_ETIMEDOUT. */
static int stop_at(app_ctl_t *c, size_t k, uint32_t timeout_ms)
{
    ctl_ent_t *e = &c->v[c->running[k]];
    int rc = app_stop(e->app, timeout_ms);
    if (rc == CLEO_ETIMEDOUT) /* OTP's application master kills too */
        (void)rt_exit(c->rt, app_top(e->app), RT_REASON_KILL);
    app_free(e->app);
    e->app = NULL;
    memmove(&c->running[k], &c->running[k + 1],
            (c->nrunning - k - 1) * sizeof *c->running);
    c->nrunning--;
    return rc == CLEO_ETIMEDOUT ? rc : 0;
}

/* Start the planned applications in order; after a failure, stop those
 * this call started, newest first. */
static int run_plan(app_ctl_t *c, const size_t *plan, size_t n)
{
    size_t first = c->nrunning;
    for (size_t k = 0; k < n; k++) {
        ctl_ent_t *e = &c->v[plan[k]];
        int rc = app_start(c->rt, e->spec, &e->app);
        if (rc < 0) {
            e->app = NULL;
            while (c->nrunning > first)
                (void)stop_at(c, c->nrunning - 1, CTL_FREE_WAIT_MS);
            return rc;
        }
        c->running[c->nrunning++] = plan[k];
    }
    return 0;
}

int app_ctl_start(app_ctl_t *c, const char *name)
{
    size_t i, n = 0;
    if (c == NULL)
        return CLEO_EINVAL;
    if (rt_on_scheduler())
        return CLEO_EDEADLK;
    if (find(c, name, &i) == NULL)
        return CLEO_ENOTFOUND;
    for (size_t k = 0; k < c->n; k++)
        c->v[k].mark = WHITE;
    size_t *plan = gen__xcalloc(c->n * sizeof *plan);
    int rc = plan_add(c, i, plan, &n);
    if (rc == 0)
        rc = run_plan(c, plan, n);
    free(plan);
    return rc;
}

/* True if the application at index i depends directly on one marked. */
static bool needs_marked(app_ctl_t *c, size_t i)
{
    for (const char *const *d = c->v[i].spec->deps; d != NULL && *d != NULL;
         d++) {
        const ctl_ent_t *e = find(c, *d, NULL);
        if (e != NULL && e->mark == BLACK)
            return true;
    }
    return false;
}

int app_ctl_stop(app_ctl_t *c, const char *name, uint32_t timeout_ms)
{
    size_t i;
    if (c == NULL || find(c, name, &i) == NULL)
        return CLEO_ENOTFOUND;
    if (c->v[i].app == NULL)
        return 0;
    /* Mark it and, in start order (dependencies first), every running
     * application that needs a marked one; then stop the marked ones
     * newest first. */
    for (size_t k = 0; k < c->n; k++)
        c->v[k].mark = k == i ? BLACK : WHITE;
    for (size_t k = 0; k < c->nrunning; k++)
        if (needs_marked(c, c->running[k]))
            c->v[c->running[k]].mark = BLACK;
    int rc = 0;
    for (size_t k = c->nrunning; k-- > 0;) {
        if (c->v[c->running[k]].mark != BLACK)
            continue;
        int r = stop_at(c, k, timeout_ms);
        if (rc == 0)
            rc = r;
    }
    return rc;
}

int app_ctl_stop_all(app_ctl_t *c, uint32_t timeout_ms)
{
    int rc = 0;
    while (c != NULL && c->nrunning > 0) {
        int r = stop_at(c, c->nrunning - 1, timeout_ms);
        if (rc == 0)
            rc = r;
    }
    return rc;
}

app_t *app_ctl_app(app_ctl_t *c, const char *name)
{
    ctl_ent_t *e = c != NULL ? find(c, name, NULL) : NULL;
    return e != NULL ? e->app : NULL;
}

size_t app_ctl_which(app_ctl_t *c, const char **out, size_t max)
{
    for (size_t k = 0; k < c->nrunning && k < max; k++)
        out[k] = c->v[c->running[k]].spec->name;
    return c->nrunning;
}

void app_ctl_free(app_ctl_t *c)
{
    if (c == NULL)
        return;
    (void)app_ctl_stop_all(c, CTL_FREE_WAIT_MS);
    free(c->running);
    free(c->v);
    free(c);
}
