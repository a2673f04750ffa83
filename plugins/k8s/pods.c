#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csdkc.h"
#include "k8s.h"
#include "rfc3339.h"

/* PID 1 of a sandbox: ends the pod at the deadline in CSDK_DEADLINE_FILE
 * (epoch seconds), which extend_timeout moves; no deadline: sleep forever. */
static const char keepalive[] =
	"d=$CSDK_DEADLINE; trap 'exit 0' TERM; [ -n \"$d\" ] || { sleep 2147483647 & wait; exit 0; }; "
	"echo \"$d\" > " K8SP_DEADLINE_FILE "; "
	"while :; do n=$(cat " K8SP_DEADLINE_FILE " 2>/dev/null); [ \"$(date +%s)\" -lt \"${n:-$d}\" ] || exit 0; "
	"sleep 1 & wait $!; done";

/* Gateway mode: the agent, a child of PID 1 and a subreaper, listens on 127.0.0.1, where
 * pods/portforward connects (in the pod's network namespace), or on the pod's IP. */
static char *gateway_script(struct k8sp_k8s *ctx, int port)
{
	const char *agent = ctx->agent_in_image ? ctx->agent_in_image : K8SP_AGENT_MOUNT;
	char *s;

	if (ctx->pod_ip ? asprintf(&s, "case $CSDK_POD_IP in *:*) a=\"[$CSDK_POD_IP]\";; *) a=$CSDK_POD_IP;; esac; %s --listen \"$a:%d\" & %s",
				   agent, port, keepalive) < 0
			: asprintf(&s, "%s --listen 127.0.0.1:%d & %s", agent, port, keepalive) < 0)
		return NULL;
	return s;
}

/* The gateway's env, port annotation and volume; host-network pods share the node's ports, so theirs is random. */
static int add_gateway(struct k8sp_k8s *ctx, json_t *ann, json_t *env, json_t *spec, json_t *c)
{
	char token[33], hex[5], buf[16], *script;
	int port = K8SP_AGENT_PORT, bad = 0;

	if (csdkc_random_hex(token, 16) || csdkc_random_hex(hex, 2))
		return -1;
	if (ctx->host_network)
		port = 20000 + (int)(strtoul(hex, NULL, 16) % 10000); /* below NodePorts (30000-32767) and ephemeral ports */
	if (!(script = gateway_script(ctx, port)))
		return -1;
	bad |= json_array_set_new(json_object_get(c, "command"), 2, json_string(script));
	free(script);
	snprintf(buf, sizeof(buf), "%d", port);
	bad |= json_object_set_new(ann, K8SP_PREFIX "agent-port", json_string(buf));
	bad |= json_object_set_new(ann, K8SP_PREFIX "agent-transport", json_string(ctx->pod_ip ? "pod-ip" : "portforward"));
	bad |= json_array_append_new(env, json_pack("{s:s,s:s}", "name", K8SP_TOKEN_ENV, "value", token));
	if (ctx->pod_ip)
		bad |= json_array_append_new(env, json_pack("{s:s,s:{s:{s:s}}}", "name", "CSDK_POD_IP", "valueFrom", "fieldRef",
							    "fieldPath", "status.podIP"));
	if (!ctx->agent_in_image) {
		bad |= json_object_set_new(spec, "volumes", json_pack("[{s:s,s:{s:s,s:s}}]", "name", "csdk-agent", "hostPath",
								      "path", ctx->agent, "type", "File"));
		bad |= json_object_set_new(c, "volumeMounts", json_pack("[{s:s,s:s,s:b}]", "name", "csdk-agent", "mountPath",
									K8SP_AGENT_MOUNT, "readOnly", 1));
	}
	return bad ? -1 : 0;
}

static int valid_pod_name(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return 0;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-' || s[n] == '.'))
			return 0;
	return n <= 63;
}

int k8sp_pod_path(char *buf, size_t len, struct k8sp_k8s *ctx, const char *name)
{
	int n = snprintf(buf, len, "/api/v1/namespaces/%s/pods%s%s", ctx->namespace_, name ? "/" : "", name ? name : "");
	return n < 0 || (size_t)n >= len ? CSDK_EINVAL : 0;
}

static int64_t annotation_int(json_t *pod, const char *key)
{
	const char *v = json_string_value(json_object_get(json_object_get(json_object_get(pod, "metadata"), "annotations"), key));
	return v ? strtoll(v, NULL, 10) : 0;
}

int k8sp_handle_new(struct k8sp_k8s *ctx, json_t *pod, void **out)
{
	struct k8sp_sandbox *sb = calloc(1, sizeof(*sb));
	const char *meta;

	if (!sb)
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory for a sandbox handle");
	snprintf(sb->name, sizeof(sb->name), "%s", k8sp_jstr(pod, "metadata.name") ? k8sp_jstr(pod, "metadata.name") : "");
	snprintf(sb->uid, sizeof(sb->uid), "%s", k8sp_jstr(pod, "metadata.uid") ? k8sp_jstr(pod, "metadata.uid") : "");
	sb->created_ms = csdku_rfc3339_ms(k8sp_jstr(pod, "metadata.creationTimestamp"));
	sb->timeout_ms = annotation_int(pod, K8SP_PREFIX "timeout-ms");
	meta = k8sp_meta(pod, "annotations", K8SP_PREFIX "metadata");
	sb->metadata = meta ? json_loads(meta, 0, NULL) : NULL;
	if (!json_is_object(sb->metadata)) {
		json_decref(sb->metadata);
		sb->metadata = json_object();
	}
	k8sp_agent_from_pod(sb, pod);
	*out = sb;
	return 0;
}

void k8sp_m_release(void *vctx, void *sandbox)
{
	struct k8sp_sandbox *sb = sandbox;

	(void)vctx;
	json_decref(sb->metadata);
	free(sb);
}

/* 1 running, 0 not yet, -1 cannot start (why says so), -2 ended (why says so). */
static int pod_state(json_t *pod, char *why, size_t len)
{
	static const char *fatal[] = { "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName",
				       "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
				       "CrashLoopBackOff", NULL };
	json_t *st = json_object_get(pod, "status"), *e;
	const char *phase = json_string_value(json_object_get(st, "phase"));
	size_t i;

	if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp")) {
		snprintf(why, len, "it is being deleted");
		return -2;
	}
	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) {
		const char *r = json_string_value(json_object_get(st, "reason"));
		const char *m = json_string_value(json_object_get(st, "message"));
		snprintf(why, len, "it ended (phase %s%s%s%s%s)", phase, r ? ", " : "", r ? r : "", m ? ": " : "", m ? m : "");
		return -2;
	}
	json_array_foreach(json_object_get(st, "containerStatuses"), i, e) {
		json_t *w = json_object_get(json_object_get(e, "state"), "waiting");
		const char *r = json_string_value(json_object_get(w, "reason"));
		const char *m = json_string_value(json_object_get(w, "message"));
		for (int k = 0; r && fatal[k]; k++)
			if (!strcmp(r, fatal[k])) {
				snprintf(why, len, "%s: %s", r, m ? m : "no message");
				return -1;
			}
	}
	json_array_foreach(json_object_get(st, "conditions"), i, e) {
		const char *t = json_string_value(json_object_get(e, "type"));
		const char *s = json_string_value(json_object_get(e, "status"));
		const char *r = json_string_value(json_object_get(e, "reason"));
		if (t && s && r && !strcmp(t, "PodScheduled") && !strcmp(s, "False") && !strcmp(r, "Unschedulable")) {
			const char *m = json_string_value(json_object_get(e, "message"));
			snprintf(why, len, "Unschedulable: %s", m ? m : "no node fits");
			return -1;
		}
	}
	if (phase && !strcmp(phase, "Running"))
		return 1;
	snprintf(why, len, "phase %s", phase ? phase : "unknown");
	return 0;
}

static const char *reason_hint(const char *why)
{
	if (!strncmp(why, "ErrImageNeverPull", 17))
		return "import the image on the node, or set image_pull_policy to IfNotPresent";
	if (!strncmp(why, "ErrImagePull", 12) || !strncmp(why, "ImagePullBackOff", 16) || !strncmp(why, "InvalidImageName", 16))
		return "check the image name (config key image) and that the node can pull it";
	if (!strncmp(why, "Unschedulable", 13))
		return "check node_selector, node_name and the cpus/memory requested";
	if (!strncmp(why, "CrashLoopBackOff", 16) || !strncmp(why, "RunContainerError", 17) || !strncmp(why, "CreateContainer", 15))
		return "the image needs a POSIX sh, date and sleep";
	return "see kubectl describe pod";
}

/* The kubelet's admission refusals end a new pod at once (phase Failed). */
static const char *ended_hint(const char *why)
{
	if (strstr(why, "phase Failed, OutOf"))
		return "request fewer cpus or less memory_bytes than a node has";
	if (strstr(why, "phase Failed, NodeAffinity"))
		return "check node_selector and node_name";
	return "create a new sandbox";
}

struct wait_state {
	int state;
	char why[512];
	char rv[64];
	json_t *pod; /* the Running pod, when asked for */
};

static int on_event(void *arg, const char *type, json_t *obj)
{
	struct wait_state *w = arg;
	const char *rv = k8sp_jstr(obj, "metadata.resourceVersion");

	if (!strcmp(type, "ERROR")) {
		w->rv[0] = '\0'; /* e.g. 410 Gone: start again from a fresh GET */
		return 1;
	}
	if (rv)
		snprintf(w->rv, sizeof(w->rv), "%s", rv);
	if (!strcmp(type, "DELETED")) {
		snprintf(w->why, sizeof(w->why), "it was deleted");
		w->state = -2;
		return 1;
	}
	w->state = pod_state(obj, w->why, sizeof(w->why));
	if (w->state == 1) {
		json_decref(w->pod);
		w->pod = json_incref(obj);
	}
	return w->state != 0;
}

int k8sp_wait_running(struct k8sp_k8s *ctx, const char *name, const char *resource_version, json_t **pod_out)
{
	struct wait_state w = { .state = 0 };
	int64_t deadline = csdkc_now_ms() + ctx->start_timeout_ms;
	char path[512], base[256];
	int rc;

	snprintf(w.why, sizeof(w.why), "phase Pending");
	snprintf(w.rv, sizeof(w.rv), "%s", resource_version ? resource_version : "");
	k8sp_pod_path(base, sizeof(base), ctx, NULL);
	while (w.state == 0) {
		int64_t left = deadline - csdkc_now_ms();
		if (left <= 0)
			return ctx->host->error(ctx->host, CSDK_ETIMEOUT,
						"pod %s in namespace %s did not start within %lld s (%s); raise start_timeout or see kubectl describe pod %s%s%s%s",
						name, ctx->namespace_, (long long)ctx->start_timeout_ms / 1000, w.why, name,
						/* a missing hostPath file only shows as a FailedMount event */
						ctx->gateway && !ctx->agent_in_image ? "; in gateway mode the node needs csdk-agent at " : "",
						ctx->gateway && !ctx->agent_in_image ? ctx->agent : "",
						ctx->gateway && !ctx->agent_in_image ? " (key agent, or agent_in_image)" : "");
		if (!w.rv[0]) {
			json_t *pod = NULL;
			long status;
			k8sp_pod_path(path, sizeof(path), ctx, name);
			if ((rc = k8sp_call(ctx, "GET", path, NULL, NULL, 0, &status, &pod)))
				return rc;
			if (status == 404) {
				json_decref(pod);
				snprintf(w.why, sizeof(w.why), "it was deleted");
				w.state = -2;
				break;
			}
			if (status != 200) {
				rc = k8sp_api_error(ctx, CSDK_EBACKEND, "reading a starting pod", status, pod);
				json_decref(pod);
				return rc;
			}
			w.state = pod_state(pod, w.why, sizeof(w.why));
			snprintf(w.rv, sizeof(w.rv), "%s", k8sp_jstr(pod, "metadata.resourceVersion") ? k8sp_jstr(pod, "metadata.resourceVersion") : "");
			if (w.state == 1)
				w.pod = json_incref(pod);
			json_decref(pod);
			if (w.state)
				break;
		}
		snprintf(path, sizeof(path), "%s?watch=1&fieldSelector=metadata.name%%3D%s&resourceVersion=%s&timeoutSeconds=%lld",
			 base, name, w.rv, (long long)(left + 999) / 1000);
		rc = k8sp_watch(ctx, path, left + 5000, on_event, &w);
		if (rc < 0 && rc != CSDK_ETIMEOUT) {
			json_decref(w.pod);
			return rc;
		}
	}
	if (w.state == 1) {
		if (pod_out)
			*pod_out = w.pod;
		else
			json_decref(w.pod);
		return 0;
	}
	json_decref(w.pod);
	return ctx->host->error(ctx->host, CSDK_EBACKEND, "pod %s in namespace %s cannot start: %s; %s", name, ctx->namespace_,
				w.why, w.state == -1 ? reason_hint(w.why) : ended_hint(w.why));
}

static int label_value_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n && n <= 63 && ((s[n - 1] >= 'a' && s[n - 1] <= 'z') || (s[n - 1] >= 'A' && s[n - 1] <= 'Z') ||
				(s[n - 1] >= '0' && s[n - 1] <= '9'));
}

/* The pod's labels and annotations: its id, name, metadata and timeout. Non-zero on failure. */
static int pod_meta(const char *name, const struct csdk_create_request *req, int64_t timeout_ms, json_t *labels,
		    json_t *ann)
{
	json_t *md = json_object();
	char buf[64], *mdtext = NULL;
	int bad = !md;

	bad |= json_object_set_new(labels, K8SP_LABEL, json_string("true"));
	bad |= json_object_set_new(labels, K8SP_PREFIX "id", json_string(name));
	if (req->name) {
		if (label_value_ok(req->name))
			bad |= json_object_set_new(labels, K8SP_PREFIX "name", json_string(req->name));
		bad |= json_object_set_new(ann, K8SP_PREFIX "name", json_string(req->name));
		bad |= json_object_set_new(ann, K8SP_PREFIX "namespace", json_string(req->namespace_ ? req->namespace_ : "default"));
	}
	for (size_t i = 0; !bad && i < req->n_metadata; i++)
		if (req->metadata[i].key)
			bad |= json_object_set_new(md, req->metadata[i].key, json_string(req->metadata[i].value ? req->metadata[i].value : ""));
	if (!bad && (mdtext = json_dumps(md, JSON_COMPACT | JSON_SORT_KEYS)))
		bad |= json_object_set_new(ann, K8SP_PREFIX "metadata", json_string(mdtext));
	else
		bad = 1;
	free(mdtext);
	json_decref(md);
	snprintf(buf, sizeof(buf), "%lld", (long long)timeout_ms);
	bad |= json_object_set_new(ann, K8SP_PREFIX "timeout-ms", json_string(buf));
	return bad;
}

/* The container's environment: the request's variables, then CSDK_DEADLINE. Non-zero on failure. */
static int pod_env(const struct csdk_create_request *req, int64_t timeout_ms, json_t *env)
{
	char buf[64];
	int bad = 0;

	for (size_t i = 0; i < req->n_envs; i++)
		if (req->envs[i].key)
			bad |= json_array_append_new(env, json_pack("{s:s,s:s}", "name", req->envs[i].key, "value",
								    req->envs[i].value ? req->envs[i].value : ""));
	if (timeout_ms > 0)
		snprintf(buf, sizeof(buf), "%lld", (long long)((csdkc_now_ms() + timeout_ms + 999) / 1000));
	else
		buf[0] = '\0';
	bad |= json_array_append_new(env, json_pack("{s:s,s:s}", "name", "CSDK_DEADLINE", "value", buf));
	return bad;
}

/* The CPU and memory the request asks for, as the container's requests and limits. Non-zero on failure. */
static int pod_resources(json_t *c, const struct csdk_create_request *req)
{
	json_t *r;
	char buf[64];
	int bad = 0;

	if (req->cpus <= 0 && req->memory_bytes <= 0)
		return 0;
	r = json_object();
	if (req->cpus > 0) {
		snprintf(buf, sizeof(buf), "%lldm", (long long)(req->cpus * 1000 + 0.5));
		bad |= json_object_set_new(r, "cpu", json_string(buf));
	}
	if (req->memory_bytes > 0) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)req->memory_bytes);
		bad |= json_object_set_new(r, "memory", json_string(buf));
	}
	bad |= json_object_set_new(c, "resources", json_pack("{s:O,s:O}", "requests", r, "limits", r));
	json_decref(r);
	return bad;
}

/* What the configuration adds to spec: the gateway's agent, the lifetime, the node. Non-zero on failure. */
static int pod_placement(struct k8sp_k8s *ctx, json_t *meta, json_t *spec, json_t *c)
{
	int bad = 0;

	if (ctx->gateway)
		bad |= add_gateway(ctx, json_object_get(meta, "annotations"), json_object_get(c, "env"), spec, c);
	if (ctx->max_lifetime_ms > 0)
		bad |= json_object_set_new(spec, "activeDeadlineSeconds", json_integer((ctx->max_lifetime_ms + 999) / 1000));
	if (ctx->node_name && *ctx->node_name) /* empty: left to the scheduler */
		bad |= json_object_set_new(spec, "nodeName", json_string(ctx->node_name));
	if (json_object_size(ctx->node_selector))
		bad |= json_object_set(spec, "nodeSelector", ctx->node_selector);
	return bad;
}

static json_t *pod_body(struct k8sp_k8s *ctx, const char *name, const struct csdk_create_request *req,
			int64_t timeout_ms)
{
	json_t *pod = NULL, *meta, *labels, *ann, *spec, *c, *env;
	int bad = 0;

	labels = json_deep_copy(ctx->labels);
	ann = json_object();
	env = json_array();
	if (!labels || !ann || !env)
		goto fail;
	bad |= pod_meta(name, req, timeout_ms, labels, ann);
	bad |= pod_env(req, timeout_ms, env);
	meta = json_pack("{s:s,s:O,s:O}", "name", name, "labels", labels, "annotations", ann);
	c = json_pack("{s:s,s:s,s:s,s:[sss],s:O}", "name", K8SP_CONTAINER, "image", req->image ? req->image : ctx->image,
		      "imagePullPolicy", ctx->pull_policy, "command", "sh", "-c", keepalive, "env", env);
	if (c)
		bad |= pod_resources(c, req);
	spec = json_pack("{s:s,s:b,s:b,s:i,s:b,s:[o]}", "restartPolicy", "Never", "automountServiceAccountToken", 0,
			 "enableServiceLinks", 0, "terminationGracePeriodSeconds", 1, "hostNetwork", ctx->host_network,
			 "containers", c);
	if (spec)
		bad |= pod_placement(ctx, meta, spec, c);
	if (meta && spec && !bad)
		pod = json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", meta, "spec", spec);
	else {
		json_decref(meta);
		json_decref(spec);
	}
fail:
	json_decref(labels);
	json_decref(ann);
	json_decref(env);
	return pod;
}

int k8sp_create_pod(struct k8sp_k8s *ctx, const char *name, const struct csdk_create_request *req, void **sandbox_out)
{
	int64_t timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : ctx->timeout_ms;
	json_t *body, *pod = NULL;
	char path[256], rv[64];
	long status;
	int rc;

	if (ctx->max_lifetime_ms > 0 && (timeout_ms == 0 || timeout_ms > ctx->max_lifetime_ms))
		timeout_ms = ctx->max_lifetime_ms;
	if (!(body = pod_body(ctx, name, req, timeout_ms)))
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building a pod");
	k8sp_pod_path(path, sizeof(path), ctx, NULL);
	rc = k8sp_call(ctx, "POST", path, NULL, body, 0, &status, &pod);
	json_decref(body);
	if (rc)
		return rc;
	if (status == 409) {
		json_decref(pod);
		return CSDK_EEXISTS;
	}
	if (status != 201) {
		rc = k8sp_api_error(ctx, status == 403 ? CSDK_EPERM : CSDK_EBACKEND, "creating a pod", status, pod);
		json_decref(pod);
		return rc;
	}
	snprintf(rv, sizeof(rv), "%s", k8sp_jstr(pod, "metadata.resourceVersion") ? k8sp_jstr(pod, "metadata.resourceVersion") : "");
	json_decref(pod);
	pod = NULL;
	/* the watch's Running object is the pod: no second GET */
	if ((rc = k8sp_wait_running(ctx, name, rv, &pod))) {
		k8sp_delete_pod(ctx, name);
		return rc;
	}
	rc = k8sp_handle_new(ctx, pod, sandbox_out);
	json_decref(pod);
	if (!rc && (rc = k8sp_agent_wait(ctx, *sandbox_out))) {
		k8sp_delete_pod(ctx, name);
		k8sp_m_release(ctx, *sandbox_out);
		*sandbox_out = NULL;
	}
	return rc;
}

int k8sp_m_create(void *vctx, const struct csdk_create_request *req, struct csdk_text *id_out, void **sandbox_out)
{
	struct k8sp_k8s *ctx = vctx;
	char name[40], hex[17];
	int rc;

	if (req->name) /* a named create: the same deterministic pod as find_or_create */
		k8sp_named_pod(name, req->namespace_ ? req->namespace_ : "default", req->name);
	else {
		csdkc_random_hex(hex, 8);
		snprintf(name, sizeof(name), "csdk-%s", hex);
	}
	rc = k8sp_create_pod(ctx, name, req, sandbox_out);
	if (rc == CSDK_EEXISTS)
		return ctx->host->error(ctx->host, CSDK_EEXISTS, "a sandbox named %s already exists in namespace %s (pod %s); use find_or_create",
					req->name ? req->name : name, req->namespace_ ? req->namespace_ : "default", name);
	if (rc)
		return rc;
	return ctx->host->text_set(id_out, name);
}

int k8sp_get_pod(struct k8sp_k8s *ctx, const char *name, json_t **out)
{
	char path[256], why[256];
	json_t *pod = NULL;
	long status;
	int rc, st;
	int64_t created, timeout;

	*out = NULL;
	if (!valid_pod_name(name))
		return CSDK_ENOTFOUND;
	k8sp_pod_path(path, sizeof(path), ctx, name);
	if ((rc = k8sp_call(ctx, "GET", path, NULL, NULL, 0, &status, &pod)))
		return rc;
	if (status == 404 || (status == 200 && !k8sp_meta(pod, "labels", K8SP_PREFIX "sandbox"))) {
		json_decref(pod);
		return CSDK_ENOTFOUND;
	}
	if (status != 200) {
		rc = k8sp_api_error(ctx, status == 403 ? CSDK_EPERM : CSDK_EBACKEND, "reading a pod", status, pod);
		json_decref(pod);
		return rc;
	}
	st = pod_state(pod, why, sizeof(why));
	created = csdku_rfc3339_ms(k8sp_jstr(pod, "metadata.creationTimestamp"));
	timeout = annotation_int(pod, K8SP_PREFIX "timeout-ms");
	if (st == -2 || (timeout > 0 && created > 0 && csdkc_now_ms() > created + timeout + 2000)) {
		if (st != -2 || !json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
			k8sp_delete_pod(ctx, name);
		json_decref(pod);
		return CSDK_ENOTFOUND;
	}
	*out = pod;
	return 0;
}

int k8sp_m_get(void *vctx, const char *id, void **sandbox_out)
{
	struct k8sp_k8s *ctx = vctx;
	json_t *pod;
	int rc = k8sp_get_pod(ctx, id, &pod);

	if (rc)
		return rc;
	rc = k8sp_handle_new(ctx, pod, sandbox_out);
	json_decref(pod);
	return rc;
}

int k8sp_m_list(void *vctx, struct csdk_handles *out)
{
	struct k8sp_k8s *ctx = vctx;
	char path[1024], base[256], *cont = NULL;
	int rc = 0;

	k8sp_pod_path(base, sizeof(base), ctx, NULL);
	do {
		json_t *answer = NULL, *pod;
		const char *next;
		long status;
		size_t i;

		snprintf(path, sizeof(path), "%s?labelSelector=computesdk.com%%2Fsandbox%%3Dtrue&limit=100%s%s", base,
			 cont ? "&continue=" : "", cont ? cont : "");
		free(cont);
		cont = NULL;
		if ((rc = k8sp_call(ctx, "GET", path, NULL, NULL, 0, &status, &answer)))
			break;
		if (status != 200) {
			rc = k8sp_api_error(ctx, status == 403 ? CSDK_EPERM : CSDK_EBACKEND, "listing pods", status, answer);
			json_decref(answer);
			break;
		}
		json_array_foreach(json_object_get(answer, "items"), i, pod) {
			char why[256];
			int64_t created = csdku_rfc3339_ms(k8sp_jstr(pod, "metadata.creationTimestamp"));
			int64_t timeout = annotation_int(pod, K8SP_PREFIX "timeout-ms");
			const char *name = k8sp_jstr(pod, "metadata.name");
			void *h;
			if (!name || pod_state(pod, why, sizeof(why)) == -2 ||
			    (timeout > 0 && created > 0 && csdkc_now_ms() > created + timeout + 2000))
				continue;
			if ((rc = k8sp_handle_new(ctx, pod, &h)))
				break;
			if ((rc = ctx->host->handles_add(out, name, h)))
				break;
		}
		next = k8sp_jstr(answer, "metadata.continue");
		if (!rc && next && *next && k8sp_escape(&cont, next))
			rc = ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory listing pods");
		json_decref(answer);
	} while (!rc && cont);
	free(cont);
	return rc;
}

int k8sp_delete_pod(struct k8sp_k8s *ctx, const char *name)
{
	char path[256];
	json_t *answer = NULL, *body = json_pack("{s:s,s:s,s:i}", "kind", "DeleteOptions", "apiVersion", "v1", "gracePeriodSeconds", 0);
	long status;
	int rc;

	k8sp_fwd_forget(ctx->fwd, name);
	k8sp_pod_path(path, sizeof(path), ctx, name);
	rc = k8sp_call(ctx, "DELETE", path, NULL, body, 0, &status, &answer);
	json_decref(body);
	if (!rc && status != 200 && status != 202 && status != 404)
		rc = k8sp_api_error(ctx, status == 403 ? CSDK_EPERM : CSDK_EBACKEND, "deleting a pod", status, answer);
	json_decref(answer);
	return rc;
}

int k8sp_m_destroy(void *vctx, const char *id)
{
	struct k8sp_k8s *ctx = vctx;
	char path[256];
	json_t *pod = NULL;
	long status;
	int rc;

	if (!valid_pod_name(id))
		return 0;
	k8sp_pod_path(path, sizeof(path), ctx, id);
	if ((rc = k8sp_call(ctx, "GET", path, NULL, NULL, 0, &status, &pod)))
		return rc;
	if (status == 200 && k8sp_meta(pod, "labels", K8SP_PREFIX "sandbox"))
		rc = k8sp_delete_pod(ctx, id);
	else if (status != 200 && status != 404)
		rc = k8sp_api_error(ctx, status == 403 ? CSDK_EPERM : CSDK_EBACKEND, "reading a pod to delete", status, pod);
	json_decref(pod);
	return rc;
}

int k8sp_m_get_info(void *vctx, void *sandbox, struct csdk_info *out)
{
	struct k8sp_k8s *ctx = vctx;
	struct k8sp_sandbox *sb = sandbox;
	json_t *pod = NULL, *md;
	const char *k;
	json_t *v;
	int rc = k8sp_get_pod(ctx, sb->name, &pod);

	if (rc == CSDK_ENOTFOUND)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists (pod deleted or expired); create a new one", sb->name);
	if (rc)
		return rc;
	sb->timeout_ms = annotation_int(pod, K8SP_PREFIX "timeout-ms");
	json_decref(pod);
	if ((rc = ctx->host->info_set_id(out, sb->name)) || (rc = ctx->host->info_set_status(out, CSDK_STATUS_RUNNING)) ||
	    (rc = ctx->host->info_set_times(out, sb->created_ms, sb->timeout_ms)))
		return rc;
	md = sb->metadata;
	json_object_foreach(md, k, v) {
		if (json_is_string(v) && (rc = ctx->host->info_add_metadata(out, k, json_string_value(v))))
			return rc;
	}
	return 0;
}

int k8sp_m_get_url(void *vctx, void *sandbox, int port, const char *protocol, struct csdk_text *out)
{
	struct k8sp_k8s *ctx = vctx;
	struct k8sp_sandbox *sb = sandbox;
	const char *t = ctx->url_template, *p;
	char *url = NULL, portbuf[16];
	size_t len = 0, cap = 0;
	int rc = 0;

	if (!t)
		return ctx->host->error(ctx->host, CSDK_ECONFIG,
					"get_url needs the url_template key (CSDK_K8S_URL_TEMPLATE), e.g. https://{name}-{port}.sandboxes.example.com or http://127.0.0.1:{port} with host_network; set it to how your ingress reaches pods");
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	for (p = t; *p && !rc;) {
		static const char *const keys[] = { "{name}", "{namespace}", "{port}", "{protocol}" };
		const char *vals[] = { sb->name, ctx->namespace_, portbuf, protocol ? protocol : "http" };
		int hit = 0;
		for (int k = 0; k < 4 && !hit; k++)
			if (!strncmp(p, keys[k], strlen(keys[k]))) {
				rc = csdku_append(&url, &len, &cap, vals[k], strlen(vals[k]));
				p += strlen(keys[k]);
				hit = 1;
			}
		if (!hit)
			rc = csdku_append(&url, &len, &cap, p++, 1);
	}
	if (!rc)
		rc = ctx->host->text_set(out, url);
	else
		rc = ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building a URL");
	free(url);
	return rc;
}
