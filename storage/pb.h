/*
 * pb.h - building storage.proto records (private to storage/): the
 * allocation helpers and the user-metadata list that both the client
 * (requests) and the engine's jobs (replies) fill.
 */
#ifndef CLEO_STORAGE_PB_H
#define CLEO_STORAGE_PB_H

#include <stddef.h>

#include "proto/storage.pb-c.h"
#include "storage/sto.h"

/* calloc for record parts (at least one element); aborts on out-of-memory
 * (sizes are bounded by key and metadata limits). */
void *sto__pb_calloc(size_t n, size_t size);

/* A copy for a record; NULL and "" become protobuf-c's shared "".
 * @return gives: freed with the record. */
char *sto__pb_strdup(const char *s);

/* The n user-metadata pairs of v as MetaKV records.
 * @return gives: an array of n records, freed with the record. */
Cleo__Storage__MetaKV **sto__pb_user_meta(const sto_kv_t *v, size_t n);

/* The ObjectInfo record of m (its version, and deleted for a tombstone
 * from sto_head_any()). @return gives: free_unpacked. */
Cleo__Storage__ObjectInfo *sto__pb_object_info(const sto_meta_t *m);

/* Put options from a PutReq: *o borrows r's strings and the returned
 * array of user-metadata pairs. @return gives: free() it after use
 * (sto_put_begin copies what it keeps). */
sto_kv_t *sto__pb_put_opts(const Cleo__Storage__PutReq *r, sto_put_opts_t *o);

/* The version a replica's write carries (PutReq.version,
 * ObjectReq.version) into *v, and its last-modified into *lm_ms unless
 * it is 0 (*lm_ms then keeps the caller's default). @return false, with
 * nothing written, when r is NULL (a write that stamps its own). */
bool sto__pb_version(const Cleo__Storage__Version *r, sto_version_t *v,
                     uint64_t *lm_ms);

#endif /* CLEO_STORAGE_PB_H */
