#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <csdk/common.h>

#include "io.h"
#include "netroute.h"
#include "slirp.h"

int csdku_high_fd(int fd)
{
	int h;

	if (fd < 0 || fd >= 10)
		return fd;
	h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return h;
}

int csdku_high_pipe(int out[2], int sock)
{
	int raw[2];

	if ((sock ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, raw) : pipe2(raw, O_CLOEXEC)) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		out[i] = fcntl(raw[i], F_DUPFD_CLOEXEC, 10);
		close(raw[i]);
	}
	return out[0] < 0 || out[1] < 0 ? -1 : 0;
}

void csdku_close_pair(int p[2])
{
	for (int i = 0; i < 2; i++) {
		if (p[i] >= 0)
			close(p[i]);
		p[i] = -1;
	}
}

int csdku_netns_open(int out[2], char path[64], pid_t nspid)
{
	int e;

	snprintf(path, 64, "/proc/%d/ns/net", (int)nspid);
	out[1] = -1;
	if ((out[0] = csdku_high_fd(open(path, O_RDONLY | O_CLOEXEC))) < 0)
		return -1;
	if ((out[1] = csdku_high_fd(ioctl(out[0], NS_GET_USERNS))) < 0) {
		e = errno;
		close(out[0]);
		out[0] = -1;
		errno = e;
		return -1;
	}
	fcntl(out[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

int csdku_slirp_argv(struct csdku_slirp_argv *out, const char *slirp, const char *api)
{
	static const char *const fixed[] = { "--configure", "--mtu=65520", "--disable-host-loopback", "--disable-dns",
					     "--enable-seccomp", "--netns-type=path" };
	size_t n = 0;

	out->v[n++] = (char *)slirp;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		out->v[n++] = (char *)fixed[i];
	snprintf(out->words[0], sizeof(out->words[0]), "--userns-path=/proc/self/fd/%d", CSDKU_SLIRP_USERNS_FD);
	snprintf(out->words[1], sizeof(out->words[1]), "--exit-fd=%d", CSDKU_SLIRP_EXIT_FD);
	snprintf(out->words[2], sizeof(out->words[2]), "--ready-fd=%d", CSDKU_SLIRP_READY_FD);
	for (int i = 0; i < 3; i++)
		out->v[n++] = out->words[i];
	if (api) {
		if ((size_t)snprintf(out->words[3], sizeof(out->words[3]), "--api-socket=/proc/self/fd/%d/%s",
				     CSDKU_SLIRP_API_DIR_FD, api) >= sizeof(out->words[3]))
			return CSDK_EINVAL;
		out->v[n++] = out->words[3];
	}
	snprintf(out->words[4], sizeof(out->words[4]), "/proc/self/fd/%d", CSDKU_SLIRP_NETNS_FD);
	out->v[n++] = out->words[4];
	out->v[n++] = (char *)"tap0";
	out->v[n] = NULL;
	return 0;
}

/* "TAG: msg" on stderr, then the exit code (async-signal-safe). */
static __attribute__((noreturn)) void child_fail(const char *tag, const char *msg, int code)
{
	if (write(2, tag, strlen(tag)) < 0 || write(2, ": ", 2) < 0 || write(2, msg, strlen(msg)) < 0)
		_exit(code);
	_exit(code);
}

/* A /dev/net/tun uid/gid may open, in a mount namespace of its own; root to
 * uid/gid for good, no supplementary groups (raw system calls: a child of a
 * threaded process). */
static void child_drop(const struct csdku_slirp_child *c)
{
	/* "none": a propagation change ignores the type, and valgrind wants a string */
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_SLAVE, NULL) < 0 ||
	    mount("csdk-tun", "/dev/net", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=4k,nr_inodes=4") < 0 ||
	    mknod("/dev/net/tun", S_IFCHR | 0600, makedev(10, 200)) < 0 || chown("/dev/net/tun", c->uid, c->gid) < 0)
		child_fail(c->tag, "cannot give slirp4netns a /dev/net/tun\n", CSDKU_SLIRP_NO_TUN);
	if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0 ||
	    syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
		child_fail(c->tag, "cannot switch to the sandbox's uid (sandbox_uid)\n", CSDKU_SLIRP_NO_UID);
}

void csdku_slirp_child(const struct csdku_slirp_child *c)
{
	static char *const env[] = { (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	int null = open("/dev/null", O_RDWR);

	setsid();
	dup2(null, 0);
	dup2(c->log, 1);
	dup2(c->log, 2);
	for (int i = 0; i < 5; i++)
		if (c->fds[i] >= 0)
			dup2(c->fds[i], CSDKU_SLIRP_NETNS_FD + i);
	syscall(SYS_close_range, c->fds[4] >= 0 ? CSDKU_SLIRP_API_DIR_FD + 1 : CSDKU_SLIRP_API_DIR_FD, ~0U, 0);
	if (c->drop)
		child_drop(c);
	execve(c->argv[0], c->argv, env);
	child_fail(c->tag, "cannot execute slirp4netns (as the sandbox's uid when root)\n", CSDKU_SLIRP_NO_EXEC);
}

int csdku_slirp_wait_ready(int fd)
{
	int64_t deadline = csdku_mono_ms() + CSDKU_NET_WAIT_MS;
	char c;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = deadline - csdku_mono_ms();
		int r;

		if (left <= 0)
			return -1;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		return read(fd, &c, 1) == 1 ? 0 : -1;
	}
}

void csdku_slirp_reason(char *out, size_t len, int log)
{
	char buf[2048], *line, *save = NULL;
	ssize_t n = pread(log, buf, sizeof(buf) - 1, 0);

	snprintf(out, len, "it exited without a message");
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "WARNING", 7) || !*line)
			continue;
		snprintf(out, len, "%s", line);
		return;
	}
}
