/*
 * k8s.h - internals of the k8s provider plugin (csdk-k8s.so): sandboxes are
 * pods of a Kubernetes cluster, reached through kube-apiserver's REST API
 * (libcurl + jansson) and pods/exec over WebSocket (wsconn.c, wsframe.c).
 */
#ifndef K8SP_H
#define K8SP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>
#include <csdk/plugin.h>

#include "csdkc.h"

#define K8SP_PREFIX "computesdk.com/"
#define K8SP_LABEL K8SP_PREFIX "sandbox"
#define K8SP_CONTAINER "sandbox"
#define K8SP_DEADLINE_FILE "/tmp/.csdk-deadline"
#define K8SP_TOKEN_ENV "CSDK_AGENT_TOKEN"
#define K8SP_AGENT_MOUNT "/.csdk-agent"
#define K8SP_AGENT_PORT 49983
#define K8SP_DEFAULT_TIMEOUT_MS 1800000
#define K8SP_DEFAULT_MAX_LIFETIME_MS 86400000

/* Where and how to reach kube-apiserver, from a kubeconfig or a pod's service account. */
struct k8sp_creds {
	char *server;      /* https://host:port, no trailing slash */
	char *token;       /* bearer token, or NULL */
	char *ca_pem;      /* CA bundle (PEM), or NULL for the system's */
	char *cert_pem;    /* client certificate (PEM), or NULL */
	char *key_pem;     /* client key (PEM), or NULL */
	char *namespace_;  /* the context's namespace, or NULL */
	int insecure;      /* insecure-skip-tls-verify */
	char source[512];  /* where these came from, for messages */
};

struct k8sp_fwd;

struct k8sp_k8s {
	const struct csdk_host *host;
	struct k8sp_creds creds;
	const char *namespace_;
	const char *image;
	const char *pull_policy;
	const char *node_name;
	const char *url_template;
	json_t *node_selector; /* object */
	json_t *labels;        /* object */
	int host_network;
	int gateway;                /* mode=gateway: csdk-agent in each pod */
	int pod_ip;                 /* gateway_transport=pod-ip: reach it at the pod's IP, not through port-forward */
	struct k8sp_fwd *fwd;  /* gateway mode over port-forward: the local sockets */
	const char *agent;          /* csdk-agent on the node (hostPath) */
	const char *agent_in_image; /* or its path in the image */
	int64_t timeout_ms;
	int64_t max_lifetime_ms;
	int64_t start_timeout_ms;
};

/* A native handle: a pod known to carry the sandbox label. */
struct k8sp_sandbox {
	char name[64];
	char uid[64];
	int64_t created_ms;
	int64_t timeout_ms;
	json_t *metadata; /* object */
	char agent_url[96]; /* gateway mode: http://POD_IP:PORT, else empty */
	int agent_port;
	int agent_pod_ip;   /* the agent listens on the pod's IP (gateway_transport=pod-ip), else on 127.0.0.1 */
	char token[40];
};

/* kubeconfig.c */
/** Credentials from the kubeconfig at path (NULL: ~/.kube/config, else the pod's service account). */
int k8sp_creds_load(struct k8sp_creds *out, const char *path, const char *context, char *err, size_t errlen);
void k8sp_creds_free(struct k8sp_creds *c);
/** Parse a YAML (or JSON) document into JSON: mappings, sequences, scalars as strings. */
int k8sp_yaml_to_json(const char *text, size_t len, json_t **out, char *err, size_t errlen);

/* api.c */
/** Apply the server, TLS and auth settings to a curl handle; headers gets the Authorization line. */
int k8sp_curl_setup(struct k8sp_k8s *ctx, CURL *curl, struct curl_slist **headers);
/** The fix to suggest for a failed connection. */
const char *k8sp_curl_hint(CURLcode cc);
/** One REST call; the JSON answer (if any) in *json_out; status in *status_out. */
int k8sp_call(struct k8sp_k8s *ctx, const char *method, const char *path, const char *content_type,
		   json_t *body, int64_t timeout_ms, long *status_out, json_t **json_out);
/** A watch: fn gets each event's type and object; a non-zero return ends it (returned as is). */
typedef int (*k8sp_watch_fn)(void *arg, const char *type, json_t *object);
int k8sp_watch(struct k8sp_k8s *ctx, const char *path, int64_t timeout_ms, k8sp_watch_fn fn, void *arg);
/** Report a failed answer: "kube-apiserver at S: WHAT failed (HTTP N): MESSAGE; HINT". */
/** The same message into out (len bytes), for threads that may not call host->error. */
void k8sp_api_msg(struct k8sp_k8s *ctx, char *out, size_t len, const char *what, long status, json_t *answer);
int k8sp_api_error(struct k8sp_k8s *ctx, int code, const char *what, long status, json_t *answer);
/** Percent-encode s for a URL query value; *out is malloc'd. */
int k8sp_escape(char **out, const char *s);
/** A string at a dotted path of j (keys without dots), or NULL. */
const char *k8sp_jstr(json_t *j, const char *path);
/** metadata.labels[key] or metadata.annotations[key] (which = "labels" or "annotations"), or NULL. */
const char *k8sp_meta(json_t *obj, const char *which, const char *key);

/* pods.c */
int k8sp_pod_path(char *buf, size_t len, struct k8sp_k8s *ctx, const char *name);
/** Create pod name from req and wait until it runs; 409 gives CSDK_EEXISTS without an error set. */
int k8sp_create_pod(struct k8sp_k8s *ctx, const char *name, const struct csdk_create_request *req, void **sandbox_out);
/** Wait until pod name runs (its object in *pod_out, if not NULL), or fail naming the reason. */
int k8sp_wait_running(struct k8sp_k8s *ctx, const char *name, const char *resource_version, json_t **pod_out);
/** GET a pod of ours: CSDK_ENOTFOUND (no error set) if absent, not ours, terminating or ended. */
int k8sp_get_pod(struct k8sp_k8s *ctx, const char *name, json_t **out);
int k8sp_handle_new(struct k8sp_k8s *ctx, json_t *pod, void **out);
int k8sp_delete_pod(struct k8sp_k8s *ctx, const char *name);
int k8sp_m_create(void *ctx, const struct csdk_create_request *req, struct csdk_text *id_out, void **sandbox_out);
int k8sp_m_get(void *ctx, const char *id, void **sandbox_out);
int k8sp_m_list(void *ctx, struct csdk_handles *out);
int k8sp_m_destroy(void *ctx, const char *id);
int k8sp_m_get_info(void *ctx, void *sandbox, struct csdk_info *out);
int k8sp_m_get_url(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out);
void k8sp_m_release(void *ctx, void *sandbox);

/* named.c */
void k8sp_named_pod(char out[40], const char *ns, const char *name);
int k8sp_m_find_or_create(void *ctx, const struct csdk_create_request *req, struct csdk_text *id_out, void **sandbox_out);
int k8sp_m_find(void *ctx, const char *ns, const char *name, struct csdk_text *id_out, void **sandbox_out);
int k8sp_m_extend_timeout(void *ctx, void *sandbox, int64_t duration_ms);

/* agent.c */
void k8sp_agent_from_pod(struct k8sp_sandbox *sb, json_t *pod);
/** In gateway mode, wait until sb's agent answers /health; else 0. */
int k8sp_agent_wait(struct k8sp_k8s *ctx, struct k8sp_sandbox *sb);
int k8sp_m_gateway_endpoint(void *ctx, void *sandbox, struct csdk_endpoint *out);

/* portfwd.c */
int k8sp_fwd_new(struct k8sp_k8s *ctx, struct k8sp_fwd **out);
/** "unix:PATH" of the local socket forwarded to port of pod, made on first use (out: len bytes). */
int k8sp_fwd_path(struct k8sp_fwd *fwd, const char *pod, int port, char *out, size_t len);
/** Why the last connection to port of pod failed, into out; 0 when none did. */
int k8sp_fwd_last_error(struct k8sp_fwd *fwd, const char *pod, int port, char *out, size_t len);
/** Close pod's sockets and its connections (the pod is gone). */
void k8sp_fwd_forget(struct k8sp_fwd *fwd, const char *pod);
/** Close everything and join every thread; NULL is a no-op. */
void k8sp_fwd_free(struct k8sp_fwd *fwd);

/* exec.c */
/** Run a shell command in the pod; *exit_code_out is its status (124 on timeout). */
int k8sp_exec(struct k8sp_k8s *ctx, struct k8sp_sandbox *sb, const char *command,
		   const struct csdk_run_request *req, struct csdk_sink *out, struct csdkc_capture *err_capture,
		   int *exit_code_out);
/** An argv (at most 6 words) with stdin data, closed after it on v5 (v4 cannot: the command must not wait for EOF). */
int k8sp_exec_argv(struct k8sp_k8s *ctx, const char *pod, const char *const *argv, int argc, const void *in,
			size_t in_len, int64_t timeout_ms, struct csdk_sink *out, int *exit_code_out);
int k8sp_m_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *req,
			struct csdk_sink *out, int *exit_code_out);
int k8sp_m_run_code(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req,
		     struct csdk_sink *out, int *exit_code_out);

#endif
