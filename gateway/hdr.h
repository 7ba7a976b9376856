/*
 * hdr.h - a borrowed HTTP header, the unit every gateway parser consumes
 * (private to gateway/). Names and values point into the connection's
 * request arena and are not NUL-terminated.
 */
#ifndef CLEO_GATEWAY_HDR_H
#define CLEO_GATEWAY_HDR_H

#include <stddef.h>

typedef struct gw_hdr_s {
    const char *name; /* as received; compare case-insensitively */
    size_t name_len;
    const char *value; /* leading/trailing blanks already trimmed */
    size_t value_len;
} gw_hdr_t;

#endif /* CLEO_GATEWAY_HDR_H */
