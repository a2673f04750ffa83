#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "io.h"
#include "seccomp_filter.h"

#define NS_PER_MS 1e6

/* As the local provider gives its sandboxes (plugins/local/spawn.c). */
#define SANDBOX_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

/* Reads fd to its end, keeping its first 4 KiB in *buf (grown, NUL-terminated) when buf is not NULL: enough to explain a failure. */
static void read_head(int fd, char **buf)
{
	char chunk[65536];
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (buf && len < 4096) {
			char *grown = realloc(*buf, len + (size_t)n + 1);

			if (grown) {
				*buf = grown;
				memcpy(*buf + len, chunk, (size_t)n);
				len += (size_t)n;
				(*buf)[len] = '\0';
			}
		}
	}
}

int tool_bench_run_argv(int *status_out, char *const *argv, char **output_out)
{
	posix_spawn_file_actions_t fa;
	char *buf = NULL;
	int fds[2], rc, status = 0, saved;
	pid_t pid;

	*status_out = -1;
	if (output_out)
		*output_out = NULL;
	/* Close-on-exec, so children spawned by other threads do not hold our pipe open. */
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		errno = rc;
		return -1;
	}
	read_head(fds[0], output_out ? &buf : NULL);
	saved = errno;
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			free(buf);
			return -1;
		}
	}
	errno = saved;
	*status_out = status;
	if (output_out)
		*output_out = buf;
	else
		free(buf);
	return 0;
}

static char *tool_version(char *const *argv);

/* An iteration's outcome from the wait status of its command. */
static void judge_status(struct tool_bench_iter *it, int status, const char *output, const char *what)
{
	if (WIFEXITED(status)) {
		it->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		it->exit_code = 128 + WTERMSIG(status);
	}
	if (it->exit_code != 0) {
		size_t n = 0;
		while (output && output[n] && output[n] != '\n' && n < 200)
			n++;
		tool_bench_iter_fail(it, "%s exited with status %d%s%.*s", what, it->exit_code,
				      n ? ": " : "", (int)n, output ? output : "");
	} else {
		it->ok = 1;
	}
}

/* Run argv as the measured command of an iteration. */
static void run_measured(struct tool_bench_iter *it, char *const *argv)
{
	char *output = NULL;
	int status;

	it->exit_code = -1;
	if (tool_bench_run_argv(&status, argv, &output) < 0) {
		tool_bench_iter_fail(it, "cannot run %s: %s", argv[0], strerror(errno));
		return;
	}
	judge_status(it, status, output, argv[0]);
	free(output);
}

/* ------------------------------------------------------------------ spawn */

static void spawn_iterate(struct tool_bench_target *t, struct tool_bench_iter *it)
{
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)t->command, NULL };
	int64_t t0 = tool_bench_now_ns();

	run_measured(it, argv);
	it->tti_ms = it->command_ms = (double)(tool_bench_now_ns() - t0) / NS_PER_MS;
}

/* ------------------------------------------------------------------ bwrap */

/* As the local provider runs sandboxes as root (sandbox_uid's default, docs/local-provider.md). */
#define LOCAL_SANDBOX_UID 1879048192u
#define INSIDE_UID "1000"
/* The descriptors bwrap gets them on in plugins/local/spawn.c, and
 * network=isolated's as plugins/local/local.h has them. */
#define INFO_FD 3
#define SECCOMP_FD 4
#define BLOCK_FD 5
#define SYNC_FD 6
#define FD_ARG_(n) #n
#define FD_ARG(n) FD_ARG_(n)

struct bwrap_state {
	char *bwrap;
	char *tmpdir;
	int bare;              /* bwrap-bare: the short argv, as the host user, no filter */
	int isolated;          /* bwrap-isolated: the local argv with network=isolated's set-up */
	char *slirp;           /* bwrap-isolated: slirp4netns's path */
	char *base;            /* bwrap: TMPDIR/csdk-bench-bwrap-XXXXXX, 0711, with etc/ */
	void *seccomp;         /* bwrap: the local provider's filter program */
	size_t seccomp_len;
	int drop;              /* bwrap as root: run bwrap as uid/gid, as the provider does */
	uid_t uid;
	gid_t gid;
};

static char *find_in_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char *full;

	if (!path || !*path)
		path = "/usr/bin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (asprintf(&full, "%.*s/%s", (int)(end - p), end == p ? "." : p, name) < 0)
			return NULL;
		if (access(full, X_OK) == 0)
			return full;
		free(full);
	}
	return NULL;
}

static void push_all(const char **argv, size_t *n, const char *const *words)
{
	while (*words)
		argv[(*n)++] = *words++;
}

/* /usr's neighbours as the host has them: a link stays a link, a directory is bound read-only. */
static void push_sysdirs(const char **argv, size_t *n, char links[][4096])
{
	static const char *const sysdirs[] = { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", NULL };
	size_t i;

	for (i = 0; sysdirs[i]; i++) {
		struct stat sb;
		ssize_t len;

		if (lstat(sysdirs[i], &sb) < 0)
			continue;
		if (S_ISLNK(sb.st_mode) && (len = readlink(sysdirs[i], links[i], sizeof(links[i]) - 1)) > 0) {
			links[i][len] = '\0';
			argv[(*n)++] = "--symlink";
			argv[(*n)++] = links[i];
		} else if (S_ISDIR(sb.st_mode)) {
			argv[(*n)++] = "--ro-bind";
			argv[(*n)++] = sysdirs[i];
		} else {
			continue;
		}
		argv[(*n)++] = sysdirs[i];
	}
}

/*
 * bwrap: the argv plugins/local/isolation.c (localp_bwrap_argv) builds for a
 * foreground command of a sandbox with network=none, flag for flag: its own
 * network namespace, the user namespace, the seccomp filter and --info-fd,
 * a synthetic /etc (etc), home and tmp standing for the sandbox's.
 * bwrap-bare: the shorter argv this baseline had before the provider gained
 * those (no network or user namespace, no filter, the host's /etc).
 * bwrap-isolated: the local argv of network=isolated (--block-fd, --sync-fd).
 * argv has room for 112.
 */
static void bwrap_argv(const char **argv, char links[][4096], const struct bwrap_state *st, const char *etc,
		       const char *home, const char *tmp, const char *command)
{
	static const char *const bare_head[] = {
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session",
		"--hostname", "sandbox", "--ro-bind", "/usr", "/usr", NULL
	};
	static const char *const local_ns[] = {
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", NULL
	};
	static const char *const isolated_fds[] = { "--block-fd", FD_ARG(BLOCK_FD), "--sync-fd", FD_ARG(SYNC_FD), NULL };
	static const char *const local_head[] = {
		"--die-with-parent", "--unshare-user", "--uid", INSIDE_UID, "--gid", INSIDE_UID, "--new-session",
		"--seccomp", FD_ARG(SECCOMP_FD), "--info-fd", FD_ARG(INFO_FD), "--hostname", "sandbox", "--ro-bind", "/usr", "/usr", NULL
	};
	static const char *const system_mounts[] = {
		"--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve",
		"--proc", "/proc", "--dev", "/dev", NULL
	};
	static const char *const environment[] = {
		"--chdir", "/home/sandbox", "--clearenv", "--setenv", "PATH", SANDBOX_PATH,
		"--setenv", "HOME", "/home/sandbox", "--setenv", "TMPDIR", "/tmp", "--setenv", "LANG", "C.UTF-8",
		"--setenv", "USER", "sandbox", "/bin/sh", "-c", NULL
	};
	size_t n = 0;

	argv[n++] = st->bwrap;
	if (!st->bare)
		push_all(argv, &n, local_ns);
	if (st->isolated)
		push_all(argv, &n, isolated_fds);
	push_all(argv, &n, st->bare ? bare_head : local_head);
	push_sysdirs(argv, &n, links);
	argv[n++] = "--ro-bind";
	argv[n++] = etc;
	argv[n++] = "/etc";
	push_all(argv, &n, system_mounts);
	argv[n++] = "--bind";
	argv[n++] = home;
	argv[n++] = "/home/sandbox";
	argv[n++] = "--bind";
	argv[n++] = tmp;
	argv[n++] = "/tmp";
	push_all(argv, &n, environment);
	argv[n++] = command;
	argv[n] = NULL;
}

/* A fresh dir under base with home/ and tmp/ in it (the sandbox user's);
 * -1 (said in it) when it cannot be made. */
static int make_sandbox_dirs(struct tool_bench_iter *it, const struct bwrap_state *st, char dir[4096], char home[4200], char tmp[4200])
{
	snprintf(dir, 4096, "%s/csdk-bench-bwrap-XXXXXX", st->bare ? st->tmpdir : st->base);
	if (!mkdtemp(dir)) {
		tool_bench_iter_fail(it, "cannot create a directory under %s: %s", st->bare ? st->tmpdir : st->base, strerror(errno));
		return -1;
	}
	snprintf(home, 4200, "%s/home", dir);
	snprintf(tmp, 4200, "%s/tmp", dir);
	if ((!st->bare && chmod(dir, 0711) < 0) || mkdir(home, 0700) < 0 || mkdir(tmp, 0700) < 0 ||
	    (st->drop && (chown(home, st->uid, st->gid) < 0 || chown(tmp, st->uid, st->gid) < 0))) {
		tool_bench_iter_fail(it, "cannot create %s: %s", home, strerror(errno));
		tool_bench_rmtree(dir);
		return -1;
	}
	return 0;
}

/* The filter on a memfd, as the provider hands it to bwrap. */
static int seccomp_memfd(const struct bwrap_state *st)
{
	int fd = memfd_create("csdk-seccomp", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write(fd, st->seccomp, st->seccomp_len) != (ssize_t)st->seccomp_len || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Child of run_local (async-signal-safe calls only); net's ends on 5 and 6 when not NULL. */
static void local_child(const struct bwrap_state *st, char *const *argv, int out, int info, int filter,
			const struct tool_bench_netiso *net)
{
	static char *const env[] = { (char *)"PATH=" SANDBOX_PATH, NULL };
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	setsid();
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 || dup2(info, INFO_FD) < 0 ||
	    dup2(filter, SECCOMP_FD) < 0)
		_exit(127);
	if (net && (dup2(net->block[0], BLOCK_FD) < 0 || dup2(net->sync[1], SYNC_FD) < 0))
		_exit(127);
	syscall(SYS_close_range, net ? SYNC_FD + 1 : SECCOMP_FD + 1, ~0U, 0);
	if (st->drop && (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, st->gid, st->gid, st->gid) < 0 ||
			 syscall(SYS_setresuid, st->uid, st->uid, st->uid) < 0))
		_exit(126);
	execve(argv[0], argv, env);
	_exit(127);
}

/* bwrap-isolated: the namespace's network, once bwrap said its pid; -1 (said in err, bwrap killed) when it failed. */
static int local_net(const struct bwrap_state *st, struct tool_bench_netiso *net, const char *dir, pid_t bwrap,
		     pid_t nspid, char *err, size_t len)
{
	char log[4200];
	struct tool_bench_netiso_how how = { st->slirp, log, st->drop, st->uid, st->gid };

	snprintf(log, sizeof(log), "%s/slirp4netns.log", dir);
	if (nspid <= 0)
		snprintf(err, len, "bubblewrap did not start the command");
	else if (tool_bench_netiso_start(net, &how, nspid, err, len) == 0)
		return 0;
	kill(-bwrap, SIGKILL);
	return -1;
}

/* The local argv run as the provider runs it: its pid read from --info-fd,
 * with net (bwrap-isolated) the namespace's network set up before the
 * command runs, output to the end, then reaped. The status, or -1 (said in
 * err). */
static int run_local(const struct bwrap_state *st, char *const *argv, const char *dir, int *status_out,
		     char **output_out, char *err, size_t len)
{
	int op[2] = { -1, -1 }, ip[2] = { -1, -1 }, filter = -1, status = 0, rc = -1, netrc = 0;
	struct tool_bench_netiso net;
	char *buf = NULL;
	pid_t pid = -1, nspid;

	*status_out = -1;
	*output_out = NULL;
	snprintf(err, len, "cannot run %s: ", st->bwrap);
	tool_bench_netiso_init(&net);
	if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ip, O_CLOEXEC) < 0 || (filter = seccomp_memfd(st)) < 0 ||
	    (st->isolated && tool_bench_netiso_open(&net) < 0) || (pid = fork()) < 0)
		goto out;
	if (pid == 0)
		local_child(st, argv, op[1], ip[1], filter, st->isolated ? &net : NULL);
	close(op[1]);
	close(ip[1]);
	op[1] = ip[1] = -1;
	nspid = csdku_read_bwrap_pid(ip[0], CSDKU_BWRAP_INFO_MS);
	if (st->isolated)
		netrc = local_net(st, &net, dir, pid, nspid, err, len);
	read_head(op[0], &buf);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			goto out;
	if (netrc == 0) {
		*status_out = status;
		*output_out = buf;
		buf = NULL;
		rc = 0;
	}
out:
	if (rc && netrc == 0)
		snprintf(err + strlen(err), len - strlen(err), "%s", strerror(errno));
	tool_bench_netiso_end(&net);
	free(buf);
	for (int i = 0; i < 2; i++) {
		if (op[i] >= 0)
			close(op[i]);
		if (ip[i] >= 0)
			close(ip[i]);
	}
	if (filter >= 0)
		close(filter);
	return rc;
}

static void bwrap_iterate(struct tool_bench_target *t, struct tool_bench_iter *it)
{
	struct bwrap_state *st = t->state;
	char dir[4096], home[4200], tmp[4200], etc[4200], links[6][4096];
	const char *argv[112];
	int64_t t0, t1, t2;

	it->exit_code = -1;
	t0 = tool_bench_now_ns();
	if (make_sandbox_dirs(it, st, dir, home, tmp) < 0)
		return;
	t1 = tool_bench_now_ns();
	it->create_ms = (double)(t1 - t0) / NS_PER_MS;
	snprintf(etc, sizeof(etc), "%s/etc", st->bare ? "" : st->base);
	bwrap_argv(argv, links, st, etc, home, tmp, t->command);
	if (st->bare) {
		run_measured(it, (char *const *)argv);
	} else {
		char *output = NULL, err[512];
		int status;

		if (run_local(st, (char *const *)argv, dir, &status, &output, err, sizeof(err)) < 0)
			tool_bench_iter_fail(it, "%s", err);
		else
			judge_status(it, status, output, st->bwrap);
		free(output);
	}
	t2 = tool_bench_now_ns();
	it->command_ms = (double)(t2 - t1) / NS_PER_MS;
	it->tti_ms = (double)(t2 - t0) / NS_PER_MS;
	tool_bench_rmtree(dir);
	it->destroy_ms = (double)(tool_bench_now_ns() - t2) / NS_PER_MS;
}

static void bwrap_release(struct tool_bench_target *t)
{
	struct bwrap_state *st = t->state;

	if (st) {
		if (st->base)
			tool_bench_rmtree(st->base);
		free(st->base);
		free(st->seccomp);
		free(st->bwrap);
		free(st->slirp);
		free(st->tmpdir);
		free(st);
	}
}

/*
 * What the local argv needs once per run, as the provider has it once per
 * state directory: a copy of /etc (cp -a: what is not world-readable stays
 * so), the filter program, and as root the sandbox uid (CSDK_LOCAL_SANDBOX_UID).
 */
static int bwrap_local_setup(struct bwrap_state *st, const char *name)
{
	const char *uid = getenv("CSDK_LOCAL_SANDBOX_UID"), *what;
	char etc[4200], *cp[] = { (char *)"cp", (char *)"-a", (char *)"/etc", etc, NULL }, *end;
	int status, rc;

	if (asprintf(&st->base, "%s/csdk-bench-local-XXXXXX", st->tmpdir) < 0) {
		st->base = NULL;
		tool_error("out of memory");
		return -1;
	}
	if (!mkdtemp(st->base) || chmod(st->base, 0711) < 0) {
		tool_error("bench: baseline '%s': cannot create %s: %s; set TMPDIR to a writable directory", name, st->base, strerror(errno));
		free(st->base);
		st->base = NULL;
		return -1;
	}
	snprintf(etc, sizeof(etc), "%s/etc", st->base);
	if (tool_bench_run_argv(&status, cp, NULL) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		tool_error("bench: baseline '%s': cannot copy /etc to %s (cp -a); set TMPDIR to a directory with room", name, etc);
		return -1;
	}
	if ((rc = csdku_seccomp_program(&st->seccomp, &st->seccomp_len, &what))) {
		tool_error("bench: baseline '%s': cannot build the seccomp filter (%s: %s)", name, what, strerror(-rc));
		return -1;
	}
	if (geteuid() == 0) {
		unsigned long v = uid && *uid ? strtoul(uid, &end, 10) : LOCAL_SANDBOX_UID;

		if (uid && *uid && (*end || v == 0 || v > 0xfffffffeul)) {
			tool_error("bench: baseline '%s': CSDK_LOCAL_SANDBOX_UID '%s' is not a uid above 0; unset it or give the provider's", name, uid);
			return -1;
		}
		st->drop = 1;
		st->uid = (uid_t)v;
		st->gid = (gid_t)v;
	}
	return 0;
}

/* bwrap-isolated's slirp4netns and the /dev/net/tun it opens; -1 after saying what to install. */
static int slirp_setup(struct bwrap_state *st, const char *name)
{
	struct stat sb;

	if (!(st->slirp = find_in_path("slirp4netns"))) {
		tool_error("bench: baseline '%s': 'slirp4netns' was not found in PATH; install slirp4netns (apt-get install slirp4netns) or drop --baseline %s",
			   name, name);
		return -1;
	}
	if (stat("/dev/net/tun", &sb) < 0 || !S_ISCHR(sb.st_mode)) {
		tool_error("bench: baseline '%s': there is no /dev/net/tun for slirp4netns; load the tun module (modprobe tun) or drop --baseline %s",
			   name, name);
		return -1;
	}
	return 0;
}

/* bare: bwrap-bare; isolated: bwrap-isolated. */
static int bwrap_target(struct tool_bench_target *t, int bare, int isolated)
{
	struct bwrap_state *st = calloc(1, sizeof(*st));
	const char *tmpdir = getenv("TMPDIR");
	char *vargv[3] = { NULL, (char *)"--version", NULL };

	t->state = st;
	t->release = bwrap_release;
	if (!st || !(st->tmpdir = strdup(tmpdir && *tmpdir ? tmpdir : "/tmp"))) {
		tool_error("out of memory");
		return -1;
	}
	st->bare = bare;
	st->isolated = isolated;
	if (!(st->bwrap = find_in_path("bwrap"))) {
		tool_error("bench: baseline '%s': 'bwrap' was not found in PATH; install bubblewrap (apt-get install bubblewrap) or drop --baseline %s",
			   t->name, t->name);
		return -1;
	}
	if ((isolated && slirp_setup(st, t->name) < 0) || (!bare && bwrap_local_setup(st, t->name) < 0))
		return -1;
	vargv[0] = st->bwrap;
	t->version = tool_version(vargv);
	t->iterate = bwrap_iterate;
	return 0;
}

/* ------------------------------------------------------------- docker-cli */

static void docker_iterate(struct tool_bench_target *t, struct tool_bench_iter *it)
{
	char *argv[] = { (char *)"docker", (char *)"run", (char *)"--rm", (char *)t->state,
			 (char *)"sh", (char *)"-c", (char *)t->command, NULL };
	int64_t t0 = tool_bench_now_ns();

	run_measured(it, argv);
	it->tti_ms = it->command_ms = (double)(tool_bench_now_ns() - t0) / NS_PER_MS;
}

static void docker_release(struct tool_bench_target *t)
{
	free(t->state);
}

/* The first line a tool prints for argv (its version), or NULL. */
static char *tool_version(char *const *argv)
{
	char *out = NULL;
	int status;

	if (tool_bench_run_argv(&status, argv, &out) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || !out) {
		free(out);
		return NULL;
	}
	out[strcspn(out, "\n")] = '\0';
	return out;
}

int tool_bench_baseline_known(const char *name)
{
	static const char *const names[] = { "spawn", "bwrap", "bwrap-isolated", "bwrap-bare", "docker-cli" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

int tool_bench_target_baseline(struct tool_bench_target **out, const char *name,
				const char *command, const char *image)
{
	struct tool_bench_target *t;

	*out = NULL;
	if (!(t = calloc(1, sizeof(*t))) || !(t->name = strdup(name))) {
		free(t);
		tool_error("out of memory");
		return -1;
	}
	t->kind = "baseline";
	t->command = command;
	t->concurrent = 1;
	if (strcmp(name, "spawn") == 0) {
		t->iterate = spawn_iterate;
		t->version = strdup("/bin/sh");
	} else if (strcmp(name, "bwrap") == 0 || strcmp(name, "bwrap-bare") == 0 || strcmp(name, "bwrap-isolated") == 0) {
		if (bwrap_target(t, strcmp(name, "bwrap-bare") == 0, strcmp(name, "bwrap-isolated") == 0) < 0) {
			tool_bench_target_free(t);
			return -1;
		}
	} else if (strcmp(name, "docker-cli") == 0) {
		char *vargv[] = { (char *)"docker", (char *)"version", (char *)"--format",
				  (char *)"{{.Client.Version}}/{{.Server.Version}}", NULL };
		char *path = find_in_path("docker");

		if (!path) {
			tool_bench_target_free(t);
			tool_error("bench: baseline 'docker-cli': 'docker' was not found in PATH; install the docker CLI or drop --baseline docker-cli");
			return -1;
		}
		free(path);
		if (!(t->state = strdup(image))) {
			tool_bench_target_free(t);
			tool_error("out of memory");
			return -1;
		}
		t->release = docker_release;
		t->version = tool_version(vargv);
		t->iterate = docker_iterate;
	} else {
		tool_bench_target_free(t);
		tool_error("bench: unknown baseline '%s'; use " TOOL_BENCH_BASELINES, name);
		return -1;
	}
	*out = t;
	return 0;
}
