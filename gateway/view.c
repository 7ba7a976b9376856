/*
 * view.c - the holder of a cluster gateway's snapshots (view.h): the
 * current pointer and the reference counts, under one mutex.
 */
#include "gateway/view.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct gw_ringref_s {
    ring_t *ring;
    uint32_t refs; /* snapshots holding it; under the view's lock */
};

struct gw_view_s {
    pthread_mutex_t lock; /* guards cur and every _refs below it */
    gw_snap_t *cur;       /* one reference; NULL before the first state */
};

gw_view_t *gw_view_new(void)
{
    gw_view_t *v = cleo_xcalloc(1, sizeof *v);
    pthread_mutex_init(&v->lock, NULL);
    return v;
}

static void snap_free(gw_snap_t *s)
{
    if (s->_ringref != NULL) {
        ring_free(s->_ringref->ring);
        free(s->_ringref);
    }
    cleo__cluster__cluster_state__free_unpacked(
        (Cleo__Cluster__ClusterState *)s->st, NULL);
    free(s);
}

/* Drop one reference to s and, if it was the last, to its RING; with the
 * lock held. @return true if s must be freed (after unlocking). */
static bool unref_locked(gw_snap_t *s)
{
    if (--s->_refs > 0)
        return false;
    if (s->_ringref != NULL && --s->_ringref->refs > 0)
        s->_ringref = NULL; /* another snapshot still uses the RING */
    return true;
}

void gw_view_free(gw_view_t *v)
{
    if (v == NULL)
        return;
    if (v->cur != NULL && unref_locked(v->cur))
        snap_free(v->cur);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

gw_snap_t *gw__view_get(gw_view_t *v)
{
    if (v == NULL)
        return NULL;
    pthread_mutex_lock(&v->lock);
    gw_snap_t *s = v->cur;
    if (s != NULL)
        s->_refs++;
    pthread_mutex_unlock(&v->lock);
    return s;
}

void gw__snap_release(gw_snap_t *s)
{
    if (s == NULL)
        return;
    gw_view_t *v = s->_view;
    pthread_mutex_lock(&v->lock);
    bool last = unref_locked(s);
    pthread_mutex_unlock(&v->lock);
    if (last)
        snap_free(s);
}

/* The RING of the new state: the current snapshot's when it is the same
 * version and checksum (one more reference, taken under the lock), else
 * a new one built from pb (outside the lock: it costs milliseconds). */
static int ring_of(gw_view_t *v, const Cleo__Cluster__Ring *pb,
                   gw_ringref_t **out)
{
    *out = NULL;
    if (pb == NULL || (pb->version == 0 && pb->n_entries == 0))
        return 0; /* no RING yet */
    pthread_mutex_lock(&v->lock);
    gw_ringref_t *cur = v->cur != NULL ? v->cur->_ringref : NULL;
    if (cur != NULL && ring_version(cur->ring) == pb->version &&
        ring_checksum(cur->ring) == pb->checksum) {
        cur->refs++;
        *out = cur;
    }
    pthread_mutex_unlock(&v->lock);
    if (*out != NULL)
        return 0;
    ring_t *r;
    int rc = ring_from_pb(pb, &r);
    if (rc == CLEO_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    gw_ringref_t *rr = malloc(sizeof *rr);
    if (rr == NULL) {
        ring_free(r);
        return CLEO_ENOMEM;
    }
    rr->ring = r;
    rr->refs = 1;
    *out = rr;
    return 0;
}

int gw__view_publish(gw_view_t *v, const uint8_t *buf, size_t len)
{
    Cleo__Cluster__ClusterState *st =
        cleo__cluster__cluster_state__unpack(NULL, len, buf);
    if (st == NULL)
        return CLEO_EPROTO;
    gw_snap_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        cleo__cluster__cluster_state__free_unpacked(st, NULL);
        return CLEO_ENOMEM;
    }
    s->st = st;
    s->_view = v;
    s->_refs = 1; /* the holder's */
    int rc = ring_of(v, st->ring_cur, &s->_ringref);
    if (rc < 0) {
        snap_free(s);
        return rc == CLEO_ENOMEM ? rc : CLEO_EPROTO;
    }
    s->ring = s->_ringref != NULL ? s->_ringref->ring : NULL;
    s->n = st->conf != NULL && st->conf->n > 0 ? st->conf->n : 1;
    s->applied = st->applied_index;
    pthread_mutex_lock(&v->lock);
    gw_snap_t *old = v->cur;
    v->cur = s;
    bool last = old != NULL && unref_locked(old);
    pthread_mutex_unlock(&v->lock);
    if (last)
        snap_free(old);
    return 0;
}

const Cleo__Cluster__Bucket *gw__snap_bucket(const gw_snap_t *s,
                                             const char *name)
{
    size_t lo = 0, hi = s->st->n_buckets;
    while (lo < hi) { /* the state keeps buckets sorted by name */
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->st->buckets[mid]->name, name);
        if (c == 0)
            return s->st->buckets[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const Cleo__Cluster__Member *gw__snap_member(const gw_snap_t *s,
                                             const char *node)
{
    size_t lo = 0, hi = s->st->n_members;
    while (lo < hi) { /* sorted by node */
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->st->members[mid]->node, node);
        if (c == 0)
            return s->st->members[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
