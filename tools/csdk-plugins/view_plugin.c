#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/describe.h"
#include "common/output.h"
#include "tool.h"

static void print_field(const char *label, const char *value)
{
	fprintf(TOOL_STDOUT, "%-14s%s\n", label, value ? value : "-");
}

static int print_plugin_text(const csdk_plugin_info *info)
{
	static const char *const config_headers[] = { "KEY", "ENV", "TYPE", "REQUIRED", "SECRET", "HELP" };
	char abi[TOOL_ABI_TEXT_SIZE];
	char *modes = tool_modes_text(info->modes, info->default_mode);
	char *caps = tool_capabilities_text(info->capabilities);
	tool_table *config = NULL, *methods = NULL;
	size_t i;
	int rc = -1;

	if (!modes || !caps || tool_table_new(&config, 6, config_headers) < 0 ||
	    tool_table_new(&methods, 2, NULL) < 0)
		goto out;
	for (i = 0; i < info->n_config_keys; i++) {
		const csdk_config_key_info *key = &info->config_keys[i];
		const char *cells[] = { key->key, key->env, tool_config_type_name(key->type),
					(key->flags & CSDK_CONFIG_REQUIRED) ? "yes" : "no",
					(key->flags & CSDK_CONFIG_SECRET) ? "yes" : "no",
					key->help };

		if (tool_table_add(config, cells) < 0)
			goto out;
	}
	for (i = 0; i < tool_method_count(); i++) {
		const char *cells[] = { tool_method_name(i),
					tool_method_present(info, i) ? "present" : "absent" };

		if (tool_table_add(methods, cells) < 0)
			goto out;
	}

	print_field("name:", info->name);
	print_field("version:", info->version);
	print_field("description:", info->description);
	print_field("license:", info->license);
	print_field("path:", info->path);
	print_field("abi:", tool_abi_text(abi, info->abi_version));
	fprintf(TOOL_STDOUT, "%-14s%s (default: %s)\n", "modes:", modes, csdk_mode_name(info->default_mode));
	print_field("capabilities:", caps);

	if (tool_table_rows(config) > 0) {
		fprintf(TOOL_STDOUT, "\nconfiguration keys:\n");
		tool_table_print(config, TOOL_STDOUT, "  ");
	} else {
		fprintf(TOOL_STDOUT, "\nconfiguration keys: none\n");
	}
	fprintf(TOOL_STDOUT, "\nmethods:\n");
	tool_table_print(methods, TOOL_STDOUT, "  ");
	if (info->n_warnings > 0) {
		fprintf(TOOL_STDOUT, "\nwarnings:\n");
		for (i = 0; i < info->n_warnings; i++)
			fprintf(TOOL_STDOUT, "  %s\n", info->warnings[i]);
	} else {
		fprintf(TOOL_STDOUT, "\nwarnings: none\n");
	}
	rc = 0;
out:
	if (rc < 0)
		tool_error("out of memory while describing plugin '%s'", info->name);
	tool_table_free(config);
	tool_table_free(methods);
	free(modes);
	free(caps);
	return rc;
}

static int print_plugin(const csdk_plugin_info *info, const struct tool_plugins_options *opts)
{
	json_t *root;

	if (!opts->json)
		return print_plugin_text(info) < 0 ? 1 : 0;
	root = tool_plugin_json(info);
	if (root && (json_object_set_new(root, "config", tool_config_json(info)) < 0 ||
		     json_object_set_new(root, "methods", tool_methods_json(info)) < 0)) {
		json_decref(root);
		root = NULL;
	}
	return tool_emit_json(root) < 0 ? 1 : 0;
}

static int is_file_argument(const char *arg)
{
	size_t len = strlen(arg);

	return strchr(arg, '/') != NULL || (len >= 3 && strcmp(arg + len - 3, ".so") == 0);
}

/* Rejections of files named csdk-NAME.so or whose descriptor said NAME. */
static int rejection_matches(const csdk_rejection *rej, const char *name)
{
	const char *base = strrchr(rej->path, '/');

	base = base ? base + 1 : rej->path;
	if (rej->name && strcmp(rej->name, name) == 0)
		return 1;
	return strncmp(base, "csdk-", 5) == 0 && strncmp(base + 5, name, strlen(name)) == 0 &&
	       strcmp(base + 5 + strlen(name), ".so") == 0;
}

static int report_rejections(const csdk_registry *reg, const char *name, const struct tool_plugins_options *opts)
{
	json_t *array = opts->json ? json_array() : NULL;
	size_t i, found = 0;

	for (i = 0; i < csdk_registry_rejected_count(reg); i++) {
		const csdk_rejection *rej = csdk_registry_rejected_at(reg, i);

		if (!rejection_matches(rej, name))
			continue;
		found++;
		if (!opts->json)
			tool_error("%s", rej->reason);
		else if (array)
			tool_json_append(&array, tool_rejection_json(rej));
	}
	if (found == 0) {
		json_decref(array);
		tool_error("no plugin named '%s' (run '" PROGRAM "' to list them, or '" PROGRAM " --rejected')",
			    name);
		return 1;
	}
	if (opts->json)
		tool_emit_json(array ? json_pack("{s:o}", "rejected", array) : NULL);
	return 1;
}

/* The signal a crash rejection names: "crashed while loading (signal N, NAME); ...". */
static int crash_signal(int code, const char *reason)
{
	const char *p = reason ? strstr(reason, "(signal ") : NULL;

	return code == CSDK_ECRASHED && p ? atoi(p + strlen("(signal ")) : 0;
}

static int report_file_rejection(const csdk_registry *reg, const char *file, const csdk_error *err,
				 const struct tool_plugins_options *opts)
{
	char resolved[PATH_MAX];
	const char *path = realpath(file, resolved) ? resolved : file;
	json_t *item = NULL;
	size_t i;

	if (!opts->json) {
		tool_error("%s", err->message);
		return 1;
	}
	for (i = 0; !item && i < csdk_registry_rejected_count(reg); i++) {
		const csdk_rejection *rej = csdk_registry_rejected_at(reg, i);

		if (strcmp(rej->path, path) == 0 && rej->reason && strcmp(rej->reason, err->message) == 0)
			item = tool_rejection_json(rej);
	}
	if (!item) {
		const csdk_rejection rej = { .path = path, .code = err->code,
					     .signal = crash_signal(err->code, err->message), .reason = err->message };

		item = tool_rejection_json(&rej);
	}
	tool_emit_json(item ? json_pack("{s:[o]}", "rejected", item) : NULL);
	return 1;
}

int tool_view_plugin(csdk_registry *reg, const char *arg, const struct tool_plugins_options *opts)
{
	const csdk_plugin_info *info;

	if (!opts->json && is_file_argument(arg))
		tool_print_registry_warnings(reg);
	else if (!opts->json)
		tool_print_scan_warnings(reg);
	if (is_file_argument(arg)) {
		if (csdk_registry_load_file(reg, arg, &info) < 0) {
			/* The error is borrowed only until the next libcsdk call. */
			csdk_error err = *csdk_error_last();
			char *message = strdup(err.message);
			int rc;

			err.message = message ? message : "out of memory";
			rc = report_file_rejection(reg, arg, &err, opts);
			free(message);
			return rc;
		}
	} else {
		info = csdk_registry_find(reg, arg);
		if (!info)
			return report_rejections(reg, arg, opts);
	}
	return print_plugin(info, opts);
}
