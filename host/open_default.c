#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "global.h"
#include "provider.h"
#include "registry.h"
#include "util.h"

/* The name csdk would use: name, else CSDK_PROVIDER, else [csdk] default, else the first of [csdk] providers, else local. */
static const char *default_name(const char *name, const csdk_user_config *file)
{
	const char *env = getenv("CSDK_PROVIDER");

	if (name && *name)
		return name;
	if (env && *env)
		return env;
	if (csdk_user_config_default(file))
		return csdk_user_config_default(file);
	if (csdk_user_config_provider_count(file))
		return csdk_user_config_provider_at(file, 0);
	return "local";
}

int csdk_provider_open_default_ext(csdk_provider **out, const char *name, const csdk_provider_options *opts)
{
	csdk_provider_options o;
	csdk_user_config *file = NULL;
	csdk_config_entries *entries = NULL;
	const csdk_plugin_info *plugin;
	struct csdk_kv *kv = NULL;
	size_t n = 0;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_provider_open_default: out is NULL; pass the address of a csdk_provider *");
	*out = NULL;
	if ((rc = CSDKP_OPTIONS_COPY(&o, opts, "csdk_provider_options", "CSDK_PROVIDER_OPTIONS_INIT")))
		return rc;
	csdkp_global_init();
	if ((rc = csdk_user_config_load(&file, NULL)) < 0)
		return rc;
	name = default_name(name, file);
	if (!o.registry && (rc = csdkp_default_registry_get(&o.registry)) < 0)
		goto out;
	if ((rc = csdkp_registry_open_name(o.registry, name, &plugin)) < 0)
		goto out;
	/* The given pairs, then the file's keys whose environment variable is unset (as csdk does). */
	if (csdk_user_config_path(file)) {
		if ((rc = csdk_user_config_resolve(&entries, file, plugin, NULL, 0)) < 0)
			goto out;
		if (!(kv = calloc(o.n_config + entries->count + 1, sizeof(*kv)))) {
			rc = csdkp_error_oom();
			goto out;
		}
		for (size_t i = 0; i < o.n_config; i++)
			kv[n++] = o.config[i];
		for (size_t i = 0; i < entries->count; i++) {
			const csdk_config_entry *e = &entries->entries[i];
			int given = 0;

			for (size_t j = 0; j < o.n_config; j++)
				given |= o.config[j].key && !strcmp(o.config[j].key, e->key);
			if (e->source == CSDK_CONFIG_FROM_FILE && !given) {
				kv[n].key = e->key;
				kv[n].value = e->value;
				n++;
			}
		}
		o.config = kv;
		o.n_config = n;
	}
	rc = csdk_provider_open(out, name, &o);
out:
	free(kv);
	csdk_config_entries_free(entries);
	csdk_user_config_free(file);
	return rc;
}

int csdk_provider_open_default(csdk_provider **out, const char *name)
{
	return csdk_provider_open_default_ext(out, name, NULL);
}
