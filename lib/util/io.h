#ifndef CSDK_UTIL_IO_H
#define CSDK_UTIL_IO_H

#include <stddef.h>

/**
 * Write all len bytes to fd, going on after EINTR and short writes: 0, or
 * -1 with errno set (a write of 0 bytes counts as an error). Async-signal-safe.
 */
int csdku_write_all(int fd, const void *data, size_t len);

#endif
