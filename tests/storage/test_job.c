/*
 * test_job.c - the engine's dispatch table (storage/job.c, job.h): it
 * agrees with proto/storage.proto's enum MsgId - every id a client sends
 * to the engine has one entry, the ids that go to a stream actor or that
 * the role sends itself have none - and each entry is consistent: a run
 * unless it opens a stream, and record types that are the proto's.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/storage.pb-c.h"
#include "storage/job.h"
#include "stot.c"

/* MsgId values with no entry: calls to a stream actor, the role's own
 * messages, and the zero value. */
static bool has_no_entry(uint32_t id)
{
    switch (id) {
    case CLEO__STORAGE__MSG_ID__MSG_ID_UNSPECIFIED:
    case STO_MSG_STREAM_WRITE:
    case STO_MSG_STREAM_COMMIT:
    case STO_MSG_STREAM_ABORT:
    case STO_MSG_STREAM_READ:
    case CLEO__STORAGE__MSG_ID__STREAM_JOB_DONE:
    case CLEO__STORAGE__MSG_ID__STREAM_TICK:
    case CLEO__STORAGE__MSG_ID__MAINT_TICK:
    case STO_MSG_REPAIR_ENQUEUE: /* to the repairer */
    case STO_MSG_REPAIR_STATS:
    case CLEO__STORAGE__MSG_ID__REPAIR_TICK:
    case CLEO__STORAGE__MSG_ID__ENGINE_RING:
    case CLEO__STORAGE__MSG_ID__ENGINE_CLOSED:
    case CLEO__STORAGE__MSG_ID__ENGINE_OPENED:
    case CLEO__STORAGE__MSG_ID__ENGINE_JOB_DONE:
        return true;
    default:
        return false;
    }
}

static bool is_storage_record(const ProtobufCMessageDescriptor *d)
{
    return d == NULL || strncmp(d->name, "cleo.storage.", 13) == 0;
}

Test(job, table_has_an_entry_for_each_engine_id_of_the_proto)
{
    const ProtobufCEnumDescriptor *e = &cleo__storage__msg_id__descriptor;
    size_t entries = 0;
    for (unsigned i = 0; i < e->n_values; i++) {
        uint32_t id = (uint32_t)e->values[i].value;
        const sto__op_t *op = sto__op_find(id);
        if (has_no_entry(id)) {
            cr_expect_null(op, "%s has an entry", e->values[i].name);
            continue;
        }
        cr_assert_not_null(op, "%s has no entry", e->values[i].name);
        cr_expect_eq(op->id, id);
        entries++;
    }
    cr_expect_eq(entries, 28u);
}

Test(job, entries_run_unless_they_open_a_stream)
{
    const ProtobufCEnumDescriptor *e = &cleo__storage__msg_id__descriptor;
    for (unsigned i = 0; i < e->n_values; i++) {
        const sto__op_t *op = sto__op_find((uint32_t)e->values[i].value);
        if (op == NULL)
            continue;
        cr_expect_eq(op->run == NULL, op->kind == STO__OP_STREAM, "%s",
                     e->values[i].name);
        cr_expect(is_storage_record(op->req), "%s", e->values[i].name);
        cr_expect(is_storage_record(op->reply), "%s", e->values[i].name);
        cr_expect_eq(op->body, op->id == STO_MSG_PUT, "%s", e->values[i].name);
    }
}

Test(job, kinds_are_those_the_engine_schedules_by)
{
    cr_expect_eq(sto__op_find(STO_MSG_GET)->kind, STO__OP_READ);
    cr_expect_eq(sto__op_find(STO_MSG_GET_OPEN)->kind, STO__OP_READ);
    cr_expect_eq(sto__op_find(STO_MSG_MPU_LIST_UPLOADS)->kind, STO__OP_READ);
    cr_expect_eq(sto__op_find(STO_MSG_PUT)->kind, STO__OP_WRITE);
    cr_expect_eq(sto__op_find(STO_MSG_BUCKET_CREATE)->kind, STO__OP_WRITE);
    cr_expect_eq(sto__op_find(STO_MSG_PUT_BEGIN)->kind, STO__OP_STREAM);
    cr_expect_eq(sto__op_find(STO_MSG_MPU_PART_BEGIN)->kind, STO__OP_STREAM);
    cr_expect_eq(sto__op_find(STO_MSG_SCRUB)->kind, STO__OP_MAINT);
    cr_expect_eq(sto__op_find(STO_MSG_COMPACT)->kind, STO__OP_MAINT);
    cr_expect_eq(sto__op_find(STO_MSG_PURGE)->kind, STO__OP_MAINT);
    cr_expect_eq(sto__op_find(STO_MSG_PUT)->req,
                 &cleo__storage__put_req__descriptor);
    cr_expect_eq(sto__op_find(STO_MSG_BUCKET_LIST)->req, NULL);
}

Test(job, unknown_ids_have_no_entry)
{
    cr_expect_null(sto__op_find(0));
    cr_expect_null(sto__op_find(STO_MSG_BUCKET_CREATE + 98));
    cr_expect_null(sto__op_find(0xFFFFFFFFu));
}

/* ---- HEAD's run: tombstones on request (cleo-adm whereis) ----------- */

static void head_setup(void)
{
    t_setup();
    cr_assert_eq(sto_bucket_create(T_db, "bkt", "o", T_NOW), 0);
}

/* Run HEAD of bkt/key as the engine's pool would; *out gets the reply
 * record (NULL on failure). */
static int head(const char *bucket, const char *key, bool tombstones,
                Cleo__Storage__ObjectInfo **out)
{
    Cleo__Storage__ObjectReq r = CLEO__STORAGE__OBJECT_REQ__INIT;
    r.bucket = (char *)bucket;
    r.key = (char *)key;
    r.tombstones = tombstones;
    sto__job_t j = {.type = STO_MSG_HEAD, .req = &r};
    int rc = sto__op_find(STO_MSG_HEAD)->run(T_db, &j);
    *out = j.res;
    return rc;
}

Test(job, head_with_tombstones_reports_a_deleted_object, .init = head_setup,
     .fini = t_teardown)
{
    Cleo__Storage__ObjectInfo *info = NULL;
    cr_assert_eq(t_put("bkt", "gone", 100, 1, 100, NULL), 0);
    cr_assert_eq(sto_delete(T_db, "bkt", "gone", T_NOW + 5), 0);
    cr_expect_eq(head("bkt", "gone", false, &info), CLEO_ENOTFOUND);
    cr_expect_null(info);
    cr_assert_eq(head("bkt", "gone", true, &info), 0);
    cr_assert_not_null(info);
    cr_expect(info->deleted);
    cr_expect_eq(info->size, 0);
    cr_expect_str_eq(info->etag, "");
    cr_expect_str_eq(info->key, "gone");
    cr_expect_eq(info->last_modified_ms, T_NOW + 5);
    cr_expect_gt(info->clock, 0);
    protobuf_c_message_free_unpacked(&info->base, NULL);
}

Test(job, head_with_tombstones_of_a_live_object_is_that_object,
     .init = head_setup, .fini = t_teardown)
{
    char etag[40];
    Cleo__Storage__ObjectInfo *info = NULL;
    cr_assert_eq(t_put("bkt", "live", 300, 2, 300, etag), 0);
    cr_assert_eq(head("bkt", "live", true, &info), 0);
    cr_expect_not(info->deleted);
    cr_expect_eq(info->size, 300);
    cr_expect_str_eq(info->etag, etag);
    protobuf_c_message_free_unpacked(&info->base, NULL);
}

Test(job, head_with_tombstones_of_a_missing_key_is_not_found,
     .init = head_setup, .fini = t_teardown)
{
    Cleo__Storage__ObjectInfo *info = NULL;
    cr_expect_eq(head("bkt", "never", true, &info), CLEO_ENOTFOUND);
    cr_expect_null(info);
    cr_expect_eq(head("nobkt", "never", true, &info), STO_ENOBUCKET);
    cr_expect_null(info);
}
