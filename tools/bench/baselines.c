#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"

#define NS_PER_MS 1e6

/* As the local provider gives its sandboxes (plugins/local/spawn.c). */
#define SANDBOX_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

int tool_bench_run_argv(int *status_out, char *const *argv, char **output_out)
{
	posix_spawn_file_actions_t fa;
	char *buf = NULL, chunk[65536];
	size_t len = 0;
	int fds[2], rc, status = 0, saved;
	ssize_t n;
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
	for (;;) {
		n = read(fds[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* Keep the first bytes only: enough to explain a failure. */
		if (output_out && len < 4096) {
			char *grown = realloc(buf, len + (size_t)n + 1);
			if (grown) {
				buf = grown;
				memcpy(buf + len, chunk, (size_t)n);
				len += (size_t)n;
				buf[len] = '\0';
			}
		}
	}
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
	if (WIFEXITED(status)) {
		it->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		it->exit_code = 128 + WTERMSIG(status);
	}
	if (it->exit_code != 0) {
		size_t n = 0;
		while (output && output[n] && output[n] != '\n' && n < 200)
			n++;
		tool_bench_iter_fail(it, "%s exited with status %d%s%.*s", argv[0], it->exit_code,
				      n ? ": " : "", (int)n, output ? output : "");
	} else {
		it->ok = 1;
	}
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

struct bwrap_state {
	char *bwrap;
	char *tmpdir;
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
 * The argv the local provider builds for a foreground command
 * (plugins/local/isolation.c, tool_bwrap_argv), over home and tmp standing
 * for the sandbox's. argv has room for 96.
 */
static void bwrap_argv(const char **argv, char links[][4096], const char *bwrap, const char *home, const char *tmp,
		       const char *command)
{
	static const char *const head[] = {
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session",
		"--hostname", "sandbox", "--ro-bind", "/usr", "/usr", NULL
	};
	static const char *const system_mounts[] = {
		"--ro-bind", "/etc", "/etc", "--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve",
		"--proc", "/proc", "--dev", "/dev", NULL
	};
	static const char *const environment[] = {
		"--chdir", "/home/sandbox", "--clearenv", "--setenv", "PATH", SANDBOX_PATH,
		"--setenv", "HOME", "/home/sandbox", "--setenv", "TMPDIR", "/tmp", "--setenv", "LANG", "C.UTF-8",
		"--setenv", "USER", "sandbox", "/bin/sh", "-c", NULL
	};
	size_t n = 0;

	argv[n++] = bwrap;
	push_all(argv, &n, head);
	push_sysdirs(argv, &n, links);
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

/* A fresh dir under tmpdir with home/ and tmp/ in it; -1 (said in it) when it cannot be made. */
static int make_sandbox_dirs(struct tool_bench_iter *it, const char *tmpdir, char dir[4096], char home[4200], char tmp[4200])
{
	snprintf(dir, 4096, "%s/csdk-bench-bwrap-XXXXXX", tmpdir);
	if (!mkdtemp(dir)) {
		tool_bench_iter_fail(it, "cannot create a directory under %s: %s", tmpdir, strerror(errno));
		return -1;
	}
	snprintf(home, 4200, "%s/home", dir);
	snprintf(tmp, 4200, "%s/tmp", dir);
	if (mkdir(home, 0700) < 0 || mkdir(tmp, 0700) < 0) {
		tool_bench_iter_fail(it, "cannot create %s: %s", home, strerror(errno));
		tool_bench_rmtree(dir);
		return -1;
	}
	return 0;
}

static void bwrap_iterate(struct tool_bench_target *t, struct tool_bench_iter *it)
{
	struct bwrap_state *st = t->state;
	char dir[4096], home[4200], tmp[4200], links[6][4096];
	const char *argv[96];
	int64_t t0, t1, t2;

	it->exit_code = -1;
	t0 = tool_bench_now_ns();
	if (make_sandbox_dirs(it, st->tmpdir, dir, home, tmp) < 0)
		return;
	t1 = tool_bench_now_ns();
	it->create_ms = (double)(t1 - t0) / NS_PER_MS;
	bwrap_argv(argv, links, st->bwrap, home, tmp, t->command);
	run_measured(it, (char *const *)argv);
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
		free(st->bwrap);
		free(st->tmpdir);
		free(st);
	}
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
	} else if (strcmp(name, "bwrap") == 0) {
		struct bwrap_state *st = calloc(1, sizeof(*st));
		const char *tmpdir = getenv("TMPDIR");
		char *vargv[3] = { NULL, (char *)"--version", NULL };

		t->state = st;
		t->release = bwrap_release;
		if (!st || !(st->tmpdir = strdup(tmpdir && *tmpdir ? tmpdir : "/tmp"))) {
			tool_bench_target_free(t);
			tool_error("out of memory");
			return -1;
		}
		if (!(st->bwrap = find_in_path("bwrap"))) {
			tool_bench_target_free(t);
			tool_error("bench: baseline 'bwrap': 'bwrap' was not found in PATH; install bubblewrap (apt-get install bubblewrap) or drop --baseline bwrap");
			return -1;
		}
		vargv[0] = st->bwrap;
		t->version = tool_version(vargv);
		t->iterate = bwrap_iterate;
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
		tool_error("bench: unknown baseline '%s'; use spawn, bwrap or docker-cli", name);
		return -1;
	}
	*out = t;
	return 0;
}
