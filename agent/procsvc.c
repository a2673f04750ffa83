/* process.Process: unary calls and the server streams of Start and Connect. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "connect.h"
#include "http.h"
#include "process.h"
#include "request.h"

#define AGENT_WAIT_SLICE_MS 1000
#define AGENT_KEEPALIVE "{\"event\":{\"keepalive\":{}}}"
#define AGENT_KEEPALIVE_DEFAULT_MS 90000

/* The frame being sent is hdr followed by body: a queued message's JSON
 * (sent from the message itself), or own, an end or keepalive frame's. */
struct agent_stream {
	struct agent_sub *sub;
	struct MHD_Connection *conn;
	long long keepalive_ms, next_keepalive;
	unsigned char hdr[AGENT_ENV_HDR];
	const char *body;
	size_t len, off;  /* of the body; off counts the header too */
	struct agent_msg *m;
	char *own;
	int done;
};

static int agent_client_gone(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd pfd;

	if (!ci)
		return 0;
	pfd.fd = ci->connect_fd;
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static long long agent_stream_wait_ms(struct agent_stream *st)
{
	long long left;

	if (!st->keepalive_ms)
		return AGENT_WAIT_SLICE_MS;
	left = st->next_keepalive - agent_now_ms();
	return left < 1 ? 1 : left > AGENT_WAIT_SLICE_MS ? AGENT_WAIT_SLICE_MS : left;
}

static void agent_stream_frame(struct agent_stream *st, unsigned flags, const char *json, size_t n)
{
	agent_envelope_header(st->hdr, flags, n);
	st->body = json;
	st->len = n;
	st->off = 0;
	if (st->keepalive_ms)
		st->next_keepalive = agent_now_ms() + st->keepalive_ms;
}

static void agent_stream_drop_frame(struct agent_stream *st)
{
	if (st->m)
		agent_msg_release(st->m);
	free(st->own);
	st->m = NULL;
	st->own = NULL;
	st->body = NULL;
}

/* The next frame into st, or frames of output straight into out (*used bytes,
 * at most max); wait 0 takes only what is ready already. 1: a frame or bytes;
 * 0: nothing ready (wait 0 only); -1: the client left or the agent stops. */
static int agent_stream_next(struct agent_stream *st, int wait, char *out, size_t max, size_t *used)
{
	struct agent_msg *m;
	int rc;

	*used = 0;
	for (;;) {
		/* Checked before taking output: what is written to a closed connection
		 * (up to one response chunk of messages) is lost, what stays queued is
		 * there for the next Connect. */
		if (agent_stopping || agent_client_gone(st->conn))
			return -1;
		rc = agent_sub_next(st->sub, 0, &m);
		if (rc == 0 && agent_sub_read_direct(st->sub, out, max, wait ? agent_stream_wait_ms(st) : 0, used) < 0 &&
		    wait)
			rc = agent_sub_next(st->sub, agent_stream_wait_ms(st), &m);
		if (*used) {
			if (st->keepalive_ms)
				st->next_keepalive = agent_now_ms() + st->keepalive_ms;
			return 1;
		}
		if (rc > 0) {
			st->m = m;
			agent_stream_frame(st, 0, m->data, m->len);
			return 1;
		}
		if (rc < 0) {
			if (!(st->own = agent_end_frame_json(NULL)))
				return -1;
			agent_stream_frame(st, AGENT_ENV_END, st->own, strlen(st->own));
			st->done = 1;
			return 1;
		}
		if (st->keepalive_ms && agent_now_ms() >= st->next_keepalive) {
			agent_stream_frame(st, 0, AGENT_KEEPALIVE, strlen(AGENT_KEEPALIVE));
			return 1;
		}
		if (!wait)
			return 0;
	}
}

/* What is left of the frame into out, at most max bytes; the frame goes once sent. */
static size_t agent_stream_copy(struct agent_stream *st, char *out, size_t max)
{
	size_t n = 0, k;

	if (st->off < AGENT_ENV_HDR) {
		k = AGENT_ENV_HDR - st->off < max ? AGENT_ENV_HDR - st->off : max;
		memcpy(out, st->hdr + st->off, k);
		st->off += k;
		n = k;
	}
	if (st->off >= AGENT_ENV_HDR) {
		k = AGENT_ENV_HDR + st->len - st->off;
		if (k > max - n)
			k = max - n;
		memcpy(out + n, st->body + (st->off - AGENT_ENV_HDR), k);
		st->off += k;
		n += k;
	}
	if (st->off == AGENT_ENV_HDR + st->len)
		agent_stream_drop_frame(st);
	return n;
}

/* As many frames as fit and are queued; it waits only while it has nothing to send. */
static ssize_t agent_stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct agent_stream *st = cls;
	size_t n = 0, used;
	int rc;

	(void)pos;
	while (n < max) {
		if (st->body) {
			n += agent_stream_copy(st, out + n, max - n);
			continue;
		}
		if (st->done)
			break;
		rc = agent_stream_next(st, !n, out + n, max - n, &used);
		n += used;
		if (rc < 0 && !n)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (rc <= 0)
			break;
	}
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

/* The process outlives its stream: a client reattaches with Connect. */
static void agent_stream_free(void *cls)
{
	struct agent_stream *st = cls;

	agent_stream_drop_frame(st);
	agent_sub_close(st->sub);
	free(st);
}

static long long agent_header_ll(struct MHD_Connection *c, const char *name, int *bad)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
	char *end;
	long long n;

	*bad = 0;
	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || n < 0) {
		*bad = 1;
		return 0;
	}
	return n;
}

/* envd's interval (90 s unless asked), but at most half the idle timeout: a
 * stream that sends nothing for that long is closed as idle. */
static long long agent_stream_keepalive_ms(struct MHD_Connection *c)
{
	long long ms = AGENT_KEEPALIVE_DEFAULT_MS, cap = agent_cfg.idle_timeout * 1000LL / 2, asked;
	int bad;

	asked = agent_header_ll(c, "Keepalive-Ping-Interval", &bad);
	if (!bad && asked > 0 && asked < 86400)
		ms = asked * 1000;
	return ms < cap ? ms : cap;
}

static struct MHD_Response *agent_stream_response(struct MHD_Connection *c, struct agent_sub *sub)
{
	struct agent_stream *st = calloc(1, sizeof *st);
	struct MHD_Response *r;

	if (!st) {
		agent_sub_close(sub);
		return NULL;
	}
	st->sub = sub;
	st->conn = c;
	st->keepalive_ms = agent_stream_keepalive_ms(c);
	st->next_keepalive = agent_now_ms() + st->keepalive_ms;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, agent_stream_read, st,
					      agent_stream_free);
	if (!r) {
		agent_stream_free(st);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/connect+json");
	return r;
}

struct MHD_Response *agent_svc_start(struct MHD_Connection *c, json_t *msg)
{
	struct agent_start_req req;
	struct agent_err err = { 0 };
	struct agent_sub *sub = NULL;
	long long timeout;
	int bad, rc = -1;

	if (agent_parse_start(msg, &req, &err) < 0)
		goto out;
	timeout = agent_header_ll(c, "Connect-Timeout-Ms", &bad);
	if (bad) {
		agent_err_set(&err, "invalid_argument", "invalid Connect-Timeout-Ms header");
		goto out;
	}
	if (req.pty) {
		agent_err_set(&err, "unimplemented", "pty is not supported by csdk-agent");
		goto out;
	}
	if (req.cwd) {
		char *cwd = agent_fs_resolve(req.cwd);
		free(req.cwd);
		req.cwd = cwd;
	}
	rc = agent_proc_start(&req, timeout, &sub, &err);
out:
	agent_start_req_free(&req);
	if (rc < 0 || !sub)
		return agent_stream_end_response(rc < 0 ? &err : NULL);
	return agent_stream_response(c, sub);
}

struct MHD_Response *agent_svc_connect(struct MHD_Connection *c, json_t *msg)
{
	struct agent_selector sel;
	struct agent_err err = { 0 };
	struct agent_sub *sub = NULL;
	int rc;

	rc = agent_parse_selector(msg, &sel, &err);
	if (rc == 0)
		rc = agent_proc_connect(&sel, &sub, &err);
	agent_selector_free(&sel);
	if (rc < 0)
		return agent_stream_end_response(&err);
	return agent_stream_response(c, sub);
}

json_t *agent_svc_list(json_t *msg, struct agent_err *err)
{
	json_t *out = agent_proc_list();

	if (!out)
		agent_err_set(err, "resource_exhausted", "out of memory");
	return out;
}

json_t *agent_svc_send_input(json_t *msg, struct agent_err *err)
{
	struct agent_selector sel;
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	rc = agent_parse_selector(msg, &sel, err);
	if (rc == 0)
		rc = agent_parse_input(msg, &data, &len, err);
	if (rc == 0)
		rc = agent_proc_input(&sel, data, len, err);
	free(data);
	agent_selector_free(&sel);
	return rc < 0 ? NULL : json_object();
}

json_t *agent_svc_send_signal(json_t *msg, struct agent_err *err)
{
	struct agent_selector sel;
	int signo = 0, rc;

	rc = agent_parse_selector(msg, &sel, err);
	if (rc == 0)
		rc = agent_parse_signal(msg, &signo, err);
	if (rc == 0)
		rc = agent_proc_signal(&sel, signo, err);
	agent_selector_free(&sel);
	return rc < 0 ? NULL : json_object();
}

json_t *agent_svc_close_stdin(json_t *msg, struct agent_err *err)
{
	struct agent_selector sel;
	int rc;

	rc = agent_parse_selector(msg, &sel, err);
	if (rc == 0)
		rc = agent_proc_close_stdin(&sel, err);
	agent_selector_free(&sel);
	return rc < 0 ? NULL : json_object();
}

json_t *agent_svc_update(json_t *msg, struct agent_err *err)
{
	struct agent_selector sel;
	int rc;

	rc = agent_parse_selector(msg, &sel, err);
	if (rc == 0)
		rc = agent_proc_lookup(&sel, err);
	if (rc == 0 && json_object_get(msg, "pty") && !json_is_null(json_object_get(msg, "pty"))) {
		agent_err_set(err, "unimplemented", "pty is not supported by csdk-agent");
		rc = -1;
	}
	agent_selector_free(&sel);
	return rc < 0 ? NULL : json_object();
}
