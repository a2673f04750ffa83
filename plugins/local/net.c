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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local.h"
#include "netroute.h"
#include "slirp.h"

void localp_net_init(struct localp_net *n)
{
	memset(n, 0, sizeof(*n));
	n->block[0] = n->block[1] = n->sync[0] = n->sync[1] = -1;
	n->reg.dfd = -1;
}

int localp_net_prepare(struct localp_local *ctx, const struct localp_sandbox *sb, const json_t *meta, struct localp_net *n)
{
	/* as root slirp4netns runs as the sandbox's uid, which every sandbox of network isolated has */
	if (geteuid() == 0 && !localp_sandbox_ids(meta, &n->uid, &n->gid))
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "sandbox %s has network isolated but no uid of its own in meta.json; create a new sandbox", sb->id);
	n->on = 1;
	if (csdku_high_pipe(n->block, 1) < 0 || csdku_high_pipe(n->sync, 0) < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot set up the network of a command in sandbox %s: %s", sb->id, strerror(errno));
	return 0;
}

static int add_routes(struct localp_local *ctx, const struct localp_sandbox *sb, int netfd, int userfd)
{
	const char *why;
	int rc = csdku_routes_add(&why, netfd, userfd);

	if (rc == CSDK_EUNSUPPORTED)
		return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED,
			"cannot set up the network namespace of sandbox %s: this machine has more than %d IPv4 addresses to block; use network none",
			sb->id, CSDKU_ROUTES_MAX - 2);
	if (rc == CSDK_EIO)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot fork to set up the network of sandbox %s: %s", sb->id, strerror(errno));
	if (rc)
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "cannot set up the network namespace of sandbox %s: %s", sb->id, why);
	return 0;
}

/* What one start of slirp4netns opens. */
struct slirp_run {
	struct csdku_slirp_argv argv;
	char apiname[32];
	int ready[2], pidp[2], log, apidir;
};

static void slirp_run_close(struct slirp_run *r)
{
	csdku_close_pair(r->ready);
	csdku_close_pair(r->pidp);
	if (r->log >= 0)
		close(r->log);
	if (r->apidir >= 0)
		close(r->apidir);
}

/* Its log, the directory of its API socket when api, its command line and pipes. */
static int slirp_prepare(struct localp_local *ctx, const struct localp_sandbox *sb, int api, struct slirp_run *r)
{
	char hex[9], path[4200];

	if (api) {
		csdkc_random_hex(hex, 4);
		snprintf(r->apiname, sizeof(r->apiname), "api-%s.sock", hex);
		snprintf(path, sizeof(path), "%s/" LOCALP_NET_DIR, sb->dir);
		r->apidir = csdku_high_fd(open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
	}
	snprintf(path, sizeof(path), "%s/slirp4netns.log", sb->dir);
	r->log = csdku_high_fd(open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
	/* api-HEX.sock always fits */
	csdku_slirp_argv(&r->argv, ctx->slirp, r->apidir >= 0 ? r->apiname : NULL);
	if (r->log < 0 || csdku_high_pipe(r->ready, 0) < 0 || pipe2(r->pidp, O_CLOEXEC) < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot start slirp4netns for sandbox %s: %s", sb->id, strerror(errno));
	return 0;
}

/* A foreground command's slirp4netns is this process's child, reaped when
 * the command ends; the others' are detached (init reaps them). */
static int slirp_fork(struct localp_local *ctx, const struct localp_sandbox *sb, struct localp_net *n, int netfd, int userfd,
		      int api, struct slirp_run *r, pid_t *out)
{
	const struct csdku_slirp_child c = { r->argv.v, { netfd, userfd, n->sync[0], r->ready[1], r->apidir }, r->log,
					     "csdk-local", geteuid() == 0, n->uid, n->gid };
	int status = 0;
	pid_t first, slirp = 0;

	first = fork();
	if (first == 0) {
		pid_t s = api ? fork() : 0;
		if (s == 0)
			csdku_slirp_child(&c);
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
	if (csdku_slirp_wait_ready(r.ready[0]) < 0) {
		kill(-slirp, SIGKILL);
		csdku_slirp_reason(reason, sizeof(reason), r.log);
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
	int ns[2], rc;

	/* the child's copies: bwrap's, and the pipe's read end slirp4netns gets a copy of below */
	close(n->block[0]);
	close(n->sync[1]);
	n->block[0] = n->sync[1] = -1;
	if (csdku_netns_open(ns, path, nspid) < 0)
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "cannot open the network namespace of sandbox %s (%s): %s", sb->id, path, strerror(errno));
	/* slirp4netns only once bwrap has brought up lo (add_routes waits for it):
	 * if slirp4netns's configuration came first, bwrap's would fail (EEXIST) */
	if (!(rc = add_routes(ctx, sb, ns[0], ns[1])))
		rc = start_slirp(ctx, sb, n, ns[0], ns[1], api);
	/* the command may run now: its network is up */
	if (!rc && send(n->block[1], "1", 1, MSG_NOSIGNAL) != 1)
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot start the command in sandbox %s: bubblewrap is gone", sb->id);
	close(ns[0]);
	close(ns[1]);
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
	csdku_close_pair(n->block);
	csdku_close_pair(n->sync);
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
