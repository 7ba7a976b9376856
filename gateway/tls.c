/*
 * tls.c - the TLS engine of a client socket: an SSL between two memory
 * BIOs, and the listener's SSL_CTX (tls.h). OpenSSL's error queue is per
 * thread, so every call that can fail starts from a clean queue and
 * leaves it clean: a stale error must not make a later SSL_get_error()
 * on the same scheduler thread lie about another connection.
 */
#include "gateway/tls.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <uv.h>

#include "actors/actors.h"

struct gw_tls_s {
    SSL *ssl;
    BIO *rbio;   /* network -> SSL: ciphertext fed by sock.c */
    BIO *wbio;   /* SSL -> network: ciphertext drained by sock.c */
    bool failed; /* a fatal error: no more reads or writes */
    bool http;   /* the failure was plain HTTP on the TLS port */
};

/* ---- the context ----------------------------------------------------- */

/* An encrypted key would make OpenSSL prompt on the terminal; refuse. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* One line for the log: what failed, the file, and the reason (given,
 * or OpenSSL's with a hint of what was expected). */
static int ctx_fail(rt_t *rt, SSL_CTX *ctx, const char *what, const char *path,
                    const char *why, const char *hint)
{
    char buf[256];
    if (why == NULL) {
        /* The first error is the cause ("no start line"); the last is
         * only where it surfaced ("PEM lib"). */
        unsigned long e = ERR_peek_error();
        const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
        if (r == NULL && e != 0) {
            ERR_error_string_n(e, buf, sizeof buf);
            r = buf;
        }
        why = r != NULL ? r : "unusable";
    }
    logger_log(rt, LOG_ERROR, "gateway: https: %s %s: %s%s", what,
               path != NULL && path[0] != '\0' ? path : "(gateway.https.*)",
               why, hint != NULL ? hint : "");
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return CLEO_EINVAL;
}

/* A PEM path that is set and readable, else the reason it is not. */
static const char *path_problem(const char *path)
{
    if (path == NULL || path[0] == '\0')
        return "not set";
    if (access(path, R_OK) < 0)
        return strerror(errno);
    return NULL;
}

int gw__tls_ctx_new(rt_t *rt, const char *cert, const char *key,
                    gw_tls_ctx_t **out)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return ctx_fail(rt, NULL, "context", "", NULL, NULL);
    (void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Renegotiation is refused: it buys nothing for S3 clients and was
     * the door of several attacks. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Idle keep-alive connections give their record buffers back. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    const char *why;
    if ((why = path_problem(cert)) != NULL)
        return ctx_fail(rt, ctx, "certificate", cert, why, NULL);
    if ((why = path_problem(key)) != NULL)
        return ctx_fail(rt, ctx, "key", key, why, NULL);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        return ctx_fail(rt, ctx, "certificate", cert, NULL,
                        " (want a PEM certificate chain)");
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        return ctx_fail(rt, ctx, "key", key, NULL,
                        " (want the certificate's unencrypted PEM key)");
    if (SSL_CTX_check_private_key(ctx) != 1)
        return ctx_fail(rt, ctx, "key", key, "does not match the certificate",
                        NULL);
    *out = ctx;
    return 0;
}

gw_tls_ctx_t *gw__tls_ctx_ref(gw_tls_ctx_t *ctx)
{
    if (SSL_CTX_up_ref(ctx) != 1) /* only on a corrupt count: a bug */
        cl_panic("SSL_CTX_up_ref failed");
    return ctx;
}

void gw__tls_ctx_free(gw_tls_ctx_t *ctx)
{
    SSL_CTX_free(ctx); /* accepts NULL */
}

/* ---- a connection ---------------------------------------------------- */

int gw__tls_new(gw_tls_ctx_t *ctx, gw_tls_t **out)
{
    gw_tls_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return CLEO_ENOMEM;
    t->ssl = SSL_new(ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return CLEO_ENOMEM;
    }
    /* An empty BIO means "wait for more", not end of stream. */
    BIO_set_mem_eof_return(t->rbio, -1);
    BIO_set_mem_eof_return(t->wbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio); /* the SSL owns both now */
    SSL_set_accept_state(t->ssl);
    *out = t;
    return 0;
}

void gw__tls_free(gw_tls_t *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    free(t);
}

int gw__tls_feed(gw_tls_t *t, const char *p, size_t n)
{
    /* On a read callback, outside any turn: an error, not an assertion. */
    if (n > INT_MAX)
        return CLEO_EINVAL;
    if (n > 0 && BIO_write(t->rbio, p, (int)n) != (int)n) {
        ERR_clear_error();
        return CLEO_ENOMEM;
    }
    return 0;
}

static ssize_t fail(gw_tls_t *t)
{
    unsigned long e = ERR_peek_error();
    t->failed = true;
    t->http = ERR_GET_LIB(e) == ERR_LIB_SSL &&
              ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST;
    ERR_clear_error();
    return UV_EPROTO;
}

ssize_t gw__tls_read(gw_tls_t *t, char *out, size_t cap)
{
    if (t->failed)
        return UV_EPROTO;
    ERR_clear_error();
    int n = SSL_read(t->ssl, out, cap > INT_MAX ? INT_MAX : (int)cap);
    if (n > 0)
        return n;
    switch (SSL_get_error(t->ssl, n)) {
    case SSL_ERROR_WANT_READ:
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        /* close_notify ends the client's side only: the answer to what
         * it sent before may still go out (TLS 1.3 half-close). */
        return UV_EOF;
    default: /* an alert, a bad record, a handshake failure */
        return fail(t);
    }
}

int gw__tls_write(gw_tls_t *t, const char *p, size_t n)
{
    if (t->failed || !SSL_is_init_finished(t->ssl))
        return UV_EPROTO;
    ERR_clear_error();
    size_t done = 0;
    /* The memory BIO takes everything, so a success is the whole buffer
     * (SSL_MODE_ENABLE_PARTIAL_WRITE is off). */
    if (n > 0 && SSL_write_ex(t->ssl, p, n, &done) != 1)
        return (int)fail(t);
    return 0;
}

size_t gw__tls_pending(const gw_tls_t *t)
{
    return BIO_ctrl_pending(t->wbio);
}

size_t gw__tls_drain(gw_tls_t *t, char *out, size_t cap)
{
    int n = BIO_read(t->wbio, out, cap > INT_MAX ? INT_MAX : (int)cap);
    return n > 0 ? (size_t)n : 0;
}

void gw__tls_shutdown(gw_tls_t *t)
{
    if (t->failed || !SSL_is_init_finished(t->ssl))
        return;
    ERR_clear_error();
    (void)SSL_shutdown(t->ssl); /* queues close_notify in wbio */
    ERR_clear_error();
    t->failed = true;
}

bool gw__tls_is_http(const gw_tls_t *t)
{
    return t->http;
}
