#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void envdc_fail(char err[ENVDC_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, ENVDC_ERR_MAX, fmt, ap);
	va_end(ap);
}

static int add_header(struct curl_slist **list, const char *name, const char *value)
{
	char *line = NULL;
	struct curl_slist *n;

	if (asprintf(&line, "%s: %s", name, value) < 0)
		return CSDK_ENOMEM;
	n = curl_slist_append(*list, line);
	free(line);
	if (!n)
		return CSDK_ENOMEM;
	*list = n;
	return 0;
}

int envdc_new(envdc **out, const char *url, const char *token, const struct csdk_kv *headers, size_t n_headers,
	      char err[ENVDC_ERR_MAX])
{
	envdc *c;
	int rc = 0;

	*out = NULL;
	if (!url || (strncmp(url, "unix:", 5) && strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
		envdc_fail(err, "agent address '%s' is not unix:PATH or an http(s):// URL", url ? url : "(null)");
		return CSDK_EINVAL;
	}
	if (!(c = calloc(1, sizeof(*c))))
		goto oom;
	if (!strncmp(url, "unix:", 5)) {
		c->unix_path = strdup(url + 5);
		c->base = strdup("http://localhost");
		if (!c->unix_path)
			goto oom;
	} else {
		c->base = strndup(url, strlen(url) - (url[strlen(url) - 1] == '/'));
	}
	if (!c->base)
		goto oom;
	if (token && *token)
		rc = add_header(&c->headers, "X-Access-Token", token);
	for (size_t i = 0; rc == 0 && i < n_headers; i++)
		rc = add_header(&c->headers, headers[i].key, headers[i].value);
	if (rc)
		goto oom;
	*out = c;
	return 0;
oom:
	envdc_free(c);
	envdc_fail(err, "out of memory");
	return CSDK_ENOMEM;
}

void envdc_free(envdc *c)
{
	if (!c)
		return;
	curl_slist_free_all(c->headers);
	free(c->unix_path);
	free(c->base);
	free(c);
}

CURL *envdc_curl(envdc *c, const char *path_and_query, struct curl_slist *extra)
{
	CURL *h = curl_easy_init();
	char *url = NULL;

	if (!h)
		return NULL;
	if (asprintf(&url, "%s%s", c->base, path_and_query) < 0) {
		curl_easy_cleanup(h);
		return NULL;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	free(url);
	if (c->unix_path)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, extra);
	return h;
}

/* The client's headers followed by the given ones; NULL when out of memory. */
struct curl_slist *envdc_headers(envdc *c, const char *const *lines)
{
	struct curl_slist *list = NULL, *n;

	for (struct curl_slist *h = c->headers; h; h = h->next) {
		if (!(n = curl_slist_append(list, h->data)))
			goto fail;
		list = n;
	}
	for (size_t i = 0; lines && lines[i]; i++) {
		if (!(n = curl_slist_append(list, lines[i])))
			goto fail;
		list = n;
	}
	return list;
fail:
	curl_slist_free_all(list);
	return NULL;
}

int envdc_code_of(const char *connect_code)
{
	static const struct {
		const char *name;
		int code;
	} map[] = {
		{ "not_found", CSDK_ENOTFOUND },     { "invalid_argument", CSDK_EINVAL },
		{ "already_exists", CSDK_EEXISTS },  { "permission_denied", CSDK_EPERM },
		{ "unauthenticated", CSDK_EPERM },   { "deadline_exceeded", CSDK_ETIMEOUT },
		{ "unimplemented", CSDK_EUNSUPPORTED }, { "canceled", CSDK_ECANCELLED },
		{ "resource_exhausted", CSDK_EBACKEND },
	};

	for (size_t i = 0; connect_code && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].name, connect_code))
			return map[i].code;
	return CSDK_EBACKEND;
}

size_t envdc_collect(char *data, size_t size, size_t n, void *userdata)
{
	return csdku_buf_add(userdata, data, size * n) ? 0 : size * n;
}

int envdc_too_big(const char *what, const struct csdku_buf *b, char err[ENVDC_ERR_MAX])
{
	int mib = b->max >= (1u << 20);

	envdc_fail(err, "%s: the sandbox agent's answer passed %zu %s; check the agent", what, b->max >> (mib ? 20 : 10),
		   mib ? "MiB" : "KiB");
	return CSDK_EBACKEND;
}

/* A transport failure or an HTTP status without a Connect error body. */
int envdc_transport_error(CURLcode cc, long status, const char *what, char err[ENVDC_ERR_MAX])
{
	if (cc != CURLE_OK) {
		envdc_fail(err, "%s: cannot reach the sandbox agent: %s", what, curl_easy_strerror(cc));
		return CSDK_EBACKEND;
	}
	if (status == 401) {
		envdc_fail(err, "%s: the sandbox agent refused the access token (401)", what);
		return CSDK_EPERM;
	}
	envdc_fail(err, "%s: the sandbox agent answered HTTP %ld", what, status);
	return CSDK_EBACKEND;
}

int envdc_unary(envdc *c, const char *method, json_t *request, json_t **response, char err[ENVDC_ERR_MAX])
{
	static const char *const lines[] = { "Content-Type: application/json", "Connect-Protocol-Version: 1", NULL };
	struct csdku_buf body = { .max = ENVDC_BODY_MAX };
	struct curl_slist *hdr = envdc_headers(c, lines);
	char *text = json_dumps(request, JSON_COMPACT), *path = NULL;
	CURL *h = NULL;
	CURLcode cc;
	long status = 0;
	json_t *j = NULL;
	int rc = CSDK_ENOMEM;

	*response = NULL;
	if (!hdr || !text || asprintf(&path, "/%s", method) < 0 || !(h = envdc_curl(c, path, hdr))) {
		envdc_fail(err, "out of memory");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, envdc_collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 120000L);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	j = body.data ? json_loads(body.data, 0, NULL) : NULL;
	if (body.over) {
		rc = envdc_too_big(method, &body, err);
	} else if (cc == CURLE_OK && status == 200 && json_is_object(j)) {
		*response = j;
		j = NULL;
		rc = 0;
	} else if (cc == CURLE_OK && json_is_string(json_object_get(j, "code"))) {
		const char *msg = json_string_value(json_object_get(j, "message"));

		rc = envdc_code_of(json_string_value(json_object_get(j, "code")));
		envdc_fail(err, "%s", msg ? msg : json_string_value(json_object_get(j, "code")));
	} else {
		rc = envdc_transport_error(cc, status, method, err);
	}
out:
	json_decref(j);
	if (h)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	free(body.data);
	free(text);
	free(path);
	return rc;
}

int envdc_signal(envdc *c, uint32_t pid, int sig, char err[ENVDC_ERR_MAX])
{
	json_t *req = json_pack("{s:{s:i},s:s}", "process", "pid", (json_int_t)pid, "signal",
				sig == 9 ? "SIGNAL_SIGKILL" : "SIGNAL_SIGTERM");
	json_t *resp = NULL;
	int rc;

	if (!req) {
		envdc_fail(err, "out of memory");
		return CSDK_ENOMEM;
	}
	rc = envdc_unary(c, "process.Process/SendSignal", req, &resp, err);
	json_decref(req);
	json_decref(resp);
	return rc;
}
