/*
 * engine.h - the engine actor's database handle (private to storage/).
 *
 * The engine's pool jobs may still be running when the engine dies (a
 * kill does not wait for them), so the handle is reference-counted: the
 * engine holds one reference and each job in flight another, and the last
 * one to let go closes the database. The count is guarded by a mutex
 * because jobs finish on pool threads (sto.h: the engine is a thread-safe
 * library, as db.c's locks already make it).
 */
#ifndef CLEO_STORAGE_ENGINE_H
#define CLEO_STORAGE_ENGINE_H

#include <pthread.h>

#include "storage/sto.h"

typedef struct sto__dbref_s {
    sto_db_t *db;
    rt_t *rt;                /* the engine's runtime, for jobs that log */
    uint32_t write_delay_ms; /* test-only: engine write jobs sleep first */
    uint32_t refs;           /* guarded by lock; the database closes at 0 */
    pthread_mutex_t lock;
} sto__dbref_t;

/* Take another reference. @return ref. */
sto__dbref_t *sto__dbref_take(sto__dbref_t *ref);
/* Drop a reference; the last closes the database and frees ref. Accepts
 * NULL. */
void sto__dbref_drop(sto__dbref_t *ref);

#endif /* CLEO_STORAGE_ENGINE_H */
