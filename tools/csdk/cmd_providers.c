#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/describe.h"

static const char *given_config(const struct csdkp_cli *cli, const char *plugin, const char *key)
{
	size_t i;

	if (strcmp(plugin, cli->provider_name) != 0)
		return NULL;
	for (i = 0; i < cli->n_config; i++)
		if (strcmp(cli->config[i].key, key) == 0)
			return cli->config[i].value;
	return NULL;
}

static json_t *config_json(const struct csdkp_cli *cli, const csdk_plugin_info *info)
{
	json_t *keys = json_array();
	size_t i;

	for (i = 0; keys && i < info->n_config_keys; i++) {
		const struct csdk_config_key *key = &info->config_keys[i];
		const char *value = given_config(cli, info->name, key->key);
		json_t *entry;

		if (!value && key->env)
			value = getenv(key->env);
		entry = json_pack("{s:s,s:o,s:b,s:b,s:o}",
				  "key", key->key,
				  "env", csdkp_json_string_or_null(key->env),
				  "required", (key->flags & CSDK_CONFIG_REQUIRED) != 0,
				  "secret", (key->flags & CSDK_CONFIG_SECRET) != 0,
				  "help", csdkp_json_string_or_null(key->help));
		if (!entry)
			continue;
		json_object_set_new(entry, "set", json_boolean(value != NULL));
		if (!(key->flags & CSDK_CONFIG_SECRET))
			json_object_set_new(entry, "value", csdkp_json_string_or_null(value));
		json_array_append_new(keys, entry);
	}
	return keys;
}

static int run_providers(struct csdkp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = { CSDKP_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	static const char *const headers[] = { "NAME", "VERSION", "MODES", "CAPABILITIES", "DESCRIPTION" };
	csdk_registry *reg = NULL;
	csdkp_table *table = NULL;
	json_t *root = NULL;
	char **pos;
	size_t n_pos, i;
	int status, rc;

	status = csdkp_parse(cli, argc, argv, longopts, CSDKP_ALL_POSITIONALS, NULL, NULL, &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	if ((status = csdkp_expect_args(cli, n_pos, 0, 0, "no arguments")))
		return status;

	rc = csdk_registry_new(&reg, NULL);
	if (rc < 0) {
		csdkp_report(rc, "scanning for plugins");
		return CSDKP_EXIT_FAILURE;
	}
	if (cli->json ? !(root = json_array()) : csdkp_table_new(&table, 5, headers) < 0) {
		csdkp_error("out of memory while listing providers");
		csdk_registry_free(reg);
		return CSDKP_EXIT_FAILURE;
	}
	for (i = 0; i < csdk_registry_count(reg); i++) {
		const csdk_plugin_info *info = csdk_registry_at(reg, i);

		if (root) {
			json_array_append_new(root, json_pack("{s:s,s:o,s:o,s:o,s:s,s:o,s:o,s:o,s:s}",
				"name", info->name,
				"version", csdkp_json_string_or_null(info->version),
				"description", csdkp_json_string_or_null(info->description),
				"license", csdkp_json_string_or_null(info->license),
				"default_mode", csdk_mode_name(info->default_mode),
				"modes", csdkp_modes_json(info->modes, info->default_mode),
				"capabilities", csdkp_capabilities_json(info->capabilities),
				"config", config_json(cli, info),
				"path", info->path));
		} else {
			char *modes = csdkp_modes_text(info->modes, info->default_mode);
			char *caps = csdkp_capabilities_text(info->capabilities);
			const char *cells[] = { info->name, info->version, modes, caps, info->description };

			csdkp_table_add(table, cells);
			free(modes);
			free(caps);
		}
	}
	csdk_registry_free(reg);
	if (root)
		return csdkp_print_json(root, CSDKP_EXIT_FAILURE);
	csdkp_table_print(table, stdout, NULL);
	csdkp_table_free(table);
	return csdkp_finish(0, CSDKP_EXIT_FAILURE);
}

const struct csdkp_command csdkp_cmd_providers = {
	"providers", run_providers,
	"providers",
	"List the provider plugins found on the plugin search path (CSDK_PLUGIN_PATH first).",
	NULL,
};
