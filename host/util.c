#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csdk/csdk.h>

#include "util.h"

char *csdkp_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
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
