#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kitdir.h"

static char *dir_of(const char *id)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL;

	if (asprintf(&dir, "%s/%s", tmp && *tmp ? tmp : "/tmp", id) < 0)
		return NULL;
	return dir;
}

static int owned(const char *prefix, const char *id)
{
	size_t n = strlen(prefix);

	return !strncmp(id, prefix, n) && id[n] == '-' && !strchr(id, '/') && !strchr(id, '\'');
}

int kitdir_file(char *buf, size_t size, const char *dir, const char *name)
{
	return (size_t)snprintf(buf, size, "%s/%s", dir, name) < size ? 0 : -1;
}

int kitdir_create(const struct csdk_host *host, const char *prefix, char **dir_out)
{
	char id[64], *dir;

	snprintf(id, sizeof(id), "%s-%ld-XXXXXX", prefix, (long)getpid());
	if (!(dir = dir_of(id)) || !mkdtemp(dir)) {
		free(dir);
		return host->error(host, CSDK_EIO, "cannot make a sandbox directory: %s", strerror(errno));
	}
	*dir_out = dir;
	return 0;
}

int kitdir_get(const char *prefix, const char *id, void **sandbox_out)
{
	char *dir = dir_of(id);
	struct stat st;

	if (!dir)
		return CSDK_ENOMEM;
	if (!owned(prefix, id) || stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		free(dir);
		return CSDK_ENOTFOUND;
	}
	*sandbox_out = dir;
	return 0;
}

int kitdir_list(const struct csdk_host *host, const char *prefix, struct csdk_handles *out)
{
	const char *tmp = getenv("TMPDIR");
	struct dirent *de;
	DIR *d = opendir(tmp && *tmp ? tmp : "/tmp");
	int rc = 0;

	while (d && rc == 0 && (de = readdir(d))) {
		void *sb = NULL;

		if (!owned(prefix, de->d_name) || kitdir_get(prefix, de->d_name, &sb))
			continue;
		if ((rc = host->handles_add(out, de->d_name, sb)))
			free(sb);
	}
	if (d)
		closedir(d);
	return rc;
}

int kitdir_destroy(const struct csdk_host *host, const char *prefix, const char *id)
{
	char *dir = NULL, *cmd = NULL;
	int rc = 0;

	if (!owned(prefix, id) || !(dir = dir_of(id)))
		return 0;
	if (asprintf(&cmd, "rm -rf '%s'", dir) >= 0)
		rc = system(cmd) == 0 ? 0 : host->error(host, CSDK_EIO, "cannot remove %s", dir);
	free(cmd);
	free(dir);
	return rc;
}

const struct csdk_host *kitdir_host;

int kitdir_get_info(void *ctx, void *sandbox, struct csdk_info *out)
{
	return kitdir_host->info_set_status(out, CSDK_STATUS_RUNNING);
}

int kitdir_get_url(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out)
{
	char url[96];

	snprintf(url, sizeof(url), "%s://127.0.0.1:%d", protocol ? protocol : "http", port);
	return kitdir_host->text_set(out, url);
}
