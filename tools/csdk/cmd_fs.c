#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "cli.h"

static int fs_read(struct tool_cli *cli, csdk_sandbox *sandbox, const char *path)
{
	char *data = NULL, *encoded = NULL;
	size_t len = 0;
	int rc, status;
	json_t *content;

	rc = csdk_fs_read(&data, &len, sandbox, path);
	if (rc < 0) {
		tool_report(rc, "reading the file");
		return TOOL_EXIT_FAILURE;
	}
	if (cli->json) {
		int text = tool_utf8_valid(data, len);

		if (!text)
			encoded = csdku_b64_encode(data, len);
		content = text ? json_stringn(data, len) : encoded ? json_string(encoded) : NULL;
		status = tool_print_json(json_pack("{s:o,s:I,s:s,s:o}", "path", tool_json_text(path), "size", (json_int_t)len,
						    "encoding", text ? "utf-8" : "base64", "content", content),
					  TOOL_EXIT_FAILURE);
		free(encoded);
	} else if (csdku_write_all(tool_out_fd, data, len) < 0) {
		tool_error("cannot write to standard output (%s); check the disk or the pipe it goes to",
			    strerror(errno));
		status = TOOL_EXIT_FAILURE;
	} else {
		status = 0;
	}
	csdk_free(data);
	return status;
}

static int fs_write(struct tool_cli *cli, csdk_sandbox *sandbox, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (tool_read_all(&data, &len, STDIN_FILENO) < 0) {
		tool_error("cannot read standard input (%s); pipe the file's content into 'csdk fs ID write PATH'",
			    strerror(errno));
		return TOOL_EXIT_FAILURE;
	}
	rc = csdk_fs_write(sandbox, path, data, len);
	free(data);
	if (rc < 0) {
		tool_report(rc, "writing the file");
		return TOOL_EXIT_FAILURE;
	}
	if (cli->json)
		return tool_print_json(json_pack("{s:o,s:I}", "path", tool_json_text(path), "size", (json_int_t)len),
					TOOL_EXIT_FAILURE);
	return 0;
}

static const char *entry_type_name(enum csdk_entry_type type)
{
	switch (type) {
	case CSDK_ENTRY_FILE:
		return "file";
	case CSDK_ENTRY_DIRECTORY:
		return "directory";
	default:
		return "other";
	}
}

static int fs_ls(struct tool_cli *cli, csdk_sandbox *sandbox, const char *path)
{
	static const char *const headers[] = { "NAME", "TYPE", "SIZE", "MODIFIED" };
	csdk_dir_list *list = NULL;
	struct tool_listing out;
	size_t i;
	int rc;

	rc = csdk_fs_readdir(&list, sandbox, path);
	if (rc < 0) {
		tool_report(rc, "listing the directory");
		return TOOL_EXIT_FAILURE;
	}
	if (tool_listing_new(&out, cli, 4, headers, "listing the directory") < 0) {
		csdk_dir_list_free(list);
		return TOOL_EXIT_FAILURE;
	}
	for (i = 0; i < list->count; i++) {
		const csdk_dirent *e = &list->entries[i];
		char size[32], modified[64];

		if (out.array) {
			/* sizes beyond INT64_MAX (a plugin's garbage) stay positive as reals */
			json_t *jsize = e->size > INT64_MAX ? json_real((double)e->size) : json_integer((json_int_t)e->size);

			json_array_append_new(out.array, json_pack("{s:o,s:s,s:o,s:I,s:o}",
				"name", tool_json_text(e->name), "type", entry_type_name(e->type),
				"size", jsize, "modified_ms", (json_int_t)e->modified_ms,
				"modified", tool_json_time(e->modified_ms)));
		} else {
			const char *cells[] = { e->name, entry_type_name(e->type), size,
						tool_format_time(modified, sizeof(modified), e->modified_ms) };

			snprintf(size, sizeof(size), "%llu", (unsigned long long)e->size);
			tool_table_add(out.table, cells);
		}
	}
	csdk_dir_list_free(list);
	return tool_listing_print(&out);
}

static int fs_exists(struct tool_cli *cli, csdk_sandbox *sandbox, const char *path)
{
	int exists = 0, rc, status;

	rc = csdk_fs_exists(&exists, sandbox, path);
	if (rc < 0) {
		tool_report(rc, "checking the path");
		return TOOL_EXIT_FAILURE;
	}
	if (cli->json)
		status = tool_print_json(json_pack("{s:o,s:b}", "path", tool_json_text(path), "exists", exists),
					  TOOL_EXIT_FAILURE);
	else {
		fprintf(TOOL_STDOUT, "%s\n", exists ? "true" : "false");
		status = tool_finish(0, TOOL_EXIT_FAILURE);
	}
	if (status)
		return status;
	return exists ? 0 : 1;
}

static int fs_simple(struct tool_cli *cli, csdk_sandbox *sandbox, const char *op, const char *path)
{
	int is_mkdir = strcmp(op, "mkdir") == 0;
	int rc = is_mkdir ? csdk_fs_mkdir(sandbox, path) : csdk_fs_remove(sandbox, path);

	if (rc < 0) {
		tool_report(rc, is_mkdir ? "making the directory" : "removing the path");
		return TOOL_EXIT_FAILURE;
	}
	if (cli->json)
		return tool_print_json(json_pack("{s:o,s:b}", "path", tool_json_text(path), is_mkdir ? "created" : "removed", 1),
					TOOL_EXIT_FAILURE);
	return 0;
}

static int run_fs(struct tool_cli *cli, int argc, char **argv)
{
	static const char *const ops[] = { "read", "write", "ls", "mkdir", "rm", "exists" };
	csdk_sandbox *sandbox = NULL;
	const char *op, *path;
	char **pos;
	size_t n_pos, i;
	int status;

	status = tool_parse_operands(cli, argc, argv, tool_common_longopts, NULL, NULL, 3, 3,
				      "ID, an operation and a PATH", &pos, &n_pos);
	if (status)
		return status < 0 ? 0 : status;
	op = pos[1];
	path = pos[2];
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op, ops[i]) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return tool_cli_usage(cli, "unknown operation '%s': give read, write, ls, mkdir, rm or exists", op);
	if (tool_cli_sandbox(&sandbox, cli, pos[0]) < 0)
		return TOOL_EXIT_FAILURE;
	if (strcmp(op, "read") == 0)
		status = fs_read(cli, sandbox, path);
	else if (strcmp(op, "write") == 0)
		status = fs_write(cli, sandbox, path);
	else if (strcmp(op, "ls") == 0)
		status = fs_ls(cli, sandbox, path);
	else if (strcmp(op, "exists") == 0)
		status = fs_exists(cli, sandbox, path);
	else
		status = fs_simple(cli, sandbox, op, path);
	csdk_sandbox_free(sandbox);
	return status;
}

const struct tool_command tool_cmd_fs = {
	"fs", run_fs,
	"fs ID read PATH\n"
	"fs ID write PATH < FILE\n"
	"fs ID ls PATH\n"
	"fs ID mkdir PATH\n"
	"fs ID rm PATH\n"
	"fs ID exists PATH",
	"Use the sandbox's filesystem: read prints a file's bytes, write stores standard input, "
	"ls lists a directory (NAME TYPE SIZE MODIFIED), mkdir makes a directory and its parents, "
	"rm removes a file or tree, exists prints true (exit 0) or false (exit 1).",
	NULL,
};
