/*
 * Internal interface of the csdk-plugins command: its options, the JSON it
 * prints, the scan's warnings and one function per view.
 */
#ifndef CSDK_TOOLS_PLUGINS_TOOL_H
#define CSDK_TOOLS_PLUGINS_TOOL_H

#include <jansson.h>

#include <csdk/csdk.h>

#define PROGRAM "csdk-plugins"

enum tool_view {
	VIEW_NONE,
	VIEW_LIST,
	VIEW_PLUGIN,
	VIEW_REJECTED,
	VIEW_PATHS,
	VIEW_CHECK
};

struct tool_plugins_options {
	int json;
	const char *search_path;
	enum tool_view view;
	const char *view_option;
	char **operands;
	int n_operands;
};

/** A word that hands the rest of the command line to another program: `test`. */
struct tool_subcommand {
	const char *word;
	int (*run)(int argc, char **argv);
};

/* options.c */
int tool_parse_options(struct tool_plugins_options *opts, int argc, char **argv);
int tool_subcommand_argv(const struct tool_subcommand **sub, char ***out, int *out_argc,
			  int argc, char **argv);

/* json.c */
json_t *tool_plugin_json(const csdk_plugin_info *info);
json_t *tool_config_json(const csdk_plugin_info *info);
json_t *tool_methods_json(const csdk_plugin_info *info);
json_t *tool_rejection_json(const csdk_rejection *rej);
json_t *tool_rejected_json(const csdk_registry *reg);
json_t *tool_plugins_json(const csdk_registry *reg);
int tool_emit_json(json_t *root);
/** Append item (always taken) to *array; when that fails *array is dropped and NULL. */
void tool_json_append(json_t **array, json_t *item);

/* warnings.c */
void tool_print_registry_warnings(const csdk_registry *reg);
void tool_print_scan_warnings(const csdk_registry *reg);

/* One file each: view_NAME.c. They return the exit status. */
int tool_view_list(const csdk_registry *reg, const struct tool_plugins_options *opts);
int tool_view_plugin(csdk_registry *reg, const char *arg, const struct tool_plugins_options *opts);
int tool_view_rejected(const csdk_registry *reg, const struct tool_plugins_options *opts);
int tool_view_paths(const csdk_registry *reg, const struct tool_plugins_options *opts);
int tool_view_check(const struct tool_plugins_options *opts);

#endif /* CSDK_TOOLS_PLUGINS_TOOL_H */
