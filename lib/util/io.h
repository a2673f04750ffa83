#ifndef CSDK_UTIL_IO_H
#define CSDK_UTIL_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * Write all len bytes to fd, going on after EINTR and short writes: 0, or
 * -1 with errno set (a write of 0 bytes counts as an error). Async-signal-safe.
 */
int csdku_write_all(int fd, const void *data, size_t len);

/** Milliseconds of CLOCK_MONOTONIC. Async-signal-safe. */
int64_t csdku_mono_ms(void);

/** How long bubblewrap may take to say its namespace's first process on --info-fd. */
#define CSDKU_BWRAP_INFO_MS 10000

/**
 * The "child-pid" of the JSON bubblewrap writes on its --info-fd (fd), read
 * until its closing brace, EOF or timeout_ms: the pid of the namespace's
 * first process, or 0 when there is none in time.
 */
pid_t csdku_read_bwrap_pid(int fd, int timeout_ms);

#endif
