#include "config.h"

#include <string.h>

#include <csdk/plugin.h>

#include "frames.h"

void dockerp_frames_init(struct dockerp_frames *f)
{
	memset(f, 0, sizeof(*f));
}

int dockerp_frames_feed(struct dockerp_frames *f, const void *data, size_t len, dockerp_frames_fn fn, void *arg)
{
	const unsigned char *p = data, *end = p + len;

	while (p < end) {
		if (f->remaining == 0 && f->header_len < 8) {
			size_t take = 8 - f->header_len;
			if (take > (size_t)(end - p))
				take = (size_t)(end - p);
			memcpy(f->header + f->header_len, p, take);
			f->header_len += take;
			p += take;
			if (f->header_len < 8)
				break;
			if (f->header[0] > 2 || f->header[1] || f->header[2] || f->header[3])
				return CSDK_EBACKEND;
			/* stream 0 (stdin) only appears when a TTY echoes; treat it as stdout */
			f->stream = f->header[0] == 2 ? 2 : 1;
			f->remaining = (uint32_t)f->header[4] << 24 | (uint32_t)f->header[5] << 16 |
				       (uint32_t)f->header[6] << 8 | (uint32_t)f->header[7];
			f->header_len = f->remaining ? 8 : 0;
			continue;
		}
		{
			size_t take = f->remaining;
			int rc;
			if (take > (size_t)(end - p))
				take = (size_t)(end - p);
			rc = fn(arg, f->stream, (const char *)p, take);
			if (rc)
				return rc;
			p += take;
			f->remaining -= (uint32_t)take;
			if (f->remaining == 0)
				f->header_len = 0;
		}
	}
	return 0;
}

int dockerp_frames_complete(const struct dockerp_frames *f)
{
	return f->remaining == 0 && f->header_len == 0;
}
