/*
 * crash_writer.c - the child side of the crash test, #included by
 * test_crash.c and run in a fork()ed process that the test kill -9s.
 *
 * It writes objects in a loop, new keys and overwrites of a few hot keys,
 * and reports on a pipe, each line one write() (atomic below PIPE_BUF):
 *   "T key seed size etag"  before a commit (an attempt)
 *   "A key"                 after the commit returned 0 (acknowledged)
 * Content is the t_fill() pattern of (seed, size), so the parent can
 * check every byte of whatever version survives.
 */
#include <unistd.h>

#define CW_HOT 10 /* hot keys overwritten across rounds */

static uint32_t cw_hash(uint32_t a, uint32_t b)
{
    uint32_t h = a * 2654435761u ^ (b + 0x9e3779b9u + (a << 6) + (a >> 2));
    return h ^ (h >> 15);
}

static void cw_report(int fd, const char *line)
{
    size_t n = strlen(line);
    if (write(fd, line, n) != (ssize_t)n)
        _exit(3);
}

/* Write one object; returns the commit's result. */
static int cw_put_one(sto_db_t *db, const char *key, uint32_t seed, size_t size,
                      int fd)
{
    uint8_t *all = malloc(size + 1), *buf = malloc(10000);
    t_fill(all, size, seed, 0);
    char etag[33], line[128];
    t_md5_hex(all, size, etag);
    free(all);
    snprintf(line, sizeof(line), "T %s %u %zu %s\n", key, seed, size, etag);
    cw_report(fd, line);
    sto_put_t *p = NULL;
    int rc = sto_put_begin(db, "crash", key, NULL, &p);
    for (size_t off = 0; rc == 0 && off < size; off += 10000) {
        size_t n = size - off < 10000 ? size - off : 10000;
        t_fill(buf, n, seed, off);
        rc = sto_put_write(p, buf, n);
    }
    free(buf);
    if (rc == 0)
        rc = sto_put_commit(p, (int64_t)size, NULL, NULL);
    else if (p != NULL)
        sto_put_abort(p);
    if (rc == 0) {
        snprintf(line, sizeof(line), "A %s\n", key);
        cw_report(fd, line);
    }
    return rc;
}

/* Run until killed. Never returns. */
static void crash_writer_run(const char *path, int round, int fd)
{
    sto_opts_t o;
    sto_opts_init(&o);
    o.chunk_size = T_CHUNK;
    o.cache_bytes = 8 << 20;
    sto_db_t *db = NULL;
    if (sto_db_open(path, &o, &db) < 0)
        _exit(2);
    int rc = sto_bucket_create(db, "crash", NULL, T_NOW);
    if (rc < 0 && rc != CLEO_EEXIST)
        _exit(2);
    for (uint32_t i = 0; i < 100000; i++) {
        uint32_t h = cw_hash((uint32_t)round, i);
        char key[32];
        if (i % 3 == 2)
            snprintf(key, sizeof(key), "hot/%02u", h % CW_HOT);
        else
            snprintf(key, sizeof(key), "r%02d/%05u", round, i);
        size_t size = h % 5 == 0 ? 0 : h % (3 * T_CHUNK + 10);
        if (cw_put_one(db, key, h, size, fd) < 0)
            _exit(4);
    }
    sto_db_close(db);
    _exit(0);
}
