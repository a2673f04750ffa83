#ifndef CSDK_HOST_PLUGIN_FACTS_H
#define CSDK_HOST_PLUGIN_FACTS_H

#include "validate.h"

/*
 * A plugin's facts (csdk_plugin_info without the path) as one line of JSON,
 * for the verdict cache: NULL when out of memory.
 */
char *csdkp_facts_dump(const struct csdkp_plugin *plugin);

/*
 * A record with facts_only set, owning copies of everything, from what
 * csdkp_facts_dump wrote: 0 with *out, -1 when text does not hold facts, or
 * CSDK_ENOMEM.
 */
int csdkp_facts_load(struct csdkp_plugin **out, const char *path, const char *text);

#endif
