#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "local.h"

extern char **environ;

#define SANDBOX_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DRAIN_MS 2000

struct launch {
	struct csdkp_strv argv, env;
	int cwd_fd;              /* -1: use cwd_path */
	char *cwd_path;          /* unisolated default directory */
	int bwrap;
	rlim_t memory, processes, cpu_time;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void env_set(struct csdkp_strv *env, const char *key, const char *value)
{
	size_t kl = strlen(key), i;

	for (i = 0; i < env->n; i++) {
		if (!strncmp(env->v[i], key, kl) && env->v[i][kl] == '=') {
			free(env->v[i]);
			memmove(env->v + i, env->v + i + 1, (env->n - i) * sizeof(char *));
			env->n--;
			break;
		}
	}
	csdkp_strv_pushf(env, "%s=%s", key, value);
}

/* Only async-signal-safe calls from here on: the host may have threads. */
static void move_fd(int from, int to)
{
	if (from == to)
		fcntl(to, F_SETFD, 0);
	else
		dup2(from, to);
}

static void child_exec(const struct launch *l, unsigned int first_to_close)
{
	static const char msg[] = "csdk-local: cannot execute the command runner\n";
	struct rlimit rl;

	if (l->cwd_fd >= 0) {
		if (fchdir(l->cwd_fd) < 0)
			_exit(127);
	} else if (l->cwd_path && chdir(l->cwd_path) < 0) {
		_exit(127);
	}
	syscall(SYS_close_range, first_to_close, ~0U, 0);
	if (l->memory) {
		rl.rlim_cur = rl.rlim_max = l->memory;
		setrlimit(RLIMIT_AS, &rl);
	}
	if (l->processes) {
		rl.rlim_cur = rl.rlim_max = l->processes;
		setrlimit(RLIMIT_NPROC, &rl);
	}
	if (l->cpu_time) {
		rl.rlim_cur = rl.rlim_max = l->cpu_time;
		setrlimit(RLIMIT_CPU, &rl);
	}
	signal(SIGPIPE, SIG_DFL);
	execve(l->argv.v[0], l->argv.v, l->env.v);
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(127);
	_exit(127);
}

static int open_log(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, char *name, size_t namelen, int *fd_out)
{
	int root, dfd = -1, rc;
	char hex[9];

	if ((rc = csdkp_root_open(ctx, sb, &root)))
		return rc;
	rc = csdkp_path_mkdirs(root, sb, "home/.csdk/logs", &dfd);
	close(root);
	if (rc)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot create %s/.csdk/logs in sandbox %s: %s", CSDKP_INSIDE_HOME, sb->id, strerror(-rc));
	csdkp_random_hex(hex, 4);
	snprintf(name, namelen, "bg-%lld-%s.log", (long long)csdkp_now_ms(), hex);
	*fd_out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	rc = *fd_out < 0 ? errno : 0;
	close(dfd);
	if (rc)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot create the log file %s in sandbox %s: %s", name, sb->id, strerror(rc));
	return 0;
}

static int run_background(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, struct launch *l, int *exit_code_out)
{
	char name[96], info[1024];
	int logfd = -1, null, ip[2] = { -1, -1 }, rc, status;
	size_t got = 0;
	pid_t first;
	long nspid = 0;

	if ((rc = open_log(ctx, sb, name, sizeof(name), &logfd)))
		return rc;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || (l->bwrap && pipe2(ip, O_CLOEXEC) < 0)) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot start a background command in sandbox %s: %s", sb->id, strerror(errno));
		goto out;
	}
	/* Detach with a double fork: the command's session outlives this call
	 * and is reaped by init, never left as a zombie of the host. */
	first = fork();
	if (first == 0) {
		pid_t second;

		setsid();
		second = fork();
		if (second == 0) {
			move_fd(null, 0);
			move_fd(logfd, 1);
			dup2(1, 2);
			if (ip[1] >= 0)
				move_fd(ip[1], 3);
			child_exec(l, ip[1] >= 0 ? 4 : 3);
		}
		_exit(second < 0 ? 1 : 0);
	}
	if (first < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot fork for a background command in sandbox %s: %s", sb->id, strerror(errno));
		goto out;
	}
	while (waitpid(first, &status, 0) < 0 && errno == EINTR)
		;
	if (ip[1] >= 0) {
		int64_t deadline = mono_ms() + 10000;

		close(ip[1]);
		ip[1] = -1;
		while (got < sizeof(info) - 1) {
			struct pollfd pfd = { ip[0], POLLIN, 0 };
			int64_t left = deadline - mono_ms();
			ssize_t n;

			if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
				break;
			n = read(ip[0], info + got, sizeof(info) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			info[got] = '\0';
			if (strchr(info, '}'))
				break;
		}
		info[got] = '\0';
		{
			char *p = strstr(info, "\"child-pid\"");
			if (p && (p = strchr(p, ':')))
				nspid = strtol(p + 1, NULL, 10);
		}
		if (nspid <= 0) {
			kill(-first, SIGKILL);
			rc = ctx->host->error(ctx->host, CSDK_EBACKEND,
				"bubblewrap did not start the background command in sandbox %s; see %s/.csdk/logs/%s", sb->id, CSDKP_INSIDE_HOME, name);
			goto out;
		}
	}
	rc = csdkp_record_background(ctx, sb, first, (pid_t)nspid);
	if (rc) {
		if (nspid > 0)
			kill((pid_t)nspid, SIGKILL);
		kill(-first, SIGKILL);
		goto out;
	}
	*exit_code_out = 0;
out:
	if (logfd >= 0)
		close(logfd);
	if (null >= 0)
		close(null);
	if (ip[0] >= 0)
		close(ip[0]);
	if (ip[1] >= 0)
		close(ip[1]);
	return rc;
}

static void capture_add(struct csdkp_capture *c, const char *data, size_t n)
{
	if (!c || c->len >= c->max)
		return;
	if (n > c->max - c->len)
		n = c->max - c->len;
	if (c->len + n + 1 > c->cap) {
		size_t cap = c->len + n + 1 > 4096 ? c->len + n + 1 : 4096;
		char *g = realloc(c->data, cap);
		if (!g)
			return;
		c->data = g;
		c->cap = cap;
	}
	memcpy(c->data + c->len, data, n);
	c->len += n;
	c->data[c->len] = '\0';
}

static void short_command(char *out, size_t outlen, const char *command)
{
	size_t n = strcspn(command, "\r\n");

	if (n > 60 || command[n])
		snprintf(out, outlen, "%.*s...", (int)(n > 60 ? 60 : n), command);
	else
		snprintf(out, outlen, "%s", command);
}

static int run_foreground(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, struct launch *l,
			  const char *command, int64_t timeout_ms, struct csdk_sink *sink,
			  int *exit_code_out, struct csdkp_capture *capture)
{
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 }, null = -1, pidfd = -1, status = 0, rc = 0;
	int reaped = 0, timed_out = 0, cancelled = 0, over = 0;
	uint64_t counts[3] = { 0, 0, 0 };
	int64_t start = mono_ms(), drain_until = 0;
	pid_t pid;
	char buf[65536];

	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot set up pipes for a command in sandbox %s: %s", sb->id, strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		setsid();
		move_fd(null, 0);
		move_fd(op[1], 1);
		move_fd(ep[1], 2);
		child_exec(l, 3);
	}
	if (pid < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot fork for a command in sandbox %s: %s", sb->id, strerror(errno));
		goto out;
	}
	close(op[1]);
	close(ep[1]);
	op[1] = ep[1] = -1;
	fcntl(op[0], F_SETFL, O_NONBLOCK);
	fcntl(ep[0], F_SETFL, O_NONBLOCK);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	for (;;) {
		struct pollfd pf[3];
		int nf = 0, wait_ms = -1, i;
		int64_t now = mono_ms();

		if (op[0] >= 0)
			pf[nf++] = (struct pollfd){ op[0], POLLIN, 0 };
		if (ep[0] >= 0)
			pf[nf++] = (struct pollfd){ ep[0], POLLIN, 0 };
		if (!reaped && pidfd >= 0)
			pf[nf++] = (struct pollfd){ pidfd, POLLIN, 0 };
		if (reaped && op[0] < 0 && ep[0] < 0)
			break;
		if (!reaped && pidfd < 0)
			wait_ms = 50;
		if (!reaped && timeout_ms > 0 && !timed_out) {
			int64_t left = start + timeout_ms - now;
			if (left <= 0) {
				timed_out = 1;
				kill(-pid, SIGKILL);
				continue;
			}
			if (wait_ms < 0 || left < wait_ms)
				wait_ms = (int)left;
		}
		if (reaped) {
			int64_t left = drain_until - now;
			/* Something outside the process group (a daemon that called
			 * setsid) still holds the pipe: stop waiting for it. */
			if (left <= 0)
				break;
			wait_ms = (int)left;
		}
		if (poll(pf, (nfds_t)nf, wait_ms) < 0 && errno != EINTR) {
			rc = ctx->host->error(ctx->host, CSDK_EIO, "poll failed while running a command in sandbox %s: %s", sb->id, strerror(errno));
			kill(-pid, SIGKILL);
			break;
		}
		for (i = 0; i < nf; i++) {
			int fd = pf[i].fd;
			enum csdk_stream stream = fd == op[0] ? CSDK_STREAM_STDOUT : CSDK_STREAM_STDERR;
			ssize_t n;

			if (fd == pidfd || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(fd, buf, sizeof(buf));
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0) {
				close(fd);
				if (fd == op[0])
					op[0] = -1;
				else
					ep[0] = -1;
				continue;
			}
			if (cancelled || over)
				continue;
			if (counts[stream] + (uint64_t)n > ctx->output_limit) {
				n = (ssize_t)(ctx->output_limit - counts[stream]);
				over = stream;
				kill(-pid, SIGKILL);
			}
			counts[stream] += (uint64_t)n;
			if (stream == CSDK_STREAM_STDERR)
				capture_add(capture, buf, (size_t)n);
			if (n > 0 && ctx->host->sink_write(sink, stream, buf, (size_t)n)) {
				cancelled = 1;
				kill(-pid, SIGKILL);
			}
		}
		if (!reaped) {
			int done = 0;

			if (pidfd >= 0) {
				struct pollfd p1 = { pidfd, POLLIN, 0 };
				done = poll(&p1, 1, 0) > 0;
			} else {
				done = waitpid(pid, &status, WNOHANG) == pid;
				if (done)
					reaped = 2;
			}
			if (done) {
				/* Kill leftovers while the zombie still pins the group id. */
				kill(-pid, SIGKILL);
				if (reaped != 2)
					while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
						;
				reaped = 1;
				drain_until = mono_ms() + DRAIN_MS;
			}
		}
	}
	if (!reaped) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (rc)
		goto out;
	if (cancelled) {
		rc = ctx->host->error(ctx->host, CSDK_ECANCELLED, "the command in sandbox %s was stopped because the caller cancelled it", sb->id);
		goto out;
	}
	if (over) {
		char shortcmd[80];
		short_command(shortcmd, sizeof(shortcmd), command);
		rc = ctx->host->error(ctx->host, CSDK_EIO,
			"%s of '%s' exceeded the limit of %llu bytes; the command was killed; raise output_limit (CSDK_LOCAL_OUTPUT_LIMIT) or redirect the output to a file",
			over == CSDK_STREAM_STDOUT ? "stdout" : "stderr", shortcmd, (unsigned long long)ctx->output_limit);
		goto out;
	}
	if (timed_out)
		*exit_code_out = 124;
	else if (WIFEXITED(status))
		*exit_code_out = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		*exit_code_out = 128 + WTERMSIG(status);
	else
		*exit_code_out = 1;
out:
	if (pidfd >= 0)
		close(pidfd);
	if (null >= 0)
		close(null);
	for (int i = 0; i < 2; i++) {
		if (op[i] >= 0)
			close(op[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	return rc;
}

static void env_from_json(struct csdkp_strv *env, const json_t *obj)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v)
		if (json_is_string(v))
			env_set(env, k, json_string_value(v));
}

int csdkp_run(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, const char *command,
	      const struct csdk_run_options *opts, struct csdk_sink *out, int *exit_code_out,
	      struct csdkp_capture *capture_stderr)
{
	struct launch l;
	json_t *meta = NULL;
	char *rel = NULL, *cwd_inside = NULL;
	const char *iso;
	int rc, root = -1;
	size_t i;

	memset(&l, 0, sizeof(l));
	l.cwd_fd = -1;
	*exit_code_out = -1;
	if (!command)
		return ctx->host->error(ctx->host, CSDK_EINVAL, "no command given; pass a shell command string");
	if ((rc = csdkp_meta_load(ctx, sb, &meta)))
		return rc;
	iso = csdkp_meta_str(meta, "isolation");
	l.bwrap = iso && !strcmp(iso, "bubblewrap");
	if (l.bwrap && !ctx->bwrap) {
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "sandbox %s was created with bubblewrap but 'bwrap' is no longer in PATH; install bubblewrap", sb->id);
		goto out;
	}
	if (opts) {
		for (i = 0; i < opts->n_envs; i++) {
			if (!opts->envs[i].key || !opts->envs[i].key[0] || strchr(opts->envs[i].key, '=') || !opts->envs[i].value) {
				rc = ctx->host->error(ctx->host, CSDK_EINVAL, "environment variable entry %zu ('%s') is not valid; use a non-empty key without '=' and a value",
						      i, opts->envs[i].key ? opts->envs[i].key : "(null)");
				goto out;
			}
		}
		if (opts->timeout_ms < 0) {
			rc = ctx->host->error(ctx->host, CSDK_EINVAL, "timeout_ms %lld is negative; give milliseconds, or 0 for none", (long long)opts->timeout_ms);
			goto out;
		}
	}
	if (opts && opts->cwd) {
		if ((rc = csdkp_path_map(ctx, sb, opts->cwd, &rel)) || (rc = csdkp_root_open(ctx, sb, &root)))
			goto out;
		rc = csdkp_path_open(root, sb, rel, O_PATH | O_DIRECTORY, &l.cwd_fd);
		if (rc == -ENOENT) {
			rc = ctx->host->error(ctx->host, CSDK_ENOTFOUND, "working directory '%s' does not exist in sandbox %s; create it first (mkdir) or use an existing directory", opts->cwd, sb->id);
			goto out;
		} else if (rc == -ENOTDIR) {
			rc = ctx->host->error(ctx->host, CSDK_EINVAL, "working directory '%s' is not a directory in sandbox %s", opts->cwd, sb->id);
			goto out;
		} else if (rc) {
			rc = ctx->host->error(ctx->host, CSDK_EPERM, "path '%s' is outside the sandbox; use a path under %s or %s", opts->cwd, CSDKP_INSIDE_HOME, CSDKP_INSIDE_TMP);
			goto out;
		}
		if (!(cwd_inside = csdkp_path_inside(rel))) {
			rc = CSDK_ENOMEM;
			goto out;
		}
	}
	if (l.bwrap) {
		env_set(&l.env, "PATH", SANDBOX_PATH);
		env_set(&l.env, "HOME", CSDKP_INSIDE_HOME);
		env_set(&l.env, "TMPDIR", CSDKP_INSIDE_TMP);
		env_set(&l.env, "LANG", "C.UTF-8");
		env_set(&l.env, "USER", "sandbox");
	} else {
		char *p;
		for (i = 0; environ && environ[i]; i++)
			csdkp_strv_push(&l.env, environ[i]);
		if (asprintf(&p, "%s/home", sb->dir) >= 0) {
			env_set(&l.env, "HOME", p);
			free(p);
		}
		if (asprintf(&p, "%s/tmp", sb->dir) >= 0) {
			env_set(&l.env, "TMPDIR", p);
			free(p);
		}
	}
	env_from_json(&l.env, json_object_get(meta, "envs"));
	for (i = 0; opts && i < opts->n_envs; i++)
		env_set(&l.env, opts->envs[i].key, opts->envs[i].value);
	if (l.bwrap) {
		struct csdkp_strv none = { 0 };
		rc = csdkp_bwrap_argv(ctx, sb, meta, cwd_inside, &l.env, !(opts && opts->background),
				      opts && opts->background ? 3 : -1, command, &l.argv);
		csdkp_strv_free(&l.env);
		l.env = none;
		csdkp_strv_push(&l.env, "PATH=" SANDBOX_PATH);
		/* bwrap itself runs with an empty environment: --clearenv + --setenv build the inside one */
		if (rc)
			goto out;
		if (l.cwd_fd >= 0) {
			close(l.cwd_fd);
			l.cwd_fd = -1;
		}
	} else {
		csdkp_strv_push(&l.argv, "/bin/sh");
		csdkp_strv_push(&l.argv, "-c");
		csdkp_strv_push(&l.argv, command);
		if (l.cwd_fd < 0 && asprintf(&l.cwd_path, "%s/home", sb->dir) < 0)
			l.argv.failed = 1;
	}
	if (l.argv.failed || l.env.failed) {
		rc = CSDK_ENOMEM;
		goto out;
	}
	l.memory = (rlim_t)ctx->memory;
	l.processes = (rlim_t)ctx->processes;
	l.cpu_time = (rlim_t)ctx->cpu_time;
	if (opts && opts->background)
		rc = run_background(ctx, sb, &l, exit_code_out);
	else
		rc = run_foreground(ctx, sb, &l, command, opts ? opts->timeout_ms : 0, out, exit_code_out, capture_stderr);
out:
	if (l.cwd_fd >= 0)
		close(l.cwd_fd);
	if (root >= 0)
		close(root);
	free(l.cwd_path);
	csdkp_strv_free(&l.argv);
	csdkp_strv_free(&l.env);
	free(rel);
	free(cwd_inside);
	json_decref(meta);
	return rc;
}
