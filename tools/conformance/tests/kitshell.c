/*
 * A provider with commands only: run_command runs /bin/sh -c in a
 * directory of its own, and the plugin declares CSDK_CAP_FS_OVER_COMMANDS,
 * so the host serves its filesystem through those commands. With
 * KITSHELL_ECHO set, run_command only echoes the command, as a minimal
 * plugin might: the host's filesystem must then be reported as not working.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csdk/plugin.h>

#include "kitdir.h"

static const struct csdk_host *host;

static int ks_init(const struct csdk_host *h, const struct csdk_config *config, void **ctx_out)
{
	host = h;
	kitdir_host = h;
	*ctx_out = NULL;
	return 0;
}

static void ks_release(void *ctx, void *sandbox)
{
	free(sandbox);
}

static int ks_create(void *ctx, const struct csdk_create_request *req, struct csdk_text *id_out, void **sandbox_out)
{
	char *dir;
	int rc = kitdir_create(host, "kitshell", &dir);

	if (rc)
		return rc;
	*sandbox_out = dir;
	return host->text_set(id_out, strrchr(dir, '/') + 1);
}

static int ks_get(void *ctx, const char *id, void **sandbox_out)
{
	return kitdir_get("kitshell", id, sandbox_out);
}

static int ks_list(void *ctx, struct csdk_handles *out)
{
	return kitdir_list(host, "kitshell", out);
}

static int ks_destroy(void *ctx, const char *id)
{
	return kitdir_destroy(host, "kitshell", id);
}

static int pump(int out_fd, int err_fd, struct csdk_sink *sink)
{
	struct pollfd fds[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
	int open_fds = 2;
	char buf[65536];

	while (open_fds) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return CSDK_EIO;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(fds[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				fds[i].fd = -1;
				open_fds--;
			} else if (host->sink_write(sink, i ? CSDK_STREAM_STDERR : CSDK_STREAM_STDOUT, buf, (size_t)n)) {
				return CSDK_ECANCELLED;
			}
		}
	}
	return 0;
}

static int ks_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *req,
			  struct csdk_sink *out, int *exit_code_out)
{
	int po[2], pe[2], status, rc;
	pid_t pid;

	if (getenv("KITSHELL_ECHO")) {
		*exit_code_out = 0;
		return host->sink_write(out, CSDK_STREAM_STDOUT, command, strlen(command));
	}
	if (pipe(po) || pipe(pe))
		return host->error(host, CSDK_EIO, "pipe: %s", strerror(errno));
	if ((pid = fork()) == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		if (chdir(req->cwd ? req->cwd : sandbox) < 0)
			_exit(126);
		for (size_t i = 0; i < req->n_envs; i++)
			setenv(req->envs[i].key, req->envs[i].value, 1);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	rc = pid < 0 ? CSDK_EIO : pump(po[0], pe[0], out);
	close(po[0]);
	close(pe[0]);
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		*exit_code_out = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return rc;
}

static int ks_run_code(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req,
		       struct csdk_sink *out, int *exit_code_out)
{
	return host->error(host, CSDK_EUNSUPPORTED, "kitshell runs commands only");
}

static const struct csdk_methods methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = ks_init,
	.release = ks_release,
	.create = ks_create,
	.get = ks_get,
	.list = ks_list,
	.destroy = ks_destroy,
	.run_code = ks_run_code,
	.run_command = ks_run_command,
	.get_info = kitdir_get_info,
	.get_url = kitdir_get_url,
};

static const struct csdk_plugin descriptor = {
	.magic = CSDK_PLUGIN_MAGIC,
	.struct_size = sizeof(struct csdk_plugin),
	.abi_version = CSDK_ABI_VERSION,
	.modes = CSDK_MODE_DIRECT,
	.default_mode = CSDK_MODE_DIRECT,
	.capabilities = CSDK_CAP_FS_OVER_COMMANDS,
	.name = "kitshell",
	.version = "1.0.0",
	.description = "Commands in a directory, the filesystem served by the host",
	.license = "MIT",
	.methods = &methods,
};

CSDK_PLUGIN_EXPORT int csdk_plugin_entry(uint32_t host_abi, const struct csdk_plugin **out)
{
	if (CSDK_ABI_MAJOR_OF(host_abi) != CSDK_ABI_MAJOR)
		return CSDK_EABI;
	*out = &descriptor;
	return 0;
}
