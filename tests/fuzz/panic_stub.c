/*
 * panic_stub.c - rt_panic() for the fuzz targets, which link gateway
 * files without the runtime: the gateway's rt_assert()/cl_panic() would
 * crash only the connection actor in a node, but a fuzzer that reaches
 * one has found an input worth keeping, so here it aborts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/rt.h"

void rt_panic(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz: panic at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}
