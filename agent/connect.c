#include "config.h"

#include "connect.h"

#include <stdlib.h>
#include <string.h>

int agent_envelope_parse(const unsigned char *buf, size_t len, size_t max_payload,
			 struct agent_envelope *env, const char **why)
{
	uint32_t n;

	if (len < AGENT_ENV_HDR)
		return 0;
	if (buf[0] & ~(unsigned)(AGENT_ENV_COMPRESSED | AGENT_ENV_END)) {
		*why = "unknown envelope flags";
		return -1;
	}
	n = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
	if (n > max_payload) {
		*why = "message larger than the limit";
		return -1;
	}
	if (len - AGENT_ENV_HDR < n)
		return 0;
	env->flags = buf[0];
	env->data = buf + AGENT_ENV_HDR;
	env->len = n;
	env->total = AGENT_ENV_HDR + (size_t)n;
	return 1;
}

int agent_stream_request(const unsigned char *buf, size_t len, size_t max_payload,
			 const unsigned char **msg, size_t *msg_len, const char **why)
{
	struct agent_envelope env;
	int rc = agent_envelope_parse(buf, len, max_payload, &env, why);

	if (rc == 0) {
		*why = "truncated envelope";
		return -1;
	}
	if (rc < 0)
		return -1;
	if (env.flags & AGENT_ENV_COMPRESSED) {
		*why = "compressed messages are not supported";
		return -1;
	}
	if (env.flags & AGENT_ENV_END) {
		*why = "end-of-stream envelope where a message was expected";
		return -1;
	}
	if (env.total != len) {
		*why = "a server-streaming request carries exactly one message";
		return -1;
	}
	*msg = env.data;
	*msg_len = env.len;
	return 0;
}

void agent_envelope_header(unsigned char hdr[AGENT_ENV_HDR], unsigned flags, size_t len)
{
	hdr[0] = (unsigned char)flags;
	hdr[1] = (unsigned char)(len >> 24);
	hdr[2] = (unsigned char)(len >> 16);
	hdr[3] = (unsigned char)(len >> 8);
	hdr[4] = (unsigned char)len;
}

static const struct {
	const char *code;
	int status;
} agent_codes[] = {
	{ "canceled", 499 },          { "unknown", 500 },
	{ "invalid_argument", 400 },  { "deadline_exceeded", 504 },
	{ "not_found", 404 },         { "already_exists", 409 },
	{ "permission_denied", 403 }, { "resource_exhausted", 429 },
	{ "failed_precondition", 400 }, { "aborted", 409 },
	{ "out_of_range", 400 },      { "unimplemented", 501 },
	{ "internal", 500 },          { "unavailable", 503 },
	{ "data_loss", 500 },         { "unauthenticated", 401 },
};

int agent_code_http_status(const char *code)
{
	for (size_t i = 0; i < sizeof agent_codes / sizeof agent_codes[0]; i++)
		if (strcmp(agent_codes[i].code, code) == 0)
			return agent_codes[i].status;
	return 500;
}

int agent_code_known(const char *code)
{
	for (size_t i = 0; i < sizeof agent_codes / sizeof agent_codes[0]; i++)
		if (strcmp(agent_codes[i].code, code) == 0)
			return 1;
	return 0;
}

