/*
 * sign.c - AWS Signature V4 for the load generator (see sign.h). The
 * canonical request is the one the AWS documentation spells out for a
 * request without a query string; the payload is not hashed
 * (UNSIGNED-PAYLOAD), as clients do over TLS and as cleo accepts.
 */
#include "sign.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SIGNED_HEADERS "host;x-amz-content-sha256;x-amz-date"

static int copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

int lg_signer_init(lg_signer_t *s, const char *access_key,
                   const char *secret_key, const char *region)
{
    memset(s, 0, sizeof *s);
    if (copy(s->access_key, sizeof s->access_key, access_key) < 0 ||
        copy(s->secret_key, sizeof s->secret_key, secret_key) < 0 ||
        copy(s->region, sizeof s->region, region ? region : "us-east-1") < 0)
        return -1;
    return 0;
}

void lg_sign_date(time_t t, char *out)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, LG_SIGN_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hmac(const void *key, size_t klen, const char *msg, uint8_t out[32])
{
    unsigned int len = 32;
    return HMAC(EVP_sha256(), key, (int)klen, (const uint8_t *)msg, strlen(msg),
                out, &len) != NULL
               ? 0
               : -1;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), "s3"),
 * "aws4_request"), recomputed when the day changes. */
static int signing_key(lg_signer_t *s, const char *day)
{
    if (strcmp(s->_day, day) == 0)
        return 0;
    char k0[160];
    uint8_t a[32], b[32];
    snprintf(k0, sizeof k0, "AWS4%s", s->secret_key);
    if (hmac(k0, strlen(k0), day, a) < 0 || hmac(a, 32, s->region, b) < 0 ||
        hmac(b, 32, "s3", a) < 0 || hmac(a, 32, "aws4_request", s->_key) < 0)
        return -1;
    memcpy(s->_day, day, 9);
    return 0;
}

int lg_sign(lg_signer_t *s, const char *method, const char *host,
            const char *path, const char *amz_date, char *out)
{
    char day[9], creq[4096], sts[512], h[65], sig[65];
    uint8_t d[32];
    unsigned int dl = 0;
    memcpy(day, amz_date, 8);
    day[8] = '\0';
    int n = snprintf(creq, sizeof creq,
                     "%s\n%s\n\nhost:%s\nx-amz-content-sha256:UNSIGNED-"
                     "PAYLOAD\nx-amz-date:%s\n\n" SIGNED_HEADERS
                     "\nUNSIGNED-PAYLOAD",
                     method, path, host, amz_date);
    if (n < 0 || (size_t)n >= sizeof creq ||
        EVP_Digest(creq, (size_t)n, d, &dl, EVP_sha256(), NULL) != 1)
        return -1;
    hex(d, 32, h);
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s",
             amz_date, day, s->region, h);
    if (signing_key(s, day) < 0 || hmac(s->_key, 32, sts, d) < 0)
        return -1;
    hex(d, 32, sig);
    n = snprintf(out, LG_SIGN_AUTH_MAX,
                 "AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, "
                 "SignedHeaders=" SIGNED_HEADERS ", Signature=%s",
                 s->access_key, day, s->region, sig);
    return n > 0 && n < LG_SIGN_AUTH_MAX ? 0 : -1;
}
