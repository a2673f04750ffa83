#include "config.h"

#include <stdio.h>
#include <sys/stat.h>

#include "common/describe.h"
#include "common/output.h"
#include "tool.h"

/* The registry says only whether a directory is there; a file in its place is the likelier mistake. */
static int is_non_directory(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

int tool_view_paths(const csdk_registry *reg, const struct tool_plugins_options *opts)
{
	size_t i, n = csdk_registry_path_count(reg);

	if (opts->json) {
		json_t *paths = json_array();
		json_t *warnings = json_array();

		for (i = 0; paths && i < n; i++) {
			const csdk_path_entry *entry = csdk_registry_path_at(reg, i);

			tool_json_append(&paths, json_pack("{s:s, s:s, s:b, s:b}",
							    "dir", entry->dir,
							    "origin", tool_path_origin_name(entry->origin),
							    "exists", entry->exists != 0,
							    "not_a_directory", !entry->exists && is_non_directory(entry->dir)));
		}
		for (i = 0; warnings && i < csdk_registry_warning_count(reg); i++)
			tool_json_append(&warnings, json_string(csdk_registry_warning_at(reg, i)));
		return tool_emit_json(json_pack("{s:o, s:o}", "paths", paths, "warnings", warnings)) < 0 ? 1 : 0;
	}
	for (i = 0; i < n; i++) {
		const csdk_path_entry *entry = csdk_registry_path_at(reg, i);

		fprintf(TOOL_STDOUT, "%s  (%s)%s\n", entry->dir, tool_path_origin_name(entry->origin),
		       entry->exists ? "" : is_non_directory(entry->dir) ? " [not a directory]" : " [missing]");
	}
	tool_print_registry_warnings(reg);
	return 0;
}
