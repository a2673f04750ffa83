#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* The state of one process.Process/Start stream, fed by curl's write callback. */
struct stream {
	const struct envdc_command *cmd;
	struct envdc_buf pending;  /* bytes of an incomplete envelope */
	uint32_t pid;
	int started, ended, cancelled, exit_code;
	int killed;                /* ended by a signal: its number */
	char error_code[64];       /* from the end-of-stream frame */
	char error_message[256];
	int bad;                   /* a frame that is not the protocol's */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decode base64 (standard or URL alphabet, padding optional) in place; -1 on bad input. */
static long b64_decode_inplace(char *s, size_t len)
{
	unsigned v = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len && s[i] != '='; i++) {
		int d = b64_value((unsigned char)s[i]);

		if (d < 0)
			return -1;
		v = v << 6 | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			s[o++] = (char)(v >> bits & 0xff);
		}
	}
	return (long)o;
}

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

static int on_data(struct stream *st, json_t *data)
{
	static const struct {
		const char *key;
		enum csdk_stream stream;
	} streams[] = { { "stdout", CSDK_STREAM_STDOUT }, { "stderr", CSDK_STREAM_STDERR }, { "pty", CSDK_STREAM_STDOUT } };

	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(data, streams[i].key);
		char *copy;
		long n;

		if (!json_is_string(v))
			continue;
		if (!(copy = strdup(json_string_value(v))))
			return -1;
		n = b64_decode_inplace(copy, strlen(copy));
		if (n < 0)
			st->bad = 1;
		else if (n > 0 && st->cmd->on_output && st->cmd->on_output(st->cmd->userdata, streams[i].stream, copy, (size_t)n))
			st->cancelled = 1;
		free(copy);
	}
	return st->bad || st->cancelled ? -1 : 0;
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

/* Consume every complete envelope in pending; -1 stops the transfer. */
static int drain(struct stream *st)
{
	size_t at = 0;
	int rc = 0;

	while (rc == 0 && st->pending.len - at >= 5) {
		const unsigned char *p = (const unsigned char *)st->pending.data + at;
		size_t len = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
		json_t *msg;

		if (len > 64u << 20) {
			st->bad = 1;
			return -1;
		}
		if (st->pending.len - at - 5 < len)
			break;
		msg = json_loadb((const char *)p + 5, len, 0, NULL);
		if (!json_is_object(msg))
			st->bad = 1, rc = -1;
		else if (p[0] & 0x02)
			on_trailer(st, msg);
		else
			rc = on_event(st, msg);
		json_decref(msg);
		at += 5 + len;
	}
	memmove(st->pending.data, st->pending.data + at, st->pending.len - at);
	st->pending.len -= at;
	return rc;
}

static size_t write_cb(char *data, size_t size, size_t n, void *userdata)
{
	struct stream *st = userdata;

	if (envdc_buf_add(&st->pending, data, size * n) || drain(st))
		return 0;
	return size * n;
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
	int timed_out = cmd->timeout_ms > 0 && now_ms() - started >= cmd->timeout_ms;

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
	int64_t started = now_ms();
	int rc;

	*exit_code = -1;
	memset(&st, 0, sizeof(st));
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
	return rc;
}
