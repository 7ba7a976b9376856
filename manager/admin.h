/*
 * admin.h - the admin command actor's commands and their output
 * (private to manager/): admin.c parses and runs them, admin_out.c turns
 * results and errors into the AdminReply's text and JSON.
 */
#ifndef CLEO_MANAGER_ADMIN_H
#define CLEO_MANAGER_ADMIN_H

#include <stdbool.h>

#include "manager/mgr.h"
#include "proto/introspect.pb-c.h"
#include "proto/metrics.pb-c.h"
#include "proto/storage.pb-c.h"

typedef enum {
    MGR__CMD_USER_CREATE = 1,
    MGR__CMD_USER_LIST,
    MGR__CMD_USER_DELETE,
    MGR__CMD_BUCKET_CREATE,
    MGR__CMD_BUCKET_DELETE,
    MGR__CMD_BUCKET_LIST,
    MGR__CMD_BUCKET_DU,
    MGR__CMD_METRICS,      /* the metrics actor's counters (cleo-adm stats) */
    MGR__CMD_CLUSTER,      /* a cluster command, run by the agent (agent.h) */
    MGR__CMD_USER_IMPORT,  /* user import NAME ACCESS_KEY SECRET_KEY */
    MGR__CMD_USER_ROLE,    /* user role NAME admin|user */
    MGR__CMD_BUCKET_CHOWN, /* bucket chown NAME USER */
    MGR__CMD_BUCKET_ACL    /* bucket acl NAME [ACL]: show, or set */
} mgr__cmd_kind_t;

/* A parsed command line. Strings point into the request's argv. */
typedef struct mgr__cmd_s {
    mgr__cmd_kind_t kind;
    const char *name;   /* NAME, or NULL for the lists */
    const char *owner;  /* --owner USER, or NULL */
    const char *value;  /* import: ACCESS_KEY; role: admin|user; chown:
                           USER; acl: the ACL, or NULL to show it */
    const char *secret; /* import: SECRET_KEY */
} mgr__cmd_t;

/* Is kind a user command (user create, list, delete, import, role)? */
bool mgr__cmd_is_user(mgr__cmd_kind_t kind);

/* Parse argv, checking the names, key formats, role and ACL words.
 * @param err one line on failure.
 * @return 0, CLEO_EBADREQ (unknown command, missing or extra argument,
 * unknown option, a bad user name, access key, secret, role or ACL). */
int mgr__cmd_parse(int argc, char *const *argv, mgr__cmd_t *out, char *err,
                   size_t errlen);

/* The usage text of every command. Static. */
const char *mgr__cmd_usage(void);

/* A reply for status rc, with text and json (either may be NULL = "").
 * @param text, json take (malloc'd). Aborts on out-of-memory (a fixed
 * struct: cleo_xcalloc). */
Cleo__Introspect__AdminReply *mgr__reply_new(int rc, char *text, char *json);

/* A copy of s (NULL = ""), aborting on out-of-memory (bounded strings,
 * STYLE rule 26). @return gives: free(). */
char *mgr__xstrdup(const char *s);

/* The error reply of command c whose call or operation failed with rc
 * (one line naming what went wrong). */
Cleo__Introspect__AdminReply *mgr__reply_error(const mgr__cmd_t *c, int rc);

/* As mgr__reply_error(), for a user change in a cluster: detail (borrows;
 * NULL or "" = none) is the managers' one line on a refusal, shown where
 * the usual line would not say why (CLEO_ESTATE of a user that is no
 * admin: it owns buckets). */
Cleo__Introspect__AdminReply *mgr__reply_refused(const mgr__cmd_t *c, int rc,
                                                 const char *detail);

/* The success replies. @param pb borrows the operation's result. */
Cleo__Introspect__AdminReply *
mgr__reply_user_created(const Cleo__Manager__AccessKey *k);
Cleo__Introspect__AdminReply *
mgr__reply_user_list(const Cleo__Manager__UserList *l);
Cleo__Introspect__AdminReply *mgr__reply_done(const mgr__cmd_t *c);
Cleo__Introspect__AdminReply *
mgr__reply_bucket_list(const Cleo__Storage__BucketList *l, const char *owner);
Cleo__Introspect__AdminReply *
mgr__reply_bucket_du(const Cleo__Storage__BucketInfo *b);
/* bucket acl NAME: the bucket's ACL ("" shows as private) and owner. */
Cleo__Introspect__AdminReply *
mgr__reply_bucket_acl(const Cleo__Storage__BucketInfo *b);
/* The error reply CLEO_ENOTFOUND "no such user 'name'" (borrows): the
 * user a bucket command names (create --owner, chown) is unknown. */
Cleo__Introspect__AdminReply *mgr__reply_no_user(const char *name);
/* The counters as text lines "name value" and a JSON object
 * {"name": value}, both in the record's order (sorted by name). */
Cleo__Introspect__AdminReply *
mgr__reply_metrics(const Cleo__Metrics__Counters *all);

#endif /* CLEO_MANAGER_ADMIN_H */
