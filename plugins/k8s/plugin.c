#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"

#define K8S_ABI CSDK_ABI_MAKE(2, 0)

static const struct csdk_config_key k8s_config_keys[] = {
	{ .key = "kubeconfig", .env = "KUBECONFIG",
	  .help = "kubeconfig file (its current context is used; default ~/.kube/config, else the pod's service account)" },
	{ .key = "context", .env = "CSDK_K8S_CONTEXT", .help = "kubeconfig context to use instead of current-context" },
	{ .key = "token", .env = "CSDK_K8S_TOKEN", .flags = CSDK_CONFIG_SECRET,
	  .help = "bearer token, overriding the kubeconfig's user" },
	{ .key = "namespace", .env = "CSDK_K8S_NAMESPACE",
	  .help = "Kubernetes namespace of the sandbox pods (default: the context's, else default)" },
	{ .key = "image", .env = "CSDK_K8S_IMAGE",
	  .help = "container image of sandboxes; needs sh, date, sleep (and python3/node for run_code) (default python:3.12-slim)" },
	{ .key = "image_pull_policy", .env = "CSDK_K8S_IMAGE_PULL_POLICY",
	  .help = "Always, IfNotPresent or Never (default IfNotPresent)" },
	{ .key = "node_selector", .env = "CSDK_K8S_NODE_SELECTOR", .help = "node labels pods must match: k=v,k2=v2" },
	{ .key = "node_name", .env = "CSDK_K8S_NODE_NAME",
	  .help = "put pods on this node directly (clusters without a scheduler)" },
	{ .key = "labels", .env = "CSDK_K8S_LABELS", .help = "extra pod labels: k=v,k2=v2" },
	{ .key = "host_network", .env = "CSDK_K8S_HOST_NETWORK", .type = CSDK_CONFIG_BOOL,
	  .help = "run pods on the node's network: true or false (default false)" },
	{ .key = "url_template", .env = "CSDK_K8S_URL_TEMPLATE",
	  .help = "get_url pattern with {name}, {namespace}, {port}, {protocol}, e.g. https://{name}-{port}.example.com" },
	{ .key = "timeout", .env = "CSDK_K8S_TIMEOUT", .type = CSDK_CONFIG_DURATION, .min = 0, .max = INT64_MAX,
	  .help = "default sandbox lifetime (ms, or 30s, 5m, 2h; default 30m; 0 = until max_lifetime)" },
	{ .key = "max_lifetime", .env = "CSDK_K8S_MAX_LIFETIME", .type = CSDK_CONFIG_DURATION, .min = 0, .max = INT64_C(2147483647000),
	  .help = "hard lifetime cap set as the pod's activeDeadlineSeconds, which extend_timeout cannot pass (default 24h; 0 = none)" },
	{ .key = "mode", .env = "CSDK_K8S_MODE",
	  .help = "direct (commands through pods/exec) or gateway (through csdk-agent in each pod)" },
	{ .key = "gateway_transport", .env = "CSDK_K8S_GATEWAY_TRANSPORT",
	  .help = "gateway mode: how to reach the agent: portforward (pods/portforward through the API server, default) or pod-ip (the pod's IP, which must be reachable)" },
	{ .key = "agent", .env = "CSDK_K8S_AGENT",
	  .help = "gateway mode: csdk-agent's path on the nodes, mounted read-only into pods (default " K8SP_DEFAULT_AGENT ")" },
	{ .key = "agent_in_image", .env = "CSDK_K8S_AGENT_IN_IMAGE",
	  .help = "gateway mode: csdk-agent's path inside the image instead; no hostPath volume then" },
	{ .key = "start_timeout", .env = "CSDK_K8S_START_TIMEOUT", .type = CSDK_CONFIG_DURATION, .min = 1000, .max = 3600000,
	  .help = "how long create waits for a pod to run (default 120s)" },
};

static int valid_kv_list(const char *s)
{
	const char *p = s;

	while (*p) {
		size_t n = strcspn(p, ","), k = strcspn(p, "=");
		if (k == 0 || k >= n)
			return 0;
		for (size_t i = 0; i < n; i++)
			if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
			      p[i] == '-' || p[i] == '_' || p[i] == '.' || p[i] == '/' || p[i] == '='))
				return 0;
		p += n + (p[n] == ',');
	}
	return 1;
}

static int kv_object(const struct csdk_host *host, const char *key, const char *v, json_t **out)
{
	const char *p = v;

	if (!(*out = json_object()))
		return host->error(host, CSDK_ENOMEM, "out of memory opening the k8s provider");
	if (!v)
		return 0;
	if (!valid_kv_list(v))
		return host->error(host, CSDK_ECONFIG, "%s '%s' is not a list of key=value pairs; e.g. %s=team=ml,tier=batch", key, v, key);
	while (*p) {
		size_t n = strcspn(p, ","), k = strcspn(p, "=");
		char *kk = strndup(p, k), *vv = strndup(p + k + 1, n - k - 1);
		if (!kk || !vv || json_object_set_new(*out, kk, json_string(vv))) {
			free(kk);
			free(vv);
			return host->error(host, CSDK_ENOMEM, "out of memory opening the k8s provider");
		}
		free(kk);
		free(vv);
		p += n + (p[n] == ',');
	}
	return 0;
}

static void k8s_teardown(void *vctx)
{
	struct k8sp_k8s *ctx = vctx;

	if (!ctx)
		return;
	k8sp_fwd_free(ctx->fwd);
	k8sp_creds_free(&ctx->creds);
	json_decref(ctx->node_selector);
	json_decref(ctx->labels);
	free(ctx);
}

/* The kubeconfig's credentials, with the token config key over them. */
static int init_creds(struct k8sp_k8s *ctx, const struct csdk_host *host, const struct csdk_config *config)
{
	char err[768];
	const char *v;
	int rc;

	if ((rc = k8sp_creds_load(&ctx->creds, host->config_get(config, "kubeconfig"), host->config_get(config, "context"),
				       err, sizeof(err))))
		return host->error(host, rc, "%s", err);
	if ((v = host->config_get(config, "token"))) {
		free(ctx->creds.token);
		if (!(ctx->creds.token = strdup(v)))
			return host->error(host, CSDK_ENOMEM, "out of memory opening the k8s provider");
	}
	if (strncmp(ctx->creds.server, "https://", 8) && strncmp(ctx->creds.server, "http://", 7))
		return host->error(host, CSDK_ECONFIG, "server '%s' in %s is not an http(s) URL", ctx->creds.server, ctx->creds.source);
	return 0;
}

/* What the pods are made of: namespace, image, placement, labels, timeouts. */
static int init_pods(struct k8sp_k8s *ctx, const struct csdk_host *host, const struct csdk_config *config)
{
	int64_t b = 0;
	int rc;

	ctx->namespace_ = host->config_get(config, "namespace");
	if (!ctx->namespace_)
		ctx->namespace_ = ctx->creds.namespace_ ? ctx->creds.namespace_ : "default";
	for (const char *p = ctx->namespace_; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-') || p - ctx->namespace_ >= 63)
			return host->error(host, CSDK_ECONFIG, "namespace '%s' is not a Kubernetes namespace name (lower-case letters, digits, -)", ctx->namespace_);
	if (!(ctx->image = host->config_get(config, "image")))
		ctx->image = "python:3.12-slim";
	if (!(ctx->pull_policy = host->config_get(config, "image_pull_policy")))
		ctx->pull_policy = "IfNotPresent";
	if (strcmp(ctx->pull_policy, "Always") && strcmp(ctx->pull_policy, "IfNotPresent") && strcmp(ctx->pull_policy, "Never"))
		return host->error(host, CSDK_ECONFIG, "image_pull_policy '%s' is not Always, IfNotPresent or Never", ctx->pull_policy);
	ctx->node_name = host->config_get(config, "node_name");
	ctx->url_template = host->config_get(config, "url_template");
	if ((rc = kv_object(host, "node_selector", host->config_get(config, "node_selector"), &ctx->node_selector)) ||
	    (rc = kv_object(host, "labels", host->config_get(config, "labels"), &ctx->labels)))
		return rc;
	host->config_get_int(config, "host_network", &b);
	ctx->host_network = b != 0;
	ctx->timeout_ms = K8SP_DEFAULT_TIMEOUT_MS;
	host->config_get_int(config, "timeout", &ctx->timeout_ms);
	ctx->max_lifetime_ms = K8SP_DEFAULT_MAX_LIFETIME_MS;
	host->config_get_int(config, "max_lifetime", &ctx->max_lifetime_ms);
	return 0;
}

/* Direct or gateway mode, its transport and the agent. */
static int init_mode(struct k8sp_k8s *ctx, const struct csdk_host *host, const struct csdk_config *config)
{
	const char *v = host->config_get(config, "mode");
	int rc;

	if (v && strcmp(v, "direct") && strcmp(v, "gateway"))
		return host->error(host, CSDK_ECONFIG, "invalid value '%s' for mode; use direct or gateway", v);
	ctx->gateway = v && !strcmp(v, "gateway");
	v = host->config_get(config, "gateway_transport");
	if (v && strcmp(v, "portforward") && strcmp(v, "pod-ip"))
		return host->error(host, CSDK_ECONFIG, "invalid value '%s' for gateway_transport; use portforward or pod-ip", v);
	ctx->pod_ip = v && !strcmp(v, "pod-ip");
	if (ctx->gateway && !ctx->pod_ip && (rc = k8sp_fwd_new(ctx, &ctx->fwd)))
		return rc;
	if (!(ctx->agent = host->config_get(config, "agent")))
		ctx->agent = K8SP_DEFAULT_AGENT;
	ctx->agent_in_image = host->config_get(config, "agent_in_image");
	if (ctx->agent[0] != '/' || (ctx->agent_in_image && ctx->agent_in_image[0] != '/'))
		return host->error(host, CSDK_ECONFIG, "invalid value '%s' for %s; give the absolute path of the csdk-agent binary",
				   ctx->agent[0] != '/' ? ctx->agent : ctx->agent_in_image, ctx->agent[0] != '/' ? "agent" : "agent_in_image");
	ctx->start_timeout_ms = 120000;
	host->config_get_int(config, "start_timeout", &ctx->start_timeout_ms);
	return 0;
}

static int k8s_init(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out)
{
	struct k8sp_k8s *ctx = calloc(1, sizeof(*ctx));
	int rc;

	if (!ctx)
		return host->error(host, CSDK_ENOMEM, "out of memory opening the k8s provider");
	ctx->host = host;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((rc = init_creds(ctx, host, config)) || (rc = init_pods(ctx, host, config)) || (rc = init_mode(ctx, host, config))) {
		k8s_teardown(ctx);
		return rc;
	}
	*ctx_out = ctx;
	return 0;
}

static const struct csdk_methods k8s_methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = k8s_init,
	.teardown = k8s_teardown,
	.release = k8sp_m_release,
	.create = k8sp_m_create,
	.get = k8sp_m_get,
	.list = k8sp_m_list,
	.destroy = k8sp_m_destroy,
	.run_code = k8sp_m_run_code,
	.run_command = k8sp_m_run_command,
	.get_info = k8sp_m_get_info,
	.get_url = k8sp_m_get_url,
	.find_or_create = k8sp_m_find_or_create,
	.find = k8sp_m_find,
	.extend_timeout = k8sp_m_extend_timeout,
	.gateway_endpoint = k8sp_m_gateway_endpoint,
};

static const struct csdk_plugin k8s_plugin = {
	.magic = CSDK_PLUGIN_MAGIC,
	.struct_size = sizeof(struct csdk_plugin),
	.abi_version = K8S_ABI,
	.modes = CSDK_MODE_DIRECT | CSDK_MODE_GATEWAY,
	.default_mode = CSDK_MODE_DIRECT,
	.capabilities = CSDK_CAP_NAMED | CSDK_CAP_STREAMING | CSDK_CAP_THREAD_SAFE | CSDK_CAP_EXEC | CSDK_CAP_FS_OVER_COMMANDS,
	.name = "k8s",
	.version = PACKAGE_VERSION,
	.description = "sandboxes as pods of a Kubernetes cluster (REST API, exec over WebSocket)",
	.license = "MIT",
	.config_keys = k8s_config_keys,
	.n_config_keys = sizeof(k8s_config_keys) / sizeof(k8s_config_keys[0]),
	.config_key_size = sizeof(struct csdk_config_key),
	.methods = &k8s_methods,
};

CSDK_PLUGIN_EXPORT int csdk_plugin_entry(uint32_t host_abi, const struct csdk_plugin **out)
{
	if (CSDK_ABI_MAJOR_OF(host_abi) != CSDK_ABI_MAJOR_OF(K8S_ABI))
		return CSDK_EABI;
	*out = &k8s_plugin;
	return 0;
}
