#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/describe.h"

static const char *given_config(const struct tool_cli *cli, const char *plugin, const char *key)
{
	size_t i;

	if (strcmp(plugin, cli->provider_name) != 0)
		return NULL;
	for (i = 0; i < cli->n_config; i++)
		if (strcmp(cli->config[i].key, key) == 0)
			return cli->config[i].value;
	return NULL;
}

static json_t *config_json(const struct tool_cli *cli, const csdk_plugin_info *info)
{
	json_t *keys = json_array();
	size_t i;

	for (i = 0; keys && i < info->n_config_keys; i++) {
		const csdk_config_key_info *key = &info->config_keys[i];
		const char *value = given_config(cli, info->name, key->key);
		json_t *entry;

		if (!value && key->env)
			value = getenv(key->env);
		entry = json_pack("{s:s,s:o,s:b,s:b,s:o}",
				  "key", key->key,
				  "env", tool_json_string_or_null(key->env),
				  "required", (key->flags & CSDK_CONFIG_REQUIRED) != 0,
				  "secret", (key->flags & CSDK_CONFIG_SECRET) != 0,
				  "help", tool_json_string_or_null(key->help));
		if (!entry)
			continue;
		json_object_set_new(entry, "set", json_boolean(value != NULL));
		if (!(key->flags & CSDK_CONFIG_SECRET))
			json_object_set_new(entry, "value", tool_json_string_or_null(value));
		json_array_append_new(keys, entry);
	}
	return keys;
}

static int run_providers(struct tool_cli *cli, int argc, char **argv)
{
	static const char *const headers[] = { "NAME", "VERSION", "MODES", "CAPABILITIES", "DESCRIPTION" };
	csdk_registry *reg = NULL;
	struct tool_listing out;
	size_t i;
	int status, rc;

	if ((status = tool_parse_none(cli, argc, argv)))
		return status < 0 ? 0 : status;

	rc = tool_cli_registry_new(&reg);
	if (rc < 0) {
		tool_report(rc, "scanning for plugins");
		return TOOL_EXIT_FAILURE;
	}
	if (tool_listing_new(&out, cli, 5, headers, "listing providers") < 0) {
		csdk_registry_free(reg);
		return TOOL_EXIT_FAILURE;
	}
	for (i = 0; i < csdk_registry_count(reg); i++) {
		const csdk_plugin_info *info = csdk_registry_at(reg, i);

		if (out.array) {
			json_array_append_new(out.array, json_pack("{s:s,s:o,s:o,s:o,s:s,s:o,s:o,s:o,s:s}",
				"name", info->name,
				"version", tool_json_string_or_null(info->version),
				"description", tool_json_string_or_null(info->description),
				"license", tool_json_string_or_null(info->license),
				"default_mode", csdk_mode_name(info->default_mode),
				"modes", tool_modes_json(info->modes, info->default_mode),
				"capabilities", tool_capabilities_json(info->capabilities),
				"config", config_json(cli, info),
				"path", info->path));
		} else {
			char *modes = tool_modes_text(info->modes, info->default_mode);
			char *caps = tool_capabilities_text(info->capabilities);
			const char *cells[] = { info->name, info->version, modes, caps, info->description };

			tool_table_add(out.table, cells);
			free(modes);
			free(caps);
		}
	}
	csdk_registry_free(reg);
	return tool_listing_print(&out);
}

const struct tool_command tool_cmd_providers = {
	"providers", run_providers,
	"providers",
	"List the provider plugins found on the plugin search path (CSDK_PLUGIN_PATH first).",
	NULL,
};

/* ------------------------------------------------------------ config show */

static json_t *entries_json(const csdk_config_entries *entries)
{
	json_t *keys = json_array();
	size_t i;

	for (i = 0; keys && i < entries->count; i++) {
		const csdk_config_entry *e = &entries->entries[i];

		json_array_append_new(keys, json_pack("{s:s,s:o,s:s,s:o,s:b}",
			"key", e->key,
			"value", tool_json_string_or_null(e->shown),
			"source", csdk_config_source_name(e->source),
			"origin", tool_json_string_or_null(e->origin),
			"secret", (e->flags & CSDK_CONFIG_SECRET) != 0));
	}
	return keys;
}

static void print_entries(const char *name, const csdk_config_entries *entries)
{
	size_t i;

	fprintf(TOOL_STDOUT, "\n[provider %s]\n", name);
	for (i = 0; i < entries->count; i++) {
		const csdk_config_entry *e = &entries->entries[i];

		if (e->source == CSDK_CONFIG_FROM_DEFAULT)
			fprintf(TOOL_STDOUT, "# %s is unset: the provider's default applies\n", e->key);
		else
			fprintf(TOOL_STDOUT, "%s = %s  # %s: %s\n", e->key, e->shown, csdk_config_source_name(e->source), e->origin);
	}
}

static json_t *config_head_json(const struct tool_cli *cli, const csdk_user_config *file)
{
	json_t *root = json_pack("{s:o,s:s,s:[],s:s,s:b,s:{}}",
				 "file", tool_json_string_or_null(csdk_user_config_path(file)),
				 "default", cli->provider_name,
				 "providers",
				 "strategy", csdk_strategy_name(csdk_user_config_strategy(file)),
				 "fallback", csdk_user_config_fallback(file),
				 "config");

	if (!root)
		tool_error("out of memory while building the JSON output");
	return root;
}

static void print_config_head(const struct tool_cli *cli, const csdk_user_config *file, csdk_compute *compute)
{
	fprintf(TOOL_STDOUT, "# configuration file: %s\n[csdk]\ndefault = %s\nproviders = ",
		csdk_user_config_path(file) ? csdk_user_config_path(file) : "none", cli->provider_name);
	for (size_t i = 0; i < csdk_compute_count(compute); i++)
		fprintf(TOOL_STDOUT, "%s%s", i ? ", " : "", csdk_compute_name_at(compute, i));
	fprintf(TOOL_STDOUT, "\nstrategy = %s\nfallback = %s\n", csdk_strategy_name(csdk_user_config_strategy(file)),
		csdk_user_config_fallback(file) ? "true" : "false");
}

/* One provider's keys (the default one's with given), printed or added to root; -1 when they cannot be read. */
static int show_provider(const struct tool_cli *cli, const csdk_user_config *file, csdk_registry *reg, const char *name,
			 const struct csdk_kv *given, size_t n_given, json_t *root)
{
	const csdk_plugin_info *plugin = csdk_registry_find(reg, name);
	csdk_config_entries *entries = NULL;
	int is_default = strcmp(name, cli->provider_name) == 0;

	if (root)
		json_array_append_new(json_object_get(root, "providers"), json_string(name));
	if (!plugin) {
		if (!root)
			fprintf(TOOL_STDOUT, "\n# [provider %s]: no such plugin\n", name);
		return 0;
	}
	if (csdk_user_config_resolve(&entries, file, plugin, is_default ? given : NULL, is_default ? n_given : 0) < 0) {
		tool_report(CSDK_ECONFIG, "reading the configuration");
		return -1;
	}
	if (root)
		json_object_set_new(json_object_get(root, "config"), name, entries_json(entries));
	else
		print_entries(name, entries);
	csdk_config_entries_free(entries);
	return 0;
}

static int run_config(struct tool_cli *cli, int argc, char **argv)
{
	/* the command line's: opening the providers merges the file's into cli->config */
	struct csdk_kv *given = cli->config;
	size_t n_given = cli->n_config;
	const csdk_user_config *file;
	csdk_compute *compute;
	csdk_registry *reg;
	json_t *root = NULL;
	const char *op;
	size_t i;
	int status;

	if ((status = tool_parse_operand(&op, cli, argc, argv, tool_common_longopts, NULL, NULL, "the operation 'show'")))
		return status < 0 ? 0 : status;
	if (strcmp(op, "show") != 0)
		return tool_cli_usage(cli, "unknown operation '%s': the operation is show", op);
	/* Opening the providers checks the file against the plugins; an unavailable provider is still shown. */
	if (!(file = tool_cli_user_config(cli)) || !(reg = tool_cli_registry(cli)) ||
	    tool_cli_compute(&compute, cli) < 0)
		return TOOL_EXIT_FAILURE;
	if (cli->json && !(root = config_head_json(cli, file)))
		return TOOL_EXIT_FAILURE;
	if (!cli->json)
		print_config_head(cli, file, compute);
	for (i = 0; i < csdk_compute_count(compute); i++) {
		if (show_provider(cli, file, reg, csdk_compute_name_at(compute, i), given, n_given, root) < 0) {
			json_decref(root);
			return TOOL_EXIT_FAILURE;
		}
	}
	if (root)
		return tool_print_json(root, TOOL_EXIT_FAILURE);
	return tool_finish(0, TOOL_EXIT_FAILURE);
}

const struct tool_command tool_cmd_config = {
	"config", run_config,
	"config show",
	"Print the effective configuration: the file read ($CSDK_CONFIG, else $XDG_CONFIG_HOME/csdk/config), "
	"the providers in the order they are tried, the strategy, fallback, and each provider's keys with where "
	"their values come from. Secret values are printed as ***.",
	NULL,
};
