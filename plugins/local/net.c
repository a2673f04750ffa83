/*
 * network=isolated: the bubblewrap namespace's own network namespace gets
 * outbound access through slirp4netns, with no route to the host's own
 * addresses or to link-local ones. bwrap waits on --block-fd while the
 * host (1) adds unreachable routes inside the namespace, (2) starts
 * slirp4netns as the sandbox's uid in the namespace's user namespace and
 * waits until it has configured tap0; then it lets bwrap run the command.
 * slirp4netns ends when the namespace's processes do (--exit-fd on the
 * pipe bwrap keeps open with --sync-fd) or when destroy kills it (it is
 * recorded in procs/ like a command).
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "local.h"
#include "netroute.h"

#define NET_WAIT_MS 5000
#define MAX_BLOCKED 1024
/* descriptors of the slirp4netns process */
#define SLIRP_NETNS_FD 3
#define SLIRP_USERNS_FD 4
#define SLIRP_EXIT_FD 5
#define SLIRP_READY_FD 6
#define SLIRP_API_DIR_FD 7

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void localp_net_init(struct localp_net *n)
{
	memset(n, 0, sizeof(*n));
	n->block[0] = n->block[1] = n->sync[0] = n->sync[1] = -1;
	n->reg.dfd = -1;
}

/* fd moved to 10 or above (close-on-exec), so the children's moves to
 * fixed numbers (up to SLIRP_API_DIR_FD) never overwrite it; -1 stays -1. */
static int high_fd(int fd)
{
	int h;

	if (fd < 0 || fd >= 10)
		return fd;
	h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return h;
}

/* Above LOCALP_NET_SYNC_FD, so the child's moves to fixed numbers never
 * overwrite them. A socket pair when sock: written with MSG_NOSIGNAL, a
 * reader that died is an error rather than SIGPIPE in the host. */
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

int localp_net_prepare(struct localp_local *ctx, const struct localp_sandbox *sb, const json_t *meta, struct localp_net *n)
{
	/* as root slirp4netns runs as the sandbox's uid, which every sandbox of network isolated has */
	if (geteuid() == 0 && !localp_sandbox_ids(meta, &n->uid, &n->gid))
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "sandbox %s has network isolated but no uid of its own in meta.json; create a new sandbox", sb->id);
	n->on = 1;
	if (high_pipe(n->block, 1) < 0 || high_pipe(n->sync, 0) < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot set up the network of a command in sandbox %s: %s", sb->id, strerror(errno));
	return 0;
}

static int add_routes(struct localp_local *ctx, const struct localp_sandbox *sb, int netfd, int userfd)
{
	static const char *const steps[] = { "", "", "cannot join its user namespace", "cannot join its network namespace",
					     "no socket", "bubblewrap did not bring up its loopback", "no netlink socket",
					     "the kernel refused a route" };
	struct csdku_prefix p[MAX_BLOCKED];
	size_t np = csdku_blocked_prefixes(p, MAX_BLOCKED);
	int status = 0;
	pid_t pid;

	if (np > MAX_BLOCKED)
		return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED,
			"cannot set up the network namespace of sandbox %s: this machine has more than %d IPv4 addresses to block; use network none",
			sb->id, MAX_BLOCKED - 2);
	pid = fork();

	if (pid == 0)
		csdku_routes_child(netfd, geteuid() == 0 ? -1 : userfd, p, np, NET_WAIT_MS);
	if (pid < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot fork to set up the network of sandbox %s: %s", sb->id, strerror(errno));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return ctx->host->error(ctx->host, CSDK_EBACKEND, "cannot set up the network namespace of sandbox %s: %s",
				sb->id, WIFEXITED(status) && WEXITSTATUS(status) <= CSDKU_ROUTES_REFUSED ? steps[WEXITSTATUS(status)] : "the helper died");
}

/* The slirp4netns process (async-signal-safe calls only): a session of its
 * own, /dev/net/tun openable by the sandbox's uid (as root: a private
 * device node in a mount namespace of its own, since the host's may be
 * 0600), then that uid, then slirp4netns. */
static void slirp_child(const struct localp_net *n, char *const *argv, char *const *envp, const int fds[5], int log, int drop)
{
	static const char tun[] = "csdk-local: cannot give slirp4netns a /dev/net/tun\n";
	static const char id[] = "csdk-local: cannot switch to the sandbox's uid (sandbox_uid)\n";
	int null = open("/dev/null", O_RDWR);

	setsid();
	dup2(null, 0);
	dup2(log, 1);
	dup2(log, 2);
	for (int i = 0; i < 5; i++)
		if (fds[i] >= 0)
			dup2(fds[i], SLIRP_NETNS_FD + i);
	syscall(SYS_close_range, SLIRP_API_DIR_FD + 1, ~0U, 0);
	if (drop) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
		    mount("csdk-tun", "/dev/net", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=4k,nr_inodes=4") < 0 ||
		    mknod("/dev/net/tun", S_IFCHR | 0600, makedev(10, 200)) < 0 ||
		    chown("/dev/net/tun", n->uid, n->gid) < 0) {
			if (write(2, tun, sizeof(tun) - 1) < 0)
				_exit(127);
			_exit(127);
		}
		if (localp_drop_to(n->uid, n->gid) < 0) {
			if (write(2, id, sizeof(id) - 1) < 0)
				_exit(127);
			_exit(127);
		}
	}
	execve(argv[0], argv, envp);
	{
		static const char noexec[] = "csdk-local: cannot execute slirp4netns (as the sandbox's uid when root)\n";
		if (write(2, noexec, sizeof(noexec) - 1) < 0)
			_exit(127);
	}
	_exit(127);
}

/* The first line slirp4netns wrote that says something (not its warnings). */
static void slirp_reason(int log, char *out, size_t len)
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

static int slirp_argv(struct localp_local *ctx, const char *api, struct localp_strv *argv)
{
	localp_strv_push(argv, ctx->slirp);
	localp_strv_push(argv, "--configure");
	localp_strv_push(argv, "--mtu=65520");
	localp_strv_push(argv, "--disable-host-loopback");
	localp_strv_push(argv, "--disable-dns");
	localp_strv_push(argv, "--enable-seccomp");
	localp_strv_push(argv, "--netns-type=path");
	localp_strv_pushf(argv, "--userns-path=/proc/self/fd/%d", SLIRP_USERNS_FD);
	localp_strv_pushf(argv, "--exit-fd=%d", SLIRP_EXIT_FD);
	localp_strv_pushf(argv, "--ready-fd=%d", SLIRP_READY_FD);
	if (api)
		localp_strv_pushf(argv, "--api-socket=/proc/self/fd/%d/%s", SLIRP_API_DIR_FD, api);
	localp_strv_pushf(argv, "/proc/self/fd/%d", SLIRP_NETNS_FD);
	localp_strv_push(argv, "tap0");
	return argv->failed ? CSDK_ENOMEM : 0;
}

/* Waits for slirp4netns's ready byte: 0, or -1 when it exited or timed out. */
static int slirp_wait_ready(int fd)
{
	int64_t deadline = mono_ms() + NET_WAIT_MS;
	char c;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = deadline - mono_ms();
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

/* What one start of slirp4netns opens. */
struct slirp_run {
	struct localp_strv argv, env;
	char apiname[32];
	int ready[2], pidp[2], log, apidir;
};

static void slirp_run_close(struct slirp_run *r)
{
	for (int i = 0; i < 2; i++) {
		if (r->ready[i] >= 0)
			close(r->ready[i]);
		if (r->pidp[i] >= 0)
			close(r->pidp[i]);
	}
	if (r->log >= 0)
		close(r->log);
	if (r->apidir >= 0)
		close(r->apidir);
	localp_strv_free(&r->argv);
	localp_strv_free(&r->env);
}

/* Its log, the directory of its API socket when api, its command line and pipes. */
static int slirp_prepare(struct localp_local *ctx, const struct localp_sandbox *sb, int api, struct slirp_run *r)
{
	char hex[9], path[4200];

	if (api) {
		csdkc_random_hex(hex, 4);
		snprintf(r->apiname, sizeof(r->apiname), "api-%s.sock", hex);
		snprintf(path, sizeof(path), "%s/" LOCALP_NET_DIR, sb->dir);
		r->apidir = high_fd(open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
	}
	snprintf(path, sizeof(path), "%s/slirp4netns.log", sb->dir);
	r->log = high_fd(open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
	localp_strv_push(&r->env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	if (slirp_argv(ctx, r->apidir >= 0 ? r->apiname : NULL, &r->argv) || r->env.failed)
		return CSDK_ENOMEM;
	if (r->log < 0 || high_pipe(r->ready, 0) < 0 || pipe2(r->pidp, O_CLOEXEC) < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot start slirp4netns for sandbox %s: %s", sb->id, strerror(errno));
	return 0;
}

/* A foreground command's slirp4netns is this process's child, reaped when
 * the command ends; the others' are detached (init reaps them). */
static int slirp_fork(struct localp_local *ctx, const struct localp_sandbox *sb, struct localp_net *n, int netfd, int userfd,
		      int api, struct slirp_run *r, pid_t *out)
{
	int fds[5] = { netfd, userfd, n->sync[0], r->ready[1], r->apidir }, status = 0;
	pid_t first, slirp = 0;

	first = fork();
	if (first == 0) {
		pid_t s = api ? fork() : 0;
		if (s == 0)
			slirp_child(n, r->argv.v, r->env.v, fds, r->log, geteuid() == 0);
		if (write(r->pidp[1], &s, sizeof(s)) < 0)
			_exit(1);
		_exit(0);
	}
	if (first < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot fork for slirp4netns in sandbox %s: %s", sb->id, strerror(errno));
	if (api)
		while (waitpid(first, &status, 0) < 0 && errno == EINTR)
			;
	else
		n->child = slirp = first;
	close(r->pidp[1]);
	close(r->ready[1]);
	r->pidp[1] = r->ready[1] = -1;
	if (api && (read(r->pidp[0], &slirp, sizeof(slirp)) != (ssize_t)sizeof(slirp) || slirp <= 0))
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot fork for slirp4netns in sandbox %s", sb->id);
	*out = slirp;
	return 0;
}

/* Starts slirp4netns detached (a double fork: init reaps it) and records
 * its process group; 0 once it has configured the namespace. */
static int start_slirp(struct localp_local *ctx, const struct localp_sandbox *sb, struct localp_net *n, int netfd, int userfd, int api)
{
	struct slirp_run r = { .ready = { -1, -1 }, .pidp = { -1, -1 }, .log = -1, .apidir = -1 };
	char reason[300];
	pid_t slirp = 0;
	int rc;

	if ((rc = slirp_prepare(ctx, sb, api, &r)) || (rc = localp_procs_begin(ctx, sb, &n->reg)) ||
	    (rc = slirp_fork(ctx, sb, n, netfd, userfd, api, &r, &slirp)))
		goto out;
	if ((rc = localp_procs_record(ctx, sb, &n->reg, slirp, localp_proc_start(slirp), 0, 0))) {
		kill(-slirp, SIGKILL);
		goto out;
	}
	n->slirp = slirp;
	if (slirp_wait_ready(r.ready[0]) < 0) {
		kill(-slirp, SIGKILL);
		slirp_reason(r.log, reason, sizeof(reason));
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "slirp4netns did not set up the network of sandbox %s: %s (%s/slirp4netns.log)",
				      sb->id, reason, sb->dir);
	}
out:
	slirp_run_close(&r);
	return rc;
}

int localp_net_start(struct localp_local *ctx, const struct localp_sandbox *sb, struct localp_net *n, pid_t nspid, int api)
{
	char path[64];
	int netfd, userfd = -1, rc;

	/* the child's copies: bwrap's, and the pipe's read end slirp4netns gets a copy of below */
	close(n->block[0]);
	close(n->sync[1]);
	n->block[0] = n->sync[1] = -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)nspid);
	if ((netfd = high_fd(open(path, O_RDONLY | O_CLOEXEC))) < 0 || (userfd = high_fd(ioctl(netfd, NS_GET_USERNS))) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "cannot open the network namespace of sandbox %s (%s): %s", sb->id, path, strerror(errno));
		goto out;
	}
	fcntl(userfd, F_SETFD, FD_CLOEXEC);
	/* slirp4netns only once bwrap has brought up lo (add_routes waits for it):
	 * if slirp4netns's configuration came first, bwrap's would fail (EEXIST) */
	if (!(rc = add_routes(ctx, sb, netfd, userfd)))
		rc = start_slirp(ctx, sb, n, netfd, userfd, api);
	/* the command may run now: its network is up */
	if (!rc && send(n->block[1], "1", 1, MSG_NOSIGNAL) != 1)
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot start the command in sandbox %s: bubblewrap is gone", sb->id);
out:
	if (netfd >= 0)
		close(netfd);
	if (userfd >= 0)
		close(userfd);
	return rc;
}

/* Closes the pipes; kill_slirp (after a foreground command, or a start that
 * failed): ends slirp4netns now rather than with the namespace, and drops
 * its record. */
void localp_net_end(struct localp_net *n, int kill_slirp)
{
	if (kill_slirp && n->slirp > 0) {
		kill(-n->slirp, SIGKILL);
		localp_procs_forget(&n->reg);
	}
	if (n->child > 0) {
		if (!kill_slirp)
			kill(-n->child, SIGKILL);
		while (waitpid(n->child, NULL, 0) < 0 && errno == EINTR)
			;
		n->child = 0;
	}
	localp_procs_end(&n->reg);
	for (int i = 0; i < 2; i++) {
		if (n->block[i] >= 0)
			close(n->block[i]);
		if (n->sync[i] >= 0)
			close(n->sync[i]);
	}
	n->block[0] = n->block[1] = n->sync[0] = n->sync[1] = -1;
}

/* Why isolated cannot work here, or NULL when it can; *fix: what to do. */
static const char *slirp_missing(struct localp_local *ctx, char *buf, size_t len, const char **fix)
{
	struct stat st;

	*fix = "install it (apt-get install slirp4netns)";
	if (!ctx->slirp)
		return "slirp4netns is not in PATH";
	*fix = "load the tun module (modprobe tun)";
	if (stat("/dev/net/tun", &st) < 0 || !S_ISCHR(st.st_mode))
		return "there is no /dev/net/tun";
	/* as root the runner gives slirp4netns a device node of its own */
	*fix = "make /dev/net/tun mode 0666, as udev does";
	if (geteuid() != 0 && access("/dev/net/tun", R_OK | W_OK) < 0) {
		snprintf(buf, len, "/dev/net/tun is not readable and writable by this user: %s", strerror(errno));
		return buf;
	}
	return NULL;
}

const char *localp_network_for_create(struct localp_local *ctx, int bubblewrap, int *rc_out)
{
	const char *why, *fix;
	char buf[200];

	*rc_out = 0;
	switch (ctx->network) {
	case LOCALP_NET_HOST:
		return "host";
	case LOCALP_NET_NONE:
		return "none";
	case LOCALP_NET_ISOLATED:
		if (bubblewrap && (why = slirp_missing(ctx, buf, sizeof(buf), &fix)))
			*rc_out = ctx->host->error(ctx->host, CSDK_EBACKEND,
				"network 'isolated' needs slirp4netns (%s); %s or set network to none or host (CSDK_LOCAL_NETWORK)", why, fix);
		return "isolated";
	case LOCALP_NET_AUTO:
		break;
	}
	/* unisolated commands have the host's network whatever is recorded */
	if (!LOCALP_DEFAULT_ISOLATED || !bubblewrap)
		return "none";
	if (!(why = slirp_missing(ctx, buf, sizeof(buf), &fix)))
		return "isolated";
	pthread_mutex_lock(&ctx->probe_lock);
	if (!ctx->slirp_warned) {
		ctx->slirp_warned = 1;
		ctx->host->log(ctx->host, CSDK_LOG_WARN,
			       "sandboxes get network none (no outbound access): %s; for network=isolated %s, or set network=none to silence this", why, fix);
	}
	pthread_mutex_unlock(&ctx->probe_lock);
	return "none";
}

/* One request to a slirp4netns API socket (one per connection); the reply,
 * or NULL (*refused: nothing listens there any more). */
static json_t *api_call(int dfd, const char *name, const char *request, int *refused)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[8192], path[300];
	size_t got = 0;
	ssize_t r;
	int s;

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, name);
	if (strlen(path) >= sizeof(sa.sun_path) || (s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return NULL;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (refused)
			*refused = errno == ECONNREFUSED || errno == ENOENT;
		close(s);
		return NULL;
	}
	if (csdku_write_all(s, request, strlen(request)) < 0) {
		close(s);
		return NULL;
	}
	shutdown(s, SHUT_WR);
	while (got < sizeof(buf) - 1 && ((r = read(s, buf + got, sizeof(buf) - 1 - got)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			got += (size_t)r;
	close(s);
	buf[got] = '\0';
	return json_loads(buf, 0, NULL);
}

/* The host port slirp4netns forwards to the guest's port, 0 when none. */
static int find_forward(json_t *reply, int port)
{
	json_t *e, *entries = json_object_get(reply, "entries");
	size_t i;

	/* slirp4netns 1.2 answers list_hostfwd without the "return" of its other replies */
	if (!entries)
		entries = json_object_get(json_object_get(reply, "return"), "entries");
	json_array_foreach(entries, i, e)
		if (json_integer_value(json_object_get(e, "guest_port")) == port &&
		    !strcmp(json_string_value(json_object_get(e, "proto")) ?: "", "tcp"))
			return (int)json_integer_value(json_object_get(e, "host_port"));
	return 0;
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 && getsockname(s, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

/* The newest API socket in net/ whose slirp4netns answers; stale ones are removed. */
static json_t *newest_api(int dfd, char *name, size_t len)
{
	for (;;) {
		DIR *d = fdopendir(dup(dfd));
		struct timespec best = { 0, 0 };
		struct dirent *de;
		json_t *reply;
		struct stat st;
		int refused = 0;

		if (!d)
			return NULL;
		/* the duplicate shares dfd's position: each pass reads from the start */
		rewinddir(d);
		name[0] = '\0';
		while ((de = readdir(d)))
			if (!strncmp(de->d_name, "api-", 4) && fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISSOCK(st.st_mode) && (!name[0] || st.st_mtim.tv_sec > best.tv_sec ||
						      (st.st_mtim.tv_sec == best.tv_sec && st.st_mtim.tv_nsec >= best.tv_nsec))) {
				best = st.st_mtim;
				snprintf(name, len, "%s", de->d_name);
			}
		closedir(d);
		if (!name[0])
			return NULL;
		if ((reply = api_call(dfd, name, "{\"execute\": \"list_hostfwd\"}", &refused)))
			return reply;
		if (!refused)
			return NULL;
		unlinkat(dfd, name, 0);
	}
}

int localp_net_url(struct localp_local *ctx, const struct localp_sandbox *sb, int port, int *host_port_out)
{
	char path[4200], name[256], req[256];
	json_t *reply;
	int dfd, rc = 0, tries;

	snprintf(path, sizeof(path), "%s/" LOCALP_NET_DIR, sb->dir);
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 || !(reply = newest_api(dfd, name, sizeof(name)))) {
		if (dfd >= 0)
			close(dfd);
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND,
			"port %d of sandbox %s is not reachable from the host: no network namespace of the sandbox is running; with network isolated, ports of the agent's namespace (mode gateway) or of the newest running background command are forwarded, so start the server in the background first",
			port, sb->id);
	}
	*host_port_out = find_forward(reply, port);
	json_decref(reply);
	/* a port taken between free_port and slirp4netns's bind: try another */
	for (tries = 0; !*host_port_out && tries < 3; tries++) {
		int hp = free_port();

		snprintf(req, sizeof(req),
			 "{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"tcp\", \"host_addr\": \"127.0.0.1\", \"host_port\": %d, \"guest_port\": %d}}",
			 hp, port);
		reply = hp > 0 ? api_call(dfd, name, req, NULL) : NULL;
		if (reply && json_object_get(reply, "return"))
			*host_port_out = hp;
		json_decref(reply);
	}
	if (!*host_port_out)
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "slirp4netns of sandbox %s did not forward port %d to this machine's 127.0.0.1", sb->id, port);
	close(dfd);
	return rc;
}
