/*
 * A provider in gateway mode only: each sandbox is a directory with a
 * csdk-agent serving it on a unix socket, and the host routes commands,
 * code and files to that agent. The agent binary is $CSDK_AGENT, else
 * csdk-agent on PATH.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <csdk/plugin.h>

#include "kitdir.h"

static const struct csdk_host *host;

static int ka_init(const struct csdk_host *h, const struct csdk_config *config, void **ctx_out)
{
	host = h;
	kitdir_host = h;
	*ctx_out = NULL;
	return 0;
}

static void ka_release(void *ctx, void *sandbox)
{
	free(sandbox);
}

/* Start the agent as a daemon of its own, so it outlives this process like a real sandbox. */
static int start_agent(const char *dir)
{
	const char *agent = getenv("CSDK_AGENT");
	char sock[4200], token[4200], listen_arg[4300], pidfile[4200];
	pid_t pid;
	int status;

	if (kitdir_file(sock, sizeof(sock), dir, "agent.sock") || kitdir_file(token, sizeof(token), dir, "token") ||
	    kitdir_file(pidfile, sizeof(pidfile), dir, "agent.pid"))
		return CSDK_EINVAL;
	snprintf(listen_arg, sizeof(listen_arg), "unix:%s", sock);
	if ((pid = fork()) < 0)
		return CSDK_EIO;
	if (pid == 0) {
		int fd;

		setsid();
		if (fork() != 0)
			_exit(0);
		fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if ((fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0) {
			dprintf(fd, "%ld\n", (long)getpid());
			close(fd);
		}
		/* the directory is the sandbox's home: login shells (the e2b SDK's) read no profile of the caller's */
		setenv("HOME", dir, 1);
		execlp(agent && *agent ? agent : "csdk-agent", "csdk-agent", "--listen", listen_arg, "--token-file", token,
		       "--workdir", dir, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	/* 30 s: a sanitizer build's agent on a loaded machine starts slowly */
	for (int i = 0; i < 3000; i++) {
		struct stat st;
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		nanosleep(&ts, NULL);
	}
	return host->error(host, CSDK_EBACKEND, "csdk-agent did not listen on %s within 30 s; set CSDK_AGENT to the agent binary", sock);
}

static int ka_create(void *ctx, const struct csdk_create_request *req, struct csdk_text *id_out, void **sandbox_out)
{
	char tokenfile[4200], *dir;
	FILE *fp;
	int rc;

	if ((rc = kitdir_create(host, "kitagent", &dir)))
		return rc;
	kitdir_file(tokenfile, sizeof(tokenfile), dir, "token");
	if (!(fp = fopen(tokenfile, "w")) || fprintf(fp, "tok-%s", strrchr(dir, '-') + 1) < 0 || fclose(fp)) {
		free(dir);
		return host->error(host, CSDK_EIO, "cannot write the agent's token");
	}
	chmod(tokenfile, 0600);
	if ((rc = start_agent(dir))) {
		free(dir);
		return rc;
	}
	*sandbox_out = dir;
	return host->text_set(id_out, strrchr(dir, '/') + 1);
}

static int ka_get(void *ctx, const char *id, void **sandbox_out)
{
	return kitdir_get("kitagent", id, sandbox_out);
}

static int ka_list(void *ctx, struct csdk_handles *out)
{
	return kitdir_list(host, "kitagent", out);
}

static int ka_destroy(void *ctx, const char *id)
{
	char pidfile[4200];
	void *dir = NULL;
	FILE *fp;
	long pid = 0;

	if (kitdir_get("kitagent", id, &dir) == 0) {
		kitdir_file(pidfile, sizeof(pidfile), dir, "agent.pid");
		if ((fp = fopen(pidfile, "r"))) {
			if (fscanf(fp, "%ld", &pid) == 1 && pid > 1)
				kill((pid_t)pid, SIGKILL);
			fclose(fp);
		}
		free(dir);
	}
	return kitdir_destroy(host, "kitagent", id);
}

static int ka_gateway_endpoint(void *ctx, void *sandbox, struct csdk_endpoint *out)
{
	char url[4300], tokenfile[4200], token[128] = "";
	FILE *fp;

	snprintf(url, sizeof(url), "unix:%s/agent.sock", (const char *)sandbox);
	kitdir_file(tokenfile, sizeof(tokenfile), sandbox, "token");
	if (!(fp = fopen(tokenfile, "r")) || !fgets(token, sizeof(token), fp)) {
		if (fp)
			fclose(fp);
		return host->error(host, CSDK_ENOTFOUND, "sandbox %s has no agent token; it was destroyed", (const char *)sandbox);
	}
	fclose(fp);
	return host->endpoint_set(out, url, token);
}

static const struct csdk_methods methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = ka_init,
	.release = ka_release,
	.create = ka_create,
	.get = ka_get,
	.list = ka_list,
	.destroy = ka_destroy,
	.get_info = kitdir_get_info,
	.get_url = kitdir_get_url,
	.gateway_endpoint = ka_gateway_endpoint,
};

static const struct csdk_plugin descriptor = {
	.magic = CSDK_PLUGIN_MAGIC,
	.struct_size = sizeof(struct csdk_plugin),
	.abi_version = CSDK_ABI_VERSION,
	.modes = CSDK_MODE_GATEWAY,
	.default_mode = CSDK_MODE_GATEWAY,
	.capabilities = 0,
	.name = "kitagent",
	.version = "1.0.0",
	.description = "A directory with csdk-agent in it, reached in gateway mode",
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
