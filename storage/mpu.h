/*
 * mpu.h - private to storage/: the multipart upload records (keys in
 * db.h's header comment) shared by mpu.c and mpulist.c.
 */
#ifndef CLEO_STORAGE_MPU_H
#define CLEO_STORAGE_MPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/db.h"

#define STO__MPU_UPLOAD 'M' /* sys CF: upload records */
#define STO__MPU_PART 'P'   /* sys CF: part records */
/* 'M' bucket '\0' key '\0' upload_id */
#define STO__MPU_UKEY_MAX (1 + STO__MKEY_MAX + 1 + STO_UPLOAD_ID_LEN)
/* 'P' upload_id part_number (u32 BE) */
#define STO__MPU_PKEY_LEN (1 + STO_UPLOAD_ID_LEN + 4)

/* Part records, by part number. */
typedef struct {
    Cleo__Storage__PartRecord **v;
    size_t n, cap;
} sto__mpu_parts_t;

/* The upload record key into out (>= STO__MPU_UKEY_MAX); its length.
 * upload_id must be STO_UPLOAD_ID_LEN characters. */
size_t sto__mpu_ukey(char *out, const char *bucket, const char *key,
                     const char *upload_id);
/* The part record key into out (STO__MPU_PKEY_LEN bytes). */
void sto__mpu_pkey(char *out, const char *upload_id, uint32_t part_number);

/* Check the arguments naming an upload: 0, STO_ENOBUCKET (bucket name),
 * CLEO_EINVAL (key), STO_ENOUPLOAD (not an id we would make). */
int sto__mpu_args_check(const char *bucket, const char *key,
                        const char *upload_id);

/* Read and decode the upload record at uk. *out gives: free with
 * cleo__storage__upload_record__free_unpacked(). 0, STO_ENOUPLOAD,
 * CLEO_EPROTO, CLEO_ESTORAGE. */
int sto__mpu_upload_read(sto_db_t *db, const char *uk, size_t ukl,
                         Cleo__Storage__UploadRecord **out);

/* Load at most max part records of upload_id with numbers above after.
 * *more (may be NULL) tells whether more follow. *out gives: free with
 * sto__mpu_parts_free(). 0, CLEO_ENOMEM, CLEO_EPROTO, CLEO_ESTORAGE. */
int sto__mpu_parts_load(sto_db_t *db, const char *upload_id, uint32_t after,
                        size_t max, sto__mpu_parts_t *out, bool *more);
/* Free the records and empty ps. */
void sto__mpu_parts_free(sto__mpu_parts_t *ps);

#endif /* CLEO_STORAGE_MPU_H */
