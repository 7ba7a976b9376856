/*
 * keys.c - names, key pairs and the credentials file: what a user and a
 * key may look like, how new ones are drawn (OpenSSL's CSPRNG, never
 * rand()), and the file an operator reads the admin's pair from.
 */
#include "manager/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#define ACCESS_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define B64_ALPHABET                                                           \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

_Static_assert(MGR_SECRET_KEY_LEN % 4 == 0, "secret is whole base64 quads");

uint64_t mgr__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

bool mgr_user_name_is_valid(const char *name)
{
    if (name == NULL || !is_alnum(name[0]))
        return false;
    size_t n = 0;
    for (; name[n] != '\0'; n++) {
        char c = name[n];
        if (n >= MGR_USER_MAX ||
            !(is_alnum(c) || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool mgr_access_key_is_valid(const char *s)
{
    size_t n = 0;
    for (; s != NULL && s[n] != '\0'; n++)
        if (n >= MGR_KEY_MAX || !is_alnum(s[n]))
            return false;
    return n >= 3;
}

bool mgr_secret_key_is_valid(const char *s)
{
    size_t n = 0;
    for (; s != NULL && s[n] != '\0'; n++)
        if (n >= MGR_KEY_MAX || s[n] <= ' ' || s[n] > '~')
            return false;
    return n >= 8;
}

int mgr_env_keys(const char **ak, const char **sk, char *err, size_t errlen)
{
    const char *a = getenv(MGR_ENV_ACCESS_KEY);
    const char *s = getenv(MGR_ENV_SECRET_KEY);
    bool has_a = a != NULL && a[0] != '\0', has_s = s != NULL && s[0] != '\0';
    if (!has_a && !has_s)
        return 0;
    if (has_a != has_s) {
        snprintf(err, errlen, "%s and %s must be set together",
                 MGR_ENV_ACCESS_KEY, MGR_ENV_SECRET_KEY);
        return CLEO_EINVAL;
    }
    if (!mgr_access_key_is_valid(a)) {
        snprintf(err, errlen, "%s: expected 3..%d letters or digits",
                 MGR_ENV_ACCESS_KEY, MGR_KEY_MAX);
        return CLEO_EINVAL;
    }
    if (!mgr_secret_key_is_valid(s)) {
        snprintf(err, errlen,
                 "%s: expected 8..%d printable characters, no spaces",
                 MGR_ENV_SECRET_KEY, MGR_KEY_MAX);
        return CLEO_EINVAL;
    }
    *ak = a;
    *sk = s;
    return 1;
}

/* n characters of alphabet (of size m <= 256), uniformly: bytes at or
 * above the largest multiple of m are drawn again. */
static int draw(char *out, size_t n, const char *alphabet, unsigned m)
{
    unsigned limit = 256 - 256 % m;
    unsigned char b[64];
    size_t got = 0;
    while (got < n) {
        if (RAND_bytes(b, sizeof b) != 1)
            return CLEO_ESTATE;
        for (size_t i = 0; i < sizeof b && got < n; i++)
            if (b[i] < limit)
                out[got++] = alphabet[b[i] % m];
    }
    out[n] = '\0';
    return 0;
}

int mgr__key_generate(mgr__key_t *k, const char *user, const mgr__tab_t *t)
{
    memset(k, 0, sizeof *k);
    int rc;
    do {
        rc = draw(k->access, MGR_ACCESS_KEY_LEN, ACCESS_ALPHABET, 36);
    } while (rc == 0 && t != NULL && mgr__tab_key(t, k->access) != NULL);
    if (rc == 0)
        rc = draw(k->secret, MGR_SECRET_KEY_LEN, B64_ALPHABET, 64);
    if (rc < 0)
        return rc;
    snprintf(k->user, sizeof k->user, "%s", user);
    k->created_ms = mgr__now_ms();
    return 0;
}

int mgr__credentials_write(const char *path, const char *endpoint,
                           const char *ak, const char *sk)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        int rc = -errno;
        close(fd);
        unlink(tmp);
        return rc;
    }
    fprintf(f,
            "# cleo admin credentials, written on the first start of this "
            "data directory\n"
            "endpoint = %s\naccess_key = %s\nsecret_key = %s\n",
            endpoint, ak, sk);
    /* The mode is set again in case an older file of another mode was
     * truncated rather than created. */
    int rc =
        fflush(f) == 0 && fchmod(fd, 0600) == 0 && fsync(fd) == 0 ? 0 : -errno;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}
