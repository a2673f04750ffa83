/*
 * One relayed envd request: a libcurl transfer to the sandbox's agent,
 * driven from the client's connection thread. Upload data is handed to
 * curl as libmicrohttpd delivers it and the answer is handed to
 * libmicrohttpd as curl receives it: an upload waits for curl to take
 * each piece, and the answer is read from the agent as the client takes
 * it, at most DRAIN_MAX ahead, so no body is held whole.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "proxy.h"

#define DRAIN_MAX (8 * 1024 * 1024)

struct serve_proxy {
	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	char *up;
	size_t up_len, up_off;
	int up_eof, up_paused;
	char *down;
	size_t down_len, down_off;
	int down_paused;
	long status;
	int headers_done, done;
	CURLcode result;
	struct serve_proxy_header *resp;
	size_t n_resp;
	int client_fd, watch_client, client_gone;
	const atomic_int *aborting;
	char err[256];
};

static const char *const hop_by_hop[] = { "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
					  "proxy-authorization", "proxy-authenticate", "content-length", "host", "expect",
					  "x-access-token", "x-api-key", "e2b-sandbox-id", "e2b-sandbox-port", "date", "server" };

int serve_proxy_forwarded(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(hop_by_hop) / sizeof(hop_by_hop[0]); i++)
		if (!strcasecmp(name, hop_by_hop[i]))
			return 0;
	return 1;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct serve_proxy *px = userdata;
	size_t max = size * nitems, n = px->up_len - px->up_off;

	if (n == 0) {
		if (px->up_eof)
			return 0;
		px->up_paused = 1;
		return CURL_READFUNC_PAUSE;
	}
	if (n > max)
		n = max;
	memcpy(buf, px->up + px->up_off, n);
	px->up_off += n;
	return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct serve_proxy *px = userdata;
	size_t n = size * nmemb;
	char *grown;

	if (px->down_off) {
		memmove(px->down, px->down + px->down_off, px->down_len - px->down_off);
		px->down_len -= px->down_off;
		px->down_off = 0;
	}
	if (!(grown = realloc(px->down, px->down_len + n + 1)))
		return 0;
	px->down = grown;
	memcpy(px->down + px->down_len, data, n);
	px->down_len += n;
	return n;
}

static void clear_resp_headers(struct serve_proxy *px)
{
	size_t i;

	for (i = 0; i < px->n_resp; i++) {
		free(px->resp[i].name);
		free(px->resp[i].value);
	}
	free(px->resp);
	px->resp = NULL;
	px->n_resp = 0;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userdata)
{
	struct serve_proxy *px = userdata;
	size_t n = size * nitems, nl;
	char *colon, *v, *ve;
	struct serve_proxy_header *grown;

	if (n >= 5 && !strncmp(data, "HTTP/", 5)) {
		const char *sp = memchr(data, ' ', n);

		clear_resp_headers(px);
		px->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return n;
	}
	if ((n == 2 && data[0] == '\r') || (n == 1 && data[0] == '\n')) {
		if (px->status >= 200)
			px->headers_done = 1;
		return n;
	}
	if (!(colon = memchr(data, ':', n)) || px->status < 200)
		return n;
	nl = (size_t)(colon - data);
	v = colon + 1;
	ve = data + n;
	while (v < ve && (*v == ' ' || *v == '\t'))
		v++;
	while (ve > v && isspace((unsigned char)ve[-1]))
		ve--;
	if (!(grown = realloc(px->resp, (px->n_resp + 1) * sizeof(*grown))))
		return 0;
	px->resp = grown;
	grown[px->n_resp].name = strndup(data, nl);
	grown[px->n_resp].value = strndup(v, (size_t)(ve - v));
	if (!grown[px->n_resp].name || !grown[px->n_resp].value) {
		free(grown[px->n_resp].name);
		free(grown[px->n_resp].value);
		return 0;
	}
	if (!serve_proxy_forwarded(grown[px->n_resp].name)) {
		free(grown[px->n_resp].name);
		free(grown[px->n_resp].value);
		return n;
	}
	px->n_resp++;
	return n;
}

/* The agent's URL of the request on px->easy: 0, or -1 when out of memory. */
static int set_url(struct serve_proxy *px, const struct serve_proxy_request *req)
{
	char *url = NULL;

	if (!strncmp(req->base_url, "unix:", 5)) {
		curl_easy_setopt(px->easy, CURLOPT_UNIX_SOCKET_PATH, req->base_url + 5);
		if (asprintf(&url, "http://localhost%s", req->target) < 0)
			return -1;
	} else {
		size_t bl = strlen(req->base_url);

		while (bl && req->base_url[bl - 1] == '/')
			bl--;
		if (asprintf(&url, "%.*s%s", (int)bl, req->base_url, req->target) < 0)
			return -1;
	}
	curl_easy_setopt(px->easy, CURLOPT_URL, url);
	free(url);
	return 0;
}

/* The method, and for one with a body how it is read from the client: 0 or -1. */
static int set_method(struct serve_proxy *px, const struct serve_proxy_request *req)
{
	if (!strcmp(req->method, "GET")) {
		curl_easy_setopt(px->easy, CURLOPT_HTTPGET, 1L);
		px->up_eof = 1;
		return 0;
	}
	if (!strcmp(req->method, "HEAD")) {
		curl_easy_setopt(px->easy, CURLOPT_NOBODY, 1L);
		px->up_eof = 1;
		return 0;
	}
	curl_easy_setopt(px->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(px->easy, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(px->easy, CURLOPT_READDATA, px);
	if (strcmp(req->method, "POST"))
		curl_easy_setopt(px->easy, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->content_length >= 0)
		curl_easy_setopt(px->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->content_length);
	else if (!(px->headers = curl_slist_append(px->headers, "Transfer-Encoding: chunked")))
		return -1;
	if (req->content_length == 0)
		px->up_eof = 1;
	return 0;
}

/* The request's headers, after "Expect:": 0 or -1. */
static int set_headers(struct serve_proxy *px, const struct serve_proxy_request *req)
{
	char *h = NULL;

	if (!(px->headers = curl_slist_append(px->headers, "Expect:")))
		return -1;
	for (size_t i = 0; i < req->n_headers; i++) {
		struct curl_slist *l;

		if (asprintf(&h, "%s: %s", req->headers[i].name, req->headers[i].value) < 0)
			return -1;
		l = curl_slist_append(px->headers, h);
		free(h);
		if (!l)
			return -1;
		px->headers = l;
	}
	curl_easy_setopt(px->easy, CURLOPT_HTTPHEADER, px->headers);
	return 0;
}

int serve_proxy_new(struct serve_proxy **out, const struct serve_proxy_request *req)
{
	struct serve_proxy *px = calloc(1, sizeof(*px));

	*out = NULL;
	if (!px)
		return -1;
	px->client_fd = req->client_fd;
	px->watch_client = req->client_fd >= 0;
	px->aborting = req->aborting;
	if (!(px->multi = curl_multi_init()) || !(px->easy = curl_easy_init()) || set_url(px, req) < 0)
		goto fail;
	curl_easy_setopt(px->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(px->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(px->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(px->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(px->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(px->easy, CURLOPT_WRITEDATA, px);
	curl_easy_setopt(px->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(px->easy, CURLOPT_HEADERDATA, px);
	curl_easy_setopt(px->easy, CURLOPT_PRIVATE, px);
	if (set_method(px, req) < 0 || set_headers(px, req) < 0)
		goto fail;
	if (curl_multi_add_handle(px->multi, px->easy) != CURLM_OK)
		goto fail;
	*out = px;
	return 0;
fail:
	serve_proxy_free(px);
	return -1;
}

/* Client still there? A readable socket with nothing to read was closed. */
static void check_client(struct serve_proxy *px)
{
	char b;
	ssize_t n;

	if (!px->watch_client)
		return;
	n = recv(px->client_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		px->client_gone = 1;
	else if (n > 0)
		px->watch_client = 0;   /* pipelined data: stop watching */
}

static void collect(struct serve_proxy *px)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(px->multi, &left)))
		if (msg->msg == CURLMSG_DONE) {
			px->done = 1;
			px->result = msg->data.result;
			if (px->result != CURLE_OK)
				snprintf(px->err, sizeof(px->err), "%s", curl_easy_strerror(px->result));
		}
}

enum { UNTIL_UPLOADED, UNTIL_HEADERS, UNTIL_DATA };

/* Drive the transfer until the condition holds; -1 when the client left or serve is stopping. */
static int pump(struct serve_proxy *px, int until)
{
	for (;;) {
		struct curl_waitfd extra = { px->client_fd, CURL_WAIT_POLLIN, 0 };
		int running, numfds;

		curl_multi_perform(px->multi, &running);
		collect(px);
		if (px->done)
			return 0;
		if (until == UNTIL_UPLOADED && px->up_off == px->up_len)
			return 0;
		if (until == UNTIL_HEADERS && px->headers_done)
			return 0;
		if (until == UNTIL_DATA && px->down_len > px->down_off)
			return 0;
		if (px->aborting && atomic_load(px->aborting)) {
			snprintf(px->err, sizeof(px->err), "the server is stopping");
			return -1;
		}
		if (px->client_gone) {
			snprintf(px->err, sizeof(px->err), "the client went away");
			return -1;
		}
		curl_multi_poll(px->multi, px->watch_client ? &extra : NULL, px->watch_client ? 1 : 0, 500, &numfds);
		if (px->watch_client)
			check_client(px);
	}
}

static void unpause(struct serve_proxy *px)
{
	if (px->up_paused || px->down_paused) {
		px->up_paused = px->down_paused = 0;
		curl_easy_pause(px->easy, CURLPAUSE_CONT);
	}
}

int serve_proxy_feed(struct serve_proxy *px, const char *data, size_t len)
{
	if (px->done || !len)
		return 0;   /* the agent answered already: the rest of the body is dropped */
	if (px->up_off == px->up_len)
		px->up_off = px->up_len = 0;
	if (px->up_off) {
		memmove(px->up, px->up + px->up_off, px->up_len - px->up_off);
		px->up_len -= px->up_off;
		px->up_off = 0;
	}
	char *grown = realloc(px->up, px->up_len + len);
	if (!grown)
		return -1;
	px->up = grown;
	memcpy(px->up + px->up_len, data, len);
	px->up_len += len;
	unpause(px);
	return pump(px, UNTIL_UPLOADED);
}

int serve_proxy_answer(struct serve_proxy *px, long *status)
{
	px->up_eof = 1;
	unpause(px);
	if (pump(px, UNTIL_HEADERS) < 0)
		return -1;
	if (!px->headers_done) {
		if (!px->err[0])
			snprintf(px->err, sizeof(px->err), "the agent closed the connection without an answer");
		return -1;
	}
	*status = px->status;
	return 0;
}

const struct serve_proxy_header *serve_proxy_headers(const struct serve_proxy *px, size_t *n)
{
	*n = px->n_resp;
	return px->resp;
}

int serve_proxy_complete(const struct serve_proxy *px, const char **body, size_t *len)
{
	if (!px->done || px->result != CURLE_OK)
		return 0;
	*body = px->down + px->down_off;
	*len = px->down_len - px->down_off;
	return 1;
}

const char *serve_proxy_error(const struct serve_proxy *px)
{
	return px->err[0] ? px->err : "relay failed";
}

ssize_t serve_proxy_read(struct serve_proxy *px, char *buf, size_t max)
{
	size_t n;
	int running;

	/*
	 * The agent drops the oldest output of a stream that falls more than
	 * its buffer behind: drain its socket at each read, so that the relay
	 * is never slower than the client, up to DRAIN_MAX held here.
	 */
	if (!px->done && px->down_len - px->down_off < DRAIN_MAX) {
		curl_multi_perform(px->multi, &running);
		collect(px);
	}
	if (px->down_len == px->down_off && !px->done) {
		unpause(px);
		if (pump(px, UNTIL_DATA) < 0)
			return -2;
	}
	n = px->down_len - px->down_off;
	if (n == 0)
		return px->result == CURLE_OK ? -1 : -2;
	if (n > max)
		n = max;
	memcpy(buf, px->down + px->down_off, n);
	px->down_off += n;
	return (ssize_t)n;
}

void serve_proxy_free(struct serve_proxy *px)
{
	if (!px)
		return;
	if (px->multi && px->easy)
		curl_multi_remove_handle(px->multi, px->easy);
	if (px->easy)
		curl_easy_cleanup(px->easy);
	if (px->multi)
		curl_multi_cleanup(px->multi);
	curl_slist_free_all(px->headers);
	clear_resp_headers(px);
	free(px->up);
	free(px->down);
	free(px);
}
