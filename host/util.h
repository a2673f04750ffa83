#ifndef CSDK_HOST_UTIL_H
#define CSDK_HOST_UTIL_H

#include <stddef.h>

/** A newly allocated formatted string, or NULL when out of memory. */
char *csdkp_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** A growable array of pointers. */
struct csdkp_vec {
	void **items;
	size_t n;
	size_t cap;
};

/** Append item; returns 0 or CSDK_ENOMEM (item is not freed then). */
int csdkp_vec_push(struct csdkp_vec *vec, void *item);
/** Free the array, calling free_item (if not NULL) on each item. */
void csdkp_vec_clear(struct csdkp_vec *vec, void (*free_item)(void *));

/** path itself when absolute, else the current directory joined with it; NULL when out of memory or the cwd is unknown. */
char *csdkp_absolute_path(const char *path);

#endif
