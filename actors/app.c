/*
 * app.c - applications: a top supervisor started, watched and stopped as
 * a unit from a non-actor thread (the node's main), through an inbox that
 * monitors it, as OTP's application master does.
 */
#include <stdlib.h>

#include "actors/gen.h"

#define APP_FREE_WAIT_MS 10000 /* app_free: how long a stop may take */

struct app_s {
    rt_t *rt;
    const app_spec_t *spec;
    rt_inbox_t *ib; /* monitors top */
    rt_pid_t top;
    bool done;  /* top's DOWN arrived */
    int reason; /* its exit reason, once done */
};

int app_start(rt_t *rt, const app_spec_t *spec, app_t **out)
{
    if (rt == NULL || spec == NULL || spec->name == NULL ||
        spec->start == NULL || out == NULL)
        return CLEO_EINVAL;
    if (rt_on_scheduler())
        return CLEO_EDEADLK;
    app_t *app = gen__xcalloc(sizeof *app);
    app->rt = rt;
    app->spec = spec;
    int rc = rt_inbox_new(rt, &app->ib);
    if (rc < 0)
        goto fail;
    if ((rc = spec->start(rt, spec->arg, &app->top)) < 0)
        goto fail_ib;
    /* A top that already died is seen as a DOWN with reason noproc. */
    if ((rc = rt_inbox_monitor(app->ib, app->top)) < 0)
        goto fail_ib;
    *out = app;
    return 0;
fail_ib:
    rt_inbox_free(app->ib);
fail:
    free(app);
    return rc;
}

int app_wait(app_t *app, uint32_t timeout_ms, int *reason)
{
    if (!app->done) {
        int rc = gen__await_down(app->rt, app->ib, app->top, timeout_ms,
                                 &app->reason);
        if (rc < 0)
            return rc;
        app->done = true;
    }
    if (reason != NULL)
        *reason = app->reason;
    return 0;
}

int app_stop(app_t *app, uint32_t timeout_ms)
{
    if (app->done)
        return 0;
    /* A dead top needs no signal; its DOWN is on its way. */
    (void)rt_exit(app->rt, app->top, RT_REASON_SHUTDOWN);
    return app_wait(app, timeout_ms, NULL);
}

rt_pid_t app_top(const app_t *app)
{
    return app->top;
}

void app_free(app_t *app)
{
    if (app == NULL)
        return;
    if (!app->done && app_stop(app, APP_FREE_WAIT_MS) == CLEO_ETIMEDOUT) {
        /* The tree would not stop in time: kill the top, as OTP's
         * application master does after its shutdown timeout. */
        (void)rt_exit(app->rt, app->top, RT_REASON_KILL);
        (void)app_wait(app, APP_FREE_WAIT_MS, NULL);
    }
    rt_inbox_free(app->ib);
    free(app);
}
