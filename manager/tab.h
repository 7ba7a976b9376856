/*
 * tab.h - the users and access keys in memory (private to manager/): two
 * arrays sorted by name and by access key, searched by bisection. The
 * sets are small (people and their scripts), so a sorted array beats a
 * hash table on simplicity and gives the listings their order for free.
 * Owned by one thread at a time: the load job builds it on the pool and
 * hands it to mgr_users, whose handlers alone touch it afterwards.
 */
#ifndef CLEO_MANAGER_TAB_H
#define CLEO_MANAGER_TAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manager/mgr.h"

typedef struct mgr__user_s {
    char name[MGR_USER_MAX + 1];
    uint64_t created_ms; /* wall clock */
    bool is_admin;
} mgr__user_t;

typedef struct mgr__key_s {
    char access[MGR_KEY_MAX + 1];
    char secret[MGR_KEY_MAX + 1];
    char user[MGR_USER_MAX + 1];
    uint64_t created_ms; /* wall clock */
} mgr__key_t;

typedef struct mgr__tab_s {
    mgr__user_t *users; /* sorted by name, unique */
    size_t nusers, capusers;
    mgr__key_t *keys; /* sorted by access key, unique */
    size_t nkeys, capkeys;
} mgr__tab_t;

/* Release the arrays (the struct is the caller's). Accepts NULL. */
void mgr__tab_destroy(mgr__tab_t *t);

/* The user called name, or NULL. @return valid until t changes. */
mgr__user_t *mgr__tab_user(const mgr__tab_t *t, const char *name);
/* The key whose access key is ak, or NULL. @return valid until t
 * changes. */
mgr__key_t *mgr__tab_key(const mgr__tab_t *t, const char *ak);

/* Insert or replace (same name / access key). Aborts on out-of-memory
 * (the arrays are control structures of the node's own size). */
void mgr__tab_put_user(mgr__tab_t *t, const mgr__user_t *u);
void mgr__tab_put_key(mgr__tab_t *t, const mgr__key_t *k);

/* Remove; nothing happens if absent. */
void mgr__tab_del_user(mgr__tab_t *t, const char *name);
void mgr__tab_del_key(mgr__tab_t *t, const char *ak);

#endif /* CLEO_MANAGER_TAB_H */
