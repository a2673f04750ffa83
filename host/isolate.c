#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "isolate.h"
#include "util.h"

const char *csdkp_signal_name(int sig, char *buf, size_t size)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev) {
		snprintf(buf, size, "SIG%s", abbrev);
		return buf;
	}
#else
	static const struct {
		int sig;
		const char *name;
	} names[] = {
		{ SIGSEGV, "SIGSEGV" }, { SIGBUS, "SIGBUS" }, { SIGABRT, "SIGABRT" }, { SIGILL, "SIGILL" },
		{ SIGFPE, "SIGFPE" }, { SIGKILL, "SIGKILL" }, { SIGTERM, "SIGTERM" }, { SIGTRAP, "SIGTRAP" },
		{ SIGSYS, "SIGSYS" }, { SIGPIPE, "SIGPIPE" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" },
		{ SIGHUP, "SIGHUP" }, { SIGALRM, "SIGALRM" }, { SIGUSR1, "SIGUSR1" }, { SIGUSR2, "SIGUSR2" },
		{ SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
#endif
	snprintf(buf, size, "SIG%d", sig);
	return buf;
}

static void write_string(int fd, const char *s)
{
	uint32_t len = s ? (uint32_t)strlen(s) : UINT32_MAX;

	if (csdku_write_all(fd, &len, sizeof(len)) == 0 && s)
		csdku_write_all(fd, s, len);
}

__attribute__((noreturn))
static void run_child(int fd, const char *path, csdkp_probe_fn probe, void *arg)
{
	static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGTRAP, SIGSYS };
	struct csdkp_verdict verdict = { 0 };
	int32_t head[3];

	/*
	 * What the program had buffered for stdout is its to write, not ours; and
	 * a plugin printing while it loads must not reach the program's stdout.
	 */
	__fpurge(stdout);
	dup2(STDERR_FILENO, STDOUT_FILENO);
	/* Let a crash kill the child, even when the program (or a sanitizer) installed handlers. */
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		signal(crash_signals[i], SIG_DFL);
	head[0] = probe(&verdict, path, arg);
	head[1] = verdict.code;
	head[2] = verdict.signal;
	if (csdku_write_all(fd, head, sizeof(head)) == 0) {
		write_string(fd, verdict.name);
		write_string(fd, verdict.reason);
	}
	_exit(0);
}

/* The child's answer, parsed as it arrives. */
struct answer {
	char *buf;
	size_t len;
	size_t cap;
};

static int answer_append(struct answer *a, const char *data, size_t n)
{
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		char *buf;

		while (cap < a->len + n)
			cap *= 2;
		buf = realloc(a->buf, cap);
		if (!buf)
			return CSDK_ENOMEM;
		a->buf = buf;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, data, n);
	a->len += n;
	return 0;
}

/* 1 when complete (strings copied into the verdict), 0 when more is needed, CSDK_ENOMEM. */
static int answer_parse(const struct answer *a, int32_t head[3], struct csdkp_verdict *v)
{
	size_t off = 3 * sizeof(int32_t);
	char *strings[2] = { NULL, NULL };

	if (a->len < off)
		return 0;
	memcpy(head, a->buf, off);
	for (int i = 0; i < 2; i++) {
		uint32_t len;

		if (a->len < off + sizeof(len))
			goto incomplete;
		memcpy(&len, a->buf + off, sizeof(len));
		off += sizeof(len);
		if (len == UINT32_MAX)
			continue;
		if (a->len - off < len)
			goto incomplete;
		strings[i] = strndup(a->buf + off, len);
		if (!strings[i]) {
			free(strings[0]);
			return CSDK_ENOMEM;
		}
		off += len;
	}
	v->code = head[1];
	v->signal = head[2];
	v->name = strings[0];
	v->reason = strings[1];
	return 1;
incomplete:
	free(strings[0]);
	return 0;
}

static int verdict_set(struct csdkp_verdict *v, int code, int sig, char *reason)
{
	v->code = code;
	v->signal = sig;
	v->reason = reason;
	return reason ? code : CSDK_ENOMEM;
}

static int cannot_start(struct csdkp_verdict *verdict, const char *path, int err)
{
	return verdict_set(verdict, CSDK_EIO, 0,
			   csdkp_printf("%s: cannot start a process to validate it (%s); raise the process limits or scan without CSDK_REGISTRY_ISOLATE",
					path, strerror(err)));
}

/* Forks the child that loads path and answers on *fd. */
static int start_child(pid_t *pid, int *fd, struct csdkp_verdict *verdict, const char *path, csdkp_probe_fn probe,
		       void *arg)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) != 0)
		return cannot_start(verdict, path, errno);
	*pid = fork();
	if (*pid < 0) {
		int err = errno;

		close(fds[0]);
		close(fds[1]);
		return cannot_start(verdict, path, err);
	}
	if (*pid == 0) {
		close(fds[0]);
		run_child(fds[1], path, probe, arg);
	}
	close(fds[1]);
	*fd = fds[0];
	return 0;
}

/* Until the answer is whole, fd closes or timeout_s passes: 1 whole (in head and verdict), 0 not, CSDK_ENOMEM. */
static int read_answer(int fd, int timeout_s, int32_t head[3], struct csdkp_verdict *verdict, int *timed_out)
{
	struct answer a = { 0 };
	int64_t deadline = csdku_mono_ms() + (int64_t)timeout_s * 1000;
	int complete = 0;

	while (!complete) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - csdku_mono_ms();
		char buf[4096];
		ssize_t n;
		int ready;

		if (left <= 0) {
			*timed_out = 1;
			break;
		}
		ready = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0) {
			if (ready < 0)
				break;
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (answer_append(&a, buf, (size_t)n) != 0) {
			complete = CSDK_ENOMEM;
			break;
		}
		complete = answer_parse(&a, head, verdict);
	}
	free(a.buf);
	return complete;
}

/* The verdict on a child that answered (complete), ran out of time or ended without a whole answer. */
static int judge(struct csdkp_verdict *verdict, const char *path, int timeout_s, int timed_out, int complete,
		 const int32_t head[3], int status)
{
	if (timed_out)
		return verdict_set(verdict, CSDK_ETIMEOUT, 0,
				   csdkp_printf("%s: did not finish loading within %d s; fix the plugin's constructors or csdk_plugin_entry",
						path, timeout_s));
	if (complete) {
		if (head[0] == 0 || head[0] == CSDK_ENOMEM)
			csdkp_verdict_clear(verdict);
		return head[0] == 0 ? 0 : (head[0] == CSDK_ENOMEM ? CSDK_ENOMEM : verdict->code);
	}
	if (WIFSIGNALED(status)) {
		char buf[32];
		int sig = WTERMSIG(status);

		return verdict_set(verdict, CSDK_ECRASHED, sig,
				   csdkp_printf("%s: crashed while loading (signal %d, %s); fix the plugin's constructors or csdk_plugin_entry",
						path, sig, csdkp_signal_name(sig, buf, sizeof(buf))));
	}
	return verdict_set(verdict, CSDK_ECRASHED, 0,
			   csdkp_printf("%s: exited with status %d while loading; fix the plugin's constructors or csdk_plugin_entry",
					path, WIFEXITED(status) ? WEXITSTATUS(status) : -1));
}

int csdkp_isolate_run(struct csdkp_verdict *verdict, const char *path, csdkp_probe_fn probe, void *arg,
		      int timeout_s)
{
	int32_t head[3] = { 0 };
	int fd, status = 0, complete, timed_out = 0, rc;
	pid_t pid;

	memset(verdict, 0, sizeof(*verdict));
	if ((rc = start_child(&pid, &fd, verdict, path, probe, arg)) != 0)
		return rc;
	complete = read_answer(fd, timeout_s, head, verdict, &timed_out);
	close(fd);
	if (timed_out || complete < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (complete < 0) {
		csdkp_verdict_clear(verdict);
		return complete;
	}
	return judge(verdict, path, timeout_s, timed_out, complete, head, status);
}
