#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <csdk/csdk.h>

#include "elf_file.h"
#include "error.h"
#include "isolate.h"
#include "trace.h"
#include "util.h"
#include "validate.h"

#define MAX_LISTED_EXPORTS 5

static int add_check(csdk_lint *lint, const char *check, char *failure)
{
	csdk_lint_check *c = &lint->checks[lint->n_checks];

	c->check = check;
	c->ok = failure == NULL;
	c->message = failure ? failure : strdup("ok");
	if (!c->message)
		return CSDK_ENOMEM;
	lint->n_checks++;
	if (failure)
		lint->ok = 0;
	csdkp_trace("plugins", "lint %s: %s", check, c->message);
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* *skip is set when elf failed and the symbol table cannot be read: that is elf's finding. */
static int exports_failure(char **out, int *skip, const char *path, int elf_ok)
{
	char **names = NULL, *list = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	*skip = 0;
	rc = csdkp_elf_exports(&names, &n, path);
	if (rc == CSDK_ENOMEM)
		return rc;
	if (rc != 0 && !elf_ok) {
		*skip = 1;
		return 0;
	}
	if (rc != 0) {
		*out = csdkp_printf("%s: has no readable dynamic symbol table; link the plugin with -shared", path);
		return *out ? 0 : CSDK_ENOMEM;
	}
	if (n == 0) {
		csdkp_elf_names_free(names);
		return 0;
	}
	qsort(names, n, sizeof(*names), compare_names);
	for (size_t i = 0; i < n && i <= MAX_LISTED_EXPORTS; i++) {
		const char *item = i == MAX_LISTED_EXPORTS ? "..." : names[i];
		char *next = csdkp_printf("%s%s%s", list ? list : "", list ? ", " : "", item);

		free(list);
		list = next;
		if (!list)
			break;
	}
	if (list)
		*out = csdkp_printf("%s: exports %zu symbols besides csdk_plugin_entry (%s); build with -fvisibility=hidden and -export-symbols-regex '^csdk_plugin_entry$'",
				    path, n, list);
	free(list);
	csdkp_elf_names_free(names);
	return *out ? 0 : CSDK_ENOMEM;
}

static int probe_bind(struct csdkp_verdict *verdict, const char *path, void *arg)
{
	const char *err;

	dlerror();
	if (dlopen(path, RTLD_NOW | RTLD_LOCAL))
		return 0;
	err = dlerror();
	verdict->code = CSDK_EPLUGIN;
	verdict->reason = strdup(err ? err : "unknown dlopen error");
	return verdict->reason ? CSDK_EPLUGIN : CSDK_ENOMEM;
}

static int undefined_failure(char **out, const char *path)
{
	struct csdkp_verdict v;
	int rc = csdkp_isolate_run(&v, path, probe_bind, NULL, CSDKP_PROBE_TIMEOUT_S);

	*out = NULL;
	if (rc == CSDK_ENOMEM)
		return rc;
	/*
	 * Immediate binding happens before any constructor runs, so a child
	 * that crashed or hung did bind: that is the descriptor check's finding.
	 */
	if (rc == CSDK_EPLUGIN)
		*out = csdkp_printf("%s: has undefined symbols when bound immediately: %s; link the plugin with -Wl,--no-undefined and the libraries it needs",
				    path, v.reason);
	else if (rc == CSDK_EIO)
		*out = v.reason ? strdup(v.reason) : NULL;
	else
		rc = 0;
	csdkp_verdict_clear(&v);
	if (rc != 0 && !*out)
		return CSDK_ENOMEM;
	return 0;
}

static int descriptor_failure(char **out, const char *path)
{
	struct csdkp_verdict v;
	int rc = csdkp_isolate_run(&v, path, csdkp_validate_probe, NULL, CSDKP_PROBE_TIMEOUT_S);

	*out = NULL;
	if (rc == CSDK_ENOMEM)
		return rc;
	if (rc != 0) {
		*out = v.reason;
		v.reason = NULL;
	}
	csdkp_verdict_clear(&v);
	return rc != 0 && !*out ? CSDK_ENOMEM : 0;
}

/* In the child: load the plugin with fd 1 on a memory file, and say what reached it. */
static int probe_stdout(struct csdkp_verdict *verdict, const char *path, void *arg)
{
	struct csdkp_plugin *plugin = NULL;
	struct csdkp_verdict ignored = { 0 };
	char head[64];
	ssize_t n;
	off_t size;
	int fd = memfd_create("csdk-lint-stdout", MFD_CLOEXEC);

	(void)arg;
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
		return 0;
	csdkp_validate_file(&plugin, &ignored, path);
	csdkp_verdict_clear(&ignored);
	fflush(stdout);
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0)
		return 0;
	n = pread(fd, head, sizeof(head) - 1, 0);
	head[n > 0 ? n : 0] = '\0';
	head[strcspn(head, "\n")] = '\0';
	verdict->code = CSDK_EPLUGIN;
	verdict->reason = csdkp_printf("%s: writes %lld bytes to standard output while loading (constructors or csdk_plugin_entry), starting \"%s\"; "
				       "standard output belongs to the program: log through host->log",
				       path, (long long)size, head);
	return verdict->reason ? CSDK_EPLUGIN : CSDK_ENOMEM;
}

/* Like undefined: a child that crashed or hung is the descriptor check's finding. */
static int stdout_failure(char **out, const char *path)
{
	struct csdkp_verdict v;
	int rc = csdkp_isolate_run(&v, path, probe_stdout, NULL, CSDKP_PROBE_TIMEOUT_S);

	*out = NULL;
	if (rc == CSDK_ENOMEM)
		return rc;
	if (rc == CSDK_EPLUGIN) {
		*out = v.reason;
		v.reason = NULL;
	}
	csdkp_verdict_clear(&v);
	return rc == CSDK_EPLUGIN && !*out ? CSDK_ENOMEM : 0;
}

int csdk_plugin_lint(csdk_lint **out, const char *path)
{
	char *abs = NULL, *failure = NULL;
	csdk_lint *lint = NULL;
	int rc, elf_ok, skip;

	if (out)
		*out = NULL;
	if (!out || !path)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_plugin_lint: out and path must not be NULL");
	abs = csdkp_absolute_path(path);
	lint = calloc(1, sizeof(*lint));
	if (lint)
		lint->checks = calloc(5, sizeof(*lint->checks));
	if (!abs || !lint || !lint->checks)
		goto oom;
	lint->ok = 1;
	rc = csdkp_elf_check(&failure, abs);
	if (rc == CSDK_ENOMEM)
		goto oom;
	if (rc == CSDK_ENOTFOUND || rc == CSDK_EIO) {
		rc = csdkp_error_set(rc, NULL, "%s", failure);
		free(failure);
		free(abs);
		csdk_lint_free(lint);
		return rc;
	}
	elf_ok = rc == 0;
	if (add_check(lint, "elf", failure) != 0)
		goto oom;
	/* A foreign-machine build still has symbols to judge; a non-ELF file does not. */
	if (exports_failure(&failure, &skip, abs, elf_ok) != 0 || (!skip && add_check(lint, "exports", failure) != 0))
		goto oom;
	/* dlopen would only repeat elf's finding in worse words ("file too short"). */
	if (elf_ok && (undefined_failure(&failure, abs) != 0 || add_check(lint, "undefined", failure) != 0 ||
		       descriptor_failure(&failure, abs) != 0 || add_check(lint, "descriptor", failure) != 0 ||
		       stdout_failure(&failure, abs) != 0 || add_check(lint, "stdout", failure) != 0))
		goto oom;
	free(abs);
	*out = lint;
	return 0;
oom:
	free(abs);
	csdk_lint_free(lint);
	return csdkp_error_oom();
}

void csdk_lint_free(csdk_lint *lint)
{
	if (!lint)
		return;
	for (size_t i = 0; i < lint->n_checks; i++)
		free((char *)lint->checks[i].message);
	free(lint->checks);
	free(lint);
}
