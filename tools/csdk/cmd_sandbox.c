#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int create_option(struct tool_cli *cli, void *state, int opt, const char *arg)
{
	int status = tool_create_option(state, cli, opt, arg);

	return status < 0 ? TOOL_EXIT_USAGE : status;
}

/* Options and arguments of a command that creates: args is released unless this returns 0. */
static int parse_create(struct tool_create_args *args, struct tool_cli *cli, int argc, char **argv,
			const struct option *longopts, size_t min, size_t max, const char *what, char ***pos, size_t *n_pos)
{
	int status;

	tool_create_args_init(args);
	status = tool_parse_operands(cli, argc, argv, longopts, create_option, args, min, max, what, pos, n_pos);
	if (status)
		tool_create_args_release(args);
	else
		tool_create_args_finish(args);
	return status;
}

/* Print the id of a sandbox just created or found. */
static int print_sandbox_id(const struct tool_cli *cli, csdk_sandbox *sandbox)
{
	char *id = tool_cli_qualified_id(cli, sandbox);
	int status;

	if (!id) {
		tool_error("out of memory while printing the sandbox id");
		return TOOL_EXIT_FAILURE;
	}
	status = tool_print_id(cli, id, "provider", csdk_provider_name(csdk_sandbox_provider(sandbox)));
	free(id);
	return status;
}

/* ----------------------------------------------------------------- create */

/* create, or with find find-or-create NAME: then print the sandbox's id. */
static int create_command(struct tool_cli *cli, int argc, char **argv, int find)
{
	static const struct option find_longopts[] = { TOOL_COMMON_LONGOPTS, TOOL_CREATE_LONGOPTS, { NULL, 0, NULL, 0 } };
	struct tool_create_args args;
	csdk_provider *provider;
	csdk_sandbox *sandbox = NULL;
	char **pos;
	size_t n_pos;
	int status, rc;

	if (find)
		status = parse_create(&args, cli, argc, argv, find_longopts, 1, 1, "a sandbox NAME", &pos, &n_pos);
	else
		status = parse_create(&args, cli, argc, argv, tool_create_named_longopts, 0, 0, "no arguments", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	if (!find) {
		rc = tool_cli_create(&sandbox, cli, &args.opts);
	} else if ((rc = tool_cli_provider(&provider, cli)) == 0) {
		args.opts.name = pos[0];
		rc = csdk_sandbox_find_or_create(&sandbox, provider, args.opts.namespace_, pos[0], &args.opts);
		if (rc < 0)
			tool_report(rc, "finding or creating the sandbox");
	}
	status = rc < 0 ? TOOL_EXIT_FAILURE : print_sandbox_id(cli, sandbox);
	csdk_sandbox_free(sandbox);
	tool_create_args_release(&args);
	return status;
}

static int run_create(struct tool_cli *cli, int argc, char **argv)
{
	return create_command(cli, argc, argv, 0);
}

const struct tool_command tool_cmd_create = {
	"create", run_create,
	"create [--name N] [--namespace NS] " TOOL_CREATE_SYNOPSIS,
	"Create a sandbox and print its id.",
	TOOL_NAME_OPTIONS_HELP
	TOOL_CREATE_OPTIONS_HELP,
};

/* ------------------------------------------------------------------- list */

static int run_list(struct tool_cli *cli, int argc, char **argv)
{
	static const char *const headers[] = { "ID", "STATUS", "CREATED" };
	csdk_compute *compute;
	csdk_sandbox_list *list = NULL;
	struct tool_listing out;
	size_t i;
	int status, rc;

	if ((status = tool_parse_none(cli, argc, argv)))
		return status < 0 ? 0 : status;
	if (tool_cli_compute(&compute, cli) < 0)
		return TOOL_EXIT_FAILURE;
	rc = csdk_compute_list(&list, compute);
	if (rc < 0) {
		tool_report(rc, "listing sandboxes");
		return TOOL_EXIT_FAILURE;
	}
	if (tool_listing_new(&out, cli, 3, headers, "listing sandboxes") < 0) {
		csdk_sandbox_list_free(list);
		return TOOL_EXIT_FAILURE;
	}
	status = 0;
	for (i = 0; i < list->count && !status; i++) {
		csdk_sandbox_info *info = NULL;
		char created[64];

		char *id = NULL;

		rc = csdk_sandbox_get_info(&info, list->sandboxes[i]);
		if (rc < 0) {
			tool_report(rc, "reading sandbox information");
			status = TOOL_EXIT_FAILURE;
		} else if (!(id = tool_cli_qualified_id(cli, list->sandboxes[i]))) {
			tool_error("out of memory while listing sandboxes");
			status = TOOL_EXIT_FAILURE;
		} else if (out.array) {
			json_t *row = tool_json_info(info);

			if (!row || json_object_set_new(row, "id", tool_json_text(id)) < 0 ||
			    json_array_append_new(out.array, row) < 0) {
				tool_error("out of memory while listing sandboxes");
				status = TOOL_EXIT_FAILURE;
			}
		} else {
			const char *cells[] = { id, csdk_status_name(info->status),
						tool_format_time(created, sizeof(created), info->created_ms) };

			tool_table_add(out.table, cells);
		}
		free(id);
		csdk_sandbox_info_free(info);
	}
	csdk_sandbox_list_free(list);
	if (status) {
		tool_listing_free(&out);
		return status;
	}
	return tool_listing_print(&out);
}

const struct tool_command tool_cmd_list = {
	"list", run_list,
	"list",
	"List the sandboxes of every configured provider (ID STATUS CREATED); ids are PROVIDER:ID when several providers are configured.",
	NULL,
};

/* ------------------------------------------------------------------- info */

static int print_info(const csdk_sandbox_info *info)
{
	static const char *const none = "-";
	tool_table *table = NULL;
	char created[64], timeout[32];
	size_t i;
	int rc;

	if (tool_table_new(&table, 2, NULL) < 0)
		goto oom;
	if (info->timeout_ms)
		snprintf(timeout, sizeof(timeout), "%lld ms", (long long)info->timeout_ms);
	else
		snprintf(timeout, sizeof(timeout), "%s", none);
	{
		const char *rows[][2] = {
			{ "id:", info->id },
			{ "provider:", info->provider },
			{ "status:", csdk_status_name(info->status) },
			{ "created:", tool_format_time(created, sizeof(created), info->created_ms) },
			{ "timeout:", timeout },
		};

		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			if (tool_table_add(table, rows[i]) < 0)
				goto oom;
	}
	for (i = 0; i < info->n_metadata; i++) {
		char *key = NULL;
		const char *row[2];

		if (asprintf(&key, "metadata.%s:", info->metadata[i].key) < 0)
			goto oom;
		row[0] = key;
		row[1] = info->metadata[i].value;
		rc = tool_table_add(table, row);
		free(key);
		if (rc < 0)
			goto oom;
	}
	tool_table_print(table, TOOL_STDOUT, NULL);
	tool_table_free(table);
	return tool_finish(0, TOOL_EXIT_FAILURE);
oom:
	tool_table_free(table);
	tool_error("out of memory while printing sandbox information");
	return TOOL_EXIT_FAILURE;
}

static int run_info(struct tool_cli *cli, int argc, char **argv)
{
	csdk_sandbox *sandbox = NULL;
	csdk_sandbox_info *info = NULL;
	const char *given;
	int status, rc;

	if ((status = tool_parse_operand(&given, cli, argc, argv, tool_common_longopts, NULL, NULL, "a sandbox ID")))
		return status < 0 ? 0 : status;
	if (tool_cli_sandbox(&sandbox, cli, given) < 0)
		return TOOL_EXIT_FAILURE;
	rc = csdk_sandbox_get_info(&info, sandbox);
	if (rc == 0 && tool_cli_qualifies(cli)) {
		char *id = tool_cli_qualified_id(cli, sandbox);

		if (id) {
			free(info->id);
			info->id = id;
		}
	}
	if (rc < 0) {
		tool_report(rc, "reading sandbox information");
		status = TOOL_EXIT_FAILURE;
	} else if (cli->json) {
		status = tool_print_json(tool_json_info(info), TOOL_EXIT_FAILURE);
	} else {
		status = print_info(info);
	}
	csdk_sandbox_info_free(info);
	csdk_sandbox_free(sandbox);
	return status;
}

const struct tool_command tool_cmd_info = {
	"info", run_info,
	"info ID",
	"Show everything the provider says of a sandbox: id, provider, status, creation time, timeout and metadata.",
	NULL,
};

/* ---------------------------------------------------------------- destroy */

static int run_destroy(struct tool_cli *cli, int argc, char **argv)
{
	csdk_compute *compute;
	const char *given, *provider, *bare;
	int status, rc;

	if ((status = tool_parse_operand(&given, cli, argc, argv, tool_common_longopts, NULL, NULL, "a sandbox ID")))
		return status < 0 ? 0 : status;
	if (tool_cli_compute(&compute, cli) < 0)
		return TOOL_EXIT_FAILURE;
	bare = tool_cli_split_id(&provider, cli, given);
	rc = csdk_compute_destroy(compute, provider, bare);
	if (rc < 0) {
		tool_report(rc, "destroying the sandbox");
		return TOOL_EXIT_FAILURE;
	}
	if (cli->json)
		return tool_print_json(json_pack("{s:o,s:b}", "id", tool_json_text(given), "destroyed", 1), TOOL_EXIT_FAILURE);
	return 0;
}

const struct tool_command tool_cmd_destroy = {
	"destroy", run_destroy,
	"destroy ID",
	"Destroy a sandbox. Destroying a sandbox that does not exist succeeds.",
	NULL,
};

/* -------------------------------------------------------------------- url */

/* the option handler of commands that take one string option */
static int string_option(struct tool_cli *cli, void *state, int opt, const char *arg)
{
	*(const char **)state = arg;
	return 0;
}

static int run_url(struct tool_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "protocol", required_argument, NULL, TOOL_OPT_FIRST_FREE },
		{ NULL, 0, NULL, 0 }
	};
	const char *protocol = NULL;
	csdk_sandbox *sandbox = NULL;
	char **pos, *url = NULL;
	size_t n_pos;
	int status, rc, port;

	status = tool_parse_operands(cli, argc, argv, longopts, string_option, &protocol, 2, 2,
				      "a sandbox ID and a PORT", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	if ((status = tool_parse_port(&port, cli, pos[1])))
		return status;
	if (tool_cli_sandbox(&sandbox, cli, pos[0]) < 0)
		return TOOL_EXIT_FAILURE;
	rc = csdk_sandbox_get_url(&url, sandbox, port, protocol);
	if (rc < 0) {
		tool_report(rc, "getting the URL");
		status = TOOL_EXIT_FAILURE;
	} else if (cli->json) {
		status = tool_print_json(json_pack("{s:o,s:i,s:o}", "id", tool_json_text(pos[0]), "port", port, "url", tool_json_text(url)),
					  TOOL_EXIT_FAILURE);
	} else {
		fprintf(TOOL_STDOUT, "%s\n", url);
		status = tool_finish(0, TOOL_EXIT_FAILURE);
	}
	csdk_free(url);
	csdk_sandbox_free(sandbox);
	return status;
}

const struct tool_command tool_cmd_url = {
	"url", run_url,
	"url ID PORT [--protocol P]",
	"Print the URL at which a port of the sandbox is reachable.",
	"  --protocol P             protocol of the URL, e.g. http or https (default: the provider's)\n",
};

/* ------------------------------------------------------- named sandboxes */

static int run_find_or_create(struct tool_cli *cli, int argc, char **argv)
{
	return create_command(cli, argc, argv, 1);
}

const struct tool_command tool_cmd_find_or_create = {
	"find-or-create", run_find_or_create,
	"find-or-create NAME [--namespace NS] " TOOL_CREATE_SYNOPSIS,
	"Print the id of the sandbox NS/NAME, creating it first if there is none.",
	"  --namespace NS           namespace of the name (default: default)\n"
	TOOL_CREATE_OPTIONS_HELP,
};

static int run_find(struct tool_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "namespace", required_argument, NULL, TOOL_OPT_NAMESPACE },
		{ NULL, 0, NULL, 0 }
	};
	const char *namespace_ = NULL, *name;
	csdk_provider *provider;
	csdk_sandbox *sandbox = NULL;
	int status, rc;

	if ((status = tool_parse_operand(&name, cli, argc, argv, longopts, string_option, &namespace_, "a sandbox NAME")))
		return status < 0 ? 0 : status;
	if (tool_cli_provider(&provider, cli) < 0)
		return TOOL_EXIT_FAILURE;
	rc = csdk_sandbox_find(&sandbox, provider, namespace_, name);
	if (rc < 0) {
		tool_report(rc, "finding the sandbox");
		return TOOL_EXIT_FAILURE;
	}
	if (!sandbox) {
		tool_error("no sandbox named '%s/%s' in provider '%s'",
			    namespace_ ? namespace_ : CSDK_DEFAULT_NAMESPACE, name, csdk_provider_name(provider));
		return TOOL_EXIT_FAILURE;
	}
	status = print_sandbox_id(cli, sandbox);
	csdk_sandbox_free(sandbox);
	return status;
}

const struct tool_command tool_cmd_find = {
	"find", run_find,
	"find NAME [--namespace NS]",
	"Print the id of the sandbox NS/NAME; exit 1 when there is none.",
	"  --namespace NS           namespace of the name (default: default)\n",
};

static int duration_option(struct tool_cli *cli, void *state, int opt, const char *arg)
{
	return tool_parse_ms(state, cli, "duration", arg);
}

static int run_extend(struct tool_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "duration", required_argument, NULL, TOOL_OPT_FIRST_FREE },
		{ NULL, 0, NULL, 0 }
	};
	int64_t duration = 0;
	csdk_sandbox *sandbox = NULL;
	const char *given;
	int status, rc;

	if ((status = tool_parse_operand(&given, cli, argc, argv, longopts, duration_option, &duration, "a sandbox ID")))
		return status < 0 ? 0 : status;
	if (tool_cli_sandbox(&sandbox, cli, given) < 0)
		return TOOL_EXIT_FAILURE;
	rc = csdk_sandbox_extend_timeout(sandbox, duration);
	if (rc < 0) {
		tool_report(rc, "extending the sandbox's timeout");
		status = TOOL_EXIT_FAILURE;
	} else if (cli->json) {
		status = tool_print_json(json_pack("{s:o,s:I}", "id", tool_json_text(given), "extended_ms",
						    (json_int_t)(duration ? duration : CSDK_DEFAULT_EXTEND_MS)),
					  TOOL_EXIT_FAILURE);
	}
	csdk_sandbox_free(sandbox);
	return status;
}

const struct tool_command tool_cmd_extend = {
	"extend", run_extend,
	"extend ID [--duration MS]",
	"Extend the lifetime of a sandbox.",
	"  --duration MS            extension in milliseconds (default: 900000, 15 minutes)\n",
};
