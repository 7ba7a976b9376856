/*
 * util.h - small file and clock helpers shared by heart and the node.
 * Private to cmd/cleo.
 */
#ifndef CLEO_CMD_UTIL_H
#define CLEO_CMD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Create dir and its missing parents with `mode`. @return 0 or -errno. */
int util_mkdir_p(const char *dir, mode_t mode);

/** Write "<pid>\n" to path atomically (a temp file renamed over it), so a
 *  reader never sees a half-written pid. @return 0 or -errno. */
int util_pidfile_write(const char *path, pid_t pid);

/** Remove path if it still holds pid (a newer writer keeps its file). */
void util_pidfile_remove(const char *path, pid_t pid);

/** Read the admin token from path, creating it (mode 0600, 32 random
 *  bytes from /dev/urandom as 64 hex digits) if it does not exist.
 *  @param out receives the token (len >= 65).
 *  @return 0; -EPERM when group or others may read it; -EINVAL when it
 *  is empty or too long; other -errno. */
int util_token_load(const char *path, char *out, size_t len);

/** Open path (created 0600) and take an exclusive flock on it without
 *  waiting. The lock lasts while the returned fd (and its copies across
 *  fork) stays open, and dies with the process however it dies.
 *  @return the fd, -EWOULDBLOCK when another process holds it, -errno. */
int util_lock(const char *path);

/** Milliseconds on the monotonic clock. */
uint64_t util_now_ms(void);

#endif /* CLEO_CMD_UTIL_H */
