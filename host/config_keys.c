#include "config.h"

#include <stdio.h>
#include <string.h>

#include "provider.h"

const csdk_config_key_info *csdkp_config_key_find(const csdk_plugin_info *plugin, const char *key)
{
	size_t i;

	for (i = 0; i < plugin->n_config_keys; i++)
		if (!strcmp(plugin->config_keys[i].key, key))
			return &plugin->config_keys[i];
	return NULL;
}

void csdkp_config_keys_text(char *buf, size_t size, const csdk_plugin_info *plugin)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < plugin->n_config_keys && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", plugin->config_keys[i].key);
	if (!plugin->n_config_keys)
		snprintf(buf, size, "(none)");
}
