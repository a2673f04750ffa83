#include "config.h"

#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/output.h"
#include "tool.h"

/* Why a glob can never match as meant (fnmatch(3) takes an unclosed '[' literally), or NULL. */
static const char *glob_problem(const char *glob)
{
	const char *p, *q;
	int rc;

	for (p = glob; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				return "it ends with a lone '\\'";
			p++;
		} else if (*p == '[') {
			q = p + 1;
			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q && *q != ']')
				q += q[0] == '\\' && q[1] ? 2 : 1;
			if (!*q)
				return "a '[' is never closed by ']'";
			p = q;
		}
	}
	rc = fnmatch(glob, "", 0);
	return rc == 0 || rc == FNM_NOMATCH ? NULL : "fnmatch(3) rejects it";
}

/* Calls fn on each non-empty item of a comma-separated glob list, as the registry splits it. */
static int each_glob(const char *list, int (*fn)(const char *glob, size_t len, void *arg), void *arg)
{
	while (list && *list) {
		size_t n = strcspn(list, ",");
		int rc = n ? fn(list, n, arg) : 0;

		if (rc)
			return rc;
		list += n;
		if (*list == ',')
			list++;
	}
	return 0;
}

static int warn_if_malformed(const char *glob, size_t len, void *variable)
{
	char *copy = strndup(glob, len);
	const char *problem = copy ? glob_problem(copy) : NULL;

	if (problem)
		tool_warning("%s pattern '%s' is malformed (%s), so it matches no plugin; correct it or unset %s",
			      (const char *)variable, copy, problem, (const char *)variable);
	free(copy);
	return problem != NULL;
}

struct names {
	char **items;
	size_t n;
};

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The NAMEs of the csdk-NAME.so files on the search path, sorted and unique, as the registry sees them. */
static int plugin_file_names(struct names *out, const csdk_registry *reg)
{
	size_t i, kept = 0;

	for (i = 0; i < csdk_registry_path_count(reg); i++) {
		DIR *dir = opendir(csdk_registry_path_at(reg, i)->dir);
		struct dirent *de;

		while (dir && (de = readdir(dir)) != NULL) {
			size_t len = strlen(de->d_name);
			char **grown;

			if (len < 8 || strncmp(de->d_name, "csdk-", 5) != 0 || strcmp(de->d_name + len - 3, ".so") != 0)
				continue;
			grown = realloc(out->items, (out->n + 1) * sizeof(*grown));
			if (!grown || !(grown[out->n] = strndup(de->d_name + 5, len - 8))) {
				out->items = grown ? grown : out->items;
				closedir(dir);
				return CSDK_ENOMEM;
			}
			out->items = grown;
			out->n++;
		}
		if (dir)
			closedir(dir);
	}
	if (out->n == 0)
		return 0;
	qsort(out->items, out->n, sizeof(*out->items), compare_strings);
	for (i = 0; i < out->n; i++) {
		if (kept > 0 && strcmp(out->items[kept - 1], out->items[i]) == 0)
			free(out->items[i]);
		else
			out->items[kept++] = out->items[i];
	}
	out->n = kept;
	return 0;
}

struct match {
	const struct names *names;
	int matched;
};

static int glob_matches_a_name(const char *glob, size_t len, void *arg)
{
	struct match *m = arg;
	char *copy = strndup(glob, len);
	size_t i;

	for (i = 0; copy && !m->matched && i < m->names->n; i++)
		m->matched = fnmatch(copy, m->names->items[i], 0) == 0;
	free(copy);
	return m->matched;
}

/*
 * The registry skips what CSDK_PLUGINS does not select without a word (only
 * the trace says so): say it when that leaves out every plugin file found.
 */
static void warn_about_selection(const csdk_registry *reg)
{
	const char *select = getenv("CSDK_PLUGINS");
	struct names names = { NULL, 0 };
	struct match m = { &names, 0 };
	char list[256] = "";
	size_t i, used = 0;
	int malformed;

	malformed = each_glob(select, warn_if_malformed, "CSDK_PLUGINS");
	each_glob(getenv("CSDK_PLUGINS_DISABLE"), warn_if_malformed, "CSDK_PLUGINS_DISABLE");
	if (malformed || !select || strspn(select, ",") == strlen(select))
		return;
	if (plugin_file_names(&names, reg) == 0 && names.n > 0 && each_glob(select, glob_matches_a_name, &m) == 0) {
		for (i = 0; i < names.n && i <= 3 && used < sizeof(list); i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
						 i == 3 ? "..." : names.items[i]);
		tool_warning("CSDK_PLUGINS='%s' matches none of the %zu plugin file%s on the search path (%s); correct the pattern or unset CSDK_PLUGINS",
			      select, names.n, names.n == 1 ? "" : "s", list);
	}
	for (i = 0; i < names.n; i++)
		free(names.items[i]);
	free(names.items);
}

void tool_print_registry_warnings(const csdk_registry *reg)
{
	size_t i;

	for (i = 0; i < csdk_registry_warning_count(reg); i++)
		tool_warning("%s", csdk_registry_warning_at(reg, i));
}

/* The warnings of a view that shows what the scan found. */
void tool_print_scan_warnings(const csdk_registry *reg)
{
	tool_print_registry_warnings(reg);
	warn_about_selection(reg);
}
