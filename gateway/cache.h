/*
 * cache.h - the gateway's object cache (private to gateway/): one actor,
 * registered as GW_CACHE_NAME, holding small hot objects (at most
 * cache_max_object_bytes each, cache_max_bytes in all) in an LRU. The
 * connection actors ask it before storage on GET/HEAD and fill it after
 * a whole-object read; every PUT/DELETE/COPY/multipart complete through
 * this gateway invalidates the key first. Hits and misses are counted in
 * the metrics actor (gw.cache.hit / gw.cache.miss: cleo-adm stats).
 */
#ifndef CLEO_GATEWAY_CACHE_H
#define CLEO_GATEWAY_CACHE_H

#include "gateway/gw.h"

#define GW_CACHE_NAME "gw_cache"
#define GW_MSG_CACHE_GET (0x47570100u)  /* ObjectReq -> body or ENOTFOUND */
#define GW_MSG_CACHE_PUT (0x47570101u)  /* body {ObjectInfo, bytes}, cast */
#define GW_MSG_CACHE_DROP (0x47570102u) /* ObjectReq, cast */

/* Invalidate bucket/key (borrows) in the cache, if there is one. */
void gw__cache_drop(rt_t *rt, const char *bucket, const char *key);

#endif /* CLEO_GATEWAY_CACHE_H */
