#include "config.h"

#include <string.h>

#include "error.h"
#include "rules.h"

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static int invalid(const csdk_provider *p, const char *what, const char *value, const char *fact, const char *fix)
{
	return csdkp_error_set(CSDK_EINVAL, p ? p->name : NULL, "%s '%s' is not valid: %s; %s", what, value, fact, fix);
}

int csdkp_check_name(const csdk_provider *p, const char *what, const char *value)
{
	static const char fix[] = "use letters, digits, '.', '_' and '-', starting with a letter or digit";
	size_t len = strlen(value);

	if (len == 0)
		return invalid(p, what, value, "it is empty", fix);
	if (len > CSDKP_NAME_MAX)
		return csdkp_error_set(CSDK_EINVAL, p ? p->name : NULL, "%s '%.20s...' is not valid: it is %zu bytes long; use at most %d", what, value, len, CSDKP_NAME_MAX);
	if (!strchr(ALNUM, value[0]))
		return invalid(p, what, value, "it does not start with a letter or digit", fix);
	if (strspn(value, ALNUM "._-") != len)
		return invalid(p, what, value, "it holds a character other than a letter, digit, '.', '_' or '-'", fix);
	return 0;
}

int csdkp_check_named(const csdk_provider *p, const char *ns, const char *name)
{
	int rc;

	if (!name || !*name)
		return csdkp_error_set(CSDK_EINVAL, p->name, "no sandbox name given; pass a name");
	if ((rc = csdkp_check_name(p, "sandbox name", name)))
		return rc;
	return ns ? csdkp_check_name(p, "namespace", ns) : 0;
}

int csdkp_check_timeout(const csdk_provider *p, const char *what, int64_t ms)
{
	if (ms < 0)
		return csdkp_error_set(CSDK_EINVAL, p->name, "%s %lld ms is not valid: it is negative; give milliseconds, or 0 for the default", what, (long long)ms);
	if (ms > CSDKP_TIMEOUT_MAX_MS)
		return csdkp_error_set(CSDK_EINVAL, p->name, "%s %lld ms is not valid: it is longer than 30 days; give at most %lld ms", what, (long long)ms, (long long)CSDKP_TIMEOUT_MAX_MS);
	return 0;
}

int csdkp_check_runtime(const csdk_provider *p, const char *runtime)
{
	if (runtime && strcmp(runtime, "python") && strcmp(runtime, "node"))
		return invalid(p, "runtime", runtime, "it is not a known runtime", "use python or node");
	return 0;
}

int csdkp_check_port(const csdk_provider *p, int port)
{
	if (port < 1 || port > 65535)
		return csdkp_error_set(CSDK_EINVAL, p->name, "port %d is not valid: it is out of range; use 1 to 65535", port);
	return 0;
}

int csdkp_check_protocol(const csdk_provider *p, const char *protocol)
{
	static const char fix[] = "use a URL scheme such as http, https, ws or wss";

	if (!protocol)
		return 0;
	if (!*protocol || strlen(protocol) > 32 || *protocol < 'a' || *protocol > 'z' ||
	    strspn(protocol, "abcdefghijklmnopqrstuvwxyz0123456789+.-") != strlen(protocol))
		return invalid(p, "protocol", protocol, "it is not a URL scheme", fix);
	return 0;
}
