/*
 * sign.h - a minimal AWS Signature V4 signer for the load generator: the
 * Authorization header of a request signed with UNSIGNED-PAYLOAD, over the
 * headers host, x-amz-content-sha256 and x-amz-date, without a query
 * string. HMAC and SHA-256 come from OpenSSL's libcrypto. Private to
 * bench/s3/.
 */
#ifndef CLEO_BENCH_S3_SIGN_H
#define CLEO_BENCH_S3_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define LG_SIGN_DATE_LEN 16  /* "20261125T170000Z" */
#define LG_SIGN_AUTH_MAX 512 /* bytes of an Authorization value */

typedef struct {
    char access_key[128];
    char secret_key[128];
    char region[32];
    /* private: the signing key is derived once per day */
    char _day[9];
    uint8_t _key[32];
} lg_signer_t;

/** Set up a signer. @param access_key, secret_key, region borrow (copied;
 *  region NULL = "us-east-1"). @return 0, or -1 if a string is too long. */
int lg_signer_init(lg_signer_t *s, const char *access_key,
                   const char *secret_key, const char *region);

/** Format t (UTC) as x-amz-date into out (LG_SIGN_DATE_LEN + 1 bytes). */
void lg_sign_date(time_t t, char *out);

/** The Authorization header value of one request.
 *  @param method, host (as sent in Host:), path (already URI-encoded,
 *  starting with '/'), amz_date (from lg_sign_date) borrow.
 *  @param out borrows LG_SIGN_AUTH_MAX bytes, NUL-terminated on return.
 *  @return 0, or -1 if libcrypto failed. */
int lg_sign(lg_signer_t *s, const char *method, const char *host,
            const char *path, const char *amz_date, char *out);

#endif /* CLEO_BENCH_S3_SIGN_H */
