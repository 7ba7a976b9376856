/*
 * gw.c - the gateway's configuration defaults.
 */
#include "gateway/gw.h"

#include <string.h>

void gw_conf_init(gw_conf_t *c)
{
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8080;
    c->rest_token = "";
    c->https_cert = "";
    c->https_key = "";
    c->region = "us-east-1";
    c->domain = "s3.localhost";
    c->max_header_bytes = 16384;
    c->max_headers = 100;
    c->max_key_bytes = 1024;
    c->max_put_bytes = (uint64_t)5 << 30;
    c->idle_timeout_ms = 60000;
    c->header_timeout_ms = 20000;
    c->max_conns = 4096;
    c->cache_max_bytes = (uint64_t)64 << 20;
    c->cache_max_object_bytes = (uint64_t)256 << 10;
}
