/* Request parsing for csdk serve: no I/O, so it can be fuzzed (tests/fuzz/fuzz-serve.c). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static int id_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

int serve_valid_id(const char *id)
{
	const char *colon, *s;
	size_t n;

	if (!id || !*id || strlen(id) > SERVE_MAX_ID || strstr(id, ".."))
		return 0;
	colon = strchr(id, ':');
	if (colon) {
		if (colon == id || strchr(colon + 1, ':') || !islower((unsigned char)id[0]))
			return 0;
		for (s = id; s < colon; s++)
			if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-'))
				return 0;
		id = colon + 1;
	}
	n = strlen(id);
	if (!n || !isalnum((unsigned char)id[0]))
		return 0;
	for (s = id; *s; s++)
		if (!id_char((unsigned char)*s))
			return 0;
	return 1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode; '+' is kept (paths) unless plus is set (query values). */
static char *decode(const char *s, size_t len, int plus, int allow_slash)
{
	char *out = malloc(len + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int h, l;

			if (i + 2 >= len || (h = hexval((unsigned char)s[i + 1])) < 0 || (l = hexval((unsigned char)s[i + 2])) < 0)
				goto bad;
			c = h * 16 + l;
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (c == 0 || (c == '/' && !allow_slash))
			goto bad;
		*o++ = (char)c;
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

char *serve_decode_segment(const char *s, size_t len)
{
	return decode(s, len, 0, 0);
}

int serve_split_path(char **segs, int max, const char *target)
{
	const char *p = target, *end;
	int n = 0;

	if (!target || *target != '/')
		return -1;
	end = target + strcspn(target, "?#");
	while (p < end) {
		const char *seg = p + 1, *next = memchr(seg, '/', (size_t)(end - seg));

		if (!next)
			next = end;
		if (next == seg && next == end)
			break;   /* trailing slash */
		if (n == max || !(segs[n] = serve_decode_segment(seg, (size_t)(next - seg)))) {
			while (n > 0)
				free(segs[--n]);
			return -1;
		}
		n++;
		p = next;
	}
	return n;
}

int serve_parse_host(const char *host, int *port, char *id, size_t id_size)
{
	const char *dash, *dot;
	long p = 0;
	const char *s;

	if (!host)
		return -1;
	dash = strchr(host, '-');
	dot = strchr(host, '.');
	if (!dash || !dot || dash > dot || dash == host || dash - host > 5)
		return -1;
	for (s = host; s < dash; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		p = p * 10 + (*s - '0');
	}
	if (p < 1 || p > 65535 || (size_t)(dot - dash - 1) >= id_size || dot == dash + 1)
		return -1;
	memcpy(id, dash + 1, (size_t)(dot - dash - 1));
	id[dot - dash - 1] = '\0';
	if (!serve_valid_id(id) || strchr(id, ':'))
		return -1;
	*port = (int)p;
	return 0;
}

static int check_strings(json_t *obj, const char *what, int env, char *err, size_t err_size)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj)) {
		snprintf(err, err_size, "%s must be an object of strings", what);
		return -1;
	}
	if (json_object_size(obj) > 256) {
		snprintf(err, err_size, "%s has %zu entries; at most 256 are accepted", what, json_object_size(obj));
		return -1;
	}
	json_object_foreach(obj, k, v) {
		if (!json_is_string(v)) {
			snprintf(err, err_size, "%s['%.64s'] must be a string", what, k);
			return -1;
		}
		if (!*k || strlen(k) > 256) {
			snprintf(err, err_size, "%s keys must be 1 to 256 bytes", what);
			return -1;
		}
		if (env) {
			const char *s;

			for (s = k; *s; s++)
				if (!(isalnum((unsigned char)*s) || *s == '_'))
					break;
			if (*s || isdigit((unsigned char)k[0])) {
				snprintf(err, err_size, "envVars key '%.64s' is not a variable name; use letters, digits and '_'", k);
				return -1;
			}
		}
	}
	return 0;
}

static int check_timeout(int64_t *out, json_t *t, int64_t max_s, char *err, size_t err_size)
{
	json_int_t v;

	if (!json_is_integer(t)) {
		snprintf(err, err_size, "timeout must be a whole number of seconds");
		return -1;
	}
	v = json_integer_value(t);
	if (v < 1 || v > max_s) {
		snprintf(err, err_size, "timeout %lld is out of range; give 1 to %lld seconds", (long long)v, (long long)max_s);
		return -1;
	}
	*out = v;
	return 0;
}

static json_t *parse_object(const char *body, size_t len, char *err, size_t err_size)
{
	json_error_t jerr;
	json_t *root;

	root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, err_size, "malformed JSON body: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(err, err_size, "the body must be a JSON object");
		return NULL;
	}
	return root;
}

int serve_parse_create(struct serve_create_req *out, const char *body, size_t len, int64_t default_s, int64_t max_s,
		       char *err, size_t err_size)
{
	json_t *root, *t;

	memset(out, 0, sizeof(*out));
	if (!(root = parse_object(body, len, err, err_size)))
		return -1;
	out->root = root;
	t = json_object_get(root, "templateID");
	if (!t || json_is_null(t))
		out->template_id = "base";
	else if (!json_is_string(t) || !json_string_length(t) || json_string_length(t) > 128 ||
		 strlen(json_string_value(t)) != json_string_length(t)) {
		snprintf(err, err_size, "templateID must be a template name of 1 to 128 bytes");
		goto bad;
	} else
		out->template_id = json_string_value(t);
	out->timeout_s = default_s;
	if ((t = json_object_get(root, "timeout")) && !json_is_null(t) && check_timeout(&out->timeout_s, t, max_s, err, err_size))
		goto bad;
	if ((t = json_object_get(root, "metadata")) && !json_is_null(t)) {
		if (check_strings(t, "metadata", 0, err, err_size))
			goto bad;
		out->metadata = t;
	}
	if ((t = json_object_get(root, "envVars")) && !json_is_null(t)) {
		if (check_strings(t, "envVars", 1, err, err_size))
			goto bad;
		out->env_vars = t;
	}
	if ((t = json_object_get(root, "autoPause")) && json_is_true(t)) {
		snprintf(err, err_size, "autoPause is not supported: csdk serve cannot pause sandboxes; leave it false");
		goto bad;
	}
	return 0;
bad:
	serve_create_req_clear(out);
	return -1;
}

void serve_create_req_clear(struct serve_create_req *req)
{
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}

int serve_parse_timeout(int64_t *out, const char *body, size_t len, int64_t default_s, int64_t max_s, char *err, size_t err_size)
{
	json_t *root, *t;
	int rc = 0;

	if (len == 0 && default_s > 0) {
		*out = default_s;
		return 0;
	}
	if (!(root = parse_object(body, len, err, err_size)))
		return -1;
	t = json_object_get(root, "timeout");
	if (!t || json_is_null(t)) {
		if (default_s > 0) {
			*out = default_s;
		} else {
			snprintf(err, err_size, "timeout is missing; give {\"timeout\": SECONDS}");
			rc = -1;
		}
	} else {
		rc = check_timeout(out, t, max_s, err, err_size);
	}
	json_decref(root);
	return rc;
}

json_t *serve_parse_metadata_query(const char *q, char *err, size_t err_size)
{
	json_t *obj = json_object();
	const char *p = q;

	if (!obj)
		return NULL;
	while (p && *p) {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);
		char *k = NULL, *v = NULL, *k2 = NULL, *v2 = NULL;

		if (n == 0) {
			p++;
			continue;
		}
		/* The SDK percent-encodes each key and value, then form-encodes the pairs: both layers are undone. */
		if (!eq || eq == p || !(k = decode(p, (size_t)(eq - p), 1, 1)) ||
		    !(v = decode(eq + 1, n - (size_t)(eq - p) - 1, 1, 1)) || !(k2 = decode(k, strlen(k), 0, 1)) ||
		    !(v2 = decode(v, strlen(v), 0, 1))) {
			free(k);
			free(v);
			free(k2);
			snprintf(err, err_size, "metadata filter must be key=value pairs joined by '&', each percent-encoded");
			json_decref(obj);
			return NULL;
		}
		if (json_object_set_new(obj, k2, json_string(v2)) < 0) {
			snprintf(err, err_size, "metadata filter keys and values must be UTF-8");
			json_decref(obj);
			obj = NULL;
		}
		free(k);
		free(v);
		free(k2);
		free(v2);
		if (!obj)
			return NULL;
		p += n;
		if (*p == '&')
			p++;
	}
	return obj;
}

int serve_metadata_matches(json_t *metadata, json_t *filter)
{
	const char *k;
	json_t *v;

	json_object_foreach(filter, k, v) {
		json_t *have = metadata ? json_object_get(metadata, k) : NULL;

		if (!have || !json_is_string(have) || strcmp(json_string_value(have), json_string_value(v)))
			return 0;
	}
	return 1;
}

char *serve_query_param(const char *target, const char *name)
{
	const char *q = target ? strchr(target, '?') : NULL;
	size_t nl = strlen(name);

	if (!q)
		return NULL;
	for (q++; *q;) {
		size_t n = strcspn(q, "&#");

		if (n > nl && q[nl] == '=' && !strncmp(q, name, nl))
			return decode(q + nl + 1, n - nl - 1, 1, 1);
		if (n == nl && !strncmp(q, name, nl))
			return strdup("");
		q += n;
		if (*q != '&')
			break;
		q++;
	}
	return NULL;
}
