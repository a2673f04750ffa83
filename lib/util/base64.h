#ifndef CSDK_UTIL_BASE64_H
#define CSDK_UTIL_BASE64_H

#include <stddef.h>

/* Characters csdku_b64_encode_to writes for n bytes (no NUL). */
#define CSDKU_B64_LEN(n) (((n) + 2) / 3 * 4)
/* Bytes csdku_b64_decode_to may write for len characters (it stores whole 32-byte blocks). */
#define CSDKU_B64_ROOM(len) ((len) / 4 * 3 + 32)

/**
 * Encode n bytes of in as base64 (standard alphabet, '=' padding) into out,
 * which has CSDKU_B64_LEN(n) bytes; returns that length. No NUL is written.
 * Uses AVX2 where the CPU has it. Thread-safe.
 */
size_t csdku_b64_encode_to(char *out, const void *in, size_t n);

/**
 * The same, into a new NUL-terminated string the caller frees; NULL when
 * out of memory.
 */
char *csdku_b64_encode(const void *in, size_t n);

/**
 * Decode len characters of base64 into out, which has CSDKU_B64_ROOM(len)
 * bytes. Both alphabets are read ('+' or '-' is 62, '/' or '_' 63),
 * padding is optional, and space, tab, CR and LF are skipped anywhere.
 * Returns the bytes decoded, or -1 when in holds any other byte, data after
 * '=', or a group of one character (which cannot encode a byte). Uses AVX2
 * where the CPU has it. Thread-safe.
 */
long csdku_b64_decode_to(unsigned char *out, const char *in, size_t len);

/**
 * The same, into a new buffer (*out, the caller frees; one NUL after the
 * *out_len bytes, so text can be used as a string). 0; CSDK_EINVAL for bad
 * input; CSDK_ENOMEM. *out is NULL on error.
 */
int csdku_b64_decode(unsigned char **out, size_t *out_len, const char *in, size_t len);

#endif
