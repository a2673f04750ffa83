#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"

/* The most kept of an answer (a pod list) and of one watch event: far above
 * what a namespace of sandboxes sends, low enough to stop a runaway stream. */
#define BODY_MAX (16u << 20)
#define EVENT_MAX (4u << 20)

static size_t on_write(char *d, size_t sz, size_t n, void *arg)
{
	return csdku_buf_add(arg, d, sz * n) ? 0 : sz * n;
}

const char *k8sp_curl_hint(CURLcode cc)
{
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return "check certificate-authority in the kubeconfig (insecure-skip-tls-verify only for test clusters)";
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CONNECT_ERROR:
		return "check the client certificate and key in the kubeconfig";
	default:
		return "check the server and that the cluster is up";
	}
}

int k8sp_curl_setup(struct k8sp_k8s *ctx, CURL *curl, struct curl_slist **headers)
{
	const struct k8sp_creds *c = &ctx->creds;

	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	if (c->insecure) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (c->ca_pem) {
		struct curl_blob b = { .data = c->ca_pem, .len = strlen(c->ca_pem), .flags = CURL_BLOB_COPY };
		curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &b);
	}
	if (c->cert_pem && c->key_pem) {
		struct curl_blob cb = { .data = c->cert_pem, .len = strlen(c->cert_pem), .flags = CURL_BLOB_COPY };
		struct curl_blob kb = { .data = c->key_pem, .len = strlen(c->key_pem), .flags = CURL_BLOB_COPY };
		curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
		curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &kb);
	}
	if (c->token) {
		char *h;
		struct curl_slist *l;
		if (asprintf(&h, "Authorization: Bearer %s", c->token) < 0)
			return CSDK_ENOMEM;
		l = curl_slist_append(*headers, h);
		memset(h, 0, strlen(h));
		free(h);
		if (!l)
			return CSDK_ENOMEM;
		*headers = l;
	}
	return 0;
}

struct watch_state {
	struct csdku_buf line;
	k8sp_watch_fn fn;
	void *arg;
	int stop;
};

static size_t on_watch(char *d, size_t sz, size_t n, void *arg)
{
	struct watch_state *w = arg;
	size_t total = sz * n;

	for (size_t i = 0; i < total; i++) {
		if (d[i] != '\n') {
			if (csdku_buf_add(&w->line, d + i, 1))
				return 0;
			continue;
		}
		if (w->line.len) {
			json_t *ev = json_loadb(w->line.data, w->line.len, 0, NULL);
			const char *type = json_string_value(json_object_get(ev, "type"));
			json_t *obj = json_object_get(ev, "object");
			if (type && json_is_object(obj))
				w->stop = w->fn(w->arg, type, obj);
			else if (ev)
				w->stop = w->fn(w->arg, "ERROR", ev);
			json_decref(ev);
			w->line.len = 0;
			if (w->stop)
				return 0;
		}
	}
	return total;
}

static int perform(struct k8sp_k8s *ctx, const char *method, const char *path, const char *content_type,
		   const char *body, int64_t timeout_ms, curl_write_callback write, void *warg, long *status_out)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = NULL;
	char *url = NULL, errbuf[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	int rc;

	*status_out = 0;
	if (!curl || asprintf(&url, "%s%s", ctx->creds.server, path) < 0) {
		url = NULL;
		rc = ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory calling kube-apiserver");
		goto out;
	}
	if ((rc = k8sp_curl_setup(ctx, curl, &headers)))
		goto out;
	headers = curl_slist_append(headers, "Accept: application/json");
	if (content_type) {
		char h[128];
		snprintf(h, sizeof(h), "Content-Type: %s", content_type);
		headers = curl_slist_append(headers, h);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, warg);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (timeout_ms > 0)
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status_out);
	if (cc == CURLE_WRITE_ERROR && *status_out)
		rc = CSDK_ECANCELLED; /* the callback stopped it */
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		rc = CSDK_ETIMEOUT;
	else if (cc != CURLE_OK)
		rc = ctx->host->error(ctx->host, CSDK_EIO,
				      "kube-apiserver at %s (from %s) cannot be reached: %s; %s",
				      ctx->creds.server, ctx->creds.source, errbuf[0] ? errbuf : curl_easy_strerror(cc), k8sp_curl_hint(cc));
out:
	curl_slist_free_all(headers);
	if (curl)
		curl_easy_cleanup(curl);
	free(url);
	return rc;
}

int k8sp_call(struct k8sp_k8s *ctx, const char *method, const char *path, const char *content_type,
		   json_t *body, int64_t timeout_ms, long *status_out, json_t **json_out)
{
	struct csdku_buf b = { .max = BODY_MAX };
	char *text = NULL;
	int rc;

	if (json_out)
		*json_out = NULL;
	if (body && !(text = json_dumps(body, JSON_COMPACT)))
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory encoding a request to kube-apiserver");
	rc = perform(ctx, method, path, body ? (content_type ? content_type : "application/json") : NULL, text,
		     timeout_ms > 0 ? timeout_ms : 30000, on_write, &b, status_out);
	free(text);
	if (b.over)
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "kube-apiserver at %s answered %s %s with more than %u MiB; check the cluster",
				      ctx->creds.server, method, path, BODY_MAX >> 20);
	else if (rc == CSDK_ETIMEOUT)
		rc = ctx->host->error(ctx->host, rc, "kube-apiserver at %s did not answer %s %s in time; check the cluster",
				      ctx->creds.server, method, path);
	if (!rc && json_out && b.len)
		*json_out = json_loadb(b.data, b.len, 0, NULL);
	free(b.data);
	return rc;
}

int k8sp_watch(struct k8sp_k8s *ctx, const char *path, int64_t timeout_ms, k8sp_watch_fn fn, void *arg)
{
	struct watch_state w = { .line = { .max = EVENT_MAX }, .fn = fn, .arg = arg };
	long status;
	int rc = perform(ctx, "GET", path, NULL, NULL, timeout_ms, on_watch, &w, &status);

	if (w.line.over)
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "kube-apiserver at %s sent a watch event over %u MiB for %s; check the cluster",
				      ctx->creds.server, EVENT_MAX >> 20, path);
	else if (rc == CSDK_ECANCELLED)
		rc = w.stop;
	else if (!rc && status >= 400) {
		json_t *j = w.line.len ? json_loadb(w.line.data, w.line.len, 0, NULL) : NULL;
		rc = k8sp_api_error(ctx, CSDK_EBACKEND, "watching a pod", status, j);
		json_decref(j);
	}
	free(w.line.data);
	return rc;
}

const char *k8sp_jstr(json_t *j, const char *path)
{
	char key[128];

	while (j && *path) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		j = json_object_get(j, key);
		path += n + (path[n] == '.');
	}
	return json_string_value(j);
}

const char *k8sp_meta(json_t *obj, const char *which, const char *key)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"), which), key));
}

void k8sp_api_msg(struct k8sp_k8s *ctx, char *out, size_t len, const char *what, long status, json_t *answer)
{
	const char *msg = json_string_value(json_object_get(answer, "message"));
	const char *hint = "";

	if (status == 401)
		hint = "; the credentials were refused: check the token or client certificate in the kubeconfig";
	else if (status == 403)
		hint = "; the account lacks a permission: apply the Role in docs/k8s-provider.md";
	else if (status == 404 && !msg)
		hint = "; check the server URL and namespace";
	snprintf(out, len, "kube-apiserver at %s: %s failed (HTTP %ld): %s%s", ctx->creds.server, what, status,
		 msg ? msg : "no message", hint);
}

int k8sp_api_error(struct k8sp_k8s *ctx, int code, const char *what, long status, json_t *answer)
{
	char msg[768];

	k8sp_api_msg(ctx, msg, sizeof(msg), what, status, answer);
	return ctx->host->error(ctx->host, code, "%s", msg);
}

int k8sp_escape(char **out, const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);

	*out = e ? strdup(e) : NULL;
	curl_free(e);
	return *out ? 0 : CSDK_ENOMEM;
}
