/* Small file-system helpers for the plugin's state: directories made on
 * demand and files replaced atomically. */
#ifndef BH_CNI_FSUTIL_H
#define BH_CNI_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p; returns -1 with errno set. */
int mkdir_p(const char *path, mode_t mode);
/* mkdir -p of the directory that would hold path. */
int mkdir_parent(const char *path, mode_t mode);
/* Writes data to path.tmp and renames it over path, so a reader sees the old
 * content or the new, never a mix. Returns -1 with errno set. */
int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* Reads a whole file of at most max bytes (NUL-terminated); NULL with errno. */
char *read_file(const char *path, size_t max, size_t *len);
/* Writes value to a /proc/sys file unless it already holds it. */
int sysctl_ensure(const char *path, const char *value);

#endif
