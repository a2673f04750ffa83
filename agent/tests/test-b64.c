/*
 * test-b64: agent_b64_encode_to (its AVX2 part where the CPU has it, and the
 * rest) gives exactly what a bit-by-bit encoder gives, for every length up to
 * 300 and random ones up to 100000, and agent_b64_decode reads it back.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 read literally: six bits at a time, '=' to a multiple of four. */
static size_t reference(char *out, const unsigned char *in, size_t n)
{
	size_t o = 0, bit;

	for (bit = 0; bit < n * 8; bit += 6) {
		unsigned v = 0;

		for (size_t b = bit; b < bit + 6; b++)
			v = v << 1 | (b < n * 8 ? (unsigned)(in[b / 8] >> (7 - b % 8)) & 1 : 0);
		out[o++] = alphabet[v];
	}
	while (o % 4)
		out[o++] = '=';
	return o;
}

static int check(const unsigned char *in, size_t n, const char *what)
{
	char *want = malloc(AGENT_B64_LEN(n) + 1), *got = malloc(AGENT_B64_LEN(n) + 1);
	unsigned char *back = NULL;
	size_t want_len, got_len, back_len = 0;
	int bad = 0;

	if (!want || !got) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	want_len = reference(want, in, n);
	got_len = agent_b64_encode_to(got, in, n);
	if (got_len != AGENT_B64_LEN(n) || got_len != want_len || memcmp(got, want, want_len)) {
		fprintf(stderr, "FAIL: %s, %zu bytes: encoding differs\n", what, n);
		bad = 1;
	} else if (agent_b64_decode(got, got_len, &back, &back_len) || back_len != n || memcmp(back, in, n)) {
		fprintf(stderr, "FAIL: %s, %zu bytes: does not decode back\n", what, n);
		bad = 1;
	}
	free(back);
	free(want);
	free(got);
	return bad;
}

int main(void)
{
	enum { MAX = 100000 };
	unsigned char *buf = malloc(MAX);
	int failed = 0, checks = 0;

	if (!buf)
		return 99;
	srand(7);
	for (size_t n = 0; n <= 300; n++) {
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)rand();
		failed += check(buf, n, "random");
		memset(buf, 0xff, n);
		failed += check(buf, n, "0xff");
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)i;
		failed += check(buf, n, "counting");
		checks += 3;
	}
	for (int k = 0; k < 200; k++, checks++) {
		size_t n = (size_t)rand() % MAX;

		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)rand();
		failed += check(buf, n, "random, long");
	}
	free(buf);
	printf("%d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
