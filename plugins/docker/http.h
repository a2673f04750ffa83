/*
 * dockerp_http.h - a small HTTP/1.1 client over libcurl for plugins that talk
 * to a local or remote API: unix sockets (unix:///path) and plain TCP
 * (tcp://host:port, http://host:port). One curl easy handle per request, so
 * it is safe to use from several threads at once. Kept free of Docker
 * specifics so it can move to plugins/common when a second plugin needs it.
 */
#ifndef DOCKERP_HTTP_H
#define DOCKERP_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct dockerp_http_endpoint {
	char *display;   /* as given, for messages: unix:///run/x.sock, tcp://h:2375 */
	char *unix_path; /* NULL for TCP */
	char *base_url;  /* http://localhost or http://h:2375, no trailing slash */
	char *host;      /* TCP host name (for URLs the sandbox publishes), NULL for unix */
};

/** Parse spec (unix:///path, /path, tcp://host:port, http://host:port). */
int dockerp_http_endpoint_init(struct dockerp_http_endpoint *out, const char *spec, char *err, size_t errlen);
void dockerp_http_endpoint_free(struct dockerp_http_endpoint *ep);

/** Receives body bytes as they arrive; a non-zero return stops the transfer. */
typedef int (*dockerp_http_body_fn)(void *arg, const char *data, size_t len);

struct dockerp_http_request {
	const char *method;       /* GET, POST, PUT, DELETE, HEAD */
	const char *path;         /* with the query string, e.g. /v1.41/containers/json?all=1 */
	const char *content_type; /* NULL: no body */
	const void *body;
	size_t body_len;
	dockerp_http_body_fn on_body; /* NULL: the body is collected into the response */
	void *arg;
	const char *capture_header; /* a response header to keep, or NULL */
	int64_t timeout_ms;         /* 0: none */
};

struct dockerp_http_response {
	long status;
	char *body;   /* NUL-terminated (len excludes the NUL); NULL with on_body */
	size_t len;
	char *header; /* value of capture_header, or NULL */
};

/**
 * Perform one request. Returns 0 when an HTTP answer arrived (whatever its
 * status), CSDK_EIO when the endpoint cannot be reached (err is the reason
 * alone, e.g. "Connection refused"; other failures name the request), CSDK_ETIMEOUT when timeout_ms passed, CSDK_ECANCELLED
 * when on_body asked to stop, CSDK_EBACKEND when the answer is not HTTP or the transfer broke.
 */
int dockerp_http_do(const struct dockerp_http_endpoint *ep, const struct dockerp_http_request *req,
		  struct dockerp_http_response *out, char *err, size_t errlen);
void dockerp_http_response_free(struct dockerp_http_response *resp);

/** Percent-encode s for a query string value; *out is malloc'd. */
int dockerp_http_escape(char **out, const char *s);

#endif
