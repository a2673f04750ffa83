/*
 * Gateway mode: csdk-agent runs in each pod, started by the shell that keeps
 * the sandbox's deadline (PID 1), and listens on the pod's IP. The host's
 * envd client reaches it there directly: commands and files then skip
 * pods/exec. The per-sandbox token is an env var of the pod spec.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csdkp.h"
#include "k8s.h"

#define AGENT_WAIT_MS 10000

/* Fill sb's agent URL and token from a pod made in gateway mode; other pods keep them empty. */
void csdkp_k8s_agent_from_pod(struct csdkp_k8s_sandbox *sb, json_t *pod)
{
	const char *port = csdkp_k8s_meta(pod, "annotations", CSDKP_K8S_PREFIX "agent-port");
	const char *ip = csdkp_k8s_jstr(pod, "status.podIP");
	json_t *c, *e;
	size_t i, j;

	sb->agent_url[0] = sb->token[0] = '\0';
	if (!port || !ip || strspn(port, "0123456789") != strlen(port))
		return;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c)
		json_array_foreach(json_object_get(c, "env"), j, e) {
			const char *n = json_string_value(json_object_get(e, "name"));
			const char *v = json_string_value(json_object_get(e, "value"));
			if (n && v && !strcmp(n, CSDKP_K8S_TOKEN_ENV))
				snprintf(sb->token, sizeof(sb->token), "%s", v);
		}
	snprintf(sb->agent_url, sizeof(sb->agent_url), strchr(ip, ':') ? "http://[%s]:%s" : "http://%s:%s", ip, port);
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

int csdkp_k8s_agent_wait(struct csdkp_k8s *ctx, struct csdkp_k8s_sandbox *sb)
{
	int64_t deadline = csdkp_now_ms() + AGENT_WAIT_MS;
	char url[160];
	CURL *curl;
	long code = 0;

	if (!ctx->gateway)
		return 0;
	if (!sb->agent_url[0] || !sb->token[0])
		return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED,
					"pod %s was created in direct mode and has no agent; destroy it, or use mode=direct", sb->name);
	if (!(curl = curl_easy_init()))
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory waiting for csdk-agent");
	snprintf(url, sizeof(url), "%s/health", sb->agent_url);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	for (;;) {
		if (curl_easy_perform(curl) == CURLE_OK && curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
		    code >= 200 && code < 300)
			break;
		if (csdkp_now_ms() > deadline) {
			curl_easy_cleanup(curl);
			return ctx->host->error(ctx->host, CSDK_EBACKEND,
				"csdk-agent in pod %s did not answer at %s within 10 s; the node needs csdk-agent at %s (key agent, or agent_in_image), "
				"and csdk must run where pod IPs are reachable (in the cluster), else use mode=direct",
				sb->name, sb->agent_url, ctx->agent_in_image ? ctx->agent_in_image : ctx->agent);
		}
		nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	}
	curl_easy_cleanup(curl);
	return 0;
}

int csdkp_m_gateway_endpoint(void *vctx, void *sandbox, struct csdk_endpoint *out)
{
	struct csdkp_k8s *ctx = vctx;
	struct csdkp_k8s_sandbox *sb = sandbox;

	if (!sb->agent_url[0] || !sb->token[0])
		return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED,
					"sandbox %s was created in direct mode and has no agent; create it with mode=gateway", sb->name);
	return ctx->host->endpoint_set(out, sb->agent_url, sb->token);
}
