#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "builders.h"
#include "envd.h"
#include "error.h"
#include "gateway.h"
#include "shellquote.h"
#include "syntax.h"
#include "util.h"

int csdkp_gateway_mode(uint32_t *out, const csdk_plugin_info *plugin, const struct csdk_config *config)
{
	const char *mode = NULL;

	*out = plugin->default_mode;
	for (size_t i = 0; i < config->n; i++)
		if (!strcmp(config->kv[i].key, "mode"))
			mode = config->kv[i].value;
	if (!mode)
		return 0;
	if (strcmp(mode, "direct") && strcmp(mode, "gateway"))
		return csdkp_error_set(CSDK_ECONFIG, plugin->name, "key 'mode': '%s' is not a mode; give direct or gateway", mode);
	*out = strcmp(mode, "direct") ? CSDK_MODE_GATEWAY : CSDK_MODE_DIRECT;
	if (!(plugin->modes & *out))
		return csdkp_error_set(CSDK_ECONFIG, plugin->name, "key 'mode': provider '%s' has no %s mode; give %s", plugin->name,
				       mode, *out == CSDK_MODE_DIRECT ? "gateway" : "direct");
	return 0;
}


void csdk_agent_endpoint_free(csdk_agent_endpoint *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_headers; i++) {
		free((char *)e->headers[i].key);
		free((char *)e->headers[i].value);
	}
	free(e->headers);
	free(e->url);
	free(e->token);
	free(e);
}

int csdk_sandbox_agent_endpoint(csdk_agent_endpoint **out, csdk_sandbox *sb)
{
	struct csdk_endpoint ep;
	csdk_agent_endpoint *e;
	csdk_provider *p;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_sandbox_agent_endpoint: out is NULL");
	*out = NULL;
	if (!sb)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_sandbox_agent_endpoint: sandbox is NULL");
	p = sb->provider;
	if (p->mode != CSDK_MODE_GATEWAY)
		return csdkp_error_set(CSDK_EUNSUPPORTED, p->name, "provider '%s' runs in direct mode; its sandboxes have no agent endpoint", p->name);
	memset(&ep, 0, sizeof(ep));
	csdkp_provider_enter(p, "gateway_endpoint");
	rc = p->m->gateway_endpoint(p->ctx, sb->native, &ep);
	csdkp_provider_leave(p);
	if ((rc = csdkp_provider_result(p, "gateway_endpoint", rc)) == 0 && !ep.url)
		rc = csdkp_error_set(CSDK_EBACKEND, p->name, "provider '%s' gave no agent URL from gateway_endpoint; the plugin must call endpoint_set", p->name);
	if (rc == 0 && !(e = calloc(1, sizeof(*e))))
		rc = csdkp_error_oom();
	if (rc) {
		csdkp_endpoint_clear(&ep);
		return rc;
	}
	/* The builder's strings become the caller's. */
	e->url = ep.url;
	e->token = ep.token;
	e->headers = ep.headers;
	e->n_headers = ep.n_headers;
	*out = e;
	return 0;
}

/* The agent of the sandbox, from the plugin's gateway_endpoint. */
static int client_for(envdc **out, csdk_sandbox *sb)
{
	csdk_agent_endpoint *e;
	char err[ENVDC_ERR_MAX];
	int rc;

	*out = NULL;
	if ((rc = csdk_sandbox_agent_endpoint(&e, sb)))
		return rc;
	if ((rc = envdc_new(out, e->url, e->token, e->headers, e->n_headers, err)))
		rc = csdkp_error_set(rc, sb->provider->name, "sandbox %s: %.*s", sb->id, (int)strcspn(err, "\r\n"), err);
	csdk_agent_endpoint_free(e);
	return rc;
}

/* The agent's message, up to its first newline: the last error is one line. */
static int agent_failed(csdk_sandbox *sb, int rc, const char *err)
{
	return csdkp_error_set(rc, sb->provider->name, "%.*s", (int)strcspn(err, "\r\n"), err);
}

struct output {
	csdk_provider *p;
	struct csdk_sink *sink;
};

static int forward(void *userdata, enum csdk_stream stream, const void *data, size_t len)
{
	struct output *o = userdata;

	return o->p->host.sink_write(o->sink, stream, data, len);
}

int csdkp_gateway_run_command(csdk_sandbox *sb, const char *command, const struct csdk_run_request *req,
			      struct csdk_sink *sink, int *exit_code)
{
	struct output o = { sb->provider, sink };
	struct envdc_command cmd = { command, req->cwd, req->envs, req->n_envs, req->timeout_ms, req->background != 0,
				     forward, &o };
	char err[ENVDC_ERR_MAX];
	envdc *c;
	int rc;

	if ((rc = client_for(&c, sb)))
		return rc;
	rc = envdc_run(c, &cmd, exit_code, err);
	envdc_free(c);
	if (rc == CSDK_ECANCELLED && sink->cancelled)
		return rc;
	return rc ? agent_failed(sb, rc, err) : 0;
}

/* Keeps what the code wrote to stderr, for telling a syntax error from a runtime one. */
struct code_output {
	struct output o;
	struct csdkp_buf err;
};

static int forward_code(void *userdata, enum csdk_stream stream, const void *data, size_t len)
{
	struct code_output *co = userdata;

	if (stream == CSDK_STREAM_STDERR && co->err.len < 256 * 1024 && csdkp_buf_append(&co->err, data, len))
		return 1;
	return forward(&co->o, stream, data, len);
}

int csdkp_gateway_run_code(csdk_sandbox *sb, const char *code, const struct csdk_run_request *req,
			   struct csdk_sink *sink, int *exit_code)
{
	int python = !strcmp(req->runtime, "python");
	struct code_output co = { { sb->provider, sink }, { NULL, 0, 0 } };
	struct envdc_command cmd = { NULL, req->cwd, req->envs, req->n_envs, req->timeout_ms, req->background != 0,
				     forward_code, &co };
	unsigned char rnd[8];
	char path[64], err[ENVDC_ERR_MAX], msg[512], *q = NULL, *command = NULL;
	envdc *c;
	int rc;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	snprintf(path, sizeof(path), "/tmp/csdk-code-%02x%02x%02x%02x%02x%02x%02x%02x.%s", rnd[0], rnd[1], rnd[2], rnd[3],
		 rnd[4], rnd[5], rnd[6], rnd[7], python ? "py" : "js");
	if (csdku_shell_quote(&q, path) ||
	    !(command = csdkp_printf("%s %s; r=$?; rm -f %s; exit $r", python ? "python3" : "node", q, q))) {
		free(q);
		return csdkp_error_oom();
	}
	free(q);
	cmd.command = command;
	if ((rc = client_for(&c, sb)) == 0) {
		if ((rc = envdc_write(c, path, code, strlen(code), err)) == 0)
			rc = envdc_run(c, &cmd, exit_code, err);
		envdc_free(c);
		if (rc && !(rc == CSDK_ECANCELLED && sink->cancelled))
			rc = agent_failed(sb, rc, err);
	}
	if (rc == 0 && !req->background &&
	    csdku_syntax_error_classify(msg, sizeof(msg), req->runtime, *exit_code, co.err.data ? co.err.data : "", co.err.len, path))
		rc = csdkp_error_set(CSDK_ESYNTAX, sb->provider->name, "%s", msg);
	free(co.err.data);
	free(command);
	return rc;
}

/* Open the agent, run op, close it; a failure's message comes from the agent. */
#define WITH_AGENT(sb, call)                                            \
	do {                                                            \
		char err[ENVDC_ERR_MAX];                                \
		envdc *c;                                               \
		int rc_;                                                \
		if ((rc_ = client_for(&c, (sb))))                      \
			return rc_;                                     \
		rc_ = (call);                                           \
		envdc_free(c);                                          \
		return rc_ ? agent_failed((sb), rc_, err) : 0;          \
	} while (0)

static int to_sink(void *userdata, const void *data, size_t len)
{
	struct output *o = userdata;

	return o->p->host.sink_write(o->sink, CSDK_STREAM_STDOUT, data, len);
}

int csdkp_gateway_fs_read(csdk_sandbox *sb, const char *path, struct csdk_sink *out)
{
	struct output o = { sb->provider, out };

	WITH_AGENT(sb, envdc_read(c, path, to_sink, &o, err));
}

int csdkp_gateway_fs_write(csdk_sandbox *sb, const char *path, const void *data, size_t len)
{
	WITH_AGENT(sb, envdc_write(c, path, data, len, err));
}

int csdkp_gateway_fs_mkdir(csdk_sandbox *sb, const char *path)
{
	WITH_AGENT(sb, envdc_mkdir(c, path, err));
}

int csdkp_gateway_fs_remove(csdk_sandbox *sb, const char *path)
{
	WITH_AGENT(sb, envdc_remove(c, path, err));
}

static int list_into(envdc *c, csdk_provider *p, const char *path, struct csdk_dir *out, char *err)
{
	struct envdc_entry *entries = NULL;
	size_t n = 0;
	int rc = envdc_list(c, path, &entries, &n, err);

	for (size_t i = 0; rc == 0 && i < n; i++)
		if ((rc = p->host.dir_add(out, entries[i].name, entries[i].type, entries[i].size, entries[i].modified_ms)))
			snprintf(err, ENVDC_ERR_MAX, "out of memory listing %s", path);
	envdc_entries_free(entries, n);
	return rc;
}

int csdkp_gateway_fs_readdir(csdk_sandbox *sb, const char *path, struct csdk_dir *out)
{
	WITH_AGENT(sb, list_into(c, sb->provider, path, out, err));
}

static int exists(envdc *c, const char *path, int *exists_out, char *err)
{
	struct envdc_entry e = { 0 };
	int rc = envdc_stat(c, path, &e, err);

	envdc_entry_clear(&e);
	*exists_out = rc == 0;
	return rc == CSDK_ENOTFOUND ? 0 : rc;
}

int csdkp_gateway_fs_exists(csdk_sandbox *sb, const char *path, int *exists_out)
{
	WITH_AGENT(sb, exists(c, path, exists_out, err));
}
