#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute_cursor.h"
#include "compute_failures.h"
#include "error.h"
#include "log.h"
#include "provider.h"
#include "util.h"

struct member {
	char *name;
	csdk_provider *provider;  /* NULL when it could not be opened */
	int open_code;
	char *open_message;
};

enum affinity_kind { AFFINE_SANDBOX, AFFINE_SNAPSHOT };

struct affinity {
	enum affinity_kind kind;
	char *id;
	size_t member;
};

struct csdk_compute {
	pthread_mutex_t lock;
	csdk_strategy strategy;
	int fallback;
	char *cursor_path;
	unsigned long cursor;
	struct member *members;
	size_t n;
	struct affinity *affinities;
	size_t n_affinities;
};

const char *csdk_strategy_name(csdk_strategy strategy)
{
	switch (strategy) {
	case CSDK_STRATEGY_PRIORITY:
		return "priority";
	case CSDK_STRATEGY_ROUND_ROBIN:
		return "round-robin";
	}
	return "unknown";
}

int csdk_compute_new(csdk_compute **out, const csdk_compute_options *opts)
{
	csdk_compute *c;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_compute_new: out is NULL");
	*out = NULL;
	csdk_compute_options o;
	int rc;

	if ((rc = CSDKP_OPTIONS_COPY(&o, opts, "csdk_compute_options", "CSDK_COMPUTE_OPTIONS_INIT")))
		return rc;
	opts = &o;
	if (opts && opts->strategy != 0 && opts->strategy != CSDK_STRATEGY_PRIORITY && opts->strategy != CSDK_STRATEGY_ROUND_ROBIN)
		return csdkp_error_set(CSDK_EINVAL, NULL, "unknown compute strategy %d; use CSDK_STRATEGY_PRIORITY or CSDK_STRATEGY_ROUND_ROBIN", (int)opts->strategy);
	if (!(c = calloc(1, sizeof(*c))))
		return csdkp_error_oom();
	c->strategy = opts && opts->strategy ? opts->strategy : CSDK_STRATEGY_PRIORITY;
	c->fallback = !(opts && opts->no_fallback);
	if (opts && opts->cursor_path && !(c->cursor_path = strdup(opts->cursor_path))) {
		free(c);
		return csdkp_error_oom();
	}
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void csdk_compute_free(csdk_compute *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++) {
		csdkp_provider_unref(c->members[i].provider);
		free(c->members[i].name);
		free(c->members[i].open_message);
	}
	for (i = 0; i < c->n_affinities; i++)
		free(c->affinities[i].id);
	free(c->affinities);
	free(c->members);
	free(c->cursor_path);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static ssize_t member_index(const csdk_compute *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!strcmp(c->members[i].name, name))
			return (ssize_t)i;
	return -1;
}

/* Takes name and message; provider gets a new reference. */
static int add_member(csdk_compute *c, const char *name, csdk_provider *p, int code, const char *message)
{
	struct member *grown, *m;
	char *n = strdup(name), *msg = message ? strdup(message) : NULL;

	if (!n || (message && !msg) || !(grown = realloc(c->members, (c->n + 1) * sizeof(*grown)))) {
		free(n);
		free(msg);
		return csdkp_error_oom();
	}
	c->members = grown;
	m = &c->members[c->n++];
	m->name = n;
	m->provider = p;
	m->open_code = code;
	m->open_message = msg;
	if (p)
		csdkp_provider_ref(p);
	return 0;
}

int csdk_compute_add(csdk_compute *c, csdk_provider *p)
{
	int rc = 0;

	if (!c || !p)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_compute_add: compute or provider is NULL");
	pthread_mutex_lock(&c->lock);
	if (member_index(c, p->name) < 0)
		rc = add_member(c, p->name, p, 0, NULL);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int csdk_compute_open(csdk_compute *c, const char *name, const csdk_provider_options *opts)
{
	csdk_provider *p = NULL;
	int rc, add;

	if (!c || !name || !*name)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_compute_open: compute or name is missing");
	pthread_mutex_lock(&c->lock);
	add = member_index(c, name) < 0;
	pthread_mutex_unlock(&c->lock);
	if (!add)
		return 0;
	rc = csdk_provider_open(&p, name, opts);
	if (rc == 0) {
		rc = csdk_compute_add(c, p);
		csdk_provider_close(p);
		return rc;
	}
	{
		const csdk_error *e = csdk_error_last();
		char *msg = strdup(e->code ? e->message : csdk_strerror(rc));
		char *prov = e->provider ? strdup(e->provider) : NULL;
		int added;

		if (!msg) {
			free(prov);
			return csdkp_error_oom();
		}
		pthread_mutex_lock(&c->lock);
		added = member_index(c, name) >= 0 ? 0 : add_member(c, name, NULL, rc, msg);
		pthread_mutex_unlock(&c->lock);
		if (added == 0)
			csdkp_error_set(rc, prov, "%s", msg);
		free(msg);
		free(prov);
		return added ? added : rc;
	}
}

size_t csdk_compute_count(const csdk_compute *c)
{
	return c ? c->n : 0;
}

const char *csdk_compute_name_at(const csdk_compute *c, size_t i)
{
	return c && i < c->n ? c->members[i].name : NULL;
}

csdk_provider *csdk_compute_provider(const csdk_compute *c, const char *name)
{
	ssize_t i;

	if (!c || !name || (i = member_index(c, name)) < 0)
		return NULL;
	return c->members[i].provider;
}

/* ---------------------------------------------------------------- affinity */

static void remember(csdk_compute *c, enum affinity_kind kind, const char *id, size_t member)
{
	struct affinity *grown;
	size_t i;
	char *copy;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n_affinities; i++)
		if (c->affinities[i].kind == kind && !strcmp(c->affinities[i].id, id)) {
			c->affinities[i].member = member;
			pthread_mutex_unlock(&c->lock);
			return;
		}
	/* Affinity is a hint: when memory runs out the id is simply not remembered. */
	if ((copy = strdup(id)) && (grown = realloc(c->affinities, (c->n_affinities + 1) * sizeof(*grown)))) {
		c->affinities = grown;
		grown[c->n_affinities].kind = kind;
		grown[c->n_affinities].id = copy;
		grown[c->n_affinities].member = member;
		c->n_affinities++;
		copy = NULL;
	}
	free(copy);
	pthread_mutex_unlock(&c->lock);
}

static void forget(csdk_compute *c, enum affinity_kind kind, const char *id)
{
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n_affinities; i++)
		if (c->affinities[i].kind == kind && !strcmp(c->affinities[i].id, id)) {
			free(c->affinities[i].id);
			c->affinities[i] = c->affinities[--c->n_affinities];
			break;
		}
	pthread_mutex_unlock(&c->lock);
}

static ssize_t affine(csdk_compute *c, enum affinity_kind kind, const char *id)
{
	ssize_t found = -1;
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n_affinities; i++)
		if (c->affinities[i].kind == kind && !strcmp(c->affinities[i].id, id))
			found = (ssize_t)c->affinities[i].member;
	pthread_mutex_unlock(&c->lock);
	return found;
}

/* ------------------------------------------------------------------ order */

static int unknown_name(const csdk_compute *c, const char *name)
{
	char list[1024];
	size_t i, used = 0;

	list[0] = '\0';
	for (i = 0; i < c->n && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", c->members[i].name);
	if (!c->n)
		snprintf(list, sizeof(list), "none");
	return csdkp_error_set(CSDK_ENOTFOUND, NULL, "unknown provider '%s'; configured providers: %s", name, list);
}

/*
 * The order to try: first (when >= 0) and then every member from start on,
 * wrapping around. order has room for c->n entries.
 */
static size_t make_order(size_t *order, const csdk_compute *c, ssize_t first, size_t start)
{
	size_t i, k = 0;

	if (first >= 0)
		order[k++] = (size_t)first;
	for (i = 0; i < c->n; i++) {
		size_t m = (start + i) % c->n;
		if ((ssize_t)m != first)
			order[k++] = m;
	}
	return k;
}

static int resolve_hint(ssize_t *out, const csdk_compute *c, const char *provider)
{
	*out = -1;
	if (provider && (*out = member_index(c, provider)) < 0)
		return unknown_name(c, provider);
	return 0;
}

/* The member to ask first about id: the provider named, else the one id is known at (-1: neither). */
static int first_for(ssize_t *out, csdk_compute *c, const char *provider, enum affinity_kind kind, const char *id)
{
	int rc = resolve_hint(out, c, provider);

	if (!rc && *out < 0 && id)
		*out = affine(c, kind, id);
	return rc;
}

static size_t next_start(csdk_compute *c)
{
	unsigned long v;

	if (c->strategy != CSDK_STRATEGY_ROUND_ROBIN || !c->n)
		return 0;
	pthread_mutex_lock(&c->lock);
	v = c->cursor_path ? csdkp_cursor_file_take(c->cursor_path) : c->cursor;
	c->cursor = v + 1;
	pthread_mutex_unlock(&c->lock);
	return (size_t)(v % c->n);
}

/* Releasing handles enters the provider, which clears the thread's error: keep it across. */
static int keep_error(int rc, void (*release)(void *), void *what)
{
	const csdk_error *e = csdk_error_last();
	char *msg = strdup(e->message), *prov = e->provider ? strdup(e->provider) : NULL;
	int code = e->code;

	release(what);
	if (code && msg)
		csdkp_error_set(code, prov, "%s", msg);
	free(msg);
	free(prov);
	return rc;
}

static void release_list(void *list)
{
	csdk_sandbox_list_free(list);
}

static void release_sandbox(void *sb)
{
	csdk_sandbox_free(sb);
}

static int member_unavailable(const struct member *m)
{
	return csdkp_error_set(m->open_code, m->name, "%s", m->open_message);
}

/* ------------------------------------------------------------------ create */

static int cancelled(void)
{
	return csdkp_error_set(CSDK_ECANCELLED, NULL, "sandbox creation was cancelled");
}

int csdk_compute_create(csdk_sandbox **out, csdk_compute *c, const csdk_compute_create_options *opts)
{
	csdk_compute_create_options copy;
	struct csdkp_failures f = CSDKP_FAILURES_INIT;
	size_t *order, n_order, i;
	ssize_t first;
	int rc = 0;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_compute_create: out is NULL");
	*out = NULL;
	if (!c)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_compute_create: compute is NULL");
	if ((rc = CSDKP_OPTIONS_COPY(&copy, opts, "csdk_compute_create_options", "CSDK_COMPUTE_CREATE_OPTIONS_INIT")))
		return rc;
	opts = &copy;
	if (!c->n)
		return csdkp_error_set(CSDK_ECONFIG, NULL, "no provider is configured; add one with csdk_compute_add or name it under providers in the configuration file");
	if ((rc = resolve_hint(&first, c, opts->provider)))
		return rc;
	if (csdk_cancel_requested(opts->cancel))
		return cancelled();
	if (!(order = calloc(c->n, sizeof(*order))))
		return csdkp_error_oom();
	if (opts->provider) {
		order[0] = (size_t)first;
		n_order = 1;
	} else {
		if (opts->create && opts->create->snapshot_id)
			first = affine(c, AFFINE_SNAPSHOT, opts->create->snapshot_id);
		n_order = make_order(order, c, first, next_start(c));
	}
	for (i = 0; i < n_order; i++) {
		struct member *m = &c->members[order[i]];
		csdk_sandbox *sb = NULL;

		if (csdk_cancel_requested(opts->cancel)) {
			rc = cancelled();
			break;
		}
		rc = m->provider ? csdk_sandbox_create(&sb, m->provider, opts->create) : member_unavailable(m);
		if (rc == 0 && csdk_cancel_requested(opts->cancel)) {
			/* Finished after the request: the caller will never see it, so it must not outlive this call. */
			if (csdk_sandbox_destroy(sb) < 0)
				csdkp_log_emit(CSDK_LOG_WARN, m->name, "could not destroy a sandbox created after its creation was cancelled");
			csdk_sandbox_free(sb);
			rc = cancelled();
			break;
		}
		if (rc == 0) {
			remember(c, AFFINE_SANDBOX, csdk_sandbox_id(sb), order[i]);
			*out = sb;
			break;
		}
		if (rc == CSDK_ECANCELLED || opts->provider || !c->fallback)
			break;
		csdkp_failures_add_last(&f, m->name, rc);
	}
	free(order);
	if (rc && f.n_tried && rc != CSDK_ECANCELLED && i == n_order)
		return csdkp_failures_report(&f, "create sandbox", f.n_tried);
	csdkp_failures_free(&f);
	return rc;
}

/* ---------------------------------------------------------------- get, destroy */

static int find(csdk_sandbox **out, size_t *member_out, csdk_compute *c, const char *provider, const char *id, const char *what)
{
	struct csdkp_failures f = CSDKP_FAILURES_INIT;
	size_t *order, n_order, i;
	ssize_t first;
	int rc;

	*out = NULL;
	if ((rc = resolve_hint(&first, c, provider)))
		return rc;
	if (!id || !*id)
		return csdkp_error_set(CSDK_EINVAL, NULL, "no sandbox id given; pass the id printed by create");
	if (!(order = calloc(c->n ? c->n : 1, sizeof(*order))))
		return csdkp_error_oom();
	if (first >= 0) {
		/* A named provider is where the sandbox lives (a qualified id): the others are not asked. */
		order[0] = (size_t)first;
		n_order = 1;
	} else {
		n_order = make_order(order, c, affine(c, AFFINE_SANDBOX, id), 0);
	}
	for (i = 0; i < n_order; i++) {
		struct member *m = &c->members[order[i]];

		rc = m->provider ? csdk_sandbox_get(out, m->provider, id) : member_unavailable(m);
		if (rc == 0 && *out) {
			*member_out = order[i];
			break;
		}
		if (rc && !c->fallback) {
			free(order);
			csdkp_failures_free(&f);
			return rc;
		}
		if (rc)
			csdkp_failures_add_last(&f, m->name, rc);
		else
			csdkp_failures_note(&f, m->name, "no such sandbox");
	}
	free(order);
	if (*out) {
		csdkp_failures_free(&f);
		csdk_error_clear();
		remember(c, AFFINE_SANDBOX, id, *member_out);
		return 0;
	}
	if (f.n_tried) {
		char *w = csdkp_printf("%s sandbox '%s'", what, id);
		rc = csdkp_failures_report(&f, w ? w : what, n_order);
		free(w);
		return rc;
	}
	csdkp_failures_free(&f);
	csdk_error_clear();
	return 0;
}

int csdk_compute_get(csdk_sandbox **out, csdk_compute *c, const char *provider, const char *id)
{
	size_t member;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_compute_get: out is NULL");
	*out = NULL;
	if (!c)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_compute_get: compute is NULL");
	return find(out, &member, c, provider, id, "get");
}

int csdk_compute_destroy(csdk_compute *c, const char *provider, const char *id)
{
	csdk_sandbox *sb = NULL;
	size_t member;
	ssize_t known;
	int rc;

	if (!c)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_compute_destroy: compute is NULL");
	if ((rc = first_for(&known, c, provider, AFFINE_SANDBOX, id)))
		return rc;
	if (provider) {
		struct member *m = &c->members[known];
		rc = m->provider ? csdk_provider_destroy(m->provider, id) : member_unavailable(m);
		if (rc == 0)
			forget(c, AFFINE_SANDBOX, id);
		return rc;
	}
	if (known >= 0 && c->members[known].provider) {
		rc = csdk_provider_destroy(c->members[known].provider, id);
		if (rc == 0 || !c->fallback) {
			if (rc == 0)
				forget(c, AFFINE_SANDBOX, id);
			return rc;
		}
	}
	/* Destroy succeeds for unknown ids at every provider, so find where the sandbox lives first. */
	rc = find(&sb, &member, c, NULL, id, "destroy");
	if (rc || !sb)
		return rc;
	rc = csdk_sandbox_destroy(sb);
	if (rc)
		return keep_error(rc, release_sandbox, sb);
	csdk_sandbox_free(sb);
	forget(c, AFFINE_SANDBOX, id);
	return 0;
}

/* -------------------------------------------------------------------- list */

int csdk_compute_list(csdk_sandbox_list **out, csdk_compute *c)
{
	struct csdkp_failures f = CSDKP_FAILURES_INIT;
	csdk_sandbox_list *all;
	char **warnings;
	size_t i, j;
	int rc = 0;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_compute_list: out is NULL");
	*out = NULL;
	if (!c)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_compute_list: compute is NULL");
	if (!(all = calloc(1, sizeof(*all))))
		return csdkp_error_oom();
	warnings = calloc(c->n ? c->n : 1, sizeof(*warnings));
	for (i = 0; i < c->n; i++) {
		struct member *m = &c->members[i];
		csdk_sandbox_list *one = NULL;
		csdk_sandbox **grown;

		rc = m->provider ? csdk_sandbox_list_all(&one, m->provider) : member_unavailable(m);
		if (rc) {
			if (!c->fallback)
				break;
			csdkp_failures_add_last(&f, m->name, rc);
			if (warnings)
				warnings[i] = csdkp_printf("listing sandboxes failed, leaving them out: %s", csdk_error_last()->message);
			rc = 0;
			continue;
		}
		grown = realloc(all->sandboxes, (all->count + one->count + 1) * sizeof(*grown));
		if (!grown) {
			csdk_sandbox_list_free(one);
			rc = csdkp_error_oom();
			break;
		}
		all->sandboxes = grown;
		for (j = 0; j < one->count; j++) {
			remember(c, AFFINE_SANDBOX, csdk_sandbox_id(one->sandboxes[j]), i);
			all->sandboxes[all->count++] = one->sandboxes[j];
		}
		one->count = 0;
		csdk_sandbox_list_free(one);
	}
	if (rc == 0 && c->n && f.n_tried == c->n)
		rc = csdkp_failures_report(&f, "list sandboxes", c->n);
	/* the failures are warnings only when the list stands without them:
	 * otherwise they are in the error already */
	for (i = 0; warnings && i < c->n; i++) {
		if (warnings[i] && rc == 0)
			csdkp_log_emit(CSDK_LOG_WARN, c->members[i].name, warnings[i]);
		free(warnings[i]);
	}
	free(warnings);
	csdkp_failures_free(&f);
	if (rc)
		return keep_error(rc, release_list, all);
	csdk_error_clear();
	*out = all;
	return 0;
}

/* --------------------------------------------------------------- snapshots */

int csdk_compute_snapshot_create(char **out, csdk_compute *c, csdk_sandbox *sb, const char *name)
{
	ssize_t i;
	int rc;

	if (!c)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_compute_snapshot_create: compute is NULL");
	rc = csdk_snapshot_create(out, sb, name);
	if (rc == 0 && (i = member_index(c, csdk_provider_name(csdk_sandbox_provider(sb)))) >= 0)
		remember(c, AFFINE_SNAPSHOT, *out, (size_t)i);
	return rc;
}

int csdk_compute_snapshot_delete(csdk_compute *c, const char *provider, const char *id)
{
	struct csdkp_failures f = CSDKP_FAILURES_INIT;
	size_t *order, n_order, i;
	ssize_t first;
	int rc = 0;

	if (!c)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_compute_snapshot_delete: compute is NULL");
	if ((rc = first_for(&first, c, provider, AFFINE_SNAPSHOT, id)))
		return rc;
	if (!(order = calloc(c->n ? c->n : 1, sizeof(*order))))
		return csdkp_error_oom();
	n_order = make_order(order, c, first, 0);
	for (i = 0; i < n_order; i++) {
		struct member *m = &c->members[order[i]];

		if ((ssize_t)order[i] != first && m->provider && !(csdk_provider_capabilities(m->provider) & CSDK_CAP_SNAPSHOTS))
			continue;
		rc = m->provider ? csdk_snapshot_delete(m->provider, id) : member_unavailable(m);
		if (rc == 0 || provider)
			break;
		csdkp_failures_add_last(&f, m->name, rc);
		if (!c->fallback)
			break;
	}
	free(order);
	if (rc == 0) {
		csdkp_failures_free(&f);
		forget(c, AFFINE_SNAPSHOT, id);
		return 0;
	}
	if (provider || !c->fallback || f.n_tried == 1) {
		csdkp_failures_free(&f);
		return rc;
	}
	{
		char *w = csdkp_printf("delete snapshot '%s'", id);
		rc = csdkp_failures_report(&f, w ? w : "delete snapshot", f.n_tried);
		free(w);
	}
	return rc;
}
