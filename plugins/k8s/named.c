#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csdkc.h"
#include "k8s.h"

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* One pod name per (namespace, name): creating it twice gives 409 Conflict,
 * which makes find_or_create atomic across processes without a lock. */
void k8sp_named_pod(char out[40], const char *ns, const char *name)
{
	uint64_t a = fnv1a(UINT64_C(0xcbf29ce484222325), ns, strlen(ns) + 1);
	uint64_t b;

	a = fnv1a(a, name, strlen(name));
	b = fnv1a(UINT64_C(0x84222325cbf29ce4), name, strlen(name) + 1);
	b = fnv1a(b, ns, strlen(ns));
	snprintf(out, 40, "csdk-n-%016llx%08llx", (unsigned long long)a, (unsigned long long)(b >> 32));
}

static int find_named(struct k8sp_k8s *ctx, const char *pod_name, const char *ns, const char *name, void **sandbox_out)
{
	json_t *pod = NULL;
	const char *n, *s;
	int rc = k8sp_get_pod(ctx, pod_name, &pod);

	if (rc)
		return rc;
	n = k8sp_meta(pod, "annotations", K8SP_PREFIX "name");
	s = k8sp_meta(pod, "annotations", K8SP_PREFIX "namespace");
	if (!n || !s || strcmp(n, name) || strcmp(s, ns)) {
		json_decref(pod);
		return ctx->host->error(ctx->host, CSDK_EEXISTS,
					"pod %s belongs to sandbox %s/%s, not %s/%s (a hash collision); choose another name",
					pod_name, s ? s : "?", n ? n : "?", ns, name);
	}
	rc = k8sp_handle_new(ctx, pod, sandbox_out);
	json_decref(pod);
	return rc;
}

int k8sp_m_find_or_create(void *vctx, const struct csdk_create_request *req, struct csdk_text *id_out, void **sandbox_out)
{
	struct k8sp_k8s *ctx = vctx;
	const char *ns = req->namespace_ ? req->namespace_ : "default";
	char pod_name[40];
	int rc = CSDK_EEXISTS;

	k8sp_named_pod(pod_name, ns, req->name);
	for (int attempt = 0; attempt < 3 && rc == CSDK_EEXISTS; attempt++) {
		rc = find_named(ctx, pod_name, ns, req->name, sandbox_out);
		if (rc == CSDK_ENOTFOUND)
			rc = k8sp_create_pod(ctx, pod_name, req, sandbox_out);
		else if (rc == 0) {
			/* another caller may still be starting it */
			k8sp_m_release(ctx, *sandbox_out);
			*sandbox_out = NULL;
			if (!(rc = k8sp_wait_running(ctx, pod_name, NULL, NULL)))
				rc = find_named(ctx, pod_name, ns, req->name, sandbox_out);
			if (!rc && (rc = k8sp_agent_wait(ctx, *sandbox_out))) {
				k8sp_m_release(ctx, *sandbox_out);
				*sandbox_out = NULL;
			}
			if (rc == CSDK_ENOTFOUND)
				rc = CSDK_EEXISTS; /* it ended meanwhile: try again */
		}
	}
	if (rc == CSDK_EEXISTS)
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "pod %s for sandbox %s/%s keeps appearing and vanishing; retry later",
					pod_name, ns, req->name);
	if (rc)
		return rc;
	return ctx->host->text_set(id_out, pod_name);
}

int k8sp_m_find(void *vctx, const char *ns, const char *name, struct csdk_text *id_out, void **sandbox_out)
{
	struct k8sp_k8s *ctx = vctx;
	char pod_name[40];
	int rc;

	k8sp_named_pod(pod_name, ns, name);
	if ((rc = find_named(ctx, pod_name, ns, name, sandbox_out)))
		return rc;
	return ctx->host->text_set(id_out, pod_name);
}

int k8sp_m_extend_timeout(void *vctx, void *sandbox, int64_t duration_ms)
{
	struct k8sp_k8s *ctx = vctx;
	struct k8sp_sandbox *sb = sandbox;
	json_t *pod = NULL, *patch = NULL, *answer = NULL;
	char path[256], value[32], cmd[160];
	int64_t timeout, deadline_s;
	long status;
	int rc, code = 0;

	if ((rc = k8sp_get_pod(ctx, sb->name, &pod)))
		return rc == CSDK_ENOTFOUND ? ctx->host->error(ctx->host, rc, "sandbox %s no longer exists; create a new one", sb->name) : rc;
	{
		const char *t = k8sp_meta(pod, "annotations", K8SP_PREFIX "timeout-ms");
		timeout = t ? strtoll(t, NULL, 10) : 0;
	}
	json_decref(pod);
	if (timeout <= 0)
		return 0; /* never expires */
	timeout += duration_ms;
	if (ctx->max_lifetime_ms > 0 && timeout > ctx->max_lifetime_ms)
		return ctx->host->error(ctx->host, CSDK_EINVAL,
					"sandbox %s cannot live past max_lifetime (%lld ms, the pod's activeDeadlineSeconds, which Kubernetes only lets shrink); create sandboxes with a larger max_lifetime",
					sb->name, (long long)ctx->max_lifetime_ms);
	deadline_s = (sb->created_ms + timeout + 999) / 1000;
	snprintf(cmd, sizeof(cmd), "echo %lld > " K8SP_DEADLINE_FILE, (long long)deadline_s);
	if ((rc = k8sp_exec(ctx, sb, cmd, NULL, NULL, NULL, &code)))
		return rc;
	if (code)
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "moving the deadline of sandbox %s failed (exit %d); check that /tmp is writable", sb->name, code);
	snprintf(value, sizeof(value), "%lld", (long long)timeout);
	patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", K8SP_PREFIX "timeout-ms", value);
	k8sp_pod_path(path, sizeof(path), ctx, sb->name);
	rc = k8sp_call(ctx, "PATCH", path, "application/merge-patch+json", patch, 0, &status, &answer);
	json_decref(patch);
	if (!rc && status != 200)
		rc = k8sp_api_error(ctx, status == 403 ? CSDK_EPERM : CSDK_EBACKEND, "updating a pod's timeout", status, answer);
	json_decref(answer);
	if (!rc)
		sb->timeout_ms = timeout;
	return rc;
}
