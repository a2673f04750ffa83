/*
 * Warm pools (docs/pools.md), the parts every provider's pool shares: the
 * shape directory of a configuration, its refill lock and drained mark,
 * the start of the detached refiller (csdk-pool-refill), and the token
 * exchange with a member's agent.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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

extern char **environ;

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

/* The holder's pid, written by whoever takes the lock (status and errors name it). */
static void lock_note_pid(int fd)
{
	char pid[24];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0)
		return;
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
	lock_note_pid(fd);
	return fd;
}

/*
 * A probe (status, a create asking for a refill) takes the lock only for a
 * moment and writes no pid, so the file keeps naming the refiller. A
 * refiller that finds the lock taken tries again for REFILL_PATIENCE_MS
 * before it leaves the work to the holder: a probe is gone by then, and a
 * refiller that holds it looks again at the pool once it lets go.
 */
#define REFILL_PATIENCE_MS 500

static int lock_free_once(const char *dir)
{
	char path[4300];
	int fd, free_;

	snprintf(path, sizeof(path), "%s/" REFILL_LOCK, dir);
	/* no file: no refiller has ever run in this pool, and a probe makes none */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT;
	do
		free_ = flock(fd, LOCK_EX | LOCK_NB) == 0;
	while (!free_ && errno == EINTR);
	close(fd);
	return free_;
}

int csdkc_pool_lock_free(const char *dir, int64_t patience_ms)
{
	int64_t deadline = csdkc_now_ms() + patience_ms;

	while (!lock_free_once(dir)) {
		if (csdkc_now_ms() >= deadline)
			return 0;
		poll(NULL, 0, 2);
	}
	return 1;
}

int csdkc_pool_lock_refiller(const char *dir)
{
	char why[8];
	int fd;

	return csdkc_pool_lock_wait(dir, REFILL_PATIENCE_MS, "", "", &fd, why, sizeof(why)) ? -1 : fd;
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
	csdkc_pool_set_drained(dir, 0);
	if (csdkc_pool_members(dir, member, NULL) >= size)
		return 0;
	/* a refiller that runs looks again once it lets the lock go; a probe's moment is waited out */
	return csdkc_pool_lock_free(dir, 20);
}

/* ---------------------------------------------------------- the detached refiller */

int csdkc_pool_lock_wait(const char *dir, int64_t wait_ms, const char *what, const char *wait_key, int *out,
			 char *err, size_t errlen)
{
	int64_t deadline = csdkc_now_ms() + wait_ms;
	char path[4300], pid[24] = "";
	ssize_t n;
	int fd;

	while ((fd = csdkc_pool_lock(dir, 1)) < 0) {
		if (errno != EWOULDBLOCK) {
			snprintf(err, errlen, "%s: cannot open %s/" REFILL_LOCK ": %s; check the state directory", what, dir, strerror(errno));
			return CSDK_EIO;
		}
		if (csdkc_now_ms() >= deadline)
			break;
		poll(NULL, 0, 20);
	}
	if (fd >= 0) {
		*out = fd;
		return 0;
	}
	snprintf(path, sizeof(path), "%s/" REFILL_LOCK, dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(fd);
	}
	snprintf(err, errlen, "%s: the refiller of %s (pid %s) still holds " REFILL_LOCK " after %lld ms; try again, raise %s, or stop it with kill %s",
		 what, dir, pid[0] ? pid : "unknown", (long long)wait_ms, wait_key, pid[0] ? pid : "PID");
	return CSDK_ETIMEOUT;
}

static int filled(const struct csdkc_pool_filler *f)
{
	return csdkc_pool_drained(f->dir) || csdkc_pool_members(f->dir, f->member, NULL) >= f->size;
}

int csdkc_pool_refill(const struct csdkc_pool_filler *f, int wait)
{
	char err[CSDKC_ERR_MAX];
	int lock, rc = 0;

	for (;;) {
		if (wait) {
			if ((rc = csdkc_pool_lock_wait(f->dir, f->wait_ms, "pool fill", f->wait_key, &lock, err, sizeof(err))))
				return f->host->error(f->host, rc, "%s", err);
		} else if ((lock = csdkc_pool_lock_refiller(f->dir)) < 0) {
			return 0;
		}
		f->clean(f->ctx, f->dir);
		while (!rc && !filled(f))
			rc = f->make(f->ctx, f->dir);
		close(lock);
		if (rc || filled(f))
			return rc;
	}
}

static int shape_name(const char *s)
{
	return strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16;
}

int csdkc_pool_drain(const char *base, int64_t wait_ms, const char *wait_key, long (*destroy)(void *ctx, const char *dir),
		     void *ctx, long *n, char *err, size_t errlen)
{
	char path[4200], dir[4280];
	struct dirent *de;
	int rc = 0, lock;
	DIR *d;

	snprintf(path, sizeof(path), "%s/pool", base);
	if (!(d = opendir(path))) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return CSDK_EIO;
	}
	while (!rc && (de = readdir(d))) {
		if (!shape_name(de->d_name) || snprintf(dir, sizeof(dir), "%s/%s", path, de->d_name) >= (int)sizeof(dir))
			continue;
		csdkc_pool_set_drained(dir, 1);
		/* a refiller stops at the mark; its member under way is waited for, up to wait_ms */
		if ((rc = csdkc_pool_lock_wait(dir, wait_ms, "pool drain", wait_key, &lock, err, errlen)))
			break;
		*n += destroy(ctx, dir);
		close(lock);
	}
	closedir(d);
	return rc;
}

int csdkc_refiller_init(struct csdkc_refiller *out, const struct csdk_host *host, const char *provider, const char *env,
			const char *default_path, const void *self, const struct csdk_config *config,
			const struct csdk_config_key *keys, size_t n_keys)
{
	const char *v = host->config_get(config, "pool_refiller");
	const char *slash;
	Dl_info info;

	memset(out, 0, sizeof(*out));
	out->env = env;
	if (v && v[0] != '/')
		return host->error(host, CSDK_ECONFIG, "invalid value '%s' for pool_refiller (%s); use the absolute path of csdk-pool-refill", v, env);
	if (!(out->provider = strdup(provider)))
		return CSDK_ENOMEM;
	/* the refiller opens this very plugin, with this configuration */
	if (dladdr((void *)(uintptr_t)self, &info) && info.dli_fname && (slash = strrchr(info.dli_fname, '/')) &&
	    !(out->plugin_dir = strndup(info.dli_fname, (size_t)(slash - info.dli_fname))))
		return CSDK_ENOMEM;
	/* a plugin of a build tree (plugins/NAME/.libs) runs that tree's, not an older installed one */
	if (!v && out->plugin_dir && strlen(out->plugin_dir) > 6 && !strcmp(out->plugin_dir + strlen(out->plugin_dir) - 6, "/.libs") &&
	    asprintf(&out->path, "%s/../../local/csdk-pool-refill", out->plugin_dir) > 0 && access(out->path, X_OK)) {
		free(out->path);
		out->path = NULL;
	}
	if (!out->path && !(out->path = strdup(v ? v : default_path)))
		return CSDK_ENOMEM;
	if (!(out->pairs = calloc(n_keys + 1, sizeof(char *))))
		return CSDK_ENOMEM;
	for (size_t i = 0; i < n_keys; i++)
		if ((v = host->config_get(config, keys[i].key)) &&
		    asprintf(&out->pairs[out->n_pairs++], "%s=%s", keys[i].key, v) < 0)
			return CSDK_ENOMEM;
	return 0;
}

void csdkc_refiller_free(struct csdkc_refiller *r)
{
	for (size_t i = 0; r->pairs && i < r->n_pairs; i++)
		free(r->pairs[i]);
	free(r->pairs);
	free(r->path);
	free(r->provider);
	free(r->plugin_dir);
	memset(r, 0, sizeof(*r));
}

/* In the grandchild, before exec: async-signal-safe calls only. */
static void exec_refiller(char **argv, char **envp, const char *log, const char *failed)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int fd, nul;

	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((nul = open("/dev/null", O_RDWR)) >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
	}
	/* never the caller's standard error (a server's log) */
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	dup2(fd >= 0 ? fd : nul, 2);
	/* a copy of the caller's descriptors would hold its flock locks and keep its pipes open */
	if (syscall(SYS_close_range, 3u, ~0u, 0u) < 0)
		for (fd = 3; fd < 65536; fd++)
			close(fd);
	execve(argv[0], argv, envp);
	if (write(2, failed, strlen(failed)) < 0)
		_exit(127);
	_exit(127);
}

void csdkc_pool_spawn(struct csdkc_refiller *r, const struct csdk_host *host, const char *dir, const char *arg)
{
	char log[4400], failed[4600], *plugin_path = NULL, **argv = NULL, **envp = NULL;
	size_t n_env = 0, a = 0, e = 0;
	pid_t pid;

	if (access(r->path, X_OK) < 0) {
		if (!__atomic_exchange_n(&r->warned, 1, __ATOMIC_RELAXED))
			host->log(host, CSDK_LOG_WARN, "pools are not refilled in the background: the refiller %s cannot run (%s); install csdk, set pool_refiller (%s), or refill with csdk pool fill",
				  r->path, strerror(errno), r->env);
		return;
	}
	snprintf(log, sizeof(log), "%s/" REFILL_LOG, dir);
	snprintf(failed, sizeof(failed), "cannot run the pool refiller %s; install csdk, or set pool_refiller (%s) to its path\n", r->path, r->env);
	while (environ[n_env])
		n_env++;
	if (r->plugin_dir && asprintf(&plugin_path, "CSDK_PLUGIN_PATH=%s", r->plugin_dir) < 0)
		plugin_path = NULL;
	if ((r->plugin_dir && !plugin_path) || !(argv = calloc(r->n_pairs + 5, sizeof(char *))) ||
	    !(envp = calloc(n_env + 2, sizeof(char *))))
		goto out;
	argv[a++] = r->path;
	argv[a++] = "--provider";
	argv[a++] = r->provider;
	argv[a++] = (char *)arg;
	for (size_t i = 0; i < r->n_pairs; i++)
		argv[a++] = r->pairs[i];
	for (size_t i = 0; i < n_env; i++)
		if (strncmp(environ[i], "CSDK_PLUGIN_PATH=", 17))
			envp[e++] = environ[i];
	if (plugin_path)
		envp[e++] = plugin_path;
	if ((pid = fork()) == 0) {
		setsid();
		if (fork() == 0)
			exec_refiller(argv, envp, log, failed);
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
out:
	free(plugin_path);
	free(argv);
	free(envp);
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

int csdkc_pool_new_token(const char *run, const char *sock, const struct csdk_create_request *opts)
{
	char old[64], token[33], err[8];
	int rdfd, rc = -1;

	if ((rdfd = open(run, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (read_token(rdfd, old, sizeof(old)) || csdkc_random_hex(token, 16) || agent_init(sock, old, token, opts))
		goto out;
	token[32] = '\n';
	rc = csdkc_file_write_private(rdfd, "token", token, sizeof(token), err, sizeof(err)) ? -1 : 0;
out:
	close(rdfd);
	return rc;
}

int csdkc_pool_answer(const struct csdk_host *host, int rc, json_t *res, struct csdk_text *out)
{
	char *text = NULL;

	/* an operation that ran out of memory building its answer returns CSDK_ENOMEM, or 0 and no answer */
	if (rc == CSDK_ENOMEM || (!rc && !(text = res ? json_dumps(res, JSON_COMPACT) : NULL)))
		rc = host->error(host, CSDK_ENOMEM, "out of memory writing a pool's answer");
	json_decref(res);
	if (!rc)
		rc = host->text_set(out, text);
	free(text);
	return rc;
}
