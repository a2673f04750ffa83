#ifndef CSDK_HOST_REGISTRY_H
#define CSDK_HOST_REGISTRY_H

#include <csdk/csdk.h>

#include "validate.h"

/** The loader's record behind a csdk_plugin_info handed out by a registry. */
static inline struct csdkp_plugin *csdkp_plugin_of(const csdk_plugin_info *info)
{
	return (struct csdkp_plugin *)((char *)(uintptr_t)info - offsetof(struct csdkp_plugin, info));
}

/*
 * Open by name (docs/loader.md § Opening by name): the valid plugin called
 * name, loading only the first csdk-NAME.so of the search path when it is
 * not known yet. 0 with *out; CSDK_ENOTFOUND with the message "provider 'N'
 * was rejected: REASON" or "unknown provider 'N' (available: ...); ...";
 * CSDK_ENOMEM. Takes csdkp_lock.
 */
int csdkp_registry_open_name(csdk_registry *reg, const char *name, const csdk_plugin_info **out);

#endif
