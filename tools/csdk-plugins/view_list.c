#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/describe.h"
#include "common/output.h"
#include "tool.h"

static int add_plugin_row(csdkp_table *table, const csdk_plugin_info *info)
{
	char abi[CSDKP_ABI_TEXT_SIZE];
	char *modes = csdkp_modes_text(info->modes, info->default_mode);
	char *caps = csdkp_capabilities_text(info->capabilities);
	int rc = CSDK_ENOMEM;

	if (modes && caps) {
		const char *cells[] = { info->name, info->version,
					csdkp_abi_text(abi, info->abi_version),
					modes, caps, info->path };

		rc = csdkp_table_add(table, cells);
	}
	free(modes);
	free(caps);
	return rc;
}

int csdkp_view_list(const csdk_registry *reg, const struct csdkp_plugins_options *opts)
{
	static const char *const headers[] = {
		"NAME", "VERSION", "ABI", "MODES", "CAPABILITIES", "PATH"
	};
	size_t i, n = csdk_registry_count(reg), n_rejected = csdk_registry_rejected_count(reg);
	csdkp_table *table;

	csdkp_print_scan_warnings(reg);
	if (opts->json)
		return csdkp_emit_json(json_pack("{s:o, s:o}", "plugins", csdkp_plugins_json(reg),
					   "rejected", csdkp_rejected_json(reg))) < 0 || n_rejected ? 1 : 0;

	if (csdkp_table_new(&table, 6, headers) < 0)
		goto nomem;
	for (i = 0; i < n; i++) {
		const csdk_plugin_info *info = csdk_registry_at(reg, i);
		size_t w;

		for (w = 0; w < info->n_warnings; w++)
			csdkp_warning("%s", info->warnings[w]);
		if (add_plugin_row(table, info) < 0)
			goto nomem;
	}
	if (n > 0) {
		csdkp_table_print(table, CSDKP_STDOUT, NULL);
		fputc('\n', CSDKP_STDOUT);
	}
	csdkp_table_free(table);
	fprintf(CSDKP_STDOUT, "%zu %s loaded", n, n == 1 ? "plugin" : "plugins");
	if (n_rejected > 0)
		fprintf(CSDKP_STDOUT, ", %zu rejected (run '" PROGRAM " --rejected' to see why)", n_rejected);
	fputc('\n', CSDKP_STDOUT);
	return n_rejected ? 1 : 0;

nomem:
	csdkp_table_free(table);
	csdkp_error("out of memory while listing plugins");
	return 1;
}
