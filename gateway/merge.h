/*
 * merge.h - one listing from the pages of several storage nodes (private
 * to gateway/). In a cluster a bucket's keys are spread over the RING's
 * nodes; ListObjects and ListMultipartUploads ask every node for a page
 * with the same parameters (prefix, delimiter, marker, max) and merge
 * the pages here. Pure functions: no actors, no I/O.
 *
 * Each node's page holds the first max items after the marker on that
 * node, in key order, so the first max items of the merge are the first
 * max of the whole bucket: an item a node left out comes after every
 * item it gave.
 */
#ifndef CLEO_GATEWAY_MERGE_H
#define CLEO_GATEWAY_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/storage.pb-c.h"

/* Merge ListObjects pages into one of at most max items, where an item
 * is an entry or a common prefix, in byte order of key or prefix. A
 * prefix that several pages give counts once; so does a key (the entry
 * with the newest last_modified_ms is kept). is_truncated is set when
 * an item is left over or any page was truncated (it may have more
 * after its last item); next_marker is the last item given ("" if
 * none), which a following request passes as its marker: storage skips
 * a whole common prefix given as the marker.
 * @param pages borrows n pages; a NULL page is an empty one.
 * @param max items wanted, >= 1.
 * @param out gives: free with protobuf_c_message_free_unpacked(). Written
 * only on success.
 * @return 0 or CLEO_EINVAL (max 0). Aborts on out-of-memory (bounded:
 * at most n * 1000 names of <= 1 KiB). */
int gw__merge_list(const Cleo__Storage__ListReply *const *pages, size_t n,
                   uint32_t max, Cleo__Storage__ListReply **out);

/* Merge ListMultipartUploads pages into one of at most max uploads, in
 * order of key, then upload id (storage's order); an upload several
 * pages give counts once. is_truncated as gw__merge_list(); when set,
 * next_key_marker and next_upload_id_marker name the last upload given.
 * @param pages borrows n pages; a NULL page is an empty one.
 * @param out gives: free with protobuf_c_message_free_unpacked().
 * @return 0 or CLEO_EINVAL (max 0). Aborts on out-of-memory. */
int gw__merge_uploads(const Cleo__Storage__MpuUploadList *const *pages,
                      size_t n, uint32_t max,
                      Cleo__Storage__MpuUploadList **out);

#endif /* CLEO_GATEWAY_MERGE_H */
