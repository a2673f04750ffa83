#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The provider's pool operation (csdk_provider_extension "pool.OP"), its JSON answer parsed. */
static int pool_call(struct tool_cli *cli, const char *op, json_t **out)
{
	csdk_provider *provider;
	char name[32], *text = NULL, what[64];
	int rc;

	*out = NULL;
	if (tool_cli_provider(&provider, cli) < 0)
		return -1;
	snprintf(name, sizeof(name), "pool.%s", op);
	if ((rc = csdk_provider_extension(&text, provider, name, NULL)) < 0) {
		snprintf(what, sizeof(what), "pool %s", op);
		tool_report(rc, what);
		return -1;
	}
	*out = json_loads(text, 0, NULL);
	csdk_free(text);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		tool_error("pool %s: the provider answered something other than a JSON object", op);
		return -1;
	}
	return 0;
}

static int print_status(const struct tool_cli *cli, json_t *st)
{
	if (cli->json)
		return tool_print_json(st, TOOL_EXIT_FAILURE);
	fprintf(TOOL_STDOUT, "size: %lld\nready: %lld\nmaking: %lld\nrefilling: %s\ndrained: %s\ndirectory: %s\n",
		(long long)json_integer_value(json_object_get(st, "size")),
		(long long)json_integer_value(json_object_get(st, "ready")),
		(long long)json_integer_value(json_object_get(st, "making")),
		json_is_true(json_object_get(st, "refilling")) ? "yes" : "no",
		json_is_true(json_object_get(st, "drained")) ? "yes" : "no",
		json_string_value(json_object_get(st, "dir")) ? json_string_value(json_object_get(st, "dir")) : "");
	json_decref(st);
	return tool_finish(0, TOOL_EXIT_FAILURE);
}

static int run_pool(struct tool_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	char **pos;
	size_t n_pos;
	json_t *res;
	int status;

	status = tool_parse_operands(cli, argc, argv, longopts, NULL, NULL, 1, 1,
				      "the operation: status, fill or drain", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	if (strcmp(pos[0], "status") && strcmp(pos[0], "fill") && strcmp(pos[0], "drain"))
		return tool_cli_usage(cli, "unknown operation '%s': give status, fill or drain", pos[0]);
	if (pool_call(cli, pos[0], &res) < 0)
		return TOOL_EXIT_FAILURE;
	if (strcmp(pos[0], "drain"))
		return print_status(cli, res);
	if (cli->json)
		return tool_print_json(res, TOOL_EXIT_FAILURE);
	fprintf(TOOL_STDOUT, "destroyed: %lld\n", (long long)json_integer_value(json_object_get(res, "destroyed")));
	json_decref(res);
	return tool_finish(0, TOOL_EXIT_FAILURE);
}

const struct tool_command tool_cmd_pool = {
	"pool", run_pool,
	"pool status\n"
	"pool fill\n"
	"pool drain",
	"Show the provider's pool of ready sandboxes, fill it now, or destroy its idle members (local provider, docker in gateway mode; see docs/pools.md).",
	NULL,
};
