/*
 * types.h - every message type of each .proto, as NULL-terminated arrays
 * generated at build time (proto/gen_types.sh): what a node registers
 * with rt_dist_register_pb() so that frames of a role's contract decode.
 */
#ifndef CLEO_PROTO_TYPES_H
#define CLEO_PROTO_TYPES_H

#include <protobuf-c/protobuf-c.h>

extern const ProtobufCMessageDescriptor *const cleo_proto_cluster_types[];
extern const ProtobufCMessageDescriptor *const cleo_proto_dist_types[];
extern const ProtobufCMessageDescriptor *const cleo_proto_introspect_types[];
extern const ProtobufCMessageDescriptor *const cleo_proto_manager_types[];
extern const ProtobufCMessageDescriptor *const cleo_proto_metrics_types[];
extern const ProtobufCMessageDescriptor *const cleo_proto_storage_types[];
extern const ProtobufCMessageDescriptor *const cleo_proto_storage_meta_types[];

#endif
