/*
 * fuzz-serve.c - the request parsing of csdk serve (tools/serve/parse.c).
 *
 * The first byte picks a parser, the rest is its input: a request target
 * split into path segments and query values, a Host header, a create or
 * timeout body, a metadata filter. Properties: nothing crashes or leaks;
 * decoded segments hold no '/' or NUL; an id that passes holds no "..",
 * '/' or '%'; an accepted timeout is within its bounds.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "serve/serve.h"

static void check_id(const char *id)
{
	if (serve_valid_id(id)) {
		FUZZ_CHECK(!strstr(id, ".."));
		FUZZ_CHECK(!strchr(id, '/') && !strchr(id, '%') && !strchr(id, '\\'));
		FUZZ_CHECK(strlen(id) <= SERVE_MAX_ID);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *seg[8], err[256], id[SERVE_MAX_ID + 1];
	struct serve_create_req req;
	int n, i, port;
	int64_t t;
	json_t *filter;

	if (size < 1)
		return 0;
	if (!(s = malloc(size)))
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0:
		n = serve_split_path(seg, 8, s);
		FUZZ_CHECK(n <= 8);
		for (i = 0; i < n; i++) {
			FUZZ_CHECK(!strchr(seg[i], '/'));
			check_id(seg[i]);
			free(seg[i]);
		}
		break;
	case 1:
		free(serve_query_param(s, "metadata"));
		free(serve_query_param(s, "nextToken"));
		check_id(s);
		break;
	case 2:
		if (serve_parse_host(s, &port, id, sizeof(id)) == 0) {
			FUZZ_CHECK(port >= 1 && port <= 65535);
			FUZZ_CHECK(serve_valid_id(id));
			check_id(id);
		}
		break;
	case 3:
		if (serve_parse_create(&req, (const char *)data + 1, size - 1, 300, 86400, err, sizeof(err)) == 0) {
			FUZZ_CHECK(req.template_id && *req.template_id);
			FUZZ_CHECK(req.timeout_s >= 1 && req.timeout_s <= 86400);
			serve_create_req_clear(&req);
		} else {
			FUZZ_CHECK(err[0]);
		}
		break;
	case 4:
		if (serve_parse_timeout(&t, (const char *)data + 1, size - 1, data[0] & 0x80 ? 300 : 0, 3600, err, sizeof(err)) == 0)
			FUZZ_CHECK(t >= 1 && t <= 3600);
		break;
	case 5:
		if ((filter = serve_parse_metadata_query(s, err, sizeof(err)))) {
			FUZZ_CHECK(json_is_object(filter));
			FUZZ_CHECK(serve_metadata_matches(filter, filter));
			json_decref(filter);
		}
		break;
	}
	free(s);
	return 0;
}
