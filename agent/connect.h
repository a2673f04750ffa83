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

#endif
