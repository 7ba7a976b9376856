/*
 * err.h - the gateway's own error codes and their S3 errors (private to
 * gateway/). STYLE rule 24: the mapping from every code, CLEO_E*, STO_E*
 * and GW_E*, to an HTTP status and an S3 error code lives in one table,
 * gw__s3_err() in err.c.
 */
#ifndef CLEO_GATEWAY_ERR_H
#define CLEO_GATEWAY_ERR_H

/* Reserved range -20200..-20299. */
#define GW_ESIGNATURE (-20201)     /* SignatureDoesNotMatch, 403 */
#define GW_EACCESSKEY (-20202)     /* InvalidAccessKeyId, 403 */
#define GW_EDENIED (-20203)        /* AccessDenied, 403 */
#define GW_ESKEW (-20204)          /* RequestTimeTooSkewed, 403 */
#define GW_EAUTHHDR (-20205)       /* AuthorizationHeaderMalformed, 400 */
#define GW_EBADDIGEST (-20206)     /* BadDigest, 400 (Content-MD5) */
#define GW_ESHA256 (-20207)        /* XAmzContentSHA256Mismatch, 400 */
#define GW_EBADXML (-20208)        /* MalformedXML, 400 */
#define GW_EBUCKETNAME (-20209)    /* InvalidBucketName, 400 */
#define GW_EKEYTOOLONG (-20210)    /* KeyTooLongError, 400 */
#define GW_ETOOLARGE (-20211)      /* EntityTooLarge, 400 */
#define GW_ENOLENGTH (-20212)      /* MissingContentLength, 411 */
#define GW_EMETHOD (-20213)        /* MethodNotAllowed, 405 */
#define GW_ENOTIMPL (-20214)       /* NotImplemented, 501 */
#define GW_EHDRTOOBIG (-20215)     /* RequestHeaderSectionTooLarge, 400 */
#define GW_ETIMEOUT (-20216)       /* RequestTimeout, 400 */
#define GW_EPRECOND (-20217)       /* PreconditionFailed, 412 */
#define GW_ENOTMODIFIED (-20218)   /* 304, no body */
#define GW_EARGUMENT (-20219)      /* InvalidArgument, 400 */
#define GW_EMISSINGSEC (-20220)    /* MissingSecurityHeader, 400 */
#define GW_EINVALIDDIGEST (-20221) /* InvalidDigest, 400 */
#define GW_EBADREQ (-20222)        /* InvalidRequest, 400 */
#define GW_EOWNED (-20223)         /* BucketAlreadyOwnedByYou, 409 */
#define GW_EBUCKETEXISTS (-20224)  /* BucketAlreadyExists, 409 */
#define GW_ENOBUCKET (-20225)      /* NoSuchBucket, 404 (gateway-side) */
#define GW_EEXPIRED (-20226)       /* AccessDenied "Request has expired" */
#define GW_EUNAVAILABLE (-20227)   /* ServiceUnavailable / SlowDown, 503 */
#define GW_EMAXMSG (-20228)        /* MaxMessageLengthExceeded, 400 */
#define GW_EINCOMPLETE (-20229)    /* IncompleteBody, 400 */

/* One row of the table. */
typedef struct gw_s3_err_s {
    int status;          /* HTTP status */
    const char *code;    /* S3 error code, e.g. "NoSuchKey" */
    const char *message; /* human text for <Message> */
} gw_s3_err_t;

/* The S3 error of any code (CLEO_E*, STO_E*, GW_E*, -errno). Unknown
 * codes are 500 InternalError. `is_key` picks NoSuchKey over
 * NoSuchBucket for CLEO_ENOTFOUND. @return static, never NULL. */
const gw_s3_err_t *gw__s3_err(int err, int is_key);

#endif /* CLEO_GATEWAY_ERR_H */
