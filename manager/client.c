/*
 * client.c - request messages for mgr_users and the blocking clients
 * (mgr.h): build a manager.proto request, call the registered server,
 * take the status and record out of the reply.
 */
#include <stdlib.h>
#include <string.h>

#include "actors/actors.h"
#include "manager/mgr.h"

static char *xstrdup(const char *s)
{
    size_t n = strlen(s != NULL ? s : "") + 1;
    /* bounded by the caller (STYLE rule 26) */
    return memcpy(cleo_xmalloc(n), s != NULL ? s : "", n);
}

static void *xcalloc(size_t size)
{
    return cleo_xcalloc(1, size);
}

rt_msg_t *mgr_msg_new(uint32_t type, const char *arg)
{
    rt_msg_t *m = rt_msg_new(type);
    if (type == MGR_MSG_KEY_LOOKUP) {
        Cleo__Manager__KeyReq *r = xcalloc(sizeof *r);
        cleo__manager__key_req__init(r);
        r->access_key = xstrdup(arg);
        rt_msg_set_pb(m, r);
    } else if (type != MGR_MSG_USER_LIST) {
        Cleo__Manager__UserReq *r = xcalloc(sizeof *r);
        cleo__manager__user_req__init(r);
        r->name = xstrdup(arg);
        rt_msg_set_pb(m, r);
    }
    return m;
}

/* Call mgr_users with req and return the reply's status; on 0, *out
 * gives the reply's payload (NULL if none) unless out is NULL. */
static int call(rt_t *rt, rt_msg_t *req, void **out)
{
    rt_pid_t pid = rt_whereis(rt, MGR_USERS_NAME);
    if (pid == RT_PID_NONE) {
        rt_msg_free(req);
        return CLEO_ENOPROC;
    }
    rt_msg_t *reply;
    int rc = gen_server_call_sync(rt, pid, req, MGR_CLIENT_TIMEOUT_MS, &reply);
    if (rc < 0)
        return rc;
    rc = reply->reason;
    if (rc == 0 && out != NULL) {
        *out = reply->payload;
        reply->payload = NULL; /* given to the caller */
    }
    rt_msg_free(reply);
    return rc;
}

/* A call whose reply record (if any) goes to *out, or is freed when out
 * is NULL. */
static int call_out(rt_t *rt, uint32_t type, const char *arg, void **out)
{
    void *p = NULL;
    int rc = call(rt, mgr_msg_new(type, arg), &p);
    if (rc == 0 && out != NULL)
        *out = p;
    else if (rc == 0 && p != NULL)
        protobuf_c_message_free_unpacked(p, NULL);
    return rc;
}

int mgr_client_user_create_sync(rt_t *rt, const char *name,
                                Cleo__Manager__AccessKey **out)
{
    return call_out(rt, MGR_MSG_USER_CREATE, name, (void **)out);
}

int mgr_client_user_delete_sync(rt_t *rt, const char *name)
{
    return call_out(rt, MGR_MSG_USER_DELETE, name, NULL);
}

int mgr_client_user_list_sync(rt_t *rt, Cleo__Manager__UserList **out)
{
    return call_out(rt, MGR_MSG_USER_LIST, NULL, (void **)out);
}

int mgr_client_user_get_sync(rt_t *rt, const char *name,
                             Cleo__Manager__UserInfo **out)
{
    return call_out(rt, MGR_MSG_USER_GET, name, (void **)out);
}

int mgr_client_key_lookup_sync(rt_t *rt, const char *access_key,
                               Cleo__Manager__KeyInfo **out)
{
    return call_out(rt, MGR_MSG_KEY_LOOKUP, access_key, (void **)out);
}
