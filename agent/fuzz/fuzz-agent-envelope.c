/* Envelopes of a request body: parse, split, re-encode. */
#include "config.h"

#include <string.h>

#include "connect.h"
#include "fuzz.h"
#include "request.h"

static void fuzz_chain(const uint8_t *data, size_t size)
{
	struct agent_envelope env;
	const char *why = NULL;
	size_t off = 0;
	int rc;

	while ((rc = agent_envelope_parse(data + off, size - off, 1 << 16, &env, &why)) == 1) {
		unsigned char hdr[AGENT_ENV_HDR];
		FUZZ_CHECK(env.total == AGENT_ENV_HDR + env.len && env.total <= size - off);
		agent_envelope_header(hdr, env.flags, env.len);
		FUZZ_CHECK(memcmp(hdr, data + off, AGENT_ENV_HDR) == 0);
		off += env.total;
	}
	FUZZ_CHECK(rc == 0 || (rc == -1 && why && !strchr(why, '\n')));
}

static void fuzz_start(const unsigned char *msg, size_t len)
{
	struct agent_err err = { 0 };
	struct agent_start_req req;
	json_t *v = agent_parse_object((const char *)msg, len, &err);

	if (!v) {
		FUZZ_CHECK(err.code && strcmp(err.code, "invalid_argument") == 0);
		return;
	}
	if (agent_parse_start(v, &req, &err) == 0) {
		FUZZ_CHECK(req.argv && req.argv[0] && strcmp(req.argv[0], req.cmd) == 0);
		FUZZ_CHECK(req.argv[req.nargs + 1] == NULL && req.envs[req.nenvs] == NULL);
		for (size_t i = 0; i < req.nenvs; i++)
			FUZZ_CHECK(strchr(req.envs[i], '=') != NULL);
	} else {
		FUZZ_CHECK(agent_code_known(err.code));
	}
	agent_start_req_free(&req);
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *msg;
	const char *why = NULL;
	size_t len;

	fuzz_chain(data, size);
	if (agent_stream_request(data, size, 1 << 16, &msg, &len, &why) == 0) {
		FUZZ_CHECK(len + AGENT_ENV_HDR == size);
		fuzz_start(msg, len);
	} else {
		FUZZ_CHECK(why != NULL);
	}
	return 0;
}
