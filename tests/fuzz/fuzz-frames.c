/*
 * fuzz-frames.c - the Docker raw-stream demultiplexer (plugins/docker/frames.c).
 *
 * The input is a stream, fed in pieces whose sizes come from its first byte;
 * the pieces delivered must be exactly what a whole-buffer reference decoder
 * finds, however the stream is split: the same stdout and stderr bytes, the
 * same failure on a malformed header, the same idea of a complete stream.
 * A callback that asks to stop must stop the feed with its own value.
 */
#include "config.h"

#include <string.h>

#include <csdk/plugin.h>

#include "frames.h"
#include "fuzz.h"

struct out {
	unsigned char *buf[3];
	size_t len[3];
	size_t budget;  /* stop after this many bytes; SIZE_MAX for never */
	int stopped;
};

static int collect(void *arg, int stream, const char *data, size_t len)
{
	struct out *o = arg;

	FUZZ_CHECK(stream == 1 || stream == 2);
	FUZZ_CHECK(len > 0);
	FUZZ_CHECK(!o->stopped);
	memcpy(o->buf[stream] + o->len[stream], data, len);
	o->len[stream] += len;
	if (len >= o->budget) {
		o->stopped = 1;
		return 7;
	}
	o->budget -= len;
	return 0;
}

/* Whole-buffer decoding: 0 or CSDK_EBACKEND, and whether it ended on a boundary. */
static int reference(struct out *o, const unsigned char *p, size_t n, int *complete)
{
	size_t pos = 0;

	*complete = 1;
	while (pos < n) {
		const unsigned char *h = p + pos;
		uint32_t len;
		size_t take;
		int stream;

		if (n - pos < 8) {
			/* A header is judged only once all of it has arrived. */
			*complete = 0;
			return 0;
		}
		if (h[0] > 2 || h[1] || h[2] || h[3])
			return CSDK_EBACKEND;
		stream = h[0] == 2 ? 2 : 1;
		len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
		take = n - pos - 8 < len ? n - pos - 8 : len;
		memcpy(o->buf[stream] + o->len[stream], h + 8, take);
		o->len[stream] += take;
		pos += 8 + take;
		if (take < len)
			*complete = 0;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out got = { .budget = SIZE_MAX }, want = { .budget = SIZE_MAX };
	struct dockerp_frames f;
	const unsigned char *p;
	size_t n, pos = 0;
	unsigned seed;
	int rc = 0, want_rc, want_complete, stop;

	if (size < 2)
		return 0;
	seed = data[0];
	stop = data[1] & 1;
	p = data + 2;
	n = size - 2;
	for (int s = 1; s <= 2; s++) {
		got.buf[s] = malloc(n + 1);
		want.buf[s] = malloc(n + 1);
		if (!got.buf[s] || !want.buf[s])
			goto out;
	}
	want_rc = reference(&want, p, n, &want_complete);
	if (stop)
		got.budget = (size_t)(data[1] >> 1) + 1;

	dockerp_frames_init(&f);
	FUZZ_CHECK(dockerp_frames_complete(&f));
	while (pos < n && rc == 0) {
		/* Piece sizes 1..16 or larger, from a small generator over the first byte. */
		size_t piece;

		seed = seed * 1103515245u + 12345u;
		piece = (seed >> 16) & 0x1f;
		piece = piece < 16 ? piece + 1 : piece * 37;
		if (piece > n - pos)
			piece = n - pos;
		rc = dockerp_frames_feed(&f, p + pos, piece, collect, &got);
		pos += piece;
	}
	if (got.stopped) {
		FUZZ_CHECK(rc == 7);
		/* Everything delivered before stopping is a prefix of the reference. */
		for (int s = 1; s <= 2; s++)
			FUZZ_CHECK(got.len[s] <= want.len[s] && memcmp(got.buf[s], want.buf[s], got.len[s]) == 0);
		goto out;
	}
	FUZZ_CHECK(rc == want_rc);
	for (int s = 1; s <= 2; s++)
		FUZZ_CHECK(got.len[s] == want.len[s] && memcmp(got.buf[s], want.buf[s], got.len[s]) == 0);
	if (rc == 0)
		FUZZ_CHECK(dockerp_frames_complete(&f) == want_complete);
out:
	for (int s = 1; s <= 2; s++) {
		free(got.buf[s]);
		free(want.buf[s]);
	}
	return 0;
}
