#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/output.h"
#include "tool.h"


/*
 * The checks csdk_plugin_lint runs, in its order. It leaves out those that
 * need a loadable file when elf failed; they are shown as skipped.
 */
static const char *const lint_checks[] = { "elf", "exports", "undefined", "descriptor", "stdout" };
#define N_LINT_CHECKS (sizeof(lint_checks) / sizeof(lint_checks[0]))
#define SKIP_REASON "the file is not a loadable ELF shared object"

static const csdk_lint_check *lint_find(const csdk_lint *lint, const char *name)
{
	size_t i;

	for (i = 0; i < lint->n_checks; i++)
		if (strcmp(lint->checks[i].check, name) == 0)
			return &lint->checks[i];
	return NULL;
}

static int is_lint_check(const char *name)
{
	size_t i;

	for (i = 0; i < N_LINT_CHECKS; i++)
		if (strcmp(lint_checks[i], name) == 0)
			return 1;
	return 0;
}

/* One line or one JSON object for check (NULL when the lint skipped it). */
static int report_check(json_t *checks, const char *name, const csdk_lint_check *check)
{
	if (checks)
		return json_array_append_new(checks, json_pack("{s:s, s:b, s:b, s:s?}", "check", name,
							       "ok", check && check->ok,
							       "skipped", check == NULL,
							       "message", check ? check->message : SKIP_REASON));
	if (!check)
		fprintf(TOOL_STDOUT, "SKIP %s: " SKIP_REASON "\n", name);
	else if (check->ok)
		fprintf(TOOL_STDOUT, "ok   %s\n", name);
	else
		fprintf(TOOL_STDOUT, "FAIL %s: %s\n", name, check->message);
	return 0;
}

int tool_view_check(const struct tool_plugins_options *opts)
{
	json_t *files = opts->json ? json_array() : NULL;
	int i, failed = 0;

	if (opts->json && !files) {
		tool_emit_json(NULL);
		return 1;
	}
	for (i = 0; i < opts->n_operands; i++) {
		const char *file = opts->operands[i];
		csdk_lint *lint = NULL;
		json_t *checks = NULL;
		size_t c;

		if (!opts->json)
			fprintf(TOOL_STDOUT, "%s%s\n", i > 0 ? "\n" : "", file);
		if (csdk_plugin_lint(&lint, file) < 0) {
			const char *message = csdk_error_last()->message;

			failed = 1;
			if (!opts->json)
				tool_error("%s", message);
			else if (json_array_append_new(files, json_pack("{s:s, s:b, s:[], s:s}", "file", file,
									"ok", 0, "checks", "error", message)) < 0)
				goto nomem;
			continue;
		}
		if (!lint->ok)
			failed = 1;
		if (opts->json) {
			checks = json_array();
			if (!checks)
				goto nomem_lint;
		}
		for (c = 0; c < N_LINT_CHECKS; c++)
			if (report_check(checks, lint_checks[c], lint_find(lint, lint_checks[c])) < 0)
				goto nomem_lint;
		for (c = 0; c < lint->n_checks; c++)
			if (!is_lint_check(lint->checks[c].check) &&
			    report_check(checks, lint->checks[c].check, &lint->checks[c]) < 0)
				goto nomem_lint;
		if (opts->json) {
			if (json_array_append_new(files, json_pack("{s:s, s:b, s:o}", "file", file,
								   "ok", lint->ok != 0, "checks", checks)) < 0) {
				checks = NULL;
				goto nomem_lint;
			}
		}
		csdk_lint_free(lint);
		continue;
nomem_lint:
		json_decref(checks);
		csdk_lint_free(lint);
		goto nomem;
	}
	if (opts->json && tool_emit_json(json_pack("{s:o}", "files", files)) < 0)
		return 1;
	return failed;

nomem:
	json_decref(files);
	tool_emit_json(NULL);
	return 1;
}
