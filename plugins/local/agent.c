/* Gateway mode: one csdk-agent per sandbox, reached on STATE/sandboxes/ID/run/agent.sock. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "local.h"

#define STOP_WAIT_MS 6000

static int sock_addr(const struct localp_sandbox *sb, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	return snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s/agent.sock", sb->dir, LOCALP_RUN_DIR) <
			       (int)sizeof(sa->sun_path) ? 0 : -1;
}

static int agent_listens(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	ok = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return ok;
}

static int write_token(int rdfd)
{
	struct stat st;
	char token[33];
	int fd, ok;

	if (faccessat(rdfd, "token", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (csdkc_random_hex(token, 16))
		return -1;
	token[32] = '\n';
	fd = openat(rdfd, "token", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	/* run/ belongs to the sandbox user when commands run as sandbox_uid: so must the token its agent reads */
	if (geteuid() == 0 && fstat(rdfd, &st) == 0 && st.st_uid != 0 && fchown(fd, st.st_uid, st.st_gid) < 0) {
		close(fd);
		return -1;
	}
	ok = write(fd, token, sizeof(token)) == (ssize_t)sizeof(token);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * Socket activation: the host binds and listens, so a client connects at
 * once and its request waits in the backlog while bwrap and the agent
 * start. The agent holds the only descriptor once the launch returns: if
 * it dies, its clients' connections close and the socket refuses.
 */
static int agent_socket(struct localp_local *ctx, const struct localp_sandbox *sb, const struct sockaddr_un *sa, int rdfd, int *out)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err;
	struct stat st;

	*out = -1;
	if (fd >= 0 && bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 &&
	    /* the agent's socket was the sandbox user's when it bound it itself */
	    (geteuid() != 0 || fstat(rdfd, &st) < 0 || st.st_uid == 0 ||
	     fchownat(rdfd, "agent.sock", st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) == 0) &&
	    listen(fd, 256) == 0 && (*out = fcntl(fd, F_DUPFD_CLOEXEC, LOCALP_AGENT_FD + 1)) >= 0) {
		close(fd);
		return 0;
	}
	err = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(rdfd, "agent.sock", 0);
	return ctx->host->error(ctx->host, CSDK_EIO, "cannot listen on %s for the agent of sandbox %s: %s; check that the state directory (state_dir) is writable, or use mode=direct",
				sa->sun_path, sb->id, strerror(err));
}

static int start_locked(struct localp_local *ctx, const struct localp_sandbox *sb, const struct sockaddr_un *sa, int rdfd)
{
	json_t *meta = NULL;
	const char *iso;
	int rc, bwrap, fd;

	unlinkat(rdfd, "agent.sock", 0);
	if (write_token(rdfd) < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot write the agent token in %s/%s: %s", sb->dir, LOCALP_RUN_DIR, strerror(errno));
	if ((rc = localp_meta_load(ctx, sb, &meta)))
		return rc;
	iso = localp_meta_str(meta, "isolation");
	bwrap = iso && !strcmp(iso, "bubblewrap");
	json_decref(meta);
	if ((rc = agent_socket(ctx, sb, sa, rdfd, &fd)))
		return rc;
	rc = localp_agent_launch(ctx, sb, bwrap, fd);
	close(fd);
	if (rc)
		unlinkat(rdfd, "agent.sock", 0);
	return rc;
}

/* Starts the sandbox's agent unless it listens already (a sandbox made in direct mode has none yet). */
int localp_agent_ensure(struct localp_local *ctx, const struct localp_sandbox *sb)
{
	struct sockaddr_un sa;
	int dfd, rdfd, rc = 0;

	if (sock_addr(sb, &sa))
		return ctx->host->error(ctx->host, CSDK_ECONFIG,
			"the agent socket %s/%s/agent.sock of sandbox %s is longer than %zu bytes; use a shorter state_dir (CSDK_LOCAL_STATE_DIR)",
			sb->dir, LOCALP_RUN_DIR, sb->id, sizeof(sa.sun_path) - 1);
	if (agent_listens(&sa))
		return 0;
	if (access(ctx->agent, X_OK) < 0)
		return ctx->host->error(ctx->host, CSDK_ECONFIG,
			"csdk-agent cannot be run from %s (%s); install csdk-agent or set agent (CSDK_LOCAL_AGENT) to its path",
			ctx->agent, strerror(errno));
	if ((dfd = open(sb->dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", sb->id);
	if (mkdirat(dfd, LOCALP_RUN_DIR, 0700) < 0 && errno != EEXIST)
		rc = errno;
	rdfd = openat(dfd, LOCALP_RUN_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (rdfd < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot open %s/%s: %s", sb->dir, LOCALP_RUN_DIR, strerror(rc ? rc : errno));
	while (flock(rdfd, LOCK_EX) < 0 && errno == EINTR)
		;
	if (!agent_listens(&sa))
		rc = start_locked(ctx, sb, &sa, rdfd);
	else
		rc = 0;
	close(rdfd);
	return rc;
}

int localp_m_gateway_endpoint(void *vctx, void *sandbox, struct csdk_endpoint *out)
{
	struct localp_local *ctx = vctx;
	struct localp_sandbox *sb = sandbox;
	char path[4200], token[64], url[4300];
	ssize_t n;
	int rc, fd;

	/*
	 * Each probe costs the agent a thread, created before the one of the
	 * request; right after create (the TTI path) the agent is known to listen.
	 */
	if (!__atomic_exchange_n(&sb->agent_fresh, 0, __ATOMIC_RELAXED) && (rc = localp_agent_ensure(ctx, sb)))
		return rc;
	snprintf(path, sizeof(path), "%s/%s/token", sb->dir, LOCALP_RUN_DIR);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", sb->id);
	n = read(fd, token, sizeof(token) - 1);
	close(fd);
	token[n > 0 ? n : 0] = '\0';
	token[strcspn(token, "\n")] = '\0';
	snprintf(url, sizeof(url), "unix:%s/%s/agent.sock", sb->dir, LOCALP_RUN_DIR);
	return ctx->host->endpoint_set(out, url, token);
}

/* The agent's children, orphans it adopted as a subreaper included, with their process groups. */
static void kill_children(long pid)
{
	char path[128];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	if (!(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		char buf[4096];
		FILE *f;
		long child;

		if (de->d_name[0] == '.')
			continue;
		snprintf(buf, sizeof(buf), "/proc/%ld/task/%s/children", pid, de->d_name);
		if (!(f = fopen(buf, "re")))
			continue;
		while (fscanf(f, "%ld", &child) == 1) {
			pid_t pg = getpgid((pid_t)child);

			if (pg > 1 && pg != getpgrp())
				kill(-pg, SIGKILL);
			kill((pid_t)child, SIGKILL);
		}
		fclose(f);
	}
	closedir(d);
}

/*
 * Unisolated, the agent's commands are process groups of their own that
 * destroy has no record of: they are killed, then SIGTERM ends the agent.
 * Under bubblewrap killing the pid namespace does it.
 */
void localp_agent_stop(int sdfd, const char *dir)
{
	char buf[64], cmdline[8192], want[4300];
	int fd, pidfd;
	ssize_t n;
	long pid;

	snprintf(buf, sizeof(buf), "%s/agent.pid", LOCALP_RUN_DIR);
	if ((fd = openat(sdfd, buf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if ((pid = strtol(buf, NULL, 10)) <= 1 || (pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0)) < 0)
		return;
	/* A pid of the sandbox's own namespace, or reused: only the agent serving this sandbox's socket. */
	snprintf(buf, sizeof(buf), "/proc/%ld/cmdline", pid);
	n = (fd = open(buf, O_RDONLY | O_CLOEXEC)) < 0 ? 0 : read(fd, cmdline, sizeof(cmdline));
	if (fd >= 0)
		close(fd);
	snprintf(want, sizeof(want), "unix:%s/%s/agent.sock", dir, LOCALP_RUN_DIR);
	if (n > 0 && memmem(cmdline, (size_t)n, want, strlen(want) + 1) &&
	    (kill_children(pid), syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) == 0))
		poll(&(struct pollfd){ pidfd, POLLIN, 0 }, 1, STOP_WAIT_MS);
	close(pidfd);
}
