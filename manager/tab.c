/*
 * tab.c - the users and access keys in memory: sorted arrays (tab.h).
 */
#include "manager/tab.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* bisect() compares the string each element starts with. */
_Static_assert(offsetof(mgr__user_t, name) == 0, "user key first");
_Static_assert(offsetof(mgr__key_t, access) == 0, "access key first");

void mgr__tab_destroy(mgr__tab_t *t)
{
    if (t == NULL)
        return;
    free(t->users);
    free(t->keys);
    memset(t, 0, sizeof *t);
}

/* The index of the first element of the n-element array base (elements
 * of `size` bytes, each starting with its NUL-terminated key) that is not
 * below key; *found says whether it equals key. */
static size_t bisect(const void *base, size_t n, size_t size, const char *key,
                     bool *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp((const char *)base + mid * size, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < n && strcmp((const char *)base + lo * size, key) == 0;
    return lo;
}

/* Make room for one more element at index i of an array of n. */
static void *open_slot(void *base, size_t *n, size_t *cap, size_t size,
                       size_t i)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        base = cleo_xrealloc(base, *cap * size); /* STYLE rule 26 */
    }
    char *b = base;
    memmove(b + (i + 1) * size, b + i * size, (*n - i) * size);
    (*n)++;
    return base;
}

static void close_slot(void *base, size_t *n, size_t size, size_t i)
{
    char *b = base;
    memmove(b + i * size, b + (i + 1) * size, (*n - i - 1) * size);
    (*n)--;
}

mgr__user_t *mgr__tab_user(const mgr__tab_t *t, const char *name)
{
    bool found;
    size_t i = bisect(t->users, t->nusers, sizeof *t->users, name, &found);
    return found ? &t->users[i] : NULL;
}

mgr__key_t *mgr__tab_key(const mgr__tab_t *t, const char *ak)
{
    bool found;
    size_t i = bisect(t->keys, t->nkeys, sizeof *t->keys, ak, &found);
    return found ? &t->keys[i] : NULL;
}

void mgr__tab_put_user(mgr__tab_t *t, const mgr__user_t *u)
{
    bool found;
    size_t i = bisect(t->users, t->nusers, sizeof *t->users, u->name, &found);
    if (!found)
        t->users =
            open_slot(t->users, &t->nusers, &t->capusers, sizeof *t->users, i);
    t->users[i] = *u;
}

void mgr__tab_put_key(mgr__tab_t *t, const mgr__key_t *k)
{
    bool found;
    size_t i = bisect(t->keys, t->nkeys, sizeof *t->keys, k->access, &found);
    if (!found)
        t->keys =
            open_slot(t->keys, &t->nkeys, &t->capkeys, sizeof *t->keys, i);
    t->keys[i] = *k;
}

void mgr__tab_del_user(mgr__tab_t *t, const char *name)
{
    bool found;
    size_t i = bisect(t->users, t->nusers, sizeof *t->users, name, &found);
    if (found)
        close_slot(t->users, &t->nusers, sizeof *t->users, i);
}

void mgr__tab_del_key(mgr__tab_t *t, const char *ak)
{
    bool found;
    size_t i = bisect(t->keys, t->nkeys, sizeof *t->keys, ak, &found);
    if (found)
        close_slot(t->keys, &t->nkeys, sizeof *t->keys, i);
}
