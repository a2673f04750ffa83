#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local.h"

static int exists_locked(struct localp_local *ctx, const char *id)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/sandboxes/%s/meta.json", ctx->state_dir, id);
	return access(path, F_OK) == 0;
}

int localp_hand_out_new(struct localp_local *ctx, struct localp_sandbox *sb, struct csdk_text *id_out, void **sandbox_out)
{
	int rc;

	if ((ctx->gateway && !sb->agent_fresh && (rc = localp_agent_ensure(ctx, sb))) || (rc = ctx->host->text_set(id_out, sb->id))) {
		localp_m_destroy(ctx, sb->id);
		localp_sandbox_free(sb);
		return rc;
	}
	sb->agent_fresh = ctx->gateway;
	*sandbox_out = sb;
	return 0;
}

int localp_m_create(void *vctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	struct localp_local *ctx = vctx;
	struct localp_sandbox *sb = NULL;
	int rc, lock;

	*sandbox_out = NULL;
	/* A name makes create find_or_create: the name is recorded and validated the same way. */
	if (opts && opts->name)
		return localp_m_find_or_create(ctx, opts, id_out, sandbox_out);
	if ((rc = localp_lock(ctx, &lock)))
		return rc;
	/* A claim skips the sweep (reading every sandbox's meta.json): a burst
	 * of claims would read them all once each, one after the other. */
	if ((rc = localp_pool_claim_locked(ctx, opts, NULL, NULL, 1, &sb)) == 1) {
		localp_sweep_locked(ctx);
		rc = localp_create_locked(ctx, opts, NULL, NULL, &sb);
	}
	localp_unlock(lock);
	if (!rc && localp_pool_claim_finish(ctx, sb, opts)) {
		/* the member's agent failed: an ordinary sandbox instead */
		localp_sandbox_free(sb);
		sb = NULL;
		if (!(rc = localp_lock(ctx, &lock))) {
			rc = localp_create_locked(ctx, opts, NULL, NULL, &sb);
			localp_unlock(lock);
		}
	}
	localp_pool_kick(ctx, opts);
	return rc ? rc : localp_hand_out_new(ctx, sb, id_out, sandbox_out);
}

int localp_m_get(void *vctx, const char *id, void **sandbox_out)
{
	struct localp_local *ctx = vctx;
	struct localp_sandbox *sb;
	int rc, lock, found;

	*sandbox_out = NULL;
	if ((rc = localp_check_id(ctx, id)))
		return rc;
	if ((rc = localp_lock(ctx, &lock)))
		return rc;
	localp_sweep_locked(ctx);
	found = exists_locked(ctx, id);
	localp_unlock(lock);
	if (!found)
		return CSDK_ENOTFOUND;
	if ((rc = localp_sandbox_open(ctx, id, &sb)))
		return rc;
	*sandbox_out = sb;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int localp_m_list(void *vctx, struct csdk_handles *out)
{
	struct localp_local *ctx = vctx;
	char path[4200], **ids = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	int rc, lock;
	DIR *d;

	if ((rc = localp_lock(ctx, &lock)))
		return rc;
	localp_sweep_locked(ctx);
	snprintf(path, sizeof(path), "%s/sandboxes", ctx->state_dir);
	d = opendir(path);
	if (!d) {
		localp_unlock(lock);
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot read %s: %s", path, strerror(errno));
	}
	while ((de = readdir(d))) {
		if (!localp_id_valid(de->d_name) || !exists_locked(ctx, de->d_name))
			continue;
		if (n == cap) {
			char **g = realloc(ids, (cap = cap ? cap * 2 : 16) * sizeof(*ids));
			if (!g) {
				rc = CSDK_ENOMEM;
				break;
			}
			ids = g;
		}
		if (!(ids[n] = strdup(de->d_name))) {
			rc = CSDK_ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	localp_unlock(lock);
	if (!rc && n > 1)
		qsort(ids, n, sizeof(*ids), cmp_str);
	for (i = 0; i < n; i++) {
		struct localp_sandbox *sb = NULL;
		if (!rc && !(rc = localp_sandbox_open(ctx, ids[i], &sb)))
			rc = ctx->host->handles_add(out, ids[i], sb);
		free(ids[i]);
	}
	free(ids);
	return rc;
}

int localp_m_destroy(void *vctx, const char *id)
{
	struct localp_local *ctx = vctx;
	int rc, lock;

	if ((rc = localp_check_id(ctx, id)))
		return rc;
	if ((rc = localp_lock(ctx, &lock)))
		return rc;
	rc = localp_destroy_locked(ctx, id);
	localp_unlock(lock);
	return rc;
}

int localp_m_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *opts, struct csdk_sink *out, int *exit_code_out)
{
	return localp_run(ctx, sandbox, command, opts, out, exit_code_out, NULL);
}

int localp_m_run_code(void *vctx, void *sandbox, const char *code, const struct csdk_run_request *req, struct csdk_sink *out, int *exit_code_out)
{
	struct localp_local *ctx = vctx;
	struct localp_sandbox *sb = sandbox;
	struct csdkc_capture cap = { NULL, 0, 0, 256 * 1024 };
	struct csdk_run_request ro = *req;
	const char *runtime = req->runtime;
	char rel[64], hex[17], *inside = NULL, *cmd = NULL, msg[CSDKC_ERR_MAX];
	const char *interp;
	json_t *meta = NULL;
	int rc, root, python;

	*exit_code_out = -1;
	if (!runtime || (strcmp(runtime, "python") && strcmp(runtime, "node")))
		return ctx->host->error(ctx->host, CSDK_EINVAL, "runtime '%s' is not supported by the local provider; use python or node", runtime ? runtime : "(null)");
	if (!code)
		return ctx->host->error(ctx->host, CSDK_EINVAL, "no code given; pass the source text to run");
	python = !strcmp(runtime, "python");
	interp = python ? ctx->python : ctx->node;
	csdkc_random_hex(hex, 8);
	snprintf(rel, sizeof(rel), "csdk-code-%s.%s", hex, python ? "py" : "js");
	if ((rc = localp_meta_load(ctx, sb, &meta)))
		return rc;
	{
		const char *iso = localp_meta_str(meta, "isolation");
		int bwrap = iso && !strcmp(iso, "bubblewrap");
		if (asprintf(&inside, bwrap ? "%s/%s" : "%s/tmp/%s", bwrap ? LOCALP_INSIDE_TMP : sb->dir, rel) < 0)
			inside = NULL;
	}
	json_decref(meta);
	if (!inside)
		return CSDK_ENOMEM;
	{
		char where[80];
		snprintf(where, sizeof(where), "%s/%s", LOCALP_INSIDE_TMP, rel);
		if ((rc = localp_m_fs_write(ctx, sb, where, code, strlen(code)))) {
			free(inside);
			return rc;
		}
	}
	{
		char *q = NULL;
		/* The interpreter is not quoted: it may carry arguments (python = "python3 -X utf8"). */
		if ((rc = csdku_shell_quote(&q, inside)) || asprintf(&cmd, "%s %s", interp, q) < 0) {
			free(q);
			free(inside);
			return rc ? rc : CSDK_ENOMEM;
		}
		free(q);
	}
	ro.runtime = NULL;
	rc = localp_run(ctx, sb, cmd, &ro, out, exit_code_out, ro.background ? NULL : &cap);
	/* A background interpreter may not have opened the file yet: it stays in the sandbox's /tmp. */
	if (!ro.background && !localp_root_open(ctx, sb, &root)) {
		char tmprel[80];
		snprintf(tmprel, sizeof(tmprel), "tmp/%s", rel);
		unlinkat(root, tmprel, 0);
		close(root);
	}
	if (!rc && !ro.background && csdku_syntax_error_classify(msg, sizeof(msg), runtime, *exit_code_out, cap.data, cap.len, inside))
		rc = ctx->host->error(ctx->host, CSDK_ESYNTAX, "%s", msg);
	free(cap.data);
	free(cmd);
	free(inside);
	return rc;
}

int localp_m_get_info(void *vctx, void *sandbox, struct csdk_info *out)
{
	struct localp_local *ctx = vctx;
	struct localp_sandbox *sb = sandbox;
	const struct csdk_host *h = ctx->host;
	json_t *meta = NULL, *v;
	const char *k;
	int rc;

	if ((rc = localp_meta_load(ctx, sb, &meta)))
		return rc;
	if (!(rc = h->info_set_id(out, sb->id)) &&
	    !(rc = h->info_set_status(out, localp_meta_expired(meta, csdkc_now_ms()) ? CSDK_STATUS_STOPPED : CSDK_STATUS_RUNNING)) &&
	    !(rc = h->info_set_times(out, localp_meta_int(meta, "created_ms"), localp_meta_int(meta, "timeout_ms")))) {
		json_object_foreach(json_object_get(meta, "metadata"), k, v) {
			if (strcmp(k, "isolation") && json_is_string(v) && (rc = h->info_add_metadata(out, k, json_string_value(v))))
				break;
		}
		if (!rc) {
			const char *iso = localp_meta_str(meta, "isolation");
			rc = h->info_add_metadata(out, "isolation", iso ? iso : "none");
		}
	}
	json_decref(meta);
	return rc;
}

int localp_m_get_url(void *vctx, void *sandbox, int port, const char *protocol, struct csdk_text *out)
{
	struct localp_local *ctx = vctx;
	struct localp_sandbox *sb = sandbox;
	const char *iso, *net;
	char url[128];
	json_t *meta;
	int rc, none, isolated;

	if ((rc = localp_meta_load(ctx, sb, &meta)))
		return rc;
	iso = localp_meta_str(meta, "isolation");
	net = localp_meta_str(meta, "network");
	none = iso && !strcmp(iso, "bubblewrap") && net && !strcmp(net, "none");
	isolated = iso && !strcmp(iso, "bubblewrap") && net && !strcmp(net, "isolated");
	json_decref(meta);
	if (isolated && (rc = localp_net_url(ctx, sb, port, &port)))
		return rc;
	/* nothing inside a network namespace of its own is reachable from here */
	if (none)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND,
			"port %d of sandbox %s is not reachable from the host: the sandbox has network none; create it with network=isolated or host (CSDK_LOCAL_NETWORK) to serve ports",
			port, sb->id);
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d", protocol ? protocol : "http", port);
	return ctx->host->text_set(out, url);
}
