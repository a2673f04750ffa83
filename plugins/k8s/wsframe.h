/*
 * wsframe.h - WebSocket frames (RFC 6455) and Kubernetes' channel.k8s.io
 * streams, as pure functions over buffers: no I/O, no allocation beyond
 * jansson's in k8sp_status_exit. Fuzzed by tests/fuzz-wsframe.c.
 */
#ifndef K8SP_WSFRAME_H
#define K8SP_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

enum {
	K8SP_WS_CONT = 0x0,
	K8SP_WS_TEXT = 0x1,
	K8SP_WS_BINARY = 0x2,
	K8SP_WS_CLOSE = 0x8,
	K8SP_WS_PING = 0x9,
	K8SP_WS_PONG = 0xa
};

/* Kubernetes remotecommand channels: the first payload byte of each message. */
enum {
	K8SP_CH_STDIN = 0,
	K8SP_CH_STDOUT = 1,
	K8SP_CH_STDERR = 2,
	K8SP_CH_ERROR = 3,  /* v4+: a Status JSON when the command ends */
	K8SP_CH_RESIZE = 4,
	K8SP_CH_CLOSE = 255 /* v5: close the channel named by the next byte */
};

struct k8sp_ws_frame {
	int fin;
	int opcode;
	unsigned char *payload; /* inside the parsed buffer, unmasked */
	size_t len;
};

/**
 * Parse one frame at the start of buf (len bytes). Returns the bytes it
 * takes (> 0), 0 when more bytes are needed, or -1 when it is malformed
 * (reserved bits, unknown opcode, a control frame over 125 bytes or
 * fragmented, a payload over max_payload). A masked payload is unmasked in
 * place.
 */
long k8sp_ws_parse(unsigned char *buf, size_t len, size_t max_payload, struct k8sp_ws_frame *f);

/** The size of a client frame with a payload of len bytes. */
size_t k8sp_ws_frame_size(size_t len);
/** Write a final, masked client frame into out (k8sp_ws_frame_size(len) bytes); returns its size. */
size_t k8sp_ws_encode(unsigned char *out, int opcode, const void *payload, size_t len, const unsigned char mask[4]);

/**
 * Parse the server's answer to an upgrade request: returns the length of the
 * header block (through the blank line), 0 when incomplete, -1 when it is
 * not HTTP. *status gets the status code; proto (protolen bytes) the
 * Sec-WebSocket-Protocol chosen, or "" when none; accept the
 * Sec-WebSocket-Accept value, or "".
 */
long k8sp_ws_parse_upgrade(const char *buf, size_t len, long *status, char *proto, size_t protolen,
			    char *accept, size_t acceptlen);

/**
 * The exit code from a channel-3 Status: 0 for Success, N for reason
 * NonZeroExitCode with an ExitCode cause N. Otherwise -1 with msg set to
 * the Status message (e.g. an exec that could not start).
 */
int k8sp_status_exit(const char *json, size_t len, int *exit_code, char *msg, size_t msglen);

/* pods/portforward (v4.channel.k8s.io), one port: its data channel, then its error channel. */
enum { K8SP_PF_NONE = 2, K8SP_PF_DATA = 0, K8SP_PF_ERROR = 1 };

struct k8sp_pf {
	uint16_t port;         /* the port asked for */
	unsigned char head[2]; /* bytes of each channel's port prefix seen so far */
	int channel;           /* of the message that continuation frames belong to; set it to -1 */
};

/**
 * One data frame (binary or continuation) of a port-forward stream. Each
 * channel starts with the port, 2 bytes little-endian, which is checked and
 * skipped. Returns K8SP_PF_DATA with *data, *dlen (> 0) the bytes for
 * the local connection; K8SP_PF_ERROR with the text of an error (> 0
 * bytes, possibly cut in frames: the caller reports what it got);
 * K8SP_PF_NONE when the frame carries nothing past the port; -1 when it
 * breaks the protocol (another channel, another port, a continuation with
 * no message before it).
 */
int k8sp_pf_frame(struct k8sp_pf *st, int opcode, const unsigned char *payload, size_t len,
		       const unsigned char **data, size_t *dlen);

#endif
