/* The envd relay of csdk serve (proxy.c). */
#ifndef CSDK_SERVE_PROXY_H
#define CSDK_SERVE_PROXY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct serve_proxy;

struct serve_proxy_header {
	char *name;
	char *value;
};

struct serve_proxy_request {
	const char *base_url;      /* "unix:PATH" or "http(s)://HOST[:PORT]" */
	const char *method;
	const char *target;        /* path and query, as the client sent them */
	int64_t content_length;    /* -1: unknown (chunked) */
	const struct serve_proxy_header *headers;
	size_t n_headers;
	int client_fd;             /* watched for the client leaving, or -1 */
	const atomic_int *aborting;
};

/** Non-zero when a header of that name is passed on (not hop-by-hop, not one serve sets itself). */
int serve_proxy_forwarded(const char *name);
int serve_proxy_new(struct serve_proxy **out, const struct serve_proxy_request *req);
/** Hand upload bytes on; returns once curl took them (or the agent answered). -1 on failure. */
int serve_proxy_feed(struct serve_proxy *px, const char *data, size_t len);
/** End the upload and wait for the answer's status and headers. -1 on failure (serve_proxy_error). */
int serve_proxy_answer(struct serve_proxy *px, long *status);
const struct serve_proxy_header *serve_proxy_headers(const struct serve_proxy *px, size_t *n);
/** Non-zero when the whole answer is in already: *body and *len then hold it. */
int serve_proxy_complete(const struct serve_proxy *px, const char **body, size_t *len);
/** Up to max bytes of the answer: their number, -1 at its end, -2 on failure. */
ssize_t serve_proxy_read(struct serve_proxy *px, char *buf, size_t max);
const char *serve_proxy_error(const struct serve_proxy *px);
void serve_proxy_free(struct serve_proxy *px);

#endif
