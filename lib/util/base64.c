#include "config.h"

#include "base64.h"

#include <stdint.h>
#include <stdlib.h>

#include "csdk/common.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define B64_AVX2 1
#endif

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for both base64 alphabets ('+' and '-' are 62, '/' and '_' 63), 64 for any other byte. */
static const unsigned char b64_table[256] = {
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 62, 64, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,
	64,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 63,
	64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
};

#ifdef B64_AVX2
/*
 * 24 bytes at a time with AVX2 when the CPU has it (Muła and Lemire, "Faster Base64
 * Encoding and Decoding Using AVX2 Instructions", 2018). Each 128-bit lane
 * takes 12 bytes; their 6-bit groups are cut out with two multiplies and
 * turned into characters by adding an offset per range (A-Z, a-z, 0-9, +, /)
 * looked up with a shuffle. Returns the bytes it took, a multiple of 3.
 */
__attribute__((target("avx2")))
static size_t b64_encode_avx2(char *out, const unsigned char *in, size_t n)
{
	const __m256i groups = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
						1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
	const __m256i offsets = _mm256_setr_epi8(71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0,
						 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0);
	size_t i = 0;

	/* 32 bytes left, not 24: the second load reads 16 bytes from i + 12. */
	for (; n - i >= 32; i += 24, out += 32) {
		__m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(in + i))),
						    _mm_loadu_si128((const __m128i *)(in + i + 12)), 1);
		__m256i hi, lo, idx, r;

		v = _mm256_shuffle_epi8(v, groups);
		hi = _mm256_mulhi_epu16(_mm256_and_si256(v, _mm256_set1_epi32(0x0fc0fc00)), _mm256_set1_epi32(0x04000040));
		lo = _mm256_mullo_epi16(_mm256_and_si256(v, _mm256_set1_epi32(0x003f03f0)), _mm256_set1_epi32(0x01000010));
		idx = _mm256_or_si256(hi, lo);
		/* 0 for a-z, 1-10 for 0-9, 11 for +, 12 for /, 13 for A-Z: the offset's index. */
		r = _mm256_subs_epu8(idx, _mm256_set1_epi8(51));
		r = _mm256_or_si256(r, _mm256_and_si256(_mm256_cmpgt_epi8(_mm256_set1_epi8(26), idx), _mm256_set1_epi8(13)));
		_mm256_storeu_si256((__m256i *)out, _mm256_add_epi8(_mm256_shuffle_epi8(offsets, r), idx));
	}
	return i;
}
#endif

#ifdef B64_AVX2
/*
 * 32 characters at a time with AVX2 when the CPU has it (Muła and Lemire,
 * "Faster Base64 Encoding and Decoding Using AVX2 Instructions", 2018): a
 * byte is in the standard alphabet when the bits looked up by its low and
 * its high nibble have nothing in common; its value is the byte plus an
 * offset looked up by its high nibble ('/' one below); two multiply-adds
 * pack four 6-bit values into three bytes. Stops before any block holding
 * another byte ('=', the URL alphabet, garbage): the caller goes on from
 * there. Writes 32 bytes per 24 it produces. Returns the characters taken.
 */
__attribute__((target("avx2")))
static size_t b64_decode_avx2(const char *s, size_t len, unsigned char *out)
{
	const __m256i lut_lo = _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1a, 0x1b,
						0x1b, 0x1b, 0x1a, 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
						0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a);
	const __m256i lut_hi = _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10,
						0x10, 0x10, 0x10, 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10,
						0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
	const __m256i offsets = _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,
						 0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m256i pack = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
					      2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
	size_t i = 0;

	for (; len - i >= 32; i += 32, out += 24) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(s + i));
		__m256i hi = _mm256_and_si256(_mm256_srli_epi32(v, 4), _mm256_set1_epi8(0x0f));
		__m256i lo = _mm256_and_si256(v, _mm256_set1_epi8(0x0f));

		if (!_mm256_testz_si256(_mm256_shuffle_epi8(lut_lo, lo), _mm256_shuffle_epi8(lut_hi, hi)))
			break;
		hi = _mm256_add_epi8(hi, _mm256_cmpeq_epi8(v, _mm256_set1_epi8('/')));
		v = _mm256_add_epi8(v, _mm256_shuffle_epi8(offsets, hi));
		v = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
		v = _mm256_madd_epi16(v, _mm256_set1_epi32(0x00011000));
		v = _mm256_shuffle_epi8(v, pack);
		v = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7));
		_mm256_storeu_si256((__m256i *)out, v);
	}
	return i;
}
#endif

size_t csdku_b64_encode_to(char *out, const void *data, size_t n)
{
	const unsigned char *in = data;
	char *o = out;
	size_t i = 0;

#ifdef B64_AVX2
	if (n >= 32 && __builtin_cpu_supports("avx2")) {
		i = b64_encode_avx2(out, in, n);
		o += i / 3 * 4;
	}
#endif
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		o[0] = b64_alphabet[v >> 18];
		o[1] = b64_alphabet[v >> 12 & 63];
		o[2] = b64_alphabet[v >> 6 & 63];
		o[3] = b64_alphabet[v & 63];
		o += 4;
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		o[0] = b64_alphabet[v >> 18];
		o[1] = b64_alphabet[v >> 12 & 63];
		o[2] = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
		o[3] = '=';
		o += 4;
	}
	return (size_t)(o - out);
}

char *csdku_b64_encode(const void *in, size_t n)
{
	char *out = malloc(CSDKU_B64_LEN(n) + 1);

	if (out)
		out[csdku_b64_encode_to(out, in, n)] = '\0';
	return out;
}

long csdku_b64_decode_to(unsigned char *out, const char *s, size_t len)
{
	const unsigned char *in = (const unsigned char *)s;
	unsigned v = 0;
	int bits = 0, pad = 0;
	size_t i = 0, o = 0, chars = 0;

#ifdef B64_AVX2
	if (len >= 32 && __builtin_cpu_supports("avx2")) {
		i = b64_decode_avx2(s, len, out);
		o = i / 4 * 3;
	}
#endif
	for (; i + 4 <= len; i += 4) {
		unsigned a = b64_table[in[i]], b = b64_table[in[i + 1]], c = b64_table[in[i + 2]], d = b64_table[in[i + 3]];

		if ((a | b | c | d) & 64)
			break;
		v = a << 18 | b << 12 | c << 6 | d;
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	for (v = 0; i < len; i++) {
		unsigned d = b64_table[in[i]];

		if (d & 64) {
			if (in[i] == '=')
				pad = 1;
			else if (in[i] != ' ' && in[i] != '\t' && in[i] != '\r' && in[i] != '\n')
				return -1;
			continue;
		}
		if (pad)
			return -1;
		chars++;
		v = v << 6 | d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	return chars % 4 == 1 ? -1 : (long)o;
}

int csdku_b64_decode(unsigned char **out, size_t *out_len, const char *in, size_t len)
{
	unsigned char *buf = malloc(CSDKU_B64_ROOM(len) + 1);
	long n;

	*out = NULL;
	if (!buf)
		return CSDK_ENOMEM;
	if ((n = csdku_b64_decode_to(buf, in, len)) < 0) {
		free(buf);
		return CSDK_EINVAL;
	}
	buf[n] = '\0';
	*out = buf;
	if (out_len)
		*out_len = (size_t)n;
	return 0;
}
