/*
 * wsconn.h - a WebSocket client connection to kube-apiserver: libcurl
 * (CURLOPT_CONNECT_ONLY) makes the TCP/TLS connection with the same
 * credentials as the REST calls; the upgrade and the frames are ours
 * (wsframe.c), since Debian's libcurl 7.88 has no WebSocket support.
 */
#ifndef K8SP_WSCONN_H
#define K8SP_WSCONN_H

#include "k8s.h"
#include "wsframe.h"

struct k8sp_ws {
	CURL *curl;
	curl_socket_t sock;
	unsigned char *buf;
	size_t len, cap, consumed;
	char proto[64];
	int v5;
};

/**
 * Open path (with its query) as a WebSocket offering protocols (a
 * comma-separated list). 0, or a negative code after host->error; an
 * answer other than 101 is reported with the Status message it carries,
 * and *http_status (when not NULL) gets its code.
 */
int k8sp_ws_open(struct k8sp_k8s *ctx, struct k8sp_ws *ws, const char *path, const char *protocols,
		      long *http_status);
/** The same, from a thread of the plugin's own: the message goes into err (errlen bytes), not to host->error. */
int k8sp_ws_open_err(struct k8sp_k8s *ctx, struct k8sp_ws *ws, const char *path, const char *protocols,
			  long *http_status, char *err, size_t errlen);
/** Send one final masked frame. */
int k8sp_ws_send(struct k8sp_ws *ws, int opcode, const void *data, size_t len);
/** The next frame: 1 with *f set (valid until the next call), 0 when timeout_ms passed (-1: wait), CSDK_EIO when closed, CSDK_EBACKEND when malformed. */
int k8sp_ws_recv(struct k8sp_ws *ws, struct k8sp_ws_frame *f, int64_t timeout_ms);
void k8sp_ws_close(struct k8sp_ws *ws);

#endif
