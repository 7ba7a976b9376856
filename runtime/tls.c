/*
 * tls.c - the TLS engine (rt.h, "TLS engine"): an SSL between two memory
 * BIOs, and its SSL_CTX. Moved here from the gateway so that distribution
 * connections use the same engine. OpenSSL's error queue is per thread,
 * so every call that can fail starts from a clean queue and leaves it
 * clean: a stale error must not make a later SSL_get_error() on the same
 * thread lie about another connection.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <uv.h>

#include "runtime/rt.h"

struct rt_tls_s {
    SSL *ssl;
    BIO *rbio;   /* network -> SSL: ciphertext fed by the caller */
    BIO *wbio;   /* SSL -> network: ciphertext drained by the caller */
    bool failed; /* a fatal error: no more reads or writes */
    bool http;   /* the failure was plain HTTP on the TLS port */
    char why[128];
};

/* ---- the context ----------------------------------------------------- */

/* An encrypted key would make OpenSSL prompt on the terminal; refuse. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* OpenSSL's first queued reason (the cause, "no start line"; the last is
 * only where it surfaced, "PEM lib"), into buf. */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    if (r == NULL && e != 0) {
        ERR_error_string_n(e, buf, len);
        r = buf;
    }
    return r != NULL ? r : "unusable";
}

/* One line in err: what failed, the file, and the reason (given, or
 * OpenSSL's with a hint of what was expected). */
static int ctx_fail(const rt_tls_ctx_opts_t *o, SSL_CTX *ctx, const char *what,
                    const char *path, const char *why, const char *hint,
                    char *err, size_t errlen)
{
    char buf[256];
    if (why == NULL)
        why = ssl_reason(buf, sizeof buf);
    if (errlen > 0)
        snprintf(err, errlen, "%s %s: %s%s", what,
                 path != NULL && path[0] != '\0' ? path
                 : o->what != NULL               ? o->what
                                                 : "(tls)",
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

/* Load cert and key into ctx. @return 0 or ctx_fail's. */
static int load_cert(const rt_tls_ctx_opts_t *o, SSL_CTX *ctx, char *err,
                     size_t errlen)
{
    const char *why;
    if ((why = path_problem(o->cert)) != NULL)
        return ctx_fail(o, ctx, "certificate", o->cert, why, NULL, err, errlen);
    if ((why = path_problem(o->key)) != NULL)
        return ctx_fail(o, ctx, "key", o->key, why, NULL, err, errlen);
    if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1)
        return ctx_fail(o, ctx, "certificate", o->cert, NULL,
                        " (want a PEM certificate chain)", err, errlen);
    if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1)
        return ctx_fail(o, ctx, "key", o->key, NULL,
                        " (want the certificate's unencrypted PEM key)", err,
                        errlen);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return ctx_fail(o, ctx, "key", o->key, "does not match the certificate",
                        NULL, err, errlen);
    return 0;
}

int rt_tls_ctx_new(const rt_tls_ctx_opts_t *o, rt_tls_ctx_t **out, char *err,
                   size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (ctx == NULL)
        return ctx_fail(o, NULL, "context", "", NULL, NULL, err, errlen);
    (void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Renegotiation is refused: it buys nothing here and was the door of
     * several attacks. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Idle connections give their record buffers back. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    bool has_cert = o->cert != NULL && o->cert[0] != '\0';
    if ((has_cert || (o->key != NULL && o->key[0] != '\0')) &&
        load_cert(o, ctx, err, errlen) < 0)
        return CLEO_EINVAL;
    if (o->ca != NULL && o->ca[0] != '\0') {
        const char *why = path_problem(o->ca);
        if (why != NULL)
            return ctx_fail(o, ctx, "CA bundle", o->ca, why, NULL, err, errlen);
        if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1)
            return ctx_fail(o, ctx, "CA bundle", o->ca, NULL,
                            " (want PEM certificates)", err, errlen);
        SSL_CTX_set_verify(
            ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    *out = ctx;
    return 0;
}

rt_tls_ctx_t *rt_tls_ctx_ref(rt_tls_ctx_t *ctx)
{
    if (SSL_CTX_up_ref(ctx) != 1) /* only on a corrupt count: a bug */
        abort();
    return ctx;
}

void rt_tls_ctx_free(rt_tls_ctx_t *ctx)
{
    SSL_CTX_free(ctx); /* accepts NULL */
}

/* ---- a connection ---------------------------------------------------- */

int rt_tls_new(rt_tls_ctx_t *ctx, bool server, rt_tls_t **out)
{
    rt_tls_t *t = calloc(1, sizeof *t);
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
    if (server)
        SSL_set_accept_state(t->ssl);
    else
        SSL_set_connect_state(t->ssl);
    *out = t;
    return 0;
}

void rt_tls_free(rt_tls_t *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    free(t);
}

int rt_tls_feed(rt_tls_t *t, const char *p, size_t n)
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

static ssize_t fail(rt_tls_t *t)
{
    unsigned long e = ERR_peek_error();
    t->failed = true;
    t->http = ERR_GET_LIB(e) == ERR_LIB_SSL &&
              ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST;
    long v = SSL_get_verify_result(t->ssl);
    if (v != X509_V_OK)
        snprintf(t->why, sizeof t->why, "certificate refused: %s",
                 X509_verify_cert_error_string(v));
    else {
        char buf[128];
        snprintf(t->why, sizeof t->why, "%s", ssl_reason(buf, sizeof buf));
    }
    ERR_clear_error();
    return UV_EPROTO;
}

ssize_t rt_tls_read(rt_tls_t *t, char *out, size_t cap)
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

int rt_tls_write(rt_tls_t *t, const char *p, size_t n)
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

size_t rt_tls_pending(const rt_tls_t *t)
{
    return BIO_ctrl_pending(t->wbio);
}

size_t rt_tls_drain(rt_tls_t *t, char *out, size_t cap)
{
    int n = BIO_read(t->wbio, out, cap > INT_MAX ? INT_MAX : (int)cap);
    return n > 0 ? (size_t)n : 0;
}

void rt_tls_shutdown(rt_tls_t *t)
{
    if (t->failed || !SSL_is_init_finished(t->ssl))
        return;
    ERR_clear_error();
    (void)SSL_shutdown(t->ssl); /* queues close_notify in wbio */
    ERR_clear_error();
    t->failed = true;
}

bool rt_tls_is_http(const rt_tls_t *t)
{
    return t->http;
}

const char *rt_tls_why(const rt_tls_t *t)
{
    return t->why;
}

bool rt_tls_is_up(const rt_tls_t *t)
{
    return !t->failed && SSL_is_init_finished(t->ssl);
}

int rt_tls_export(rt_tls_t *t, const char *label, uint8_t *out, size_t n)
{
    if (!rt_tls_is_up(t))
        return UV_EPROTO;
    ERR_clear_error();
    int ok = SSL_export_keying_material(t->ssl, out, n, label, strlen(label),
                                        NULL, 0, 0);
    ERR_clear_error();
    return ok == 1 ? 0 : UV_EPROTO;
}
