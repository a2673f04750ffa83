#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builders.h"
#include "error.h"
#include "provider.h"
#include "gateway.h"
#include "rules.h"
#include "util.h"
#include "io.h"

#define NEED_PROVIDER(p) \
	do { if (!(p)) return csdkp_error_set(CSDK_EINVAL, NULL, "%s: provider is NULL", __func__); } while (0)
#define NEED_SANDBOX(sb) \
	do { if (!(sb)) return csdkp_error_set(CSDK_EINVAL, NULL, "%s: sandbox is NULL", __func__); } while (0)

/* The caller's options, checked, as the plugin's request (borrowing the caller's strings). */
static int create_request(struct csdk_create_request *req, const csdk_provider *p, const csdk_create_options *opts)
{
	csdk_create_options o;
	int rc;

	if ((rc = CSDKP_OPTIONS_COPY(&o, opts, "csdk_create_options", "CSDK_CREATE_OPTIONS_INIT")))
		return rc;
	if ((rc = csdkp_check_timeout(p, "timeout", o.timeout_ms)))
		return rc;
	if ((rc = csdkp_check_runtime(p, o.runtime)))
		return rc;
	if ((o.n_metadata && !o.metadata) || (o.n_envs && !o.envs))
		return csdkp_error_set(CSDK_EINVAL, p->name, "create options give a count of metadata or envs without the array; set the array or a count of 0");
	if (o.name && (rc = csdkp_check_name(p, "sandbox name", o.name)))
		return rc;
	if (o.namespace_ && (rc = csdkp_check_name(p, "namespace", o.namespace_)))
		return rc;
	memset(req, 0, sizeof(*req));
	req->struct_size = sizeof(*req);
	req->timeout_ms = o.timeout_ms;
	req->template_id = o.template_id;
	req->snapshot_id = o.snapshot_id;
	if (p->plugin->capabilities & CSDK_CAP_NAMED) {
		req->name = o.name;
		req->namespace_ = o.name ? (o.namespace_ ? o.namespace_ : CSDK_DEFAULT_NAMESPACE) : NULL;
	}
	req->runtime = o.runtime;
	req->image = o.image;
	req->metadata = o.metadata;
	req->n_metadata = o.n_metadata;
	req->envs = o.envs;
	req->n_envs = o.n_envs;
	req->cpus = o.cpus;
	req->memory_bytes = o.memory_bytes;
	return 0;
}

/* A template or snapshot the provider cannot honour is an error, not a
 * plain sandbox made in its place (and so, in a compute, a reason to fall
 * back to the next provider). */
static int create_options_supported(const csdk_provider *p, const struct csdk_create_request *o)
{
	if (o->template_id && !(p->plugin->capabilities & CSDK_CAP_TEMPLATES))
		return csdkp_unsupported_group(p, "templates");
	if (o->snapshot_id && !(p->plugin->capabilities & CSDK_CAP_SNAPSHOTS))
		return csdkp_unsupported_group(p, "snapshots");
	return 0;
}

static int finish_create(csdk_sandbox **out, csdk_provider *p, const char *method, int rc, struct csdk_text *id, void *native)
{
	rc = csdkp_provider_result(p, method, rc);
	if (rc == 0 && (!id->value || !*id->value)) {
		csdkp_provider_release(p, native);
		rc = csdkp_error_set(CSDK_EBACKEND, p->name, "provider '%s' returned a sandbox without an id from %s; the plugin must call text_set on id_out", p->name, method);
	}
	if (rc == 0)
		rc = csdkp_sandbox_wrap(out, p, id->value, native);
	csdkp_text_clear(id);
	return rc;
}

int csdk_sandbox_create(csdk_sandbox **out, csdk_provider *p, const csdk_create_options *opts)
{
	struct csdk_create_request o;
	struct csdk_text id = { NULL };
	void *native = NULL;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_sandbox_create: out is NULL");
	*out = NULL;
	NEED_PROVIDER(p);
	if ((rc = create_request(&o, p, opts)) || (rc = create_options_supported(p, &o)))
		return rc;
	csdkp_provider_enter(p, "create");
	rc = p->m->create(p->ctx, &o, &id, &native);
	csdkp_provider_leave(p);
	return finish_create(out, p, "create", rc, &id, native);
}

static int valid_id(const csdk_provider *p, const char *id)
{
	if (!id || !*id)
		return csdkp_error_set(CSDK_EINVAL, p->name, "no sandbox id given; pass the id printed by create");
	return 0;
}

int csdk_sandbox_get(csdk_sandbox **out, csdk_provider *p, const char *id)
{
	void *native = NULL;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_sandbox_get: out is NULL");
	*out = NULL;
	NEED_PROVIDER(p);
	if ((rc = valid_id(p, id)))
		return rc;
	csdkp_provider_enter(p, "get");
	rc = p->m->get(p->ctx, id, &native);
	csdkp_provider_leave(p);
	if (rc == CSDK_ENOTFOUND) {
		csdk_error_clear();
		return 0;
	}
	if ((rc = csdkp_provider_result(p, "get", rc)))
		return rc;
	return csdkp_sandbox_wrap(out, p, id, native);
}

void csdk_sandbox_list_free(csdk_sandbox_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++)
		csdk_sandbox_free(list->sandboxes[i]);
	free(list->sandboxes);
	free(list);
}

int csdk_sandbox_list_all(csdk_sandbox_list **out, csdk_provider *p)
{
	struct csdk_handles h = { NULL, 0, 0 };
	csdk_sandbox_list *list = NULL;
	size_t i;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_sandbox_list_all: out is NULL");
	*out = NULL;
	NEED_PROVIDER(p);
	csdkp_provider_enter(p, "list");
	rc = p->m->list(p->ctx, &h);
	csdkp_provider_leave(p);
	rc = csdkp_provider_result(p, "list", rc);
	if (rc == 0 && (!(list = calloc(1, sizeof(*list))) ||
	                (h.n && !(list->sandboxes = calloc(h.n, sizeof(*list->sandboxes))))))
		rc = csdkp_error_oom();
	for (i = 0; i < h.n; i++) {
		if (rc == 0) {
			rc = csdkp_sandbox_wrap(&list->sandboxes[list->count], p, h.v[i].id, h.v[i].native);
			if (rc == 0)
				list->count++;
		} else {
			csdkp_provider_release(p, h.v[i].native);
		}
		free(h.v[i].id);
	}
	free(h.v);
	if (rc) {
		csdk_sandbox_list_free(list);
		return rc;
	}
	*out = list;
	return 0;
}

int csdk_provider_destroy(csdk_provider *p, const char *id)
{
	int rc;

	NEED_PROVIDER(p);
	if ((rc = valid_id(p, id)))
		return rc;
	csdkp_provider_enter(p, "destroy");
	rc = p->m->destroy(p->ctx, id);
	csdkp_provider_leave(p);
	if (rc == CSDK_ENOTFOUND) {
		csdk_error_clear();
		return 0;
	}
	return csdkp_provider_result(p, "destroy", rc);
}

int csdk_sandbox_destroy(csdk_sandbox *sb)
{
	NEED_SANDBOX(sb);
	return csdk_provider_destroy(sb->provider, sb->id);
}

void csdk_sandbox_free(csdk_sandbox *sb)
{
	csdk_provider *p;

	if (!sb)
		return;
	p = sb->provider;
	csdkp_provider_release(p, sb->native);
	free(sb->id);
	free(sb);
	csdkp_provider_unref(p);
}

const char *csdk_sandbox_id(const csdk_sandbox *sb)
{
	return sb ? sb->id : NULL;
}

csdk_provider *csdk_sandbox_provider(const csdk_sandbox *sb)
{
	return sb ? sb->provider : NULL;
}

void csdk_result_free(csdk_result *r)
{
	if (!r)
		return;
	free(r->stdout_buf);
	free(r->stderr_buf);
	free(r);
}

void csdk_free(void *ptr)
{
	free(ptr);
}

static int make_result(csdk_result **out, struct csdk_sink *sink, int exit_code, int64_t started)
{
	csdk_result *r = calloc(1, sizeof(*r));

	if (!r)
		return csdkp_error_oom();
	r->stdout_buf = csdkp_buf_take(&sink->out, &r->stdout_len);
	r->stderr_buf = csdkp_buf_take(&sink->err, &r->stderr_len);
	if (!r->stdout_buf || !r->stderr_buf) {
		csdk_result_free(r);
		return csdkp_error_oom();
	}
	r->exit_code = exit_code;
	r->duration_ms = csdku_mono_ms() - started;
	*out = r;
	return 0;
}

/* Checks shared by commands and code; fills the sink and the plugin's request. */
static int run_prepare(struct csdk_sink *sink, struct csdk_run_request *req, csdk_command_options *o,
		       csdk_provider *p, const csdk_command_options *opts)
{
	int rc;

	if ((rc = CSDKP_OPTIONS_COPY(o, opts, "csdk_command_options", "CSDK_COMMAND_OPTIONS_INIT")))
		return rc;
	if ((rc = csdkp_check_timeout(p, "timeout", o->timeout_ms)))
		return rc;
	if (o->background && (o->on_stdout || o->on_stderr))
		return csdkp_error_set(CSDK_EINVAL, p->name, "a background command cannot stream its output; drop the output callbacks or the background flag");
	if (o->n_envs && !o->envs)
		return csdkp_error_set(CSDK_EINVAL, p->name, "command options give %zu envs without the array; set the array or a count of 0", o->n_envs);
	if (o->flags & ~CSDK_COMMAND_STREAM_ONLY)
		return csdkp_error_set(CSDK_EINVAL, p->name, "unknown command option flags 0x%x; use CSDK_COMMAND_STREAM_ONLY or 0", o->flags & ~CSDK_COMMAND_STREAM_ONLY);
	memset(sink, 0, sizeof(*sink));
	sink->on_stdout = o->on_stdout;
	sink->on_stderr = o->on_stderr;
	sink->userdata = o->userdata;
	sink->stream_only = (o->flags & CSDK_COMMAND_STREAM_ONLY) != 0;
	memset(req, 0, sizeof(*req));
	req->struct_size = sizeof(*req);
	req->background = o->background ? 1 : 0;
	req->cwd = o->cwd;
	req->envs = o->envs;
	req->n_envs = o->n_envs;
	req->timeout_ms = o->timeout_ms;
	return 0;
}

static int run_finish(csdk_result **out, csdk_provider *p, const char *method, int rc, struct csdk_sink *sink, int exit_code, int64_t started)
{
	if (rc == 0 && sink->cancelled)
		rc = csdkp_error_set(CSDK_ECANCELLED, p->name, "command cancelled by the output callback");
	if (rc == 0 && (exit_code < 0 || exit_code > 255))
		rc = csdkp_error_set(CSDK_EBACKEND, p->name, "provider '%s' returned exit code %d from %s; exit codes are 0 to 255", p->name, exit_code, method);
	if (rc == 0)
		rc = make_result(out, sink, exit_code, started);
	else if (rc == CSDK_ECANCELLED && sink->cancelled)
		rc = csdkp_error_set(CSDK_ECANCELLED, p->name, "command cancelled by the output callback");
	else
		rc = csdkp_provider_result(p, method, rc);
	csdkp_sink_clear(sink);
	return rc;
}


/* A command or code: checks, then the plugin or the sandbox's agent. */
static int run(csdk_result **out, csdk_sandbox *sb, const char *text, const csdk_command_options *opts, int code, const char *fn)
{
	const char *method = code ? "run_code" : "run_command";
	struct csdk_sink sink;
	struct csdk_run_request req;
	csdk_command_options o;
	csdk_provider *p;
	int64_t started;
	int exit_code = -1, rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "%s: out is NULL", fn);
	*out = NULL;
	if (!sb)
		return csdkp_error_set(CSDK_EINVAL, NULL, "%s: sandbox is NULL", fn);
	p = sb->provider;
	if (!text)
		return csdkp_error_set(CSDK_EINVAL, p->name, code ? "no code given" : "no command given; pass a shell command string");
	if ((rc = run_prepare(&sink, &req, &o, p, opts)))
		return rc;
	if (!code && o.runtime)
		return csdkp_error_set(CSDK_EINVAL, p->name, "a runtime is for code, not commands; leave runtime NULL or use csdk_sandbox_run_code");
	if (code && (rc = csdkp_check_runtime(p, o.runtime)))
		return rc;
	if (code)
		req.runtime = o.runtime ? o.runtime : csdk_detect_runtime(text);
	started = csdku_mono_ms();
	if (p->mode == CSDK_MODE_GATEWAY) {
		csdk_error_clear();
		rc = code ? csdkp_gateway_run_code(sb, text, &req, &sink, &exit_code)
			  : csdkp_gateway_run_command(sb, text, &req, &sink, &exit_code);
	} else {
		csdkp_provider_enter(p, method);
		rc = (code ? p->m->run_code : p->m->run_command)(p->ctx, sb->native, text, &req, &sink, &exit_code);
		csdkp_provider_leave(p);
	}
	return run_finish(out, p, method, rc, &sink, exit_code, started);
}

int csdk_sandbox_run_command(csdk_result **out, csdk_sandbox *sb, const char *command, const csdk_command_options *opts)
{
	return run(out, sb, command, opts, 0, "csdk_sandbox_run_command");
}

const char *csdk_detect_runtime(const char *code)
{
	static const char *const python_marks[] = {
		"print(", "import ", "def ", "sys.", "json.", "__", "f\"", "f'", "raise ",
	};
	size_t i;

	for (i = 0; code && i < sizeof(python_marks) / sizeof(python_marks[0]); i++)
		if (strstr(code, python_marks[i]))
			return "python";
	return "node";
}

int csdk_sandbox_run_code(csdk_result **out, csdk_sandbox *sb, const char *code, const csdk_command_options *opts)
{
	return run(out, sb, code, opts, 1, "csdk_sandbox_run_code");
}

void csdk_sandbox_info_free(csdk_sandbox_info *info)
{
	struct csdk_info *b;

	if (!info)
		return;
	b = (struct csdk_info *)info;
	csdkp_info_clear(b);
	free(b);
}

const char *csdk_status_name(enum csdk_status status)
{
	switch (status) {
	case CSDK_STATUS_RUNNING: return "running";
	case CSDK_STATUS_STOPPED: return "stopped";
	case CSDK_STATUS_ERROR: return "error";
	default: return "unknown";
	}
}

int csdk_sandbox_get_info(csdk_sandbox_info **out, csdk_sandbox *sb)
{
	struct csdk_info *b;
	csdk_provider *p;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_sandbox_get_info: out is NULL");
	*out = NULL;
	NEED_SANDBOX(sb);
	p = sb->provider;
	if (!p->m->get_info)
		return csdkp_unsupported_group(p, "get_info");
	if (!(b = calloc(1, sizeof(*b))))
		return csdkp_error_oom();
	csdkp_provider_enter(p, "get_info");
	rc = p->m->get_info(p->ctx, sb->native, b);
	csdkp_provider_leave(p);
	rc = csdkp_provider_result(p, "get_info", rc);
	if (rc == 0 && !b->info.id && !(b->info.id = strdup(sb->id)))
		rc = csdkp_error_oom();
	if (rc == 0 && !(b->info.provider = strdup(p->name)))
		rc = csdkp_error_oom();
	if (rc == 0 && !b->info.status)
		b->info.status = CSDK_STATUS_RUNNING;
	if (rc) {
		csdkp_info_clear(b);
		free(b);
		return rc;
	}
	*out = &b->info;
	return 0;
}

int csdk_sandbox_get_url(char **out, csdk_sandbox *sb, int port, const char *protocol)
{
	struct csdk_text t = { NULL };
	csdk_provider *p;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_sandbox_get_url: out is NULL");
	*out = NULL;
	NEED_SANDBOX(sb);
	p = sb->provider;
	if ((rc = csdkp_check_port(p, port)) || (rc = csdkp_check_protocol(p, protocol)))
		return rc;
	if (!p->m->get_url)
		return csdkp_unsupported_group(p, "get_url");
	csdkp_provider_enter(p, "get_url");
	rc = p->m->get_url(p->ctx, sb->native, port, protocol, &t);
	csdkp_provider_leave(p);
	rc = csdkp_provider_result(p, "get_url", rc);
	if (rc == 0 && !t.value)
		rc = csdkp_error_set(CSDK_EBACKEND, p->name, "provider '%s' returned no URL from get_url", p->name);
	if (rc) {
		csdkp_text_clear(&t);
		return rc;
	}
	*out = t.value;
	return 0;
}

int csdk_sandbox_find_or_create(csdk_sandbox **out, csdk_provider *p, const char *ns, const char *name, const csdk_create_options *opts)
{
	struct csdk_create_request o;
	struct csdk_text id = { NULL };
	void *native = NULL;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_sandbox_find_or_create: out is NULL");
	*out = NULL;
	NEED_PROVIDER(p);
	if (!(p->plugin->capabilities & CSDK_CAP_NAMED))
		return csdkp_unsupported_named(p, "find_or_create", "named sandbox");
	if ((rc = csdkp_check_named(p, ns, name)))
		return rc;
	if ((rc = create_request(&o, p, opts)) || (rc = create_options_supported(p, &o)))
		return rc;
	o.name = name;
	o.namespace_ = ns ? ns : CSDK_DEFAULT_NAMESPACE;
	csdkp_provider_enter(p, "find_or_create");
	rc = p->m->find_or_create(p->ctx, &o, &id, &native);
	csdkp_provider_leave(p);
	return finish_create(out, p, "find_or_create", rc, &id, native);
}

int csdk_sandbox_find(csdk_sandbox **out, csdk_provider *p, const char *ns, const char *name)
{
	struct csdk_text id = { NULL };
	void *native = NULL;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_sandbox_find: out is NULL");
	*out = NULL;
	NEED_PROVIDER(p);
	if (!(p->plugin->capabilities & CSDK_CAP_NAMED))
		return csdkp_unsupported_named(p, "find", "named sandbox");
	if ((rc = csdkp_check_named(p, ns, name)))
		return rc;
	if (!ns)
		ns = CSDK_DEFAULT_NAMESPACE;
	csdkp_provider_enter(p, "find");
	rc = p->m->find(p->ctx, ns, name, &id, &native);
	csdkp_provider_leave(p);
	if (rc == CSDK_ENOTFOUND) {
		csdk_error_clear();
		csdkp_text_clear(&id);
		csdkp_provider_release(p, native);
		return 0;
	}
	return finish_create(out, p, "find", rc, &id, native);
}

int csdk_sandbox_extend_timeout(csdk_sandbox *sb, int64_t duration_ms)
{
	csdk_provider *p;
	int rc;

	NEED_SANDBOX(sb);
	p = sb->provider;
	if (!(p->plugin->capabilities & CSDK_CAP_NAMED))
		return csdkp_unsupported_named(p, "extend_timeout", "timeout extension");
	if ((rc = csdkp_check_timeout(p, "duration", duration_ms)))
		return rc;
	if (duration_ms == 0)
		duration_ms = CSDK_DEFAULT_EXTEND_MS;
	csdkp_provider_enter(p, "extend_timeout");
	rc = p->m->extend_timeout(p->ctx, sb->native, duration_ms);
	csdkp_provider_leave(p);
	return csdkp_provider_result(p, "extend_timeout", rc);
}
