#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "wsframe.h"

long k8sp_ws_parse(unsigned char *buf, size_t len, size_t max_payload, struct k8sp_ws_frame *f)
{
	size_t hdr = 2, plen;
	int masked;

	if (len < 2)
		return 0;
	if (buf[0] & 0x70)
		return -1;
	f->fin = !!(buf[0] & 0x80);
	f->opcode = buf[0] & 0x0f;
	if (f->opcode > K8SP_WS_BINARY && (f->opcode < K8SP_WS_CLOSE || f->opcode > K8SP_WS_PONG))
		return -1;
	masked = !!(buf[1] & 0x80);
	plen = buf[1] & 0x7f;
	if (plen == 126) {
		if (len < 4)
			return 0;
		plen = ((size_t)buf[2] << 8) | buf[3];
		hdr = 4;
	} else if (plen == 127) {
		uint64_t v = 0;
		if (len < 10)
			return 0;
		for (int i = 0; i < 8; i++)
			v = (v << 8) | buf[2 + i];
		if (v > max_payload)
			return -1;
		plen = (size_t)v;
		hdr = 10;
	}
	if (f->opcode >= K8SP_WS_CLOSE && (plen > 125 || !f->fin))
		return -1;
	if (plen > max_payload)
		return -1;
	if (masked)
		hdr += 4;
	if (len < hdr || len - hdr < plen)
		return 0;
	f->payload = buf + hdr;
	f->len = plen;
	if (masked) {
		const unsigned char *m = buf + hdr - 4;
		for (size_t i = 0; i < plen; i++)
			f->payload[i] ^= m[i & 3];
	}
	return (long)(hdr + plen);
}

size_t k8sp_ws_frame_size(size_t len)
{
	return 2 + (len > 65535 ? 8 : len > 125 ? 2 : 0) + 4 + len;
}

size_t k8sp_ws_encode(unsigned char *out, int opcode, const void *payload, size_t len, const unsigned char mask[4])
{
	const unsigned char *p = payload;
	size_t h = 2;

	out[0] = (unsigned char)(0x80 | (opcode & 0x0f));
	if (len > 65535) {
		out[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		h = 10;
	} else if (len > 125) {
		out[1] = 0x80 | 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		h = 4;
	} else
		out[1] = (unsigned char)(0x80 | len);
	memcpy(out + h, mask, 4);
	h += 4;
	for (size_t i = 0; i < len; i++)
		out[h + i] = p[i] ^ mask[i & 3];
	return h + len;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t k = strlen(name), v;

	if (!outlen || n <= k || line[k] != ':' || strncasecmp(line, name, k))
		return;
	v = k + 1;
	while (v < n && (line[v] == ' ' || line[v] == '\t'))
		v++;
	while (n > v && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n - v >= outlen)
		n = v + outlen - 1;
	memcpy(out, line + v, n - v);
	out[n - v] = '\0';
}

long k8sp_ws_parse_upgrade(const char *buf, size_t len, long *status, char *proto, size_t protolen,
			    char *accept, size_t acceptlen)
{
	const char *end = NULL, *p, *nl;
	long code = 0;

	if (protolen)
		proto[0] = '\0';
	if (acceptlen)
		accept[0] = '\0';
	for (size_t i = 0; i + 3 < len; i++)
		if (!memcmp(buf + i, "\r\n\r\n", 4)) {
			end = buf + i + 4;
			break;
		}
	if (len >= 5 && memcmp(buf, "HTTP/", 5))
		return -1;
	if (!end)
		return len > 65536 ? -1 : 0;
	p = memchr(buf, ' ', (size_t)(end - buf));
	if (!p || end - p < 4)
		return -1;
	for (int i = 1; i <= 3; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		code = code * 10 + (p[i] - '0');
	}
	*status = code;
	for (p = memchr(buf, '\n', (size_t)(end - buf)) + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		size_t n = (size_t)(nl - p);
		if (n && p[n - 1] == '\r')
			n--;
		header_value(p, n, "Sec-WebSocket-Protocol", proto, protolen);
		header_value(p, n, "Sec-WebSocket-Accept", accept, acceptlen);
	}
	return (long)(end - buf);
}

int k8sp_status_exit(const char *json, size_t len, int *exit_code, char *msg, size_t msglen)
{
	json_t *j = json_loadb(json, len, 0, NULL), *causes;
	const char *s;
	int rc = -1;

	if (msglen)
		msg[0] = '\0';
	if (!json_is_object(j)) {
		snprintf(msg, msglen, "an unreadable exec status");
		goto out;
	}
	s = json_string_value(json_object_get(j, "status"));
	if (s && !strcmp(s, "Success")) {
		*exit_code = 0;
		rc = 0;
		goto out;
	}
	s = json_string_value(json_object_get(j, "reason"));
	causes = json_object_get(json_object_get(j, "details"), "causes");
	if (s && !strcmp(s, "NonZeroExitCode") && json_is_array(causes)) {
		size_t i;
		json_t *c;
		json_array_foreach(causes, i, c) {
			const char *r = json_string_value(json_object_get(c, "reason"));
			const char *m = json_string_value(json_object_get(c, "message"));
			char *e;
			long v;
			if (!r || strcmp(r, "ExitCode") || !m)
				continue;
			v = strtol(m, &e, 10);
			if (e == m || *e || v < 0 || v > 255)
				continue;
			*exit_code = (int)v;
			rc = 0;
			goto out;
		}
	}
	s = json_string_value(json_object_get(j, "message"));
	snprintf(msg, msglen, "%s", s ? s : "an exec status without a message");
	for (char *c = msg; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
out:
	json_decref(j);
	return rc;
}

int k8sp_pf_frame(struct k8sp_pf *st, int opcode, const unsigned char *payload, size_t len,
		       const unsigned char **data, size_t *dlen)
{
	int ch;

	*data = payload;
	*dlen = 0;
	if (opcode == K8SP_WS_CONT) {
		ch = st->channel;
	} else {
		if (!len)
			return K8SP_PF_NONE;
		ch = payload[0];
		payload++;
		len--;
	}
	if (ch != K8SP_PF_DATA && ch != K8SP_PF_ERROR)
		return -1;
	st->channel = ch;
	/* each channel starts with the port, 2 bytes little-endian */
	while (st->head[ch] < 2 && len) {
		if (*payload != ((st->port >> (8 * st->head[ch])) & 0xff))
			return -1;
		st->head[ch]++;
		payload++;
		len--;
	}
	*data = payload;
	*dlen = len;
	if (!len)
		return K8SP_PF_NONE;
	return ch == K8SP_PF_ERROR ? K8SP_PF_ERROR : K8SP_PF_DATA;
}
