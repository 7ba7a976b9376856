/*
 * test_err.c - gateway/err.c: every code has its S3 error, and the
 * statuses clients depend on are S3's.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "gateway/err.h"
#include "runtime/rt.h"
#include "storage/contract.h"

static void check(int code, int is_key, int status, const char *s3,
                  const char *name)
{
    const gw_s3_err_t *e = gw__s3_err(code, is_key);
    cr_assert_not_null(e);
    cr_assert_eq(e->status, status, "%s: %d", name, e->status);
    cr_assert_str_eq(e->code, s3, "%s: %s", name, e->code);
    cr_assert_not_null(e->message);
    cr_assert_gt(strlen(e->message), 0);
}

#define assert_err(code, is_key, st, s3) check(code, is_key, st, s3, #code)

Test(gw_err, every_gateway_code_has_a_row)
{
    for (int c = GW_ESIGNATURE; c >= GW_EINCOMPLETE; c--) {
        const gw_s3_err_t *e = gw__s3_err(c, 0);
        cr_assert_neq(e->status, 500, "code %d has no row", c);
        cr_assert_str_neq(e->code, "InternalError", "code %d", c);
    }
}

Test(gw_err, gateway_codes_as_commented_in_err_h)
{
    assert_err(GW_ESIGNATURE, 0, 403, "SignatureDoesNotMatch");
    assert_err(GW_EACCESSKEY, 0, 403, "InvalidAccessKeyId");
    assert_err(GW_EDENIED, 0, 403, "AccessDenied");
    assert_err(GW_ESKEW, 0, 403, "RequestTimeTooSkewed");
    assert_err(GW_EAUTHHDR, 0, 400, "AuthorizationHeaderMalformed");
    assert_err(GW_EBADDIGEST, 0, 400, "BadDigest");
    assert_err(GW_ESHA256, 0, 400, "XAmzContentSHA256Mismatch");
    assert_err(GW_EBADXML, 0, 400, "MalformedXML");
    assert_err(GW_EBUCKETNAME, 0, 400, "InvalidBucketName");
    assert_err(GW_EKEYTOOLONG, 0, 400, "KeyTooLongError");
    assert_err(GW_ETOOLARGE, 0, 400, "EntityTooLarge");
    assert_err(GW_ENOLENGTH, 0, 411, "MissingContentLength");
    assert_err(GW_EMETHOD, 0, 405, "MethodNotAllowed");
    assert_err(GW_ENOTIMPL, 0, 501, "NotImplemented");
    assert_err(GW_EHDRTOOBIG, 0, 400, "RequestHeaderSectionTooLarge");
    assert_err(GW_ETIMEOUT, 0, 400, "RequestTimeout");
    assert_err(GW_EPRECOND, 0, 412, "PreconditionFailed");
    assert_err(GW_ENOTMODIFIED, 0, 304, "NotModified");
    assert_err(GW_EARGUMENT, 0, 400, "InvalidArgument");
    assert_err(GW_EMISSINGSEC, 0, 400, "MissingSecurityHeader");
    assert_err(GW_EINVALIDDIGEST, 0, 400, "InvalidDigest");
    assert_err(GW_EBADREQ, 0, 400, "InvalidRequest");
    assert_err(GW_EOWNED, 0, 409, "BucketAlreadyOwnedByYou");
    assert_err(GW_EBUCKETEXISTS, 0, 409, "BucketAlreadyExists");
    assert_err(GW_ENOBUCKET, 0, 404, "NoSuchBucket");
    assert_err(GW_EEXPIRED, 0, 403, "AccessDenied");
    cr_assert_str_eq(gw__s3_err(GW_EEXPIRED, 0)->message,
                     "Request has expired");
    assert_err(GW_EUNAVAILABLE, 0, 503, "ServiceUnavailable");
    assert_err(GW_EMAXMSG, 0, 400, "MaxMessageLengthExceeded");
    assert_err(GW_EINCOMPLETE, 0, 400, "IncompleteBody");
}

Test(gw_err, not_found_depends_on_is_key)
{
    assert_err(CLEO_ENOTFOUND, 1, 404, "NoSuchKey");
    assert_err(CLEO_ENOTFOUND, 0, 404, "NoSuchBucket");
    /* any non-zero is_key means a key */
    assert_err(CLEO_ENOTFOUND, 7, 404, "NoSuchKey");
}

Test(gw_err, storage_codes)
{
    assert_err(STO_ENOBUCKET, 1, 404, "NoSuchBucket");
    assert_err(STO_ERANGE, 1, 416, "InvalidRange");
    assert_err(STO_ECORRUPT, 1, 500, "InternalError");
    assert_err(STO_ENOUPLOAD, 1, 404, "NoSuchUpload");
    assert_err(STO_EBADPART, 1, 400, "InvalidPart");
    assert_err(STO_EPARTORDER, 1, 400, "InvalidPartOrder");
    assert_err(STO_ETOOSMALL, 1, 400, "EntityTooSmall");
    assert_err(STO_ENOSPACE, 1, 507, "XMinioStorageFull");
}

Test(gw_err, project_codes)
{
    assert_err(CLEO_ESTATE, 0, 409, "BucketNotEmpty");
    assert_err(CLEO_EEXIST, 0, 409, "BucketAlreadyOwnedByYou");
    assert_err(CLEO_EINVAL, 0, 400, "InvalidArgument");
    assert_err(CLEO_EBADREQ, 0, 400, "InvalidRequest");
    assert_err(CLEO_ENOMEM, 0, 503, "SlowDown");
    assert_err(CLEO_ELIMIT, 0, 503, "SlowDown");
    assert_err(CLEO_ETIMEDOUT, 0, 503, "ServiceUnavailable");
    assert_err(CLEO_ENOPROC, 0, 503, "ServiceUnavailable");
    assert_err(CLEO_ESHUTDOWN, 0, 503, "ServiceUnavailable");
}

/* Storage over storage.mailbox_limit: SDKs back off and retry on
 * SlowDown, for a key's request and a bucket's alike. */
Test(gw_err, overload_is_slow_down)
{
    assert_err(CLEO_EOVERLOAD, 0, 503, "SlowDown");
    assert_err(CLEO_EOVERLOAD, 1, 503, "SlowDown");
    cr_assert_str_eq(gw__s3_err(CLEO_EOVERLOAD, 1)->message,
                     "Please reduce your request rate.");
}

Test(gw_err, unknown_codes_are_internal_errors)
{
    int unknown[] = {CLEO_ESTORAGE, CLEO_EPROTO, CLEO_EPANIC, -EIO,
                     -20299,        -1,          0,           42,
                     -30001};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_err(unknown[i], 0, 500, "InternalError");
        assert_err(unknown[i], 1, 500, "InternalError");
    }
    assert_err(-ENOSPC, 1, 507, "XMinioStorageFull");
}

Test(gw_err, rows_are_static)
{
    cr_assert_eq(gw__s3_err(GW_EBADXML, 0), gw__s3_err(GW_EBADXML, 1));
    cr_assert_eq(gw__s3_err(-7, 0), gw__s3_err(-8, 1));
}
