#include "config.h"

#include <stdlib.h>

#include "common/args.h"
#include "common/output.h"
#include "conformance/conformance.h"
#include "tool.h"

static int open_registry(csdk_registry **out, const struct tool_plugins_options *opts)
{
	csdk_registry_options reg_opts = CSDK_REGISTRY_OPTIONS_INIT;

	/* A plugin that crashes while loading must become a rejection, not take the tool down. */
	reg_opts.flags = CSDK_REGISTRY_ISOLATE;
	reg_opts.search_path = opts->search_path;
	if (csdk_registry_new(out, &reg_opts) < 0) {
		tool_error("cannot scan for plugins: %s", csdk_error_last()->message);
		return -1;
	}
	return 0;
}

static int run_registry_view(const struct tool_plugins_options *opts)
{
	csdk_registry *reg;
	int rc;

	if (open_registry(&reg, opts) < 0)
		return 1;
	switch (opts->view) {
	case VIEW_PLUGIN:
		rc = tool_view_plugin(reg, opts->operands[0], opts);
		break;
	case VIEW_REJECTED:
		rc = tool_view_rejected(reg, opts);
		break;
	case VIEW_PATHS:
		rc = tool_view_paths(reg, opts);
		break;
	default:
		rc = tool_view_list(reg, opts);
		break;
	}
	csdk_registry_free(reg);
	return rc;
}

static int run_view(const struct tool_plugins_options *opts)
{
	int rc;

	/* --paths shows bad directories (marked) instead of refusing them. */
	if (opts->view != VIEW_CHECK && opts->view != VIEW_PATHS && opts->search_path &&
	    (rc = tool_check_path_option(opts->search_path)) != 0)
		return rc;
	rc = opts->view == VIEW_CHECK ? tool_view_check(opts) : run_registry_view(opts);
	if (tool_finish_output() < 0 && rc == 0)
		rc = 1;
	return rc;
}

int main(int argc, char **argv)
{
	struct tool_plugins_options opts = { 0 };
	const struct tool_subcommand *sub;
	char **sub_argv;
	int rc, sub_argc;

	tool_set_name(PROGRAM);
	/* Plugins load in this process: what they print must not reach our output. */
	tool_stdout_protect();
	if (tool_subcommand_argv(&sub, &sub_argv, &sub_argc, argc, argv) < 0)
		return 1;
	if (sub) {
		rc = sub->run(sub_argc, sub_argv);
		free(sub_argv);
		return rc;
	}
	rc = tool_parse_options(&opts, argc, argv);
	if (rc >= 0)
		return tool_finish_output() < 0 && rc == 0 ? 1 : rc;
	return run_view(&opts);
}
