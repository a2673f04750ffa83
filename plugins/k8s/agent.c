/*
 * Gateway mode: csdk-agent runs in each pod, started by the shell that keeps
 * the sandbox's deadline (PID 1). It listens on 127.0.0.1 and the host's
 * envd client reaches it through a local unix socket forwarded over
 * pods/portforward (portfwd.c); with gateway_transport=pod-ip it listens on
 * the pod's IP and is reached there. Commands and files then skip
 * pods/exec. The per-sandbox token is an env var of the pod spec.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csdkc.h"
#include "k8s.h"

#define AGENT_WAIT_MS 10000

/* Fill sb's agent port, URL and token from a pod made in gateway mode; other pods keep them empty. */
void k8sp_agent_from_pod(struct k8sp_sandbox *sb, json_t *pod)
{
	const char *port = k8sp_meta(pod, "annotations", K8SP_PREFIX "agent-port");
	const char *transport = k8sp_meta(pod, "annotations", K8SP_PREFIX "agent-transport");
	const char *ip = k8sp_jstr(pod, "status.podIP");
	json_t *c, *e;
	size_t i, j;

	sb->agent_url[0] = sb->token[0] = '\0';
	sb->agent_port = 0;
	if (!port || !*port || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
		return;
	sb->agent_port = atoi(port);
	sb->agent_pod_ip = !transport || strcmp(transport, "portforward");
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c)
		json_array_foreach(json_object_get(c, "env"), j, e) {
			const char *n = json_string_value(json_object_get(e, "name"));
			const char *v = json_string_value(json_object_get(e, "value"));
			if (n && v && !strcmp(n, K8SP_TOKEN_ENV))
				snprintf(sb->token, sizeof(sb->token), "%s", v);
		}
	if (ip)
		snprintf(sb->agent_url, sizeof(sb->agent_url), strchr(ip, ':') ? "http://[%s]:%s" : "http://%s:%s", ip, port);
}

/* Where the host reaches sb's agent: the local port-forward socket, or the pod's IP. */
static int agent_address(struct k8sp_k8s *ctx, struct k8sp_sandbox *sb, char *out, size_t len)
{
	if (!sb->agent_port || !sb->token[0])
		return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED,
					"sandbox %s was created in direct mode and has no agent; destroy it, or use mode=direct", sb->name);
	if (sb->agent_pod_ip != ctx->pod_ip)
		return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED,
					"sandbox %s was created with gateway_transport=%s, whose agent cannot be reached through %s; use gateway_transport=%s",
					sb->name, sb->agent_pod_ip ? "pod-ip" : "portforward", ctx->pod_ip ? "the pod's IP" : "port-forward",
					sb->agent_pod_ip ? "pod-ip" : "portforward");
	if (!ctx->pod_ip)
		return k8sp_fwd_path(ctx->fwd, sb->name, sb->agent_port, out, len);
	if (!sb->agent_url[0])
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "pod %s has no IP yet; try again", sb->name);
	snprintf(out, len, "%s", sb->agent_url);
	return 0;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

int k8sp_agent_wait(struct k8sp_k8s *ctx, struct k8sp_sandbox *sb)
{
	int64_t deadline = csdkc_now_ms() + AGENT_WAIT_MS;
	char addr[160], url[192], why[600];
	CURL *curl;
	long code = 0;
	int rc;

	if (!ctx->gateway)
		return 0;
	if ((rc = agent_address(ctx, sb, addr, sizeof(addr))))
		return rc;
	if (!(curl = curl_easy_init()))
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory waiting for csdk-agent");
	if (!strncmp(addr, "unix:", 5)) {
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, addr + 5);
		snprintf(url, sizeof(url), "http://localhost/health");
	} else {
		snprintf(url, sizeof(url), "%s/health", addr);
	}
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
		if (csdkc_now_ms() > deadline) {
			curl_easy_cleanup(curl);
			if (ctx->pod_ip)
				return ctx->host->error(ctx->host, CSDK_EBACKEND,
					"csdk-agent in pod %s did not answer at %s within 10 s; the node needs csdk-agent at %s (key agent, or agent_in_image), "
					"and with gateway_transport=pod-ip csdk must run where pod IPs are reachable, else use gateway_transport=portforward",
					sb->name, sb->agent_url, ctx->agent_in_image ? ctx->agent_in_image : ctx->agent);
			if (!k8sp_fwd_last_error(ctx->fwd, sb->name, sb->agent_port, why, sizeof(why)))
				snprintf(why, sizeof(why), "no answer");
			return ctx->host->error(ctx->host, CSDK_EBACKEND,
				"csdk-agent in pod %s did not answer on port %d through port-forward within 10 s (%s); the node needs csdk-agent at %s "
				"(key agent, or agent_in_image), and the account needs pods/portforward (the Role in docs/k8s-provider.md)",
				sb->name, sb->agent_port, why, ctx->agent_in_image ? ctx->agent_in_image : ctx->agent);
		}
		nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	}
	curl_easy_cleanup(curl);
	return 0;
}

int k8sp_m_gateway_endpoint(void *vctx, void *sandbox, struct csdk_endpoint *out)
{
	struct k8sp_k8s *ctx = vctx;
	struct k8sp_sandbox *sb = sandbox;
	char addr[160];
	int rc;

	if (!sb->agent_port || !sb->token[0])
		return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED,
					"sandbox %s was created in direct mode and has no agent; create it with mode=gateway", sb->name);
	if ((rc = agent_address(ctx, sb, addr, sizeof(addr))))
		return rc;
	return ctx->host->endpoint_set(out, addr, sb->token);
}
