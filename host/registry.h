#ifndef CSDK_HOST_REGISTRY_H
#define CSDK_HOST_REGISTRY_H

#include <csdk/csdk.h>

#include "validate.h"

/** The loader's record behind a csdk_plugin_info handed out by a registry. */
static inline struct csdkp_plugin *csdkp_plugin_of(const csdk_plugin_info *info)
{
	return (struct csdkp_plugin *)((char *)(uintptr_t)info - offsetof(struct csdkp_plugin, info));
}

#endif
