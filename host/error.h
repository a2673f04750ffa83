#ifndef CSDK_HOST_ERROR_H
#define CSDK_HOST_ERROR_H

#include <stdarg.h>

/*
 * The calling thread's last error. Every setter returns code, so a failing
 * function can `return csdkp_error_set(CSDK_EIO, NULL, "...");`. provider may
 * be NULL. When memory runs out the message becomes "out of memory".
 */
int csdkp_error_set(int code, const char *provider, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int csdkp_error_setv(int code, const char *provider, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/** Record CSDK_ENOMEM with the static message "out of memory"; returns CSDK_ENOMEM. */
int csdkp_error_oom(void);

#endif
