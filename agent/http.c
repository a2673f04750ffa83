#include "config.h"

#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connect.h"
#include "request.h"

enum agent_kind { AGENT_UNARY, AGENT_STREAM, AGENT_UNIMPLEMENTED };

struct agent_route {
	const char *path;
	enum agent_kind kind;
	agent_unary_fn unary;
	agent_stream_fn stream;
};

static const struct agent_route agent_routes[] = {
	{ "/process.Process/List", AGENT_UNARY, agent_svc_list, NULL },
	{ "/process.Process/Start", AGENT_STREAM, NULL, agent_svc_start },
	{ "/process.Process/Connect", AGENT_STREAM, NULL, agent_svc_connect },
	{ "/process.Process/SendInput", AGENT_UNARY, agent_svc_send_input, NULL },
	{ "/process.Process/SendSignal", AGENT_UNARY, agent_svc_send_signal, NULL },
	{ "/process.Process/CloseStdin", AGENT_UNARY, agent_svc_close_stdin, NULL },
	{ "/process.Process/Update", AGENT_UNARY, agent_svc_update, NULL },
	{ "/process.Process/StreamInput", AGENT_UNIMPLEMENTED, NULL, NULL },
	{ "/filesystem.Filesystem/Stat", AGENT_UNARY, agent_fs_stat, NULL },
	{ "/filesystem.Filesystem/ListDir", AGENT_UNARY, agent_fs_list_dir, NULL },
	{ "/filesystem.Filesystem/MakeDir", AGENT_UNARY, agent_fs_make_dir, NULL },
	{ "/filesystem.Filesystem/Move", AGENT_UNARY, agent_fs_move, NULL },
	{ "/filesystem.Filesystem/Remove", AGENT_UNARY, agent_fs_remove, NULL },
	{ "/filesystem.Filesystem/WatchDir", AGENT_UNIMPLEMENTED, NULL, NULL },
	{ "/filesystem.Filesystem/CreateWatcher", AGENT_UNIMPLEMENTED, NULL, NULL },
	{ "/filesystem.Filesystem/GetWatcherEvents", AGENT_UNIMPLEMENTED, NULL, NULL },
	{ "/filesystem.Filesystem/RemoveWatcher", AGENT_UNIMPLEMENTED, NULL, NULL },
};

enum agent_target { AGENT_T_RPC, AGENT_T_FILES, AGENT_T_HEALTH, AGENT_T_INIT, AGENT_T_NONE };

struct agent_req {
	enum agent_target target;
	const struct agent_route *route;
	char *body;
	size_t len, cap;
	void *files;
	unsigned refused;  /* 401, 404, 405 or 413, answered once the body is read */
	char refused_what[256];
	size_t received, discarded;
};

/* A refused request's body is read (up to this much) before the answer goes out:
 * MHD answers only between requests, and a client still sending when the
 * connection closes sees EPIPE, not the answer. Past it, the connection is cut. */
#define AGENT_DISCARD_MAX (1u << 20)

#define AGENT_CONN_MEMORY (256u * 1024)

_Atomic int agent_stopping;

static enum MHD_Result agent_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static struct MHD_Response *agent_text_response(char *text, const char *type)
{
	struct MHD_Response *r;

	if (!text)
		return NULL;
	r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return r;
}

enum MHD_Result agent_reply_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	return agent_queue(c, status, agent_text_response(text, "application/json"));
}

enum MHD_Result agent_reply_connect_error(struct MHD_Connection *c, const struct agent_err *err)
{
	return agent_reply_json(c, (unsigned)agent_code_http_status(err->code),
				json_pack("{s:s,s:s}", "code", err->code, "message", err->msg));
}

enum MHD_Result agent_reply_rest_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return agent_reply_json(c, status, json_pack("{s:i,s:s}", "code", (int)status, "message", msg));
}

int agent_frame_append(unsigned char **buf, size_t *len, unsigned flags, const char *json, size_t n)
{
	unsigned char *nb = realloc(*buf, *len + AGENT_ENV_HDR + n);

	if (!nb)
		return -1;
	agent_envelope_header(nb + *len, flags, n);
	memcpy(nb + *len + AGENT_ENV_HDR, json, n);
	*buf = nb;
	*len += AGENT_ENV_HDR + n;
	return 0;
}

char *agent_end_frame_json(const struct agent_err *err)
{
	json_t *v = err ? json_pack("{s:{s:s,s:s}}", "error", "code", err->code, "message", err->msg)
			: json_object();
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;

	json_decref(v);
	return s;
}

struct MHD_Response *agent_stream_end_response(const struct agent_err *err)
{
	char *json = agent_end_frame_json(err);
	unsigned char *buf = NULL;
	size_t len = 0;
	struct MHD_Response *r = NULL;

	if (json && agent_frame_append(&buf, &len, AGENT_ENV_END, json, strlen(json)) == 0)
		r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	free(json);
	if (!r) {
		free(buf);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/connect+json");
	return r;
}

static const struct agent_route *agent_find_route(const char *url)
{
	for (size_t i = 0; i < sizeof agent_routes / sizeof agent_routes[0]; i++)
		if (strcmp(agent_routes[i].path, url) == 0)
			return &agent_routes[i];
	return NULL;
}

static int agent_media_is(struct MHD_Connection *c, const char *want)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen(want);

	return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';');
}

static enum MHD_Result agent_dispatch_stream(struct MHD_Connection *c, struct agent_req *rq)
{
	struct agent_err err = { 0 };
	const unsigned char *msg;
	size_t msg_len;
	const char *why = NULL;
	struct MHD_Response *resp;
	json_t *in;

	if (!agent_media_is(c, "application/connect+json"))
		return agent_reply_rest_error(c, 415, "expected application/connect+json");
	if (agent_stream_request((const unsigned char *)rq->body, rq->len, agent_cfg.max_body, &msg,
				 &msg_len, &why) < 0) {
		agent_err_set(&err, "invalid_argument", "%s", why);
		return agent_queue(c, 200, agent_stream_end_response(&err));
	}
	in = agent_parse_object((const char *)msg, msg_len, &err);
	if (!in)
		return agent_queue(c, 200, agent_stream_end_response(&err));
	resp = rq->route->stream(c, in);
	json_decref(in);
	return agent_queue(c, 200, resp);
}

static enum MHD_Result agent_dispatch_unary(struct MHD_Connection *c, struct agent_req *rq)
{
	struct agent_err err = { 0 };
	json_t *in, *out;

	if (!agent_media_is(c, "application/json"))
		return agent_reply_rest_error(c, 415, "expected application/json");
	in = agent_parse_object(rq->len ? rq->body : "{}", rq->len ? rq->len : 2, &err);
	out = in ? rq->route->unary(in, &err) : NULL;
	json_decref(in);
	if (!out)
		return agent_reply_connect_error(c, &err);
	return agent_reply_json(c, 200, out);
}

static enum MHD_Result agent_dispatch_rpc(struct MHD_Connection *c, struct agent_req *rq)
{
	struct agent_err err;

	if (rq->route->kind == AGENT_STREAM)
		return agent_dispatch_stream(c, rq);
	if (rq->route->kind == AGENT_UNARY)
		return agent_dispatch_unary(c, rq);
	agent_err_set(&err, "unimplemented", "%s is not implemented by csdk-agent", rq->route->path);
	return agent_reply_connect_error(c, &err);
}

static enum MHD_Result agent_too_large(struct MHD_Connection *c, struct agent_req *rq)
{
	struct agent_err err;

	if (rq->target == AGENT_T_FILES)
		return agent_reply_rest_error(c, 413, "request body larger than %zu bytes",
					      agent_cfg.max_upload);
	agent_err_set(&err, "resource_exhausted", "request body larger than %zu bytes", agent_cfg.max_body);
	return agent_reply_json(c, 413, json_pack("{s:s,s:s}", "code", err.code, "message", err.msg));
}

static int agent_declared_too_large(struct MHD_Connection *c, struct agent_req *rq)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	size_t limit = rq->target == AGENT_T_FILES ? agent_cfg.max_upload : agent_cfg.max_body;

	return cl && strtoull(cl, NULL, 10) > limit;
}

static int agent_body_append(struct agent_req *rq, const char *data, size_t n)
{
	size_t cap = rq->cap ? rq->cap : 1024;
	char *nb;

	if (rq->len + n > agent_cfg.max_body)
		return -1;
	while (cap < rq->len + n)
		cap *= 2;
	if (cap != rq->cap) {
		nb = realloc(rq->body, cap);
		if (!nb)
			return -1;
		rq->body = nb;
		rq->cap = cap;
	}
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	return 0;
}

static enum MHD_Result agent_refuse(struct MHD_Connection *c, struct agent_req *rq)
{
	switch (rq->refused) {
	case 404:
		return agent_reply_rest_error(c, 404, "no route for %s", rq->refused_what);
	case 405:
		return agent_reply_rest_error(c, 405, "method %s not allowed", rq->refused_what);
	case 413:
		return agent_too_large(c, rq);
	default:
		return agent_reply_json(c, 401, json_pack("{s:s,s:s}", "code", "unauthenticated",
					"message", "unauthorized access, please provide a valid access token"));
	}
}

static enum MHD_Result agent_refuse_later(struct MHD_Connection *c, struct agent_req *rq, unsigned status,
					 const char *what)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	rq->refused = status;
	snprintf(rq->refused_what, sizeof rq->refused_what, "%s", what);
	if (cl && strtoull(cl, NULL, 10) > AGENT_DISCARD_MAX)
		return agent_refuse(c, rq);
	return MHD_YES;
}

static enum MHD_Result agent_first_call(struct MHD_Connection *c, const char *url, const char *method,
					struct agent_req *rq)
{
	if (strcmp(url, "/health") == 0) {
		rq->target = AGENT_T_HEALTH;
		return MHD_YES;
	}
	if (strcmp(url, "/files") == 0)
		rq->target = AGENT_T_FILES;
	else if (strcmp(url, "/init") == 0)
		rq->target = AGENT_T_INIT;
	else if ((rq->route = agent_find_route(url)))
		rq->target = AGENT_T_RPC;
	else
		return agent_refuse_later(c, rq, 404, url);
	if ((rq->target == AGENT_T_RPC || rq->target == AGENT_T_INIT) && strcmp(method, "POST") != 0)
		return agent_refuse_later(c, rq, 405, method);
	if (!agent_auth_ok(c))
		return agent_refuse_later(c, rq, 401, "");
	if (agent_declared_too_large(c, rq))
		return agent_refuse_later(c, rq, 413, "");
	return MHD_YES;
}

static enum MHD_Result agent_discard(struct agent_req *rq, size_t *upload_size)
{
	rq->discarded += *upload_size;
	*upload_size = 0;
	return rq->discarded <= AGENT_DISCARD_MAX ? MHD_YES : MHD_NO;
}

static int agent_over_limit(struct agent_req *rq, size_t n)
{
	size_t limit = rq->target == AGENT_T_FILES ? agent_cfg.max_upload : agent_cfg.max_body;

	rq->received += n;
	return rq->received > limit;
}

static enum MHD_Result agent_handler(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version, const char *upload,
				     size_t *upload_size, void **con_cls)
{
	struct agent_req *rq = *con_cls;

	if (!rq) {
		rq = calloc(1, sizeof *rq);
		if (!rq)
			return MHD_NO;
		rq->target = AGENT_T_NONE;
		*con_cls = rq;
		return agent_first_call(c, url, method, rq);
	}
	if (!rq->refused && agent_over_limit(rq, *upload_size))
		rq->refused = 413;
	if (rq->refused)
		return *upload_size ? agent_discard(rq, upload_size) : agent_refuse(c, rq);
	if (rq->target == AGENT_T_FILES)
		return agent_files_handle(c, method, &rq->files, upload, upload_size);
	if (*upload_size) {
		if (agent_body_append(rq, upload, *upload_size) < 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->target == AGENT_T_HEALTH)
		return agent_queue(c, 204, MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT));
	if (rq->target == AGENT_T_RPC)
		return agent_dispatch_rpc(c, rq);
	if (rq->target == AGENT_T_INIT)
		return agent_init_handle(c, rq->body, rq->len);
	return MHD_NO;
}

static void agent_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			    enum MHD_RequestTerminationCode toe)
{
	struct agent_req *rq = *con_cls;

	if (!rq)
		return;
	if (rq->files)
		agent_files_done(rq->files);
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

/* libmicrohttpd's own messages: the format comes from the library. */
__attribute__((format(printf, 2, 0)))
static void agent_mhd_log(void *cls, const char *fmt, va_list ap)
{
	if (!agent_cfg.verbose)
		return;
	fputs("csdk-agent: ", stderr);
	vfprintf(stderr, fmt, ap);
}

struct MHD_Daemon *agent_http_start(int listen_fd)
{
	return MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
		0, NULL, NULL, agent_handler, NULL,
		MHD_OPTION_LISTEN_SOCKET, listen_fd,
		MHD_OPTION_CONNECTION_LIMIT, agent_cfg.max_conns,
		MHD_OPTION_CONNECTION_TIMEOUT, agent_cfg.idle_timeout,
		MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
		/* A chunk of a streamed response is what is left of this pool (32 KiB by
		 * default): bigger chunks mean fewer sends and fewer writes for the client. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)AGENT_CONN_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, agent_completed, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, agent_mhd_log, NULL,
		MHD_OPTION_END);
}
