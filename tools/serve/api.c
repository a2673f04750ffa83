/*
 * E2B's control plane over csdk providers: create, list, get, kill,
 * timeouts, connect, snapshots. Bodies and errors as E2B sends them
 * ({code, message}); lifetimes are serve's records, enforced by the
 * reaper whether or not a client is connected.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"

#define MAX_LIST 100

void serve_api_error(struct serve_answer *ans, int status, const char *fmt, ...)
{
	char msg[1024];
	json_t *root;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	root = json_pack("{s:i,s:s}", "code", status, "message", msg);
	ans->status = status;
	free(ans->body);
	ans->body = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
}

static void answer_json(struct serve_answer *ans, int status, json_t *root)
{
	ans->status = status;
	free(ans->body);
	ans->body = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (root && !ans->body)
		serve_api_error(ans, 500, "out of memory");
}

static const char *owner_tenant(const struct serve *srv)
{
	return srv->opt.n_tenants ? srv->opt.tenants[0].name : "";
}

static char *qualify(const struct serve *srv, const char *provider, const char *bare)
{
	char *s = NULL;

	if (!srv->qualify)
		return strdup(bare);
	return asprintf(&s, "%s:%s", provider, bare) < 0 ? NULL : s;
}

/* PROVIDER:ID (several providers) or ID: the provider's name (NULL: ask each) and the bare id. */
static const char *split_id(const struct serve *srv, const char *id, char *provider, size_t size)
{
	const char *colon = strchr(id, ':');

	*provider = '\0';
	if (!colon || (size_t)(colon - id) >= size)
		return id;
	memcpy(provider, id, (size_t)(colon - id));
	provider[colon - id] = '\0';
	return colon + 1;
}

static void iso_time(char *buf, size_t size, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), size - strlen(buf), ".%03dZ", (int)(ms % 1000));
}

static json_t *sandbox_json(struct serve *srv, const struct serve_record *r, int detail)
{
	int64_t end_ms = serve_record_end(&srv->store, r);
	char started[40], end[40];
	json_t *o;

	iso_time(started, sizeof(started), r->started_ms);
	iso_time(end, sizeof(end), end_ms ? end_ms : r->started_ms);
	o = json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:s,s:s,s:s,s:s,s:O}", "sandboxID", r->id, "templateID",
		      r->template_id ? r->template_id : "base", "clientID", "csdk", "cpuCount", 0, "memoryMB", 0,
		      "diskSizeMB", 0, "startedAt", started, "endAt", end, "envdVersion", SERVE_ENVD_VERSION, "state",
		      "running", "metadata", r->metadata ? r->metadata : json_object());
	if (o && detail) {
		json_object_set_new(o, "envdAccessToken", json_string(r->token));
		json_object_set_new(o, "domain", srv->opt.domain ? json_string(srv->opt.domain) : json_null());
	}
	return o;
}

static json_t *created_json(const struct serve *srv, const struct serve_record *r)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "sandboxID", r->id, "templateID", r->template_id ? r->template_id : "base",
			 "clientID", "csdk", "envdVersion", SERVE_ENVD_VERSION, "envdAccessToken", r->token, "domain",
			 srv->opt.domain ? json_string(srv->opt.domain) : json_null());
}

int serve_record_sandbox(struct serve *srv, const struct serve_record *rec, csdk_sandbox **out)
{
	return csdk_compute_get(out, srv->compute, rec->provider, rec->bare);
}

int serve_record_endpoint(struct serve *srv, struct serve_record *rec, const csdk_agent_endpoint **out, char *err, size_t err_size)
{
	csdk_agent_endpoint *ep = NULL;
	csdk_sandbox *sb = NULL;
	int rc;

	pthread_mutex_lock(&srv->store.lock);
	*out = rec->endpoint;
	pthread_mutex_unlock(&srv->store.lock);
	if (*out)
		return 0;
	rc = serve_record_sandbox(srv, rec, &sb);
	if (rc == 0 && !sb) {
		snprintf(err, err_size, "sandbox '%s' no longer exists at provider '%s'", rec->id, rec->provider);
		return CSDK_ENOTFOUND;
	}
	if (rc == 0)
		rc = csdk_sandbox_agent_endpoint(&ep, sb);
	if (rc < 0) {
		snprintf(err, err_size, "sandbox '%s': %s", rec->id, csdk_error_last()->message);
		csdk_sandbox_free(sb);
		return rc;
	}
	csdk_sandbox_free(sb);
	pthread_mutex_lock(&srv->store.lock);
	if (!rec->endpoint)
		rec->endpoint = ep;
	else
		csdk_agent_endpoint_free(ep);
	*out = rec->endpoint;
	pthread_mutex_unlock(&srv->store.lock);
	return 0;
}

/* A sandbox serve did not create, with what its provider says of it, owned by the first tenant. */
static struct serve_record *foreign_record(struct serve *srv, csdk_sandbox *sb)
{
	struct serve_record *r = serve_record_new();
	csdk_sandbox_info *info = NULL;
	size_t i;

	if (!r)
		return NULL;
	r->provider = strdup(csdk_provider_name(csdk_sandbox_provider(sb)));
	r->bare = strdup(csdk_sandbox_id(sb));
	r->id = r->provider && r->bare ? qualify(srv, r->provider, r->bare) : NULL;
	r->tenant = strdup(owner_tenant(srv));
	r->metadata = json_object();
	if (!r->id || !r->tenant || !r->metadata || serve_random_token(r->token) < 0) {
		serve_record_free(r);
		return NULL;
	}
	r->started_ms = serve_now_ms();
	if (csdk_sandbox_get_info(&info, sb) == 0) {
		if (info->created_ms)
			r->started_ms = info->created_ms;
		if (info->timeout_ms)
			r->end_ms = r->started_ms + info->timeout_ms;
		for (i = 0; i < info->n_metadata; i++)
			json_object_set_new(r->metadata, info->metadata[i].key, json_string(info->metadata[i].value));
		csdk_sandbox_info_free(info);
	}
	csdk_error_clear();
	return r;
}

/* rec, the store's record of id, when it is the tenant's and its sandbox still exists; else NULL with the answer set. */
static struct serve_record *lookup_recorded(struct serve *srv, struct serve_answer *ans, const char *tenant, const char *id,
					    struct serve_record *rec)
{
	csdk_sandbox *sb = NULL;
	int rc;

	if (strcmp(rec->tenant, tenant) || serve_record_expired(&srv->store, rec)) {
		serve_record_put(&srv->store, rec);
		serve_api_error(ans, 404, "sandbox '%s' not found", id);
		return NULL;
	}
	rc = serve_record_sandbox(srv, rec, &sb);
	if (rc == 0 && !sb) {
		serve_store_remove(&srv->store, id);
		serve_record_put(&srv->store, rec);
		serve_api_error(ans, 404, "sandbox '%s' not found", id);
		return NULL;
	}
	csdk_sandbox_free(sb);
	if (rc < 0) {
		serve_record_put(&srv->store, rec);
		serve_api_error(ans, 500, "looking up sandbox '%s' failed: %s", id, csdk_error_last()->message);
		return NULL;
	}
	return rec;
}

/* A sandbox serve did not create, recorded for the first tenant; else NULL with the answer set. */
static struct serve_record *adopt(struct serve *srv, struct serve_answer *ans, const char *tenant, const char *id)
{
	struct serve_record *rec;
	csdk_sandbox *sb = NULL;
	char provider[64];
	const char *bare = split_id(srv, id, provider, sizeof(provider));
	int rc;

	if (strcmp(tenant, owner_tenant(srv)) ||
	    (srv->qualify && (!*provider || !csdk_compute_provider(srv->compute, provider)))) {
		serve_api_error(ans, 404, "sandbox '%s' not found", id);
		return NULL;
	}
	rc = csdk_compute_get(&sb, srv->compute, *provider ? provider : NULL, bare);
	/* CSDK_EINVAL: not of the provider's form (local-HEX...): no sandbox of ours has that id. */
	if ((rc < 0 && csdk_error_last()->code == CSDK_EINVAL) || (rc >= 0 && !sb)) {
		serve_api_error(ans, 404, "sandbox '%s' not found", id);
		return NULL;
	}
	if (rc < 0) {
		serve_api_error(ans, 500, "looking up sandbox '%s' failed: %s", id, csdk_error_last()->message);
		return NULL;
	}
	rec = foreign_record(srv, sb);
	csdk_sandbox_free(sb);
	if (!rec || serve_store_add(&srv->store, rec) < 0) {
		serve_api_error(ans, 500, "cannot record sandbox '%s' in the state directory", id);
		return NULL;
	}
	if (!(rec = serve_store_get(&srv->store, id)))
		serve_api_error(ans, 404, "sandbox '%s' not found", id);
	return rec;
}

/*
 * The record of id for tenant, or NULL with the answer set (404, or 500
 * when the providers failed). A sandbox that vanished from its provider
 * is forgotten; one serve did not create is adopted for the first tenant.
 */
static struct serve_record *lookup(struct serve *srv, struct serve_answer *ans, const char *tenant, const char *id)
{
	struct serve_record *rec;

	if (!serve_valid_id(id) || (!srv->qualify && strchr(id, ':'))) {
		serve_api_error(ans, 400, "'%.80s' is not a sandbox id; ids are letters, digits, '.', '_' and '-'%s", id,
				srv->qualify ? ", as PROVIDER:ID" : "");
		return NULL;
	}
	if ((rec = serve_store_get(&srv->store, id)))
		return lookup_recorded(srv, ans, tenant, id, rec);
	return adopt(srv, ans, tenant, id);
}

/*
 * Snapshots belong to the tenant that made them: at the provider they are
 * named TENANT/NAME, or TENANT when the client gave no name (E2B's names
 * are TEAM/NAME too). The part after TENANT/ ("" for none), or NULL when
 * the snapshot is not the tenant's.
 */
static const char *snapshot_short_name(const char *name, const char *tenant)
{
	size_t n = strlen(tenant);

	if (!name || strncmp(name, tenant, n) || (name[n] && name[n] != '/'))
		return NULL;
	return name[n] ? name + n + 1 : "";
}

/*
 * The tenant's snapshots at every provider that has them, into *out as
 * E2B's SnapshotInfo ({snapshotID, names}); with id, only that one, and
 * *provider (size 64) names where it is. 0, or -1 with the answer set.
 */
static int tenant_snapshots(struct serve *srv, struct serve_answer *ans, const char *tenant, const char *id, json_t **out,
			    char *provider)
{
	size_t i, j;

	if (!(*out = json_array())) {
		if (ans)
			serve_api_error(ans, 500, "out of memory");
		return -1;
	}
	for (i = 0; i < csdk_compute_count(srv->compute); i++) {
		const char *pname = csdk_compute_name_at(srv->compute, i);
		csdk_provider *prov = csdk_compute_provider(srv->compute, pname);
		csdk_item_list *items = NULL;

		if (!prov || !(csdk_provider_capabilities(prov) & CSDK_CAP_SNAPSHOTS))
			continue;
		if (csdk_snapshot_list(&items, prov) < 0 && !ans) {
			serve_log(srv, "warning", "listing the snapshots of provider '%s' failed: %s", pname,
				  csdk_error_last()->message);
			continue;
		}
		if (!items) {
			serve_api_error(ans, 500, "listing the snapshots of provider '%s' failed: %s", pname, csdk_error_last()->message);
			json_decref(*out);
			*out = NULL;
			return -1;
		}
		for (j = 0; j < items->count; j++) {
			const char *short_name = snapshot_short_name(items->items[j].name, tenant);

			if (!short_name || (id && strcmp(items->items[j].id, id)))
				continue;
			json_array_append_new(*out, json_pack("{s:s,s:[s]}", "snapshotID", items->items[j].id, "names",
							      *short_name ? items->items[j].name : items->items[j].id));
			if (provider)
				snprintf(provider, 64, "%s", pname);
		}
		csdk_item_list_free(items);
	}
	return 0;
}

/* [s, e) without blanks at either end */
static void trim_blanks(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* The image that templates ("NAME=IMAGE,...") maps name to: 1 with *out set, 0 when none, -1 out of memory. */
static int configured_image(const char *templates, const char *name, char **out)
{
	const char *p = templates;
	size_t nl = strlen(name);

	while (p && *p) {
		const char *s = p, *e = p + strcspn(p, ","), *eq = memchr(p, '=', (size_t)(e - p));

		if (eq) {
			const char *ke = eq, *v = eq + 1, *ve = e;

			trim_blanks(&s, &ke);
			trim_blanks(&v, &ve);
			if ((size_t)(ke - s) == nl && !strncmp(s, name, nl))
				return (*out = strndup(v, (size_t)(ve - v))) ? 1 : -1;
		}
		p = *e ? e + 1 : e;
	}
	return 0;
}

/* The id of a provider's template whose id or name is name, NULL when none. */
static char *provider_template(struct serve *srv, const char *name)
{
	char *found = NULL;

	for (size_t i = 0; i < csdk_compute_count(srv->compute) && !found; i++) {
		csdk_provider *prov = csdk_compute_provider(srv->compute, csdk_compute_name_at(srv->compute, i));
		csdk_item_list *items = NULL;

		if (!prov || !(csdk_provider_capabilities(prov) & CSDK_CAP_TEMPLATES) || csdk_template_list(&items, prov) < 0)
			continue;
		for (size_t j = 0; j < items->count && !found; j++)
			if (!strcmp(items->items[j].id, name) || (items->items[j].name && !strcmp(items->items[j].name, name)))
				found = strdup(items->items[j].id);
		csdk_item_list_free(items);
	}
	return found;
}

/*
 * "base" is the provider's default; names of [serve] templates are images;
 * then a snapshot of the tenant (E2B creates from a snapshot by its id as
 * the templateID; PROVIDER is set to the provider holding it, so the create
 * goes there after a restart too); else a provider template.
 */
static int resolve_template(struct serve *srv, struct serve_answer *ans, const char *tenant, const char *name,
			    struct csdk_create_options *opts, char **image_out, char **template_out, char provider[64])
{
	json_t *snaps = NULL;
	size_t found;
	int rc;

	*image_out = *template_out = NULL;
	if (!strcmp(name, "base"))
		return 0;
	if ((rc = configured_image(srv->opt.templates, name, image_out)) < 0)
		return serve_api_error(ans, 500, "out of memory"), -1;
	if (rc) {
		opts->image = *image_out;
		return 0;
	}
	/* a provider whose listing fails is skipped: its snapshots cannot be
	 * the template, and a template elsewhere may still be */
	if (tenant_snapshots(srv, NULL, tenant, name, &snaps, provider) < 0)
		return serve_api_error(ans, 500, "out of memory"), -1;
	found = json_array_size(snaps);
	json_decref(snaps);
	if (found) {
		if (!(*template_out = strdup(name)))
			return serve_api_error(ans, 500, "out of memory"), -1;
		opts->snapshot_id = *template_out;
		return 0;
	}
	if ((*template_out = provider_template(srv, name))) {
		opts->template_id = *template_out;
		return 0;
	}
	csdk_error_clear();
	serve_api_error(ans, 404, "template '%s' not found; use base, a template of the provider, or map it to an image with 'templates = %s=IMAGE' under [serve]",
			name, name);
	return -1;
}

static int kv_of(struct csdk_kv **out, size_t *n, json_t *obj)
{
	const char *k;
	json_t *v;

	*out = NULL;
	*n = 0;
	if (!obj || !json_object_size(obj))
		return 0;
	if (!(*out = calloc(json_object_size(obj), sizeof(**out))))
		return -1;
	json_object_foreach(obj, k, v) {
		(*out)[*n].key = k;
		(*out)[(*n)++].value = json_string_value(v);
	}
	return 0;
}

/* The record of sb, made for tenant by req, with the endpoint *ep (taken): NULL when out of memory. */
static struct serve_record *record_of(struct serve *srv, csdk_sandbox *sb, const struct serve_tenant *tenant,
				      const struct serve_create_req *req, csdk_agent_endpoint **ep)
{
	struct serve_record *rec = serve_record_new();

	if (!rec)
		return NULL;
	rec->provider = strdup(csdk_provider_name(csdk_sandbox_provider(sb)));
	rec->bare = strdup(csdk_sandbox_id(sb));
	rec->id = rec->provider && rec->bare ? qualify(srv, rec->provider, rec->bare) : NULL;
	rec->tenant = strdup(tenant->name);
	rec->template_id = strdup(req->template_id);
	rec->metadata = req->metadata ? json_deep_copy(req->metadata) : json_object();
	rec->started_ms = serve_now_ms();
	rec->end_ms = rec->started_ms + req->timeout_s * 1000;
	rec->endpoint = *ep;
	*ep = NULL;
	if (!rec->id || !rec->tenant || !rec->template_id || !rec->metadata || serve_random_token(rec->token) < 0) {
		serve_record_free(rec);
		return NULL;
	}
	return rec;
}

/* Records the created sandbox and answers 201; on failure the sandbox is destroyed. */
static void record_created(struct serve *srv, struct serve_answer *ans, const struct serve_tenant *tenant,
			   const struct serve_create_req *req, csdk_sandbox *sb)
{
	struct serve_record *rec = NULL;
	csdk_agent_endpoint *ep = NULL;

	if (csdk_sandbox_agent_endpoint(&ep, sb) < 0) {
		serve_api_error(ans, 500, "%s; csdk serve needs providers in gateway mode (e.g. --config mode=gateway)",
				csdk_error_last()->message);
		goto destroy;
	}
	if (!(rec = record_of(srv, sb, tenant, req, &ep))) {
		serve_api_error(ans, 500, "out of memory");
		goto destroy;
	}
	ans->sandbox = strdup(rec->id);
	answer_json(ans, 201, created_json(srv, rec));
	if (serve_store_add(&srv->store, rec) < 0) {
		rec = NULL;
		serve_api_error(ans, 500, "cannot record the sandbox in the state directory; check that it is writable");
		goto destroy;
	}
	rec = NULL;
	goto out;
destroy:
	csdk_sandbox_destroy(sb);
out:
	serve_record_free(rec);
	csdk_agent_endpoint_free(ep);
}

static void create_sandbox(struct serve *srv, struct serve_answer *ans, const struct serve_tenant *tenant, const char *body, size_t len)
{
	struct csdk_create_options opts = CSDK_CREATE_OPTIONS_INIT;
	csdk_compute_create_options copts = CSDK_COMPUTE_CREATE_OPTIONS_INIT;
	struct serve_create_req req;
	struct csdk_kv *meta = NULL, *envs = NULL;
	csdk_sandbox *sb = NULL;
	char err[512], *image = NULL, *tmpl = NULL, snapshot_provider[64] = "";
	int rc;

	if (serve_parse_create(&req, body, len, srv->opt.default_timeout_s, srv->opt.max_timeout_s, err, sizeof(err)) < 0) {
		serve_api_error(ans, 400, "%s", err);
		return;
	}
	if (resolve_template(srv, ans, tenant->name, req.template_id, &opts, &image, &tmpl, snapshot_provider) < 0)
		goto out;
	if (*snapshot_provider)
		copts.provider = snapshot_provider;
	if (kv_of(&meta, &opts.n_metadata, req.metadata) < 0 || kv_of(&envs, &opts.n_envs, req.env_vars) < 0) {
		serve_api_error(ans, 500, "out of memory");
		goto out;
	}
	opts.metadata = meta;
	opts.envs = envs;
	opts.timeout_ms = req.timeout_s * 1000;
	copts.create = &opts;
	if ((rc = csdk_compute_create(&sb, srv->compute, &copts)) < 0)
		serve_api_error(ans, rc == CSDK_EINVAL || rc == CSDK_EUNSUPPORTED ? 400 : 500, "creating the sandbox failed: %s",
				csdk_error_last()->message);
	else
		record_created(srv, ans, tenant, &req, sb);
out:
	csdk_sandbox_free(sb);
	free(meta);
	free(envs);
	free(image);
	free(tmpl);
	serve_create_req_clear(&req);
}

struct listed {
	char *id;
	json_t *obj;
};

static int cmp_listed(const void *a, const void *b)
{
	return strcmp(((const struct listed *)a)->id, ((const struct listed *)b)->id);
}

/* The listable sandboxes of tenant that match filter (NULL: all): *out, *n_out items, sorted by id. */
static int collect_listed(struct serve *srv, const struct serve_tenant *tenant, const csdk_sandbox_list *list,
			  json_t *filter, struct listed **out, size_t *n_out)
{
	struct listed *items = NULL;
	size_t n = 0;

	if (list->count && !(items = calloc(list->count, sizeof(*items))))
		return -1;
	for (size_t i = 0; i < list->count; i++) {
		csdk_sandbox *sb = list->sandboxes[i];
		char *id = qualify(srv, csdk_provider_name(csdk_sandbox_provider(sb)), csdk_sandbox_id(sb));
		struct serve_record *rec = id ? serve_store_get(&srv->store, id) : NULL, *tmp = NULL;

		if (!id)
			continue;
		if (!rec && !strcmp(tenant->name, owner_tenant(srv)))
			rec = tmp = foreign_record(srv, sb);
		if (rec && !strcmp(rec->tenant, tenant->name) && !serve_record_expired(&srv->store, rec) &&
		    (!filter || serve_metadata_matches(rec->metadata, filter))) {
			items[n].id = id;
			items[n++].obj = sandbox_json(srv, rec, 0);
			id = NULL;
		}
		free(id);
		if (tmp)
			serve_record_free(tmp);
		else
			serve_record_put(&srv->store, rec);
	}
	if (n > 1)
		qsort(items, n, sizeof(*items), cmp_listed);
	*out = items;
	*n_out = n;
	return 0;
}

/* The page of the n sorted items after the id next (NULL or "": from the start), at most limit long. */
static void answer_page(struct serve_answer *ans, const struct listed *items, size_t n, const char *next, size_t limit)
{
	size_t start = 0;
	json_t *arr;

	if (next && *next)
		while (start < n && strcmp(items[start].id, next) <= 0)
			start++;
	arr = json_array();
	for (size_t i = start; arr && i < n && i < start + limit; i++)
		json_array_append(arr, items[i].obj);
	if (start + limit < n)
		ans->next_token = strdup(items[start + limit - 1].id);
	answer_json(ans, 200, arr);
}

/* The limit query parameter (NULL: MAX_LIST) into *out: 0, or -1 after a 400 answer. */
static int parse_limit(struct serve_answer *ans, const char *limit_s, size_t *out)
{
	char *end;
	long v;

	*out = MAX_LIST;
	if (!limit_s)
		return 0;
	v = strtol(limit_s, &end, 10);
	if (!*limit_s || *end || v < 1 || v > MAX_LIST) {
		serve_api_error(ans, 400, "limit '%.20s' is out of range; give 1 to %d", limit_s, MAX_LIST);
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

static void list_sandboxes(struct serve *srv, struct serve_answer *ans, const struct serve_tenant *tenant, const char *target)
{
	char *mq = serve_query_param(target, "metadata"), *state = serve_query_param(target, "state");
	char *limit_s = serve_query_param(target, "limit"), *next = serve_query_param(target, "nextToken");
	csdk_sandbox_list *list = NULL;
	struct listed *items = NULL;
	json_t *filter = NULL;
	size_t i, n = 0, limit;
	char err[256];

	if (mq && !(filter = serve_parse_metadata_query(mq, err, sizeof(err)))) {
		serve_api_error(ans, 400, "%s", err);
		goto out;
	}
	if (parse_limit(ans, limit_s, &limit) < 0)
		goto out;
	if (next && *next && !serve_valid_id(next)) {
		serve_api_error(ans, 400, "nextToken is not one this server gave");
		goto out;
	}
	/* Only running sandboxes exist here: a filter without "running" lists nothing. */
	if (state && *state && !strstr(state, "running")) {
		answer_json(ans, 200, json_array());
		goto out;
	}
	if (csdk_compute_list(&list, srv->compute) < 0) {
		serve_api_error(ans, 500, "listing sandboxes failed: %s", csdk_error_last()->message);
		goto out;
	}
	if (collect_listed(srv, tenant, list, filter, &items, &n) < 0) {
		serve_api_error(ans, 500, "out of memory");
		goto out;
	}
	answer_page(ans, items, n, next, limit);
out:
	for (i = 0; i < n; i++) {
		free(items[i].id);
		json_decref(items[i].obj);
	}
	free(items);
	csdk_sandbox_list_free(list);
	json_decref(filter);
	free(mq);
	free(state);
	free(limit_s);
	free(next);
}

/* Lengthen the provider's own lifetime too, where it has one, so that it does not end the sandbox first. */
static void extend_at_provider(struct serve *srv, struct serve_record *rec, int64_t old_end, int64_t new_end)
{
	csdk_provider *prov = csdk_compute_provider(srv->compute, rec->provider);
	csdk_sandbox *sb = NULL;

	if (!prov || !(csdk_provider_capabilities(prov) & CSDK_CAP_NAMED) || new_end <= old_end)
		return;
	if (serve_record_sandbox(srv, rec, &sb) == 0 && sb && csdk_sandbox_extend_timeout(sb, new_end - old_end) < 0)
		serve_log(srv, "warning", "sandbox %s: extending its lifetime at provider '%s' failed: %s", rec->id, rec->provider,
			  csdk_error_last()->message);
	csdk_sandbox_free(sb);
}

static void set_timeout(struct serve *srv, struct serve_answer *ans, struct serve_record *rec, const char *body, size_t len, int connect)
{
	char err[256];
	int64_t t, end, old = serve_record_end(&srv->store, rec);

	if (serve_parse_timeout(&t, body, len, connect ? srv->opt.default_timeout_s : 0, srv->opt.max_timeout_s, err, sizeof(err)) < 0) {
		serve_api_error(ans, 400, "%s", err);
		return;
	}
	end = serve_now_ms() + t * 1000;
	if (connect && end < old)
		end = old;
	if (serve_store_set_end(&srv->store, rec->id, end) < 0) {
		serve_api_error(ans, 500, "cannot record the new timeout in the state directory");
		return;
	}
	extend_at_provider(srv, rec, old, end);
	if (connect)
		answer_json(ans, 200, created_json(srv, rec));
	else
		answer_json(ans, 204, NULL);
}

static void kill_sandbox(struct serve *srv, struct serve_answer *ans, struct serve_record *rec)
{
	int rc = csdk_compute_destroy(srv->compute, rec->provider, rec->bare);

	if (rc < 0) {
		serve_api_error(ans, 500, "destroying sandbox '%s' failed: %s", rec->id, csdk_error_last()->message);
		return;
	}
	serve_store_remove(&srv->store, rec->id);
	answer_json(ans, 204, NULL);
}

static void snapshot(struct serve *srv, struct serve_answer *ans, struct serve_record *rec, const char *body, size_t len)
{
	csdk_provider *prov = csdk_compute_provider(srv->compute, rec->provider);
	csdk_sandbox *sb = NULL;
	json_t *root = NULL, *name;
	char *id = NULL, full[200];
	const char *given;
	int rc;

	if (!prov || !(csdk_provider_capabilities(prov) & CSDK_CAP_SNAPSHOTS)) {
		serve_api_error(ans, 501, "provider '%s' does not support snapshots; use a provider that has them", rec->provider);
		return;
	}
	if (len && !(root = json_loadb(body, len, 0, NULL))) {
		serve_api_error(ans, 400, "malformed JSON body");
		return;
	}
	name = json_object_get(root, "name");
	given = json_is_string(name) && *json_string_value(name) ? json_string_value(name) : NULL;
	if ((name && !json_is_null(name) && !json_is_string(name)) ||
	    (given && (strlen(given) > 63 || strspn(given, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(given)))) {
		serve_api_error(ans, 400, "name must be 1 to 63 letters, digits, '.', '_' or '-'");
		json_decref(root);
		return;
	}
	snprintf(full, sizeof(full), "%s%s%s", rec->tenant, given ? "/" : "", given ? given : "");
	if ((rc = serve_record_sandbox(srv, rec, &sb)) == 0 && !sb)
		serve_api_error(ans, 404, "sandbox '%s' not found", rec->id);
	else if (rc == 0 && (rc = csdk_compute_snapshot_create(&id, srv->compute, sb, full)) == 0)
		answer_json(ans, 201, json_pack("{s:s,s:[s]}", "snapshotID", id, "names", given ? full : id));
	if (rc < 0)
		serve_api_error(ans, 500, "snapshot of '%s' failed: %s", rec->id, csdk_error_last()->message);
	csdk_free(id);
	csdk_sandbox_free(sb);
	json_decref(root);
}

/* GET /snapshots: the tenant's, on one page; ?name= keeps those of that id or name (full or short). */
static void list_snapshots(struct serve *srv, struct serve_answer *ans, const char *tenant, const char *target)
{
	json_t *all = NULL, *o, *kept;
	char *name = serve_query_param(target, "name"), *sandbox = serve_query_param(target, "sandboxID");
	size_t i;

	/* Providers do not say which sandbox a snapshot came from: refused rather than ignored. */
	if (sandbox) {
		free(sandbox);
		free(name);
		serve_api_error(ans, 501, "listing snapshots by sandboxID is not supported by csdk serve; filter by name instead");
		return;
	}
	if (tenant_snapshots(srv, ans, tenant, NULL, &all, NULL) < 0) {
		free(name);
		return;
	}
	if (name && (kept = json_array())) {
		json_array_foreach(all, i, o) {
			const char *id = json_string_value(json_object_get(o, "snapshotID"));
			const char *full = json_string_value(json_array_get(json_object_get(o, "names"), 0));
			const char *short_name = snapshot_short_name(full, tenant);

			if (!strcmp(id, name) || !strcmp(full, name) || (short_name && !strcmp(short_name, name)))
				json_array_append(kept, o);
		}
		json_decref(all);
		all = kept;
	}
	free(name);
	answer_json(ans, 200, all);
}

/* DELETE /templates/ID: E2B deletes snapshots there; serve deletes only the tenant's snapshots. */
static void delete_snapshot(struct serve *srv, struct serve_answer *ans, const char *tenant, const char *id)
{
	json_t *found = NULL;
	char provider[64] = "";

	if (tenant_snapshots(srv, ans, tenant, id, &found, provider) < 0)
		return;
	if (!json_array_size(found))
		serve_api_error(ans, 404, "snapshot '%s' not found; csdk serve deletes the snapshots made through it, not templates", id);
	else if (csdk_compute_snapshot_delete(srv->compute, provider, id) < 0)
		serve_api_error(ans, 500, "deleting snapshot '%s' failed: %s", id, csdk_error_last()->message);
	else
		answer_json(ans, 204, NULL);
	json_decref(found);
}

/* POST (or GET metrics) /sandboxes/ID/ACTION on the sandbox rec. */
static void sandbox_action(struct serve *srv, struct serve_answer *ans, struct serve_record *rec, const char *method,
			   const char *action, const char *body, size_t len)
{
	if (strcmp(method, "POST") && strcmp(action, "metrics"))
		serve_api_error(ans, 405, "%s is not allowed there; use POST", method);
	else if (!strcmp(action, "timeout"))
		set_timeout(srv, ans, rec, body, len, 0);
	else if (!strcmp(action, "connect"))
		set_timeout(srv, ans, rec, body, len, 1);
	else if (!strcmp(action, "refreshes"))
		answer_json(ans, 204, NULL);
	else if (!strcmp(action, "metrics"))
		answer_json(ans, 200, json_array());
	else if (!strcmp(action, "pause") || !strcmp(action, "resume"))
		serve_api_error(ans, 501, "pausing and resuming sandboxes is not supported by csdk serve; kill the sandbox or set its timeout instead");
	else if (!strcmp(action, "snapshots"))
		snapshot(srv, ans, rec, body, len);
	else
		serve_api_error(ans, 404, "no route for %s /sandboxes/ID/%.40s", method, action);
}

/* /sandboxes and below: seg[0] is "sandboxes", n segments. *rec_out: the sandbox looked up, to put. */
static void sandboxes_route(struct serve *srv, struct serve_answer *ans, const struct serve_tenant *tenant,
			    const char *method, const char *target, char **seg, int n, const char *body, size_t len,
			    struct serve_record **rec_out)
{
	int get = !strcmp(method, "GET");

	if (n == 1) {
		if (!strcmp(method, "POST"))
			create_sandbox(srv, ans, tenant, body, len);
		else if (get)
			list_sandboxes(srv, ans, tenant, target);
		else
			serve_api_error(ans, 405, "%s is not allowed on /sandboxes; use GET or POST", method);
		return;
	}
	if (n == 2 && !strcmp(seg[1], "metrics")) {
		answer_json(ans, 200, json_array());
		return;
	}
	if (n > 3) {
		serve_api_error(ans, 404, "no route for %s %s", method, "that path");
		return;
	}
	ans->sandbox = strdup(seg[1]);
	if (!(*rec_out = lookup(srv, ans, tenant->name, seg[1])))
		return;
	if (n == 3)
		sandbox_action(srv, ans, *rec_out, method, seg[2], body, len);
	else if (get)
		answer_json(ans, 200, sandbox_json(srv, *rec_out, 1));
	else if (!strcmp(method, "DELETE"))
		kill_sandbox(srv, ans, *rec_out);
	else
		serve_api_error(ans, 405, "%s is not allowed on a sandbox; use GET or DELETE", method);
}

void serve_api(struct serve *srv, struct serve_answer *ans, const char *method, const char *target, const char *api_key,
	       const char *body, size_t len)
{
	const struct serve_tenant *tenant;
	struct serve_record *rec = NULL;
	char *seg[6] = { 0 };
	int n, i, get = !strcmp(method, "GET");

	n = serve_split_path(seg, 6, target);
	if (n < 0) {
		serve_api_error(ans, 400, "malformed request path");
		return;
	}
	if (n == 1 && !strcmp(seg[0], "health") && get) {
		answer_json(ans, 200, json_pack("{s:s}", "status", "ok"));
		goto out;
	}
	if (!(tenant = serve_auth_key(&srv->opt, api_key))) {
		serve_api_error(ans, 401, api_key && *api_key ? "invalid API key" : "missing API key; send it in the X-API-KEY header");
		goto out;
	}
	ans->tenant = tenant->name;
	i = n > 0 && !strcmp(seg[0], "v2") ? 1 : 0;
	if (n - i >= 1 && !strcmp(seg[i], "sandboxes"))
		sandboxes_route(srv, ans, tenant, method, target, seg + i, n - i, body, len, &rec);
	else if (n == 1 && !strcmp(seg[0], "snapshots") && get)
		list_snapshots(srv, ans, tenant->name, target);
	else if (n == 1 && !strcmp(seg[0], "snapshots"))
		serve_api_error(ans, 405, "%s is not allowed on /snapshots; use GET", method);
	else if (n == 2 && !strcmp(seg[0], "templates") && !strcmp(method, "DELETE"))
		delete_snapshot(srv, ans, tenant->name, seg[1]);
	else if (n == 2 && !strcmp(seg[0], "templates"))
		serve_api_error(ans, 405, "%s is not allowed on a template; use DELETE (csdk serve deletes snapshots only)", method);
	else
		serve_api_error(ans, 404, "no route for %s %.100s", method, n > 0 ? seg[0] : "/");
out:
	serve_record_put(&srv->store, rec);
	for (i = 0; i < n; i++)
		free(seg[i]);
}

void serve_reap(struct serve *srv)
{
	char **ids = NULL;
	size_t n = serve_store_expired(&srv->store, serve_now_ms(), &ids), i;

	for (i = 0; i < n; i++) {
		struct serve_record *rec = serve_store_get(&srv->store, ids[i]);

		if (rec) {
			if (csdk_compute_destroy(srv->compute, rec->provider, rec->bare) < 0)
				serve_log(srv, "warning", "sandbox %s expired but destroying it failed: %s; retrying", rec->id,
					  csdk_error_last()->message);
			else {
				serve_store_remove(&srv->store, rec->id);
				serve_log(srv, "info", "sandbox %s expired and was destroyed", rec->id);
			}
			serve_record_put(&srv->store, rec);
		}
		free(ids[i]);
	}
	free(ids);
}
