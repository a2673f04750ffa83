/* E2B's control-plane REST API over libcurl: one transfer per call, so calls may run on several threads. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "e2b.h"

#define MAX_REPLY (16 * 1024 * 1024)

struct buf {
	char *data;
	size_t len;
	char *next_token;
};

static size_t on_data(char *p, size_t size, size_t n, void *userdata)
{
	struct buf *b = userdata;
	size_t len = size * n;
	char *grown;

	if (b->len + len > MAX_REPLY || !(grown = realloc(b->data, b->len + len + 1)))
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
	struct buf *b = userdata;
	size_t len = size * n, vl;
	const char *v;

	if (len > 13 && !strncasecmp(p, "x-next-token:", 13)) {
		v = p + 13;
		while (v < p + len && (*v == ' ' || *v == '\t'))
			v++;
		vl = (size_t)(p + len - v);
		while (vl && isspace((unsigned char)v[vl - 1]))
			vl--;
		free(b->next_token);
		b->next_token = vl ? strndup(v, vl) : NULL;
	}
	return len;
}

int e2b_call(struct e2b *ctx, const char *method, const char *path, json_t *body, struct e2b_reply *reply)
{
	struct curl_slist *headers = NULL, *h;
	struct buf b = { 0 };
	char *url = NULL, *key = NULL, *text = NULL, errbuf[CURL_ERROR_SIZE] = "";
	CURL *curl = NULL;
	CURLcode cc;
	int rc = CSDK_ENOMEM;

	memset(reply, 0, sizeof(*reply));
	if (asprintf(&url, "%s%s", ctx->api_url, path) < 0 || asprintf(&key, "X-API-KEY: %s", ctx->api_key) < 0) {
		url = key = NULL;
		goto out;
	}
	if (!(curl = curl_easy_init()) || !(h = curl_slist_append(headers, key)))
		goto out;
	headers = h;
	if (!(h = curl_slist_append(headers, "User-Agent: csdk-e2b/1.0")))
		goto out;
	headers = h;
	if (body) {
		if (!(text = json_dumps(body, JSON_COMPACT)) || !(h = curl_slist_append(headers, "Content-Type: application/json")))
			goto out;
		headers = h;
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 300000L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &b);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	if ((cc = curl_easy_perform(curl)) != CURLE_OK) {
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "cannot reach E2B's API at %s: %s; check api_url (E2B_API_URL) and the network",
				      ctx->api_url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
	if (b.len)
		reply->body = json_loadb(b.data, b.len, 0, NULL);
	reply->next_token = b.next_token;
	b.next_token = NULL;
	rc = 0;
out:
	if (rc == CSDK_ENOMEM)
		rc = ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory while calling E2B's API");
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	free(url);
	if (key) {
		memset(key, 0, strlen(key));
		free(key);
	}
	free(text);
	free(b.data);
	free(b.next_token);
	return rc;
}

void e2b_reply_clear(struct e2b_reply *reply)
{
	json_decref(reply->body);
	free(reply->next_token);
	memset(reply, 0, sizeof(*reply));
}

int e2b_fail(struct e2b *ctx, const struct e2b_reply *reply, const char *what)
{
	json_t *m = reply->body ? json_object_get(reply->body, "message") : NULL;
	const char *msg = json_is_string(m) ? json_string_value(m) : "no message";

	switch (reply->status) {
	case 401:
	case 403:
		return ctx->host->error(ctx->host, CSDK_ECONFIG, "%s: E2B refused the API key (%ld: %s); check api_key (E2B_API_KEY), from https://e2b.dev/dashboard?tab=keys",
					what, reply->status, msg);
	case 400:
		return ctx->host->error(ctx->host, CSDK_EINVAL, "%s: E2B refused the request (400): %s", what, msg);
	case 404:
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "%s: not found (404): %s", what, msg);
	case 429:
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "%s: E2B's rate limit was hit (429): %s; retry later", what, msg);
	case 501:
		return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED, "%s: not supported by this E2B API (501): %s", what, msg);
	default:
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "%s: E2B answered %ld: %s", what, reply->status, msg);
	}
}

int64_t e2b_parse_time(const char *s)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 0;
	int64_t ms = 0, t;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
		return 0;
	s += n;
	if (*s == '.') {
		int digits = 0;

		for (s++; isdigit((unsigned char)*s); s++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*s - '0');
		while (digits > 0 && digits < 3) {
			ms *= 10;
			digits++;
		}
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm) * 1000 + ms;
	if (*s == '+' || *s == '-') {
		int oh = 0, om = 0;

		if (sscanf(s + 1, "%2d:%2d", &oh, &om) >= 1)
			t -= (*s == '+' ? 1 : -1) * ((int64_t)oh * 3600 + om * 60) * 1000;
	}
	return t;
}
