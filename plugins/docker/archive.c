#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

/* width-1 octal digits and a NUL; values that do not fit are clamped */
static void octal(char *field, size_t width, uint64_t v)
{
	field[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		field[i] = (char)('0' + (v & 7));
}

static void header(unsigned char *h, const char *name, size_t name_len, char type, unsigned mode, uint64_t size,
		   int64_t mtime)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	memcpy(h, name, name_len > 100 ? 100 : name_len);
	octal((char *)h + 100, 8, mode);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, (uint64_t)(mtime > 0 ? mtime : 0));
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	octal((char *)h + 148, 7, sum);
}

static size_t padded(uint64_t n)
{
	return (size_t)((n + 511) / 512 * 512);
}

int dockerp_tar_members(char **out, size_t *out_len, const struct dockerp_tar_member *m, size_t n)
{
	size_t total = 1024;
	unsigned char *buf, *p;

	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(m[i].name);
		total += 512 + padded(m[i].len) + (nl > 100 ? 512 + padded(nl + 1) : 0);
	}
	buf = calloc(1, total);
	if (!buf)
		return CSDK_ENOMEM;
	p = buf;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(m[i].name);
		if (nl > 100) {
			/* GNU long name: the engine's tar reader (Go archive/tar) reads it */
			header(p, "././@LongLink", 13, 'L', 0644, nl + 1, 0);
			memcpy(p + 512, m[i].name, nl);
			p += 512 + padded(nl + 1);
		}
		header(p, m[i].name, nl, m[i].type, m[i].mode, m[i].len, m[i].mtime);
		if (m[i].len)
			memcpy(p + 512, m[i].data, m[i].len);
		p += 512 + padded(m[i].len);
	}
	*out = (char *)buf;
	*out_len = total;
	return 0;
}

int dockerp_tar_one(char **out, size_t *out_len, const char *name, const void *data, size_t len, int64_t mtime)
{
	struct dockerp_tar_member m = { .name = name, .type = '0', .mode = 0644, .data = data, .len = len, .mtime = mtime };

	return dockerp_tar_members(out, out_len, &m, 1);
}

static uint64_t number(const unsigned char *f, size_t width)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		/* base-256, used by GNU and Go for large values */
		v = f[0] & 0x7f;
		for (i = 1; i < width; i++)
			v = v << 8 | f[i];
		return v;
	}
	while (i < width && (f[i] == ' ' || f[i] == '\0'))
		i++;
	for (; i < width && f[i] >= '0' && f[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(f[i] - '0');
	return v;
}

/* The path= record of a pax extended header, or NULL. */
static char *pax_path(const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		char *sp;
		unsigned long rl = strtoul(p, &sp, 10);
		if (sp == p || *sp != ' ' || rl == 0 || rl > (unsigned long)(end - p))
			return NULL;
		if ((size_t)(p + rl - sp) > 6 && !strncmp(sp + 1, "path=", 5))
			return strndup(sp + 6, (size_t)(p + rl - (sp + 6) - 1));
		p += rl;
	}
	return NULL;
}

int dockerp_tar_each(const char *tar, size_t len, dockerp_tar_fn fn, void *arg)
{
	const unsigned char *p = (const unsigned char *)tar, *end = p + len;
	char *long_name = NULL;
	int rc = 0;

	while (end - p >= 512) {
		const unsigned char *h = p;
		uint64_t size = number(h + 124, 12);
		char type = (char)h[156], name[260];

		if (h[0] == '\0')
			break;
		if (size > (uint64_t)(end - p - 512)) {
			rc = CSDK_EBACKEND;
			break;
		}
		if (type == 'L' || type == 'x') {
			free(long_name);
			long_name = type == 'L' ? strndup((const char *)h + 512, (size_t)size) : pax_path((const char *)h + 512, (size_t)size);
			p += 512 + padded(size);
			continue;
		}
		if (!long_name) {
			if (!memcmp(h + 257, "ustar", 5) && h[345])
				snprintf(name, sizeof(name), "%.155s/%.100s", (const char *)h + 345, (const char *)h);
			else
				snprintf(name, sizeof(name), "%.100s", (const char *)h);
		}
		rc = fn(arg, long_name ? long_name : name, type, size, (int64_t)number(h + 136, 12), (const char *)h + 512);
		free(long_name);
		long_name = NULL;
		if (rc)
			break;
		p += 512 + (type == '5' || type == '2' || type == '1' ? 0 : padded(size));
	}
	free(long_name);
	return rc;
}
