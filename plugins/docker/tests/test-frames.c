/* The raw-stream demultiplexer, fed the same frames split at every byte boundary. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csdk/plugin.h>

#include "frames.h"

static int failures;

#define CHECK(cond, ...)                                               \
	do {                                                           \
		if (!(cond)) {                                         \
			failures++;                                    \
			fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                  \
			fputc('\n', stderr);                           \
		}                                                      \
	} while (0)

struct out {
	char text[2][256];
	size_t len[2];
	int calls;
	int stop_after;
};

static int collect(void *arg, int stream, const char *data, size_t len)
{
	struct out *o = arg;
	int i = stream == 2;

	memcpy(o->text[i] + o->len[i], data, len);
	o->len[i] += len;
	o->calls++;
	return o->stop_after && o->calls >= o->stop_after ? 42 : 0;
}

static size_t frame(unsigned char *p, int stream, const char *payload, size_t n)
{
	p[0] = (unsigned char)stream;
	p[1] = p[2] = p[3] = 0;
	p[4] = (unsigned char)(n >> 24);
	p[5] = (unsigned char)(n >> 16);
	p[6] = (unsigned char)(n >> 8);
	p[7] = (unsigned char)n;
	memcpy(p + 8, payload, n);
	return 8 + n;
}

static size_t sample(unsigned char *buf)
{
	static const char binary[] = { 'b', 0, 'i', '\n', (char)0xff };
	size_t n = 0;

	n += frame(buf + n, 1, "hello ", 6);
	n += frame(buf + n, 2, "oops\n", 5);
	n += frame(buf + n, 1, "", 0);
	n += frame(buf + n, 1, binary, sizeof(binary));
	n += frame(buf + n, 2, "x", 1);
	n += frame(buf + n, 0, "in", 2); /* stream 0 is taken as stdout */
	return n;
}

static void check_out(const struct out *o, const char *how)
{
	static const char want_out[] = { 'h', 'e', 'l', 'l', 'o', ' ', 'b', 0, 'i', '\n', (char)0xff, 'i', 'n' };

	CHECK(o->len[0] == sizeof(want_out) && !memcmp(o->text[0], want_out, sizeof(want_out)), "stdout wrong (%s)", how);
	CHECK(o->len[1] == 6 && !memcmp(o->text[1], "oops\nx", 6), "stderr wrong (%s): %.*s", how, (int)o->len[1], o->text[1]);
}

int main(void)
{
	unsigned char buf[256];
	size_t n = sample(buf);
	char how[64];

	/* one split at every byte boundary */
	for (size_t k = 0; k <= n; k++) {
		struct dockerp_frames f;
		struct out o = { 0 };
		dockerp_frames_init(&f);
		CHECK(dockerp_frames_feed(&f, buf, k, collect, &o) == 0, "feed 1 at %zu", k);
		CHECK(dockerp_frames_feed(&f, buf + k, n - k, collect, &o) == 0, "feed 2 at %zu", k);
		CHECK(dockerp_frames_complete(&f), "not complete after split at %zu", k);
		snprintf(how, sizeof(how), "split at %zu", k);
		check_out(&o, how);
	}
	/* two splits at every pair of boundaries */
	for (size_t a = 0; a <= n; a++)
		for (size_t b = a; b <= n; b++) {
			struct dockerp_frames f;
			struct out o = { 0 };
			dockerp_frames_init(&f);
			dockerp_frames_feed(&f, buf, a, collect, &o);
			dockerp_frames_feed(&f, buf + a, b - a, collect, &o);
			dockerp_frames_feed(&f, buf + b, n - b, collect, &o);
			snprintf(how, sizeof(how), "splits at %zu,%zu", a, b);
			check_out(&o, how);
			CHECK(dockerp_frames_complete(&f), "not complete after %s", how);
		}
	/* one byte at a time; incomplete in the middle of a header and of a payload */
	{
		struct dockerp_frames f;
		struct out o = { 0 };
		dockerp_frames_init(&f);
		for (size_t i = 0; i < n; i++) {
			CHECK(dockerp_frames_feed(&f, buf + i, 1, collect, &o) == 0, "byte %zu", i);
			if (i == 3)
				CHECK(!dockerp_frames_complete(&f), "complete inside a header");
			if (i == 10)
				CHECK(!dockerp_frames_complete(&f), "complete inside a payload");
		}
		check_out(&o, "byte by byte");
		CHECK(dockerp_frames_complete(&f), "not complete byte by byte");
	}
	/* malformed headers */
	{
		static const unsigned char bad_stream[8] = { 3, 0, 0, 0, 0, 0, 0, 1 };
		static const unsigned char bad_pad[8] = { 1, 0, 1, 0, 0, 0, 0, 1 };
		struct dockerp_frames f;
		struct out o = { 0 };
		dockerp_frames_init(&f);
		CHECK(dockerp_frames_feed(&f, bad_stream, 8, collect, &o) == CSDK_EBACKEND, "stream 3 accepted");
		dockerp_frames_init(&f);
		CHECK(dockerp_frames_feed(&f, bad_pad, 5, collect, &o) == 0, "partial header rejected early");
		CHECK(dockerp_frames_feed(&f, bad_pad + 5, 3, collect, &o) == CSDK_EBACKEND, "non-zero padding accepted");
		CHECK(o.calls == 0, "callback called for a malformed frame");
	}
	/* the callback's non-zero return stops the feed and is returned */
	{
		struct dockerp_frames f;
		struct out o = { .stop_after = 2 };
		dockerp_frames_init(&f);
		CHECK(dockerp_frames_feed(&f, buf, n, collect, &o) == 42, "stop not propagated");
		CHECK(o.calls == 2, "callback called %d times after stop", o.calls);
	}
	if (failures) {
		fprintf(stderr, "test-frames: %d failure(s)\n", failures);
		return 1;
	}
	printf("test-frames: all passed (%zu-byte stream, every single and double split)\n", n);
	return 0;
}
