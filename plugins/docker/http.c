#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <csdk/plugin.h>

#include "http.h"

int dockerp_http_endpoint_init(struct dockerp_http_endpoint *out, const char *spec, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!spec || !*spec) {
		snprintf(err, errlen, "no engine endpoint given; use unix:///path/to/socket or tcp://host:port");
		return CSDK_ECONFIG;
	}
	out->display = strdup(spec);
	if (!out->display)
		return CSDK_ENOMEM;
	if (!strncmp(spec, "unix://", 7) || spec[0] == '/') {
		const char *path = spec[0] == '/' ? spec : spec + 7;
		if (path[0] != '/') {
			snprintf(err, errlen, "endpoint '%s' has no absolute socket path; use unix:///path/to/socket", spec);
			dockerp_http_endpoint_free(out);
			return CSDK_ECONFIG;
		}
		out->unix_path = strdup(path);
		out->base_url = strdup("http://localhost");
	} else if (!strncmp(spec, "tcp://", 6) || !strncmp(spec, "http://", 7)) {
		const char *hp = spec + (spec[0] == 't' ? 6 : 7);
		size_t n = strcspn(hp, "/");
		const char *colon;

		if (n == 0) {
			snprintf(err, errlen, "endpoint '%s' has no host; use tcp://host:port", spec);
			dockerp_http_endpoint_free(out);
			return CSDK_ECONFIG;
		}
		if (asprintf(&out->base_url, "http://%.*s", (int)n, hp) < 0)
			out->base_url = NULL;
		colon = hp[0] == '[' ? memchr(hp, ']', n) : memchr(hp, ':', n);
		if (hp[0] == '[')
			out->host = colon ? strndup(hp, (size_t)(colon - hp) + 1) : NULL;
		else
			out->host = strndup(hp, colon ? (size_t)(colon - hp) : n);
		if (!out->host) {
			dockerp_http_endpoint_free(out);
			snprintf(err, errlen, "endpoint '%s' is not well-formed; use tcp://host:port", spec);
			return CSDK_ECONFIG;
		}
	} else {
		snprintf(err, errlen, "endpoint '%s' is not supported; use unix:///path/to/socket or tcp://host:port", spec);
		dockerp_http_endpoint_free(out);
		return CSDK_ECONFIG;
	}
	if (!out->base_url || (spec[0] == '/' || !strncmp(spec, "unix://", 7) ? !out->unix_path : 0)) {
		dockerp_http_endpoint_free(out);
		return CSDK_ENOMEM;
	}
	return 0;
}

void dockerp_http_endpoint_free(struct dockerp_http_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->display);
	free(ep->unix_path);
	free(ep->base_url);
	free(ep->host);
	memset(ep, 0, sizeof(*ep));
}

struct transfer {
	const struct dockerp_http_request *req;
	struct dockerp_http_response *resp;
	size_t cap;
	int oom;
	int stopped;
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	size_t n = size * nmemb;

	if (t->req->on_body) {
		if (t->req->on_body(t->req->arg, data, n)) {
			t->stopped = 1;
			return 0;
		}
		return n;
	}
	if (t->resp->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *p;
		while (cap < t->resp->len + n + 1)
			cap *= 2;
		p = realloc(t->resp->body, cap);
		if (!p) {
			t->oom = 1;
			return 0;
		}
		t->resp->body = p;
		t->cap = cap;
	}
	memcpy(t->resp->body + t->resp->len, data, n);
	t->resp->len += n;
	t->resp->body[t->resp->len] = '\0';
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	size_t n = size * nmemb, hl;
	const char *want = t->req->capture_header;

	if (!want)
		return n;
	hl = strlen(want);
	if (n > hl + 1 && data[hl] == ':' && !strncasecmp(data, want, hl)) {
		const char *v = data + hl + 1, *end = data + n;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && isspace((unsigned char)end[-1]))
			end--;
		free(t->resp->header);
		t->resp->header = strndup(v, (size_t)(end - v));
		if (!t->resp->header) {
			t->oom = 1;
			return 0;
		}
	}
	return n;
}

/* The connection was made: a timeout is the server's silence, not a dead endpoint. */
static int connected(CURL *curl)
{
	curl_off_t t = 0;

	return curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK && t > 0;
}

/* The options of one request on curl; the header list to free after it. */
static struct curl_slist *setup(CURL *curl, const char *url, const struct dockerp_http_endpoint *ep,
				const struct dockerp_http_request *req, struct transfer *t, char *ctype, size_t ctype_len)
{
	struct curl_slist *headers = NULL;

	curl_easy_setopt(curl, CURLOPT_URL, url);
	if (ep->unix_path)
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, ep->unix_path);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	if (req->timeout_ms > 0)
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
	if (!strcmp(req->method, "HEAD"))
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET"))
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	/* Docker answers exec start with a raw stream on a kept connection;
	 * Expect: 100-continue would only add a round trip. */
	headers = curl_slist_append(headers, "Expect:");
	if (req->content_type) {
		snprintf(ctype, ctype_len, "Content-Type: %s", req->content_type);
		headers = curl_slist_append(headers, ctype);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (!strcmp(req->method, "POST") || !strcmp(req->method, "PUT")) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	return headers;
}

/* The code of a finished transfer (cc, and the status in t->resp), with err set for a failure. */
static int outcome(CURL *curl, CURLcode cc, const struct dockerp_http_endpoint *ep, const struct dockerp_http_request *req,
		   const struct transfer *t, char *err, size_t errlen)
{
	long status = t->resp->status, oserr = 0;

	if (t->oom)
		return CSDK_ENOMEM;
	if (t->stopped)
		return CSDK_ECANCELLED;
	if (cc == CURLE_OPERATION_TIMEDOUT && (status || connected(curl))) {
		snprintf(err, errlen, "no answer within %lld ms", (long long)req->timeout_ms);
		return CSDK_ETIMEOUT;
	}
	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST || (cc == CURLE_OPERATION_TIMEDOUT && !status)) {
		curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &oserr);
		snprintf(err, errlen, "%s", oserr ? strerror((int)oserr) : curl_easy_strerror(cc));
		return CSDK_EIO;
	}
	/* a raw stream closed by the server without a length: the body is complete */
	if (cc == CURLE_PARTIAL_FILE && status)
		return 0;
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s %s on %s failed: %s", req->method, req->path, ep->display, curl_easy_strerror(cc));
		return CSDK_EBACKEND;
	}
	return 0;
}

int dockerp_http_do(const struct dockerp_http_endpoint *ep, const struct dockerp_http_request *req,
		  struct dockerp_http_response *out, char *err, size_t errlen)
{
	struct transfer t = { .req = req, .resp = out };
	struct curl_slist *headers;
	char *url = NULL, ctype[256];
	CURL *curl;
	CURLcode cc;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	curl = curl_easy_init();
	if (!curl)
		return CSDK_ENOMEM;
	if (asprintf(&url, "%s%s", ep->base_url, req->path) < 0) {
		curl_easy_cleanup(curl);
		return CSDK_ENOMEM;
	}
	headers = setup(curl, url, ep, req, &t, ctype, sizeof(ctype));
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
	rc = outcome(curl, cc, ep, req, &t, err, errlen);
	if (!rc && !req->on_body && !out->body) {
		out->body = calloc(1, 1);
		if (!out->body)
			rc = CSDK_ENOMEM;
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	free(url);
	if (rc)
		dockerp_http_response_free(out);
	return rc;
}

void dockerp_http_response_free(struct dockerp_http_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	free(resp->header);
	resp->body = NULL;
	resp->header = NULL;
	resp->len = 0;
}

int dockerp_http_escape(char **out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), j = 0;
	char *r = malloc(3 * n + 1);

	if (!r)
		return CSDK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
			r[j++] = (char)c;
		} else {
			r[j++] = '%';
			r[j++] = hex[c >> 4];
			r[j++] = hex[c & 15];
		}
	}
	r[j] = '\0';
	*out = r;
	return 0;
}
