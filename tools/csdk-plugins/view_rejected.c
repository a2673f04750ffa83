#include "config.h"

#include <stdio.h>

#include "common/output.h"
#include "tool.h"

int tool_view_rejected(const csdk_registry *reg, const struct tool_plugins_options *opts)
{
	size_t i, n = csdk_registry_rejected_count(reg);

	tool_print_scan_warnings(reg);
	if (opts->json) {
		if (tool_emit_json(json_pack("{s:o}", "rejected", tool_rejected_json(reg))) < 0)
			return 1;
	} else {
		for (i = 0; i < n; i++)
			fprintf(TOOL_STDOUT, "%s\n", csdk_registry_rejected_at(reg, i)->reason);
	}
	return n > 0 ? 1 : 0;
}
