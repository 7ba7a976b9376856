/*
 * awschunked.c - the aws-chunked body decoder (Content-Encoding:
 * aws-chunked) for STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] and
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER:
 *
 *   hex-size;chunk-signature=<64 hex>\r\n  <data>\r\n   ... (signed)
 *   0;chunk-signature=<64 hex>\r\n
 *   [x-amz-checksum-crc32:...\r\n  x-amz-trailer-signature:...\r\n]
 *   \r\n
 *
 * The unsigned form has "hex-size\r\n" lines and the trailer. Each
 * chunk's signature chains from the previous one, starting at the seed
 * (the Authorization header's signature):
 *
 *   HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n" prev
 *             "\n" hex(sha256("")) "\n" hex(sha256(data)))
 *
 * Data is handed to the callback as it arrives, before the signature
 * that follows it is checked; memory stays at one line whatever the
 * chunk size. The caller commits nothing until _finish() returns 0.
 * The trailer's checksum of the decoded data (the x-amz-checksum-* that
 * x-amz-trailer names) is checked for CRC32 (zlib), SHA-1 and SHA-256
 * (OpenSSL); CRC32C and CRC64NVME are accepted unchecked, for want of a
 * library.
 */
#include "gateway/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "gateway/err.h"
#include "runtime/rt.h"

#define MAX_TRAILERS 16

enum { CK_NONE = 0, CK_CRC32, CK_SHA1, CK_SHA256 };

enum {
    ST_HEAD = 0, /* reading "hex-size[;...]\r\n" */
    ST_DATA,     /* _left bytes of data */
    ST_DATA_CR,  /* the "\r\n" after the data */
    ST_DATA_LF,
    ST_TRAILER, /* trailer lines until an empty one */
    ST_DONE,
};

/* Start the checksum that the trailer `name` will carry. */
static int ck_init(gw_chunked_t *d, const char *name)
{
    const EVP_MD *md = NULL;
    if (strcmp(name, "x-amz-checksum-crc32") == 0) {
        d->_ck = CK_CRC32;
        d->_crc = (uint32_t)crc32(0, Z_NULL, 0);
    } else if (strcmp(name, "x-amz-checksum-sha1") == 0) {
        d->_ck = CK_SHA1;
        md = EVP_sha1();
    } else if (strcmp(name, "x-amz-checksum-sha256") == 0) {
        d->_ck = CK_SHA256;
        md = EVP_sha256();
    } else {
        return 0;
    }
    snprintf(d->_ck_name, sizeof d->_ck_name, "%s", name);
    if (md == NULL)
        return 0;
    if ((d->_ck_md = EVP_MD_CTX_new()) == NULL)
        return CLEO_ENOMEM;
    if (EVP_DigestInit_ex(d->_ck_md, md, NULL) != 1)
        return CLEO_ENOMEM; /* libcrypto fails only to allocate */
    return 0;
}

static void ck_update(gw_chunked_t *d, const char *buf, size_t n)
{
    if (d->_ck == CK_CRC32) {
        for (size_t i = 0; i < n; i += 1u << 30) {
            size_t k = n - i < (1u << 30) ? n - i : (1u << 30);
            d->_crc = (uint32_t)crc32(d->_crc, (const Bytef *)buf + i, (uInt)k);
        }
    } else if (d->_ck != CK_NONE) {
        EVP_DigestUpdate(d->_ck_md, buf, n);
    }
}

/* Compare the trailer's base64 value with the data's checksum. */
static int ck_check(gw_chunked_t *d, const char *v, size_t n)
{
    unsigned char sum[32];
    unsigned int sl = 4;
    char b64[48];
    d->_ck_seen = true;
    if (d->_ck == CK_CRC32) {
        for (int i = 0; i < 4; i++)
            sum[i] = (unsigned char)(d->_crc >> (24 - 8 * i));
    } else if (EVP_DigestFinal_ex(d->_ck_md, sum, &sl) != 1) {
        return GW_EBADDIGEST;
    }
    int bl = EVP_EncodeBlock((unsigned char *)b64, sum, (int)sl);
    if ((size_t)bl != n || memcmp(b64, v, n) != 0)
        return GW_EBADDIGEST;
    return 0;
}

int gw__chunked_init(gw_chunked_t *d, const gw_auth_t *a, gw_chunked_data_cb cb,
                     void *data)
{
    memset(d, 0, sizeof *d);
    d->data = data;
    d->_cb = cb;
    d->_decoded_len = a->decoded_len;
    switch (a->payload) {
    case GW_PAYLOAD_STREAMING_TRAILER:
        d->_trailer = true;
        /* fall through */
    case GW_PAYLOAD_STREAMING:
        d->_signed = true;
        break;
    case GW_PAYLOAD_UNSIGNED_TRAILER:
        d->_trailer = true;
        break;
    default:
        return GW_EARGUMENT;
    }
    int rc = 0;
    if (d->_signed && !a->_key_ok)
        rc = GW_EARGUMENT; /* gw__auth_verify() has not passed */
    else if (d->_trailer && ck_init(d, a->trailer) < 0)
        rc = CLEO_ENOMEM;
    else if (d->_signed && (d->_md = EVP_MD_CTX_new()) == NULL)
        rc = CLEO_ENOMEM;
    if (rc < 0) {
        gw__chunked_destroy(d); /* a failed init holds nothing */
        return rc;
    }
    if (d->_signed) {
        memcpy(d->_key, a->_key, 32);
        memcpy(d->_amz_date, a->amz_date, sizeof d->_amz_date);
        memcpy(d->_scope, a->scope, sizeof d->_scope);
        memcpy(d->_prev, a->signature, sizeof d->_prev);
    }
    return 0;
}

void gw__chunked_destroy(gw_chunked_t *d)
{
    if (d == NULL)
        return;
    EVP_MD_CTX_free(d->_md);
    d->_md = NULL;
    EVP_MD_CTX_free(d->_ck_md);
    d->_ck_md = NULL;
    OPENSSL_cleanse(d->_key, sizeof d->_key);
}

static int md_start(gw_chunked_t *d)
{
    if (EVP_DigestInit_ex(d->_md, EVP_sha256(), NULL) != 1)
        return CLEO_ENOMEM; /* libcrypto fails only to allocate */
    return 0;
}

/* Check the declared signature of the chunk whose data hashed to h. */
static int check_chunk(gw_chunked_t *d, const unsigned char h[32])
{
    char got[65];
    gw__sigv4_chunk_sig(d->_key, d->_amz_date, d->_scope, d->_prev, h, got);
    if (CRYPTO_memcmp(got, d->_want, 64) != 0)
        return GW_ESIGNATURE;
    memcpy(d->_prev, d->_want, sizeof d->_prev);
    return 0;
}

/* The end of a chunk's data. */
static int data_done(gw_chunked_t *d)
{
    unsigned char h[32];
    unsigned int n = 32;
    d->_state = ST_DATA_CR;
    if (!d->_signed)
        return 0;
    if (EVP_DigestFinal_ex(d->_md, h, &n) != 1)
        return GW_ESIGNATURE;
    return check_chunk(d, h);
}

/* "hex-size;chunk-signature=sig" (signed) or "hex-size[;ext]". */
static int on_head(gw_chunked_t *d, const char *l, size_t n)
{
    uint64_t size = 0;
    size_t i = 0;
    for (; i < n && gw__hexval(l[i]) >= 0; i++) {
        if (i >= 15)
            return GW_EBADREQ;
        size = size * 16 + (uint64_t)gw__hexval(l[i]);
    }
    if (i == 0)
        return GW_EBADREQ;
    if (d->_signed) {
        if (n - i != 17 + 64 || memcmp(l + i, ";chunk-signature=", 17) != 0)
            return GW_EBADREQ;
        for (size_t k = i + 17; k < n; k++)
            if (gw__hexval(l[k]) < 0 || (l[k] >= 'A' && l[k] <= 'F'))
                return GW_EBADREQ;
        memcpy(d->_want, l + i + 17, 64);
        d->_want[64] = '\0';
    } else if (i < n && l[i] != ';') {
        return GW_EBADREQ;
    }
    if (d->_decoded_len >= 0 && d->_total + size > (uint64_t)d->_decoded_len)
        return GW_EINCOMPLETE; /* more than x-amz-decoded-content-length */
    if (size > 0) {
        d->_left = size;
        d->_state = ST_DATA;
        return d->_signed ? md_start(d) : 0;
    }
    d->_state = ST_TRAILER;
    if (!d->_signed)
        return 0;
    unsigned char h[32];
    gw__sha256("", 0, h);
    int rc = check_chunk(d, h);
    if (rc == 0 && d->_trailer)
        rc = md_start(d); /* hashes the canonical trailer */
    return rc;
}

/* The trailer's own signature, over the canonical trailer lines. */
static int check_trailer(gw_chunked_t *d, const char *v, size_t n)
{
    unsigned char h[32], mac[32];
    unsigned int hl = 32;
    char hx[65], got[65], sts[320];
    if (n != 64 || EVP_DigestFinal_ex(d->_md, h, &hl) != 1)
        return GW_ESIGNATURE;
    gw__auth_hex(h, 32, hx);
    int len =
        snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s",
                 d->_amz_date, d->_scope, d->_prev, hx);
    gw__hmac256(d->_key, 32, sts, (size_t)len, mac);
    gw__auth_hex(mac, 32, got);
    if (CRYPTO_memcmp(got, v, 64) != 0)
        return GW_ESIGNATURE;
    d->_sig_seen = true; /* nothing may follow but the empty line */
    return 0;
}

/* One line of the trailer; the empty line ends the body. */
static int on_trailer(gw_chunked_t *d, char *l, size_t n)
{
    if (n == 0) {
        if (d->_trailer && d->_signed && !d->_sig_seen)
            return GW_ESIGNATURE; /* no x-amz-trailer-signature */
        if (d->_ck != CK_NONE && !d->_ck_seen)
            return GW_EBADREQ; /* the announced checksum never came */
        d->_state = ST_DONE;
        return 0;
    }
    const char *colon = memchr(l, ':', n);
    if (!d->_trailer || d->_sig_seen || colon == NULL ||
        ++d->_ntrailers > MAX_TRAILERS)
        return GW_EBADREQ;
    size_t nl = (size_t)(colon - l), vs = nl + 1;
    for (size_t i = 0; i < nl; i++)
        l[i] = (char)(l[i] >= 'A' && l[i] <= 'Z' ? l[i] + 32 : l[i]);
    while (vs < n && (l[vs] == ' ' || l[vs] == '\t'))
        vs++;
    while (n > vs && (l[n - 1] == ' ' || l[n - 1] == '\t'))
        n--;
    if (nl == 23 && memcmp(l, "x-amz-trailer-signature", 23) == 0)
        return d->_signed ? check_trailer(d, l + vs, n - vs) : GW_EBADREQ;
    if (d->_signed) {
        EVP_DigestUpdate(d->_md, l, nl + 1);
        EVP_DigestUpdate(d->_md, l + vs, n - vs);
        EVP_DigestUpdate(d->_md, "\n", 1);
    }
    if (d->_ck != CK_NONE && !d->_ck_seen && nl == strlen(d->_ck_name) &&
        memcmp(l, d->_ck_name, nl) == 0)
        return ck_check(d, l + vs, n - vs);
    return 0;
}

/* Gather a line across slices; at its LF, hand it on without "\r\n". */
static int line(gw_chunked_t *d, const char *buf, size_t len, size_t *used)
{
    const char *lf = memchr(buf, '\n', len);
    size_t take = lf ? (size_t)(lf - buf) + 1 : len;
    *used = take;
    if (d->_line_len + take > sizeof d->_line)
        return GW_EBADREQ;
    memcpy(d->_line + d->_line_len, buf, take);
    d->_line_len += take;
    if (lf == NULL)
        return 0;
    size_t n = d->_line_len;
    d->_line_len = 0;
    if (n < 2 || d->_line[n - 2] != '\r')
        return GW_EBADREQ;
    n -= 2;
    return d->_state == ST_HEAD ? on_head(d, d->_line, n)
                                : on_trailer(d, d->_line, n);
}

static int data(gw_chunked_t *d, const char *buf, size_t len, size_t *used)
{
    size_t n = len < d->_left ? len : (size_t)d->_left;
    *used = n;
    if (d->_signed)
        EVP_DigestUpdate(d->_md, buf, n);
    ck_update(d, buf, n);
    d->_total += n;
    d->_left -= n;
    int rc = d->_cb != NULL ? d->_cb(d->data, buf, n) : 0;
    if (rc == 0 && d->_left == 0)
        rc = data_done(d);
    return rc;
}

int gw__chunked_feed(gw_chunked_t *d, const char *buf, size_t len)
{
    size_t i = 0, used = 0;
    int rc = d->_err;
    while (rc == 0 && i < len) {
        switch (d->_state) {
        case ST_HEAD:
        case ST_TRAILER:
            rc = line(d, buf + i, len - i, &used);
            break;
        case ST_DATA:
            rc = data(d, buf + i, len - i, &used);
            break;
        case ST_DATA_CR:
        case ST_DATA_LF:
            used = 1;
            rc = buf[i] == (d->_state == ST_DATA_CR ? '\r' : '\n') ? 0
                                                                   : GW_EBADREQ;
            d->_state = d->_state == ST_DATA_CR ? ST_DATA_LF : ST_HEAD;
            break;
        default:
            rc = GW_EBADREQ; /* bytes after the end of the body */
            break;
        }
        i += used;
    }
    d->_err = rc;
    return rc;
}

int gw__chunked_finish(gw_chunked_t *d)
{
    if (d->_err < 0)
        return d->_err;
    if (d->_state != ST_DONE)
        return d->_err = GW_EINCOMPLETE;
    if (d->_decoded_len >= 0 && d->_total != (uint64_t)d->_decoded_len)
        return d->_err = GW_EINCOMPLETE;
    return 0;
}
