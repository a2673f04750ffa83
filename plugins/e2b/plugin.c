/*
 * The e2b provider: sandboxes of E2B (or of anything that speaks its API,
 * such as csdk serve). The collection goes through E2B's REST API; the
 * plugin runs in gateway mode only, so commands, code and files go from the
 * host's envd client to the envd inside each sandbox.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2b.h"

static const struct csdk_config_key e2b_config_keys[] = {
	{ .key = "api_key", .env = "E2B_API_KEY", .flags = CSDK_CONFIG_REQUIRED | CSDK_CONFIG_SECRET,
	  .help = "E2B API key: get one at https://e2b.dev/dashboard?tab=keys, then set E2B_API_KEY or api_key under [provider e2b]" },
	{ .key = "api_url", .env = "E2B_API_URL", .help = "the API's URL (default https://api.DOMAIN)" },
	{ .key = "domain", .env = "E2B_DOMAIN", .help = "E2B's domain (default e2b.app)" },
	{ .key = "sandbox_url", .env = "E2B_SANDBOX_URL",
	  .help = "where every sandbox's envd is reached (default https://49983-ID.DOMAIN), e.g. csdk serve's URL" },
};

static char *trimmed(const char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '/')
		n--;
	return strndup(s, n);
}

static void e2b_teardown(void *vctx)
{
	struct e2b *ctx = vctx;

	if (!ctx)
		return;
	if (ctx->api_key) {
		memset(ctx->api_key, 0, strlen(ctx->api_key));
		free(ctx->api_key);
	}
	free(ctx->api_url);
	free(ctx->domain);
	free(ctx->sandbox_url);
	free(ctx);
}

static int e2b_init(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out)
{
	struct e2b *ctx = calloc(1, sizeof(*ctx));
	const char *key = host->config_get(config, "api_key"), *url = host->config_get(config, "api_url");
	const char *domain = host->config_get(config, "domain"), *sandbox_url = host->config_get(config, "sandbox_url");

	if (!ctx)
		return host->error(host, CSDK_ENOMEM, "out of memory");
	ctx->host = host;
	if (!key || !*key) {
		free(ctx);
		return host->error(host, CSDK_ECONFIG, "no E2B API key: get one at https://e2b.dev/dashboard?tab=keys, then set E2B_API_KEY or api_key under [provider e2b]");
	}
	ctx->api_key = strdup(key);
	ctx->domain = strdup(domain && *domain ? domain : "e2b.app");
	if (url && *url)
		ctx->api_url = trimmed(url);
	else if (ctx->domain && asprintf(&ctx->api_url, "https://api.%s", ctx->domain) < 0)
		ctx->api_url = NULL;
	if (sandbox_url && *sandbox_url)
		ctx->sandbox_url = trimmed(sandbox_url);
	if (!ctx->api_key || !ctx->domain || !ctx->api_url || (sandbox_url && *sandbox_url && !ctx->sandbox_url)) {
		e2b_teardown(ctx);
		return host->error(host, CSDK_ENOMEM, "out of memory");
	}
	if (strncmp(ctx->api_url, "http://", 7) && strncmp(ctx->api_url, "https://", 8)) {
		int rc = host->error(host, CSDK_ECONFIG, "api_url '%s' is not an http(s) URL; give one such as https://api.e2b.app", ctx->api_url);
		e2b_teardown(ctx);
		return rc;
	}
	*ctx_out = ctx;
	return 0;
}

static void sandbox_free(struct e2b_sandbox *sb)
{
	if (!sb)
		return;
	free(sb->id);
	if (sb->token) {
		memset(sb->token, 0, strlen(sb->token));
		free(sb->token);
	}
	free(sb->domain);
	free(sb);
}

static void e2b_release(void *ctx, void *sandbox)
{
	(void)ctx;
	sandbox_free(sandbox);
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = o ? json_object_get(o, k) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A handle from an API object (Sandbox or SandboxDetail). */
static struct e2b_sandbox *sandbox_of(json_t *o)
{
	struct e2b_sandbox *sb;
	const char *id = jstr(o, "sandboxID");

	if (!id || !(sb = calloc(1, sizeof(*sb))))
		return NULL;
	sb->id = strdup(id);
	sb->token = jstr(o, "envdAccessToken") ? strdup(jstr(o, "envdAccessToken")) : NULL;
	sb->domain = jstr(o, "domain") ? strdup(jstr(o, "domain")) : NULL;
	if (!sb->id) {
		sandbox_free(sb);
		return NULL;
	}
	return sb;
}

/* Ids go into paths: only what E2B's ids are made of. */
static int check_id(struct e2b *ctx, const char *id)
{
	const char *s;

	if (!id || !*id || strlen(id) > 128)
		return ctx->host->error(ctx->host, CSDK_EINVAL, "sandbox id '%.40s' is not valid: 1 to 128 letters, digits, '-', '_', '.' or ':'", id ? id : "");
	for (s = id; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.' || *s == ':'))
			return ctx->host->error(ctx->host, CSDK_EINVAL, "sandbox id '%.40s' is not valid: 1 to 128 letters, digits, '-', '_', '.' or ':'", id);
	return 0;
}

static int detail(struct e2b *ctx, const char *id, struct e2b_reply *reply)
{
	char path[200];
	int rc;

	if ((rc = check_id(ctx, id)))
		return rc;
	snprintf(path, sizeof(path), "/sandboxes/%s", id);
	return e2b_call(ctx, "GET", path, NULL, reply);
}

static int create_with(struct e2b *ctx, const struct csdk_create_request *req, const char *name, const char *ns,
		       struct csdk_text *id_out, void **sandbox_out)
{
	struct e2b_reply reply;
	struct e2b_sandbox *sb;
	json_t *body, *meta = json_object(), *envs = json_object();
	size_t i;
	int rc;

	if (req->image) {
		json_decref(meta);
		json_decref(envs);
		return ctx->host->error(ctx->host, CSDK_EINVAL, "E2B sandboxes start from templates, not images; give a template id instead of the image '%s'", req->image);
	}
	body = json_pack("{s:s}", "templateID", req->snapshot_id ? req->snapshot_id : req->template_id ? req->template_id : "base");
	if (!body || !meta || !envs) {
		json_decref(body);
		json_decref(meta);
		json_decref(envs);
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory");
	}
	if (req->timeout_ms > 0)
		json_object_set_new(body, "timeout", json_integer((req->timeout_ms + 999) / 1000));
	for (i = 0; i < req->n_metadata; i++)
		json_object_set_new(meta, req->metadata[i].key, json_string(req->metadata[i].value));
	if (name) {
		json_object_set_new(meta, "csdk.name", json_string(name));
		json_object_set_new(meta, "csdk.namespace", json_string(ns ? ns : "default"));
	}
	for (i = 0; i < req->n_envs; i++)
		json_object_set_new(envs, req->envs[i].key, json_string(req->envs[i].value));
	json_object_set_new(body, "metadata", meta);
	json_object_set_new(body, "envVars", envs);
	rc = e2b_call(ctx, "POST", "/v2/sandboxes", body, &reply);
	json_decref(body);
	if (rc)
		return rc;
	if (reply.status != 201 && reply.status != 200) {
		rc = e2b_fail(ctx, &reply, "creating a sandbox");
		e2b_reply_clear(&reply);
		return rc;
	}
	sb = sandbox_of(reply.body);
	e2b_reply_clear(&reply);
	if (!sb)
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "creating a sandbox: E2B's answer has no sandboxID");
	if ((rc = ctx->host->text_set(id_out, sb->id))) {
		sandbox_free(sb);
		return rc;
	}
	*sandbox_out = sb;
	return 0;
}

static int e2b_create(void *vctx, const struct csdk_create_request *req, struct csdk_text *id_out, void **sandbox_out)
{
	return create_with(vctx, req, req->name, req->namespace_, id_out, sandbox_out);
}

static int e2b_get(void *vctx, const char *id, void **sandbox_out)
{
	struct e2b *ctx = vctx;
	struct e2b_reply reply;
	struct e2b_sandbox *sb;
	int rc;

	if ((rc = detail(ctx, id, &reply)))
		return rc;
	if (reply.status == 404 || (reply.status == 400 && !jstr(reply.body, "sandboxID"))) {
		e2b_reply_clear(&reply);
		return CSDK_ENOTFOUND;
	}
	if (reply.status != 200) {
		rc = e2b_fail(ctx, &reply, "getting a sandbox");
		e2b_reply_clear(&reply);
		return rc;
	}
	sb = sandbox_of(reply.body);
	e2b_reply_clear(&reply);
	if (!sb)
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "getting sandbox '%s': E2B's answer has no sandboxID", id);
	*sandbox_out = sb;
	return 0;
}

/* Every page of GET BASE (a path with its query, e.g. "/snapshots?limit=100"),
 * each element of each page passed to EACH; WHAT names the list in errors. */
static int list_pages(struct e2b *ctx, const char *base, const char *what, int (*each)(void *, json_t *), void *userdata)
{
	char *token = NULL, *path = NULL;
	int rc = 0, pages = 0;

	do {
		struct e2b_reply reply;
		json_t *o;
		size_t i;

		if (asprintf(&path, "%s%s%s", base, token ? "&nextToken=" : "", token ? token : "") < 0) {
			path = NULL;
			rc = ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory");
			break;
		}
		free(token);
		token = NULL;
		rc = e2b_call(ctx, "GET", path, NULL, &reply);
		free(path);
		path = NULL;
		if (rc)
			break;
		if (reply.status != 200 || !json_is_array(reply.body)) {
			rc = reply.status == 200 ? ctx->host->error(ctx->host, CSDK_EBACKEND, "%s: E2B's answer is not a list", what)
						 : e2b_fail(ctx, &reply, what);
			e2b_reply_clear(&reply);
			break;
		}
		json_array_foreach(reply.body, i, o)
			if (!rc)
				rc = each(userdata, o);
		/* A token is only followed when it is made of URL-safe characters. */
		if (!rc && reply.next_token && strspn(reply.next_token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~:") ==
						 strlen(reply.next_token))
			token = strdup(reply.next_token);
		e2b_reply_clear(&reply);
	} while (!rc && token && ++pages < 10000);
	free(token);
	return rc;
}

struct list_state {
	struct e2b *ctx;
	struct csdk_handles *out;
};

static int add_one(void *userdata, json_t *o)
{
	struct list_state *st = userdata;
	struct e2b_sandbox *sb = sandbox_of(o);
	int rc;

	if (!sb)
		return 0;
	if ((rc = st->ctx->host->handles_add(st->out, sb->id, sb)))
		sandbox_free(sb);
	return rc;
}

static int e2b_list(void *vctx, struct csdk_handles *out)
{
	struct list_state st = { vctx, out };

	return list_pages(vctx, "/v2/sandboxes?limit=100", "listing sandboxes", add_one, &st);
}

static int e2b_destroy(void *vctx, const char *id)
{
	struct e2b *ctx = vctx;
	struct e2b_reply reply;
	char path[200];
	int rc;

	if ((rc = check_id(ctx, id)))
		return rc;
	snprintf(path, sizeof(path), "/sandboxes/%s", id);
	if ((rc = e2b_call(ctx, "DELETE", path, NULL, &reply)))
		return rc;
	if (reply.status != 204 && reply.status != 200 && reply.status != 404)
		rc = e2b_fail(ctx, &reply, "destroying a sandbox");
	e2b_reply_clear(&reply);
	return rc;
}

static int e2b_get_info(void *vctx, void *sandbox, struct csdk_info *out)
{
	struct e2b *ctx = vctx;
	struct e2b_sandbox *sb = sandbox;
	struct e2b_reply reply;
	int64_t started, end;
	const char *k, *state;
	json_t *v;
	int rc;

	if ((rc = detail(ctx, sb->id, &reply)))
		return rc;
	if (reply.status != 200) {
		rc = e2b_fail(ctx, &reply, "getting a sandbox's information");
		e2b_reply_clear(&reply);
		return rc;
	}
	started = e2b_parse_time(jstr(reply.body, "startedAt"));
	end = e2b_parse_time(jstr(reply.body, "endAt"));
	state = jstr(reply.body, "state");
	rc = ctx->host->info_set_id(out, sb->id);
	if (!rc)
		rc = ctx->host->info_set_status(out, !state || !strcmp(state, "running") ? CSDK_STATUS_RUNNING : CSDK_STATUS_STOPPED);
	if (!rc)
		rc = ctx->host->info_set_times(out, started, started && end > started ? end - started : 0);
	json_object_foreach(json_object_get(reply.body, "metadata"), k, v)
		if (!rc && json_is_string(v))
			rc = ctx->host->info_add_metadata(out, k, json_string_value(v));
	e2b_reply_clear(&reply);
	return rc;
}

static int e2b_get_url(void *vctx, void *sandbox, int port, const char *protocol, struct csdk_text *out)
{
	struct e2b *ctx = vctx;
	struct e2b_sandbox *sb = sandbox;
	char *url = NULL;
	int rc;

	if (asprintf(&url, "%s://%d-%s.%s", protocol ? protocol : "https", port, sb->id, sb->domain ? sb->domain : ctx->domain) < 0)
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory");
	rc = ctx->host->text_set(out, url);
	free(url);
	return rc;
}

static int e2b_gateway_endpoint(void *vctx, void *sandbox, struct csdk_endpoint *out)
{
	struct e2b *ctx = vctx;
	struct e2b_sandbox *sb = sandbox, *fresh = NULL;
	const char *token = sb->token;
	char *url = NULL, port[8];
	int rc;

	/* Handles from list carry no token: E2B gives it with the sandbox's detail. */
	if (!token) {
		if ((rc = e2b_get(ctx, sb->id, (void **)&fresh)) == CSDK_ENOTFOUND)
			return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox '%s' no longer exists", sb->id);
		if (rc)
			return rc;
		token = fresh->token;
	}
	if (ctx->sandbox_url)
		url = strdup(ctx->sandbox_url);
	else if (asprintf(&url, "https://%d-%s.%s", E2B_ENVD_PORT, sb->id, sb->domain ? sb->domain : ctx->domain) < 0)
		url = NULL;
	if (!url) {
		sandbox_free(fresh);
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory");
	}
	snprintf(port, sizeof(port), "%d", E2B_ENVD_PORT);
	rc = ctx->host->endpoint_set(out, url, token);
	if (!rc)
		rc = ctx->host->endpoint_add_header(out, "E2b-Sandbox-Id", sb->id);
	if (!rc)
		rc = ctx->host->endpoint_add_header(out, "E2b-Sandbox-Port", port);
	free(url);
	sandbox_free(fresh);
	return rc;
}

/* Named sandboxes are metadata csdk.name and csdk.namespace; names are [A-Za-z0-9._-] (checked by the host), so they need no encoding. */
struct find_state {
	struct e2b *ctx;
	struct e2b_sandbox *found;
};

static int take_first(void *userdata, json_t *o)
{
	struct find_state *st = userdata;

	if (!st->found)
		st->found = sandbox_of(o);
	return 0;
}

static int e2b_find(void *vctx, const char *namespace_, const char *name, struct csdk_text *id_out, void **sandbox_out)
{
	struct e2b *ctx = vctx;
	struct find_state st = { ctx, NULL };
	char q[400];
	int rc;

	snprintf(q, sizeof(q), "/v2/sandboxes?limit=100&metadata=csdk.name%%3D%s%%26csdk.namespace%%3D%s", name,
		 namespace_ ? namespace_ : "default");
	if ((rc = list_pages(ctx, q, "listing sandboxes", take_first, &st))) {
		sandbox_free(st.found);
		return rc;
	}
	if (!st.found)
		return CSDK_ENOTFOUND;
	/* The listing has no token: the detail has. */
	if ((rc = e2b_get(ctx, st.found->id, sandbox_out)) == 0)
		rc = ctx->host->text_set(id_out, st.found->id);
	sandbox_free(st.found);
	return rc;
}

static int e2b_find_or_create(void *vctx, const struct csdk_create_request *req, struct csdk_text *id_out, void **sandbox_out)
{
	int rc = e2b_find(vctx, req->namespace_, req->name, id_out, sandbox_out);

	/* Not atomic: E2B has no conditional create, so two callers at once may both create. */
	if (rc != CSDK_ENOTFOUND)
		return rc;
	return create_with(vctx, req, req->name, req->namespace_, id_out, sandbox_out);
}

static int e2b_extend_timeout(void *vctx, void *sandbox, int64_t duration_ms)
{
	struct e2b *ctx = vctx;
	struct e2b_sandbox *sb = sandbox;
	struct e2b_reply reply;
	struct timespec now;
	int64_t end, left, now_ms;
	char path[220];
	json_t *body;
	int rc;

	if ((rc = detail(ctx, sb->id, &reply)))
		return rc;
	if (reply.status != 200) {
		rc = e2b_fail(ctx, &reply, "extending a sandbox's timeout");
		e2b_reply_clear(&reply);
		return rc;
	}
	end = e2b_parse_time(jstr(reply.body, "endAt"));
	e2b_reply_clear(&reply);
	clock_gettime(CLOCK_REALTIME, &now);
	now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	left = end > now_ms ? end - now_ms : 0;
	/* E2B sets the timeout from now: the time left plus the extension. */
	body = json_pack("{s:I}", "timeout", (json_int_t)((left + duration_ms + 999) / 1000));
	snprintf(path, sizeof(path), "/sandboxes/%s/timeout", sb->id);
	rc = body ? e2b_call(ctx, "POST", path, body, &reply) : ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory");
	json_decref(body);
	if (rc)
		return rc;
	if (reply.status != 204 && reply.status != 200)
		rc = e2b_fail(ctx, &reply, "extending a sandbox's timeout");
	e2b_reply_clear(&reply);
	return rc;
}

/*
 * Snapshots: E2B's are templates made from a sandbox. POST
 * /sandboxes/ID/snapshots makes one, GET /snapshots lists them, DELETE
 * /templates/ID deletes one, and a sandbox starts from one given as its
 * templateID (create_with).
 */

/* Snapshot ids are TEAM/NAME:TAG or TEMPLATE:TAG: percent-encoded into a path segment. */
static int snapshot_path(struct e2b *ctx, const char *id, char *path, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = (size_t)snprintf(path, size, "/templates/");
	const char *s;

	if (!id || !*id || strlen(id) > 256)
		return ctx->host->error(ctx->host, CSDK_EINVAL, "snapshot id '%.40s' is not valid: 1 to 256 bytes; list snapshots to see the ids", id ? id : "");
	for (s = id; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x21 || c > 0x7e)
			return ctx->host->error(ctx->host, CSDK_EINVAL, "snapshot id '%.40s' is not valid: printable ASCII only; list snapshots to see the ids", id);
		if (n + 4 > size)
			return ctx->host->error(ctx->host, CSDK_EINVAL, "snapshot id '%.40s' is too long", id);
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
			path[n++] = (char)c;
		} else {
			path[n++] = '%';
			path[n++] = hex[c >> 4];
			path[n++] = hex[c & 15];
		}
	}
	path[n] = '\0';
	return 0;
}

static int e2b_snapshot_create(void *vctx, void *sandbox, const char *name, struct csdk_text *id_out)
{
	struct e2b *ctx = vctx;
	struct e2b_sandbox *sb = sandbox;
	struct e2b_reply reply;
	char path[220], what[200];
	const char *id;
	json_t *body = name ? json_pack("{s:s}", "name", name) : json_object();
	int rc;

	if (!body)
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory");
	if ((rc = check_id(ctx, sb->id))) {
		json_decref(body);
		return rc;
	}
	snprintf(path, sizeof(path), "/sandboxes/%s/snapshots", sb->id);
	rc = e2b_call(ctx, "POST", path, body, &reply);
	json_decref(body);
	if (rc)
		return rc;
	snprintf(what, sizeof(what), "snapshotting sandbox '%s'", sb->id);
	id = jstr(reply.body, "snapshotID");
	if (reply.status != 201 && reply.status != 200)
		rc = e2b_fail(ctx, &reply, what);
	else if (!id || !*id)
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "%s: E2B's answer has no snapshotID", what);
	else
		rc = ctx->host->text_set(id_out, id);
	e2b_reply_clear(&reply);
	return rc;
}

struct snapshot_list_state {
	struct e2b *ctx;
	struct csdk_items *out;
};

static int add_snapshot(void *userdata, json_t *o)
{
	struct snapshot_list_state *st = userdata;
	const char *id = jstr(o, "snapshotID");
	json_t *first = json_array_get(json_object_get(o, "names"), 0);

	return id ? st->ctx->host->items_add(st->out, id, json_is_string(first) ? json_string_value(first) : NULL, 0) : 0;
}

static int e2b_snapshot_list(void *vctx, struct csdk_items *out)
{
	struct snapshot_list_state st = { vctx, out };

	return list_pages(vctx, "/snapshots?limit=100", "listing snapshots", add_snapshot, &st);
}

static int e2b_snapshot_delete(void *vctx, const char *id)
{
	struct e2b *ctx = vctx;
	struct e2b_reply reply;
	char path[800], what[300];
	int rc;

	if ((rc = snapshot_path(ctx, id, path, sizeof(path))))
		return rc;
	if ((rc = e2b_call(ctx, "DELETE", path, NULL, &reply)))
		return rc;
	snprintf(what, sizeof(what), "deleting snapshot '%s'", id);
	if (reply.status != 204 && reply.status != 200)
		rc = e2b_fail(ctx, &reply, what);
	e2b_reply_clear(&reply);
	return rc;
}

static const struct csdk_methods e2b_methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = e2b_init,
	.teardown = e2b_teardown,
	.release = e2b_release,
	.create = e2b_create,
	.get = e2b_get,
	.list = e2b_list,
	.destroy = e2b_destroy,
	.get_info = e2b_get_info,
	.get_url = e2b_get_url,
	.find_or_create = e2b_find_or_create,
	.find = e2b_find,
	.extend_timeout = e2b_extend_timeout,
	.snapshot_create = e2b_snapshot_create,
	.snapshot_list = e2b_snapshot_list,
	.snapshot_delete = e2b_snapshot_delete,
	.gateway_endpoint = e2b_gateway_endpoint,
};

static const struct csdk_plugin e2b_plugin = {
	.magic = CSDK_PLUGIN_MAGIC,
	.struct_size = sizeof(struct csdk_plugin),
	.abi_version = CSDK_ABI_MAKE(2, 0),
	.modes = CSDK_MODE_GATEWAY,
	.default_mode = CSDK_MODE_GATEWAY,
	.capabilities = CSDK_CAP_NAMED | CSDK_CAP_SNAPSHOTS | CSDK_CAP_THREAD_SAFE,
	.name = "e2b",
	.version = "1.0.0",
	.description = "E2B sandboxes (or csdk serve's) through E2B's API, commands and files through envd",
	.license = "MIT",
	.config_keys = e2b_config_keys,
	.n_config_keys = sizeof(e2b_config_keys) / sizeof(e2b_config_keys[0]),
	.config_key_size = sizeof(struct csdk_config_key),
	.methods = &e2b_methods,
};

CSDK_PLUGIN_EXPORT int csdk_plugin_entry(uint32_t host_abi, const struct csdk_plugin **out)
{
	if (CSDK_ABI_MAJOR_OF(host_abi) != 2)
		return CSDK_EABI;
	*out = &e2b_plugin;
	return 0;
}
