#ifndef CSDK_HOST_SEARCH_PATH_H
#define CSDK_HOST_SEARCH_PATH_H

#include <csdk/csdk.h>

#include "util.h"

/*
 * Build the search path (docs/loader.md): entries are csdk_path_entry *
 * with an owned dir, warnings owned strings. option_path (may be NULL) is
 * csdk_registry_options.search_path. Returns 0 or CSDK_ENOMEM.
 */
int csdkp_search_path_build(struct csdkp_vec *entries, struct csdkp_vec *warnings, const char *option_path,
			    unsigned int flags);
void csdkp_path_entry_free(void *entry);
/** "option", "CSDK_PLUGIN_PATH", "user", "system" or "CSDK_PLUGIN_SYSTEM_PATH". */
const char *csdkp_path_origin_name(csdk_path_origin origin);

#endif
