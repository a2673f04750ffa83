/*
 * Gateway mode: csdk-agent runs in each container, bind-mounted read-only
 * from this machine, and listens on a unix socket in run_dir/HEX, which is
 * bind-mounted at /run/csdk; commands and files then bypass the engine.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "csdkp.h"
#include "docker.h"

#define AGENT_WAIT_MS 10000

const char csdkp_docker_agent_start[] =
	CSDKP_DOCKER_INSIDE_AGENT " --listen unix:" CSDKP_DOCKER_INSIDE_RUN "/agent.sock --token-file "
	CSDKP_DOCKER_INSIDE_RUN "/token & ";

static int file_in(char *out, size_t len, const struct csdkp_docker *ctx, const char *hex, const char *name)
{
	return snprintf(out, len, "%s/%s%s%s", ctx->run_dir, hex, name ? "/" : "", name ? name : "") < (int)len ? 0 : -1;
}

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int csdkp_docker_agent_prepare(struct csdkp_docker *ctx, char *hex)
{
	char path[4200], token[33];
	int fd, ok;

	if (access(ctx->agent, X_OK) < 0)
		return ctx->host->error(ctx->host, CSDK_ECONFIG,
			"csdk-agent cannot be run from %s (%s); install csdk-agent or set agent (CSDK_DOCKER_AGENT) to its path",
			ctx->agent, strerror(errno));
	if (csdkp_random_hex(hex, 8) || csdkp_random_hex(token, 16) || file_in(path, sizeof(path), ctx, hex, "agent.sock"))
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot name the agent directory of a sandbox in %s", ctx->run_dir);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return ctx->host->error(ctx->host, CSDK_ECONFIG,
			"the agent socket %s is longer than %zu bytes; use a shorter run_dir (CSDK_DOCKER_RUN_DIR)",
			path, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	file_in(path, sizeof(path), ctx, hex, NULL);
	if (mkdirs(path) < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot create %s: %s; set run_dir (CSDK_DOCKER_RUN_DIR) to a writable directory",
					path, strerror(errno));
	file_in(path, sizeof(path), ctx, hex, "token");
	token[32] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	ok = fd >= 0 && write(fd, token, sizeof(token)) == (ssize_t)sizeof(token);
	if (fd >= 0)
		close(fd);
	if (!ok) {
		int e = errno;
		csdkp_docker_agent_forget(ctx, NULL, hex);
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

static int listens(const char *path)
{
	struct sockaddr_un sa;
	int fd, ok;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int csdkp_docker_agent_wait(struct csdkp_docker *ctx, const char *id, const char *hex)
{
	int64_t deadline = csdkp_now_ms() + AGENT_WAIT_MS;
	char path[4200];

	file_in(path, sizeof(path), ctx, hex, "agent.sock");
	while (!listens(path)) {
		if (csdkp_now_ms() > deadline)
			return ctx->host->error(ctx->host, CSDK_EBACKEND,
				"csdk-agent in container %s did not listen on %s within 10 s; see 'docker logs %s', and check agent (CSDK_DOCKER_AGENT)",
				id, path, id);
		nanosleep(&(struct timespec){ 0, 500000 }, NULL);
	}
	return 0;
}

const char *csdkp_docker_agent_dir_of(json_t *inspect)
{
	const char *hex = json_string_value(json_object_get(json_object_get(json_object_get(inspect, "Config"), "Labels"),
							    CSDKP_DOCKER_AGENT_LABEL));

	/* 16 hex digits only: it names a directory to remove */
	return hex && strlen(hex) == 16 && strspn(hex, "0123456789abcdef") == 16 ? hex : NULL;
}

void csdkp_docker_agent_forget(struct csdkp_docker *ctx, json_t *inspect, const char *hex)
{
	static const char *const files[] = { "agent.sock", "token" };
	char path[4200];

	if (!hex)
		hex = csdkp_docker_agent_dir_of(inspect);
	if (!hex || !hex[0])
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!file_in(path, sizeof(path), ctx, hex, files[i]))
			unlink(path);
	if (!file_in(path, sizeof(path), ctx, hex, NULL))
		rmdir(path);
}

int csdkp_m_gateway_endpoint(void *vctx, void *sandbox, struct csdk_endpoint *out)
{
	struct csdkp_docker *ctx = vctx;
	struct csdkp_docker_sandbox *sb = sandbox;
	char path[4200], url[4300], token[64];
	ssize_t n;
	int fd;

	if (!sb->agent_dir[0])
		return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED,
					"sandbox %s was created in direct mode and has no agent; create it with mode=gateway", sb->id);
	file_in(path, sizeof(path), ctx, sb->agent_dir, "token");
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND,
					"the agent token %s of sandbox %s is missing (%s); the sandbox was made with another run_dir or destroyed",
					path, sb->id, strerror(errno));
	n = read(fd, token, sizeof(token) - 1);
	close(fd);
	token[n > 0 ? n : 0] = '\0';
	token[strcspn(token, "\n")] = '\0';
	file_in(path, sizeof(path), ctx, sb->agent_dir, "agent.sock");
	snprintf(url, sizeof(url), "unix:%s", path);
	return ctx->host->endpoint_set(out, url, token);
}
