#include "config.h"

#include "args.h"

#include <stdlib.h>
#include <string.h>

#include <csdk/plugin.h>

#include "output.h"

int tool_getopt_error(int c, char *const argv[])
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;

	/* optopt is the short option character; for long options only argv tells. */
	if (arg && strncmp(arg, "--", 2) == 0) {
		size_t len = strcspn(arg, "=");

		if (c == ':')
			return tool_usage_error("option '%.*s' needs an argument", (int)len, arg);
		return tool_usage_error("unknown option '%.*s'", (int)len, arg);
	}
	if (c == ':')
		return tool_usage_error("option '-%c' needs an argument", optopt);
	if (optopt > ' ' && optopt < 127)
		return tool_usage_error("unknown option '-%c'", optopt);
	return tool_usage_error("unknown option '%s'", arg ? arg : "?");
}

int tool_split_kv(char **key_out, const char **value_out, const char *arg)
{
	const char *eq = strchr(arg, '=');

	*key_out = NULL;
	*value_out = NULL;
	if (!eq || eq == arg)
		return CSDK_EINVAL;
	*key_out = strndup(arg, (size_t)(eq - arg));
	if (!*key_out)
		return CSDK_ENOMEM;
	*value_out = eq + 1;
	return 0;
}
