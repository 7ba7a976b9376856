/*
 * adm.h - cleo-adm, the node console: shared by its files.
 *
 * adm.c parses the command line and runs the subcommands; adm_conn.c
 * talks proto/introspect.proto over the node's socket; adm_out.c prints
 * responses as text or JSON; adm_top.c is the full-screen `top`.
 */
#ifndef CLEO_CMD_ADM_H
#define CLEO_CMD_ADM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/introspect.pb-c.h"

#define ADM_EXIT_NODE 1  /* node error, cannot connect */
#define ADM_EXIT_USAGE 2 /* bad command line */
#define ADM_DEFAULT_SOCKET "./data/cleo.sock"

typedef Cleo__Introspect__Request adm_req_t;
typedef Cleo__Introspect__Response adm_resp_t;

typedef struct adm_conn_s {
    int fd;
    const char *path;
} adm_conn_t;

/* ---- adm_conn.c ------------------------------------------------------ */

/* Connect to the node's Unix socket. @return 0 or -errno. */
int adm_conn_open(adm_conn_t *c, const char *path);
void adm_conn_close(adm_conn_t *c);

/* Send one request. @return 0 or -errno. */
int adm_conn_send(adm_conn_t *c, const adm_req_t *q);

/* Receive one response, waiting up to timeout_ms (0 = forever).
 * @param out gives: free with adm_resp_free(). @return 0, -ETIMEDOUT,
 * -ECONNRESET (closed), -EPROTO (bad frame), -errno. */
int adm_conn_recv(adm_conn_t *c, int timeout_ms, adm_resp_t **out);

/* Send q and receive its answer (10 s timeout). */
int adm_conn_call(adm_conn_t *c, const adm_req_t *q, adm_resp_t **out);

void adm_resp_free(adm_resp_t *r);

/* ---- adm_out.c ------------------------------------------------------- */

/* Any protobuf-c message as a JSON object on stdout, with a newline. */
void adm_print_json(const ProtobufCMessage *m, bool pretty);
/* The same with one more member: key set to the JSON document extra
 * (left out when extra is NULL or not JSON). @param key, extra borrow. */
void adm_print_json_with(const ProtobufCMessage *m, bool pretty,
                         const char *key, const char *extra);

void adm_print_status(const adm_resp_t *r);
void adm_print_actors(const adm_resp_t *r);
void adm_print_info(const adm_resp_t *r);
void adm_print_tree(const adm_resp_t *r);
void adm_print_stats(const adm_resp_t *r);
/* NODES: this node's distribution and one line per peer, or the one
 * line "distribution off". */
void adm_print_nodes(const adm_resp_t *r);
/* The node's counters, from the admin command "metrics"'s JSON object
 * {"name": value, ...}, under a "counters" heading. NULL prints nothing;
 * a document that is not such an object is one line on stderr. */
void adm_print_counters(const char *json);
void adm_print_trace_event(const adm_resp_t *r);

/* "12.3 MiB" into buf. */
const char *adm_fmt_bytes(uint64_t n, char *buf, size_t len);
/* "1h 2m 3s" into buf. */
const char *adm_fmt_uptime(uint64_t ms, char *buf, size_t len);

/* ---- adm_top.c ------------------------------------------------------- */

/* Run the full-screen view until q. @return an exit status. */
int adm_top_run(adm_conn_t *c, const char *sort);

#endif
