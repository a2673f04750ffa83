#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	OPT_ITEM_NAME = TOOL_OPT_FIRST_FREE,
	OPT_FROM_DIR,
	OPT_FROM_SANDBOX
};

struct store_args {
	const char *name;
	const char *from_dir;
	const char *from_sandbox;
};

static int store_option(struct tool_cli *cli, void *state, int opt, const char *arg)
{
	struct store_args *args = state;

	switch (opt) {
	case OPT_ITEM_NAME:
		args->name = arg;
		return 0;
	case OPT_FROM_DIR:
		args->from_dir = arg;
		return 0;
	case OPT_FROM_SANDBOX:
		args->from_sandbox = arg;
		return 0;
	default:
		return TOOL_EXIT_USAGE;
	}
}

static int print_created(const struct tool_cli *cli, const csdk_provider *provider, const char *bare, const char *name)
{
	char *id = tool_cli_qualify(cli, provider, bare);
	int status;

	if (!id) {
		tool_error("out of memory");
		return TOOL_EXIT_FAILURE;
	}
	status = tool_print_id(cli, id, "name", name);
	free(id);
	return status;
}

/* The items of n lists, each list from providers[i]. */
static int print_items(const struct tool_cli *cli, csdk_item_list *const *lists, csdk_provider *const *providers, size_t n)
{
	static const char *const headers[] = { "ID", "NAME", "CREATED" };
	struct tool_listing out;
	size_t i, l;

	if (tool_listing_new(&out, cli, 3, headers, "listing") < 0)
		return TOOL_EXIT_FAILURE;
	for (l = 0; l < n; l++) {
		for (i = 0; lists[l] && i < lists[l]->count; i++) {
			const csdk_item *item = &lists[l]->items[i];
			char created[64], *id = tool_cli_qualify(cli, providers[l], item->id);

			if (out.array) {
				json_array_append_new(out.array, json_pack("{s:o,s:o,s:I,s:o}", "id", tool_json_text(id ? id : item->id),
					"name", tool_json_text(item->name),
					"created_ms", (json_int_t)item->created_ms,
					"created", tool_json_time(item->created_ms)));
			} else {
				const char *cells[] = { id ? id : item->id, item->name,
							tool_format_time(created, sizeof(created), item->created_ms) };

				tool_table_add(out.table, cells);
			}
			free(id);
		}
	}
	return tool_listing_print(&out);
}

static int print_deleted(const struct tool_cli *cli, const char *id)
{
	if (cli->json)
		return tool_print_json(json_pack("{s:o,s:b}", "id", tool_json_text(id), "deleted", 1), TOOL_EXIT_FAILURE);
	return 0;
}

/* What snapshots and templates share: list and delete by id. */
struct store {
	const char *kind;        /* "snapshot" */
	const char *id_word;     /* "SNAPSHOT_ID" */
	uint64_t cap;            /* CSDK_CAP_SNAPSHOTS */
	int (*list)(csdk_item_list **out, csdk_provider *provider);
	int (*remove)(csdk_provider *provider, const char *id);
};

static const struct store snapshot_store = { "snapshot", "SNAPSHOT_ID", CSDK_CAP_SNAPSHOTS, csdk_snapshot_list, csdk_snapshot_delete };
static const struct store template_store = { "template", "TEMPLATE_ID", CSDK_CAP_TEMPLATES, csdk_template_list, csdk_template_delete };

/* With several providers: every one that has the capability, in order. */
static int list_all(struct tool_cli *cli, const struct store *st)
{
	csdk_compute *compute;
	csdk_item_list **lists = NULL;
	csdk_provider **providers = NULL;
	size_t n = 0, i, count;
	char what[64];
	int rc, status = TOOL_EXIT_FAILURE;

	if (tool_cli_compute(&compute, cli) < 0)
		return TOOL_EXIT_FAILURE;
	count = csdk_compute_count(compute);
	lists = calloc(count ? count : 1, sizeof(*lists));
	providers = calloc(count ? count : 1, sizeof(*providers));
	if (!lists || !providers) {
		tool_error("out of memory while listing");
		goto out;
	}
	for (i = 0; i < count; i++) {
		csdk_provider *p = csdk_compute_provider(compute, csdk_compute_name_at(compute, i));

		if (!p || !(csdk_provider_capabilities(p) & st->cap))
			continue;
		if ((rc = st->list(&lists[n], p)) < 0) {
			snprintf(what, sizeof(what), "listing %ss", st->kind);
			tool_report(rc, what);
			goto out;
		}
		providers[n++] = p;
	}
	status = print_items(cli, lists, providers, n);
out:
	for (i = 0; lists && i < n; i++)
		csdk_item_list_free(lists[i]);
	free(lists);
	free(providers);
	return status;
}

static int list_or_delete(struct tool_cli *cli, const struct store *st, char **pos, size_t n_pos)
{
	csdk_provider *provider;
	csdk_compute *compute;
	csdk_item_list *list = NULL;
	const char *in, *bare;
	char what[64];
	int rc, status;

	if (strcmp(pos[0], "list") == 0) {
		if ((status = tool_expect_args(cli, n_pos, 1, 1, "no arguments after 'list'")))
			return status;
		if (tool_cli_provider(&provider, cli) < 0)
			return TOOL_EXIT_FAILURE;
		if (tool_cli_qualifies(cli))
			return list_all(cli, st);
		if ((rc = st->list(&list, provider)) < 0) {
			snprintf(what, sizeof(what), "listing %ss", st->kind);
			tool_report(rc, what);
			return TOOL_EXIT_FAILURE;
		}
		status = print_items(cli, &list, &provider, 1);
		csdk_item_list_free(list);
		return status;
	}
	snprintf(what, sizeof(what), "a %s after 'delete'", st->id_word);
	if ((status = tool_expect_args(cli, n_pos, 2, 2, what)))
		return status;
	if (tool_cli_provider(&provider, cli) < 0 || tool_cli_compute(&compute, cli) < 0)
		return TOOL_EXIT_FAILURE;
	/* PROVIDER:ID deletes there; a bare snapshot id is looked for in every provider */
	bare = tool_cli_split_id(&in, cli, pos[1]);
	if (in && !(provider = csdk_compute_provider(compute, in))) {
		tool_error("provider '%s' of %s '%s' could not be opened; see 'csdk providers'", in, st->kind, pos[1]);
		return TOOL_EXIT_FAILURE;
	}
	if (!in && st == &snapshot_store && tool_cli_qualifies(cli))
		rc = csdk_compute_snapshot_delete(compute, NULL, bare);
	else
		rc = st->remove(provider, bare);
	if (rc < 0) {
		snprintf(what, sizeof(what), "deleting the %s", st->kind);
		tool_report(rc, what);
		return TOOL_EXIT_FAILURE;
	}
	return print_deleted(cli, pos[1]);
}

/* ---------------------------------------------------------------- snapshot */

static int run_snapshot(struct tool_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "name", required_argument, NULL, OPT_ITEM_NAME },
		{ NULL, 0, NULL, 0 }
	};
	struct store_args args = { NULL, NULL, NULL };
	csdk_sandbox *sandbox = NULL;
	char **pos, *id = NULL;
	size_t n_pos;
	int status, rc;

	status = tool_parse_operands(cli, argc, argv, longopts, store_option, &args, 1, SIZE_MAX,
				      "the operation: create, list or delete", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	if (strcmp(pos[0], "create") == 0) {
		if ((status = tool_expect_args(cli, n_pos, 2, 2, "a sandbox ID after 'create'")))
			return status;
		if (tool_cli_sandbox(&sandbox, cli, pos[1]) < 0)
			return TOOL_EXIT_FAILURE;
		rc = csdk_snapshot_create(&id, sandbox, args.name);
		if (rc < 0) {
			tool_report(rc, "creating the snapshot");
			status = TOOL_EXIT_FAILURE;
		} else {
			status = print_created(cli, csdk_sandbox_provider(sandbox), id, args.name);
		}
		csdk_free(id);
		csdk_sandbox_free(sandbox);
		return status;
	}
	if (args.name)
		return tool_cli_usage(cli, "--name applies to 'snapshot create' only");
	if (strcmp(pos[0], "list") == 0 || strcmp(pos[0], "delete") == 0)
		return list_or_delete(cli, &snapshot_store, pos, n_pos);
	return tool_cli_usage(cli, "unknown operation '%s': give create, list or delete", pos[0]);
}

const struct tool_command tool_cmd_snapshot = {
	"snapshot", run_snapshot,
	"snapshot create ID [--name N]\n"
	"snapshot list\n"
	"snapshot delete SNAPSHOT_ID",
	"Snapshot a sandbox (printing the snapshot's id), list snapshots (ID NAME CREATED) or delete one.",
	"  --name NAME              name of the new snapshot\n",
};

/* ---------------------------------------------------------------- template */

static int template_create(struct tool_cli *cli, const struct store_args *args)
{
	struct csdk_template_options opts = CSDK_TEMPLATE_OPTIONS_INIT;
	csdk_provider *provider;
	csdk_sandbox *sandbox = NULL;
	char *dir = NULL, *id = NULL;
	int rc, status;

	if (!args->from_dir == !args->from_sandbox)
		return tool_cli_usage(cli, "give exactly one of --from-dir DIR and --from-sandbox ID");
	if (args->from_dir) {
		dir = realpath(args->from_dir, NULL);
		if (!dir) {
			tool_error("template create: cannot use --from-dir '%s' (%s); give an existing directory",
				    args->from_dir, strerror(errno));
			return TOOL_EXIT_FAILURE;
		}
		if (tool_cli_provider(&provider, cli) < 0) {
			free(dir);
			return TOOL_EXIT_FAILURE;
		}
		opts.source = dir;
	} else {
		if (tool_cli_sandbox(&sandbox, cli, args->from_sandbox) < 0)
			return TOOL_EXIT_FAILURE;
		provider = csdk_sandbox_provider(sandbox);
		opts.sandbox = sandbox;
	}
	opts.name = args->name;
	rc = csdk_template_create(&id, provider, &opts);
	if (rc < 0) {
		tool_report(rc, "creating the template");
		status = TOOL_EXIT_FAILURE;
	} else {
		status = print_created(cli, provider, id, args->name);
	}
	csdk_free(id);
	csdk_sandbox_free(sandbox);
	free(dir);
	return status;
}

static int run_template(struct tool_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "name", required_argument, NULL, OPT_ITEM_NAME },
		{ "from-dir", required_argument, NULL, OPT_FROM_DIR },
		{ "from-sandbox", required_argument, NULL, OPT_FROM_SANDBOX },
		{ NULL, 0, NULL, 0 }
	};
	struct store_args args = { NULL, NULL, NULL };
	char **pos;
	size_t n_pos;
	int status;

	status = tool_parse_operands(cli, argc, argv, longopts, store_option, &args, 1, SIZE_MAX,
				      "the operation: create, list or delete", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	if (strcmp(pos[0], "create") == 0) {
		if ((status = tool_expect_args(cli, n_pos, 1, 1, "no arguments after 'create' but its options")))
			return status;
		return template_create(cli, &args);
	}
	if (args.name || args.from_dir || args.from_sandbox)
		return tool_cli_usage(cli, "--name, --from-dir and --from-sandbox apply to 'template create' only");
	if (strcmp(pos[0], "list") == 0 || strcmp(pos[0], "delete") == 0)
		return list_or_delete(cli, &template_store, pos, n_pos);
	return tool_cli_usage(cli, "unknown operation '%s': give create, list or delete", pos[0]);
}

const struct tool_command tool_cmd_template = {
	"template", run_template,
	"template create [--name N] (--from-dir DIR | --from-sandbox ID)\n"
	"template list\n"
	"template delete TEMPLATE_ID",
	"Create a template from a directory or a sandbox (printing the template's id), "
	"list templates (ID NAME CREATED) or delete one.",
	"  --name NAME              name of the new template\n"
	"  --from-dir DIR           build the template from a local directory\n"
	"  --from-sandbox ID        capture a sandbox as the template\n",
};
