/* Connect protocol pieces with no I/O: envelopes, codes, base64. */
#ifndef AGENT_CONNECT_H
#define AGENT_CONNECT_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_ENV_HDR 5
#define AGENT_ENV_COMPRESSED 0x01
#define AGENT_ENV_END 0x02

struct agent_envelope {
	unsigned flags;
	const unsigned char *data;
	size_t len;    /* payload length */
	size_t total;  /* header + payload */
};

/* 1: one envelope at buf; 0: incomplete; -1: invalid (*why says why). */
int agent_envelope_parse(const unsigned char *buf, size_t len, size_t max_payload,
			 struct agent_envelope *env, const char **why);
/* The single message of a server-streaming request body. 0 or -1 (*why). */
int agent_stream_request(const unsigned char *buf, size_t len, size_t max_payload,
			 const unsigned char **msg, size_t *msg_len, const char **why);
void agent_envelope_header(unsigned char hdr[AGENT_ENV_HDR], unsigned flags, size_t len);

int agent_code_http_status(const char *code);
int agent_code_known(const char *code);

#define AGENT_B64_LEN(n) (((n) + 2) / 3 * 4)
char *agent_b64_encode(const unsigned char *in, size_t n);
/* Writes AGENT_B64_LEN(n) characters (no NUL) to out; returns that length. */
size_t agent_b64_encode_to(char *out, const unsigned char *in, size_t n);
/* Standard or URL alphabet, padding optional. 0 or -1. */
int agent_b64_decode(const char *in, size_t n, unsigned char **out, size_t *out_len);

#endif
