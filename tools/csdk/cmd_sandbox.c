#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CREATE_OPTIONS_HELP \
	"  --runtime python|node    runtime of the sandbox\n" \
	"  --template ID            start from a template\n" \
	"  --snapshot ID            start from a snapshot\n" \
	"  --timeout MS             lifetime in milliseconds (0: provider default)\n" \
	"  --env KEY=VALUE          environment variable of the sandbox (repeatable)\n" \
	"  --metadata KEY=VALUE     metadata stored with the sandbox (repeatable)\n"

static int create_option(struct csdkp_cli *cli, void *state, int opt, const char *arg)
{
	int status = csdkp_create_option(state, cli, opt, arg);

	return status < 0 ? CSDKP_EXIT_USAGE : status;
}

/* Options and arguments of a command that creates: args is released unless this returns 0. */
static int parse_create(struct csdkp_create_args *args, struct csdkp_cli *cli, int argc, char **argv,
			const struct option *longopts, size_t min, size_t max, const char *what, char ***pos, size_t *n_pos)
{
	int status;

	csdkp_create_args_init(args);
	status = csdkp_parse_operands(cli, argc, argv, longopts, create_option, args, min, max, what, pos, n_pos);
	if (status)
		csdkp_create_args_release(args);
	else
		csdkp_create_args_finish(args);
	return status;
}

/* Print the id of a sandbox just created or found. */
static int print_sandbox_id(const struct csdkp_cli *cli, csdk_sandbox *sandbox)
{
	char *id = csdkp_cli_qualified_id(cli, sandbox);
	int status;

	if (!id) {
		csdkp_error("out of memory while printing the sandbox id");
		return CSDKP_EXIT_FAILURE;
	}
	if (cli->json) {
		status = csdkp_print_json(json_pack("{s:o,s:o}", "id", csdkp_json_text(id),
						    "provider", csdkp_json_text(csdk_provider_name(csdk_sandbox_provider(sandbox)))),
					  CSDKP_EXIT_FAILURE);
	} else {
		fprintf(CSDKP_STDOUT, "%s\n", id);
		status = csdkp_finish(0, CSDKP_EXIT_FAILURE);
	}
	free(id);
	return status;
}

/* ----------------------------------------------------------------- create */

static int run_create(struct csdkp_cli *cli, int argc, char **argv)
{
	struct csdkp_create_args args;
	csdk_sandbox *sandbox = NULL;
	char **pos;
	size_t n_pos;
	int status;

	status = parse_create(&args, cli, argc, argv, csdkp_create_named_longopts, 0, 0, "no arguments", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	status = CSDKP_EXIT_FAILURE;
	if (csdkp_cli_create(&sandbox, cli, &args.opts) == 0)
		status = print_sandbox_id(cli, sandbox);
	csdk_sandbox_free(sandbox);
	csdkp_create_args_release(&args);
	return status;
}

const struct csdkp_command csdkp_cmd_create = {
	"create", run_create,
	"create [--name N] [--namespace NS] [--runtime R] [--template T] [--snapshot S]\n"
	"            [--timeout MS] [--env K=V]... [--metadata K=V]...",
	"Create a sandbox and print its id.",
	"  --name NAME              name stored with the sandbox\n"
	"  --namespace NS           namespace of the name (default: default)\n"
	CREATE_OPTIONS_HELP,
};

/* ------------------------------------------------------------------- list */

static int run_list(struct csdkp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = { CSDKP_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	static const char *const headers[] = { "ID", "STATUS", "CREATED" };
	csdk_compute *compute;
	csdk_sandbox_list *list = NULL;
	struct csdkp_listing out;
	char **pos;
	size_t n_pos, i;
	int status, rc;

	status = csdkp_parse_operands(cli, argc, argv, longopts, NULL, NULL, 0, 0, "no arguments", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	if (csdkp_cli_compute(&compute, cli) < 0)
		return CSDKP_EXIT_FAILURE;
	rc = csdk_compute_list(&list, compute);
	if (rc < 0) {
		csdkp_report(rc, "listing sandboxes");
		return CSDKP_EXIT_FAILURE;
	}
	if (csdkp_listing_new(&out, cli, 3, headers, "listing sandboxes") < 0) {
		csdk_sandbox_list_free(list);
		return CSDKP_EXIT_FAILURE;
	}
	status = 0;
	for (i = 0; i < list->count && !status; i++) {
		csdk_sandbox_info *info = NULL;
		char created[64];

		char *id = NULL;

		rc = csdk_sandbox_get_info(&info, list->sandboxes[i]);
		if (rc < 0) {
			csdkp_report(rc, "reading sandbox information");
			status = CSDKP_EXIT_FAILURE;
		} else if (!(id = csdkp_cli_qualified_id(cli, list->sandboxes[i]))) {
			csdkp_error("out of memory while listing sandboxes");
			status = CSDKP_EXIT_FAILURE;
		} else if (out.array) {
			json_t *row = csdkp_json_info(info);

			if (!row || json_object_set_new(row, "id", csdkp_json_text(id)) < 0 ||
			    json_array_append_new(out.array, row) < 0) {
				csdkp_error("out of memory while listing sandboxes");
				status = CSDKP_EXIT_FAILURE;
			}
		} else {
			const char *cells[] = { id, csdk_status_name(info->status),
						csdkp_format_time(created, sizeof(created), info->created_ms) };

			csdkp_table_add(out.table, cells);
		}
		free(id);
		csdk_sandbox_info_free(info);
	}
	csdk_sandbox_list_free(list);
	if (status) {
		csdkp_listing_free(&out);
		return status;
	}
	return csdkp_listing_print(&out);
}

const struct csdkp_command csdkp_cmd_list = {
	"list", run_list,
	"list",
	"List the sandboxes of every configured provider (ID STATUS CREATED); ids are PROVIDER:ID when several providers are configured.",
	NULL,
};

/* ------------------------------------------------------------------- info */

static int print_info(const csdk_sandbox_info *info)
{
	static const char *const none = "-";
	csdkp_table *table = NULL;
	char created[64], timeout[32];
	size_t i;
	int rc;

	if (csdkp_table_new(&table, 2, NULL) < 0)
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
			{ "created:", csdkp_format_time(created, sizeof(created), info->created_ms) },
			{ "timeout:", timeout },
		};

		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			if (csdkp_table_add(table, rows[i]) < 0)
				goto oom;
	}
	for (i = 0; i < info->n_metadata; i++) {
		char *key = NULL;
		const char *row[2];

		if (asprintf(&key, "metadata.%s:", info->metadata[i].key) < 0)
			goto oom;
		row[0] = key;
		row[1] = info->metadata[i].value;
		rc = csdkp_table_add(table, row);
		free(key);
		if (rc < 0)
			goto oom;
	}
	csdkp_table_print(table, CSDKP_STDOUT, NULL);
	csdkp_table_free(table);
	return csdkp_finish(0, CSDKP_EXIT_FAILURE);
oom:
	csdkp_table_free(table);
	csdkp_error("out of memory while printing sandbox information");
	return CSDKP_EXIT_FAILURE;
}

static int run_info(struct csdkp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = { CSDKP_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	csdk_sandbox *sandbox = NULL;
	csdk_sandbox_info *info = NULL;
	char **pos;
	size_t n_pos;
	int status, rc;

	status = csdkp_parse_operands(cli, argc, argv, longopts, NULL, NULL, 1, 1, "a sandbox ID", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	if (csdkp_cli_sandbox(&sandbox, cli, pos[0]) < 0)
		return CSDKP_EXIT_FAILURE;
	rc = csdk_sandbox_get_info(&info, sandbox);
	if (rc == 0 && csdkp_cli_qualifies(cli)) {
		char *id = csdkp_cli_qualified_id(cli, sandbox);

		if (id) {
			free(info->id);
			info->id = id;
		}
	}
	if (rc < 0) {
		csdkp_report(rc, "reading sandbox information");
		status = CSDKP_EXIT_FAILURE;
	} else if (cli->json) {
		status = csdkp_print_json(csdkp_json_info(info), CSDKP_EXIT_FAILURE);
	} else {
		status = print_info(info);
	}
	csdk_sandbox_info_free(info);
	csdk_sandbox_free(sandbox);
	return status;
}

const struct csdkp_command csdkp_cmd_info = {
	"info", run_info,
	"info ID",
	"Show everything the provider says of a sandbox: id, provider, status, creation time, timeout and metadata.",
	NULL,
};

/* ---------------------------------------------------------------- destroy */

static int run_destroy(struct csdkp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = { CSDKP_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	csdk_compute *compute;
	const char *provider, *bare;
	char **pos;
	size_t n_pos;
	int status, rc;

	status = csdkp_parse_operands(cli, argc, argv, longopts, NULL, NULL, 1, 1, "a sandbox ID", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	if (csdkp_cli_compute(&compute, cli) < 0)
		return CSDKP_EXIT_FAILURE;
	bare = csdkp_cli_split_id(&provider, cli, pos[0]);
	rc = csdk_compute_destroy(compute, provider, bare);
	if (rc < 0) {
		csdkp_report(rc, "destroying the sandbox");
		return CSDKP_EXIT_FAILURE;
	}
	if (cli->json)
		return csdkp_print_json(json_pack("{s:o,s:b}", "id", csdkp_json_text(pos[0]), "destroyed", 1), CSDKP_EXIT_FAILURE);
	return 0;
}

const struct csdkp_command csdkp_cmd_destroy = {
	"destroy", run_destroy,
	"destroy ID",
	"Destroy a sandbox. Destroying a sandbox that does not exist succeeds.",
	NULL,
};

/* -------------------------------------------------------------------- url */

/* the option handler of commands that take one string option */
static int string_option(struct csdkp_cli *cli, void *state, int opt, const char *arg)
{
	*(const char **)state = arg;
	return 0;
}

static int run_url(struct csdkp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CSDKP_COMMON_LONGOPTS,
		{ "protocol", required_argument, NULL, CSDKP_OPT_FIRST_FREE },
		{ NULL, 0, NULL, 0 }
	};
	const char *protocol = NULL;
	csdk_sandbox *sandbox = NULL;
	char **pos, *url = NULL;
	size_t n_pos;
	int status, rc, port;

	status = csdkp_parse_operands(cli, argc, argv, longopts, string_option, &protocol, 2, 2,
				      "a sandbox ID and a PORT", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	if ((status = csdkp_parse_port(&port, cli, pos[1])))
		return status;
	if (csdkp_cli_sandbox(&sandbox, cli, pos[0]) < 0)
		return CSDKP_EXIT_FAILURE;
	rc = csdk_sandbox_get_url(&url, sandbox, port, protocol);
	if (rc < 0) {
		csdkp_report(rc, "getting the URL");
		status = CSDKP_EXIT_FAILURE;
	} else if (cli->json) {
		status = csdkp_print_json(json_pack("{s:o,s:i,s:o}", "id", csdkp_json_text(pos[0]), "port", port, "url", csdkp_json_text(url)),
					  CSDKP_EXIT_FAILURE);
	} else {
		fprintf(CSDKP_STDOUT, "%s\n", url);
		status = csdkp_finish(0, CSDKP_EXIT_FAILURE);
	}
	csdk_free(url);
	csdk_sandbox_free(sandbox);
	return status;
}

const struct csdkp_command csdkp_cmd_url = {
	"url", run_url,
	"url ID PORT [--protocol P]",
	"Print the URL at which a port of the sandbox is reachable.",
	"  --protocol P             protocol of the URL, e.g. http or https (default: the provider's)\n",
};

/* ------------------------------------------------------- named sandboxes */

static int run_find_or_create(struct csdkp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CSDKP_COMMON_LONGOPTS,
		CSDKP_CREATE_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct csdkp_create_args args;
	csdk_provider *provider;
	csdk_sandbox *sandbox = NULL;
	char **pos;
	size_t n_pos;
	int status, rc;

	if ((status = parse_create(&args, cli, argc, argv, longopts, 1, 1, "a sandbox NAME", &pos, &n_pos)))
		return status < 0 ? 0 : status;
	args.opts.name = pos[0];
	status = CSDKP_EXIT_FAILURE;
	if (csdkp_cli_provider(&provider, cli) == 0) {
		rc = csdk_sandbox_find_or_create(&sandbox, provider, args.opts.namespace_, pos[0], &args.opts);
		if (rc < 0)
			csdkp_report(rc, "finding or creating the sandbox");
		else
			status = print_sandbox_id(cli, sandbox);
	}
	csdk_sandbox_free(sandbox);
	csdkp_create_args_release(&args);
	return status;
}

const struct csdkp_command csdkp_cmd_find_or_create = {
	"find-or-create", run_find_or_create,
	"find-or-create NAME [--namespace NS] [--runtime R] [--template T] [--snapshot S]\n"
	"                    [--timeout MS] [--env K=V]... [--metadata K=V]...",
	"Print the id of the sandbox NS/NAME, creating it first if there is none.",
	"  --namespace NS           namespace of the name (default: default)\n"
	CREATE_OPTIONS_HELP,
};

static int run_find(struct csdkp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CSDKP_COMMON_LONGOPTS,
		{ "namespace", required_argument, NULL, CSDKP_OPT_NAMESPACE },
		{ NULL, 0, NULL, 0 }
	};
	const char *namespace_ = NULL;
	csdk_provider *provider;
	csdk_sandbox *sandbox = NULL;
	char **pos;
	size_t n_pos;
	int status, rc;

	status = csdkp_parse_operands(cli, argc, argv, longopts, string_option, &namespace_, 1, 1,
				      "a sandbox NAME", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	if (csdkp_cli_provider(&provider, cli) < 0)
		return CSDKP_EXIT_FAILURE;
	rc = csdk_sandbox_find(&sandbox, provider, namespace_, pos[0]);
	if (rc < 0) {
		csdkp_report(rc, "finding the sandbox");
		return CSDKP_EXIT_FAILURE;
	}
	if (!sandbox) {
		csdkp_error("no sandbox named '%s/%s' in provider '%s'",
			    namespace_ ? namespace_ : CSDK_DEFAULT_NAMESPACE, pos[0], csdk_provider_name(provider));
		return CSDKP_EXIT_FAILURE;
	}
	status = print_sandbox_id(cli, sandbox);
	csdk_sandbox_free(sandbox);
	return status;
}

const struct csdkp_command csdkp_cmd_find = {
	"find", run_find,
	"find NAME [--namespace NS]",
	"Print the id of the sandbox NS/NAME; exit 1 when there is none.",
	"  --namespace NS           namespace of the name (default: default)\n",
};

static int duration_option(struct csdkp_cli *cli, void *state, int opt, const char *arg)
{
	return csdkp_parse_ms(state, cli, "duration", arg);
}

static int run_extend(struct csdkp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CSDKP_COMMON_LONGOPTS,
		{ "duration", required_argument, NULL, CSDKP_OPT_FIRST_FREE },
		{ NULL, 0, NULL, 0 }
	};
	int64_t duration = 0;
	csdk_sandbox *sandbox = NULL;
	char **pos;
	size_t n_pos;
	int status, rc;

	status = csdkp_parse_operands(cli, argc, argv, longopts, duration_option, &duration, 1, 1,
				      "a sandbox ID", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	if (csdkp_cli_sandbox(&sandbox, cli, pos[0]) < 0)
		return CSDKP_EXIT_FAILURE;
	rc = csdk_sandbox_extend_timeout(sandbox, duration);
	if (rc < 0) {
		csdkp_report(rc, "extending the sandbox's timeout");
		status = CSDKP_EXIT_FAILURE;
	} else if (cli->json) {
		status = csdkp_print_json(json_pack("{s:o,s:I}", "id", csdkp_json_text(pos[0]), "extended_ms",
						    (json_int_t)(duration ? duration : CSDK_DEFAULT_EXTEND_MS)),
					  CSDKP_EXIT_FAILURE);
	}
	csdk_sandbox_free(sandbox);
	return status;
}

const struct csdkp_command csdkp_cmd_extend = {
	"extend", run_extend,
	"extend ID [--duration MS]",
	"Extend the lifetime of a sandbox.",
	"  --duration MS            extension in milliseconds (default: 900000, 15 minutes)\n",
};
