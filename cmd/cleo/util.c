/*
 * util.c - small file and clock helpers shared by heart and the node.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int util_mkdir_p(const char *dir, mode_t mode)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    /* Create each prefix in turn; EEXIST on a prefix is the common case. */
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int util_pidfile_write(const char *path, pid_t pid)
{
    char tmp[PATH_MAX], buf[32];
    if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
        (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
    int rc = write(fd, buf, (size_t)n) == n ? 0 : -EIO;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

void util_pidfile_remove(const char *path, pid_t pid)
{
    char buf[32] = "";
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    int ok = fgets(buf, sizeof(buf), f) != NULL && atol(buf) == (long)pid;
    fclose(f);
    if (ok)
        unlink(path);
}

/* 32 bytes of /dev/urandom as 64 hex digits and a newline, in a file
 * created with O_EXCL so two racing starters cannot both write it. */
static int token_create(const char *path)
{
    unsigned char raw[32];
    char hex[2 * sizeof(raw) + 2];
    int rfd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (rfd < 0)
        return -errno;
    ssize_t n = read(rfd, raw, sizeof(raw));
    close(rfd);
    if (n != (ssize_t)sizeof(raw))
        return -EIO;
    for (size_t i = 0; i < sizeof(raw); i++)
        sprintf(hex + 2 * i, "%02x", raw[i]);
    hex[2 * sizeof(raw)] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : -errno;
    int rc =
        write(fd, hex, sizeof(hex) - 1) == (ssize_t)sizeof(hex) - 1 ? 0 : -EIO;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        unlink(path);
    return rc;
}

int util_token_load(const char *path, char *out, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        int rc = token_create(path);
        if (rc < 0)
            return rc;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? -errno : 0;
    if (rc == 0 && (st.st_mode & 077) != 0)
        rc = -EPERM;
    ssize_t n = rc == 0 ? read(fd, out, len) : 0;
    close(fd);
    if (rc < 0)
        return rc;
    if (n < 0)
        return -errno;
    while (n > 0 && isspace((unsigned char)out[n - 1]))
        n--;
    if (n == 0 || (size_t)n >= len)
        return -EINVAL;
    out[n] = '\0';
    return 0;
}

int util_lock(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

uint64_t util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
