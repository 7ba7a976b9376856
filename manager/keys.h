/*
 * keys.h - key pairs and the credentials file (private to manager/).
 */
#ifndef CLEO_MANAGER_KEYS_H
#define CLEO_MANAGER_KEYS_H

#include <stdint.h>

#include "manager/tab.h"

/* Wall-clock milliseconds. */
uint64_t mgr__now_ms(void);

/* Fill k with a new key pair for user from OpenSSL's RAND_bytes: an
 * access key of MGR_ACCESS_KEY_LEN [A-Z0-9] not already in t, and a
 * secret of MGR_SECRET_KEY_LEN base64 characters (30 random bytes).
 * @param t borrows; may be NULL. @return 0, CLEO_ESTATE (no entropy). */
int mgr__key_generate(mgr__key_t *k, const char *user, const mgr__tab_t *t);

/* Write the credentials file at path, mode 0600, replacing it
 * atomically (a temporary file renamed over it). Blocking: pool only.
 * @param endpoint, ak, sk borrow. @return 0 or -errno. */
int mgr__credentials_write(const char *path, const char *endpoint,
                           const char *ak, const char *sk);

#endif /* CLEO_MANAGER_KEYS_H */
