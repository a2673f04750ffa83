#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "builders.h"
#include "error.h"
#include "fs_shell.h"
#include "gateway.h"
#include "provider.h"

#define GATEWAY(sb) ((sb)->provider->mode == CSDK_MODE_GATEWAY)

/* The sandbox's agent, the plugin's own method, or the host's implementation over its commands. */
#define FS_CALL(sb, name, ...) \
	(GATEWAY(sb) ? csdkp_gateway_##name((sb), __VA_ARGS__) \
	 : (sb)->provider->plugin->capabilities & CSDK_CAP_FILESYSTEM \
		 ? (sb)->provider->m->name((sb)->provider->ctx, (sb)->native, __VA_ARGS__) \
		 : csdkp_shell_##name((sb)->provider, (sb)->native, __VA_ARGS__))

static int fs_begin(csdk_sandbox *sb, const char *path, const char *fn)
{
	if (!sb)
		return csdkp_error_set(CSDK_EINVAL, NULL, "%s: sandbox is NULL", fn);
	if (!GATEWAY(sb) && !(sb->provider->plugin->capabilities & (CSDK_CAP_FILESYSTEM | CSDK_CAP_FS_OVER_COMMANDS)))
		return csdkp_unsupported_fs(sb->provider);
	if (!path || !*path)
		return csdkp_error_set(CSDK_EINVAL, sb->provider->name, "no path given; pass a file path inside the sandbox");
	if (strlen(path) > 4096)
		return csdkp_error_set(CSDK_EINVAL, sb->provider->name, "path is %zu bytes long; the limit is 4096", strlen(path));
	/* The agent is called without the plugin's lock: only its endpoint comes from the plugin. */
	if (GATEWAY(sb))
		csdk_error_clear();
	else
		csdkp_provider_enter(sb->provider, fn + 5);
	return 0;
}

static int fs_end(csdk_sandbox *sb, const char *method, int rc)
{
	if (GATEWAY(sb))
		return rc;
	csdkp_provider_leave(sb->provider);
	return csdkp_provider_result(sb->provider, method, rc);
}

int csdk_fs_read(char **out, size_t *len_out, csdk_sandbox *sb, const char *path)
{
	struct csdk_sink sink;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_fs_read: out is NULL");
	*out = NULL;
	if (len_out)
		*len_out = 0;
	if ((rc = fs_begin(sb, path, "csdk_fs_read")))
		return rc;
	memset(&sink, 0, sizeof(sink));
	rc = FS_CALL(sb, fs_read, path, &sink);
	if ((rc = fs_end(sb, "fs_read", rc)) == 0) {
		if (!(*out = csdkp_buf_take(&sink.out, len_out)))
			rc = csdkp_error_oom();
	}
	csdkp_sink_clear(&sink);
	return rc;
}

int csdk_fs_write(csdk_sandbox *sb, const char *path, const void *data, size_t len)
{
	int rc;

	if (!data && len)
		return csdkp_error_set(CSDK_EINVAL, sb ? sb->provider->name : NULL, "csdk_fs_write: data is NULL with length %zu", len);
	if ((rc = fs_begin(sb, path, "csdk_fs_write")))
		return rc;
	rc = FS_CALL(sb, fs_write, path, data ? data : "", len);
	return fs_end(sb, "fs_write", rc);
}

int csdk_fs_mkdir(csdk_sandbox *sb, const char *path)
{
	int rc;

	if ((rc = fs_begin(sb, path, "csdk_fs_mkdir")))
		return rc;
	rc = FS_CALL(sb, fs_mkdir, path);
	return fs_end(sb, "fs_mkdir", rc);
}

int csdk_fs_exists(int *out, csdk_sandbox *sb, const char *path)
{
	int rc, exists = 0;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_fs_exists: out is NULL");
	*out = 0;
	if ((rc = fs_begin(sb, path, "csdk_fs_exists")))
		return rc;
	rc = FS_CALL(sb, fs_exists, path, &exists);
	if ((rc = fs_end(sb, "fs_exists", rc)) == 0)
		*out = exists != 0;
	return rc;
}

int csdk_fs_remove(csdk_sandbox *sb, const char *path)
{
	int rc;

	if ((rc = fs_begin(sb, path, "csdk_fs_remove")))
		return rc;
	rc = FS_CALL(sb, fs_remove, path);
	return fs_end(sb, "fs_remove", rc);
}

void csdk_dir_list_free(csdk_dir_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++)
		free(list->entries[i].name);
	free(list->entries);
	free(list);
}

int csdk_fs_readdir(csdk_dir_list **out, csdk_sandbox *sb, const char *path)
{
	struct csdk_dir *dir;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_fs_readdir: out is NULL");
	*out = NULL;
	if ((rc = fs_begin(sb, path, "csdk_fs_readdir")))
		return rc;
	if (!(dir = calloc(1, sizeof(*dir)))) {
		fs_end(sb, "fs_readdir", 0);
		return csdkp_error_oom();
	}
	rc = FS_CALL(sb, fs_readdir, path, dir);
	if ((rc = fs_end(sb, "fs_readdir", rc))) {
		csdk_dir_list_free(&dir->list);
		return rc;
	}
	*out = &dir->list;
	return 0;
}
