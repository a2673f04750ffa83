#include "config.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "wsconn.h"

#define MAX_PAYLOAD (64u << 20)

static void random_bytes(unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r <= 0)
			continue;
		p += r;
		n -= (size_t)r;
	}
}

static int wait_sock(curl_socket_t s, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = s, .events = events };
	return poll(&pfd, 1, timeout_ms);
}

static int send_all(struct k8sp_ws *ws, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		size_t n = 0;
		CURLcode cc = curl_easy_send(ws->curl, p, len, &n);
		if (cc == CURLE_AGAIN) {
			if (wait_sock(ws->sock, POLLOUT, 30000) <= 0)
				return CSDK_EIO;
			continue;
		}
		if (cc != CURLE_OK)
			return CSDK_EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* Read what is there into the buffer: >0 bytes, 0 nothing yet (waited timeout_ms), CSDK_EIO closed. */
static int fill(struct k8sp_ws *ws, int timeout_ms)
{
	if (ws->consumed) {
		memmove(ws->buf, ws->buf + ws->consumed, ws->len - ws->consumed);
		ws->len -= ws->consumed;
		ws->consumed = 0;
	}
	if (ws->cap - ws->len < 65536) {
		size_t c = ws->cap ? ws->cap * 2 : 131072;
		unsigned char *p = realloc(ws->buf, c);
		if (!p)
			return CSDK_ENOMEM;
		ws->buf = p;
		ws->cap = c;
	}
	for (;;) {
		size_t n = 0;
		CURLcode cc = curl_easy_recv(ws->curl, ws->buf + ws->len, ws->cap - ws->len, &n);
		if (cc == CURLE_OK) {
			if (n == 0)
				return CSDK_EIO;
			ws->len += n;
			return (int)n;
		}
		if (cc != CURLE_AGAIN)
			return CSDK_EIO;
		int w = wait_sock(ws->sock, POLLIN, timeout_ms);
		if (w == 0)
			return 0;
		if (w < 0)
			return CSDK_EIO;
	}
}

static void accept_key(const char *key, char out[64])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char md[SHA_DIGEST_LENGTH];
	char in[128];

	snprintf(in, sizeof(in), "%s%s", key, guid);
	SHA1((const unsigned char *)in, strlen(in), md);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

/* host->error, or the message into err when the caller runs on a thread of its own */
static int ws_fail(struct k8sp_k8s *ctx, char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int ws_fail(struct k8sp_k8s *ctx, char *err, size_t errlen, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!err)
		return ctx->host->error(ctx->host, code, "%s", msg);
	snprintf(err, errlen, "%s", msg);
	return code;
}

int k8sp_ws_open(struct k8sp_k8s *ctx, struct k8sp_ws *ws, const char *path, const char *protocols,
		      long *http_status)
{
	return k8sp_ws_open_err(ctx, ws, path, protocols, http_status, NULL, 0);
}

/* Connect to the API server, connection only; *headers gets what k8sp_curl_setup prepares. */
static int ws_connect(struct k8sp_k8s *ctx, struct k8sp_ws *ws, struct curl_slist **headers, char *errbuf,
		      const char *what, char *err, size_t errlen)
{
	char *url = NULL;
	CURLcode cc;
	int rc;

	if (!(ws->curl = curl_easy_init()) || asprintf(&url, "%s/", ctx->creds.server) < 0)
		return ws_fail(ctx, err, errlen, CSDK_ENOMEM, "out of memory opening the %s stream", what);
	if ((rc = k8sp_curl_setup(ctx, ws->curl, headers)))
		goto out;
	curl_easy_setopt(ws->curl, CURLOPT_URL, url);
	curl_easy_setopt(ws->curl, CURLOPT_CONNECT_ONLY, 1L);
	/* the upgrade is HTTP/1.1: no h2 by ALPN */
	curl_easy_setopt(ws->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(ws->curl, CURLOPT_ERRORBUFFER, errbuf);
	if ((cc = curl_easy_perform(ws->curl)) != CURLE_OK) {
		rc = ws_fail(ctx, err, errlen, CSDK_EIO, "kube-apiserver at %s (from %s) cannot be reached for %s: %s; %s",
			     ctx->creds.server, ctx->creds.source, what, errbuf[0] ? errbuf : curl_easy_strerror(cc),
			     k8sp_curl_hint(cc));
		goto out;
	}
	curl_easy_getinfo(ws->curl, CURLINFO_ACTIVESOCKET, &ws->sock);
out:
	free(url);
	return rc;
}

/* Send the upgrade request for path; want receives the Sec-WebSocket-Accept it calls for. */
static int ws_send_upgrade(struct k8sp_k8s *ctx, struct k8sp_ws *ws, const struct curl_slist *headers, const char *path,
			   const char *protocols, char want[64], const char *what, char *err, size_t errlen)
{
	const char *server = ctx->creds.server, *hostpart = strstr(server, "://") ? strstr(server, "://") + 3 : server;
	/* the Authorization line k8sp_curl_setup prepared, if any */
	const char *auth = headers ? headers->data : NULL;
	char key[32], *req;
	unsigned char raw[16];
	int rc;

	random_bytes(raw, sizeof(raw));
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
	accept_key(key, want);
	if (asprintf(&req,
		     "GET %s HTTP/1.1\r\nHost: %.*s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n%s%s\r\n",
		     path, (int)strcspn(hostpart, "/"), hostpart, key, protocols, auth ? auth : "", auth ? "\r\n" : "") < 0)
		return ws_fail(ctx, err, errlen, CSDK_ENOMEM, "out of memory opening the %s stream", what);
	rc = send_all(ws, req, strlen(req));
	memset(req, 0, strlen(req));
	free(req);
	if (rc)
		return ws_fail(ctx, err, errlen, CSDK_EIO, "kube-apiserver at %s closed the connection during the %s upgrade; check the cluster",
			       server, what);
	return 0;
}

/* The error of an upgrade answered with HTTP status (not 101), its head hl bytes long. */
static int ws_refused(struct k8sp_k8s *ctx, struct k8sp_ws *ws, long hl, long status, const char *what, char *err,
		      size_t errlen)
{
	char msg[768], op[64];
	const char *brace;
	json_t *j;
	int rc;

	for (int i = 0; i < 20 && fill(ws, 100) > 0; i++)
		;
	brace = memchr(ws->buf + hl, '{', ws->len - (size_t)hl);
	j = brace ? json_loadb(brace, ws->len - (size_t)(brace - (char *)ws->buf), JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	snprintf(op, sizeof(op), "opening the %s stream", what);
	k8sp_api_msg(ctx, msg, sizeof(msg), op, status, j);
	rc = ws_fail(ctx, err, errlen, status == 404 ? CSDK_ENOTFOUND : status == 403 ? CSDK_EPERM : CSDK_EBACKEND, "%s", msg);
	json_decref(j);
	return rc;
}

/* Read the answer to the upgrade: 0 when it switched to WebSocket as asked. */
static int ws_read_upgrade(struct k8sp_k8s *ctx, struct k8sp_ws *ws, const char *want, long *http_status,
			   const char *what, char *err, size_t errlen)
{
	const char *server = ctx->creds.server;
	char accept[64];
	long status = 0, hl;

	while ((hl = k8sp_ws_parse_upgrade((char *)ws->buf, ws->len, &status, ws->proto, sizeof(ws->proto), accept, sizeof(accept))) == 0)
		if (fill(ws, 30000) <= 0)
			return ws_fail(ctx, err, errlen, CSDK_EIO, "kube-apiserver at %s gave no answer to the %s upgrade; check the cluster",
				       server, what);
	if (hl < 0)
		return ws_fail(ctx, err, errlen, CSDK_EBACKEND, "kube-apiserver at %s answered the %s upgrade with something other than HTTP",
			       server, what);
	if (http_status)
		*http_status = status;
	if (status != 101)
		return ws_refused(ctx, ws, hl, status, what, err, errlen);
	if (strcmp(accept, want))
		return ws_fail(ctx, err, errlen, CSDK_EBACKEND, "kube-apiserver at %s answered the %s upgrade with a wrong Sec-WebSocket-Accept; check for a proxy in between",
			       server, what);
	ws->consumed = (size_t)hl;
	ws->v5 = !strcmp(ws->proto, "v5.channel.k8s.io");
	return 0;
}

int k8sp_ws_open_err(struct k8sp_k8s *ctx, struct k8sp_ws *ws, const char *path, const char *protocols,
			  long *http_status, char *err, size_t errlen)
{
	struct curl_slist *headers = NULL;
	const char *what = strstr(path, "/portforward?") ? "port-forward" : "exec";
	char errbuf[CURL_ERROR_SIZE] = "", want[64];
	int rc;

	memset(ws, 0, sizeof(*ws));
	if (http_status)
		*http_status = 0;
	if ((rc = ws_connect(ctx, ws, &headers, errbuf, what, err, errlen)) ||
	    (rc = ws_send_upgrade(ctx, ws, headers, path, protocols, want, what, err, errlen)) ||
	    (rc = ws_read_upgrade(ctx, ws, want, http_status, what, err, errlen))) {
		k8sp_ws_close(ws);
		goto out;
	}
	/* errbuf is on this stack: a later failed send or recv must not write there */
	curl_easy_setopt(ws->curl, CURLOPT_ERRORBUFFER, NULL);
out:
	curl_slist_free_all(headers);
	return rc;
}

int k8sp_ws_send(struct k8sp_ws *ws, int opcode, const void *data, size_t len)
{
	unsigned char mask[4], *frame = malloc(k8sp_ws_frame_size(len));
	size_t n;
	int rc;

	if (!frame)
		return CSDK_ENOMEM;
	random_bytes(mask, sizeof(mask));
	n = k8sp_ws_encode(frame, opcode, data, len, mask);
	rc = send_all(ws, frame, n);
	free(frame);
	return rc;
}

int k8sp_ws_recv(struct k8sp_ws *ws, struct k8sp_ws_frame *f, int64_t timeout_ms)
{
	for (;;) {
		long n = k8sp_ws_parse(ws->buf + ws->consumed, ws->len - ws->consumed, MAX_PAYLOAD, f);
		int r;
		if (n < 0)
			return CSDK_EBACKEND;
		if (n > 0) {
			ws->consumed += (size_t)n;
			return 1;
		}
		r = fill(ws, timeout_ms < 0 ? -1 : timeout_ms > 3600000 ? 3600000 : (int)timeout_ms);
		if (r <= 0)
			return r;
	}
}

void k8sp_ws_close(struct k8sp_ws *ws)
{
	if (ws->curl)
		curl_easy_cleanup(ws->curl);
	free(ws->buf);
	ws->curl = NULL;
	ws->buf = NULL;
	ws->len = ws->cap = ws->consumed = 0;
}
