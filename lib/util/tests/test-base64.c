/*
 * test-base64: csdku_b64_encode_to (its AVX2 part where the CPU has it, and
 * the rest) gives exactly what a bit-by-bit encoder gives, for every length up
 * to 300 and random ones up to 100000; csdku_b64_decode reads it back, also
 * without padding, in the URL alphabet and with line breaks, and refuses
 * what is not base64.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "csdk/common.h"

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

/* got decoded must be want (want_len bytes), or refused when want is NULL. */
static int decodes(const char *text, size_t len, const void *want, size_t want_len, const char *what)
{
	unsigned char *back = NULL;
	size_t back_len = 0;
	int rc = csdku_b64_decode(&back, &back_len, text, len), bad;

	if (!want)
		bad = rc != CSDK_EINVAL || back;
	else
		bad = rc || back_len != want_len || memcmp(back, want, want_len) || back[back_len];
	if (bad)
		fprintf(stderr, "FAIL: decoding %s (%zu characters): rc %d, %zu bytes\n", what, len, rc, back_len);
	free(back);
	return bad;
}

/* The same text with a line break every 76 characters, no padding and the URL alphabet. */
static int variants(const char *text, size_t len, const unsigned char *in, size_t n)
{
	char *v = malloc(len + len / 76 * 2 + 1);
	size_t o = 0, stripped = len;
	int bad = 0;

	for (size_t i = 0; i < len; i++) {
		v[o++] = text[i];
		if (i % 76 == 75)
			v[o++] = '\r', v[o++] = '\n';
	}
	bad |= decodes(v, o, in, n, "with line breaks");
	while (stripped > 0 && text[stripped - 1] == '=')
		stripped--;
	bad |= decodes(text, stripped, in, n, "without padding");
	for (size_t i = 0; i < len; i++)
		v[i] = text[i] == '+' ? '-' : text[i] == '/' ? '_' : text[i];
	bad |= decodes(v, len, in, n, "in the URL alphabet");
	if (stripped + 2 <= len) {
		memcpy(v, text, len);
		v[len - 1] = 'A';
		bad |= decodes(v, len, NULL, 0, "with data after '='");
	}
	if (len > 0) {
		memcpy(v, text, len);
		v[len / 2] = '*';
		bad |= decodes(v, len, NULL, 0, "with a byte outside the alphabet");
	}
	free(v);
	return bad;
}

static int check(const unsigned char *in, size_t n, const char *what)
{
	char *want = malloc(CSDKU_B64_LEN(n) + 1), *got = malloc(CSDKU_B64_LEN(n) + 1);
	unsigned char *back = NULL;
	size_t want_len, got_len, back_len = 0;
	int bad = 0;

	if (!want || !got) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	want_len = reference(want, in, n);
	got_len = csdku_b64_encode_to(got, in, n);
	if (got_len != CSDKU_B64_LEN(n) || got_len != want_len || memcmp(got, want, want_len)) {
		fprintf(stderr, "FAIL: %s, %zu bytes: encoding differs\n", what, n);
		bad = 1;
	} else if (csdku_b64_decode(&back, &back_len, got, got_len) || back_len != n || memcmp(back, in, n)) {
		fprintf(stderr, "FAIL: %s, %zu bytes: does not decode back\n", what, n);
		bad = 1;
	} else {
		bad = variants(got, got_len, in, n);
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
	failed += decodes("QQ", 2, "A", 1, "QQ");
	failed += decodes("Q", 1, NULL, 0, "a lone character");
	failed += decodes("QUJD\x00", 5, NULL, 0, "a NUL");
	failed += decodes(" \n", 2, "", 0, "white space only");
	checks += 4;
	free(buf);
	printf("%d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
