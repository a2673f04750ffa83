/*
 * fuzz-wsframe.c - WebSocket frames, the upgrade answer and channel-3
 * Status parsing (plugins/k8s/wsframe.c). Properties: the parser never
 * reads past its input and a frame is judged only once complete (every
 * shorter prefix needs more bytes); an encoded client frame parses back to
 * its payload; the upgrade and Status parsers terminate on anything; the
 * port-forward channel parser only hands on bytes inside the frame and after
 * both bytes of the port.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf, *enc;
	struct k8sp_ws_frame f;
	struct k8sp_pf pf = { .port = 49983, .channel = -1 };
	size_t pos = 0, pfdata = 0;
	long n;
	char proto[64], accept[64], msg[128];
	long status = 0;
	int code = 0;

	if (size < 1)
		return 0;
	if (!(buf = malloc(size)))
		return 0;
	memcpy(buf, data, size);
	/* a stream of server frames */
	while (pos < size && (n = k8sp_ws_parse(buf + pos, size - pos, 1 << 20, &f)) > 0) {
		FUZZ_CHECK((size_t)n <= size - pos);
		FUZZ_CHECK(f.payload >= buf + pos && f.payload + f.len <= buf + pos + n);
		if (f.opcode == K8SP_WS_BINARY || f.opcode == K8SP_WS_CONT) {
			const unsigned char *d;
			size_t dl;
			int k = k8sp_pf_frame(&pf, f.opcode, f.payload, f.len, &d, &dl);
			FUZZ_CHECK(k == -1 || k == K8SP_PF_NONE || k == K8SP_PF_DATA || k == K8SP_PF_ERROR);
			FUZZ_CHECK(d >= f.payload && d + dl <= f.payload + f.len);
			if (k == K8SP_PF_DATA) {
				FUZZ_CHECK(dl > 0 && pf.head[K8SP_PF_DATA] == 2);
				pfdata += dl;
			}
			if (k == K8SP_PF_ERROR)
				FUZZ_CHECK(dl > 0 && pf.head[K8SP_PF_ERROR] == 2);
			if (k == K8SP_PF_NONE)
				FUZZ_CHECK(dl == 0);
			if (k == -1)
				pf = (struct k8sp_pf){ .port = (uint16_t)(data[0] | data[size - 1] << 8), .channel = -1 };
		}
		if (pos + (size_t)n <= size && n < 4096) {
			/* every strict prefix is incomplete */
			unsigned char *copy = malloc((size_t)n);
			struct k8sp_ws_frame g;
			memcpy(copy, data + pos, (size_t)n);
			for (long k = 0; k < n; k += (n > 64 ? 7 : 1))
				FUZZ_CHECK(k8sp_ws_parse(copy, (size_t)k, 1 << 20, &g) == 0);
			free(copy);
		}
		pos += (size_t)n;
	}
	FUZZ_CHECK(pfdata <= size);
	/* a client frame of the input round trips */
	enc = malloc(k8sp_ws_frame_size(size));
	if (enc) {
		unsigned char mask[4] = { data[0], (unsigned char)(data[0] * 3), 0x5a, 0xa5 };
		size_t len = k8sp_ws_encode(enc, K8SP_WS_BINARY, data, size, mask);
		FUZZ_CHECK(len == k8sp_ws_frame_size(size));
		FUZZ_CHECK(k8sp_ws_parse(enc, len, size + 1, &f) == (long)len);
		FUZZ_CHECK(f.fin && f.opcode == K8SP_WS_BINARY && f.len == size && !memcmp(f.payload, data, size));
		free(enc);
	}
	n = k8sp_ws_parse_upgrade((const char *)data, size, &status, proto, sizeof(proto), accept, sizeof(accept));
	FUZZ_CHECK(n <= (long)size);
	if (n > 0)
		FUZZ_CHECK(status >= 0 && status <= 999 && strlen(proto) < sizeof(proto) && strlen(accept) < sizeof(accept));
	if (k8sp_status_exit((const char *)data, size, &code, msg, sizeof(msg)) == 0)
		FUZZ_CHECK(code >= 0 && code <= 255);
	else
		FUZZ_CHECK(strlen(msg) < sizeof(msg) && !strchr(msg, '\n'));
	free(buf);
	return 0;
}
