/*
 * A plugin that hands the host garbage: missing and NULL strings, invalid
 * UTF-8, impossible sizes, status codes outside the ABI and exit codes
 * outside 0..255. What it does is steered by the create name (it declares
 * CSDK_CAP_NAMED, so that names reach it), the command,
 * the code, the sandbox id, the port and the path. Where the garbage goes
 * into a host builder, the builder's return codes are written to stdout as
 * "rc=A B C" so that a test can check them.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hostile.h"

#define H hostile_host

static int garbage_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	const char *name = opts->name ? opts->name : "";

	(void)ctx;
	if (!strcmp(name, "null-id"))
		return 0;
	if (!strcmp(name, "empty-id"))
		return H->text_set(id_out, "") ? CSDK_ERROR : 0;
	if (!strcmp(name, "text-set-null"))
		return H->text_set(id_out, NULL);
	if (!strcmp(name, "badutf8-id"))
		return hostile_make("sb-\xff\xfe-bad", id_out, sandbox_out);
	if (!strcmp(name, "status-positive"))
		return 7;
	if (!strcmp(name, "status-low"))
		return -99;
	if (!strcmp(name, "error-positive"))
		return H->error(H, 5, "create refused with a positive code");
	if (!strcmp(name, "error-badutf8"))
		return H->error(H, CSDK_EBACKEND, "backend said \xff\xfe in create");
	if (!strcmp(name, "error-mismatch")) {
		H->error(H, CSDK_EINVAL, "message recorded for EINVAL");
		return CSDK_EIO;
	}
	if (!strcmp(name, "error-nocode"))
		return CSDK_EBACKEND;
	return hostile_make(opts->name ? opts->name : "sb-ok", id_out, sandbox_out);
}

static int garbage_list(void *ctx, struct csdk_handles *out)
{
	void *a, *b;
	int rc_null, rc_empty;

	(void)ctx;
	rc_null = H->handles_add(out, NULL, NULL);
	rc_empty = H->handles_add(out, "", NULL);
	if (rc_null != CSDK_EINVAL || rc_empty != CSDK_EINVAL)
		return H->error(H, CSDK_EBACKEND, "handles_add accepted a missing id (rc=%d %d)", rc_null, rc_empty);
	if (!(a = hostile_native("sb-ok")) || !(b = hostile_native("sb-\xff")))
		return H->error(H, CSDK_ENOMEM, "out of memory in list");
	H->handles_add(out, "sb-ok", a);
	H->handles_add(out, "sb-\xff", b);
	return 0;
}

static int report(struct csdk_sink *out, int a, int b, int c)
{
	char line[64];

	snprintf(line, sizeof(line), "rc=%d %d %d\n", a, b, c);
	return hostile_say(out, line);
}

static int garbage_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *opts, struct csdk_sink *out, int *exit_code_out)
{
	(void)ctx;
	(void)sandbox;
	(void)opts;
	if (!strcmp(command, "no-exit"))
		return 0;
	*exit_code_out = 0;
	if (!strcmp(command, "exit-minus1"))
		*exit_code_out = -1;
	else if (!strcmp(command, "exit-300"))
		*exit_code_out = 300;
	else if (!strcmp(command, "status-positive"))
		return 1;
	else if (!strcmp(command, "status-low"))
		return CSDK_ERROR_MIN - 1;
	else if (!strcmp(command, "error-nocode"))
		return CSDK_EBACKEND;
	else if (!strcmp(command, "sink-null-huge"))
		return report(out, H->sink_write(out, CSDK_STREAM_STDOUT, NULL, SIZE_MAX),
			      H->sink_write(out, CSDK_STREAM_STDERR, NULL, 1), H->sink_write(out, CSDK_STREAM_STDOUT, NULL, 0));
	else if (!strcmp(command, "sink-huge"))
		return report(out, H->sink_write(out, CSDK_STREAM_STDOUT, "x", SIZE_MAX),
			      H->sink_write(out, CSDK_STREAM_STDOUT, "x", SIZE_MAX - 1),
			      H->sink_write(out, CSDK_STREAM_STDOUT, "x", (size_t)1 << (sizeof(size_t) * 8 - 2)));
	else if (!strcmp(command, "sink-badstream"))
		return report(out, H->sink_write(out, (enum csdk_stream)0, "x", 1),
			      H->sink_write(out, (enum csdk_stream)3, "x", 1), H->sink_write(NULL, CSDK_STREAM_STDOUT, "x", 1));
	else if (!strcmp(command, "badutf8-out"))
		return H->sink_write(out, CSDK_STREAM_STDOUT, "\xff\xfe\0z\xc3", 5) ? CSDK_EBACKEND :
		       H->sink_write(out, CSDK_STREAM_STDERR, "\xc0\x80", 2);
	return hostile_say(out, "ok\n");
}

static int garbage_run_code(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req, struct csdk_sink *out, int *exit_code_out)
{
	if (!strcmp(code, "exit-300")) {
		*exit_code_out = 300;
		return 0;
	}
	if (!strcmp(code, "status-positive"))
		return 2;
	return hostile_run_code(ctx, sandbox, code, req, out, exit_code_out);
}

static int garbage_get_info(void *ctx, void *sandbox, struct csdk_info *out)
{
	const char *id = hostile_id(sandbox);
	int a, b, c;

	(void)ctx;
	if (!strcmp(id, "info-noid"))
		return 0;
	if (!strcmp(id, "info-badstatus")) {
		a = H->info_set_status(out, (enum csdk_status)99);
		b = H->info_set_status(out, (enum csdk_status)0);
		c = H->info_set_times(out, -1, 0);
		if (a == CSDK_EINVAL && b == CSDK_EINVAL && c == CSDK_EINVAL && H->info_set_times(out, 0, -1) == CSDK_EINVAL)
			return CSDK_EINVAL;
		return H->error(H, CSDK_EBACKEND, "info builders accepted garbage (rc=%d %d %d)", a, b, c);
	}
	if (!strcmp(id, "info-nullmeta"))
		return H->info_add_metadata(out, "key", NULL);
	if (!strcmp(id, "info-badutf8")) {
		if ((a = H->info_set_id(out, "sb-\xff")) || (a = H->info_add_metadata(out, "k\xff", "v\xfe")))
			return a;
		return 0;
	}
	return hostile_get_info(ctx, sandbox, out);
}

static int garbage_get_url(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out)
{
	if (port == 1)
		return 0;
	if (port == 2)
		return H->text_set(out, NULL);
	if (port == 3)
		return H->text_set(out, "http://\xff\xfe/");
	return hostile_get_url(ctx, sandbox, port, protocol, out);
}

static int garbage_fs_read(void *ctx, void *sandbox, const char *path, struct csdk_sink *out)
{
	(void)ctx;
	(void)sandbox;
	if (!strcmp(path, "/null-huge"))
		return H->sink_write(out, CSDK_STREAM_STDOUT, NULL, SIZE_MAX);
	return hostile_say(out, "data");
}

static int garbage_fs_write(void *ctx, void *sandbox, const char *path, const void *data, size_t len)
{
	(void)ctx;
	(void)sandbox;
	(void)path;
	(void)data;
	(void)len;
	return 0;
}

static int garbage_fs_path(void *ctx, void *sandbox, const char *path)
{
	(void)ctx;
	(void)sandbox;
	(void)path;
	return 0;
}

static int garbage_fs_readdir(void *ctx, void *sandbox, const char *path, struct csdk_dir *out)
{
	(void)ctx;
	(void)sandbox;
	if (!strcmp(path, "/huge")) {
		int rc = H->dir_add(out, "big", CSDK_ENTRY_FILE, UINT64_MAX, INT64_MAX);
		return rc ? rc : H->dir_add(out, "\xff\xfe", CSDK_ENTRY_OTHER, 0, INT64_MIN);
	}
	if (!strcmp(path, "/nullname"))
		return H->dir_add(out, NULL, CSDK_ENTRY_FILE, 0, 0);
	if (!strcmp(path, "/slash"))
		return H->dir_add(out, "a/b", CSDK_ENTRY_FILE, 0, 0);
	if (!strcmp(path, "/badtype"))
		return H->dir_add(out, "x", (enum csdk_entry_type)9, 0, 0);
	return 0;
}

static int garbage_fs_exists(void *ctx, void *sandbox, const char *path, int *exists_out)
{
	(void)ctx;
	(void)sandbox;
	(void)path;
	*exists_out = 42;
	return 0;
}

static int garbage_find(void *ctx, const char *namespace_, const char *name, struct csdk_text *id_out, void **sandbox_out)
{
	(void)ctx;
	(void)namespace_;
	(void)name;
	(void)id_out;
	(void)sandbox_out;
	return CSDK_ENOTFOUND;
}

static int garbage_extend_timeout(void *ctx, void *sandbox, int64_t duration_ms)
{
	(void)ctx;
	(void)sandbox;
	(void)duration_ms;
	return 0;
}

static const struct csdk_methods garbage_methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = hostile_init,
	.teardown = hostile_teardown,
	.release = hostile_release,
	.create = garbage_create,
	.get = hostile_get,
	.list = garbage_list,
	.destroy = hostile_destroy,
	.run_code = garbage_run_code,
	.run_command = garbage_run_command,
	.get_info = garbage_get_info,
	.get_url = garbage_get_url,
	.fs_read = garbage_fs_read,
	.fs_write = garbage_fs_write,
	.fs_mkdir = garbage_fs_path,
	.fs_readdir = garbage_fs_readdir,
	.fs_exists = garbage_fs_exists,
	.fs_remove = garbage_fs_path,
	.find_or_create = garbage_create,
	.find = garbage_find,
	.extend_timeout = garbage_extend_timeout,
};

HOSTILE_DESCRIPTOR(CSDK_CAP_FILESYSTEM | CSDK_CAP_EXEC | CSDK_CAP_NAMED, NULL, 0, &garbage_methods)
