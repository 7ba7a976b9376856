/*
 * fuzz_frame.c - libFuzzer target for the introspection server's input
 * path: the frame splitter, the Request decoder and the parsers of what a
 * request carries (targets, pids, reasons, tokens), fed arbitrary bytes
 * as a connection would deliver them. Built and run by run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/introspect.h"

/* The one runtime call the parsers make; a stand-in resolves one name. */
rt_pid_t rt_whereis(rt_t *rt, const char *name)
{
    (void)rt;
    return strcmp(name, "introspect") == 0 ? RT_PID_MAKE(0, 1, 5) : RT_PID_NONE;
}

static void request(const Cleo__Introspect__Request *q)
{
    rt_pid_t pid;
    int reason;
    (void)rt__isp_target_resolve(NULL, q->target, &pid);
    (void)rt__isp_pid_parse(q->target, &pid);
    (void)rt__isp_reason_parse(q->reason, &reason);
    (void)rt__isp_token_eq(q->token, "s3cret-token");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Split as the server does: frames until one is short or refused. */
    while (size > 0) {
        size_t off, n;
        int rc = rt__isp_frame_peek(data, size, &off, &n);
        if (rc <= 0)
            break;
        if (off + n > size)
            __builtin_trap(); /* the splitter overran its input */
        Cleo__Introspect__Request *q;
        if (rt__isp_request_decode(data + off, n, &q) == 0) {
            request(q);
            cleo__introspect__request__free_unpacked(q, NULL);
        }
        data += off + n;
        size -= off + n;
    }
    return 0;
}
