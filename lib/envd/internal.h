#ifndef CSDK_ENVD_INTERNAL_H
#define CSDK_ENVD_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "envd.h"

struct envdc {
	char *base;               /* "http://host:port", no trailing slash */
	char *unix_path;          /* or the socket, with base "http://localhost" */
	struct curl_slist *headers;
};

/* The most kept of a unary answer, and of an error body. */
#define ENVDC_BODY_MAX (16u << 20)
#define ENVDC_ERROR_BODY_MAX (64u << 10)

void envdc_fail(char err[ENVDC_ERR_MAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A CURLOPT_WRITEFUNCTION that appends to the struct csdku_buf in userdata. */
size_t envdc_collect(char *data, size_t size, size_t n, void *userdata);
/* The error of an answer to `what` that passed its buffer's limit (CSDK_EBACKEND). */
int envdc_too_big(const char *what, const struct csdku_buf *b, char err[ENVDC_ERR_MAX]);
/* An easy handle for base + path_and_query with the given header list (kept by the caller). */
CURL *envdc_curl(envdc *c, const char *path_and_query, struct curl_slist *extra);
/* The client's headers followed by lines (NULL-terminated; may be NULL). */
struct curl_slist *envdc_headers(envdc *c, const char *const *lines);
/* The CSDK_E* code of a Connect error code. */
int envdc_code_of(const char *connect_code);
int envdc_transport_error(CURLcode cc, long status, const char *what, char err[ENVDC_ERR_MAX]);
/* A Connect unary call with the JSON codec: 0 with *response, or the error code with err set. */
int envdc_unary(envdc *c, const char *method, json_t *request, json_t **response, char err[ENVDC_ERR_MAX]);

#endif
