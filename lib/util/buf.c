#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <csdk/common.h>

#include "buf.h"

int csdku_append(char **data, size_t *len, size_t *cap, const void *src, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 1024;
		char *p;

		while (c < *len + n + 1)
			c *= 2;
		if (!(p = realloc(*data, c)))
			return CSDK_ENOMEM;
		*data = p;
		*cap = c;
	}
	memcpy(*data + *len, src, n);
	*len += n;
	(*data)[*len] = '\0';
	return 0;
}

int csdku_buf_add(struct csdku_buf *b, const void *data, size_t len)
{
	if (len > b->max || b->len > b->max - len) {
		b->over = 1;
		return CSDK_EIO;
	}
	return csdku_append(&b->data, &b->len, &b->cap, data, len);
}
