#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csdk/csdk.h>

#include "error.h"

static const char oom_message[] = "out of memory";

struct error_state {
	csdk_error pub;
	char *message;
	char *provider;
};

static pthread_key_t error_key;
static pthread_once_t error_once = PTHREAD_ONCE_INIT;
static int error_key_ok;
/* Used when even the per-thread state cannot be allocated. */
static __thread csdk_error error_fallback;

static void error_state_free(void *p)
{
	struct error_state *st = p;

	if (!st)
		return;
	free(st->message);
	free(st->provider);
	free(st);
}

static void error_key_create(void)
{
	error_key_ok = pthread_key_create(&error_key, error_state_free) == 0;
}

static struct error_state *error_state_get(int create)
{
	struct error_state *st;

	pthread_once(&error_once, error_key_create);
	if (!error_key_ok)
		return NULL;
	st = pthread_getspecific(error_key);
	if (st || !create)
		return st;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	if (pthread_setspecific(error_key, st) != 0) {
		free(st);
		return NULL;
	}
	return st;
}

static void error_state_reset(struct error_state *st)
{
	free(st->message);
	free(st->provider);
	st->message = NULL;
	st->provider = NULL;
	st->pub.code = 0;
	st->pub.message = "";
	st->pub.provider = NULL;
}

/* msg with each CR and LF written as \r and \n, so that a value holding one leaves the message one line. */
static char *one_line(char *msg)
{
	size_t n = 0, len;
	char *out, *o;

	if (!msg)
		return NULL;
	for (const char *c = msg; *c; c++)
		n += *c == '\n' || *c == '\r';
	if (!n)
		return msg;
	len = strlen(msg);
	if ((o = out = malloc(len + n + 1)))
		for (const char *c = msg; *c; c++) {
			if (*c == '\n' || *c == '\r') {
				*o++ = '\\';
				*o++ = *c == '\n' ? 'n' : 'r';
			} else {
				*o++ = *c;
			}
		}
	if (out)
		*o = '\0';
	free(msg);
	return out;
}

static int error_setv(int code, const char *provider, int lines, const char *fmt, va_list ap)
{
	struct error_state *st = error_state_get(1);
	char *message = NULL, *copy;

	if (!st) {
		error_fallback.code = code;
		error_fallback.message = oom_message;
		error_fallback.provider = NULL;
		return code;
	}
	/* Format before freeing: the arguments may be the previous error's strings. */
	if (vasprintf(&message, fmt, ap) < 0)
		message = NULL;
	if (!lines)
		message = one_line(message);
	copy = provider ? strdup(provider) : NULL;
	error_fallback.code = 0;
	error_state_reset(st);
	st->message = message;
	st->provider = copy;
	st->pub.code = code;
	st->pub.message = message ? message : oom_message;
	st->pub.provider = st->provider;
	return code;
}

int csdkp_error_setv(int code, const char *provider, const char *fmt, va_list ap)
{
	return error_setv(code, provider, 0, fmt, ap);
}

int csdkp_error_set(int code, const char *provider, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_setv(code, provider, 0, fmt, ap);
	va_end(ap);
	return code;
}

int csdkp_error_set_lines(int code, const char *provider, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_setv(code, provider, 1, fmt, ap);
	va_end(ap);
	return code;
}

int csdkp_error_oom(void)
{
	struct error_state *st = error_state_get(0);

	if (st)
		error_state_reset(st);
	error_fallback.code = 0;
	if (!st)
		st = error_state_get(1);
	if (!st) {
		error_fallback.code = CSDK_ENOMEM;
		error_fallback.message = oom_message;
		error_fallback.provider = NULL;
		return CSDK_ENOMEM;
	}
	st->pub.code = CSDK_ENOMEM;
	st->pub.message = oom_message;
	return CSDK_ENOMEM;
}

const csdk_error *csdk_error_last(void)
{
	static const csdk_error none = { 0, "", NULL };
	struct error_state *st;

	if (error_fallback.code)
		return &error_fallback;
	st = error_state_get(0);
	if (!st || !st->pub.code)
		return &none;
	return &st->pub;
}

void csdk_error_clear(void)
{
	struct error_state *st = error_state_get(0);

	error_fallback.code = 0;
	if (st)
		error_state_reset(st);
}

const char *csdk_strerror(int code)
{
	switch (code) {
	case CSDK_OK: return "success";
	case CSDK_ERROR: return "failure";
	case CSDK_ENOMEM: return "out of memory";
	case CSDK_EINVAL: return "invalid argument";
	case CSDK_ENOTFOUND: return "not found";
	case CSDK_EUNSUPPORTED: return "not supported";
	case CSDK_EABI: return "ABI version mismatch";
	case CSDK_EPLUGIN: return "invalid plugin";
	case CSDK_ECONFIG: return "missing or invalid configuration";
	case CSDK_EIO: return "I/O error";
	case CSDK_ETIMEOUT: return "timed out";
	case CSDK_ESYNTAX: return "syntax error";
	case CSDK_EBACKEND: return "backend failure";
	case CSDK_EEXISTS: return "already exists";
	case CSDK_ECANCELLED: return "cancelled";
	case CSDK_EPERM: return "not permitted";
	case CSDK_ECRASHED: return "plugin crashed";
	default: return "unknown error";
	}
}
