/*
 * The HTTP side of csdk serve: libmicrohttpd with a thread per
 * connection. Requests that name a sandbox (E2b-Sandbox-Id, or a Host of
 * the form PORT-ID.DOMAIN) are relayed to its agent; the others are E2B's
 * control plane. SIGTERM stops accepting, lets requests finish for the
 * grace period, then ends the streams still open.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "common/output.h"
#include "io.h"
#include "proxy.h"
#include "serve.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

enum conn_kind { KIND_NEW, KIND_API, KIND_PROXY, KIND_REFUSED, KIND_DONE };

struct serve_conn {
	struct serve *srv;
	int64_t t0;
	char *target;
	enum conn_kind kind;
	char *body;
	size_t len;
	int too_big;
	char *refusal;   /* KIND_REFUSED: the answer, sent once the body is read */
	struct serve_proxy *px;
	struct serve_record *rec;
	char *sandbox;
	const char *tenant;
	int status;
	char method[16];
};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void iso_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), size - strlen(buf), ".%03ldZ", ts.tv_nsec / 1000000);
}

/* The path without its query (which may carry signatures), printable. */
static void log_path(char *out, size_t size, const char *target)
{
	size_t i = 0;

	for (; target && *target && *target != '?' && i + 1 < size; target++)
		out[i++] = (*target < 0x20 || *target == 0x7f || *target == '"' || *target == '\\') ? '?' : *target;
	out[i] = '\0';
}

/* One log line of JSON, o released; the caller holds log_lock. */
static void print_json_line(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (s)
		fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(o);
}

void serve_log(struct serve *srv, const char *level, const char *fmt, ...)
{
	char msg[1024], now[40];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	iso_now(now, sizeof(now));
	pthread_mutex_lock(&log_lock);
	if (srv->opt.json_logs) {
		print_json_line(json_pack("{s:s,s:s,s:s}", "time", now, "level", level, "message", msg));
	} else {
		fprintf(stderr, "%s csdk serve: %s%s%s\n", now, strcmp(level, "info") ? level : "", strcmp(level, "info") ? ": " : "", msg);
	}
	pthread_mutex_unlock(&log_lock);
}

void serve_log_request(struct serve *srv, const char *method, const char *path, int status, int64_t duration_ms,
		       const char *sandbox, const char *tenant)
{
	char now[40];

	iso_now(now, sizeof(now));
	pthread_mutex_lock(&log_lock);
	if (srv->opt.json_logs) {
		print_json_line(json_pack("{s:s,s:s,s:s,s:s,s:i,s:I,s:s?,s:s?}", "time", now, "level", "info", "method", method,
					  "path", path, "status", status, "duration_ms", (json_int_t)duration_ms, "sandbox", sandbox,
					  "tenant", tenant));
	} else {
		fprintf(stderr, "%s csdk serve: %s %s %d %lldms sandbox=%s tenant=%s\n", now, method, path, status,
			(long long)duration_ms, sandbox ? sandbox : "-", tenant ? tenant : "-");
	}
	pthread_mutex_unlock(&log_lock);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct serve *srv = cls;
	struct serve_conn *conn = calloc(1, sizeof(*conn));

	(void)c;
	if (!conn)
		return NULL;
	conn->srv = srv;
	conn->t0 = csdku_mono_ms();
	conn->target = strdup(uri ? uri : "/");
	pthread_mutex_lock(&srv->active_lock);
	srv->active++;
	pthread_mutex_unlock(&srv->active_lock);
	return conn;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct serve *srv = cls;
	struct serve_conn *conn = *con_cls;
	char path[512];
	int status;

	(void)c;
	if (!conn)
		return;
	log_path(path, sizeof(path), conn->target);
	/* 499, as nginx logs it: the client left before the answer was complete. */
	status = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK || !conn->status ? conn->status : 499;
	serve_log_request(srv, conn->method[0] ? conn->method : "-", path, status ? status : 499, csdku_mono_ms() - conn->t0,
			  conn->sandbox, conn->tenant);
	serve_proxy_free(conn->px);
	serve_record_put(&srv->store, conn->rec);
	free(conn->sandbox);
	free(conn->body);
	free(conn->refusal);
	free(conn->target);
	free(conn);
	*con_cls = NULL;
	pthread_mutex_lock(&srv->active_lock);
	srv->active--;
	pthread_cond_broadcast(&srv->active_cond);
	pthread_mutex_unlock(&srv->active_lock);
}

/*
 * Clients close idle connections before the server does (undici reads
 * this), so that none sends a request on a connection being closed.
 */
static void keep_alive_hint(struct MHD_Response *r, const struct serve *srv)
{
	char v[32];

	snprintf(v, sizeof(v), "timeout=%d", srv->opt.idle_timeout_s);
	MHD_add_response_header(r, "Keep-Alive", v);
}

#define DISCARD_LIMIT (8 * 1024 * 1024)

static int64_t content_length(struct MHD_Connection *c);

static MHD_Result_t queue_body(struct serve_conn *conn, struct MHD_Connection *c, int status, const char *body,
			       const char *next_token)
{
	struct MHD_Response *r;
	MHD_Result_t ret;
	size_t len = body && status != 204 ? strlen(body) : 0;
	int64_t cl;

	/* An answer before the body (a refusal from the headers alone) waits for
	 * the body, read and dropped: answered first, the connection is reset
	 * under a client still sending, which then never reads the answer. */
	if (conn->kind == KIND_NEW && (cl = content_length(c)) != 0 && cl <= (int64_t)DISCARD_LIMIT) {
		if (!(conn->refusal = strdup(body ? body : "")))
			return MHD_NO;
		conn->status = status;
		conn->kind = KIND_REFUSED;
		conn->len = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(len, (void *)(len ? body : ""), MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	if (len)
		MHD_add_response_header(r, "Content-Type", "application/json");
	if (next_token)
		MHD_add_response_header(r, "X-Next-Token", next_token);
	if (atomic_load(&conn->srv->stopping))
		MHD_add_response_header(r, "Connection", "close");
	else
		keep_alive_hint(r, conn->srv);
	conn->status = status;
	conn->kind = KIND_DONE;
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static MHD_Result_t queue_error(struct serve_conn *conn, struct MHD_Connection *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static MHD_Result_t queue_error(struct serve_conn *conn, struct MHD_Connection *c, int status, const char *fmt, ...)
{
	char msg[600], *body;
	json_t *o;
	va_list ap;
	MHD_Result_t ret;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:i,s:s}", "code", status, "message", msg);
	body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	ret = queue_body(conn, c, status, body ? body : "{}", NULL);
	free(body);
	return ret;
}

/* A Connect-protocol error, as the agent itself would answer. */
static MHD_Result_t queue_connect_error(struct serve_conn *conn, struct MHD_Connection *c, int status, const char *code,
					const char *msg)
{
	json_t *o = json_pack("{s:s,s:s}", "code", code, "message", msg);
	char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	MHD_Result_t ret;

	json_decref(o);
	ret = queue_body(conn, c, status, body ? body : "{}", NULL);
	free(body);
	return ret;
}

static int is_rpc(const char *target)
{
	return !strncmp(target, "/process.", 9) || !strncmp(target, "/filesystem.", 12);
}

struct header_list {
	struct serve_proxy_header *h;
	size_t n, cap;
	int failed;
};

static int add_header(struct header_list *l, const char *name, const char *value)
{
	if (l->n == l->cap) {
		struct serve_proxy_header *g = realloc(l->h, (l->cap ? l->cap * 2 : 16) * sizeof(*g));

		if (!g) {
			l->failed = 1;
			return -1;
		}
		l->h = g;
		l->cap = l->cap ? l->cap * 2 : 16;
	}
	l->h[l->n].name = (char *)name;
	l->h[l->n++].value = (char *)value;
	return 0;
}

static MHD_Result_t collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	if (key && value && serve_proxy_forwarded(key) && strchr(key, '\r') == NULL && strchr(value, '\n') == NULL)
		add_header(cls, key, value);
	return MHD_YES;
}

static int64_t content_length(struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);

	if (te && strcasestr(te, "chunked"))
		return -1;
	if (cl)
		return strtoll(cl, NULL, 10);
	return 0;
}

static MHD_Result_t start_proxy(struct serve *srv, struct serve_conn *conn, struct MHD_Connection *c, const char *method,
				const char *id, int port)
{
	struct serve_proxy_request req = { 0 };
	struct header_list hl = { 0 };
	const csdk_agent_endpoint *ep = NULL;
	const union MHD_ConnectionInfo *ci;
	char err[512], *url = NULL;
	size_t i;
	MHD_Result_t ret;

	conn->sandbox = strdup(id);
	if (!serve_valid_id(id))
		return queue_error(conn, c, 400, "'%.80s' is not a sandbox id", id);
	conn->rec = serve_store_get(&srv->store, id);
	if (!conn->rec || serve_record_expired(&srv->store, conn->rec))
		return queue_error(conn, c, 502, "sandbox '%s' not found: it was killed, timed out, or was not created by this server", id);
	conn->tenant = NULL;
	if (port == SERVE_ENVD_PORT) {
		const char *token = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Access-Token");
		int health = !strcmp(method, "GET") && !strncmp(conn->target, "/health", 7) &&
			     (conn->target[7] == '\0' || conn->target[7] == '?');

		if (!health && (!token || !serve_secret_equal(token, conn->rec->token))) {
			if (is_rpc(conn->target))
				return queue_connect_error(conn, c, 401, "unauthenticated", "invalid or missing access token");
			return queue_error(conn, c, 401, "invalid or missing access token");
		}
		if (serve_record_endpoint(srv, conn->rec, &ep, err, sizeof(err)) < 0)
			return queue_error(conn, c, 502, "%s", err);
		req.base_url = ep->url;
		if (ep->token)
			add_header(&hl, "X-Access-Token", ep->token);
		for (i = 0; i < ep->n_headers; i++)
			add_header(&hl, ep->headers[i].key, ep->headers[i].value);
	} else {
		csdk_sandbox *sb = NULL;

		if (serve_record_sandbox(srv, conn->rec, &sb) < 0 || !sb || csdk_sandbox_get_url(&url, sb, port, "http") < 0) {
			csdk_sandbox_free(sb);
			return queue_error(conn, c, 502, "port %d of sandbox '%s' cannot be reached: %s", port, id,
					   csdk_error_last()->message);
		}
		csdk_sandbox_free(sb);
		req.base_url = url;
	}
	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &hl);
	if (hl.failed) {
		ret = queue_error(conn, c, 500, "out of memory");
		goto out;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	req.method = method;
	req.target = conn->target;
	req.content_length = content_length(c);
	req.headers = hl.h;
	req.n_headers = hl.n;
	req.client_fd = ci ? ci->connect_fd : -1;
	req.aborting = &srv->aborting;
	if (serve_proxy_new(&conn->px, &req) < 0) {
		ret = queue_error(conn, c, 502, "cannot start a request to the sandbox's agent");
		goto out;
	}
	conn->kind = KIND_PROXY;
	ret = MHD_YES;
out:
	free(hl.h);
	csdk_free(url);
	return ret;
}

/*
 * Time spent in our callbacks (a create, a silent process) is not the
 * client's idleness: libmicrohttpd restarts the idle clock when the
 * timeout is set again after being 0.
 */
static void touch(struct MHD_Connection *c, unsigned int idle_s)
{
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, idle_s);
}

struct relay {
	struct serve_proxy *px;
	struct MHD_Connection *c;
	unsigned int idle_s;
};

static ssize_t proxy_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct relay *rl = cls;
	ssize_t n = serve_proxy_read(rl->px, buf, max);

	(void)pos;
	touch(rl->c, rl->idle_s);
	if (n == -1)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n;
}

static void proxy_free_cb(void *cls)
{
	struct relay *rl = cls;

	serve_proxy_free(rl->px);
	free(rl);
}

static MHD_Result_t finish_proxy(struct serve *srv, struct serve_conn *conn, struct MHD_Connection *c)
{
	const struct serve_proxy_header *h;
	struct MHD_Response *r;
	const char *body;
	size_t n, i, len;
	long status;
	MHD_Result_t ret;

	if (serve_proxy_answer(conn->px, &status) < 0 || status < 100 || status > 599)
		return queue_error(conn, c, 502, "the sandbox's agent did not answer: %s", serve_proxy_error(conn->px));
	if (serve_proxy_complete(conn->px, &body, &len)) {
		r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	} else {
		struct relay *rl = malloc(sizeof(*rl));

		if (!rl)
			return MHD_NO;
		rl->px = conn->px;
		rl->c = c;
		rl->idle_s = (unsigned int)srv->opt.idle_timeout_s;
		if (!(r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256 * 1024, proxy_reader, rl, proxy_free_cb)))
			free(rl);
	}
	if (!r)
		return MHD_NO;
	h = serve_proxy_headers(conn->px, &n);
	for (i = 0; i < n; i++)
		MHD_add_response_header(r, h[i].name, h[i].value);
	if (atomic_load(&srv->stopping))
		MHD_add_response_header(r, "Connection", "close");
	else
		keep_alive_hint(r, srv);
	if (!serve_proxy_complete(conn->px, &body, &len))
		conn->px = NULL;   /* the response owns it now */
	conn->status = (int)status;
	conn->kind = KIND_DONE;
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The head of a request: route it to the proxy or the API, or refuse it. */
static MHD_Result_t begin_request(struct serve *srv, struct serve_conn *conn, struct MHD_Connection *c, const char *method)
{
	const char *sid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "E2b-Sandbox-Id");
	const char *sport = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "E2b-Sandbox-Port");
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	char hid[SERVE_MAX_ID + 1];
	int port = SERVE_ENVD_PORT;
	int64_t cl;

	snprintf(conn->method, sizeof(conn->method), "%s", method);
	if (atomic_load(&srv->stopping))
		return queue_error(conn, c, 503, "the server is stopping; retry in a moment");
	if (sid) {
		if (sport) {
			char *end;
			long p = strtol(sport, &end, 10);

			if (!*sport || *end || p < 1 || p > 65535)
				return queue_error(conn, c, 400, "E2b-Sandbox-Port '%.10s' is not a port", sport);
			port = (int)p;
		}
		return start_proxy(srv, conn, c, method, sid, port);
	}
	if (host && serve_parse_host(host, &port, hid, sizeof(hid)) == 0)
		return start_proxy(srv, conn, c, method, hid, port);
	cl = content_length(c);
	if (cl > (int64_t)DISCARD_LIMIT)
		return queue_error(conn, c, 413, "the body is %lld bytes; at most %zu are accepted", (long long)cl, srv->opt.max_body);
	conn->kind = KIND_API;
	/* Read and dropped, then 413: answering before the body is read resets
	 * the connection under a client still sending, which then never sees
	 * the answer. */
	if (cl > (int64_t)srv->opt.max_body)
		conn->too_big = 1;
	return MHD_YES;
}

/* n more bytes of the request's body. */
static MHD_Result_t take_upload(struct serve *srv, struct serve_conn *conn, const char *data, size_t n)
{
	if (conn->kind == KIND_API) {
		char *grown;

		if (conn->too_big || conn->len + n > srv->opt.max_body) {
			conn->too_big = 1;
			conn->len += n;
			return conn->len > DISCARD_LIMIT ? MHD_NO : MHD_YES;
		}
		if (!(grown = realloc(conn->body, conn->len + n + 1)))
			return MHD_NO;
		conn->body = grown;
		memcpy(conn->body + conn->len, data, n);
		conn->len += n;
		conn->body[conn->len] = '\0';
	} else if (conn->kind == KIND_PROXY) {
		if (serve_proxy_feed(conn->px, data, n) < 0)
			conn->too_big = 1;   /* reported once the upload ends */
	} else if (conn->kind == KIND_REFUSED) {
		conn->len += n;
		return conn->len > DISCARD_LIMIT ? MHD_NO : MHD_YES;
	}
	return MHD_YES;
}

/* The whole request is in: answer it. */
static MHD_Result_t answer_request(struct serve *srv, struct serve_conn *conn, struct MHD_Connection *c, const char *method)
{
	struct serve_answer ans = { 0 };
	MHD_Result_t ret;

	if (conn->kind == KIND_REFUSED)
		return queue_body(conn, c, conn->status, conn->refusal, NULL);
	if (conn->kind == KIND_PROXY) {
		if (conn->too_big)
			return queue_error(conn, c, 502, "relaying the body to the sandbox's agent failed: %s", serve_proxy_error(conn->px));
		return finish_proxy(srv, conn, c);
	}
	if (conn->kind != KIND_API)
		return MHD_YES;
	if (conn->too_big)
		return queue_error(conn, c, 413, "the body is over %zu bytes; send a smaller one", srv->opt.max_body);
	serve_api(srv, &ans, method, conn->target, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-API-KEY"),
		  conn->body, conn->len);
	conn->sandbox = ans.sandbox;
	conn->tenant = ans.tenant;
	ret = queue_body(conn, c, ans.status ? ans.status : 500, ans.body ? ans.body : "{\"code\":500,\"message\":\"no answer\"}",
			 ans.next_token);
	free(ans.body);
	free(ans.next_token);
	return ret;
}

static MHD_Result_t handle_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct serve *srv = cls;
	struct serve_conn *conn = *con_cls;
	size_t n = *upload_data_size;

	(void)url;
	(void)version;
	if (!conn)
		return MHD_NO;
	if (conn->kind == KIND_NEW)
		return begin_request(srv, conn, c, method);
	if (n) {
		*upload_data_size = 0;
		return take_upload(srv, conn, upload_data, n);
	}
	return answer_request(srv, conn, c, method);
}

static MHD_Result_t on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct serve *srv = cls;
	MHD_Result_t ret = handle_request(cls, c, url, method, version, upload_data, upload_data_size, con_cls);

	touch(c, (unsigned int)srv->opt.idle_timeout_s);
	return ret;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	serve_log(cls, "warning", "http: %s", msg);
}

static int listen_addr(struct addrinfo **out, const char *listen, char *host, size_t host_size, char *port, size_t port_size)
{
	struct addrinfo hints = { 0 };
	const char *colon = strrchr(listen, ':');
	size_t hl;

	if (!colon)
		return -1;
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		listen++;
		hl -= 2;
	}
	if (hl >= host_size || strlen(colon + 1) >= port_size || !colon[1])
		return -1;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	snprintf(port, port_size, "%s", colon + 1);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	return getaddrinfo(*host ? host : NULL, port, &hints, out) == 0 ? 0 : -1;
}

int serve_check_listen(const char *listen)
{
	struct addrinfo *ai = NULL;
	char host[256], port[16];
	int rc = listen_addr(&ai, listen, host, sizeof(host), port, sizeof(port));

	if (ai)
		freeaddrinfo(ai);
	return rc;
}

/* Signals end the server through sigtimedwait; descriptors up to the hard limit. */
static void prepare_process(sigset_t *set)
{
	struct rlimit rl;

	/* A relayed stream holds four descriptors (client, agent, curl's wakeup pair): take what the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static struct MHD_Daemon *start_daemon(struct serve *srv, const struct addrinfo *ai)
{
	return MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
					(ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
				srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)srv->opt.idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT, 4096u,
				MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024), MHD_OPTION_END);
}

/* Stop accepting, give requests in progress the grace period, then end them with the daemon. */
static void drain(struct serve *srv, struct MHD_Daemon *d, int sig)
{
	MHD_socket lsock;
	int64_t deadline;

	serve_log(srv, "info", "signal %d: not accepting connections; waiting up to %d s for requests in progress", sig, srv->opt.grace_s);
	atomic_store(&srv->stopping, 1);
	lsock = MHD_quiesce_daemon(d);
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
	deadline = csdku_mono_ms() + (int64_t)srv->opt.grace_s * 1000;
	pthread_mutex_lock(&srv->active_lock);
	while (srv->active > 0 && csdku_mono_ms() < deadline) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&srv->active_cond, &srv->active_lock, &ts);
	}
	if (srv->active > 0) {
		serve_log(srv, "warning", "grace period over: ending %d request(s) still in progress", srv->active);
		atomic_store(&srv->aborting, 1);
	}
	pthread_mutex_unlock(&srv->active_lock);
	MHD_stop_daemon(d);
}

int serve_run(struct serve *srv)
{
	struct addrinfo *ai = NULL;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	char host[256], port[16];
	sigset_t set;
	int sig;

	if (listen_addr(&ai, srv->opt.listen, host, sizeof(host), port, sizeof(port)) < 0) {
		serve_log(srv, "error", "cannot listen on '%s': give ADDRESS:PORT, e.g. 127.0.0.1:3000", srv->opt.listen);
		return 1;
	}
	prepare_process(&set);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&srv->active_lock, NULL);
	pthread_cond_init(&srv->active_cond, NULL);
	d = start_daemon(srv, ai);
	freeaddrinfo(ai);
	if (!d) {
		serve_log(srv, "error", "cannot listen on %s: %s; is the port in use?", srv->opt.listen, strerror(errno));
		curl_global_cleanup();
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	/* csdk's own standard output: fd 1 is stderr while plugins run. */
	fprintf(TOOL_STDOUT, "csdk serve: listening on http://%s%s%s:%u\n", strchr(host, ':') ? "[" : "", *host ? host : "0.0.0.0",
		strchr(host, ':') ? "]" : "", info ? (unsigned)info->port : 0u);
	fflush(TOOL_STDOUT);
	serve_log(srv, "info", "serving %zu tenant(s), %zu sandbox(es) known, state in %s", srv->opt.n_tenants, srv->store.n,
		  srv->store.path);
	for (;;) {
		struct timespec ts = { 1, 0 };

		if ((sig = sigtimedwait(&set, NULL, &ts)) > 0)
			break;
		serve_reap(srv);
	}
	drain(srv, d, sig);
	curl_global_cleanup();
	serve_log(srv, "info", "stopped; sandboxes live on in their providers");
	return 0;
}
