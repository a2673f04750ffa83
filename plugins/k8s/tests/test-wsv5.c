/*
 * test-wsv5.c - what the v1.20 test cluster cannot show: the v5 protocol's
 * CLOSE frame for stdin. Runs k8sp_exec_argv (linked from the
 * plugin's sources) against wsv5-server.js on 127.0.0.1:PORT, which echoes
 * stdin only once stdin has been closed with that frame.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"

struct csdk_sink { char out[4096]; size_t len; };

static char last_error[1024];

static int h_error(const struct csdk_host *h, int code, const char *fmt, ...)
{
	va_list ap;
	(void)h;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return code;
}

static void h_log(const struct csdk_host *h, enum csdk_log_level level, const char *fmt, ...)
{
	(void)h;
	(void)level;
	(void)fmt;
}

static int h_sink_write(struct csdk_sink *s, enum csdk_stream st, const void *d, size_t n)
{
	if (st == CSDK_STREAM_STDOUT && s->len + n < sizeof(s->out)) {
		memcpy(s->out + s->len, d, n);
		s->len += n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct csdk_host host = { .struct_size = sizeof(host), .log = h_log, .error = h_error, .sink_write = h_sink_write };
	static const char input[] = "line one\nline two, no newline at the end";
	const char *const cmd[] = { "cat" };
	struct k8sp_k8s ctx = { .host = &host, .namespace_ = "default" };
	struct csdk_sink sink = { .len = 0 };
	char server[64];
	int code = -1, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: test-wsv5 PORT\n");
		return 2;
	}
	snprintf(server, sizeof(server), "http://127.0.0.1:%s", argv[1]);
	ctx.creds.server = server;
	snprintf(ctx.creds.source, sizeof(ctx.creds.source), "the WebSocket test server");
	rc = k8sp_exec_argv(&ctx, "pod", cmd, 1, input, strlen(input), 10000, &sink, &code);
	if (rc || code != 0 || sink.len != strlen(input) || memcmp(sink.out, input, sink.len)) {
		fprintf(stderr, "FAIL: v5 exec with stdin: rc %d (%s), exit %d, stdout [%.*s]\n", rc, last_error, code,
			(int)sink.len, sink.out);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	printf("PASS: v5 negotiated, stdin closed with the CLOSE frame, exit 0, stdin echoed\n1 passed, 0 failed\n");
	return 0;
}
