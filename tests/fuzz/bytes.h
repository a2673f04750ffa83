/* bytes.h - reading typed fields off a fuzz input; past the end every read is 0. */
#ifndef CSDK_FUZZ_BYTES_H
#define CSDK_FUZZ_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct bytes {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t bytes_u8(struct bytes *b)
{
	uint8_t v = 0;

	if (b->n) {
		v = *b->p++;
		b->n--;
	}
	return v;
}

static inline uint32_t bytes_u32(struct bytes *b)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | bytes_u8(b);
	return v;
}

static inline uint64_t bytes_u64(struct bytes *b)
{
	uint64_t hi = bytes_u32(b);

	return hi << 32 | bytes_u32(b);
}

/* A length byte then that many bytes as a malloc'd string; 0xff means NULL. */
static inline char *bytes_str(struct bytes *b, int *oom)
{
	uint8_t len = bytes_u8(b);
	char *s;

	if (len == 0xff)
		return NULL;
	if (len > b->n)
		len = (uint8_t)b->n;
	s = malloc((size_t)len + 1);
	if (!s) {
		*oom = 1;
		return NULL;
	}
	memcpy(s, b->p, len);
	s[len] = '\0';
	b->p += len;
	b->n -= len;
	return s;
}

#endif
