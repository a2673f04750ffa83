#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "internal.h"
#include "io.h"

/* The state of one process.Process/Start stream, fed by curl's write callback. */
struct stream {
	const struct envdc_command *cmd;
	CURL *h;
	long status;               /* HTTP status, read at the first body bytes */
	struct csdku_buf pending;  /* an envelope split across writes, or a non-200 body */
	unsigned char *out;        /* decoded output of one message */
	size_t out_cap;
	uint32_t pid;
	int started, ended, cancelled, exit_code;
	int killed;                /* ended by a signal: its number */
	char error_code[64];       /* from the end-of-stream frame */
	char error_message[256];
	int bad;                   /* a frame that is not the protocol's */
};

static int status_signal(const char *status)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = { { "killed", 9 }, { "terminated", 15 }, { "interrupt", 2 }, { "hangup", 1 },
		      { "aborted", 6 }, { "segmentation fault", 11 }, { "broken pipe", 13 } };

	if (!status || strncmp(status, "signal: ", 8))
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(status + 8, names[i].name))
			return names[i].sig;
	return 9;
}

/* One output field decoded into st->out: its bytes, -1 if not base64, -2 out of memory. */
static long decode(struct stream *st, const char *b64, size_t len)
{
	size_t need = CSDKU_B64_ROOM(len);

	if (need > st->out_cap) {
		unsigned char *p = realloc(st->out, need);

		if (!p)
			return -2;
		st->out = p;
		st->out_cap = need;
	}
	return csdku_b64_decode_to(st->out, b64, len);
}

/* n, decode's result, handed on; -1 stops the transfer. */
static int deliver(struct stream *st, enum csdk_stream stream, long n)
{
	if (n == -2)
		return -1;
	if (n < 0)
		st->bad = 1;
	else if (n > 0 && st->cmd->on_output && st->cmd->on_output(st->cmd->userdata, stream, st->out, (size_t)n))
		st->cancelled = 1;
	return st->bad || st->cancelled ? -1 : 0;
}

static int output(struct stream *st, enum csdk_stream stream, const char *b64, size_t len)
{
	return deliver(st, stream, decode(st, b64, len));
}

static int on_data(struct stream *st, json_t *data)
{
	static const struct {
		const char *key;
		enum csdk_stream stream;
	} streams[] = { { "stdout", CSDK_STREAM_STDOUT }, { "stderr", CSDK_STREAM_STDERR }, { "pty", CSDK_STREAM_STDOUT } };

	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(data, streams[i].key);

		if (json_is_string(v) && output(st, streams[i].stream, json_string_value(v), json_string_length(v)))
			return -1;
	}
	return 0;
}

static int on_event(struct stream *st, json_t *msg)
{
	json_t *ev = json_object_get(msg, "event"), *v;

	if (!json_is_object(ev)) {
		st->bad = 1;
		return -1;
	}
	if ((v = json_object_get(ev, "start"))) {
		st->started = 1;
		st->pid = (uint32_t)json_integer_value(json_object_get(v, "pid"));
		return st->cmd->background ? -1 : 0;
	}
	if ((v = json_object_get(ev, "data")))
		return on_data(st, v);
	if ((v = json_object_get(ev, "end"))) {
		const char *status = json_string_value(json_object_get(v, "status"));

		st->ended = 1;
		st->exit_code = (int)json_integer_value(json_object_get(v, "exitCode"));
		st->killed = status_signal(status);
		return 0;
	}
	return 0;
}

static void on_trailer(struct stream *st, json_t *msg)
{
	json_t *e = json_object_get(msg, "error");

	if (!json_is_object(e))
		return;
	snprintf(st->error_code, sizeof(st->error_code), "%s",
		 json_string_value(json_object_get(e, "code")) ? json_string_value(json_object_get(e, "code")) : "unknown");
	snprintf(st->error_message, sizeof(st->error_message), "%s",
		 json_string_value(json_object_get(e, "message")) ? json_string_value(json_object_get(e, "message")) : "");
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* After optional JSON whitespace, tok: the position after it, or NULL. */
static const char *token(const char *p, const char *end, const char *tok)
{
	size_t n = strlen(tok);

	if (!p)
		return NULL;
	p = skip_space(p, end);
	return (size_t)(end - p) >= n && !memcmp(p, tok, n) ? p + n : NULL;
}

/*
 * Output is nearly all of a stream, and jansson reads a long string a byte at
 * a time: the shape {"event":{"data":{"stdout":"BASE64"}}} (any spacing, one
 * of stdout, stderr, pty, no escape in the string) is read here instead.
 * 1 when the message had that shape (*rc: output's result), else 0.
 */
static int data_event(struct stream *st, const char *p, size_t len, int *rc)
{
	static const char *const head[] = { "{", "\"event\"", ":", "{", "\"data\"", ":", "{" };
	static const struct {
		const char *key;
		enum csdk_stream stream;
	} keys[] = { { "\"stdout\"", CSDK_STREAM_STDOUT }, { "\"stderr\"", CSDK_STREAM_STDERR }, { "\"pty\"", CSDK_STREAM_STDOUT } };
	const char *end = p + len, *q = NULL, *b64;
	size_t i, k;
	long n;

	for (i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		p = token(p, end, head[i]);
	for (k = 0; p && !q && k < sizeof(keys) / sizeof(keys[0]); k++)
		q = token(p, end, keys[k].key);
	if (!(b64 = token(token(q, end, ":"), end, "\"")))
		return 0;
	if (!(q = memchr(b64, '"', (size_t)(end - b64))))
		return 0;
	p = token(token(token(q + 1, end, "}"), end, "}"), end, "}");
	if (!p || skip_space(p, end) != end)
		return 0;
	/* An escape (\/, \u0041) is no base64 character: only then is the string looked at again. */
	n = decode(st, b64, (size_t)(q - b64));
	if (n == -1 && memchr(b64, '\\', (size_t)(q - b64)))
		return 0;
	*rc = deliver(st, keys[k - 1].stream, n);
	return 1;
}

/* One envelope's message; -1 stops the transfer. */
static int message(struct stream *st, unsigned flags, const char *p, size_t len)
{
	json_t *msg;
	int rc = 0;

	if (!(flags & 0x02) && data_event(st, p, len, &rc))
		return rc;
	msg = json_loadb(p, len, 0, NULL);
	if (!json_is_object(msg))
		st->bad = 1, rc = -1;
	else if (flags & 0x02)
		on_trailer(st, msg);
	else
		rc = on_event(st, msg);
	json_decref(msg);
	return rc;
}

#define MAX_MESSAGE (64u << 20)

static size_t envelope_size(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return 5 + ((size_t)u[1] << 24 | (size_t)u[2] << 16 | (size_t)u[3] << 8 | u[4]);
}

/* Every complete envelope in data, n bytes; *used: the bytes they took. -1 stops the transfer. */
static int envelopes(struct stream *st, const char *data, size_t n, size_t *used)
{
	size_t at = 0, size;
	int rc = 0;

	while (rc == 0 && n - at >= 5) {
		if ((size = envelope_size(data + at)) > 5 + MAX_MESSAGE) {
			st->bad = 1;
			rc = -1;
			break;
		}
		if (n - at < size)
			break;
		rc = message(st, (unsigned char)data[at], data + at + 5, size - 5);
		at += size;
	}
	*used = at;
	return rc;
}

/* Envelopes are read where curl has them; only one split across writes is copied. */
static size_t write_cb(char *data, size_t size, size_t n, void *userdata)
{
	struct stream *st = userdata;
	size_t total = size * n, at = 0, used, want, take;

	if (!st->status)
		curl_easy_getinfo(st->h, CURLINFO_RESPONSE_CODE, &st->status);
	if (st->status != 200)
		/* A unary-style error body, read by envdc_run. */
		return st->pending.len + total <= 65536 && !csdku_buf_add(&st->pending, data, total) ? total : 0;
	while (st->pending.len && at < total) {
		want = st->pending.len < 5 ? 5 : envelope_size(st->pending.data);
		if (want > 5 + MAX_MESSAGE) {
			st->bad = 1;
			return 0;
		}
		take = want - st->pending.len < total - at ? want - st->pending.len : total - at;
		if (csdku_buf_add(&st->pending, data + at, take))
			return 0;
		at += take;
		if (st->pending.len < 5 || st->pending.len < envelope_size(st->pending.data))
			continue;
		st->pending.len = 0;
		if (envelopes(st, st->pending.data, want, &used))
			return 0;
	}
	if (envelopes(st, data + at, total - at, &used))
		return 0;
	at += used;
	if (at < total && csdku_buf_add(&st->pending, data + at, total - at))
		return 0;
	return total;
}

static json_t *start_request(const struct envdc_command *cmd)
{
	json_t *envs = json_object(), *proc;

	for (size_t i = 0; envs && i < cmd->n_envs; i++)
		json_object_set_new(envs, cmd->envs[i].key, json_string(cmd->envs[i].value));
	proc = json_pack("{s:s,s:[s,s],s:o}", "cmd", "/bin/sh", "args", "-c", cmd->command, "envs", envs);
	if (proc && cmd->cwd)
		json_object_set_new(proc, "cwd", json_string(cmd->cwd));
	return proc ? json_pack("{s:o,s:b}", "process", proc, "stdin", 0) : NULL;
}

/* The request body: one envelope around the JSON message. */
static char *envelope(json_t *msg, size_t *len_out)
{
	char *text = json_dumps(msg, JSON_COMPACT), *out;
	size_t len;

	if (!text)
		return NULL;
	len = strlen(text);
	if ((out = malloc(len + 5))) {
		out[0] = 0;
		out[1] = (char)(len >> 24);
		out[2] = (char)(len >> 16);
		out[3] = (char)(len >> 8);
		out[4] = (char)len;
		memcpy(out + 5, text, len);
		*len_out = len + 5;
	}
	free(text);
	return out;
}

static int finish(envdc *c, struct stream *st, CURLcode cc, long status, int64_t started, char err[ENVDC_ERR_MAX], int *exit_code)
{
	const struct envdc_command *cmd = st->cmd;
	int timed_out = cmd->timeout_ms > 0 && csdku_mono_ms() - started >= cmd->timeout_ms;

	if (st->cancelled) {
		if (st->started)
			envdc_signal(c, st->pid, 9, err);
		envdc_fail(err, "the command was cancelled by the output callback");
		return CSDK_ECANCELLED;
	}
	if (cmd->background && st->started) {
		*exit_code = 0;
		return 0;
	}
	if (st->bad) {
		envdc_fail(err, "the sandbox agent sent a stream that is not envd's protocol");
		return CSDK_EBACKEND;
	}
	if (st->ended) {
		if (st->killed)
			*exit_code = timed_out && st->killed == 9 ? 124 : 128 + st->killed;
		else
			*exit_code = st->exit_code & 0xff;
		return 0;
	}
	if (st->error_code[0] && !strcmp(st->error_code, "deadline_exceeded") && cmd->timeout_ms > 0) {
		*exit_code = 124;
		return 0;
	}
	if (st->error_code[0]) {
		envdc_fail(err, "the sandbox agent refused the command: %s (%s)", st->error_message, st->error_code);
		return envdc_code_of(st->error_code);
	}
	if (cc != CURLE_OK || status != 200)
		return envdc_transport_error(cc, status, "process.Process/Start", err);
	envdc_fail(err, "the sandbox agent ended the command's stream without its end event");
	return CSDK_EBACKEND;
}

int envdc_run(envdc *c, const struct envdc_command *cmd, int *exit_code, char err[ENVDC_ERR_MAX])
{
	char timeout[64];
	const char *lines[] = { "Content-Type: application/connect+json", "Connect-Protocol-Version: 1", timeout, NULL };
	struct stream st;
	struct curl_slist *hdr;
	json_t *req = start_request(cmd);
	char *body = NULL;
	size_t body_len = 0;
	CURL *h = NULL;
	CURLcode cc;
	long status = 0;
	int64_t started = csdku_mono_ms();
	int rc;

	*exit_code = -1;
	memset(&st, 0, sizeof(st));
	st.pending.max = 5 + MAX_MESSAGE;
	st.cmd = cmd;
	/* envd takes the request's deadline as the process's lifetime; a background command has none. */
	snprintf(timeout, sizeof(timeout), "Connect-Timeout-Ms: %lld", cmd->background ? 0LL : (long long)cmd->timeout_ms);
	if (!cmd->timeout_ms || cmd->background)
		lines[2] = NULL;
	hdr = envdc_headers(c, lines);
	if (!req || !hdr || !(body = envelope(req, &body_len)) || !(h = envdc_curl(c, "/process.Process/Start", hdr))) {
		envdc_fail(err, "out of memory");
		rc = CSDK_ENOMEM;
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	st.h = h;
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 && status != 0 && st.pending.len && !st.started) {
		/* A unary-style error body: {"code": ..., "message": ...}. */
		json_t *j = json_loadb(st.pending.data, st.pending.len, 0, NULL);
		if (json_is_string(json_object_get(j, "code"))) {
			snprintf(st.error_code, sizeof(st.error_code), "%s", json_string_value(json_object_get(j, "code")));
			snprintf(st.error_message, sizeof(st.error_message), "%s",
				 json_string_value(json_object_get(j, "message")) ? json_string_value(json_object_get(j, "message")) : "");
			st.bad = 0;
		}
		json_decref(j);
	}
	rc = finish(c, &st, cc, status, started, err, exit_code);
out:
	if (h)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	json_decref(req);
	free(body);
	free(st.pending.data);
	free(st.out);
	return rc;
}
