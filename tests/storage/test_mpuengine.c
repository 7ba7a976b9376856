/*
 * test_mpuengine.c - multipart uploads through the engine actor
 * (storage/mpujob.c): MPU_CREATE, MPU_PART_COPY, MPU_LIST_PARTS,
 * MPU_COMPLETE, MPU_ABORT and MPU_LIST_UPLOADS as gen_server calls, with
 * the bytes and the S3 ETag checked independently, every error mapped
 * through, and malformed requests answered with CLEO_EBADREQ. Parts are
 * copied from objects put whole (MPU_PART_BEGIN is a stream, tested with
 * the stream actors). Each test runs its own runtime and supervisor over
 * a fresh directory, with 64 KiB chunks and a 100,000-byte minimum part.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <protobuf-c/protobuf-c.h>

#include "actors/actors.h"
#include "storage/sto.h"
#include "supervisors/sup.h"

#define MIN_PART 100000u
#define SRC_LEN 420001u

static char T_dir[64];
static char T_path[96];
static rt_t *T_rt;
static rt_pid_t T_sup;
static sto_engine_conf_t T_conf;

static const sup_child_spec_t kids[] = {
    {"engine", sto_engine_start, &T_conf, SUP_PERMANENT, 5000, SUP_WORKER}};
static const sup_spec_t spec = {{SUP_ONE_FOR_ONE, 10, 5000}, kids, 1};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static void setup(void)
{
    snprintf(T_dir, sizeof T_dir, "/tmp/cleo-mpe-XXXXXX");
    cr_assert_not_null(mkdtemp(T_dir));
    snprintf(T_path, sizeof T_path, "%s/storage", T_dir);
    sto_engine_conf_init(&T_conf, T_path);
    T_conf.opts.chunk_size = 64 << 10;
    T_conf.opts.mpu_min_part = MIN_PART;
    rt_opts_t o = {.schedulers = 2};
    cr_assert_eq(rt_new(&o, &T_rt), 0);
    cr_assert_eq(sup_start(T_rt, NULL, "storage_sup", &spec, &T_sup), 0);
    cr_assert_eq(sto_client_bucket_create_sync(T_rt, "bkt", NULL), 0);
}

static void teardown(void)
{
    cr_assert_eq(rt_shutdown(T_rt), 0);
    rt_free(T_rt);
    nftw(T_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sto_mpuengine, .init = setup, .fini = teardown, .timeout = 120);

static void pb_free(void *pb)
{
    if (pb != NULL)
        protobuf_c_message_free_unpacked(pb, NULL);
}

/* Call the engine with type and record pb (taken; NULL = none). Returns
 * the status; *out (if given) takes the reply's record. */
static int call(uint32_t type, void *pb, void **out)
{
    rt_msg_t *req = rt_msg_new(type), *reply = NULL;
    if (pb != NULL)
        rt_msg_set_pb(req, pb);
    cr_assert_eq(gen_server_call_sync(T_rt, rt_whereis(T_rt, STO_ENGINE_NAME),
                                      req, 10000, &reply),
                 0);
    int rc = reply->reason;
    if (out != NULL) {
        *out = rc == 0 ? reply->payload : NULL;
        if (rc == 0)
            reply->payload = NULL;
    }
    rt_msg_free(reply);
    return rc;
}

static char *dup(const char *s)
{
    char *d = strdup(s);
    cr_assert_not_null(d);
    return d;
}

/* The source object: SRC_LEN bytes of a pattern, put whole. */
static rt_buf_t *src_put(const char *key)
{
    rt_buf_t *b;
    cr_assert_eq(rt_buf_new(SRC_LEN, &b), 0);
    for (size_t i = 0; i < SRC_LEN; i++)
        rt_buf_data(b)[i] = (char)(i * 131 + (i >> 11) * 7 + (i >> 17));
    cr_assert_eq(rt_buf_set_len(b, SRC_LEN), 0);
    rt_buf_ref(b);
    cr_assert_eq(sto_client_put_sync(T_rt, "bkt", key, b, NULL, NULL), 0);
    return b;
}

static int create(const char *key, const char *ctype, char id[64])
{
    Cleo__Storage__PutReq *r = malloc(sizeof *r);
    cleo__storage__put_req__init(r);
    r->bucket = dup("bkt");
    r->key = dup(key);
    r->content_type = dup(ctype);
    Cleo__Storage__MpuUpload *u = NULL;
    int rc = call(STO_MSG_MPU_CREATE, r, (void **)&u);
    if (rc == 0) {
        snprintf(id, 64, "%s", u->upload_id);
        pb_free(u);
    }
    return rc;
}

static Cleo__Storage__MpuPartReq *part_req(const char *key, const char *id,
                                           uint32_t pn)
{
    Cleo__Storage__MpuPartReq *p = malloc(sizeof *p);
    cleo__storage__mpu_part_req__init(p);
    p->bucket = dup("bkt");
    p->key = dup(key);
    p->upload_id = dup(id);
    p->part_number = pn;
    return p;
}

/* Copy src[first..last] as part pn; its etag into etag. */
static int part_copy(const char *key, const char *id, uint32_t pn,
                     uint64_t first, uint64_t last, char etag[40])
{
    Cleo__Storage__MpuPartCopyReq *r = malloc(sizeof *r);
    cleo__storage__mpu_part_copy_req__init(r);
    r->part = part_req(key, id, pn);
    r->src_bucket = dup("bkt");
    r->src_key = dup("src");
    r->has_range = true;
    r->first = first;
    r->last = last;
    Cleo__Storage__PartInfo *p = NULL;
    int rc = call(STO_MSG_MPU_PART_COPY, r, (void **)&p);
    if (rc == 0) {
        cr_assert_eq(p->part_number, pn);
        cr_assert_eq(p->size, last - first + 1);
        if (etag != NULL)
            snprintf(etag, 40, "%s", p->etag);
        pb_free(p);
    }
    return rc;
}

/* Complete with n (number, etag) parts. */
static int complete(const char *key, const char *id, const uint32_t *nums,
                    char (*etags)[40], size_t n,
                    Cleo__Storage__ObjectInfo **out)
{
    Cleo__Storage__MpuCompleteReq *r = malloc(sizeof *r);
    cleo__storage__mpu_complete_req__init(r);
    r->bucket = dup("bkt");
    r->key = dup(key);
    r->upload_id = dup(id);
    r->n_parts = n;
    r->parts = malloc((n + 1) * sizeof *r->parts);
    for (size_t i = 0; i < n; i++) {
        Cleo__Storage__PartInfo *p = malloc(sizeof *p);
        cleo__storage__part_info__init(p);
        p->part_number = nums[i];
        p->etag = dup(etags[i]);
        r->parts[i] = p;
    }
    return call(STO_MSG_MPU_COMPLETE, r, (void **)out);
}

static int list_parts(const char *key, const char *id, uint32_t marker,
                      uint32_t max, Cleo__Storage__MpuPartList **out)
{
    Cleo__Storage__MpuListPartsReq *r = malloc(sizeof *r);
    cleo__storage__mpu_list_parts_req__init(r);
    r->bucket = dup("bkt");
    r->key = dup(key);
    r->upload_id = dup(id);
    r->part_marker = marker;
    r->max_parts = max;
    return call(STO_MSG_MPU_LIST_PARTS, r, (void **)out);
}

static int list_uploads(const char *km, const char *um, uint32_t max,
                        Cleo__Storage__MpuUploadList **out)
{
    Cleo__Storage__MpuListUploadsReq *r = malloc(sizeof *r);
    cleo__storage__mpu_list_uploads_req__init(r);
    r->bucket = dup("bkt");
    r->key_marker = dup(km);
    r->upload_id_marker = dup(um);
    r->max_uploads = max;
    return call(STO_MSG_MPU_LIST_UPLOADS, r, (void **)out);
}

static void md5(const void *b, size_t n, uint8_t out[16])
{
    unsigned int l = 0;
    cr_assert_eq(EVP_Digest(b, n, out, &l, EVP_md5(), NULL), 1);
}

Test(sto_mpuengine, three_parts_complete_and_read_back)
{
    rt_buf_t *src = src_put("src");
    char id[64], et[3][40];
    cr_assert_eq(create("obj", "text/x-mpu", id), 0);
    const uint64_t cut[4] = {0, 150000, 350000, SRC_LEN};
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(part_copy("obj", id, i + 1, cut[i], cut[i + 1] - 1, et[i]),
                     0);
    Cleo__Storage__MpuPartList *pl = NULL;
    cr_assert_eq(list_parts("obj", id, 0, 2, &pl), 0);
    cr_assert_eq(pl->n_parts, 2);
    cr_assert(pl->is_truncated);
    cr_assert_eq(pl->next_part_marker, 2);
    cr_assert_str_eq(pl->parts[1]->etag, et[1]);
    pb_free(pl);
    cr_assert_eq(list_parts("obj", id, 2, 0, &pl), 0);
    cr_assert_eq(pl->n_parts, 1);
    cr_assert_not(pl->is_truncated);
    cr_assert_eq(pl->parts[0]->size, SRC_LEN - 350000);
    pb_free(pl);

    /* The ETag, independently: MD5 of the parts' binary MD5s, "-3". */
    uint8_t cat[48], d[16];
    char want[64];
    for (int i = 0; i < 3; i++)
        md5(rt_buf_data(src) + cut[i], cut[i + 1] - cut[i], cat + 16 * i);
    md5(cat, sizeof cat, d);
    for (int i = 0; i < 16; i++)
        snprintf(want + 2 * i, 3, "%02x", d[i]);
    strcat(want, "-3");
    const uint32_t nums[3] = {1, 2, 3};
    Cleo__Storage__ObjectInfo *oi = NULL;
    cr_assert_eq(complete("obj", id, nums, et, 3, &oi), 0);
    cr_assert_str_eq(oi->etag, want);
    cr_assert_eq(oi->size, SRC_LEN);
    cr_assert_str_eq(oi->content_type, "text/x-mpu");
    pb_free(oi);

    rt_buf_t *got = NULL;
    cr_assert_eq(sto_client_get_sync(T_rt, "bkt", "obj", &got, &oi), 0);
    cr_assert_eq(rt_buf_len(got), SRC_LEN);
    cr_assert_eq(memcmp(rt_buf_data(got), rt_buf_data(src), SRC_LEN), 0);
    cr_assert_str_eq(oi->etag, want);
    pb_free(oi);
    rt_buf_unref(got);
    cr_assert_eq(list_parts("obj", id, 0, 0, &pl), STO_ENOUPLOAD);

    /* Delete frees it like any object. */
    Cleo__Storage__BucketInfo *du = NULL;
    cr_assert_eq(sto_client_bucket_du_sync(T_rt, "bkt", &du), 0);
    cr_assert_eq(du->bytes, 2ull * SRC_LEN);
    pb_free(du);
    cr_assert_eq(sto_client_delete_sync(T_rt, "bkt", "obj"), 0);
    cr_assert_eq(sto_client_get_sync(T_rt, "bkt", "obj", &got, NULL),
                 CLEO_ENOTFOUND);
    rt_buf_unref(src);
}

Test(sto_mpuengine, errors_map_through)
{
    rt_buf_unref(src_put("src"));
    char id[64], et[3][40], bad[3][40];
    cr_assert_eq(create("obj", "", id), 0);
    cr_assert_eq(part_copy("obj", id, 1, 0, 149999, et[0]), 0);
    cr_assert_eq(part_copy("obj", id, 2, 150000, 199999, et[1]), 0); /* small */
    cr_assert_eq(part_copy("obj", id, 3, 200000, 200009, et[2]), 0);
    memcpy(bad, et, sizeof bad);
    bad[1][0] = bad[1][0] == '0' ? '1' : '0';
    const uint32_t nums[3] = {1, 2, 3}, desc[3] = {1, 3, 2};
    cr_assert_eq(complete("obj", id, nums, bad, 3, NULL), STO_EBADPART);
    cr_assert_eq(complete("obj", id, desc, et, 3, NULL), STO_EPARTORDER);
    cr_assert_eq(complete("obj", id, nums, et, 3, NULL), STO_ETOOSMALL);
    cr_assert_eq(complete("obj", id, nums, et, 0, NULL), CLEO_EINVAL);
    cr_assert_eq(part_copy("obj", id, 0, 0, 9, NULL), CLEO_EINVAL);
    cr_assert_eq(part_copy("obj", id, 4, 0, SRC_LEN, NULL), STO_ERANGE);
    rt_buf_t *got = NULL;
    cr_assert_eq(sto_client_get_sync(T_rt, "bkt", "obj", &got, NULL),
                 CLEO_ENOTFOUND);

    const char *none = "00000000000000000000000000000000";
    Cleo__Storage__MpuPartList *pl = NULL;
    cr_assert_eq(part_copy("obj", none, 1, 0, 9, NULL), STO_ENOUPLOAD);
    cr_assert_eq(complete("obj", none, nums, et, 1, NULL), STO_ENOUPLOAD);
    cr_assert_eq(list_parts("obj", none, 0, 0, &pl), STO_ENOUPLOAD);
    cr_assert_eq(call(STO_MSG_MPU_ABORT, part_req("obj", none, 0), NULL),
                 STO_ENOUPLOAD);
    cr_assert_eq(call(STO_MSG_MPU_ABORT, part_req("obj2", id, 0), NULL),
                 STO_ENOUPLOAD);
    /* Abort ends it: its parts and the upload are gone. */
    cr_assert_eq(call(STO_MSG_MPU_ABORT, part_req("obj", id, 0), NULL), 0);
    cr_assert_eq(list_parts("obj", id, 0, 0, &pl), STO_ENOUPLOAD);
    cr_assert_eq(complete("obj", id, nums, et, 1, NULL), STO_ENOUPLOAD);
    Cleo__Storage__MpuUploadList *ul = NULL;
    cr_assert_eq(list_uploads("", "", 0, &ul), 0);
    cr_assert_eq(ul->n_uploads, 0);
    pb_free(ul);
}

Test(sto_mpuengine, malformed_requests_are_ebadreq)
{
    const uint32_t types[] = {STO_MSG_MPU_CREATE,     STO_MSG_MPU_PART_COPY,
                              STO_MSG_MPU_COMPLETE,   STO_MSG_MPU_ABORT,
                              STO_MSG_MPU_LIST_PARTS, STO_MSG_MPU_LIST_UPLOADS};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        cr_assert_eq(call(types[i], NULL, NULL), CLEO_EBADREQ, "type %zu", i);
    /* The wrong record, and a part copy without its part. */
    Cleo__Storage__MpuPartReq *p = part_req("k", "x", 1);
    cr_assert_eq(call(STO_MSG_MPU_COMPLETE, p, NULL), CLEO_EBADREQ);
    Cleo__Storage__MpuPartCopyReq *r = malloc(sizeof *r);
    cleo__storage__mpu_part_copy_req__init(r);
    cr_assert_eq(call(STO_MSG_MPU_PART_COPY, r, NULL), CLEO_EBADREQ);
    cr_assert_neq(rt_whereis(T_rt, STO_ENGINE_NAME), RT_PID_NONE);
}

Test(sto_mpuengine, list_uploads_pages)
{
    const char *keys[] = {"b", "a", "c", "a"};
    char ids[4][64];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(create(keys[i], "", ids[i]), 0);
    const int order[4] = {1, 3, 0, 2};
    char km[64] = "", um[64] = "";
    int seen = 0;
    for (int page = 0; page < 2; page++) {
        Cleo__Storage__MpuUploadList *l = NULL;
        cr_assert_eq(list_uploads(km, um, 2, &l), 0);
        cr_assert_eq(l->n_uploads, 2);
        for (size_t i = 0; i < l->n_uploads; i++, seen++) {
            cr_assert_str_eq(l->uploads[i]->key, keys[order[seen]]);
            cr_assert_str_eq(l->uploads[i]->upload_id, ids[order[seen]]);
            cr_assert_gt(l->uploads[i]->initiated_ms, 0);
        }
        cr_assert_eq(l->is_truncated, page == 0);
        snprintf(km, sizeof km, "%s", l->next_key_marker);
        snprintf(um, sizeof um, "%s", l->next_upload_id_marker);
        pb_free(l);
    }
    cr_assert_eq(seen, 4);
    cr_assert_str_eq(km, "c");
}

/* MPU_PART_BEGIN then WRITE and COMMIT to the stream: the path the
 * gateway's UploadPart takes. Returns the status; etag gets PartInfo's. */
static int part_stream(rt_inbox_t *owner, const char *key, const char *id,
                       uint32_t pn, const char *bytes, size_t n, char etag[40])
{
    rt_msg_t *m = rt_msg_new(STO_MSG_MPU_PART_BEGIN), *reply = NULL;
    rt_msg_set_pb(m, part_req(key, id, pn));
    m->arg = rt_inbox_pid(owner);
    rt_pid_t eng = rt_whereis(T_rt, STO_ENGINE_NAME);
    cr_assert_eq(gen_server_call_sync(T_rt, eng, m, 10000, &reply), 0);
    int rc = reply->reason;
    rt_pid_t st = rc == 0 ? reply->from : RT_PID_NONE;
    rt_msg_free(reply);
    for (size_t o = 0; rc == 0 && o < n; o += 50000) {
        size_t len = n - o < 50000 ? n - o : 50000;
        rt_buf_t *b;
        cr_assert_eq(rt_buf_new(len, &b), 0);
        memcpy(rt_buf_data(b), bytes + o, len);
        cr_assert_eq(rt_buf_set_len(b, len), 0);
        m = rt_msg_new(STO_MSG_STREAM_WRITE);
        rt_msg_set_buf(m, b);
        cr_assert_eq(gen_server_call_sync(T_rt, st, m, 10000, &reply), 0);
        rc = reply->reason;
        rt_msg_free(reply);
    }
    if (rc < 0)
        return rc;
    Cleo__Storage__PutCommit *c = malloc(sizeof *c);
    cleo__storage__put_commit__init(c);
    c->size = (int64_t)n;
    m = rt_msg_new(STO_MSG_STREAM_COMMIT);
    rt_msg_set_pb(m, c);
    cr_assert_eq(gen_server_call_sync(T_rt, st, m, 10000, &reply), 0);
    if ((rc = reply->reason) == 0) {
        Cleo__Storage__PartInfo *p = reply->payload;
        cr_assert_eq(p->part_number, pn);
        cr_assert_eq(p->size, n);
        snprintf(etag, 40, "%s", p->etag);
    }
    rt_msg_free(reply);
    return rc;
}

Test(sto_mpuengine, streamed_and_copied_parts_complete)
{
    rt_buf_t *src = src_put("src");
    rt_inbox_t *owner = NULL;
    cr_assert_eq(rt_inbox_new(T_rt, &owner), 0);
    char id[64], et[3][40];
    cr_assert_eq(create("obj", "", id), 0);
    const char *s = rt_buf_data(src);
    cr_assert_eq(part_stream(owner, "obj", id, 1, s, 150000, et[0]), 0);
    cr_assert_eq(part_copy("obj", id, 2, 150000, 299999, et[1]), 0);
    cr_assert_eq(
        part_stream(owner, "obj", id, 3, s + 300000, SRC_LEN - 300000, et[2]),
        0);
    cr_assert_eq(part_stream(owner, "obj", "00000000000000000000000000000000",
                             1, s, 10, et[2]),
                 STO_ENOUPLOAD);
    const uint32_t nums[3] = {1, 2, 3};
    Cleo__Storage__ObjectInfo *oi = NULL;
    cr_assert_eq(complete("obj", id, nums, et, 3, &oi), 0);
    cr_assert_eq(oi->size, SRC_LEN);
    cr_assert_eq(strlen(oi->etag), 34);
    cr_assert_str_eq(oi->etag + 32, "-3");
    pb_free(oi);
    rt_buf_t *got = NULL;
    cr_assert_eq(sto_client_get_sync(T_rt, "bkt", "obj", &got, NULL), 0);
    cr_assert_eq(rt_buf_len(got), SRC_LEN);
    cr_assert_eq(memcmp(rt_buf_data(got), s, SRC_LEN), 0);
    rt_buf_unref(got);
    rt_buf_unref(src);
    rt_inbox_free(owner);
}
