/*
 * Gateway mode: csdk-agent is each container's entrypoint (PID 1),
 * bind-mounted read-only from this machine, and listens on a unix socket in
 * run_dir/HEX/sock, which is bind-mounted at /run/csdk; its token and the
 * sandbox's deadline are in run_dir/HEX, bind-mounted read-only at
 * /run/csdk-host, so that nothing in the container can move its own
 * deadline or change the token; commands and files then
 * bypass the engine. With a remote engine (TCP transport) the agent and its
 * token are copied into the container before it starts, and the agent
 * listens on TCP: a port of the engine's host (network host) or a published
 * one. The sandbox's deadline is a file beside the token (--deadline-file):
 * at the epoch in it the agent ends, and the container with it, with
 * status DOCKERP_EXPIRED.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "csdkc.h"
#include "docker.h"
#include "frames.h"

#define AGENT_WAIT_MS 10000
#define AGENT_CHECK_MS 50

/* dir holds the token and the deadline (the agent only reads them) */
json_t *dockerp_agent_entrypoint(const char *listen, const char *dir)
{
	char l[80], t[80], d[80];

	snprintf(l, sizeof(l), "%s", listen);
	snprintf(t, sizeof(t), "%s/token", dir);
	snprintf(d, sizeof(d), "%s/deadline", dir);
	return json_pack("[sssssss]", DOCKERP_INSIDE_AGENT, "--listen", l, "--token-file", t, "--deadline-file", d);
}

/* PATH holds the epoch and a newline, replaced whole: the agent never sees half of it. */
static int write_deadline(const char *path, int64_t epoch)
{
	char tmp[4300], buf[32];
	int fd, n, ok;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	n = snprintf(buf, sizeof(buf), "%lld\n", (long long)epoch);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	ok = fd >= 0 && write(fd, buf, (size_t)n) == n;
	if (fd >= 0 && close(fd) < 0)
		ok = 0;
	if (ok && rename(tmp, path) == 0)
		return 0;
	unlink(tmp);
	return -1;
}

static int file_in(char *out, size_t len, const struct dockerp_docker *ctx, const char *hex, const char *name)
{
	return snprintf(out, len, "%s/%s%s%s", ctx->run_dir, hex, name ? "/" : "", name ? name : "") < (int)len ? 0 : -1;
}

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/* The containers can write in their directories: a file the host reads there must be a regular file (a FIFO would block). */
static int open_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* run_dir holds every sandbox's socket and token: it must be this user's alone. */
static int run_dir_private(const struct dockerp_docker *ctx)
{
	struct stat st;

	if (lstat(ctx->run_dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Makes path (run_dir or below it), then checks that run_dir is this user's alone. */
static int made_private(struct dockerp_docker *ctx, char *path)
{
	if (mkdirs(path) < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot create %s: %s; set run_dir (CSDK_DOCKER_RUN_DIR) to a writable directory",
					path, strerror(errno));
	if (run_dir_private(ctx) < 0)
		return ctx->host->error(ctx->host, CSDK_ECONFIG,
			"run_dir %s is not a directory of this user's alone (mode 0700, not a symbolic link): %s; remove it or set run_dir (CSDK_DOCKER_RUN_DIR)",
			ctx->run_dir, strerror(errno));
	return 0;
}

int dockerp_run_dir_ready(struct dockerp_docker *ctx)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s", ctx->run_dir);
	return made_private(ctx, path);
}

int dockerp_agent_prepare(struct dockerp_docker *ctx, char *hex, int64_t deadline)
{
	char path[4200], token[33];
	int fd, ok, rc;

	if (access(ctx->agent, X_OK) < 0)
		return ctx->host->error(ctx->host, CSDK_ECONFIG,
			"csdk-agent cannot be run from %s (%s); install csdk-agent or set agent (CSDK_DOCKER_AGENT) to its path",
			ctx->agent, strerror(errno));
	if (csdkc_random_hex(hex, 8) || csdkc_random_hex(token, 16) || file_in(path, sizeof(path), ctx, hex, DOCKERP_AGENT_SOCK))
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot name the agent directory of a sandbox in %s", ctx->run_dir);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return ctx->host->error(ctx->host, CSDK_ECONFIG,
			"the agent socket %s is longer than %zu bytes; use a shorter run_dir (CSDK_DOCKER_RUN_DIR)",
			path, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	file_in(path, sizeof(path), ctx, hex, "sock");
	if ((rc = made_private(ctx, path)))
		return rc;
	file_in(path, sizeof(path), ctx, hex, "token");
	token[32] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	ok = fd >= 0 && write(fd, token, sizeof(token)) == (ssize_t)sizeof(token);
	if (fd >= 0)
		close(fd);
	if (ok) {
		file_in(path, sizeof(path), ctx, hex, "deadline");
		ok = write_deadline(path, deadline) == 0;
	}
	if (!ok) {
		int e = errno;
		dockerp_agent_forget(ctx, NULL, hex);
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

static int listens(const char *path)
{
	struct sockaddr_un sa;
	int fd, ok;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* 1 and *code when the container no longer runs (its agent, PID 1, ended),
 * 0 when it runs, or an error (CSDK_ENOTFOUND: it expired and is removed). */
static int agent_ended(struct dockerp_docker *ctx, const char *id, long long *code)
{
	json_t *j, *state;
	int rc;

	if ((rc = dockerp_inspect_as(ctx, id, 1, &j)))
		return rc;
	state = json_object_get(j, "State");
	rc = !json_is_true(json_object_get(state, "Running"));
	*code = json_integer_value(json_object_get(state, "ExitCode"));
	json_decref(j);
	return rc;
}

static int ended_error(struct dockerp_docker *ctx, const char *id, int rc, long long code, int waiting, const char *last)
{
	if (rc == CSDK_ENOTFOUND)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s expired or was removed; create a new one", id);
	if (rc < 0)
		return rc;
	return ctx->host->error(ctx->host, CSDK_EBACKEND,
		waiting ? "csdk-agent in container %s exited with status %lld before it listened%s%s; see 'docker logs %s', and check agent (CSDK_DOCKER_AGENT): a static csdk-agent for the engine's architecture"
			: "csdk-agent in container %s exited with status %lld%s%s; see 'docker logs %s', then destroy the sandbox and create a new one",
		id, code, last && last[0] ? ": " : "", last ? last : "", id);
}

int dockerp_agent_wait(struct dockerp_docker *ctx, const char *id, const char *hex)
{
	int64_t deadline = csdkc_now_ms() + AGENT_WAIT_MS, check = csdkc_now_ms() + AGENT_CHECK_MS;
	long long code = 0;
	char path[4200];
	int rc;

	file_in(path, sizeof(path), ctx, hex, DOCKERP_AGENT_SOCK);
	while (!listens(path)) {
		/* the agent is PID 1: if it ended, so did the container (an
		 * engine call, so not while it usually starts) */
		if (csdkc_now_ms() >= check) {
			if ((rc = agent_ended(ctx, id, &code)))
				return ended_error(ctx, id, rc, code, 1, NULL);
			check = csdkc_now_ms() + AGENT_CHECK_MS;
		}
		if (csdkc_now_ms() > deadline)
			return ctx->host->error(ctx->host, CSDK_EBACKEND,
				"csdk-agent in container %s did not listen on %s within 10 s; see 'docker logs %s', and check agent (CSDK_DOCKER_AGENT)",
				id, path, id);
		nanosleep(&(struct timespec){ 0, 500000 }, NULL);
	}
	return 0;
}

const char *dockerp_agent_dir_of(json_t *inspect)
{
	const char *hex = json_string_value(json_object_get(json_object_get(json_object_get(inspect, "Config"), "Labels"),
							    DOCKERP_AGENT_LABEL));

	/* 16 hex digits only: it names a directory to remove */
	return hex && strlen(hex) == 16 && strspn(hex, "0123456789abcdef") == 16 ? hex : NULL;
}

void dockerp_agent_forget(struct dockerp_docker *ctx, json_t *inspect, const char *hex)
{
	/* agent.sock: in run_dir/HEX itself in sandboxes made before sock/ */
	static const char *const files[] = { "agent.sock", "token", "deadline", "deadline.new" };
	char path[4200], err[256];

	if (!hex)
		hex = dockerp_agent_dir_of(inspect);
	if (!hex || !hex[0])
		return;
	/* sock/ is the container's to write: whatever it left there goes too */
	if (!file_in(path, sizeof(path), ctx, hex, "sock"))
		csdkc_remove_tree(AT_FDCWD, path, err, sizeof(err));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!file_in(path, sizeof(path), ctx, hex, files[i]))
			unlink(path);
	if (!file_in(path, sizeof(path), ctx, hex, NULL))
		rmdir(path);
	dockerp_pool_forget(ctx, hex);
}

static int endpoint_tcp(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, struct csdk_endpoint *out);

int dockerp_m_gateway_endpoint(void *vctx, void *sandbox, struct csdk_endpoint *out)
{
	struct dockerp_docker *ctx = vctx;
	struct dockerp_sandbox *sb = sandbox;
	char path[4200], url[4300], token[64];
	ssize_t n;
	int fd;

	if (sb->agent_tcp)
		return endpoint_tcp(ctx, sb, out);
	if (!sb->agent_dir[0])
		return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED,
					"sandbox %s was created in direct mode and has no agent; create it with mode=gateway", sb->id);
	file_in(path, sizeof(path), ctx, sb->agent_dir, "token");
	if ((fd = open_regular(path)) < 0)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND,
					"the agent token %s of sandbox %s is missing (%s); the sandbox was made with another run_dir or destroyed",
					path, sb->id, strerror(errno));
	n = read(fd, token, sizeof(token) - 1);
	close(fd);
	token[n > 0 ? n : 0] = '\0';
	token[strcspn(token, "\n")] = '\0';
	file_in(path, sizeof(path), ctx, sb->agent_dir, DOCKERP_AGENT_SOCK);
	/* a sandbox made before sock/ */
	if (access(path, F_OK) < 0)
		file_in(path, sizeof(path), ctx, sb->agent_dir, "agent.sock");
	/* gone: the agent ended (it removes its socket on SIGTERM) and the container with it */
	if (access(path, F_OK) < 0) {
		long long code = 0;
		int rc = agent_ended(ctx, sb->id, &code);
		if (rc)
			return ended_error(ctx, sb->id, rc, code, 0, NULL);
	}
	snprintf(url, sizeof(url), "unix:%s", path);
	return ctx->host->endpoint_set(out, url, token);
}

/* --- TCP transport ------------------------------------------------------ */

int dockerp_agent_token(struct dockerp_docker *ctx, char *token)
{
	if (access(ctx->agent, X_OK) < 0)
		return ctx->host->error(ctx->host, CSDK_ECONFIG,
			"csdk-agent cannot be run from %s (%s); install csdk-agent or set agent (CSDK_DOCKER_AGENT) to its path",
			ctx->agent, strerror(errno));
	if (csdkc_random_hex(token, 16))
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot make a random agent token");
	token[32] = '\0';
	return 0;
}

static int read_binary(struct dockerp_docker *ctx, char **out, size_t *len)
{
	int fd = open(ctx->agent, O_RDONLY | O_CLOEXEC), e;
	struct stat st;
	ssize_t n = 0;
	size_t got = 0;

	*out = NULL;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(*out = malloc((size_t)st.st_size + 1))) {
		e = fd >= 0 && !S_ISREG(st.st_mode) ? EISDIR : errno;
		goto fail;
	}
	while (got < (size_t)st.st_size && (n = read(fd, *out + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	if (got == (size_t)st.st_size) {
		close(fd);
		*len = got;
		return 0;
	}
	e = n < 0 ? errno : EIO;
fail:
	if (fd >= 0)
		close(fd);
	free(*out);
	*out = NULL;
	return ctx->host->error(ctx->host, CSDK_ECONFIG,
		"cannot read the csdk-agent binary %s (%s); install csdk-agent or set agent (CSDK_DOCKER_AGENT) to its path",
		ctx->agent, strerror(e));
}

/* A non-200 answer of the engine to WHAT, as its error. */
static int engine_refused(struct dockerp_docker *ctx, const struct dockerp_http_response *resp, const char *what)
{
	json_t *j = json_loadb(resp->body ? resp->body : "", resp->len, 0, NULL);
	int rc = dockerp_engine_error(ctx, CSDK_EBACKEND, what, resp->status, j);

	json_decref(j);
	return rc;
}

/* PUT an archive (taken: freed here) at / of container id; what names the step in the engine's refusal. */
static int put_root_archive(struct dockerp_docker *ctx, const char *id, char *tar, size_t tar_len, int64_t timeout_ms,
			    const char *what)
{
	struct dockerp_http_request req = { .method = "PUT", .content_type = "application/x-tar", .timeout_ms = timeout_ms };
	struct dockerp_http_response resp;
	char path[256];
	int rc;

	snprintf(path, sizeof(path), "/containers/%s/archive?path=%%2F", id);
	req.path = path;
	req.body = tar;
	req.body_len = tar_len;
	rc = dockerp_raw(ctx, &req, &resp);
	free(tar);
	if (rc)
		return rc;
	if (resp.status != 200)
		rc = engine_refused(ctx, &resp, what);
	dockerp_http_response_free(&resp);
	return rc;
}

int dockerp_agent_copy(struct dockerp_docker *ctx, const char *id, const char *token, int64_t deadline)
{
	char *bin, *tar = NULL, tok[34], dl[32], what[200];
	size_t bin_len = 0, tar_len;
	int64_t now = time(NULL);
	int rc;

	if ((rc = read_binary(ctx, &bin, &bin_len)))
		return rc;
	snprintf(tok, sizeof(tok), "%s\n", token);
	snprintf(dl, sizeof(dl), "%lld\n", (long long)deadline);
	{
		const struct dockerp_tar_member m[] = {
			{ .name = ".csdk/", .type = '5', .mode = 0755, .mtime = now },
			{ .name = ".csdk/agent", .type = '0', .mode = 0755, .data = bin, .len = bin_len, .mtime = now },
			{ .name = ".csdk/token", .type = '0', .mode = 0600, .data = tok, .len = strlen(tok), .mtime = now },
			{ .name = ".csdk/deadline", .type = '0', .mode = 0644, .data = dl, .len = strlen(dl), .mtime = now },
		};
		rc = dockerp_tar_members(&tar, &tar_len, m, sizeof(m) / sizeof(m[0]));
	}
	free(bin);
	if (rc)
		return ctx->host->error(ctx->host, rc, "out of memory building the archive of csdk-agent");
	snprintf(what, sizeof(what), "copying csdk-agent into container %s", id);
	return put_root_archive(ctx, id, tar, tar_len, 300000, what);
}

int dockerp_agent_tcp_of(json_t *inspect)
{
	const char *v = json_string_value(json_object_get(json_object_get(json_object_get(inspect, "Config"), "Labels"),
							  DOCKERP_AGENT_TCP_LABEL));

	return v && !strcmp(v, "tcp");
}

int dockerp_agent_published(json_t *inspect)
{
	char key[32];
	const char *hp;

	snprintf(key, sizeof(key), "%d/tcp", DOCKERP_AGENT_PORT);
	hp = json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(json_object_get(inspect,
		"NetworkSettings"), "Ports"), key), 0), "HostPort"));
	return hp ? atoi(hp) : 0;
}

/* The end of the container's previous run (State.FinishedAt) as the logs
 * API's since= (seconds.nanoseconds), so the agent of an earlier run is not
 * taken for the current one; "" for a first run. Not StartedAt: the engine
 * sets it after the process may already have written its first lines. */
void dockerp_agent_since(json_t *inspect, char *out, size_t len)
{
	const char *at = json_string_value(json_object_get(json_object_get(inspect, "State"), "FinishedAt")), *rest;
	struct tm tm;
	long ns = 0;
	int digits = 0;

	out[0] = '\0';
	memset(&tm, 0, sizeof(tm));
	if (!at || !(rest = strptime(at, "%Y-%m-%dT%H:%M:%S", &tm)) || tm.tm_year < 100)
		return;
	if (*rest == '.')
		for (rest++; *rest >= '0' && *rest <= '9'; rest++)
			if (digits++ < 9)
				ns = ns * 10 + (*rest - '0');
	while (digits++ < 9)
		ns *= 10;
	if (*rest == 'Z')
		snprintf(out, len, "%lld.%09ld", (long long)timegm(&tm), ns);
}

static int log_add(void *arg, int stream, const char *data, size_t len)
{
	(void)stream;
	return csdkc_capture_append(arg, data, len);
}

/* What the container's log says of its agent, the last start winning: 1 and
 * *port when it listens, else 0; *last is its last other line. */
static int agent_log_state(struct dockerp_docker *ctx, const char *id, const char *since, int *port, char *last, size_t last_len)
{
	struct dockerp_http_request req = { .method = "GET", .timeout_ms = 10000 };
	struct dockerp_http_response resp;
	struct csdkc_capture l = { .max = 4u << 20 };
	struct dockerp_frames f;
	char path[256];
	int rc, state = 0;

	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1%s%s", id, since[0] ? "&since=" : "", since);
	req.path = path;
	if ((rc = dockerp_raw(ctx, &req, &resp)))
		return rc;
	if (resp.status != 200) {
		char what[200];
		snprintf(what, sizeof(what), "reading the log of container %s", id);
		rc = engine_refused(ctx, &resp, what);
		dockerp_http_response_free(&resp);
		return rc;
	}
	dockerp_frames_init(&f);
	rc = dockerp_frames_feed(&f, resp.body, resp.len, log_add, &l);
	dockerp_http_response_free(&resp);
	if (rc) {
		free(l.data);
		return ctx->host->error(ctx->host, rc == CSDK_ENOMEM ? rc : CSDK_EBACKEND,
					"the log of container %s is not a Docker log stream", id);
	}
	last[0] = '\0';
	for (char *line = l.data, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		static const char listening[] = "csdk-agent: listening on ";
		if ((nl = strchr(line, '\n')))
			*nl = '\0';
		if (!strncmp(line, listening, sizeof(listening) - 1) && strrchr(line, ':')) {
			*port = atoi(strrchr(line, ':') + 1);
			state = 1;
		} else if (*line) {
			snprintf(last, last_len, "%s", line);
		}
	}
	free(l.data);
	return state;
}

/* 0 when host:port accepts a TCP connection within 2 s, else -1 and why. */
static int reach(const char *host, int port, char *why, size_t len)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai = NULL, *a;
	char service[16];
	int rc, e = ECONNREFUSED;

	snprintf(service, sizeof(service), "%d", port);
	if ((rc = getaddrinfo(host, service, &hints, &ai))) {
		snprintf(why, len, "%s", gai_strerror(rc));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		socklen_t el = sizeof(e);

		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			e = 0;
		} else if (errno != EINPROGRESS) {
			e = errno;
		} else if (poll(&p, 1, 2000) == 1) {
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
				e = errno;
		} else {
			e = ETIMEDOUT;
		}
		close(fd);
		if (!e)
			break;
	}
	freeaddrinfo(ai);
	if (!e)
		return 0;
	snprintf(why, len, "%s", strerror(e));
	return -1;
}

static const char *agent_host(const struct dockerp_docker *ctx)
{
	return ctx->ep.host ? ctx->ep.host : "127.0.0.1";
}

/* Where the agent of container id can be reached, checked: 0 and url, or an error. */
static int agent_url(struct dockerp_docker *ctx, const char *id, int published, const char *since, int waiting, char *url,
		     size_t len)
{
	int64_t deadline = csdkc_now_ms() + AGENT_WAIT_MS, check = waiting ? csdkc_now_ms() + AGENT_CHECK_MS : 0;
	char last[200], why[128] = "";
	int port = 0, state, rc;
	long long code = 0;

	for (;;) {
		if ((state = agent_log_state(ctx, id, since, &port, last, sizeof(last))) < 0)
			return state;
		if (published)
			port = published;
		if (state > 0 && port <= 0)
			return ctx->host->error(ctx->host, CSDK_EBACKEND,
				"the Docker engine at %s published no port for csdk-agent in container %s (no %d/tcp in NetworkSettings.Ports); use network=bridge or network=host",
				ctx->ep.display, id, DOCKERP_AGENT_PORT);
		if (state > 0 && port > 0 && !reach(agent_host(ctx), port, why, sizeof(why))) {
			snprintf(url, len, "http://%s:%d", agent_host(ctx), port);
			return 0;
		}
		/* the agent is PID 1: if it ended, so did the container */
		if (csdkc_now_ms() >= check && (rc = agent_ended(ctx, id, &code)))
			return ended_error(ctx, id, rc, code, waiting, last);
		if (!waiting || csdkc_now_ms() > deadline)
			break;
		nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	}
	if (state == 0 && waiting)
		return ctx->host->error(ctx->host, CSDK_EBACKEND,
			"csdk-agent in container %s did not listen within 10 s; see 'docker logs %s', and check agent (CSDK_DOCKER_AGENT)", id, id);
	if (state == 0)
		return ctx->host->error(ctx->host, CSDK_EBACKEND,
			"csdk-agent in container %s has not logged the port it listens on; see 'docker logs %s', then destroy the sandbox and create a new one",
			id, id);
	return ctx->host->error(ctx->host, CSDK_EBACKEND,
		"csdk-agent of sandbox %s listens on port %d of the engine's host, but %s:%d cannot be reached from here (%s); "
		"open that port to this machine, or see 'docker logs %s' whether the agent still runs",
		id, port, agent_host(ctx), port, why, id);
}

int dockerp_agent_wait_tcp(struct dockerp_docker *ctx, const char *id, json_t *inspect, char *url, size_t len)
{
	char since[32];

	dockerp_agent_since(inspect, since, sizeof(since));
	return agent_url(ctx, id, dockerp_agent_published(inspect), since, 1, url, len);
}

struct small_file {
	const char *name;
	char *buf;
	size_t len;
};

static int small_member(void *arg, const char *path, char type, uint64_t size, int64_t mtime, const char *data)
{
	struct small_file *f = arg;

	(void)mtime;
	if (type != '0' || !strstr(path, f->name) || size >= f->len)
		return 0;
	memcpy(f->buf, data, (size_t)size);
	f->buf[size] = '\0';
	f->buf[strcspn(f->buf, "\n")] = '\0';
	return 0;
}

/* The first line of /.csdk/NAME in container id, "" when it cannot be read; *status the engine's answer. */
static int read_inside(struct dockerp_docker *ctx, const char *id, const char *name, char *buf, size_t len, long *status)
{
	struct dockerp_http_request req = { .method = "GET", .timeout_ms = 10000 };
	struct dockerp_http_response resp;
	struct small_file f = { name, buf, len };
	char path[256];
	int rc;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/containers/%s/archive?path=%%2F.csdk%%2F%s", id, name);
	req.path = path;
	if ((rc = dockerp_raw(ctx, &req, &resp)))
		return rc;
	*status = resp.status;
	if (resp.status == 200)
		dockerp_tar_each(resp.body, resp.len, small_member, &f);
	dockerp_http_response_free(&resp);
	return 0;
}

/* The token copied into the container with its agent. */
static int agent_token_of(struct dockerp_docker *ctx, const char *id, char *token)
{
	long status = 0;
	int rc;

	if ((rc = read_inside(ctx, id, "token", token, 40, &status)))
		return rc;
	if (!token[0])
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND,
			"the agent token " DOCKERP_INSIDE_TOKEN " of sandbox %s cannot be read (HTTP %ld); destroy the sandbox and create a new one",
			id, status);
	return 0;
}

static int parse_deadline(const char *s, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

int dockerp_agent_deadline(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, int64_t *out)
{
	char path[4200], buf[40] = "";
	long status = 0;
	ssize_t n = -1;
	int fd, rc;

	if (sb->agent_tcp) {
		if ((rc = read_inside(ctx, sb->id, "deadline", buf, sizeof(buf), &status)))
			return rc;
		if (status == 404)
			return CSDK_ENOTFOUND;
		snprintf(path, sizeof(path), DOCKERP_INSIDE_DEADLINE " in container %s (HTTP %ld)", sb->id, status);
	} else {
		file_in(path, sizeof(path), ctx, sb->agent_dir, "deadline");
		if ((fd = open_regular(path)) < 0 && errno == ENOENT)
			return CSDK_ENOTFOUND;
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
	}
	if (parse_deadline(buf, out))
		return ctx->host->error(ctx->host, CSDK_EBACKEND,
			"the deadline file %s of sandbox %s cannot be read; destroy the sandbox and create a new one", path, sb->id);
	return 0;
}

int dockerp_agent_set_deadline(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, int64_t epoch)
{
	char path[4200], dl[32], what[200], *tar = NULL;
	size_t tar_len;
	int rc;

	if (!sb->agent_tcp) {
		file_in(path, sizeof(path), ctx, sb->agent_dir, "deadline");
		if (write_deadline(path, epoch) < 0)
			return ctx->host->error(ctx->host, CSDK_EIO, "cannot write %s: %s", path, strerror(errno));
		return 0;
	}
	/* the engine writes the small file in one go; the agent ignores it until its newline */
	snprintf(dl, sizeof(dl), "%lld\n", (long long)epoch);
	{
		const struct dockerp_tar_member m = { .name = ".csdk/deadline", .type = '0', .mode = 0644, .data = dl,
							   .len = strlen(dl), .mtime = time(NULL) };
		if ((rc = dockerp_tar_members(&tar, &tar_len, &m, 1)))
			return ctx->host->error(ctx->host, rc, "out of memory building an archive");
	}
	snprintf(what, sizeof(what), "moving the deadline of sandbox %s", sb->id);
	return put_root_archive(ctx, sb->id, tar, tar_len, 30000, what);
}

static int endpoint_tcp(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, struct csdk_endpoint *out)
{
	char url[sizeof(sb->agent_url)], token[sizeof(sb->agent_token)], why[128];
	int port, rc;

	pthread_mutex_lock(&ctx->lock);
	snprintf(url, sizeof(url), "%s", sb->agent_url);
	snprintf(token, sizeof(token), "%s", sb->agent_token);
	pthread_mutex_unlock(&ctx->lock);
	if (!url[0] || !token[0]) {
		if ((rc = agent_url(ctx, sb->id, sb->agent_port, sb->agent_since, 0, url, sizeof(url))) || (rc = agent_token_of(ctx, sb->id, token)))
			return rc;
		pthread_mutex_lock(&ctx->lock);
		snprintf(sb->agent_url, sizeof(sb->agent_url), "%s", url);
		snprintf(sb->agent_token, sizeof(sb->agent_token), "%s", token);
		pthread_mutex_unlock(&ctx->lock);
	} else if ((port = atoi(strrchr(url, ':') + 1)) > 0 && reach(agent_host(ctx), port, why, sizeof(why))) {
		long long code = 0;
		if ((rc = agent_ended(ctx, sb->id, &code)))
			return ended_error(ctx, sb->id, rc, code, 0, NULL);
		return ctx->host->error(ctx->host, CSDK_EBACKEND,
			"csdk-agent of sandbox %s cannot be reached at %s:%d (%s); see 'docker logs %s' whether the agent still runs",
			sb->id, agent_host(ctx), port, why, sb->id);
	}
	return ctx->host->endpoint_set(out, url, token);
}
