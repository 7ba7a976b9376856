/*
 * keys.h - access keys for the S3 API (private to gateway/): the manager
 * owns users and keys (manager/contract.h: the mgr_users actor answers
 * MGR_MSG_KEY_LOOKUP); each connection keeps a few recent answers for a
 * few seconds, so a keep-alive client costs one lookup, not one per
 * request, and a deleted key stops working within GW_KEY_TTL_MS.
 */
#ifndef CLEO_GATEWAY_KEYS_H
#define CLEO_GATEWAY_KEYS_H

#include <stdbool.h>

#include "gateway/auth.h"
#include "gateway/conn.h"

#define GW_KEY_TTL_MS 5000u
#define GW_KEY_SLOTS 4

typedef struct gw_key_s {
    char access_key[GW_AUTH_AK_MAX + 1];
    char secret[GW_AUTH_AK_MAX + 1];
    char user[128];
    bool is_admin;
} gw_key_t;

/* The key's owner is known (status 0, k valid during the call) or not
 * (status GW_EACCESSKEY, or the call's error). Return 0 or an error to
 * answer with. */
typedef int (*gw_key_fn)(gw_req_t *r, const gw_key_t *k, int status);

/* Find access_key (borrows): fn runs now on a cache hit, else when the
 * manager answers. @return 0 (fn will run or ran), or an error (fn will
 * not run). */
int gw__keys_lookup(gw_req_t *r, const char *access_key, gw_key_fn fn);

/* The connection's SigV4 signing-key cache. */
gw_sigv4_cache_t *gw__keys_sigcache(gw_req_t *r);

/* Free a connection's key state (gw_api_t.conn_free). */
void gw__keys_free(void *state);

#endif /* CLEO_GATEWAY_KEYS_H */
