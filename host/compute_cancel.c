#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>

#include <csdk/csdk.h>

#include "error.h"

struct csdk_cancel {
	atomic_int requested;
};

int csdk_cancel_new(csdk_cancel **out)
{
	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_cancel_new: out is NULL");
	if (!(*out = calloc(1, sizeof(**out))))
		return csdkp_error_oom();
	return 0;
}

void csdk_cancel_free(csdk_cancel *cancel)
{
	free(cancel);
}

void csdk_cancel_request(csdk_cancel *cancel)
{
	if (cancel)
		atomic_store(&cancel->requested, 1);
}

int csdk_cancel_requested(const csdk_cancel *cancel)
{
	return cancel ? atomic_load(&((csdk_cancel *)cancel)->requested) : 0;
}
