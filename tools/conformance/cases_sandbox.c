#include "config.h"

#include "conformance.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int tool_conf_case_create(tool_conf_ctx *t)
{
	const char *id = csdk_sandbox_id(t->sandbox);
	csdk_provider *p = csdk_sandbox_provider(t->sandbox);
	const char *name = p ? csdk_provider_name(p) : NULL;

	if (!id || !id[0])
		return tool_conf_fail(t, "sandbox id: expected a non-empty string, got %s", id ? "\"\"" : "NULL");
	if (!name || strcmp(name, t->provider_name) != 0)
		return tool_conf_fail(t, "provider of the sandbox: expected \"%s\", got %s%s%s", t->provider_name,
				       name ? "\"" : "", name ? name : "NULL", name ? "\"" : "");
	return 0;
}

int tool_conf_case_info(tool_conf_ctx *t)
{
	csdk_sandbox_info *info = NULL;
	const char *id = csdk_sandbox_id(t->sandbox);
	int rc = 0;

	TOOL_CONF_TRY(t, "get_info", csdk_sandbox_get_info(&info, t->sandbox));
	if (!info)
		return tool_conf_fail(t, "get_info: returned 0 without information");
	if (!info->id || strcmp(info->id, id) != 0)
		rc = tool_conf_fail(t, "get_info id: expected \"%s\", got \"%s\"", id, info->id ? info->id : "(null)");
	else if (!info->provider || strcmp(info->provider, t->provider_name) != 0)
		rc = tool_conf_fail(t, "get_info provider: expected \"%s\", got \"%s\"", t->provider_name,
				     info->provider ? info->provider : "(null)");
	else if (info->status != CSDK_STATUS_RUNNING)
		rc = tool_conf_fail(t, "get_info status of a new sandbox: expected \"running\", got \"%s\"",
				     csdk_status_name(info->status));
	csdk_sandbox_info_free(info);
	return rc;
}

static int expect_url(tool_conf_ctx *t, int port, const char *protocol, const char *prefix)
{
	char what[64], *url = NULL;
	regex_t re;
	int rc = 0;

	snprintf(what, sizeof(what), "get_url port %d protocol %s", port, protocol ? protocol : "default");
	TOOL_CONF_TRY(t, what, csdk_sandbox_get_url(&url, t->sandbox, port, protocol));
	if (regcomp(&re, "^(https?|wss?)://.+", REG_EXTENDED | REG_NOSUB) != 0) {
		csdk_free(url);
		return tool_conf_fail(t, "regcomp failed");
	}
	if (!url || regexec(&re, url, 0, NULL, 0) != 0)
		rc = tool_conf_fail(t, "%s: expected a URL matching ^(https?|wss?)://.+, got \"%s\"", what,
				     url ? url : "(null)");
	else if (prefix && strncmp(url, prefix, strlen(prefix)) != 0)
		rc = tool_conf_fail(t, "%s: expected a URL starting with %s, got \"%s\"", what, prefix, url);
	regfree(&re);
	csdk_free(url);
	return rc;
}

int tool_conf_case_url(tool_conf_ctx *t)
{
	TOOL_CONF_CHECK(expect_url(t, 3000, NULL, NULL));
	return expect_url(t, 8080, "wss", "wss://");
}

static int list_has(const csdk_sandbox_list *list, const char *id)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		if (strcmp(csdk_sandbox_id(list->sandboxes[i]), id) == 0)
			return 1;
	return 0;
}

int tool_conf_case_crud(tool_conf_ctx *t)
{
	csdk_sandbox *got = NULL;
	csdk_sandbox_list *list = NULL;
	char id[512];
	int found;

	snprintf(id, sizeof(id), "%s", csdk_sandbox_id(t->sandbox));
	TOOL_CONF_TRY(t, "get by id", csdk_sandbox_get(&got, t->provider, id));
	if (!got)
		return tool_conf_fail(t, "get \"%s\": expected the sandbox, got not found", id);
	if (strcmp(csdk_sandbox_id(got), id) != 0) {
		tool_conf_fail(t, "get \"%s\": expected the same id, got \"%s\"", id, csdk_sandbox_id(got));
		csdk_sandbox_free(got);
		return -1;
	}
	csdk_sandbox_free(got);

	TOOL_CONF_TRY(t, "list", csdk_sandbox_list_all(&list, t->provider));
	found = list && list_has(list, id);
	csdk_sandbox_list_free(list);
	if (!found)
		return tool_conf_fail(t, "list: expected it to contain \"%s\", it does not", id);

	TOOL_CONF_TRY(t, "destroy", csdk_provider_destroy(t->provider, id));
	got = NULL;
	TOOL_CONF_TRY(t, "get after destroy", csdk_sandbox_get(&got, t->provider, id));
	if (got) {
		csdk_sandbox_free(got);
		return tool_conf_fail(t, "get \"%s\" after destroy: expected not found (0 and NULL), got a sandbox", id);
	}
	TOOL_CONF_TRY(t, "destroy again", csdk_provider_destroy(t->provider, id));
	return 0;
}

static void unique_name(char *buf, size_t size, const char *what)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, size, "csdk-conformance-%s-%ld-%lld%09ld", what, (long)getpid(),
		 (long long)ts.tv_sec, ts.tv_nsec);
}

static int same_sandbox(tool_conf_ctx *t, const char *what, csdk_sandbox *sb, const char *id)
{
	if (!sb)
		return tool_conf_fail(t, "%s: expected sandbox \"%s\", got not found", what, id);
	if (strcmp(csdk_sandbox_id(sb), id) != 0)
		return tool_conf_fail(t, "%s: expected id \"%s\", got \"%s\"", what, id, csdk_sandbox_id(sb));
	return 0;
}

int tool_conf_case_named(tool_conf_ctx *t)
{
	csdk_sandbox *a = NULL, *b = NULL, *c = NULL;
	char name[128], unknown[128];
	int rc = -1;

	unique_name(name, sizeof(name), "named");
	unique_name(unknown, sizeof(unknown), "unknown");
	TOOL_CONF_TRY(t, "find_or_create", csdk_sandbox_find_or_create(&a, t->provider, NULL, name, NULL));
	if (!a || !csdk_sandbox_id(a)[0]) {
		csdk_sandbox_free(a);
		return tool_conf_fail(t, "find_or_create: expected a sandbox with a non-empty id, got none");
	}
	if (tool_conf_track(t, 'S', csdk_sandbox_id(a)) < 0) {
		csdk_sandbox_free(a);
		return tool_conf_fail(t, "out of memory");
	}
	if (csdk_sandbox_find_or_create(&b, t->provider, NULL, name, NULL) < 0) {
		tool_conf_call_failed(t, "second find_or_create", csdk_error_last()->code);
		goto out;
	}
	if (same_sandbox(t, "second find_or_create of the same name", b, csdk_sandbox_id(a)) < 0)
		goto out;
	if (csdk_sandbox_find(&c, t->provider, NULL, name) < 0) {
		tool_conf_call_failed(t, "find", csdk_error_last()->code);
		goto out;
	}
	if (same_sandbox(t, "find", c, csdk_sandbox_id(a)) < 0)
		goto out;
	csdk_sandbox_free(c);
	c = NULL;
	if (csdk_sandbox_find(&c, t->provider, NULL, unknown) < 0) {
		tool_conf_call_failed(t, "find of an unknown name", csdk_error_last()->code);
		goto out;
	}
	if (c) {
		tool_conf_fail(t, "find \"%s\": expected not found (0 and NULL), got sandbox \"%s\"", unknown,
				csdk_sandbox_id(c));
		goto out;
	}
	rc = 0;
out:
	csdk_sandbox_free(a);
	csdk_sandbox_free(b);
	csdk_sandbox_free(c);
	return rc;
}

static int info_timeout(tool_conf_ctx *t, int64_t *out, csdk_sandbox *sb, const char *what)
{
	csdk_sandbox_info *info = NULL;

	TOOL_CONF_TRY(t, what, csdk_sandbox_get_info(&info, sb));
	if (!info)
		return tool_conf_fail(t, "%s: returned 0 without information", what);
	*out = info->timeout_ms;
	csdk_sandbox_info_free(info);
	return 0;
}

int tool_conf_case_extend_timeout(tool_conf_ctx *t)
{
	struct csdk_create_options opts = CSDK_CREATE_OPTIONS_INIT;
	csdk_sandbox *sb = NULL;
	int64_t before = 0, after = 0;
	int rc = -1;

	opts.timeout_ms = 600000;
	TOOL_CONF_CHECK(tool_conf_create(t, &sb, &opts));
	if (info_timeout(t, &before, sb, "get_info before extend_timeout") < 0)
		goto out;
	if (csdk_sandbox_extend_timeout(sb, 300000) < 0) {
		tool_conf_call_failed(t, "extend_timeout by 300000 ms", csdk_error_last()->code);
		goto out;
	}
	if (info_timeout(t, &after, sb, "get_info after extend_timeout") < 0)
		goto out;
	if (after <= before) {
		tool_conf_fail(t, "get_info timeout_ms after extend_timeout(300000): expected more than %lld, got %lld",
				(long long)before, (long long)after);
		goto out;
	}
	rc = 0;
out:
	csdk_sandbox_free(sb);
	return rc;
}

static int items_have(const csdk_item_list *list, const char *id)
{
	size_t i;

	for (i = 0; list && i < list->count; i++)
		if (list->items[i].id && strcmp(list->items[i].id, id) == 0)
			return 1;
	return 0;
}

/* Relative: in the sandbox's home, which an image captures; /tmp need not be. */
static const char image_file[] = "conformance-image.txt";
static const char image_content[] = "captured by the conformance kit\n";

/* What a template and a snapshot share: capture, list, restore, delete, list. */
struct image_ops {
	const char *kind;
	char track;
	int (*list)(csdk_item_list **out, csdk_provider *provider);
	int (*remove)(csdk_provider *provider, const char *id);
};

static int image_lifecycle(tool_conf_ctx *t, const struct image_ops *ops, const char *id)
{
	struct csdk_create_options opts = CSDK_CREATE_OPTIONS_INIT;
	csdk_item_list *list = NULL;
	csdk_sandbox *sb = NULL;
	char what[128], *data = NULL;
	size_t len = 0;
	int has, rc;

	TOOL_CONF_TRY(t, "list", ops->list(&list, t->provider));
	has = items_have(list, id);
	csdk_item_list_free(list);
	if (!has)
		return tool_conf_fail(t, "%s list: expected it to contain \"%s\", it does not", ops->kind, id);

	if (ops->track == 'T')
		opts.template_id = id;
	else
		opts.snapshot_id = id;
	snprintf(what, sizeof(what), "create from %s \"%s\"", ops->kind, id);
	if (tool_conf_create(t, &sb, &opts) < 0) {
		char why[sizeof(t->detail)];

		memcpy(why, t->detail, sizeof(why));
		return tool_conf_fail(t, "%s: %s", what, why);
	}
	rc = csdk_fs_read(&data, &len, sb, image_file);
	/* A provider may refuse to delete an image that a sandbox still uses. */
	if (csdk_sandbox_destroy(sb) < 0 && rc >= 0) {
		csdk_sandbox_free(sb);
		csdk_free(data);
		return tool_conf_call_failed(t, "destroy the sandbox made from the image", csdk_error_last()->code);
	}
	csdk_sandbox_free(sb);
	if (rc < 0) {
		snprintf(what, sizeof(what), "read %s in a sandbox made from the %s", image_file, ops->kind);
		return tool_conf_call_failed(t, what, rc);
	}
	snprintf(what, sizeof(what), "%s in a sandbox made from the %s", image_file, ops->kind);
	rc = tool_conf_expect_str(t, what, image_content, data, len);
	csdk_free(data);
	TOOL_CONF_CHECK(rc);

	snprintf(what, sizeof(what), "%s delete", ops->kind);
	TOOL_CONF_TRY(t, what, ops->remove(t->provider, id));
	list = NULL;
	TOOL_CONF_TRY(t, "list after delete", ops->list(&list, t->provider));
	has = items_have(list, id);
	csdk_item_list_free(list);
	if (has)
		return tool_conf_fail(t, "%s list after delete: expected no \"%s\", it is still listed", ops->kind, id);
	return 0;
}

int tool_conf_case_template(tool_conf_ctx *t)
{
	static const struct image_ops ops = { "template", 'T', csdk_template_list, csdk_template_delete };
	struct csdk_template_options opts = CSDK_TEMPLATE_OPTIONS_INIT;
	char name[128], *id = NULL;
	int rc;

	TOOL_CONF_TRY(t, "write the file to capture",
		       csdk_fs_write(t->sandbox, image_file, image_content, strlen(image_content)));
	unique_name(name, sizeof(name), "template");
	opts.name = name;
	opts.sandbox = t->sandbox;
	TOOL_CONF_TRY(t, "template_create from a sandbox", csdk_template_create(&id, t->provider, &opts));
	if (!id || !id[0]) {
		csdk_free(id);
		return tool_conf_fail(t, "template_create: expected a non-empty id, got none");
	}
	rc = tool_conf_track(t, 'T', id) < 0 ? tool_conf_fail(t, "out of memory") : image_lifecycle(t, &ops, id);
	csdk_free(id);
	return rc;
}

int tool_conf_case_snapshot(tool_conf_ctx *t)
{
	static const struct image_ops ops = { "snapshot", 'P', csdk_snapshot_list, csdk_snapshot_delete };
	char name[128], *id = NULL;
	int rc;

	TOOL_CONF_TRY(t, "write the file to capture",
		       csdk_fs_write(t->sandbox, image_file, image_content, strlen(image_content)));
	unique_name(name, sizeof(name), "snapshot");
	TOOL_CONF_TRY(t, "snapshot_create", csdk_snapshot_create(&id, t->sandbox, name));
	if (!id || !id[0]) {
		csdk_free(id);
		return tool_conf_fail(t, "snapshot_create: expected a non-empty id, got none");
	}
	rc = tool_conf_track(t, 'P', id) < 0 ? tool_conf_fail(t, "out of memory") : image_lifecycle(t, &ops, id);
	csdk_free(id);
	return rc;
}
