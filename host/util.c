#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csdk/csdk.h>

#include "error.h"
#include "util.h"

char *csdkp_vprintf(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

char *csdkp_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = csdkp_vprintf(fmt, ap);
	va_end(ap);
	return s;
}

int csdkp_vec_push(struct csdkp_vec *vec, void *item)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 8;
		void **items = realloc(vec->items, cap * sizeof(*items));

		if (!items)
			return CSDK_ENOMEM;
		vec->items = items;
		vec->cap = cap;
	}
	vec->items[vec->n++] = item;
	return 0;
}

void csdkp_vec_clear(struct csdkp_vec *vec, void (*free_item)(void *))
{
	if (free_item)
		for (size_t i = 0; i < vec->n; i++)
			free_item(vec->items[i]);
	free(vec->items);
	vec->items = NULL;
	vec->n = vec->cap = 0;
}

char *csdkp_absolute_path(const char *path)
{
	char *cwd, *abs;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	if (path[0] == '.' && path[1] == '/')
		path += 2;
	abs = csdkp_printf("%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", path);
	free(cwd);
	return abs;
}

int csdkp_options_copy(void *dst, size_t dst_size, const void *src, size_t first_size, const char *type, const char *init)
{
	uint32_t size;

	memset(dst, 0, dst_size);
	if (src) {
		memcpy(&size, src, sizeof(size));
		if (size < first_size)
			return csdkp_error_set(CSDK_EINVAL, NULL, "%s has struct_size %u, smaller than the first release's %zu; initialise it with %s", type, size, first_size, init);
		if (size > dst_size)
			return csdkp_error_set(CSDK_EINVAL, NULL, "%s has struct_size %u, larger than this libcsdk's %zu: the program was built against a newer csdk; install that libcsdk or rebuild the program", type, size, dst_size);
		memcpy(dst, src, size);
	}
	size = (uint32_t)dst_size;
	memcpy(dst, &size, sizeof(size));
	return 0;
}
