/*
 * tls.h - TLS for a client socket, on OpenSSL 3 memory BIOs (private to
 * gateway/).
 *
 * A gw_tls_t is one server-side SSL with two memory BIOs: ciphertext from
 * the network goes in with gw__tls_feed(), plaintext comes out of
 * gw__tls_read(); plaintext goes in with gw__tls_write() and ciphertext
 * for the network (handshake records, application data, alerts) comes out
 * of gw__tls_drain(). It does no I/O of its own, so sock.c decides when
 * bytes move and the engine never blocks. It is not thread safe: one
 * scheduler thread uses it (the socket's).
 *
 * The context (gw_tls_ctx_t, an SSL_CTX) is shared by a listener group
 * and every connection it accepted: OpenSSL reference-counts it (each
 * SSL holds one reference), so it is freed with its last user.
 */
#ifndef CLEO_GATEWAY_TLS_H
#define CLEO_GATEWAY_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "runtime/rt.h"

typedef SSL_CTX gw_tls_ctx_t;
typedef struct gw_tls_s gw_tls_t;

/** A server context: TLS 1.2 or later, renegotiation refused, the
 *  certificate chain and private key read from PEM files (which must
 *  match). On failure one line naming the file and OpenSSL's reason is
 *  logged (logger_log, LOG_ERROR).
 *  @param rt borrows: for the log. @param cert, key borrow: paths.
 *  @param out gives: release with gw__tls_ctx_free().
 *  @return 0 or CLEO_EINVAL. */
int gw__tls_ctx_new(rt_t *rt, const char *cert, const char *key,
                    gw_tls_ctx_t **out);

/** Take another reference to ctx (a corrupt count panics the caller's
 *  actor). @return ctx. */
gw_tls_ctx_t *gw__tls_ctx_ref(gw_tls_ctx_t *ctx);

/** Drop a reference; the last one frees the context. Accepts NULL. */
void gw__tls_ctx_free(gw_tls_ctx_t *ctx);

/** A server-side connection engine on ctx (which it references).
 *  @param out gives: release with gw__tls_free().
 *  @return 0 or CLEO_ENOMEM. */
int gw__tls_new(gw_tls_ctx_t *ctx, gw_tls_t **out);

/** Free the engine (its SSL and BIOs). Accepts NULL. */
void gw__tls_free(gw_tls_t *t);

/** Ciphertext from the network. @param p borrows.
 *  @return 0, CLEO_ENOMEM, or CLEO_EINVAL (n over INT_MAX). */
int gw__tls_feed(gw_tls_t *t, const char *p, size_t n);

/** Decrypted bytes into out (the handshake advances as a side effect;
 *  its records wait in gw__tls_drain()).
 *  @return >0 bytes; 0 when more ciphertext is needed; UV_EOF when the
 *  peer sent close_notify; UV_EPROTO on a handshake failure, an alert,
 *  a renegotiation attempt or garbage (the engine is then failed and an
 *  alert may wait in gw__tls_drain()). */
ssize_t gw__tls_read(gw_tls_t *t, char *out, size_t cap);

/** Encrypt n bytes (all of them; the output BIO grows as needed).
 *  @param p borrows. @return 0, or UV_EPROTO (handshake not complete,
 *  engine failed). */
int gw__tls_write(gw_tls_t *t, const char *p, size_t n);

/** Bytes of ciphertext waiting for the network. */
size_t gw__tls_pending(const gw_tls_t *t);

/** Move up to cap bytes of waiting ciphertext into out. @return bytes. */
size_t gw__tls_drain(gw_tls_t *t, char *out, size_t cap);

/** Queue a close_notify (when the handshake is complete and the engine
 *  did not fail): a graceful end the client can tell from a cut. */
void gw__tls_shutdown(gw_tls_t *t);

/** True when the failure was a plain HTTP request on the TLS port. */
bool gw__tls_is_http(const gw_tls_t *t);

#endif /* CLEO_GATEWAY_TLS_H */
