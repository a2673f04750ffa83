/* Unary request messages and path resolution. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "connect.h"
#include "fuzz.h"
#include "request.h"

static void fuzz_path(const char *s)
{
	char *p = agent_path_resolve(s, "/base/dir", "/home/u"), *again;

	if (!p)
		return;
	FUZZ_CHECK(p[0] == '/' && !strstr(p, "//") && !strstr(p, "/./") && !strstr(p, "/../"));
	again = agent_path_resolve(p, "/elsewhere", "/x");
	FUZZ_CHECK(again && strcmp(p, again) == 0);
	free(again);
	free(p);
}

static void fuzz_messages(json_t *v)
{
	struct agent_err err = { 0 };
	struct agent_selector sel;
	unsigned char *data = NULL;
	size_t len = 0;
	char *s = NULL;
	uint32_t u;
	int signo, b;

	if (agent_parse_selector(v, &sel, &err) == 0)
		FUZZ_CHECK(sel.by_tag ? sel.tag != NULL : 1);
	else
		FUZZ_CHECK(agent_code_known(err.code));
	agent_selector_free(&sel);
	if (agent_parse_signal(v, &signo, &err) == 0)
		FUZZ_CHECK(signo == 9 || signo == 15);
	if (agent_parse_input(v, &data, &len, &err) == 0)
		FUZZ_CHECK(data != NULL);
	free(data);
	if (agent_parse_string(v, "path", &s, &err) == 0 && s)
		fuzz_path(s);
	free(s);
	agent_parse_uint32(v, "depth", &u, &err);
	agent_parse_bool(v, "stdin", &b, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_err err = { 0 };
	json_t *v = agent_parse_object((const char *)data, size, &err);
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	char *str;

	if (v) {
		fuzz_messages(v);
		json_decref(v);
	}
	if (csdku_b64_decode(&raw, &raw_len, (const char *)data, size) == 0) {
		char *enc = csdku_b64_encode(raw, raw_len);
		unsigned char *back = NULL;
		size_t back_len = 0;
		FUZZ_CHECK(enc && csdku_b64_decode(&back, &back_len, enc, strlen(enc)) == 0);
		FUZZ_CHECK(back_len == raw_len && memcmp(back, raw, raw_len) == 0);
		free(enc);
		free(back);
		free(raw);
	}
	str = strndup((const char *)data, size);
	if (str) {
		fuzz_path(str);
		free(str);
	}
	return 0;
}
