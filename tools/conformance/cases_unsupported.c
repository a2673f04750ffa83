#include "config.h"

#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The framework's sentences for a missing optional group, word for word. */

int tool_conf_case_unsupported_fs(tool_conf_ctx *t)
{
	const char *n = t->provider_name;
	char msg[512], *data = NULL;
	csdk_dir_list *list = NULL;
	size_t len = 0;
	int exists = 0, rc;

	snprintf(msg, sizeof(msg),
		 "Filesystem operations are not supported by %s's sandbox environment. "
		 "%s sandboxes are designed for code execution only.", n, n);
	rc = csdk_fs_read(&data, &len, t->sandbox, "/tmp/test.txt");
	csdk_free(data);
	TOOL_CONF_CHECK(tool_conf_expect_error(t, "fs_read", rc, CSDK_EUNSUPPORTED, msg));
	rc = csdk_fs_write(t->sandbox, "/tmp/test.txt", "x", 1);
	TOOL_CONF_CHECK(tool_conf_expect_error(t, "fs_write", rc, CSDK_EUNSUPPORTED, msg));
	rc = csdk_fs_mkdir(t->sandbox, "/tmp/dir");
	TOOL_CONF_CHECK(tool_conf_expect_error(t, "fs_mkdir", rc, CSDK_EUNSUPPORTED, msg));
	rc = csdk_fs_readdir(&list, t->sandbox, "/tmp");
	csdk_dir_list_free(list);
	TOOL_CONF_CHECK(tool_conf_expect_error(t, "fs_readdir", rc, CSDK_EUNSUPPORTED, msg));
	rc = csdk_fs_exists(&exists, t->sandbox, "/tmp");
	TOOL_CONF_CHECK(tool_conf_expect_error(t, "fs_exists", rc, CSDK_EUNSUPPORTED, msg));
	rc = csdk_fs_remove(t->sandbox, "/tmp/test.txt");
	return tool_conf_expect_error(t, "fs_remove", rc, CSDK_EUNSUPPORTED, msg);
}

int tool_conf_case_unsupported_named(tool_conf_ctx *t)
{
	const char *n = t->provider_name;
	csdk_sandbox *sb = NULL;
	char msg[512];
	int rc;

	snprintf(msg, sizeof(msg), "Provider '%s' does not support named sandboxes (find_or_create); "
		 "this needs a provider with named sandbox support.", n);
	rc = csdk_sandbox_find_or_create(&sb, t->provider, NULL, "csdk-conformance", NULL);
	if (sb && csdk_sandbox_id(sb))
		tool_conf_track(t, 'S', csdk_sandbox_id(sb));
	csdk_sandbox_free(sb);
	TOOL_CONF_CHECK(tool_conf_expect_error(t, "find_or_create", rc, CSDK_EUNSUPPORTED, msg));

	snprintf(msg, sizeof(msg), "Provider '%s' does not support named sandboxes (find); "
		 "this needs a provider with named sandbox support.", n);
	sb = NULL;
	rc = csdk_sandbox_find(&sb, t->provider, NULL, "csdk-conformance");
	csdk_sandbox_free(sb);
	TOOL_CONF_CHECK(tool_conf_expect_error(t, "find", rc, CSDK_EUNSUPPORTED, msg));

	snprintf(msg, sizeof(msg), "Provider '%s' does not support timeout extension (extend_timeout); "
		 "this needs a provider with timeout extension support.", n);
	rc = csdk_sandbox_extend_timeout(t->sandbox, 0);
	return tool_conf_expect_error(t, "extend_timeout", rc, CSDK_EUNSUPPORTED, msg);
}

/* create, list and delete of templates (or snapshots) fail with the group's sentence. */
static int unsupported_items(tool_conf_ctx *t, int snapshots)
{
	struct csdk_template_options opts = CSDK_TEMPLATE_OPTIONS_INIT;
	const char *group = snapshots ? "snapshot" : "template";
	csdk_item_list *list = NULL;
	char msg[256], what[32], *id = NULL;
	int rc;

	snprintf(msg, sizeof(msg), "Provider '%s' does not support %ss.", t->provider_name, group);
	opts.name = "csdk-conformance";
	opts.sandbox = t->sandbox;
	if (snapshots)
		rc = csdk_snapshot_create(&id, t->sandbox, "csdk-conformance");
	else
		rc = csdk_template_create(&id, t->provider, &opts);
	if (id)
		tool_conf_track(t, snapshots ? 'P' : 'T', id);
	csdk_free(id);
	snprintf(what, sizeof(what), "%s_create", group);
	TOOL_CONF_CHECK(tool_conf_expect_error(t, what, rc, CSDK_EUNSUPPORTED, msg));
	rc = (snapshots ? csdk_snapshot_list : csdk_template_list)(&list, t->provider);
	csdk_item_list_free(list);
	snprintf(what, sizeof(what), "%s_list", group);
	TOOL_CONF_CHECK(tool_conf_expect_error(t, what, rc, CSDK_EUNSUPPORTED, msg));
	rc = (snapshots ? csdk_snapshot_delete : csdk_template_delete)(t->provider, "csdk-conformance");
	snprintf(what, sizeof(what), "%s_delete", group);
	return tool_conf_expect_error(t, what, rc, CSDK_EUNSUPPORTED, msg);
}

int tool_conf_case_unsupported_templates(tool_conf_ctx *t)
{
	return unsupported_items(t, 0);
}

int tool_conf_case_unsupported_snapshots(tool_conf_ctx *t)
{
	return unsupported_items(t, 1);
}
