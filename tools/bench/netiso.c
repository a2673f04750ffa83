/*
 * The bwrap-isolated baseline's network: what plugins/local/net.c does for
 * a foreground command of a sandbox with network=isolated, step for step
 * (its bookkeeping in procs/ apart). bwrap waits on --block-fd while this
 * adds the unreachable routes in the namespace (lib/util/netroute.c, the
 * provider's code) and starts slirp4netns as the provider starts it; once
 * slirp4netns is ready, a byte on the block pipe lets bwrap run the command.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "netroute.h"

#define NET_WAIT_MS 5000
#define MAX_BLOCKED 1024
/* descriptors of the slirp4netns process, as net.c gives them */
#define SLIRP_NETNS_FD 3
#define SLIRP_USERNS_FD 4
#define SLIRP_EXIT_FD 5
#define SLIRP_READY_FD 6

/* Above the fixed numbers the children move descriptors to; a socket pair
 * when sock (written with MSG_NOSIGNAL). */
static int high_pipe(int p[2], int sock)
{
	int raw[2];

	if ((sock ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, raw) : pipe2(raw, O_CLOEXEC)) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		p[i] = fcntl(raw[i], F_DUPFD_CLOEXEC, 10);
		close(raw[i]);
	}
	return p[0] < 0 || p[1] < 0 ? -1 : 0;
}

static int high_fd(int fd)
{
	int h;

	if (fd < 0 || fd >= 10)
		return fd;
	h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return h;
}

void tool_bench_netiso_init(struct tool_bench_netiso *n)
{
	memset(n, 0, sizeof(*n));
	n->block[0] = n->block[1] = n->sync[0] = n->sync[1] = -1;
}

int tool_bench_netiso_open(struct tool_bench_netiso *n)
{
	return high_pipe(n->block, 1) < 0 || high_pipe(n->sync, 0) < 0 ? -1 : 0;
}

/* The routes, from a forked child that joins the namespace; -1 (said in err) when it failed. */
static int add_routes(int netfd, int userfd, char *err, size_t len)
{
	static const char *const steps[] = { "", "", "cannot join its user namespace", "cannot join its network namespace",
					     "no socket", "bubblewrap did not bring up its loopback", "no netlink socket",
					     "the kernel refused a route" };
	struct csdku_prefix p[MAX_BLOCKED];
	size_t np = csdku_blocked_prefixes(p, MAX_BLOCKED);
	int status = 0;
	pid_t pid;

	if (np > MAX_BLOCKED) {
		snprintf(err, len, "this machine has more than %d IPv4 addresses to block", MAX_BLOCKED - 2);
		return -1;
	}
	if ((pid = fork()) == 0)
		csdku_routes_child(netfd, geteuid() == 0 ? -1 : userfd, p, np, NET_WAIT_MS);
	if (pid < 0) {
		snprintf(err, len, "cannot fork: %s", strerror(errno));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	snprintf(err, len, "cannot add its routes: %s",
		 WIFEXITED(status) && WEXITSTATUS(status) <= CSDKU_ROUTES_REFUSED ? steps[WEXITSTATUS(status)] : "the helper died");
	return -1;
}

/* The slirp4netns process (async-signal-safe calls only), as net.c's
 * slirp_child: a session of its own, as root a /dev/net/tun of its own in a
 * private mount namespace and the sandbox's uid. */
static void slirp_child(const struct tool_bench_netiso_how *how, char *const *argv, const int fds[4], int log)
{
	static char *const env[] = { (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	int null = open("/dev/null", O_RDWR);

	setsid();
	dup2(null, 0);
	dup2(log, 1);
	dup2(log, 2);
	for (int i = 0; i < 4; i++)
		dup2(fds[i], SLIRP_NETNS_FD + i);
	syscall(SYS_close_range, SLIRP_READY_FD + 1, ~0U, 0);
	if (how->drop) {
		/* "none": a propagation change ignores the type, and valgrind wants a string */
		if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_SLAVE, NULL) < 0 ||
		    mount("csdk-tun", "/dev/net", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=4k,nr_inodes=4") < 0 ||
		    mknod("/dev/net/tun", S_IFCHR | 0600, makedev(10, 200)) < 0 || chown("/dev/net/tun", how->uid, how->gid) < 0)
			_exit(125);
		if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, how->gid, how->gid, how->gid) < 0 ||
		    syscall(SYS_setresuid, how->uid, how->uid, how->uid) < 0)
			_exit(126);
	}
	execve(argv[0], argv, env);
	_exit(127);
}

/* Waits for slirp4netns's ready byte: 0, or -1 when it exited or timed out. */
static int wait_ready(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;
	int r;

	while ((r = poll(&p, 1, NET_WAIT_MS)) < 0 && errno == EINTR)
		;
	return r == 1 && read(fd, &c, 1) == 1 ? 0 : -1;
}

/* Why slirp4netns did not get ready: its exit, or its first line other than a warning. */
static void slirp_reason(int log, int status, char *err, size_t len)
{
	char buf[2048], *line, *save = NULL;
	ssize_t n = pread(log, buf, sizeof(buf) - 1, 0);

	if (WIFEXITED(status) && WEXITSTATUS(status) >= 125)
		snprintf(err, len, "slirp4netns did not start (%s)", WEXITSTATUS(status) == 125 ? "cannot give it a /dev/net/tun" :
			 WEXITSTATUS(status) == 126 ? "cannot switch to the sandbox's uid" : "cannot execute it");
	else
		snprintf(err, len, "slirp4netns did not set up the namespace: it exited without a message");
	if (n <= 0 || (WIFEXITED(status) && WEXITSTATUS(status) >= 125))
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (*line && strncmp(line, "WARNING", 7)) {
			snprintf(err, len, "slirp4netns did not set up the namespace: %s", line);
			return;
		}
}

/* slirp4netns's command line, as net.c's slirp_argv without an API socket (a foreground command's). */
static void slirp_argv(const char *slirp, char *argv[13], char words[4][40])
{
	snprintf(words[0], 40, "--userns-path=/proc/self/fd/%d", SLIRP_USERNS_FD);
	snprintf(words[1], 40, "--exit-fd=%d", SLIRP_EXIT_FD);
	snprintf(words[2], 40, "--ready-fd=%d", SLIRP_READY_FD);
	snprintf(words[3], 40, "/proc/self/fd/%d", SLIRP_NETNS_FD);
	argv[0] = (char *)slirp;
	argv[1] = (char *)"--configure";
	argv[2] = (char *)"--mtu=65520";
	argv[3] = (char *)"--disable-host-loopback";
	argv[4] = (char *)"--disable-dns";
	argv[5] = (char *)"--enable-seccomp";
	argv[6] = (char *)"--netns-type=path";
	argv[7] = words[0];
	argv[8] = words[1];
	argv[9] = words[2];
	argv[10] = words[3];
	argv[11] = (char *)"tap0";
	argv[12] = NULL;
}

/* Starts slirp4netns, a child of this process, and waits until it has configured tap0. */
static int start_slirp(struct tool_bench_netiso *n, const struct tool_bench_netiso_how *how, int netfd, int userfd,
		       char *err, size_t len)
{
	char *argv[13], words[4][40];
	int ready[2] = { -1, -1 }, fds[4], log, status = 0, rc = -1;

	slirp_argv(how->slirp, argv, words);
	log = high_fd(open(how->log, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
	if (log < 0 || high_pipe(ready, 0) < 0) {
		snprintf(err, len, "cannot start slirp4netns: %s", strerror(errno));
		goto out;
	}
	fds[0] = netfd;
	fds[1] = userfd;
	fds[2] = n->sync[0];
	fds[3] = ready[1];
	if ((n->slirp = fork()) == 0)
		slirp_child(how, argv, fds, log);
	if (n->slirp < 0) {
		n->slirp = 0;
		snprintf(err, len, "cannot fork for slirp4netns: %s", strerror(errno));
		goto out;
	}
	close(ready[1]);
	ready[1] = -1;
	if (wait_ready(ready[0]) < 0) {
		kill(-n->slirp, SIGKILL);
		kill(n->slirp, SIGKILL);
		while (waitpid(n->slirp, &status, 0) < 0 && errno == EINTR)
			;
		n->slirp = 0;
		slirp_reason(log, status, err, len);
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < 2; i++)
		if (ready[i] >= 0)
			close(ready[i]);
	if (log >= 0)
		close(log);
	return rc;
}

int tool_bench_netiso_start(struct tool_bench_netiso *n, const struct tool_bench_netiso_how *how, pid_t nspid,
			    char *err, size_t len)
{
	char path[64];
	int netfd, userfd = -1, rc = -1;

	/* the child's copies: bwrap's, and the pipe's read end slirp4netns gets a copy of */
	close(n->block[0]);
	close(n->sync[1]);
	n->block[0] = n->sync[1] = -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)nspid);
	if ((netfd = high_fd(open(path, O_RDONLY | O_CLOEXEC))) < 0 || (userfd = high_fd(ioctl(netfd, NS_GET_USERNS))) < 0) {
		snprintf(err, len, "cannot open the network namespace (%s): %s", path, strerror(errno));
		goto out;
	}
	fcntl(userfd, F_SETFD, FD_CLOEXEC);
	if (add_routes(netfd, userfd, err, len) < 0 || start_slirp(n, how, netfd, userfd, err, len) < 0)
		goto out;
	/* the command may run now: its network is up */
	if (send(n->block[1], "1", 1, MSG_NOSIGNAL) != 1)
		snprintf(err, len, "cannot start the command: bubblewrap is gone");
	else
		rc = 0;
out:
	if (netfd >= 0)
		close(netfd);
	if (userfd >= 0)
		close(userfd);
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
	for (int i = 0; i < 2; i++) {
		if (n->block[i] >= 0)
			close(n->block[i]);
		if (n->sync[i] >= 0)
			close(n->sync[i]);
	}
	n->block[0] = n->block[1] = n->sync[0] = n->sync[1] = -1;
}
