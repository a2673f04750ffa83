#include "config.h"

#include "conformance.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static int run_code(tool_conf_ctx *t, csdk_result **out, const char *code, const char *runtime)
{
	char what[160];
	int rc;

	csdk_command_options o = CSDK_COMMAND_OPTIONS_INIT;

	*out = NULL;
	o.runtime = runtime;
	rc = csdk_sandbox_run_code(out, t->sandbox, code, &o);
	if (rc < 0) {
		snprintf(what, sizeof(what), "run_code (%s) '%.60s'", runtime ? runtime : "detected", code);
		return tool_conf_call_failed(t, what, rc);
	}
	if (!*out)
		return tool_conf_fail(t, "run_code '%.60s': returned 0 without a result", code);
	return 0;
}

static int expect_output(tool_conf_ctx *t, const char *code, const char *runtime, const char *expected)
{
	csdk_result *res;
	int rc;

	TOOL_CONF_CHECK(run_code(t, &res, code, runtime));
	rc = tool_conf_expect_exit(t, code, res, 0);
	if (rc == 0)
		rc = tool_conf_expect_str(t, code, expected, res->stdout_buf, res->stdout_len);
	csdk_result_free(res);
	return rc;
}

static int expect_runtime_error(tool_conf_ctx *t, const char *code, const char *runtime,
				const char *needle, int in_stderr_only)
{
	csdk_result *res;
	char *both;
	int rc = 0;

	TOOL_CONF_CHECK(run_code(t, &res, code, runtime));
	if (res->exit_code == 0) {
		csdk_result_free(res);
		return tool_conf_fail(t, "%s: expected a non-zero exit code, got 0", code);
	}
	if (in_stderr_only) {
		rc = tool_conf_expect_contains(t, "stderr", needle, res->stderr_buf, res->stderr_len);
	} else {
		both = malloc(res->stdout_len + res->stderr_len + 1);
		if (!both) {
			rc = tool_conf_fail(t, "out of memory");
		} else {
			memcpy(both, res->stdout_buf, res->stdout_len);
			memcpy(both + res->stdout_len, res->stderr_buf, res->stderr_len);
			rc = tool_conf_expect_contains(t, "stdout and stderr", needle, both,
							res->stdout_len + res->stderr_len);
			free(both);
		}
	}
	csdk_result_free(res);
	return rc;
}

static int expect_syntax_error(tool_conf_ctx *t, const char *code, const char *runtime)
{
	csdk_result *res = NULL;
	char what[160];
	int rc;

	csdk_command_options o = CSDK_COMMAND_OPTIONS_INIT;

	o.runtime = runtime;
	rc = csdk_sandbox_run_code(&res, t->sandbox, code, &o);
	snprintf(what, sizeof(what), "run_code (%s) '%s'", runtime, code);
	if (rc == 0) {
		int exit_code = res ? res->exit_code : -1;

		csdk_result_free(res);
		return tool_conf_fail(t, "%s: expected CSDK_ESYNTAX (%d), got a result with exit code %d", what,
				       CSDK_ESYNTAX, exit_code);
	}
	return tool_conf_expect_error(t, what, rc, CSDK_ESYNTAX, NULL);
}

int tool_conf_case_node_hello(tool_conf_ctx *t)
{
	return expect_output(t, "console.log(\"Hello, World!\")", "node", "Hello, World!\n");
}

int tool_conf_case_node_error(tool_conf_ctx *t)
{
	return expect_runtime_error(t, "throw new Error(\"Test error\")", "node", "Error", 0);
}

int tool_conf_case_node_syntax(tool_conf_ctx *t)
{
	return expect_syntax_error(t, "invalid syntax here!!!", "node");
}

int tool_conf_case_python_version(tool_conf_ctx *t)
{
	csdk_result *res;
	int rc;

	TOOL_CONF_CHECK(run_code(t, &res, "import sys; print(sys.version)", "python"));
	rc = tool_conf_expect_exit(t, "print(sys.version)", res, 0);
	if (rc == 0 && (res->stdout_len < 4 || !isdigit((unsigned char)res->stdout_buf[0]) ||
			!strchr(res->stdout_buf, '.'))) {
		char g[300];

		rc = tool_conf_fail(t, "print(sys.version): expected a version such as \"3.11.2 ...\", got %s",
				     tool_conf_quote(g, sizeof(g), res->stdout_buf, res->stdout_len));
	}
	csdk_result_free(res);
	TOOL_CONF_CHECK(rc);
	return expect_output(t, "print(\"Hello from Python\")", "python", "Hello from Python\n");
}

int tool_conf_case_python_json(tool_conf_ctx *t)
{
	static const char code[] =
		"import json\n"
		"import datetime\n"
		"d = datetime.datetime(2024, 1, 2, 3, 4, 5)\n"
		"print(json.dumps({\"when\": d.isoformat(), \"n\": [1, 2, 3], \"ok\": True}))\n";
	csdk_result *res;
	json_error_t jerr;
	json_t *root, *n;
	const char *when;
	int rc;

	TOOL_CONF_CHECK(run_code(t, &res, code, "python"));
	rc = tool_conf_expect_exit(t, "json.dumps", res, 0);
	if (rc < 0) {
		csdk_result_free(res);
		return rc;
	}
	root = json_loadb(res->stdout_buf, res->stdout_len, 0, &jerr);
	if (!root) {
		char g[300];

		rc = tool_conf_fail(t, "json.dumps output: expected JSON, got %s (%s)",
				     tool_conf_quote(g, sizeof(g), res->stdout_buf, res->stdout_len), jerr.text);
		csdk_result_free(res);
		return rc;
	}
	csdk_result_free(res);
	when = json_string_value(json_object_get(root, "when"));
	n = json_object_get(root, "n");
	if (!when || strcmp(when, "2024-01-02T03:04:05") != 0)
		rc = tool_conf_fail(t, "parsed \"when\": expected \"2024-01-02T03:04:05\", got %s", when ? when : "none");
	else if (!json_is_array(n) || json_array_size(n) != 3 || json_integer_value(json_array_get(n, 0)) != 1 ||
		 json_integer_value(json_array_get(n, 1)) != 2 || json_integer_value(json_array_get(n, 2)) != 3)
		rc = tool_conf_fail(t, "parsed \"n\": expected [1, 2, 3], got something else");
	else if (!json_is_true(json_object_get(root, "ok")))
		rc = tool_conf_fail(t, "parsed \"ok\": expected true, got something else");
	json_decref(root);
	return rc;
}

int tool_conf_case_python_error(tool_conf_ctx *t)
{
	return expect_runtime_error(t, "raise Exception(\"Python test error\")", "python", "Python test error", 1);
}

int tool_conf_case_python_syntax(tool_conf_ctx *t)
{
	return expect_syntax_error(t, "def broken(:\n    pass", "python");
}

int tool_conf_case_detect_runtime(tool_conf_ctx *t)
{
	/* print() is undefined in node: only the python runtime prints "hi". */
	TOOL_CONF_CHECK(expect_output(t, "print(\"hi\")", NULL, "hi\n"));
	return expect_output(t, "console.log(\"detected node\")", NULL, "detected node\n");
}
