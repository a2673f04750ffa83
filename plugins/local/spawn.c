#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local.h"

extern char **environ;

#define SANDBOX_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DRAIN_MS 2000

struct launch {
	struct localp_strv argv, env;
	struct localp_strv stage;  /* as root: (LOCALP_STAGE/NAME, host path) pairs bwrap binds from */
	int drop;                 /* as root: become uid/gid before executing bwrap */
	uid_t uid;
	gid_t gid;
	int cwd_fd;              /* -1: use cwd_path */
	char *cwd_path;          /* unisolated default directory */
	int bwrap;
	int seccomp_fd;          /* moved to LOCALP_SECCOMP_FD in the child, -1: none */
	int listen_fd;           /* the agent's listening socket, moved to LOCALP_AGENT_FD, -1: none */
	char cgroup_procs[LOCALP_CGROUPS][256]; /* the sandbox cgroups' tasks files, "" when none */
	uint64_t memory_max;     /* the sandbox's memory cgroup limit, 0: none */
	long oom_kills;          /* its OOM kills before the command */
	rlim_t memory, processes, cpu_time;
	struct localp_net net;    /* network=isolated under bubblewrap */
};

static void env_set(struct localp_strv *env, const char *key, const char *value)
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
	localp_strv_pushf(env, "%s=%s", key, value);
}

/* Only async-signal-safe calls from here on: the host may have threads. */
static void move_fd(int from, int to)
{
	if (from == to)
		fcntl(to, F_SETFD, 0);
	else
		dup2(from, to);
}

static void child_fail(const char *msg, size_t len)
{
	if (write(2, msg, len) < 0)
		_exit(127);
	_exit(127);
}

/* "/proc/self/fd/N" without snprintf (not async-signal-safe). */
static void fd_path(char buf[32], int fd)
{
	char digits[12];
	int n = 0, at = 14;

	memcpy(buf, "/proc/self/fd/", 14);
	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) > 0);
	while (n > 0)
		buf[at++] = digits[--n];
	buf[at] = '\0';
}

/*
 * As root, before the drop: the sandbox uid may not reach the bind sources
 * (a state directory under /root, 0700), so they are mounted at LOCALP_STAGE
 * in a mount namespace of this process's own, where bwrap (and only it)
 * finds them. They are opened before the staging tmpfs covers LOCALP_STAGE,
 * which may hold them (a state directory under /tmp). Nothing propagates
 * to the host's mounts.
 */
static int stage_binds(const struct localp_strv *stage)
{
	int fds[LOCALP_STAGE_MAX], n = 0, fd, rc = -1;
	struct stat st;
	char src[32];

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return -1;
	for (size_t i = 0; i + 1 < stage->n && n < LOCALP_STAGE_MAX; i += 2)
		if ((fds[n++] = open(stage->v[i + 1], O_PATH | O_CLOEXEC)) < 0)
			goto out;
	if (mount("csdk-stage", LOCALP_STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16k,nr_inodes=16") < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		const char *dst = stage->v[2 * i];

		if (fstat(fds[i], &st) < 0)
			goto out;
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(dst, 0755) < 0)
				goto out;
		} else if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0 || close(fd) < 0) {
			goto out;
		}
		fd_path(src, fds[i]);
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			goto out;
	}
	rc = chdir("/");
out:
	while (n > 0)
		if (fds[--n] >= 0)
			close(fds[n]);
	return rc;
}

/* The seccomp filter and network pipes at their fixed numbers, and no other descriptor from first_to_close on. */
static void child_fds(const struct launch *l, unsigned int first_to_close)
{
	if (l->seccomp_fd >= 0) {
		dup2(l->seccomp_fd, LOCALP_SECCOMP_FD);
		first_to_close = LOCALP_SECCOMP_FD + 1;
	}
	if (l->net.on) {
		dup2(l->net.block[0], LOCALP_NET_BLOCK_FD);
		dup2(l->net.sync[1], LOCALP_NET_SYNC_FD);
		if (first_to_close < LOCALP_NET_BLOCK_FD)
			syscall(SYS_close_range, first_to_close, LOCALP_NET_BLOCK_FD - 1, 0);
		first_to_close = LOCALP_NET_SYNC_FD + 1;
	}
	if (l->listen_fd >= 0) {
		dup2(l->listen_fd, LOCALP_AGENT_FD);
		if (first_to_close < LOCALP_AGENT_FD)
			syscall(SYS_close_range, first_to_close, LOCALP_AGENT_FD - 1, 0);
		first_to_close = LOCALP_AGENT_FD + 1;
	}
	syscall(SYS_close_range, first_to_close, ~0U, 0);
}

static void child_limit(int resource, rlim_t value)
{
	struct rlimit rl;

	if (!value)
		return;
	rl.rlim_cur = rl.rlim_max = value;
	setrlimit(resource, &rl);
}

static void child_join_cgroups(const struct launch *l)
{
	static const char cg[] = "csdk-local: cannot join the sandbox's cgroup\n";

	for (int i = 0; i < LOCALP_CGROUPS; i++) {
		int fd;

		if (!l->cgroup_procs[i][0])
			continue;
		if ((fd = open(l->cgroup_procs[i], O_WRONLY | O_CLOEXEC)) < 0 || write(fd, "0", 1) != 1)
			child_fail(cg, sizeof(cg) - 1);
		close(fd);
	}
}

static void child_exec(const struct launch *l, unsigned int first_to_close)
{
	static const char msg[] = "csdk-local: cannot execute the command runner\n";
	static const char st[] = "csdk-local: cannot mount the sandbox's directories for its uid\n";
	static const char id[] = "csdk-local: cannot switch to the sandbox's uid (sandbox_uid)\n";

	if (l->cwd_fd >= 0) {
		if (fchdir(l->cwd_fd) < 0)
			_exit(127);
	} else if (l->cwd_path && chdir(l->cwd_path) < 0) {
		_exit(127);
	}
	child_fds(l, first_to_close);
	child_limit(RLIMIT_AS, l->memory);
	child_limit(RLIMIT_NPROC, l->processes);
	child_limit(RLIMIT_CPU, l->cpu_time);
	child_join_cgroups(l);
	if (l->drop && stage_binds(&l->stage) < 0)
		child_fail(st, sizeof(st) - 1);
	if (l->drop && localp_drop_to(l->uid, l->gid) < 0)
		child_fail(id, sizeof(id) - 1);
	signal(SIGPIPE, SIG_DFL);
	execve(l->argv.v[0], l->argv.v, l->env.v);
	child_fail(msg, sizeof(msg) - 1);
}

/* A background command's log, or the agent's (STATE/sandboxes/ID/run/agent.log, out of the sandbox's sight). */
static int open_log(struct localp_local *ctx, const struct localp_sandbox *sb, int agent, char *name, size_t namelen, int *fd_out)
{
	int root, dfd = -1, rc;
	char hex[9];

	if ((rc = localp_root_open(ctx, sb, &root)))
		return rc;
	if (agent)
		dfd = openat(root, LOCALP_RUN_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc = dfd < 0 ? -errno : 0;
	else
		rc = localp_path_mkdirs(root, sb, "home/.csdk/logs", &dfd);
	if (rc) {
		close(root);
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot open the log directory of sandbox %s: %s", sb->id, strerror(-rc));
	}
	csdkc_random_hex(hex, 4);
	if (agent)
		snprintf(name, namelen, "agent.log");
	else
		snprintf(name, namelen, "bg-%lld-%s.log", (long long)csdkc_now_ms(), hex);
	/* run/ is the sandbox user's in gateway mode: a FIFO put there must not block the host (ENXIO) */
	*fd_out = openat(dfd, name, O_WRONLY | O_CREAT | (agent ? O_TRUNC | O_NONBLOCK : O_EXCL) | O_NOFOLLOW | O_CLOEXEC, agent ? 0600 : 0644);
	rc = *fd_out < 0 ? errno : 0;
	if (!rc && !agent)
		localp_path_own(root, *fd_out);
	close(root);
	close(dfd);
	if (rc)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot create the log file %s in sandbox %s: %s", name, sb->id, strerror(rc));
	return 0;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

/* What a background command's process does before its exec: stdin on null, stdout and stderr on out, --info-fd on 3. */
struct cmd_start {
	const struct launch *l;
	int null, out, info_w;
};

static int cmd_child(void *arg)
{
	const struct cmd_start *c = arg;

	move_fd(c->null, 0);
	move_fd(c->out, 1);
	dup2(1, 2);
	if (c->info_w >= 0)
		move_fd(c->info_w, 3);
	child_exec(c->l, c->info_w >= 0 ? 4 : 3);
	return 127;
}

/*
 * Called from a single-threaded fork of the host (the copier, or the agent's
 * session leader): the command's process shares its memory and the caller
 * waits until it has exec'd, as posix_spawn does, so the host's page tables
 * are not copied a second time. The child makes only system calls, on a
 * stack of its own, and no handler may run in it: the caller has reset them.
 */
static pid_t cmd_spawn(const struct launch *l, int null, int out, int info_w)
{
	enum { STACK = 64 * 1024 };
	struct cmd_start c = { l, null, out, info_w };
	char *stack;
	pid_t pid;

	/* The sanitizers follow no stack switch (ASan would warn on the child's stderr, the log). */
	if (SANITIZED) {
		if ((pid = fork()) == 0)
			_exit(cmd_child(&c));
		return pid;
	}
	if ((stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0)) == MAP_FAILED)
		return -1;
	pid = clone(cmd_child, stack + STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	munmap(stack, STACK);
	return pid;
}

static void reset_signals(void)
{
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
}

/*
 * The log copier of a background command (async-signal-safe calls only):
 * starts the command with stdout and stderr on a pipe, copies the pipe to
 * the log until every writer has closed it, then waits for the command, so
 * that bwrap's --die-with-parent does not fire early. Past limit bytes it
 * writes the note and kills its whole process group, itself included.
 */
static void copier_main(const struct launch *l, int null, const int op[2], int logfd, int info_w,
			uint64_t limit, const char *note, size_t note_len)
{
	static const char failed[] = "csdk-local: cannot start the background command: fork failed\n";
	char buf[8192];
	uint64_t total = 0;
	sigset_t none;
	pid_t cmd;
	int in, out;

	reset_signals();
	cmd = cmd_spawn(l, null, op[1], info_w);
	if (cmd < 0) {
		(void)csdku_write_all(logfd, failed, sizeof(failed) - 1);
		_exit(1);
	}
	/* It lives on: keep none of the host's descriptors (an flock would stay held). */
	in = fcntl(op[0], F_DUPFD, 3);
	out = fcntl(logfd, F_DUPFD, 3);
	dup2(in, 0);
	dup2(out, 1);
	syscall(SYS_close_range, 2, ~0U, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((uint64_t)n > limit - total) {
			(void)csdku_write_all(1, buf, (size_t)(limit - total));
			(void)csdku_write_all(1, note, note_len);
			kill(-getpgrp(), SIGKILL);
			_exit(1);
		}
		(void)csdku_write_all(1, buf, (size_t)n);
		total += (uint64_t)n;
	}
	while (waitpid(cmd, NULL, 0) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* The log and descriptors of a background command while it starts. */
struct bg {
	char name[96], note[160];
	size_t note_len;
	int agent, logfd, null, ip[2], op[2], go[2];
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void bg_close(struct bg *b)
{
	close_fd(&b->logfd);
	close_fd(&b->null);
	for (int i = 0; i < 2; i++) {
		close_fd(&b->ip[i]);
		close_fd(&b->op[i]);
		close_fd(&b->go[i]);
	}
}

static int bg_open(struct localp_local *ctx, const struct localp_sandbox *sb, const struct launch *l, struct bg *b)
{
	b->note_len = (size_t)snprintf(b->note, sizeof(b->note),
				       "\ncsdk-local: the output reached output_limit (%llu bytes); the command was killed\n",
				       (unsigned long long)ctx->output_limit);
	b->null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (b->null < 0 || (!b->agent && pipe2(b->op, O_CLOEXEC) < 0) || (l->bwrap && pipe2(b->ip, O_CLOEXEC) < 0) || pipe2(b->go, O_CLOEXEC) < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot start a background command in sandbox %s: %s", sb->id, strerror(errno));
	return 0;
}

/*
 * The first child: a new session, waiting for the byte on go, then the
 * copier's parent. The agent has no copier: its stdout and stderr are
 * run/agent.log itself, which no command can reach (docs/local-provider.md),
 * and it writes a few lines at most, so one process fewer starts it.
 */
static void bg_first_main(const struct launch *l, struct bg *b, uint64_t limit)
{
	pid_t child;
	char byte;

	close(b->go[1]);
	setsid();
	if (read(b->go[0], &byte, 1) != 1)
		_exit(1);
	close(b->go[0]);
	if (b->agent) {
		reset_signals();
		_exit(cmd_spawn(l, b->null, b->logfd, b->ip[1]) < 0 ? 1 : 0);
	}
	child = fork();
	if (child == 0)
		copier_main(l, b->null, b->op, b->logfd, b->ip[1], limit, b->note, b->note_len);
	_exit(child < 0 ? 1 : 0);
}

/* Detach: the first child starts a session, forks the copier and exits,
 * so the copier and the command are reaped by init, never left as
 * zombies of the host. The session's group is the first child's pid.
 * It goes on only once that group is recorded (a byte on go): a caller
 * killed before leaves nothing running that procs/ does not name. */
static int bg_detach(struct localp_local *ctx, const struct localp_sandbox *sb, const struct launch *l, struct bg *b,
		     struct localp_procs *reg, pid_t *first_out, unsigned long long *pgstart_out)
{
	pid_t first;
	int rc, status = 0;

	first = fork();
	if (first == 0)
		bg_first_main(l, b, ctx->output_limit);
	if (first < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot fork for a background command in sandbox %s: %s", sb->id, strerror(errno));
	*first_out = first;
	*pgstart_out = localp_proc_start(first);
	close_fd(&b->go[0]);
	rc = localp_procs_record(ctx, sb, reg, first, *pgstart_out, 0, 0);
	if (!rc && write(b->go[1], "g", 1) != 1)
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot start a background command in sandbox %s: %s", sb->id, strerror(errno));
	close_fd(&b->go[1]);
	while (waitpid(first, &status, 0) < 0 && errno == EINTR)
		;
	if (rc) {
		localp_procs_forget(reg);
		return rc;
	}
	close_fd(&b->op[1]);
	close_fd(&b->logfd);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot fork for a background command in sandbox %s; the system may be out of processes", sb->id);
	return 0;
}

/* Under bubblewrap: the pid of the namespace's init, from --info-fd (0 without bubblewrap). */
static int bg_await_ns(struct localp_local *ctx, const struct localp_sandbox *sb, int agent, struct bg *b,
		       struct localp_procs *reg, pid_t first, pid_t *nspid_out, unsigned long long *nsstart_out)
{
	*nspid_out = 0;
	*nsstart_out = 0;
	if (b->ip[1] < 0)
		return 0;
	close_fd(&b->ip[1]);
	if ((*nspid_out = csdku_read_bwrap_pid(b->ip[0], CSDKU_BWRAP_INFO_MS)) > 0) {
		*nsstart_out = localp_proc_start(*nspid_out);
		return 0;
	}
	kill(-first, SIGKILL);
	localp_procs_forget(reg);
	return ctx->host->error(ctx->host, CSDK_EBACKEND,
		"bubblewrap did not start the background command in sandbox %s; see %s/%s", sb->id,
		agent ? sb->dir : LOCALP_INSIDE_HOME "/.csdk/logs", agent ? LOCALP_RUN_DIR "/agent.log" : b->name);
}

static int run_background(struct localp_local *ctx, const struct localp_sandbox *sb, struct launch *l, int agent, int *exit_code_out)
{
	struct localp_procs reg = { -1, "" };
	struct bg b = { .agent = agent, .logfd = -1, .null = -1, .ip = { -1, -1 }, .op = { -1, -1 }, .go = { -1, -1 } };
	unsigned long long pgstart = 0, nsstart = 0;
	pid_t first = 0, nspid = 0;
	int rc;

	if ((rc = open_log(ctx, sb, agent, b.name, sizeof(b.name), &b.logfd)))
		return rc;
	if ((rc = bg_open(ctx, sb, l, &b)) || (rc = localp_procs_begin(ctx, sb, &reg)))
		goto out;
	if ((rc = bg_detach(ctx, sb, l, &b, &reg, &first, &pgstart)) ||
	    (rc = bg_await_ns(ctx, sb, agent, &b, &reg, first, &nspid, &nsstart)))
		goto out;
	rc = nspid > 0 ? localp_procs_update(ctx, sb, &reg, first, pgstart, nspid, nsstart) : 0;
	if (!rc && l->net.on)
		rc = localp_net_start(ctx, sb, &l->net, nspid, 1);
	if (rc) {
		if (nspid > 0)
			kill(nspid, SIGKILL);
		kill(-first, SIGKILL);
		goto out;
	}
	*exit_code_out = 0;
out:
	localp_net_end(&l->net, rc != 0);
	localp_procs_end(&reg);
	bg_close(&b);
	return rc;
}

/*
 * Unisolated commands have no bwrap --die-with-parent: this child of the
 * calling thread (async-signal-safe calls only) kills the command's process
 * group and drops its record when that thread dies. The caller ends it with
 * SIGKILL once the command is over.
 */
static pid_t start_watchdog(pid_t group, int procs_dfd, const char *record, pid_t parent)
{
	sigset_t all, term;
	pid_t w = fork();

	if (w != 0)
		return w;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (procs_dfd != 3)
		dup2(procs_dfd, 3);
	syscall(SYS_close_range, 0, 2, 0);
	syscall(SYS_close_range, 4, ~0U, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == parent) {
		sigemptyset(&term);
		sigaddset(&term, SIGTERM);
		while (sigwaitinfo(&term, NULL) < 0)
			;
	}
	kill(-group, SIGKILL);
	unlinkat(3, record, 0);
	_exit(0);
}

static void short_command(char *out, size_t outlen, const char *command)
{
	size_t n = strcspn(command, "\r\n");

	if (n > 60 || command[n])
		snprintf(out, outlen, "%.*s...", (int)(n > 60 ? 60 : n), command);
	else
		snprintf(out, outlen, "%s", command);
}

/* Before the command's leader is reaped: its group id stays pinned while the watchdog may still use it. */
static void stop_watchdog(pid_t *watchdog)
{
	if (*watchdog > 0) {
		kill(*watchdog, SIGKILL);
		while (waitpid(*watchdog, NULL, 0) < 0 && errno == EINTR)
			;
	}
	*watchdog = -1;
}

/* One foreground command: its pipes, its process and what became of it. */
struct fg {
	struct localp_local *ctx;
	const struct localp_sandbox *sb;
	int op[2], ep[2], ip[2], sync[2];
	int null, pidfd, status;
	int reaped, timed_out, cancelled, over;
	uint64_t counts[3];
	int64_t start, drain_until;
	struct localp_procs reg;
	pid_t pid, watchdog;
};

/* Kills what is left of the group (while the zombie still pins its id),
 * stops watching it and reaps the runner unless that is done already. */
static void fg_reap(struct fg *f, int waited)
{
	kill(-f->pid, SIGKILL);
	localp_procs_forget(&f->reg);
	stop_watchdog(&f->watchdog);
	if (!waited)
		while (waitpid(f->pid, &f->status, 0) < 0 && errno == EINTR)
			;
}

static void fg_child(struct fg *f, const struct launch *l)
{
	setsid();
	/* Unisolated, the command starts only once its group exists, is
	 * recorded and is watched: end of file means the caller is gone. */
	if (f->sync[1] >= 0) {
		char c = 'r';
		ssize_t n;

		close(f->sync[0]);
		if (write(f->sync[1], &c, 1) != 1)
			_exit(127);
		while ((n = read(f->sync[1], &c, 1)) < 0 && errno == EINTR)
			;
		if (n != 1)
			_exit(127);
	}
	move_fd(f->null, 0);
	move_fd(f->op[1], 1);
	move_fd(f->ep[1], 2);
	if (f->ip[1] >= 0)
		move_fd(f->ip[1], 3);
	child_exec(l, f->ip[1] >= 0 ? 4 : 3);
}

/* Pipes, the fork, the namespace's init read from bubblewrap, the record in
 * procs/ and (unisolated) the watchdog; on failure nothing is left running. */
static int fg_start(struct fg *f, struct launch *l)
{
	const struct csdk_host *host = f->ctx->host;
	unsigned long long pgstart, nsstart = 0;
	pid_t nspid = 0, parent = getpid();
	int rc = 0;

	f->null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (f->null < 0 || pipe2(f->op, O_CLOEXEC) < 0 || pipe2(f->ep, O_CLOEXEC) < 0 ||
	    (l->bwrap ? pipe2(f->ip, O_CLOEXEC) : socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sync)) < 0)
		return host->error(host, CSDK_EIO, "cannot set up pipes for a command in sandbox %s: %s", f->sb->id, strerror(errno));
	if ((rc = localp_procs_begin(f->ctx, f->sb, &f->reg)))
		return rc;
	f->pid = fork();
	if (f->pid == 0)
		fg_child(f, l);
	if (f->pid < 0)
		return host->error(host, CSDK_EIO, "cannot fork for a command in sandbox %s: %s", f->sb->id, strerror(errno));
	pgstart = localp_proc_start(f->pid);
	close(f->op[1]);
	close(f->ep[1]);
	f->op[1] = f->ep[1] = -1;
	if (f->ip[1] >= 0) {
		close(f->ip[1]);
		f->ip[1] = -1;
		if ((nspid = csdku_read_bwrap_pid(f->ip[0], CSDKU_BWRAP_INFO_MS)) > 0 && !(nsstart = localp_proc_start(nspid)))
			nspid = 0;
	}
	if (f->sync[0] >= 0) {
		char c;
		ssize_t n;

		close(f->sync[1]);
		f->sync[1] = -1;
		while ((n = read(f->sync[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (n != 1)
			rc = host->error(host, CSDK_EIO, "the command runner of sandbox %s exited before starting the command", f->sb->id);
	}
	if (!rc && l->net.on && nspid <= 0)
		rc = host->error(host, CSDK_EBACKEND, "bubblewrap did not start the command in sandbox %s", f->sb->id);
	if (!rc && !(rc = localp_procs_record(f->ctx, f->sb, &f->reg, f->pid, pgstart, nspid, nsstart)) && l->net.on)
		rc = localp_net_start(f->ctx, f->sb, &l->net, nspid, 0);
	if (!rc && f->sync[0] >= 0) {
		f->watchdog = start_watchdog(f->pid, f->reg.dfd, f->reg.name, parent);
		if (f->watchdog < 0)
			rc = host->error(host, CSDK_EIO, "cannot fork for a command in sandbox %s: %s", f->sb->id, strerror(errno));
		else if (send(f->sync[0], "g", 1, MSG_NOSIGNAL) != 1)
			rc = host->error(host, CSDK_EIO, "cannot start a command in sandbox %s: %s", f->sb->id, strerror(errno));
	}
	if (rc) {
		fg_reap(f, 0);
		f->reaped = 1;
		return rc;
	}
	fcntl(f->op[0], F_SETFL, O_NONBLOCK);
	fcntl(f->ep[0], F_SETFL, O_NONBLOCK);
	f->pidfd = (int)syscall(SYS_pidfd_open, f->pid, 0);
	return 0;
}

/* One read of a ready pipe into the sink, within the output limit. */
static void fg_read(struct fg *f, int fd, struct csdk_sink *sink, struct csdkc_capture *capture)
{
	enum csdk_stream stream = fd == f->op[0] ? CSDK_STREAM_STDOUT : CSDK_STREAM_STDERR;
	uint64_t limit = f->ctx->output_limit;
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(fd);
		if (fd == f->op[0])
			f->op[0] = -1;
		else
			f->ep[0] = -1;
		return;
	}
	if (f->cancelled || f->over)
		return;
	if (f->counts[stream] + (uint64_t)n > limit) {
		n = (ssize_t)(limit - f->counts[stream]);
		f->over = stream;
		kill(-f->pid, SIGKILL);
	}
	f->counts[stream] += (uint64_t)n;
	if (stream == CSDK_STREAM_STDERR)
		if (capture)
			(void)csdkc_capture_append(capture, buf, (size_t)n);
	if (n > 0 && f->ctx->host->sink_write(sink, stream, buf, (size_t)n)) {
		f->cancelled = 1;
		kill(-f->pid, SIGKILL);
	}
}

static void fg_check_exit(struct fg *f)
{
	int done, waited = 0;

	if (f->pidfd >= 0) {
		struct pollfd p1 = { f->pidfd, POLLIN, 0 };
		done = poll(&p1, 1, 0) > 0;
	} else {
		done = waited = waitpid(f->pid, &f->status, WNOHANG) == f->pid;
	}
	if (done) {
		fg_reap(f, waited);
		f->reaped = 1;
		f->drain_until = csdku_mono_ms() + DRAIN_MS;
	}
}

/* Output into the sink until the command has ended and its pipes are
 * drained, with the timeout; 0, or the error of a failed poll. */
static int fg_pump(struct fg *f, int64_t timeout_ms, struct csdk_sink *sink, struct csdkc_capture *capture)
{
	for (;;) {
		struct pollfd pf[3];
		int nf = 0, wait_ms = -1, i;
		int64_t now = csdku_mono_ms();

		if (f->op[0] >= 0)
			pf[nf++] = (struct pollfd){ f->op[0], POLLIN, 0 };
		if (f->ep[0] >= 0)
			pf[nf++] = (struct pollfd){ f->ep[0], POLLIN, 0 };
		if (!f->reaped && f->pidfd >= 0)
			pf[nf++] = (struct pollfd){ f->pidfd, POLLIN, 0 };
		if (f->reaped && f->op[0] < 0 && f->ep[0] < 0)
			return 0;
		if (!f->reaped && f->pidfd < 0)
			wait_ms = 50;
		if (!f->reaped && timeout_ms > 0 && !f->timed_out) {
			int64_t left = f->start + timeout_ms - now;
			if (left <= 0) {
				f->timed_out = 1;
				kill(-f->pid, SIGKILL);
				continue;
			}
			if (wait_ms < 0 || left < wait_ms)
				wait_ms = (int)left;
		}
		if (f->reaped) {
			int64_t left = f->drain_until - now;
			/* Something outside the process group (a daemon that called
			 * setsid) still holds the pipe: stop waiting for it. */
			if (left <= 0)
				return 0;
			wait_ms = (int)left;
		}
		if (poll(pf, (nfds_t)nf, wait_ms) < 0 && errno != EINTR) {
			kill(-f->pid, SIGKILL);
			return f->ctx->host->error(f->ctx->host, CSDK_EIO, "poll failed while running a command in sandbox %s: %s",
						   f->sb->id, strerror(errno));
		}
		for (i = 0; i < nf; i++)
			if (pf[i].fd != f->pidfd && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				fg_read(f, pf[i].fd, sink, capture);
		if (!f->reaped)
			fg_check_exit(f);
	}
}

/* The exit code, or the error that replaces it. */
static int fg_result(struct fg *f, const struct launch *l, const char *command, struct csdk_sink *sink, int *exit_code_out)
{
	const struct csdk_host *host = f->ctx->host;
	int status = f->status;

	if (f->cancelled)
		return host->error(host, CSDK_ECANCELLED, "the command in sandbox %s was stopped because the caller cancelled it", f->sb->id);
	if (f->over) {
		char shortcmd[80];
		short_command(shortcmd, sizeof(shortcmd), command);
		return host->error(host, CSDK_EIO,
			"%s of '%s' exceeded the limit of %llu bytes; the command was killed; raise output_limit (CSDK_LOCAL_OUTPUT_LIMIT) or redirect the output to a file",
			f->over == CSDK_STREAM_STDOUT ? "stdout" : "stderr", shortcmd, (unsigned long long)f->ctx->output_limit);
	}
	if (f->timed_out)
		*exit_code_out = 124;
	else if (WIFEXITED(status))
		*exit_code_out = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		*exit_code_out = 128 + WTERMSIG(status);
	else
		*exit_code_out = 1;
	if (*exit_code_out == 128 + SIGKILL && localp_procs_destroyed(&f->reg, f->sb)) {
		*exit_code_out = -1;
		return host->error(host, CSDK_ENOTFOUND, "sandbox %s was destroyed while the command was running; create a new one", f->sb->id);
	}
	if (l->memory_max && localp_cgroup_oom_kills(f->sb->id) > l->oom_kills && sink) {
		char note[256];
		int len = snprintf(note, sizeof(note),
				   "csdk-local: the sandbox reached memory_max (%llu bytes); the kernel killed a process; raise memory_max (CSDK_LOCAL_MEMORY_MAX)\n",
				   (unsigned long long)l->memory_max);
		host->sink_write(sink, CSDK_STREAM_STDERR, note, (size_t)len);
	}
	return 0;
}

static void fg_close(struct fg *f)
{
	stop_watchdog(&f->watchdog);
	localp_procs_end(&f->reg);
	if (f->pidfd >= 0)
		close(f->pidfd);
	if (f->null >= 0)
		close(f->null);
	for (int i = 0; i < 2; i++) {
		if (f->op[i] >= 0)
			close(f->op[i]);
		if (f->ep[i] >= 0)
			close(f->ep[i]);
		if (f->ip[i] >= 0)
			close(f->ip[i]);
		if (f->sync[i] >= 0)
			close(f->sync[i]);
	}
}

static int run_foreground(struct localp_local *ctx, const struct localp_sandbox *sb, struct launch *l,
			  const char *command, int64_t timeout_ms, struct csdk_sink *sink,
			  int *exit_code_out, struct csdkc_capture *capture)
{
	struct fg f = {
		.ctx = ctx, .sb = sb, .op = { -1, -1 }, .ep = { -1, -1 }, .ip = { -1, -1 }, .sync = { -1, -1 },
		.null = -1, .pidfd = -1, .start = csdku_mono_ms(), .reg = { -1, "" }, .watchdog = -1,
	};
	int rc = fg_start(&f, l);

	if (!rc) {
		rc = fg_pump(&f, timeout_ms, sink, capture);
		if (!f.reaped)
			fg_reap(&f, 0);
		if (!rc)
			rc = fg_result(&f, l, command, sink, exit_code_out);
	}
	localp_net_end(&l->net, 1);
	fg_close(&f);
	return rc;
}

static void env_from_json(struct localp_strv *env, const json_t *obj)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v)
		if (json_is_string(v))
			env_set(env, k, json_string_value(v));
}

static int check_run_request(struct localp_local *ctx, const struct csdk_run_request *opts)
{
	for (size_t i = 0; opts && i < opts->n_envs; i++)
		if (!opts->envs[i].key || !opts->envs[i].key[0] || strchr(opts->envs[i].key, '=') || !opts->envs[i].value)
			return ctx->host->error(ctx->host, CSDK_EINVAL, "environment variable entry %zu ('%s') is not valid; use a non-empty key without '=' and a value",
						i, opts->envs[i].key ? opts->envs[i].key : "(null)");
	if (opts && opts->timeout_ms < 0)
		return ctx->host->error(ctx->host, CSDK_EINVAL, "timeout_ms %lld is negative; give milliseconds, or 0 for none", (long long)opts->timeout_ms);
	return 0;
}

/* The working directory CWD, opened inside the sandbox (l->cwd_fd) and as
 * the command sees it (*inside). */
static int open_cwd(struct localp_local *ctx, const struct localp_sandbox *sb, const char *cwd, struct launch *l, char **inside)
{
	char *rel = NULL;
	int root = -1, rc;

	if ((rc = localp_path_map(ctx, sb, cwd, &rel)) || (rc = localp_root_open(ctx, sb, &root)))
		goto out;
	rc = localp_path_open(root, sb, rel, O_PATH | O_DIRECTORY, &l->cwd_fd);
	if (rc == -ENOENT)
		rc = ctx->host->error(ctx->host, CSDK_ENOTFOUND, "working directory '%s' does not exist in sandbox %s; create it first (mkdir) or use an existing directory", cwd, sb->id);
	else if (rc == -ENOTDIR)
		rc = ctx->host->error(ctx->host, CSDK_EINVAL, "working directory '%s' is not a directory in sandbox %s", cwd, sb->id);
	else if (rc)
		rc = ctx->host->error(ctx->host, CSDK_EPERM, "path '%s' is outside the sandbox; use a path under %s or %s", cwd, LOCALP_INSIDE_HOME, LOCALP_INSIDE_TMP);
	else if (!(*inside = localp_path_inside(rel)))
		rc = CSDK_ENOMEM;
out:
	if (root >= 0)
		close(root);
	free(rel);
	return rc;
}

/* The command's environment: a fixed one inside bubblewrap, the caller's
 * unisolated; then the sandbox's envs, then the request's. */
static void launch_env(const struct localp_sandbox *sb, const json_t *meta, const struct csdk_run_request *opts, struct launch *l)
{
	size_t i;

	if (l->bwrap) {
		env_set(&l->env, "PATH", SANDBOX_PATH);
		env_set(&l->env, "HOME", LOCALP_INSIDE_HOME);
		env_set(&l->env, "TMPDIR", LOCALP_INSIDE_TMP);
		env_set(&l->env, "LANG", "C.UTF-8");
		env_set(&l->env, "USER", "sandbox");
	} else {
		char *p;
		for (i = 0; environ && environ[i]; i++)
			localp_strv_push(&l->env, environ[i]);
		if (asprintf(&p, "%s/home", sb->dir) >= 0) {
			env_set(&l->env, "HOME", p);
			free(p);
		}
		if (asprintf(&p, "%s/tmp", sb->dir) >= 0) {
			env_set(&l->env, "TMPDIR", p);
			free(p);
		}
	}
	env_from_json(&l->env, json_object_get(meta, "envs"));
	for (i = 0; opts && i < opts->n_envs; i++)
		env_set(&l->env, opts->envs[i].key, opts->envs[i].value);
}

static int launch_argv(struct localp_local *ctx, const struct localp_sandbox *sb, const json_t *meta, const char *cwd_inside,
		       const char *command, int agent, struct launch *l)
{
	int rc = 0;

	if (l->bwrap) {
		struct localp_strv none = { 0 };
		l->drop = localp_sandbox_ids(meta, &l->uid, &l->gid);
		const char *network = localp_meta_str(meta, "network");

		rc = localp_bwrap_argv(ctx, sb, meta, cwd_inside, &l->env, 3, command, agent, l->drop ? &l->stage : NULL, &l->argv);
		if (!rc && network && !strcmp(network, "isolated")) {
			if (!ctx->slirp)
				return ctx->host->error(ctx->host, CSDK_EBACKEND,
					"sandbox %s has network isolated but 'slirp4netns' is not in PATH; install slirp4netns", sb->id);
			rc = localp_net_prepare(ctx, sb, meta, &l->net);
		}
		localp_strv_free(&l->env);
		l->env = none;
		localp_strv_push(&l->env, "PATH=" SANDBOX_PATH);
		/* bwrap itself runs with an empty environment: --clearenv + --setenv build the inside one */
		if (rc || (localp_seccomp_wanted(meta) && (rc = localp_seccomp_fd(ctx, &l->seccomp_fd))))
			return rc;
		if (l->cwd_fd >= 0) {
			close(l->cwd_fd);
			l->cwd_fd = -1;
		}
	} else {
		localp_strv_push(&l->argv, "/bin/sh");
		localp_strv_push(&l->argv, "-c");
		localp_strv_push(&l->argv, command);
		if (l->cwd_fd < 0 && asprintf(&l->cwd_path, "%s/home", sb->dir) < 0)
			l->argv.failed = 1;
	}
	return l->argv.failed || l->env.failed ? CSDK_ENOMEM : 0;
}

/* The sandbox's cgroups the command joins, and the limits of its own. */
static int launch_limits(struct localp_local *ctx, const struct localp_sandbox *sb, const json_t *meta, struct launch *l)
{
	static const char *const keys[LOCALP_CGROUPS] = { "pids", "memory_max", "cpu_quota_us" };
	static const char *const names[LOCALP_CGROUPS] = { "pids", "memory", "cpu" };

	/* tasks, not cgroup.procs: the child joins while it has one thread, and
	 * moving a thread group waits for an RCU grace period (about 11 ms here,
	 * BENCHMARKS.md) where moving a thread does not */
	for (int i = 0; i < LOCALP_CGROUPS; i++) {
		if (localp_meta_int(meta, keys[i]) <= 0)
			continue;
		localp_cgroup_path(i, sb->id, "tasks", l->cgroup_procs[i], sizeof(l->cgroup_procs[i]));
		if (access(l->cgroup_procs[i], W_OK) < 0)
			return ctx->host->error(ctx->host, CSDK_EBACKEND, "the %s cgroup of sandbox %s (%s) cannot be joined: %s; create a new sandbox",
						names[i], sb->id, l->cgroup_procs[i], strerror(errno));
	}
	if (localp_meta_int(meta, "disk") > 0 && localp_disk_check(ctx, sb))
		return CSDK_EBACKEND;
	if ((l->memory_max = (uint64_t)(localp_meta_int(meta, "memory_max") > 0 ? localp_meta_int(meta, "memory_max") : 0)))
		l->oom_kills = localp_cgroup_oom_kills(sb->id);
	l->memory = (rlim_t)ctx->memory;
	l->processes = (rlim_t)ctx->processes;
	l->cpu_time = (rlim_t)ctx->cpu_time;
	return 0;
}

static int run(struct localp_local *ctx, const struct localp_sandbox *sb, const char *command,
	       const struct csdk_run_request *opts, struct csdk_sink *out, int *exit_code_out,
	       struct csdkc_capture *capture_stderr, int agent, int listen_fd)
{
	struct launch l;
	json_t *meta = NULL;
	char *cwd_inside = NULL;
	const char *iso;
	int rc;

	memset(&l, 0, sizeof(l));
	localp_net_init(&l.net);
	l.cwd_fd = -1;
	l.seccomp_fd = -1;
	l.listen_fd = listen_fd;
	*exit_code_out = -1;
	if (!command)
		return ctx->host->error(ctx->host, CSDK_EINVAL, "no command given; pass a shell command string");
	if ((rc = localp_meta_load(ctx, sb, &meta)))
		return rc;
	iso = localp_meta_str(meta, "isolation");
	l.bwrap = iso && !strcmp(iso, "bubblewrap");
	if (l.bwrap && !ctx->bwrap)
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "sandbox %s was created with bubblewrap but 'bwrap' is no longer in PATH; install bubblewrap", sb->id);
	if (!rc)
		rc = check_run_request(ctx, opts);
	if (!rc && opts && opts->cwd)
		rc = open_cwd(ctx, sb, opts->cwd, &l, &cwd_inside);
	if (!rc) {
		launch_env(sb, meta, opts, &l);
		rc = launch_argv(ctx, sb, meta, cwd_inside, command, agent, &l);
	}
	if (!rc)
		rc = launch_limits(ctx, sb, meta, &l);
	if (!rc && opts && opts->background)
		rc = run_background(ctx, sb, &l, agent, exit_code_out);
	else if (!rc)
		rc = run_foreground(ctx, sb, &l, command, opts ? opts->timeout_ms : 0, out, exit_code_out, capture_stderr);
	if (l.cwd_fd >= 0)
		close(l.cwd_fd);
	if (l.seccomp_fd >= 0)
		close(l.seccomp_fd);
	localp_net_end(&l.net, 0);
	free(l.cwd_path);
	localp_strv_free(&l.argv);
	localp_strv_free(&l.env);
	localp_strv_free(&l.stage);
	free(cwd_inside);
	json_decref(meta);
	return rc;
}

int localp_run(struct localp_local *ctx, const struct localp_sandbox *sb, const char *command,
	      const struct csdk_run_request *opts, struct csdk_sink *out, int *exit_code_out,
	      struct csdkc_capture *capture_stderr)
{
	return run(ctx, sb, command, opts, out, exit_code_out, capture_stderr, 0, -1);
}

/*
 * Gateway mode: csdk-agent as a background command of the sandbox, so it is
 * recorded, killed by destroy and, under bubblewrap, the first process of the
 * pid namespace every command of the sandbox then shares (bwrap's own init
 * is pid 1 and reaps). Unisolated it serves host paths.
 */
int localp_agent_launch(struct localp_local *ctx, const struct localp_sandbox *sb, int bwrap, int listen_fd)
{
	struct csdk_run_request opts;
	char *cmd = NULL, *run_dir = NULL, *q[3] = { NULL, NULL, NULL };
	int rc, exit_code;

	memset(&opts, 0, sizeof(opts));
	opts.struct_size = sizeof(opts);
	opts.background = 1;
	if (bwrap) {
		cmd = strdup("(csdk-agent)"); /* localp_bwrap_argv puts the agent's argv itself */
	} else if (asprintf(&run_dir, "%s/%s", sb->dir, LOCALP_RUN_DIR) >= 0 && !csdku_shell_quote(&q[0], run_dir) &&
		   !csdku_shell_quote(&q[1], ctx->agent) && asprintf(&q[2], "%s/home", sb->dir) >= 0) {
		char *home = q[2];

		q[2] = NULL;
		if (!csdku_shell_quote(&q[2], home) &&
		    asprintf(&cmd, "echo $$ >%s/agent.pid && exec %s --listen unix:%s/agent.sock --listen-fd %d --token-file %s/token --workdir %s",
			     q[0], q[1], q[0], LOCALP_AGENT_FD, q[0], q[2]) < 0)
			cmd = NULL;
		free(home);
	}
	rc = cmd ? run(ctx, sb, cmd, &opts, NULL, &exit_code, NULL, 1, listen_fd) : CSDK_ENOMEM;
	free(cmd);
	free(run_dir);
	for (int i = 0; i < 3; i++)
		free(q[i]);
	return rc;
}
