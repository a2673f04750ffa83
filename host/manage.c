#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "builders.h"
#include "error.h"
#include "provider.h"
#include "util.h"

void csdk_item_list_free(csdk_item_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++) {
		free(list->items[i].id);
		free(list->items[i].name);
	}
	free(list->items);
	free(list);
}

static int need(csdk_provider *p, uint64_t cap, const char *group, const char *fn)
{
	if (!p)
		return csdkp_error_set(CSDK_EINVAL, NULL, "%s: provider is NULL", fn);
	if (!(p->plugin->capabilities & cap))
		return csdkp_unsupported_group(p, group);
	return 0;
}

static int take_id(char **out, csdk_provider *p, const char *method, int rc, struct csdk_text *id)
{
	rc = csdkp_provider_result(p, method, rc);
	if (rc == 0 && !id->value)
		rc = csdkp_error_set(CSDK_EBACKEND, p->name, "provider '%s' returned no id from %s", p->name, method);
	if (rc) {
		csdkp_text_clear(id);
		return rc;
	}
	*out = id->value;
	return 0;
}

typedef int (*list_fn)(void *ctx, struct csdk_items *out);

static int list_items(csdk_item_list **out, csdk_provider *p, list_fn fn, const char *method)
{
	struct csdk_items *items;
	int rc;

	if (!(items = calloc(1, sizeof(*items))))
		return csdkp_error_oom();
	csdkp_provider_enter(p, method);
	rc = fn(p->ctx, items);
	csdkp_provider_leave(p);
	if ((rc = csdkp_provider_result(p, method, rc))) {
		csdk_item_list_free((csdk_item_list *)items);
		return rc;
	}
	*out = &items->list;
	return 0;
}

static int delete_item(csdk_provider *p, int (*fn)(void *, const char *), const char *id, const char *method)
{
	int rc;

	if (!id || !*id)
		return csdkp_error_set(CSDK_EINVAL, p->name, "no id given to %s", method);
	csdkp_provider_enter(p, method);
	rc = fn(p->ctx, id);
	csdkp_provider_leave(p);
	return csdkp_provider_result(p, method, rc);
}

int csdk_template_create(char **out, csdk_provider *p, const csdk_template_options *opts)
{
	csdk_template_options o;
	struct csdk_template_request req;
	struct csdk_text id = { NULL };
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_template_create: out is NULL");
	*out = NULL;
	if ((rc = need(p, CSDK_CAP_TEMPLATES, "templates", "csdk_template_create")))
		return rc;
	if ((rc = CSDKP_OPTIONS_COPY(&o, opts, "csdk_template_options", "CSDK_TEMPLATE_OPTIONS_INIT")))
		return rc;
	memset(&req, 0, sizeof(req));
	req.struct_size = sizeof(req);
	req.name = o.name;
	req.source = o.source;
	if (o.sandbox) {
		if (o.sandbox->provider != p)
			return csdkp_error_set(CSDK_EINVAL, p->name, "the template's sandbox belongs to provider '%s', not '%s'; capture a sandbox of the same provider", o.sandbox->provider->name, p->name);
		req.sandbox = o.sandbox->native;
	}
	csdkp_provider_enter(p, "template_create");
	rc = p->m->template_create(p->ctx, &req, &id);
	csdkp_provider_leave(p);
	return take_id(out, p, "template_create", rc, &id);
}

int csdk_template_list(csdk_item_list **out, csdk_provider *p)
{
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_template_list: out is NULL");
	*out = NULL;
	if ((rc = need(p, CSDK_CAP_TEMPLATES, "templates", "csdk_template_list")))
		return rc;
	return list_items(out, p, p->m->template_list, "template_list");
}

int csdk_template_delete(csdk_provider *p, const char *id)
{
	int rc;

	if ((rc = need(p, CSDK_CAP_TEMPLATES, "templates", "csdk_template_delete")))
		return rc;
	return delete_item(p, p->m->template_delete, id, "template_delete");
}

int csdk_snapshot_create(char **out, csdk_sandbox *sb, const char *name)
{
	struct csdk_text id = { NULL };
	csdk_provider *p;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_snapshot_create: out is NULL");
	*out = NULL;
	if (!sb)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_snapshot_create: sandbox is NULL");
	p = sb->provider;
	if ((rc = need(p, CSDK_CAP_SNAPSHOTS, "snapshots", "csdk_snapshot_create")))
		return rc;
	csdkp_provider_enter(p, "snapshot_create");
	rc = p->m->snapshot_create(p->ctx, sb->native, name, &id);
	csdkp_provider_leave(p);
	return take_id(out, p, "snapshot_create", rc, &id);
}

int csdk_snapshot_list(csdk_item_list **out, csdk_provider *p)
{
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_snapshot_list: out is NULL");
	*out = NULL;
	if ((rc = need(p, CSDK_CAP_SNAPSHOTS, "snapshots", "csdk_snapshot_list")))
		return rc;
	return list_items(out, p, p->m->snapshot_list, "snapshot_list");
}

int csdk_snapshot_delete(csdk_provider *p, const char *id)
{
	int rc;

	if ((rc = need(p, CSDK_CAP_SNAPSHOTS, "snapshots", "csdk_snapshot_delete")))
		return rc;
	return delete_item(p, p->m->snapshot_delete, id, "snapshot_delete");
}

int csdk_provider_extension(char **out, csdk_provider *p, const char *op, const char *arg)
{
	struct csdk_text text = { NULL };
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_provider_extension: out is NULL");
	*out = NULL;
	if (!p || !op)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_provider_extension: %s is NULL", p ? "op" : "provider");
	if (!p->m->extension)
		return csdkp_error_set(CSDK_EUNSUPPORTED, p->name, "Provider '%s' has no extension operations (%s).", p->name, op);
	csdkp_provider_enter(p, "extension");
	rc = p->m->extension(p->ctx, op, arg, &text);
	csdkp_provider_leave(p);
	rc = csdkp_provider_result(p, "extension", rc);
	if (rc) {
		csdkp_text_clear(&text);
		return rc;
	}
	*out = text.value ? text.value : strdup("");
	return *out ? 0 : csdkp_error_set(CSDK_ENOMEM, NULL, "out of memory");
}
