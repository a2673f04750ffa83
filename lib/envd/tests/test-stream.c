/*
 * test-stream: envdc_run reads process.Process/Start streams exactly, from a
 * stand-in agent on a unix socket that sends a prepared body in HTTP chunks
 * of a chosen size (so curl hands it over in pieces that split envelopes
 * anywhere): output bytes and streams in order, the exit code, messages in
 * the common data shape and in any other JSON spelling, errors; answers
 * over the client's limits (a unary answer, a /files error body).
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "envd.h"

struct agent {
	char dir[64];
	char url[128];
	pid_t pid;
};

static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			_exit(3);
		p += n;
		len -= (size_t)n;
	}
}

/* Reads one request (headers, then Content-Length bytes), answers it with body in chunks of piece bytes. */
static void answer(int fd, int status, const char *body, size_t len, size_t piece)
{
	char req[65536], *end = NULL, *cl, *out;
	size_t got = 0, need = 0, o;

	while (!end || got < need) {
		ssize_t r = read(fd, req + got, sizeof(req) - 1 - got);

		if (r <= 0)
			_exit(2);
		got += (size_t)r;
		req[got] = '\0';
		if (!end && (end = strstr(req, "\r\n\r\n"))) {
			cl = strcasestr(req, "Content-Length:");
			need = (size_t)(end + 4 - req) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
		}
	}
	/* Written at once: curl still hands each chunk over on its own. */
	out = malloc(256 + len + (len / piece + 1) * 32);
	if (!out)
		_exit(4);
	o = (size_t)sprintf(out, "HTTP/1.1 %d X\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n", status,
			    status == 200 ? "application/connect+json" : "application/json");
	for (size_t at = 0; at < len; at += piece) {
		size_t k = len - at < piece ? len - at : piece;

		o += (size_t)sprintf(out + o, "%zx\r\n", k);
		memcpy(out + o, body + at, k);
		o += k;
		o += (size_t)sprintf(out + o, "\r\n");
	}
	o += (size_t)sprintf(out + o, "0\r\n\r\n");
	write_all(fd, out, o);
	free(out);
}

static void agent_start(struct agent *a, int status, const char *body, size_t len, size_t piece)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l;

	snprintf(a->dir, sizeof(a->dir), "/tmp/envd-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(a->dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", a->dir);
	snprintf(a->url, sizeof(a->url), "unix:%s", sa.sun_path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	a->pid = fork();
	ck_assert_int_ge(a->pid, 0);
	if (a->pid == 0) {
		int c = accept(l, NULL, NULL);

		if (c < 0)
			_exit(1);
		answer(c, status, body, len, piece);
		close(c);
		_exit(0);
	}
	close(l);
}

static void agent_stop(struct agent *a)
{
	char path[128];
	int status;

	kill(a->pid, SIGKILL);
	waitpid(a->pid, &status, 0);
	snprintf(path, sizeof(path), "%s/sock", a->dir);
	unlink(path);
	rmdir(a->dir);
}

/* The output as the callback saw it: "1:" or "2:" and the bytes, per call. */
struct seen {
	char *data;
	size_t len;
	int calls;
};

static int record(void *userdata, enum csdk_stream stream, const void *data, size_t len)
{
	struct seen *s = userdata;

	s->data = realloc(s->data, s->len + len + 2);
	ck_assert_ptr_nonnull(s->data);
	s->data[s->len++] = stream == CSDK_STREAM_STDOUT ? '1' : '2';
	s->data[s->len++] = ':';
	memcpy(s->data + s->len, data, len);
	s->len += len;
	s->calls++;
	return 0;
}

/* Appends one envelope around msg (len bytes) to *body. */
static void frame(char **body, size_t *len, unsigned flags, const char *msg, size_t n)
{
	*body = realloc(*body, *len + 5 + n);
	ck_assert_ptr_nonnull(*body);
	(*body)[*len] = (char)flags;
	(*body)[*len + 1] = (char)(n >> 24);
	(*body)[*len + 2] = (char)(n >> 16);
	(*body)[*len + 3] = (char)(n >> 8);
	(*body)[*len + 4] = (char)n;
	memcpy(*body + *len + 5, msg, n);
	*len += 5 + n;
}

static void msg(char **body, size_t *len, unsigned flags, const char *text)
{
	frame(body, len, flags, text, strlen(text));
}

static int run(const char *body, size_t len, size_t piece, int status, struct seen *seen, int *exit_code,
	       char err[ENVDC_ERR_MAX])
{
	struct envdc_command cmd = { .command = "x", .on_output = record, .userdata = seen };
	struct agent a;
	envdc *c = NULL;
	int rc;

	agent_start(&a, status, body, len, piece);
	ck_assert_int_eq(envdc_new(&c, a.url, "tok", NULL, 0, err), 0);
	rc = envdc_run(c, &cmd, exit_code, err);
	envdc_free(c);
	agent_stop(&a);
	return rc;
}

static const size_t pieces[] = { 1, 2, 3, 5, 7, 64, 4096, 1 << 20 };

START_TEST(mixed_spellings)
{
	static const char want[] = "1:\x00\x01\x02\xff"      /* common shape */
				   "2:hi\n"                  /* spaced, stderr */
				   "1:\xff"                  /* escaped slash: jansson */
				   "1:\xfb\xff"              /* URL alphabet */
				   "1:ABC"                   /* another field after data: jansson */
				   "1:xy"                    /* pty, unpadded */
				   "2:z";                    /* spaced keys, stderr last */
	char *body = NULL, err[ENVDC_ERR_MAX] = "";
	size_t len = 0, piece = pieces[_i];
	struct seen seen = { 0 };
	int code = -1, rc;

	msg(&body, &len, 0, "{\"event\":{\"start\":{\"pid\":7}}}");
	msg(&body, &len, 0, "{\"event\":{\"keepalive\":{}}}");
	msg(&body, &len, 0, "{\"event\":{\"data\":{\"stdout\":\"AAEC/w==\"}}}");
	msg(&body, &len, 0, " {\n \"event\" : {\t\"data\": {\"stderr\" :\"aGkK\"} } }\r\n");
	msg(&body, &len, 0, "{\"event\":{\"data\":{\"stdout\":\"\\/w==\"}}}");
	msg(&body, &len, 0, "{\"event\":{\"data\":{\"stdout\":\"-_8=\"}}}");
	msg(&body, &len, 0, "{\"event\":{\"data\":{\"stdout\":\"QUJD\"},\"x\":1}}");
	msg(&body, &len, 0, "{\"event\":{\"data\":{\"pty\":\"eHk\"}}}");
	msg(&body, &len, 0, "{ \"event\" :{ \"data\" :{ \"stderr\" : \"eg==\" }}}");
	msg(&body, &len, 0, "{\"event\":{\"end\":{\"exitCode\":3,\"exited\":true,\"status\":\"exit status 3\"}}}");
	msg(&body, &len, 2, "{}");
	rc = run(body, len, piece, 200, &seen, &code, err);
	ck_assert_msg(rc == 0, "piece %zu: rc %d: %s", piece, rc, err);
	ck_assert_int_eq(code, 3);
	ck_assert_int_eq(seen.calls, 7);
	ck_assert_uint_eq(seen.len, sizeof(want) - 1);
	ck_assert_msg(!memcmp(seen.data, want, sizeof(want) - 1), "piece %zu: output differs", piece);
	free(seen.data);
	free(body);
}
END_TEST

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Random output in messages of 1, 3, 7 ... 65535 bytes and one of 1 MiB, every byte exact. */
START_TEST(binary_chunks)
{
	size_t piece = pieces[_i], len = 0, total = 0, at = 0;
	char *body = NULL, *text = malloc((1u << 20) / 3 * 4 + 64), err[ENVDC_ERR_MAX] = "";
	unsigned char *bytes = malloc(1u << 20);
	struct seen seen = { 0 };
	int code = -1, rc, calls = 0;

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(bytes);
	srand(42);
	msg(&body, &len, 0, "{\"event\":{\"start\":{\"pid\":9}}}");
	for (size_t n = 1; n <= (1u << 20); n = n < 40000 ? n * 2 + 1 : (n == 1u << 20 ? n + 1 : 1u << 20)) {
		size_t o = (size_t)sprintf(text, "{\"event\":{\"data\":{\"%s\":\"", n % 3 ? "stdout" : "stderr");

		for (size_t i = 0; i < n; i++)
			bytes[i] = (unsigned char)rand();
		for (size_t i = 0; i < n; i += 3) {
			unsigned v = (unsigned)bytes[i] << 16 | (i + 1 < n ? (unsigned)bytes[i + 1] << 8 : 0) |
				     (i + 2 < n ? bytes[i + 2] : 0);

			text[o++] = b64[v >> 18 & 63];
			text[o++] = b64[v >> 12 & 63];
			text[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
			text[o++] = i + 2 < n ? b64[v & 63] : '=';
		}
		o += (size_t)sprintf(text + o, "\"}}}");
		frame(&body, &len, 0, text, o);
		total += n + 2;
		calls++;
	}
	msg(&body, &len, 0, "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}");
	msg(&body, &len, 2, "{}");
	rc = run(body, len, piece, 200, &seen, &code, err);
	ck_assert_msg(rc == 0, "piece %zu: rc %d: %s", piece, rc, err);
	ck_assert_int_eq(code, 0);
	ck_assert_int_eq(seen.calls, calls);
	ck_assert_uint_eq(seen.len, total);
	/* The same bytes again, from the same seed. */
	srand(42);
	for (size_t n = 1; n <= (1u << 20); n = n < 40000 ? n * 2 + 1 : (n == 1u << 20 ? n + 1 : 1u << 20)) {
		size_t i = 0;

		ck_assert_int_eq(seen.data[at], n % 3 ? '1' : '2');
		at += 2;
		/* One assertion per message, not per byte: each passing ck_assert writes to Check's pipe. */
		while (i < n && (unsigned char)seen.data[at + i] == (unsigned char)rand())
			i++;
		ck_assert_msg(i == n, "piece %zu: message of %zu bytes, byte %zu", piece, n, i);
		at += n;
	}
	free(seen.data);
	free(body);
	free(text);
	free(bytes);
}
END_TEST

START_TEST(bad_base64)
{
	static const char *const bad[] = {
		"{\"event\":{\"data\":{\"stdout\":\"QU*D\"}}}",
		"{\"event\":{\"data\":{\"stdout\":\"QUJD\\u002a\"}}}",
	};
	char *body = NULL, err[ENVDC_ERR_MAX] = "";
	size_t len = 0;
	struct seen seen = { 0 };
	int code = -1, rc;

	msg(&body, &len, 0, "{\"event\":{\"start\":{\"pid\":7}}}");
	msg(&body, &len, 0, bad[_i]);
	msg(&body, &len, 0, "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}");
	msg(&body, &len, 2, "{}");
	rc = run(body, len, 3, 200, &seen, &code, err);
	ck_assert_int_eq(rc, CSDK_EBACKEND);
	ck_assert_str_eq(err, "the sandbox agent sent a stream that is not envd's protocol");
	ck_assert_int_eq(seen.calls, 0);
	free(body);
}
END_TEST

/* 96 characters, "++++..." (72 bytes fb ef be ...) with one changed at _i: '-' is
 * the same value in the URL alphabet, '*' is no base64 at all. */
START_TEST(long_strings)
{
	static const unsigned char group[3] = { 0xfb, 0xef, 0xbe };
	char text[160], *body = NULL, err[ENVDC_ERR_MAX] = "";
	size_t len = 0;
	struct seen seen = { 0 };
	int code = -1, rc;

	for (int bad = 0; bad < 2; bad++) {
		int n = sprintf(text, "{\"event\":{\"data\":{\"stdout\":\"");

		memset(text + n, '+', 96);
		text[n + _i] = bad ? '*' : '-';
		sprintf(text + n + 96, "\"}}}");
		len = 0;
		msg(&body, &len, 0, "{\"event\":{\"start\":{\"pid\":7}}}");
		msg(&body, &len, 0, text);
		msg(&body, &len, 0, "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}");
		msg(&body, &len, 2, "{}");
		memset(&seen, 0, sizeof(seen));
		rc = run(body, len, 4096, 200, &seen, &code, err);
		if (bad) {
			ck_assert_int_eq(rc, CSDK_EBACKEND);
			ck_assert_int_eq(seen.calls, 0);
			continue;
		}
		ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
		ck_assert_int_eq(seen.calls, 1);
		ck_assert_uint_eq(seen.len, 2 + 72);
		for (size_t i = 0; i < 72; i++)
			ck_assert_uint_eq((unsigned char)seen.data[2 + i], group[i % 3]);
		free(seen.data);
	}
	free(body);
}
END_TEST

START_TEST(connect_error_body)
{
	static const char body[] = "{\"code\":\"unauthenticated\",\"message\":\"unauthorized access\"}";
	char err[ENVDC_ERR_MAX] = "";
	struct seen seen = { 0 };
	int code = -1, rc;

	rc = run(body, sizeof(body) - 1, 7, 401, &seen, &code, err);
	ck_assert_int_eq(rc, CSDK_EPERM);
	ck_assert_str_eq(err, "the sandbox agent refused the command: unauthorized access (unauthenticated)");
	ck_assert_int_eq(seen.calls, 0);
}
END_TEST

START_TEST(end_frame_error)
{
	char *body = NULL, err[ENVDC_ERR_MAX] = "";
	size_t len = 0;
	struct seen seen = { 0 };
	int code = -1, rc;

	msg(&body, &len, 2, "{\"error\":{\"code\":\"invalid_argument\",\"message\":\"error starting process: exec x: No such file\"}}");
	rc = run(body, len, 1, 200, &seen, &code, err);
	ck_assert_int_eq(rc, CSDK_EINVAL);
	ck_assert_str_eq(err, "the sandbox agent refused the command: error starting process: exec x: No such file (invalid_argument)");
	free(body);
}
END_TEST

/* A client of an agent that answers status with len spaces (in pieces of piece bytes). */
static envdc *spaces_agent(struct agent *a, int status, size_t len, size_t piece)
{
	char *body = malloc(len), err[ENVDC_ERR_MAX] = "";
	envdc *c = NULL;

	ck_assert_ptr_nonnull(body);
	memset(body, ' ', len);
	agent_start(a, status, body, len, piece);
	free(body);
	ck_assert_int_eq(envdc_new(&c, a->url, "tok", NULL, 0, err), 0);
	return c;
}

START_TEST(unary_over_limit)
{
	char err[ENVDC_ERR_MAX] = "";
	struct agent a;
	envdc *c = spaces_agent(&a, 200, (16u << 20) + 1, 1 << 20);

	ck_assert_int_eq(envdc_mkdir(c, "/d", err), CSDK_EBACKEND);
	ck_assert_str_eq(err, "filesystem.Filesystem/MakeDir: the sandbox agent's answer passed 16 MiB; check the agent");
	envdc_free(c);
	agent_stop(&a);
}
END_TEST

START_TEST(error_body_over_limit)
{
	char err[ENVDC_ERR_MAX] = "";
	struct agent a;
	envdc *c = spaces_agent(&a, 400, (64u << 10) + 1, 4096);

	ck_assert_int_eq(envdc_write(c, "/f", "x", 1, err), CSDK_EBACKEND);
	ck_assert_str_eq(err, "POST /files: the sandbox agent's answer passed 64 KiB; check the agent");
	envdc_free(c);
	agent_stop(&a);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("envd-stream");
	TCase *tc = tcase_create("stream");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, mixed_spellings, 0, sizeof(pieces) / sizeof(pieces[0]));
	tcase_add_loop_test(tc, binary_chunks, 0, sizeof(pieces) / sizeof(pieces[0]));
	tcase_add_loop_test(tc, bad_base64, 0, 2);
	tcase_add_loop_test(tc, long_strings, 0, 96);
	tcase_add_test(tc, connect_error_body);
	tcase_add_test(tc, end_frame_error);
	tcase_add_test(tc, unary_over_limit);
	tcase_add_test(tc, error_body_over_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
