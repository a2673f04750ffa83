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
	json_t *shapes = json_object_get(st, "shapes"), *sh;
	size_t i;

	if (cli->json)
		return tool_print_json(st, TOOL_EXIT_FAILURE);
	if (!json_array_size(shapes))
		fprintf(TOOL_STDOUT, "no pool is configured (docs/pools.md)\n");
	else
		fprintf(TOOL_STDOUT, "%-12s %5s %5s %6s %-9s %-7s %-20s %5s %10s %-8s %s\n", "POOL", "SIZE", "READY", "MAKING",
			"REFILLING", "DRAINED", "TEMPLATE", "CPUS", "MEMORY", "NETWORK", "DIRECTORY");
	json_array_foreach(shapes, i, sh) {
		char cpus[32] = "-", mem[32] = "-";
		/* docker's pools are per image */
		const char *tpl = json_string_value(json_object_get(sh, json_object_get(sh, "image") ? "image" : "template"));

		if (json_real_value(json_object_get(sh, "cpus")) > 0)
			snprintf(cpus, sizeof(cpus), "%g", json_real_value(json_object_get(sh, "cpus")));
		if (json_integer_value(json_object_get(sh, "memory")) > 0)
			snprintf(mem, sizeof(mem), "%lld", (long long)json_integer_value(json_object_get(sh, "memory")));
		fprintf(TOOL_STDOUT, "%-12s %5lld %5lld %6lld %-9s %-7s %-20s %5s %10s %-8s %s\n",
			json_string_value(json_object_get(sh, "name")),
			(long long)json_integer_value(json_object_get(sh, "size")),
			(long long)json_integer_value(json_object_get(sh, "ready")),
			(long long)json_integer_value(json_object_get(sh, "making")),
			json_is_true(json_object_get(sh, "refilling")) ? "yes" : "no",
			json_is_true(json_object_get(sh, "drained")) ? "yes" : "no",
			tpl ? tpl : "-",
			cpus, mem, json_string_value(json_object_get(sh, "network")) ? json_string_value(json_object_get(sh, "network")) : "-",
			json_string_value(json_object_get(sh, "dir")) ? json_string_value(json_object_get(sh, "dir")) : "");
	}
	json_decref(st);
	return tool_finish(0, TOOL_EXIT_FAILURE);
}

static int run_pool(struct tool_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *op;
	json_t *res;
	int status;

	status = tool_parse_operand(&op, cli, argc, argv, longopts, NULL, NULL, "the operation: status, fill or drain");
	if (status)
		return status < 0 ? 0 : status;
	if (strcmp(op, "status") && strcmp(op, "fill") && strcmp(op, "drain"))
		return tool_cli_usage(cli, "unknown operation '%s': give status, fill or drain", op);
	if (pool_call(cli, op, &res) < 0)
		return TOOL_EXIT_FAILURE;
	if (strcmp(op, "drain"))
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
	"Show the provider's pools of ready sandboxes (local: one per shape, pool and [pool NAME]; docker in gateway mode: one per image), fill them now, or destroy every idle member (see docs/pools.md).",
	NULL,
};
