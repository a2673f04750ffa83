#ifndef CSDK_HOST_ERROR_H
#define CSDK_HOST_ERROR_H

#include <stdarg.h>

/*
 * The calling thread's last error. Every setter returns code, so a failing
 * function can `return csdkp_error_set(CSDK_EIO, NULL, "...");`. provider may
 * be NULL. When memory runs out the message becomes "out of memory". The
 * message is one line: a CR or LF in it (from a path, a name, ...) is
 * written as \r or \n.
 */
int csdkp_error_set(int code, const char *provider, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int csdkp_error_setv(int code, const char *provider, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/** csdkp_error_set keeping line breaks: only for csdk_compute_*'s one "- NAME: message" line per provider. */
int csdkp_error_set_lines(int code, const char *provider, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Record CSDK_ENOMEM with the static message "out of memory"; returns CSDK_ENOMEM. */
int csdkp_error_oom(void);

#endif
