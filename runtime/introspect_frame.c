/*
 * introspect_frame.c - the introspection protocol's framing and the small
 * parsers for what clients send (pids, names, reasons, tokens). Pure
 * functions over bytes: tests/fuzz/ drives them with garbage.
 */
#include "runtime/introspect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int rt__isp_frame_peek(const uint8_t *buf, size_t len, size_t *off, size_t *n)
{
    if (len < RT__ISP_HDR)
        return 0;
    uint32_t flen = ((uint32_t)buf[0] << 24) | ((uint32_t)buf[1] << 16) |
                    ((uint32_t)buf[2] << 8) | (uint32_t)buf[3];
    if (flen == 0)
        return CLEO_EPROTO;
    if (flen > RT__ISP_MAX_FRAME)
        return CLEO_ELIMIT;
    if (len - RT__ISP_HDR < flen)
        return 0;
    *off = RT__ISP_HDR;
    *n = flen;
    return 1;
}

int rt__isp_request_decode(const uint8_t *p, size_t n,
                           Cleo__Introspect__Request **out)
{
    Cleo__Introspect__Request *r =
        cleo__introspect__request__unpack(NULL, n, p);
    if (r == NULL)
        return CLEO_EPROTO;
    *out = r;
    return 0;
}

int rt__isp_response_encode(const Cleo__Introspect__Response *r, uint8_t **out,
                            size_t *n)
{
    size_t len = cleo__introspect__response__get_packed_size(r);
    if (len > RT__ISP_MAX_FRAME)
        return CLEO_ELIMIT;
    uint8_t *b = malloc(RT__ISP_HDR + len);
    if (b == NULL)
        return CLEO_ENOMEM;
    b[0] = (uint8_t)(len >> 24);
    b[1] = (uint8_t)(len >> 16);
    b[2] = (uint8_t)(len >> 8);
    b[3] = (uint8_t)len;
    cleo__introspect__response__pack(r, b + RT__ISP_HDR);
    *out = b;
    *n = RT__ISP_HDR + len;
    return 0;
}

/* One decimal field of a pid, ending at `end`; at most max. */
static int pid_field(const char **s, char end, uint64_t max, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9')
        return CLEO_EBADPID;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return CLEO_EBADPID;
        p++;
    }
    if (*p != end)
        return CLEO_EBADPID;
    *s = p + 1;
    *out = v;
    return 0;
}

int rt__isp_pid_parse(const char *s, rt_pid_t *out)
{
    uint64_t node, slot, gen;
    if (s == NULL || *s++ != '<')
        return CLEO_EBADPID;
    if (pid_field(&s, '.', 0xFFFF, &node) < 0 ||
        pid_field(&s, '.', 0xFFFFFF, &slot) < 0 ||
        pid_field(&s, '>', 0xFFFFFF, &gen) < 0 || *s != '\0')
        return CLEO_EBADPID;
    rt_pid_t pid = RT_PID_MAKE(node, gen, slot);
    if (pid == RT_PID_NONE)
        return CLEO_EBADPID;
    *out = pid;
    return 0;
}

int rt__isp_target_resolve(rt_t *rt, const char *s, rt_pid_t *out)
{
    if (s == NULL || *s == '\0')
        return CLEO_EINVAL;
    if (*s == '<')
        return rt__isp_pid_parse(s, out);
    if (strlen(s) >= RT_NAME_MAX)
        return CLEO_ENOTFOUND;
    rt_pid_t pid = rt_whereis(rt, s);
    if (pid == RT_PID_NONE)
        return CLEO_ENOTFOUND;
    *out = pid;
    return 0;
}

bool rt__isp_token_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    /* Walk the secret's length whatever the guess is, so timing tells
     * nothing about how many leading bytes matched. */
    unsigned diff = (unsigned)(la ^ lb);
    for (size_t i = 0; i < lb; i++)
        diff |= (unsigned char)b[i] ^ (unsigned char)(i < la ? a[i] : 0);
    return diff == 0;
}

int rt__isp_reason_parse(const char *s, int *out)
{
    static const struct {
        const char *name;
        int reason;
    } t[] = {
        {"kill", RT_REASON_KILL},     {"shutdown", RT_REASON_SHUTDOWN},
        {"normal", RT_REASON_NORMAL}, {"killed", RT_REASON_KILLED},
        {"panic", RT_REASON_PANIC},
    };
    if (s == NULL || *s == '\0') {
        *out = RT_REASON_KILL;
        return 0;
    }
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strcmp(s, t[i].name) == 0) {
            *out = t[i].reason;
            return 0;
        }
    }
    return CLEO_EINVAL;
}
