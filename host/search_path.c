#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "search_path.h"

#ifndef CSDK_PLUGIN_DIR
#error "CSDK_PLUGIN_DIR must be defined by the build (host/Makefile.am)"
#endif

void csdkp_path_entry_free(void *p)
{
	csdk_path_entry *entry = p;

	if (!entry)
		return;
	free((char *)entry->dir);
	free(entry);
}

const char *csdkp_path_origin_name(csdk_path_origin origin)
{
	switch (origin) {
	case CSDK_PATH_OPTION: return "option";
	case CSDK_PATH_ENV: return "CSDK_PLUGIN_PATH";
	case CSDK_PATH_USER: return "user";
	case CSDK_PATH_SYSTEM: return "system";
	case CSDK_PATH_SYSTEM_ENV: return "CSDK_PLUGIN_SYSTEM_PATH";
	}
	return "unknown";
}

static int add_dir(struct csdkp_vec *entries, const char *dir, size_t len, csdk_path_origin origin)
{
	csdk_path_entry *entry;
	char *copy, *abs;

	if (len == 0)
		return 0;
	copy = strndup(dir, len);
	abs = copy ? csdkp_absolute_path(copy) : NULL;
	free(copy);
	entry = abs ? calloc(1, sizeof(*entry)) : NULL;
	if (!entry || csdkp_vec_push(entries, entry) != 0) {
		free(abs);
		free(entry);
		return CSDK_ENOMEM;
	}
	entry->dir = abs;
	entry->origin = origin;
	return 0;
}

static int add_list(struct csdkp_vec *entries, const char *list, csdk_path_origin origin)
{
	while (*list) {
		size_t n = strcspn(list, ":");

		if (add_dir(entries, list, n, origin) != 0)
			return CSDK_ENOMEM;
		list += n;
		if (*list == ':')
			list++;
	}
	return 0;
}

static int add_user_dir(struct csdkp_vec *entries)
{
	/* secure_getenv: a setuid program must not load plugins from its caller's home. */
	const char *xdg = secure_getenv("XDG_DATA_HOME");
	const char *home = secure_getenv("HOME");
	char *dir;
	int rc;

	if (xdg && xdg[0] == '/')
		dir = csdkp_printf("%s/csdk-2/plugins", xdg);
	else if (home && home[0])
		dir = csdkp_printf("%s/.local/share/csdk-2/plugins", home);
	else
		return 0;
	if (!dir)
		return CSDK_ENOMEM;
	rc = add_dir(entries, dir, strlen(dir), CSDK_PATH_USER);
	free(dir);
	return rc;
}

/* The variable's value, or NULL when unset or ignored (with a warning under elevated privileges). */
static int env_list(const char **out, struct csdkp_vec *warnings, const char *name, int elevated)
{
	const char *value = getenv(name);
	char *warning;

	*out = NULL;
	if (!value)
		return 0;
	if (!elevated) {
		*out = value;
		return 0;
	}
	warning = csdkp_printf("%s is ignored: running with elevated privileges (setuid or setgid)", name);
	if (!warning || csdkp_vec_push(warnings, warning) != 0) {
		free(warning);
		return CSDK_ENOMEM;
	}
	return 0;
}

int csdkp_search_path_build(struct csdkp_vec *entries, struct csdkp_vec *warnings, const char *option_path,
			    unsigned int flags)
{
	const char *env_path = NULL, *system_path = NULL;
	int elevated = getauxval(AT_SECURE) != 0;

	if (option_path)
		return add_list(entries, option_path, CSDK_PATH_OPTION);
	if (!(flags & CSDK_REGISTRY_NO_ENV)) {
		if (env_list(&env_path, warnings, "CSDK_PLUGIN_PATH", elevated) != 0 ||
		    env_list(&system_path, warnings, "CSDK_PLUGIN_SYSTEM_PATH", elevated) != 0)
			return CSDK_ENOMEM;
	}
	if (env_path && add_list(entries, env_path, CSDK_PATH_ENV) != 0)
		return CSDK_ENOMEM;
	if (system_path)
		return add_list(entries, system_path, CSDK_PATH_SYSTEM_ENV);
	if (add_user_dir(entries) != 0)
		return CSDK_ENOMEM;
	return add_dir(entries, CSDK_PLUGIN_DIR, strlen(CSDK_PLUGIN_DIR), CSDK_PATH_SYSTEM);
}
