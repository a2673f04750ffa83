#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "rfc3339.h"

static char *files_path(CURL *h, const char *path)
{
	char *q = curl_easy_escape(h, path, 0), *out = NULL;

	if (q && asprintf(&out, "/files?path=%s", q) < 0)
		out = NULL;
	curl_free(q);
	return out;
}

/* The message of a /files error body ({"message": ..., "code": N}), or the body itself. */
static void rest_error(const struct csdku_buf *body, const char *fallback, char err[ENVDC_ERR_MAX])
{
	json_t *j = body->data ? json_loadb(body->data, body->len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "message"));

	envdc_fail(err, "%s", msg ? msg : fallback);
	json_decref(j);
}

struct reader {
	long status;
	CURL *h;
	envdc_data_fn on_data;
	void *userdata;
	struct csdku_buf error_body;
	int cancelled;
};

static size_t read_cb(char *data, size_t size, size_t n, void *userdata)
{
	struct reader *r = userdata;

	if (!r->status)
		curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status != 200)
		return envdc_collect(data, size, n, &r->error_body);
	if (r->on_data(r->userdata, data, size * n)) {
		r->cancelled = 1;
		return 0;
	}
	return size * n;
}

int envdc_read(envdc *c, const char *path, envdc_data_fn on_data, void *userdata, char err[ENVDC_ERR_MAX])
{
	struct curl_slist *hdr = envdc_headers(c, NULL);
	struct reader r = { .on_data = on_data, .userdata = userdata, .error_body = { .max = ENVDC_ERROR_BODY_MAX } };
	CURL *probe = curl_easy_init();
	char *url = probe ? files_path(probe, path) : NULL;
	CURLcode cc;
	int rc;

	if (probe)
		curl_easy_cleanup(probe);
	if (!url || (c->headers && !hdr) || !(r.h = envdc_curl(c, url, hdr))) {
		envdc_fail(err, "out of memory");
		rc = CSDK_ENOMEM;
		goto out;
	}
	curl_easy_setopt(r.h, CURLOPT_WRITEFUNCTION, read_cb);
	curl_easy_setopt(r.h, CURLOPT_WRITEDATA, &r);
	cc = curl_easy_perform(r.h);
	if (!r.status)
		curl_easy_getinfo(r.h, CURLINFO_RESPONSE_CODE, &r.status);
	if (r.error_body.over) {
		rc = envdc_too_big("GET /files", &r.error_body, err);
	} else if (r.cancelled) {
		envdc_fail(err, "reading '%s' was cancelled by the caller", path);
		rc = CSDK_ECANCELLED;
	} else if (cc == CURLE_OK && r.status == 200) {
		rc = 0;
	} else if (cc == CURLE_OK && r.status == 404) {
		envdc_fail(err, "no such file: %s", path);
		rc = CSDK_ENOTFOUND;
	} else if (cc == CURLE_OK && r.status == 400) {
		rest_error(&r.error_body, "bad request", err);
		rc = CSDK_EINVAL;
	} else {
		rc = envdc_transport_error(cc, r.status, "GET /files", err);
	}
out:
	if (r.h)
		curl_easy_cleanup(r.h);
	curl_slist_free_all(hdr);
	free(r.error_body.data);
	free(url);
	return rc;
}

int envdc_write(envdc *c, const char *path, const void *data, size_t len, char err[ENVDC_ERR_MAX])
{
	static const char *const lines[] = { "Content-Type: application/octet-stream", "Expect:", NULL };
	struct curl_slist *hdr = envdc_headers(c, lines);
	struct csdku_buf body = { .max = ENVDC_ERROR_BODY_MAX };
	CURL *probe = curl_easy_init(), *h = NULL;
	char *url = probe ? files_path(probe, path) : NULL;
	CURLcode cc;
	long status = 0;
	int rc;

	if (probe)
		curl_easy_cleanup(probe);
	if (!url || !hdr || !(h = envdc_curl(c, url, hdr))) {
		envdc_fail(err, "out of memory");
		rc = CSDK_ENOMEM;
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, len ? data : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, envdc_collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (body.over) {
		rc = envdc_too_big("POST /files", &body, err);
	} else if (cc == CURLE_OK && status == 200) {
		rc = 0;
	} else if (cc == CURLE_OK && (status == 400 || status == 404 || status == 409)) {
		rest_error(&body, "the agent refused the write", err);
		rc = status == 404 ? CSDK_ENOTFOUND : CSDK_EINVAL;
	} else if (cc == CURLE_OK && status == 507) {
		rest_error(&body, "no space left in the sandbox", err);
		rc = CSDK_EIO;
	} else {
		rc = envdc_transport_error(cc, status, "POST /files", err);
	}
out:
	if (h)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	free(body.data);
	free(url);
	return rc;
}

/* int64 fields arrive as JSON strings (proto3) or numbers. */
static uint64_t json_u64(json_t *v)
{
	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	return json_is_string(v) ? strtoull(json_string_value(v), NULL, 10) : 0;
}

static int entry_from(struct envdc_entry *e, json_t *j)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *path = json_string_value(json_object_get(j, "path"));

	memset(e, 0, sizeof(*e));
	e->name = strdup(name ? name : "");
	e->path = strdup(path ? path : "");
	e->type = type && !strcmp(type, "FILE_TYPE_FILE") ? CSDK_ENTRY_FILE
		  : type && !strcmp(type, "FILE_TYPE_DIRECTORY") ? CSDK_ENTRY_DIRECTORY : CSDK_ENTRY_OTHER;
	e->size = json_u64(json_object_get(j, "size"));
	e->modified_ms = csdku_rfc3339_ms(json_string_value(json_object_get(j, "modifiedTime")));
	if (!e->name || !e->path) {
		envdc_entry_clear(e);
		return -1;
	}
	return 0;
}

void envdc_entry_clear(struct envdc_entry *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->path);
	memset(e, 0, sizeof(*e));
}

void envdc_entries_free(struct envdc_entry *entries, size_t n)
{
	for (size_t i = 0; entries && i < n; i++)
		envdc_entry_clear(&entries[i]);
	free(entries);
}

static int path_call(envdc *c, const char *method, const char *path, json_t **resp, char err[ENVDC_ERR_MAX])
{
	json_t *req = json_pack("{s:s}", "path", path);
	int rc;

	if (!req) {
		envdc_fail(err, "out of memory");
		return CSDK_ENOMEM;
	}
	rc = envdc_unary(c, method, req, resp, err);
	json_decref(req);
	return rc;
}

int envdc_stat(envdc *c, const char *path, struct envdc_entry *out, char err[ENVDC_ERR_MAX])
{
	json_t *resp = NULL;
	int rc = path_call(c, "filesystem.Filesystem/Stat", path, &resp, err);

	if (rc == 0 && entry_from(out, json_object_get(resp, "entry"))) {
		envdc_fail(err, "out of memory");
		rc = CSDK_ENOMEM;
	}
	json_decref(resp);
	return rc;
}

int envdc_list(envdc *c, const char *path, struct envdc_entry **out, size_t *n_out, char err[ENVDC_ERR_MAX])
{
	json_t *req = json_pack("{s:s,s:i}", "path", path, "depth", 1), *resp = NULL, *arr;
	int rc;

	*out = NULL;
	*n_out = 0;
	if (!req) {
		envdc_fail(err, "out of memory");
		return CSDK_ENOMEM;
	}
	rc = envdc_unary(c, "filesystem.Filesystem/ListDir", req, &resp, err);
	json_decref(req);
	arr = json_object_get(resp, "entries");
	if (rc == 0 && json_array_size(arr)) {
		size_t n = json_array_size(arr);

		if (!(*out = calloc(n, sizeof(**out))))
			rc = CSDK_ENOMEM;
		for (size_t i = 0; rc == 0 && i < n; i++, (*n_out)++)
			if (entry_from(&(*out)[i], json_array_get(arr, i)))
				rc = CSDK_ENOMEM;
		if (rc) {
			envdc_entries_free(*out, *n_out);
			*out = NULL;
			*n_out = 0;
			envdc_fail(err, "out of memory");
		}
	}
	json_decref(resp);
	return rc;
}

int envdc_mkdir(envdc *c, const char *path, char err[ENVDC_ERR_MAX])
{
	json_t *resp = NULL;
	int rc = path_call(c, "filesystem.Filesystem/MakeDir", path, &resp, err);

	json_decref(resp);
	if (rc == CSDK_EEXISTS) {
		struct envdc_entry e = { 0 };
		char ignored[ENVDC_ERR_MAX];

		if (envdc_stat(c, path, &e, ignored) == 0 && e.type == CSDK_ENTRY_DIRECTORY)
			rc = 0;
		envdc_entry_clear(&e);
	}
	return rc;
}

int envdc_remove(envdc *c, const char *path, char err[ENVDC_ERR_MAX])
{
	json_t *resp = NULL;
	int rc = path_call(c, "filesystem.Filesystem/Remove", path, &resp, err);

	json_decref(resp);
	return rc;
}
