#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/describe.h"
#include "common/output.h"
#include "tool.h"

static int add_plugin_row(tool_table *table, const csdk_plugin_info *info)
{
	char abi[TOOL_ABI_TEXT_SIZE];
	char *modes = tool_modes_text(info->modes, info->default_mode);
	char *caps = tool_capabilities_text(info->capabilities);
	int rc = CSDK_ENOMEM;

	if (modes && caps) {
		const char *cells[] = { info->name, info->version,
					tool_abi_text(abi, info->abi_version),
					modes, caps, info->path };

		rc = tool_table_add(table, cells);
	}
	free(modes);
	free(caps);
	return rc;
}

int tool_view_list(const csdk_registry *reg, const struct tool_plugins_options *opts)
{
	static const char *const headers[] = {
		"NAME", "VERSION", "ABI", "MODES", "CAPABILITIES", "PATH"
	};
	size_t i, n = csdk_registry_count(reg), n_rejected = csdk_registry_rejected_count(reg);
	tool_table *table;

	tool_print_scan_warnings(reg);
	if (opts->json)
		return tool_emit_json(json_pack("{s:o, s:o}", "plugins", tool_plugins_json(reg),
					   "rejected", tool_rejected_json(reg))) < 0 || n_rejected ? 1 : 0;

	if (tool_table_new(&table, 6, headers) < 0)
		goto nomem;
	for (i = 0; i < n; i++) {
		const csdk_plugin_info *info = csdk_registry_at(reg, i);
		size_t w;

		for (w = 0; w < info->n_warnings; w++)
			tool_warning("%s", info->warnings[w]);
		if (add_plugin_row(table, info) < 0)
			goto nomem;
	}
	if (n > 0) {
		tool_table_print(table, TOOL_STDOUT, NULL);
		fputc('\n', TOOL_STDOUT);
	}
	tool_table_free(table);
	fprintf(TOOL_STDOUT, "%zu %s loaded", n, n == 1 ? "plugin" : "plugins");
	if (n_rejected > 0)
		fprintf(TOOL_STDOUT, ", %zu rejected (run '" PROGRAM " --rejected' to see why)", n_rejected);
	fputc('\n', TOOL_STDOUT);
	return n_rejected ? 1 : 0;

nomem:
	tool_table_free(table);
	tool_error("out of memory while listing plugins");
	return 1;
}
