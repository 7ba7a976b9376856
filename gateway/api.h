/*
 * api.h - the request APIs a listener can serve (private to gateway/).
 */
#ifndef CLEO_GATEWAY_API_H
#define CLEO_GATEWAY_API_H

#include "gateway/conn.h"

/* The API of a listener kind (GW_LISTEN_S3, GW_LISTEN_REST). Static. */
const gw_api_t *gw__api(int kind);

extern const gw_api_t gw__s3_api;
extern const gw_api_t gw__rest_api;

#endif /* CLEO_GATEWAY_API_H */
