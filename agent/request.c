#include "config.h"

#include "request.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "connect.h"

void agent_err_set(struct agent_err *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

json_t *agent_parse_object(const char *buf, size_t len, struct agent_err *err)
{
	json_error_t jerr;
	json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!v) {
		agent_err_set(err, "invalid_argument", "invalid JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		agent_err_set(err, "invalid_argument", "the message is not a JSON object");
		return NULL;
	}
	return v;
}

/* protojson: null is the default value. */
static json_t *agent_field(json_t *msg, const char *key)
{
	json_t *v = json_object_get(msg, key);

	return json_is_null(v) ? NULL : v;
}

int agent_parse_string(json_t *msg, const char *key, char **out, struct agent_err *err)
{
	json_t *v = agent_field(msg, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		agent_err_set(err, "invalid_argument", "%s: expected a string", key);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		agent_err_set(err, "invalid_argument", "%s: contains a NUL byte", key);
		return -1;
	}
	*out = strdup(json_string_value(v));
	if (!*out) {
		agent_err_set(err, "resource_exhausted", "out of memory");
		return -1;
	}
	return 0;
}

static int agent_json_uint32(json_t *v, uint32_t *out)
{
	json_int_t i;
	char *end;
	unsigned long long u;

	if (json_is_integer(v)) {
		i = json_integer_value(v);
		if (i < 0 || i > UINT32_MAX)
			return -1;
		*out = (uint32_t)i;
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0)
		return -1;
	if (json_string_value(v)[0] < '0' || json_string_value(v)[0] > '9')
		return -1;
	errno = 0;
	u = strtoull(json_string_value(v), &end, 10);
	if (errno || *end || u > UINT32_MAX)
		return -1;
	*out = (uint32_t)u;
	return 0;
}

int agent_parse_uint32(json_t *msg, const char *key, uint32_t *out, struct agent_err *err)
{
	json_t *v = agent_field(msg, key);

	*out = 0;
	if (v && agent_json_uint32(v, out) < 0) {
		agent_err_set(err, "invalid_argument", "%s: expected an unsigned 32-bit integer", key);
		return -1;
	}
	return 0;
}

int agent_parse_bool(json_t *msg, const char *key, int *out, struct agent_err *err)
{
	json_t *v = agent_field(msg, key);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		agent_err_set(err, "invalid_argument", "%s: expected a boolean", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

static int agent_parse_object_field(json_t *msg, const char *key, json_t **out, struct agent_err *err)
{
	json_t *v = agent_field(msg, key);

	*out = v;
	if (v && !json_is_object(v)) {
		agent_err_set(err, "invalid_argument", "%s: expected an object", key);
		return -1;
	}
	return 0;
}

static int agent_parse_args(json_t *proc, struct agent_start_req *r, struct agent_err *err)
{
	json_t *args = agent_field(proc, "args"), *v;
	size_t i;

	if (args && !json_is_array(args)) {
		agent_err_set(err, "invalid_argument", "process.args: expected an array");
		return -1;
	}
	r->nargs = args ? json_array_size(args) : 0;
	r->argv = calloc(r->nargs + 2, sizeof *r->argv);
	if (!r->argv)
		goto oom;
	r->argv[0] = strdup(r->cmd);
	if (!r->argv[0])
		goto oom;
	json_array_foreach(args, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			agent_err_set(err, "invalid_argument", "process.args[%zu]: expected a string", i);
			return -1;
		}
		r->argv[i + 1] = strdup(json_string_value(v));
		if (!r->argv[i + 1])
			goto oom;
	}
	return 0;
oom:
	agent_err_set(err, "resource_exhausted", "out of memory");
	return -1;
}

static int agent_parse_envs(json_t *proc, struct agent_start_req *r, struct agent_err *err)
{
	json_t *envs = agent_field(proc, "envs"), *v;
	const char *k;
	size_t n = 0;

	if (envs && !json_is_object(envs)) {
		agent_err_set(err, "invalid_argument", "process.envs: expected an object");
		return -1;
	}
	r->envs = calloc((envs ? json_object_size(envs) : 0) + 1, sizeof *r->envs);
	if (!r->envs)
		goto oom;
	json_object_foreach(envs, k, v) {
		if (!json_is_string(v) || !*k || strchr(k, '=') ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			agent_err_set(err, "invalid_argument", "process.envs: invalid variable %.64s", k);
			return -1;
		}
		if (asprintf(&r->envs[n], "%s=%s", k, json_string_value(v)) < 0) {
			r->envs[n] = NULL;
			goto oom;
		}
		r->nenvs = ++n;
	}
	return 0;
oom:
	agent_err_set(err, "resource_exhausted", "out of memory");
	return -1;
}

static int agent_build_config(struct agent_start_req *r)
{
	json_t *args = json_array(), *envs = json_object();

	r->config = json_object();
	if (!args || !envs || !r->config)
		goto fail;
	for (size_t i = 0; i < r->nargs; i++)
		json_array_append_new(args, json_string(r->argv[i + 1]));
	for (size_t i = 0; i < r->nenvs; i++) {
		char *eq = strchr(r->envs[i], '=');
		*eq = '\0';
		json_object_set_new(envs, r->envs[i], json_string(eq + 1));
		*eq = '=';
	}
	json_object_set_new(r->config, "cmd", json_string(r->cmd));
	json_object_set_new(r->config, "args", args);
	json_object_set_new(r->config, "envs", envs);
	if (r->cwd)
		json_object_set_new(r->config, "cwd", json_string(r->cwd));
	return 0;
fail:
	json_decref(args);
	json_decref(envs);
	return -1;
}

int agent_parse_start(json_t *msg, struct agent_start_req *r, struct agent_err *err)
{
	json_t *proc, *pty;

	memset(r, 0, sizeof *r);
	if (agent_parse_object_field(msg, "process", &proc, err) < 0 ||
	    agent_parse_object_field(msg, "pty", &pty, err) < 0 ||
	    agent_parse_string(msg, "tag", &r->tag, err) < 0 ||
	    agent_parse_bool(msg, "stdin", &r->want_stdin, err) < 0)
		return -1;
	r->pty = pty != NULL;
	if (!proc) {
		agent_err_set(err, "invalid_argument", "process: missing");
		return -1;
	}
	if (agent_parse_string(proc, "cmd", &r->cmd, err) < 0 ||
	    agent_parse_string(proc, "cwd", &r->cwd, err) < 0)
		return -1;
	if (!r->cmd || !*r->cmd) {
		agent_err_set(err, "invalid_argument", "process.cmd: missing");
		return -1;
	}
	if (agent_parse_args(proc, r, err) < 0 || agent_parse_envs(proc, r, err) < 0)
		return -1;
	if (agent_build_config(r) < 0) {
		agent_err_set(err, "resource_exhausted", "out of memory");
		return -1;
	}
	return 0;
}

static void agent_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void agent_start_req_free(struct agent_start_req *r)
{
	free(r->cmd);
	agent_strv_free(r->argv);
	agent_strv_free(r->envs);
	free(r->cwd);
	free(r->tag);
	json_decref(r->config);
	memset(r, 0, sizeof *r);
}

int agent_parse_selector(json_t *msg, struct agent_selector *out, struct agent_err *err)
{
	json_t *sel;

	memset(out, 0, sizeof *out);
	if (agent_parse_object_field(msg, "process", &sel, err) < 0)
		return -1;
	if (!sel) {
		agent_err_set(err, "invalid_argument", "process: missing selector");
		return -1;
	}
	if (agent_field(sel, "pid") && agent_field(sel, "tag")) {
		agent_err_set(err, "invalid_argument", "process: pid and tag are one of");
		return -1;
	}
	if (agent_field(sel, "tag")) {
		out->by_tag = 1;
		return agent_parse_string(sel, "tag", &out->tag, err);
	}
	if (!agent_field(sel, "pid")) {
		agent_err_set(err, "invalid_argument", "process: missing selector");
		return -1;
	}
	return agent_parse_uint32(sel, "pid", &out->pid, err);
}

void agent_selector_free(struct agent_selector *s)
{
	free(s->tag);
	s->tag = NULL;
}

int agent_parse_signal(json_t *msg, int *signo, struct agent_err *err)
{
	json_t *v = agent_field(msg, "signal");

	*signo = 0;
	if (!v || (json_is_string(v) && strcmp(json_string_value(v), "SIGNAL_UNSPECIFIED") == 0) ||
	    (json_is_integer(v) && json_integer_value(v) == 0))
		goto bad;
	if (json_is_string(v) && strcmp(json_string_value(v), "SIGNAL_SIGTERM") == 0)
		*signo = SIGTERM;
	else if (json_is_string(v) && strcmp(json_string_value(v), "SIGNAL_SIGKILL") == 0)
		*signo = SIGKILL;
	else if (json_is_integer(v) && (json_integer_value(v) == 15 || json_integer_value(v) == 9))
		*signo = (int)json_integer_value(v);
	else
		goto bad;
	return 0;
bad:
	agent_err_set(err, "unimplemented", "invalid signal: %s",
		      json_is_string(v) ? json_string_value(v) : "SIGNAL_UNSPECIFIED");
	return -1;
}

int agent_parse_input(json_t *msg, unsigned char **data, size_t *len, struct agent_err *err)
{
	json_t *in, *v;

	*data = NULL;
	*len = 0;
	if (agent_parse_object_field(msg, "input", &in, err) < 0)
		return -1;
	if (in && agent_field(in, "pty")) {
		agent_err_set(err, "unimplemented", "pty input is not supported: the process has no pty");
		return -1;
	}
	v = in ? agent_field(in, "stdin") : NULL;
	if (!v) {
		agent_err_set(err, "unimplemented", "invalid input type <nil>");
		return -1;
	}
	if (!json_is_string(v) ||
	    csdku_b64_decode(data, len, json_string_value(v), json_string_length(v))) {
		agent_err_set(err, "invalid_argument", "input.stdin: expected base64 bytes");
		return -1;
	}
	return 0;
}

static int agent_path_push(char *out, size_t *o, size_t cap, const char *seg, size_t n)
{
	if (n == 0 || (n == 1 && seg[0] == '.'))
		return 0;
	if (n == 2 && seg[0] == '.' && seg[1] == '.') {
		while (*o > 0 && out[*o - 1] != '/')
			(*o)--;
		if (*o > 0)
			(*o)--;
		return 0;
	}
	if (*o + 1 + n + 1 > cap)
		return -1;
	out[(*o)++] = '/';
	memcpy(out + *o, seg, n);
	*o += n;
	return 0;
}

static int agent_path_walk(char *out, size_t *o, size_t cap, const char *p)
{
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (agent_path_push(out, o, cap, p, n) < 0)
			return -1;
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

char *agent_path_resolve(const char *path, const char *base, const char *home)
{
	size_t cap = 4096, o = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	if (path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
		if (agent_path_walk(out, &o, cap, home ? home : "/") < 0)
			goto fail;
		path++;
	} else if (path[0] != '/' && agent_path_walk(out, &o, cap, base ? base : "/") < 0) {
		goto fail;
	}
	if (agent_path_walk(out, &o, cap, path) < 0)
		goto fail;
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
fail:
	free(out);
	return NULL;
}
