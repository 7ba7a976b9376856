/*
 * err.c - the one table from error codes to S3 errors (STYLE rule 24).
 *
 * Statuses, codes and messages follow Amazon S3's "List of error codes".
 * Choices S3 does not make for us:
 *   - A full disk (STO_ENOSPACE, -ENOSPC) is 507 XMinioStorageFull, as
 *     MinIO answers: S3 has no such error, clients already recognise
 *     MinIO's, and unlike 503 SlowDown it does not invite SDKs to retry a
 *     write that cannot succeed until space is freed.
 *   - Overload inside the node (CLEO_ENOMEM, CLEO_ELIMIT, and
 *     CLEO_EOVERLOAD: storage over storage.mailbox_limit, the request
 *     refused before it changed anything) is 503 SlowDown, so SDKs back
 *     off and retry; an unreachable or slow actor
 *     (CLEO_ENOPROC, CLEO_ETIMEDOUT, CLEO_ESHUTDOWN, GW_EUNAVAILABLE) is
 *     503 ServiceUnavailable.
 *   - CLEO_EBADREQ is 400 InvalidRequest; a Content-MD5 mismatch is
 *     GW_EBADDIGEST, which the gateway picks when it sent an MD5.
 */
#include "gateway/err.h"

#include <errno.h>
#include <stddef.h>

#include "runtime/rt.h"
#include "storage/contract.h"

/* Which variant of CLEO_ENOTFOUND a row is. */
enum { ANY = -1, BUCKET = 0, KEY = 1 };

typedef struct row_s {
    int err;
    int variant; /* ANY, or BUCKET/KEY for the is_key argument */
    gw_s3_err_t e;
} row_t;

#define M_INTERNAL "We encountered an internal error. Please try again."
#define M_SLOWDOWN "Please reduce your request rate."
#define M_UNAVAIL "Service is unable to handle request."
#define M_NOBUCKET "The specified bucket does not exist."
#define M_OWNED                                                                \
    "Your previous request to create the named bucket succeeded and you "      \
    "already own it."

/* One row per code reads better than one field per line. */
/* clang-format off */
static const row_t rows[] = {
    /* gateway codes, in err.h's order */
    {GW_ESIGNATURE, ANY, {403, "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature "
        "you provided. Check your key and signing method."}},
    {GW_EACCESSKEY, ANY, {403, "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records."}},
    {GW_EDENIED, ANY, {403, "AccessDenied", "Access Denied"}},
    {GW_ESKEW, ANY, {403, "RequestTimeTooSkewed",
        "The difference between the request time and the current time is "
        "too large."}},
    {GW_EAUTHHDR, ANY, {400, "AuthorizationHeaderMalformed",
        "The authorization header is malformed."}},
    {GW_EBADDIGEST, ANY, {400, "BadDigest",
        "The Content-MD5 you specified did not match what we received."}},
    {GW_ESHA256, ANY, {400, "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what "
        "was computed."}},
    {GW_EBADXML, ANY, {400, "MalformedXML",
        "The XML you provided was not well-formed or did not validate "
        "against our published schema."}},
    {GW_EBUCKETNAME, ANY, {400, "InvalidBucketName",
        "The specified bucket is not valid."}},
    {GW_EKEYTOOLONG, ANY, {400, "KeyTooLongError", "Your key is too long."}},
    {GW_ETOOLARGE, ANY, {400, "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed object size."}},
    {GW_ENOLENGTH, ANY, {411, "MissingContentLength",
        "You must provide the Content-Length HTTP header."}},
    {GW_EMETHOD, ANY, {405, "MethodNotAllowed",
        "The specified method is not allowed against this resource."}},
    {GW_ENOTIMPL, ANY, {501, "NotImplemented",
        "A header you provided implies functionality that is not "
        "implemented."}},
    {GW_EHDRTOOBIG, ANY, {400, "RequestHeaderSectionTooLarge",
        "Your request header section exceeds the maximum allowed size."}},
    {GW_ETIMEOUT, ANY, {400, "RequestTimeout",
        "Your socket connection to the server was not read from or written "
        "to within the timeout period."}},
    {GW_EPRECOND, ANY, {412, "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold."}},
    {GW_ENOTMODIFIED, ANY, {304, "NotModified", "Not Modified"}},
    {GW_EARGUMENT, ANY, {400, "InvalidArgument", "Invalid Argument"}},
    {GW_EMISSINGSEC, ANY, {400, "MissingSecurityHeader",
        "Your request is missing a required header."}},
    {GW_EINVALIDDIGEST, ANY, {400, "InvalidDigest",
        "The Content-MD5 you specified is not valid."}},
    {GW_EBADREQ, ANY, {400, "InvalidRequest", "Invalid Request"}},
    {GW_EOWNED, ANY, {409, "BucketAlreadyOwnedByYou", M_OWNED}},
    {GW_EBUCKETEXISTS, ANY, {409, "BucketAlreadyExists",
        "The requested bucket name is not available. The bucket namespace "
        "is shared by all users of the system. Please select a different "
        "name and try again."}},
    {GW_ENOBUCKET, ANY, {404, "NoSuchBucket", M_NOBUCKET}},
    {GW_EEXPIRED, ANY, {403, "AccessDenied", "Request has expired"}},
    {GW_EUNAVAILABLE, ANY, {503, "ServiceUnavailable", M_UNAVAIL}},
    {GW_EMAXMSG, ANY, {400, "MaxMessageLengthExceeded",
        "Your request was too big."}},
    {GW_EINCOMPLETE, ANY, {400, "IncompleteBody",
        "You did not provide the number of bytes specified by the "
        "Content-Length HTTP header."}},

    /* storage codes */
    {STO_ENOBUCKET, ANY, {404, "NoSuchBucket", M_NOBUCKET}},
    {STO_ECORRUPT, ANY, {500, "InternalError", M_INTERNAL}},
    {STO_ERANGE, ANY, {416, "InvalidRange",
        "The requested range is not satisfiable"}},
    {STO_ENOUPLOAD, ANY, {404, "NoSuchUpload",
        "The specified multipart upload does not exist. The upload ID may "
        "be invalid, or the upload may have been aborted or completed."}},
    {STO_EBADPART, ANY, {400, "InvalidPart",
        "One or more of the specified parts could not be found. The part "
        "may not have been uploaded, or the specified entity tag may not "
        "match the part's entity tag."}},
    {STO_EPARTORDER, ANY, {400, "InvalidPartOrder",
        "The list of parts was not in ascending order. The parts list must "
        "be specified in order by part number."}},
    {STO_ETOOSMALL, ANY, {400, "EntityTooSmall",
        "Your proposed upload is smaller than the minimum allowed object "
        "size."}},
    {STO_ENOSPACE, ANY, {507, "XMinioStorageFull",
        "Storage backend has reached its minimum free disk threshold. "
        "Please delete a few objects to proceed."}},

    /* project codes */
    {CLEO_ENOTFOUND, KEY, {404, "NoSuchKey",
        "The specified key does not exist."}},
    {CLEO_ENOTFOUND, BUCKET, {404, "NoSuchBucket", M_NOBUCKET}},
    {CLEO_ESTATE, ANY, {409, "BucketNotEmpty",
        "The bucket you tried to delete is not empty"}},
    {CLEO_EEXIST, ANY, {409, "BucketAlreadyOwnedByYou", M_OWNED}},
    {CLEO_EINVAL, ANY, {400, "InvalidArgument", "Invalid Argument"}},
    {CLEO_EBADREQ, ANY, {400, "InvalidRequest", "Invalid Request"}},
    {CLEO_ENOMEM, ANY, {503, "SlowDown", M_SLOWDOWN}},
    {CLEO_ELIMIT, ANY, {503, "SlowDown", M_SLOWDOWN}},
    {CLEO_EOVERLOAD, ANY, {503, "SlowDown", M_SLOWDOWN}},
    {CLEO_ETIMEDOUT, ANY, {503, "ServiceUnavailable", M_UNAVAIL}},
    {CLEO_ENOPROC, ANY, {503, "ServiceUnavailable", M_UNAVAIL}},
    /* the storage or manager node is unreachable (distribution) */
    {CLEO_ENOCONNECTION, ANY, {503, "ServiceUnavailable", M_UNAVAIL}},
    {RT_REASON_NOCONNECTION, ANY, {503, "ServiceUnavailable", M_UNAVAIL}},
    {CLEO_ESHUTDOWN, ANY, {503, "ServiceUnavailable", M_UNAVAIL}},

    /* system codes worth a better answer than 500 */
    {-ENOSPC, ANY, {507, "XMinioStorageFull",
        "Storage backend has reached its minimum free disk threshold. "
        "Please delete a few objects to proceed."}},
};
/* clang-format on */

static const gw_s3_err_t internal = {500, "InternalError", M_INTERNAL};

/* The S3 error of a code; a linear scan, as the table is small and the
 * call happens once per failed request. */
const gw_s3_err_t *gw__s3_err(int err, int is_key)
{
    int variant = is_key ? KEY : BUCKET;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].err != err)
            continue;
        if (rows[i].variant == ANY || rows[i].variant == variant)
            return &rows[i].e;
    }
    return &internal;
}
