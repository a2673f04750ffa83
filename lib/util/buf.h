#ifndef CSDK_UTIL_BUF_H
#define CSDK_UTIL_BUF_H

#include <stddef.h>

/** A growable, NUL-terminated byte buffer that holds at most max bytes. */
struct csdku_buf {
	char *data; /**< owned; free() it */
	size_t len, cap;
	size_t max; /**< set by the caller before the first append */
	int over;   /**< set when an append would have passed max */
};

/**
 * Append len bytes at *data (length *len, allocation *cap), growing it by
 * doubling and keeping it NUL-terminated: 0, or CSDK_ENOMEM (nothing changed).
 */
int csdku_append(char **data, size_t *len, size_t *cap, const void *src, size_t n);
/**
 * Append all of data to b: 0; CSDK_ENOMEM; or CSDK_EIO with b->over set and
 * nothing appended when b would then hold more than b->max bytes.
 */
int csdku_buf_add(struct csdku_buf *b, const void *data, size_t len);

#endif
