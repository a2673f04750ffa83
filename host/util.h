#ifndef CSDK_HOST_UTIL_H
#define CSDK_HOST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/** A newly allocated formatted string, or NULL when out of memory. */
char *csdkp_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** csdkp_printf with a va_list. */
char *csdkp_vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

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

/**
 * Copy an options structure that begins with uint32_t struct_size into dst
 * (dst_size bytes): every size from first_size up to dst_size is accepted,
 * the bytes it does not cover are zeroed, and dst's struct_size becomes
 * dst_size. src NULL zero-fills. type and init name the structure and its
 * initialiser in the message of a size out of range (CSDK_EINVAL).
 */
int csdkp_options_copy(void *dst, size_t dst_size, const void *src, size_t first_size, const char *type, const char *init);

/** csdkp_options_copy for a structure variable and its _INIT macro, with the current size as the first. */
#define CSDKP_OPTIONS_COPY(dst, src, type, init) \
	csdkp_options_copy((dst), sizeof(*(dst)), (src), sizeof(*(dst)), type, init)

#endif
