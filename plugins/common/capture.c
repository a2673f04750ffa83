#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <csdk/common.h>

#include "csdkc.h"

int csdkc_capture_append(struct csdkc_capture *cap, const void *data, size_t len)
{
	if (cap->len >= cap->max)
		return 0;
	if (len > cap->max - cap->len)
		len = cap->max - cap->len;
	if (cap->len + len + 1 > cap->cap) {
		size_t n = cap->cap ? cap->cap : 1024;
		char *p;

		while (n < cap->len + len + 1)
			n *= 2;
		if (!(p = realloc(cap->data, n)))
			return CSDK_ENOMEM;
		cap->data = p;
		cap->cap = n;
	}
	memcpy(cap->data + cap->len, data, len);
	cap->len += len;
	cap->data[cap->len] = '\0';
	return 0;
}
