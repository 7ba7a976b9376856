/*
 * adm_conn.c - cleo-adm's side of the introspection protocol: frames of a
 * 4-byte big-endian length and a protobuf message over a Unix socket.
 */
#include "adm.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ADM_MAX_FRAME (1u << 20)
#define ADM_CALL_MS 10000

int adm_conn_open(adm_conn_t *c, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    c->fd = fd;
    c->path = path;
    return 0;
}

void adm_conn_close(adm_conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int adm_conn_send(adm_conn_t *c, const adm_req_t *q)
{
    size_t n = cleo__introspect__request__get_packed_size(q);
    uint8_t *b = malloc(n + 4);
    if (b == NULL)
        return -ENOMEM;
    b[0] = (uint8_t)(n >> 24);
    b[1] = (uint8_t)(n >> 16);
    b[2] = (uint8_t)(n >> 8);
    b[3] = (uint8_t)n;
    cleo__introspect__request__pack(q, b + 4);
    int rc = write_all(c->fd, b, n + 4);
    free(b);
    return rc;
}

/* Read exactly n bytes, waiting at most timeout_ms for each chunk. */
static int read_all(int fd, uint8_t *p, size_t n, int timeout_ms)
{
    while (n > 0) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = poll(&pf, 1, timeout_ms > 0 ? timeout_ms : -1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return -errno;
        if (pr == 0)
            return -ETIMEDOUT;
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ECONNRESET;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int adm_conn_recv(adm_conn_t *c, int timeout_ms, adm_resp_t **out)
{
    uint8_t h[4];
    int rc = read_all(c->fd, h, 4, timeout_ms);
    if (rc < 0)
        return rc;
    uint32_t n = ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) |
                 ((uint32_t)h[2] << 8) | h[3];
    if (n == 0 || n > ADM_MAX_FRAME)
        return -EPROTO;
    uint8_t *b = malloc(n);
    if (b == NULL)
        return -ENOMEM;
    if ((rc = read_all(c->fd, b, n, timeout_ms)) < 0) {
        free(b);
        return rc;
    }
    adm_resp_t *r = cleo__introspect__response__unpack(NULL, n, b);
    free(b);
    if (r == NULL)
        return -EPROTO;
    *out = r;
    return 0;
}

int adm_conn_call(adm_conn_t *c, const adm_req_t *q, adm_resp_t **out)
{
    int rc = adm_conn_send(c, q);
    if (rc < 0)
        return rc;
    return adm_conn_recv(c, ADM_CALL_MS, out);
}

void adm_resp_free(adm_resp_t *r)
{
    if (r != NULL)
        cleo__introspect__response__free_unpacked(r, NULL);
}
