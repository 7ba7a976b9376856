/*
 * err.c - names and messages for every CLEO_E* code and exit reason.
 */
#include <string.h>

#include "runtime/rt.h"

typedef struct {
    int code;
    const char *name;
    const char *msg;
} err_entry_t;

static const err_entry_t errs[] = {
    {CLEO_ENOTFOUND, "CLEO_ENOTFOUND", "not found"},
    {CLEO_EINVAL, "CLEO_EINVAL", "invalid argument"},
    {CLEO_EBADPID, "CLEO_EBADPID", "malformed or never-valid pid"},
    {CLEO_ENOPROC, "CLEO_ENOPROC", "no such actor (dead)"},
    {CLEO_EEXIST, "CLEO_EEXIST", "already exists"},
    {CLEO_ELIMIT, "CLEO_ELIMIT", "limit reached"},
    {CLEO_ESHUTDOWN, "CLEO_ESHUTDOWN", "runtime is shutting down"},
    {CLEO_ETIMEDOUT, "CLEO_ETIMEDOUT", "timed out"},
    {CLEO_EDEADLK, "CLEO_EDEADLK", "blocking call on a scheduler thread"},
    {CLEO_ENOMEM, "CLEO_ENOMEM", "out of memory"},
    {CLEO_EPROTO, "CLEO_EPROTO", "malformed message or frame"},
    {CLEO_ESTORAGE, "CLEO_ESTORAGE", "storage engine error"},
    {CLEO_EBADREQ, "CLEO_EBADREQ", "malformed request"},
    {CLEO_EPANIC, "CLEO_EPANIC", "actor panicked"},
    {CLEO_ESTATE, "CLEO_ESTATE", "not valid in this state"},
    {CLEO_EOVERLOAD, "CLEO_EOVERLOAD", "receiver over its mailbox limit"},
    {CLEO_ENOCONNECTION, "CLEO_ENOCONNECTION", "no connection to the node"},
};

static const err_entry_t reasons[] = {
    {RT_REASON_NORMAL, "normal", "normal exit"},
    {RT_REASON_KILL, "kill", "kill"},
    {RT_REASON_KILLED, "killed", "killed"},
    {RT_REASON_NOPROC, "noproc", "no such actor"},
    {RT_REASON_SHUTDOWN, "shutdown", "shutdown"},
    {RT_REASON_NOCONNECTION, "noconnection", "connection to node lost"},
};

static const err_entry_t *find(const err_entry_t *t, size_t n, int code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return &t[i];
    return NULL;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *cleo_err_name(int err)
{
    const err_entry_t *e = find(errs, NELEM(errs), err);
    if (e != NULL)
        return e->name;
    if (err < 0 && err > -4096) {
        const char *n = strerrorname_np(-err);
        if (n != NULL)
            return n;
    }
    return err == 0 ? "OK" : "UNKNOWN";
}

const char *cleo_strerror(int err)
{
    const err_entry_t *e = find(errs, NELEM(errs), err);
    if (e != NULL)
        return e->msg;
    if (err < 0 && err > -4096)
        return strerrordesc_np(-err);
    return err == 0 ? "success" : "unknown error";
}

const char *rt_reason_name(int reason)
{
    const err_entry_t *e = find(reasons, NELEM(reasons), reason);
    return e != NULL ? e->name : cleo_err_name(reason);
}
