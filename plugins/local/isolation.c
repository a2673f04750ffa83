#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local.h"

void localp_strv_push(struct localp_strv *s, const char *value)
{
	char *copy;

	if (s->failed)
		return;
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **g = realloc(s->v, cap * sizeof(*g));
		if (!g) {
			s->failed = 1;
			return;
		}
		s->v = g;
		s->cap = cap;
	}
	if (!(copy = strdup(value))) {
		s->failed = 1;
		return;
	}
	s->v[s->n++] = copy;
	s->v[s->n] = NULL;
}

void localp_strv_pushf(struct localp_strv *s, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n < 0) {
		s->failed = 1;
		return;
	}
	localp_strv_push(s, v);
	free(v);
}

void localp_strv_free(struct localp_strv *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* The host's system directories, read-only; merged-/usr links stay links. */
static void push_system_dirs(struct localp_strv *argv)
{
	static const char *const sysdirs[] = { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", NULL };
	size_t i;

	localp_strv_push(argv, "--ro-bind");
	localp_strv_push(argv, "/usr");
	localp_strv_push(argv, "/usr");
	for (i = 0; sysdirs[i]; i++) {
		struct stat st;
		char target[4096];
		ssize_t n;

		if (lstat(sysdirs[i], &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode) && (n = readlink(sysdirs[i], target, sizeof(target) - 1)) > 0) {
			target[n] = '\0';
			localp_strv_push(argv, "--symlink");
			localp_strv_push(argv, target);
		} else if (S_ISDIR(st.st_mode)) {
			localp_strv_push(argv, "--ro-bind");
			localp_strv_push(argv, sysdirs[i]);
		} else {
			continue;
		}
		localp_strv_push(argv, sysdirs[i]);
	}
}

/* meta's generation of the sandbox /etc, or the current one for sandboxes
 * made before it existed (or whose generation is gone). */
static int etc_dir(struct localp_local *ctx, const json_t *meta, char *dir, size_t len)
{
	const char *gen = localp_meta_str(meta, "etc");
	char now[LOCALP_ETC_GEN_LEN + 1];
	struct stat st;
	int rc;

	if (gen && strlen(gen) == LOCALP_ETC_GEN_LEN && !strncmp(gen, "etc-", 4) &&
	    strspn(gen + 4, "0123456789abcdef") == LOCALP_ETC_GEN_LEN - 4) {
		snprintf(dir, len, "%s/etc/%s", ctx->state_dir, gen);
		if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
	}
	if ((rc = localp_etc_prepare(ctx, now, sizeof(now))))
		return rc;
	snprintf(dir, len, "%s/etc/%s", ctx->state_dir, now);
	return 0;
}

/*
 * The host uid and gid a sandbox's commands run as when the caller is root:
 * 1 with them, 0 when commands keep the caller's uid (not root, or a
 * sandbox made before sandboxes had a uid of their own, which runs as root
 * with its capabilities dropped, as then).
 */
int localp_sandbox_ids(const json_t *meta, uid_t *uid_out, gid_t *gid_out)
{
	json_int_t uid = json_integer_value(json_object_get(meta, "uid"));
	json_int_t gid = json_integer_value(json_object_get(meta, "gid"));

	if (geteuid() != 0 || uid <= 0 || gid <= 0)
		return 0;
	*uid_out = (uid_t)uid;
	*gid_out = (gid_t)gid;
	return 1;
}

/* Root to uid/gid for good, no supplementary groups; raw system calls: this
 * runs in a forked child of a threaded process. */
int localp_drop_to(uid_t uid, gid_t gid)
{
	if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, gid, gid, gid) < 0 ||
	    syscall(SYS_setresuid, uid, uid, uid) < 0)
		return -1;
	return 0;
}

/* Inside, the sandbox user: a user namespace mapping LOCALP_INSIDE_UID to the
 * uid bwrap runs as (never root: as root the child dropped to sandbox_uid). */
static void push_user_ns(struct localp_strv *argv)
{
	localp_strv_push(argv, "--unshare-user");
	localp_strv_push(argv, "--uid");
	localp_strv_pushf(argv, "%d", LOCALP_INSIDE_UID);
	localp_strv_push(argv, "--gid");
	localp_strv_pushf(argv, "%d", LOCALP_INSIDE_UID);
}

/* A bind's source: the host path, or, when staged, where the child mounts it
 * (LOCALP_STAGE/NAME) before it drops root. */
static void push_source(struct localp_strv *argv, struct localp_strv *stage, const char *name, const char *src)
{
	if (!stage) {
		localp_strv_push(argv, src);
		return;
	}
	localp_strv_pushf(stage, LOCALP_STAGE "/%s", name);
	localp_strv_push(stage, src);
	localp_strv_pushf(argv, LOCALP_STAGE "/%s", name);
}

/* Whether bwrap can set up namespaces here (it cannot in some containers or
 * without unprivileged user namespaces). The answer is cached in the state
 * directory, keyed by the bwrap binary, so each CLI process does not pay
 * for a trial run. */
/* "KEY ok" or "KEY fail REASON": 1 or 0 as cached for KEY, -1 when nothing
 * is (a failure cached without its reason, as older versions wrote, too). */
static int probe_cache_read(struct localp_local *ctx, const char *cache, const char *key)
{
	char line[512], *v = line + strlen(key) + 1;
	FILE *f = fopen(cache, "re");
	char *got;

	if (!f)
		return -1;
	got = fgets(line, sizeof(line), f);
	fclose(f);
	if (!got || strncmp(line, key, strlen(key)) || line[strlen(key)] != ' ')
		return -1;
	v[strcspn(v, "\n")] = '\0';
	if (!strcmp(v, "ok"))
		return 1;
	if (!strncmp(v, "fail ", 5) && v[5]) {
		snprintf(ctx->probe_error, sizeof(ctx->probe_error), "%s", v + 5);
		return 0;
	}
	return -1;
}

static void probe_cache_write(const struct localp_local *ctx, const char *cache, const char *key, int ok)
{
	char line[512];
	int len, fd = open(cache, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return;
	len = ok ? snprintf(line, sizeof(line), "%s ok\n", key) : snprintf(line, sizeof(line), "%s fail %s\n", key, ctx->probe_error);
	if (len >= (int)sizeof(line))
		len = (int)sizeof(line) - 1;
	line[len - 1] = '\n';
	if (write(fd, line, (size_t)len) != len)
		unlink(cache);
	close(fd);
}


static void push_unshare(struct localp_strv *argv)
{
	localp_strv_push(argv, "--unshare-pid");
	localp_strv_push(argv, "--unshare-ipc");
	localp_strv_push(argv, "--unshare-uts");
}

static void push_proc_dev(struct localp_strv *argv)
{
	localp_strv_push(argv, "--proc");
	localp_strv_push(argv, "/proc");
	localp_strv_push(argv, "--dev");
	localp_strv_push(argv, "/dev");
}

/* The trial's child: stderr on the pipe, as sandbox_uid when root (async-signal-safe calls only). */
static void probe_child(const struct localp_local *ctx, char *const *argv, int err_w, const char *noexec, int nofail)
{
	static const char msg[] = "cannot switch to the uid of sandbox_uid\n";
	int null = open("/dev/null", O_RDWR);

	dup2(null, 0);
	dup2(null, 1);
	dup2(err_w, 2);
	if (geteuid() == 0 && localp_drop_to(ctx->sandbox_uid, ctx->sandbox_gid) < 0) {
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(127);
		_exit(127);
	}
	execv(ctx->bwrap, argv);
	if (nofail > 0 && write(2, noexec, (size_t)nofail) < 0)
		_exit(127);
	_exit(127);
}

/* The first line the trial wrote on stderr goes to ctx->probe_error. */
static void probe_collect(struct localp_local *ctx, int err_r, pid_t pid, int *status_out)
{
	char buf[256];
	size_t n = 0;
	ssize_t r;

	while (pid > 0 && (r = read(err_r, buf, sizeof(buf))) > 0) {
		size_t room = sizeof(ctx->probe_error) - 1 - n;

		if ((size_t)r > room)
			r = (ssize_t)room;
		memcpy(ctx->probe_error + n, buf, (size_t)r);
		n += (size_t)r;
	}
	while (pid > 0 && waitpid(pid, status_out, 0) < 0 && errno == EINTR)
		;
	ctx->probe_error[n] = '\0';
	ctx->probe_error[strcspn(ctx->probe_error, "\n")] = '\0';
}

/* A trial run of `bwrap ... true` with the same kind of mounts as a real
 * command (binding all of / would trip over unrelated host mounts): 1 when
 * it works, 0 with ctx->probe_error set, -1 when fork failed (which says
 * nothing about bwrap). */
static int probe_run(struct localp_local *ctx)
{
	struct localp_strv probe = { 0 };
	char noexec[300];
	int p[2], status = 0, nofail;
	pid_t pid;

	localp_strv_push(&probe, ctx->bwrap);
	push_unshare(&probe);
	localp_strv_push(&probe, "--die-with-parent");
	push_user_ns(&probe);
	push_system_dirs(&probe);
	push_proc_dev(&probe);
	localp_strv_push(&probe, "true");
	if (probe.failed || !probe.v || pipe2(p, O_CLOEXEC) < 0) {
		snprintf(ctx->probe_error, sizeof(ctx->probe_error), "cannot start a trial run of %s: %s",
			 ctx->bwrap, probe.failed || !probe.v ? strerror(ENOMEM) : strerror(errno));
		localp_strv_free(&probe);
		return 0;
	}
	/* formatted before the fork: the child may only make async-signal-safe calls */
	nofail = snprintf(noexec, sizeof(noexec), "cannot execute %s as uid %u (sandbox_uid)\n", ctx->bwrap, (unsigned)ctx->sandbox_uid);
	if (nofail >= (int)sizeof(noexec))
		nofail = (int)sizeof(noexec) - 1;
	pid = fork();
	if (pid == 0)
		probe_child(ctx, probe.v, p[1], noexec, nofail);
	localp_strv_free(&probe);
	close(p[1]);
	probe_collect(ctx, p[0], pid, &status);
	close(p[0]);
	if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (!ctx->probe_error[0])
			snprintf(ctx->probe_error, sizeof(ctx->probe_error), "%s failed (status %d)", ctx->bwrap, status);
		return pid < 0 ? -1 : 0;
	}
	return 1;
}

/* Whether bubblewrap works here, cached in the state directory per bwrap
 * binary and user. */
static int probe_bwrap(struct localp_local *ctx)
{
	char cache[4200], key[256];
	struct stat st;
	int ok;

	if (!ctx->bwrap) {
		snprintf(ctx->probe_error, sizeof(ctx->probe_error), "'bwrap' was not found in PATH");
		return 0;
	}
	if (stat(ctx->bwrap, &st) < 0) {
		snprintf(ctx->probe_error, sizeof(ctx->probe_error), "cannot stat %s: %s", ctx->bwrap, strerror(errno));
		return 0;
	}
	/* the trial runs as the sandboxes will: as sandbox_uid when root, in a user namespace */
	snprintf(key, sizeof(key), "%ju %ju %jd %jd %d userns %u", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
		 (intmax_t)st.st_mtime, (intmax_t)st.st_size, (int)getuid(), geteuid() == 0 ? (unsigned)ctx->sandbox_uid : (unsigned)geteuid());
	snprintf(cache, sizeof(cache), "%s/bwrap-probe", ctx->state_dir);
	if ((ok = probe_cache_read(ctx, cache, key)) >= 0)
		return ok;
	if ((ok = probe_run(ctx)) < 0)
		return 0;
	probe_cache_write(ctx, cache, key, ok);
	return ok;
}

int localp_isolation_for_create(struct localp_local *ctx, const char **out)
{
	int works;

	if (ctx->isolation == LOCALP_ISO_NONE) {
		*out = "none";
		return 0;
	}
	pthread_mutex_lock(&ctx->probe_lock);
	if (!ctx->probed) {
		ctx->bwrap_works = probe_bwrap(ctx);
		ctx->probed = 1;
	}
	works = ctx->bwrap_works;
	if (works && ctx->network == LOCALP_NET_HOST && !ctx->net_warned) {
		ctx->net_warned = 1;
		ctx->host->log(ctx->host, CSDK_LOG_WARN,
			       "network=host: sandbox commands share this machine's network, including services on its 127.0.0.1 and the cloud metadata address 169.254.169.254; set network=isolated or none to cut them off");
	}
	if (!works && ctx->isolation == LOCALP_ISO_AUTO && !ctx->warned) {
		ctx->warned = 1;
		ctx->host->log(ctx->host, CSDK_LOG_WARN,
			       "bubblewrap is not usable (%s); sandboxes run without isolation; install bubblewrap or set isolation=none to silence this",
			       ctx->probe_error);
	}
	pthread_mutex_unlock(&ctx->probe_lock);
	if (works) {
		*out = "bubblewrap";
		return 0;
	}
	if (ctx->isolation == LOCALP_ISO_BWRAP)
		return ctx->host->error(ctx->host, CSDK_EBACKEND,
			"isolation 'bwrap' is required but bubblewrap does not work here (%s); install bubblewrap (apt-get install bubblewrap) or set isolation to auto or none",
			ctx->probe_error);
	*out = "none";
	return 0;
}

/* Sandboxes made before the key existed get the filter too. */
int localp_seccomp_wanted(const json_t *meta)
{
	const char *v = localp_meta_str(meta, "seccomp");

	return !v || strcmp(v, "off");
}

/* The namespaces, privileges and descriptors bwrap is told about. */
static void push_confinement(const json_t *meta, int drop, int info_fd, int with_agent, struct localp_strv *argv)
{
	const char *network = localp_meta_str(meta, "network");

	push_unshare(argv);
	if (network && (!strcmp(network, "none") || !strcmp(network, "isolated")))
		localp_strv_push(argv, "--unshare-net");
	/* isolated: bwrap waits until the host has set up the namespace's network */
	if (network && !strcmp(network, "isolated")) {
		localp_strv_push(argv, "--block-fd");
		localp_strv_pushf(argv, "%d", LOCALP_NET_BLOCK_FD);
		localp_strv_push(argv, "--sync-fd");
		localp_strv_pushf(argv, "%d", LOCALP_NET_SYNC_FD);
	}
	/* The parent is the caller for a foreground command and the log copier
	 * for a background one: either way the sandbox's processes go with it.
	 * The agent's parent exits at once; the agent is the namespace's pid 1
	 * (it reaps), and the namespace lives until destroy kills it. */
	if (with_agent)
		localp_strv_push(argv, "--as-pid-1");
	else
		localp_strv_push(argv, "--die-with-parent");
	if (drop || geteuid() != 0)
		push_user_ns(argv);
	/* A sandbox made before sandbox_uid runs as root: bwrap keeps every
	 * capability unless told, and a command could remount the host's /usr. */
	else {
		localp_strv_push(argv, "--cap-drop");
		localp_strv_push(argv, "ALL");
	}
	localp_strv_push(argv, "--new-session");
	if (localp_seccomp_wanted(meta)) {
		localp_strv_push(argv, "--seccomp");
		localp_strv_pushf(argv, "%d", LOCALP_SECCOMP_FD);
	}
	if (info_fd >= 0) {
		localp_strv_push(argv, "--info-fd");
		localp_strv_pushf(argv, "%d", info_fd);
	}
	localp_strv_push(argv, "--hostname");
	localp_strv_push(argv, "sandbox");
}

static void push_bind(struct localp_strv *argv, struct localp_strv *stage, const char *option, const char *name,
		      const char *src, const char *dest)
{
	localp_strv_push(argv, option);
	push_source(argv, stage, name, src);
	localp_strv_push(argv, dest);
}

static void push_mounts(const struct localp_local *ctx, const struct localp_sandbox *sb, const char *etc, int with_agent,
			struct localp_strv *stage, struct localp_strv *argv)
{
	char path[4200];

	push_system_dirs(argv);
	push_bind(argv, stage, "--ro-bind", "etc", etc, "/etc");
	localp_strv_push(argv, "--ro-bind-try");
	localp_strv_push(argv, "/run/systemd/resolve");
	localp_strv_push(argv, "/run/systemd/resolve");
	push_proc_dev(argv);
	snprintf(path, sizeof(path), "%s/home", sb->dir);
	push_bind(argv, stage, "--bind", "home", path, LOCALP_INSIDE_HOME);
	snprintf(path, sizeof(path), "%s/tmp", sb->dir);
	push_bind(argv, stage, "--bind", "tmp", path, LOCALP_INSIDE_TMP);
	if (!with_agent)
		return;
	push_bind(argv, stage, "--ro-bind", "agent", ctx->agent, LOCALP_INSIDE_AGENT);
	snprintf(path, sizeof(path), "%s/" LOCALP_RUN_DIR, sb->dir);
	/* read-only: the host made the socket and the token, and agent.log is not the commands' to write */
	push_bind(argv, stage, "--ro-bind", "run", path, LOCALP_INSIDE_RUN);
}

static void push_env(const char *cwd_inside, const struct localp_strv *env, struct localp_strv *argv)
{
	size_t i;

	localp_strv_push(argv, "--chdir");
	localp_strv_push(argv, cwd_inside ? cwd_inside : LOCALP_INSIDE_HOME);
	localp_strv_push(argv, "--clearenv");
	for (i = 0; i < env->n; i++) {
		const char *eq = strchr(env->v[i], '=');
		localp_strv_push(argv, "--setenv");
		localp_strv_pushf(argv, "%.*s", (int)(eq - env->v[i]), env->v[i]);
		localp_strv_push(argv, eq + 1);
	}
}

/* no shell for the agent: it is the namespace's first process as soon as bwrap is done */
static void push_command(const char *command, int with_agent, struct localp_strv *argv)
{
	if (with_agent) {
		localp_strv_push(argv, LOCALP_INSIDE_AGENT);
		localp_strv_push(argv, "--listen");
		localp_strv_push(argv, "unix:" LOCALP_INSIDE_RUN "/agent.sock");
		localp_strv_push(argv, "--listen-fd");
		localp_strv_pushf(argv, "%d", LOCALP_AGENT_FD);
		localp_strv_push(argv, "--token-file");
		localp_strv_push(argv, LOCALP_INSIDE_RUN "/token");
		localp_strv_push(argv, "--workdir");
		localp_strv_push(argv, LOCALP_INSIDE_HOME);
		return;
	}
	localp_strv_push(argv, "/bin/sh");
	localp_strv_push(argv, "-c");
	localp_strv_push(argv, command);
}

int localp_bwrap_argv(struct localp_local *ctx, const struct localp_sandbox *sb, const json_t *meta,
		     const char *cwd_inside, const struct localp_strv *env, int info_fd,
		     const char *command, int with_agent, struct localp_strv *stage, struct localp_strv *argv)
{
	char etc[4200];
	uid_t uid;
	gid_t gid;
	int rc, drop = localp_sandbox_ids(meta, &uid, &gid);

	if ((rc = etc_dir(ctx, meta, etc, sizeof(etc))))
		return rc;
	if (!drop)
		stage = NULL;
	localp_strv_push(argv, ctx->bwrap);
	push_confinement(meta, drop, info_fd, with_agent, argv);
	push_mounts(ctx, sb, etc, with_agent, stage, argv);
	push_env(cwd_inside, env, argv);
	push_command(command, with_agent, argv);
	return argv->failed || (stage && stage->failed) ? CSDK_ENOMEM : 0;
}
