/*
 * The bwrap-isolated baseline's network: what plugins/local/net.c does for
 * a foreground command of a sandbox with network=isolated, step for step
 * (its bookkeeping in procs/ apart). bwrap waits on --block-fd while this
 * adds the unreachable routes in the namespace (lib/util/netroute.c) and
 * starts slirp4netns (lib/util/slirp.c), the provider's code for both; once
 * slirp4netns is ready, a byte on the block pipe lets bwrap run the command.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csdk/common.h>

#include "bench/bench.h"
#include "netroute.h"
#include "slirp.h"

void tool_bench_netiso_init(struct tool_bench_netiso *n)
{
	memset(n, 0, sizeof(*n));
	n->block[0] = n->block[1] = n->sync[0] = n->sync[1] = -1;
}

int tool_bench_netiso_open(struct tool_bench_netiso *n)
{
	return csdku_high_pipe(n->block, 1) < 0 || csdku_high_pipe(n->sync, 0) < 0 ? -1 : 0;
}

/* The routes, from a forked child that joins the namespace; -1 (said in err) when it failed. */
static int add_routes(const int ns[2], char *err, size_t len)
{
	const char *why;
	int rc = csdku_routes_add(&why, ns[0], ns[1]);

	if (rc == CSDK_EUNSUPPORTED)
		snprintf(err, len, "this machine has more than %d IPv4 addresses to block", CSDKU_ROUTES_MAX - 2);
	else if (rc == CSDK_EIO)
		snprintf(err, len, "cannot fork: %s", strerror(errno));
	else if (rc)
		snprintf(err, len, "cannot add its routes: %s", why);
	return rc ? -1 : 0;
}

/* Starts slirp4netns as the provider starts a foreground command's (a
 * child of this process, no API socket) and waits until it has configured tap0. */
static int start_slirp(struct tool_bench_netiso *n, const struct tool_bench_netiso_how *how, const int ns[2], char *err,
		       size_t len)
{
	struct csdku_slirp_argv argv;
	struct csdku_slirp_child c = { argv.v, { ns[0], ns[1], n->sync[0], -1, -1 }, -1, "csdk bench", how->drop, how->uid, how->gid };
	char reason[1024];
	int ready[2] = { -1, -1 }, rc = -1;

	csdku_slirp_argv(&argv, how->slirp, NULL);
	c.log = csdku_high_fd(open(how->log, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
	if (c.log < 0 || csdku_high_pipe(ready, 0) < 0) {
		snprintf(err, len, "cannot start slirp4netns: %s", strerror(errno));
		goto out;
	}
	c.fds[3] = ready[1];
	if ((n->slirp = fork()) == 0)
		csdku_slirp_child(&c);
	if (n->slirp < 0) {
		n->slirp = 0;
		snprintf(err, len, "cannot fork for slirp4netns: %s", strerror(errno));
		goto out;
	}
	close(ready[1]);
	ready[1] = -1;
	if (csdku_slirp_wait_ready(ready[0]) < 0) {
		kill(-n->slirp, SIGKILL);
		kill(n->slirp, SIGKILL);
		while (waitpid(n->slirp, NULL, 0) < 0 && errno == EINTR)
			;
		n->slirp = 0;
		/* its log's first line: slirp4netns's own, or the child's ("csdk bench: cannot ...") */
		csdku_slirp_reason(reason, sizeof(reason), c.log);
		snprintf(err, len, "slirp4netns did not set up the namespace: %s", reason);
		goto out;
	}
	rc = 0;
out:
	csdku_close_pair(ready);
	if (c.log >= 0)
		close(c.log);
	return rc;
}

int tool_bench_netiso_start(struct tool_bench_netiso *n, const struct tool_bench_netiso_how *how, pid_t nspid,
			    char *err, size_t len)
{
	char path[64];
	int ns[2], rc = -1;

	/* the child's copies: bwrap's, and the pipe's read end slirp4netns gets a copy of */
	close(n->block[0]);
	close(n->sync[1]);
	n->block[0] = n->sync[1] = -1;
	if (csdku_netns_open(ns, path, nspid) < 0) {
		snprintf(err, len, "cannot open the network namespace (%s): %s", path, strerror(errno));
		return -1;
	}
	if (add_routes(ns, err, len) < 0 || start_slirp(n, how, ns, err, len) < 0)
		goto out;
	/* the command may run now: its network is up */
	if (send(n->block[1], "1", 1, MSG_NOSIGNAL) != 1)
		snprintf(err, len, "cannot start the command: bubblewrap is gone");
	else
		rc = 0;
out:
	close(ns[0]);
	close(ns[1]);
	return rc;
}

void tool_bench_netiso_end(struct tool_bench_netiso *n)
{
	/* as the provider after a foreground command: slirp4netns ends now, not only with the namespace */
	if (n->slirp > 0) {
		kill(-n->slirp, SIGKILL);
		kill(n->slirp, SIGKILL);
		while (waitpid(n->slirp, NULL, 0) < 0 && errno == EINTR)
			;
		n->slirp = 0;
	}
	csdku_close_pair(n->block);
	csdku_close_pair(n->sync);
}
