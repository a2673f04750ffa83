#include "config.h"

#include <csdk/common.h>

#include "buf.h"
#include "csdkc.h"

int csdkc_capture_append(struct csdkc_capture *cap, const void *data, size_t len)
{
	if (cap->len >= cap->max)
		return 0;
	if (len > cap->max - cap->len)
		len = cap->max - cap->len;
	return csdku_append(&cap->data, &cap->len, &cap->cap, data, len);
}
