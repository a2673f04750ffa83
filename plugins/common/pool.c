/*
 * Warm pools (docs/pools.md), the parts every provider's pool shares: the
 * shape directory of a configuration, its refill lock and drained mark,
 * the detached refiller, and the token exchange with a member's agent.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csdk/plugin.h>

#include "csdkc.h"

#define REFILL_LOCK "refill.lock"
#define REFILL_LOG "refill.log"
#define DRAINED_MARK "drained"
#define INIT_WAIT_MS 5000

int csdkc_pool_dir(char *out, size_t outlen, const char *base, const char *desc, char *err, size_t errlen)
{
	uint64_t h = 14695981039346656037ull;

	for (const char *p = desc; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	if (snprintf(out, outlen, "%s/pool", base) >= (int)outlen) {
		snprintf(err, errlen, "the pool directory below %s is too long; use a shorter directory", base);
		return CSDK_EINVAL;
	}
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		goto fail;
	if (snprintf(out, outlen, "%s/pool/%016llx", base, (unsigned long long)h) >= (int)outlen) {
		snprintf(err, errlen, "the pool directory below %s is too long; use a shorter directory", base);
		return CSDK_EINVAL;
	}
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot create %s: %s; check the state directory", out, strerror(errno));
	return CSDK_EIO;
}

int csdkc_pool_lock(const char *dir, int nonblock)
{
	char path[4300];
	int fd;

	snprintf(path, sizeof(path), "%s/" REFILL_LOCK, dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	while (flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) < 0) {
		if (errno != EINTR) {
			int err = errno;

			close(fd);
			errno = err;
			return -1;
		}
	}
	return fd;
}

int csdkc_pool_drained(const char *dir)
{
	char path[4300];

	snprintf(path, sizeof(path), "%s/" DRAINED_MARK, dir);
	return access(path, F_OK) == 0;
}

void csdkc_pool_set_drained(const char *dir, int on)
{
	char path[4300];
	int fd;

	snprintf(path, sizeof(path), "%s/" DRAINED_MARK, dir);
	if (!on)
		unlink(path);
	else if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
}

long csdkc_pool_members(const char *dir, int (*member)(const char *name), long *making)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	long ready = 0, made = 0;

	while (d && (de = readdir(d))) {
		if (member(de->d_name))
			ready++;
		else if (!strncmp(de->d_name, CSDKC_POOL_MAKING, strlen(CSDKC_POOL_MAKING)))
			made++;
	}
	if (d)
		closedir(d);
	if (making)
		*making = made;
	return ready;
}

int csdkc_pool_wants_refill(const char *dir, int (*member)(const char *name), long size)
{
	int lock;

	csdkc_pool_set_drained(dir, 0);
	if (csdkc_pool_members(dir, member, NULL) >= size)
		return 0;
	/* a refiller that runs looks again once it lets the lock go */
	if ((lock = csdkc_pool_lock(dir, 1)) < 0)
		return 0;
	close(lock);
	return 1;
}

/* ---------------------------------------------------------- the detached refiller */

static int refill_log_fd = -1;

__attribute__((format(printf, 3, 4)))
static int quiet_error(const struct csdk_host *host, int code, const char *fmt, ...)
{
	va_list ap;

	(void)host;
	if (refill_log_fd >= 0) {
		va_start(ap, fmt);
		dprintf(refill_log_fd, "%lld error %d: ", (long long)csdkc_now_ms(), code);
		vdprintf(refill_log_fd, fmt, ap);
		dprintf(refill_log_fd, "\n");
		va_end(ap);
	}
	return code;
}

__attribute__((format(printf, 3, 4)))
static void quiet_log(const struct csdk_host *host, enum csdk_log_level level, const char *fmt, ...)
{
	(void)host;
	(void)level;
	(void)fmt;
}

/*
 * In the grandchild: a new session, no descriptor of the caller (a copy
 * would hold its flock locks and keep its pipes open), and a host table
 * whose error writes to refill.log, since the caller's may hold locks of
 * threads that are not here.
 */
static void detached(const char *dir, const struct csdk_host *parent, struct csdk_host *out)
{
	char path[4400];
	sigset_t all;
	int fd;

	for (int sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (syscall(SYS_close_range, 0u, ~0u, 0u) < 0)
		for (fd = 0; fd < 65536; fd++)
			close(fd);
	fd = open("/dev/null", O_RDWR);
	if (fd == 0) {
		dup2(0, 1);
		snprintf(path, sizeof(path), "%s/" REFILL_LOG, dir);
		if (open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600) == 2)
			refill_log_fd = 2;
		else
			dup2(0, 2);
	}
	*out = *parent;
	out->error = quiet_error;
	out->log = quiet_log;
}

int csdkc_pool_detach(const char *dir, const struct csdk_host *parent, struct csdk_host *out)
{
	pid_t pid;

	if ((pid = fork()) == 0) {
		setsid();
		if (fork() == 0) {
			detached(dir, parent, out);
			return 1;
		}
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	return 0;
}

/* ---------------------------------------------------------- claiming */

/* POST /init to the agent at sock: the new token and the sandbox's envs. */
static int agent_init(const char *sock, const char *old_token, const char *new_token, const struct csdk_create_request *opts)
{
	json_t *body = json_pack("{s:s, s:o}", "accessToken", new_token, "envVars", json_object());
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *text = NULL, *req = NULL, resp[256];
	int fd = -1, rc = -1, n;
	size_t got = 0;

	for (size_t i = 0; body && opts && i < opts->n_envs; i++)
		if (opts->envs[i].key)
			json_object_set_new(json_object_get(body, "envVars"), opts->envs[i].key,
					    json_string(opts->envs[i].value ? opts->envs[i].value : ""));
	if (!body || !(text = json_dumps(body, JSON_COMPACT)) ||
	    (n = asprintf(&req, "POST /init HTTP/1.1\r\nHost: sandbox\r\nX-Access-Token: %s\r\nContent-Type: application/json\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", old_token, strlen(text), text)) < 0) {
		req = NULL;
		goto out;
	}
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock) >= (int)sizeof(sa.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		goto out;
	while (got < sizeof(resp) - 1 && poll(&(struct pollfd){ fd, POLLIN, 0 }, 1, INIT_WAIT_MS) == 1) {
		ssize_t k = read(fd, resp + got, sizeof(resp) - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	resp[got] = '\0';
	rc = !strncmp(resp, "HTTP/1.1 204", 12) || !strncmp(resp, "HTTP/1.0 204", 12) ? 0 : -1;
out:
	if (fd >= 0)
		close(fd);
	free(req);
	free(text);
	json_decref(body);
	return rc;
}

/* dirfd/name, when it is a regular file (a sandbox can write where it lives: a FIFO would block). */
static int read_token(int dirfd, char *out, size_t len)
{
	int fd = openat(dirfd, "token", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	n = read(fd, out, len - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return out[0] ? 0 : -1;
}

/* Replaces dirfd/token whole, mode 0600: only its owner may read it. */
static int write_token(int dirfd, const char *token, size_t len)
{
	char tmp[64], hex[17];
	int fd, ok;

	if (csdkc_random_hex(hex, 8))
		return -1;
	snprintf(tmp, sizeof(tmp), ".token.%s.tmp", hex);
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return -1;
	ok = write(fd, token, len) == (ssize_t)len;
	if (close(fd) < 0)
		ok = 0;
	if (ok && renameat(dirfd, tmp, dirfd, "token") == 0)
		return 0;
	unlinkat(dirfd, tmp, 0);
	return -1;
}

int csdkc_pool_new_token(const char *run, const char *sock, const struct csdk_create_request *opts)
{
	char old[64], token[33];
	int rdfd, rc = -1;

	if ((rdfd = open(run, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (read_token(rdfd, old, sizeof(old)) || csdkc_random_hex(token, 16) || agent_init(sock, old, token, opts))
		goto out;
	token[32] = '\n';
	rc = write_token(rdfd, token, sizeof(token));
out:
	close(rdfd);
	return rc;
}
