/*
 * test-lint: csdk_plugin_lint passes good plugins, fails each check on the
 * fixture built to fail it, leaves out what a file failing elf cannot answer,
 * and every plugin the project ships exports only csdk_plugin_entry.
 */
#include "config.h"

#include <check.h>
#include <glob.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <csdk/csdk.h>

#include "fixtures/fixture.h"
#include "helpers.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const check_names[] = { "elf", "exports", "undefined", "descriptor", "stdout" };

static const csdk_lint_check *find_check(const csdk_lint *lint, const char *name)
{
	for (size_t i = 0; i < lint->n_checks; i++)
		if (strcmp(lint->checks[i].check, name) == 0)
			return &lint->checks[i];
	return NULL;
}

static csdk_lint *lint_file(const char *path)
{
	csdk_lint *lint = NULL;
	int rc = csdk_plugin_lint(&lint, path);

	ck_assert_msg(rc == 0, "csdk_plugin_lint(%s) returned %d: %s", path, rc, csdk_error_last()->message);
	ck_assert_ptr_nonnull(lint);
	for (size_t i = 0; i < lint->n_checks; i++) {
		ck_assert_ptr_nonnull(lint->checks[i].check);
		ck_assert_ptr_nonnull(lint->checks[i].message);
		ck_assert_msg(strchr(lint->checks[i].message, '\n') == NULL, "not one line: %s", lint->checks[i].message);
	}
	return lint;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A failed check: one line "PATH: fact; fix". */
static const csdk_lint_check *assert_failed(const csdk_lint *lint, const char *path, const char *name)
{
	const csdk_lint_check *c = find_check(lint, name);

	ck_assert_msg(c != NULL, "%s: no '%s' check", path, name);
	ck_assert_msg(!c->ok, "%s: check '%s' passed: %s", path, name, c->message);
	ck_assert_msg(starts_with(c->message, t_fmt("%s: ", path)) && strstr(c->message, "; ") != NULL,
		      "%s: '%s' message is not 'PATH: fact; fix': %s", path, name, c->message);
	ck_assert_int_eq(lint->ok, 0);
	return c;
}

static void assert_passed(const csdk_lint *lint, const char *path, const char *name)
{
	const csdk_lint_check *c = find_check(lint, name);

	ck_assert_msg(c != NULL, "%s: no '%s' check", path, name);
	ck_assert_msg(c->ok, "%s: check '%s' failed: %s", path, name, c->message);
}

START_TEST(good_plugins_pass_every_check)
{
	static const char *const names[] = { "alpha", "beta", "frozen", "future", "lax" };

	for (size_t i = 0; i < N_OF(names); i++) {
		const char *path = t_fixture("good", names[i]);
		csdk_lint *lint = lint_file(path);

		ck_assert_uint_eq(lint->n_checks, N_OF(check_names));
		for (size_t c = 0; c < N_OF(check_names); c++)
			assert_passed(lint, path, check_names[c]);
		ck_assert_int_ne(lint->ok, 0);
		csdk_lint_free(lint);
	}
}
END_TEST

START_TEST(extra_export_fails_exports)
{
	const char *path = t_fixture("good", "leaky");
	csdk_lint *lint = lint_file(path);
	const csdk_lint_check *c = assert_failed(lint, path, "exports");

	ck_assert_msg(strstr(c->message, FIXTURE_LEAKED_SYMBOL) != NULL, "message does not name %s: %s",
		      FIXTURE_LEAKED_SYMBOL, c->message);
	assert_passed(lint, path, "elf");
	assert_passed(lint, path, "undefined");
	assert_passed(lint, path, "descriptor");
	csdk_lint_free(lint);
}
END_TEST

START_TEST(undefined_symbol_fails_undefined)
{
	const char *path = t_fixture("bad", "undef");
	csdk_lint *lint = lint_file(path);
	const csdk_lint_check *c = assert_failed(lint, path, "undefined");

	ck_assert_msg(strstr(c->message, FIXTURE_MISSING_SYMBOL) != NULL, "message does not name %s: %s",
		      FIXTURE_MISSING_SYMBOL, c->message);
	assert_passed(lint, path, "elf");
	assert_passed(lint, path, "exports");
	csdk_lint_free(lint);
}
END_TEST

/* Only elf is reported: the other checks would only restate it in dlopen's words. */
START_TEST(text_file_fails_elf)
{
	const char *path = t_fixture("bad", "text");
	csdk_lint *lint = lint_file(path);
	const csdk_lint_check *c = assert_failed(lint, path, "elf");

	ck_assert_str_eq(c->message, t_fmt("%s: not an ELF file; a plugin is a shared object built with -shared", path));
	ck_assert_uint_eq(lint->n_checks, 1);
	ck_assert_ptr_eq(c, &lint->checks[0]);
	csdk_lint_free(lint);
}
END_TEST

START_TEST(wrong_class_fails_elf)
{
	const char *path = t_fixture("bad", "elf32");
	csdk_lint *lint = lint_file(path);
	const csdk_lint_check *c = assert_failed(lint, path, "elf");

	ck_assert_str_eq(c->message, t_fmt("%s: is a 32-bit ELF file but this host is %zu-bit; rebuild the plugin for this machine",
					   path, sizeof(void *) * 8));
	ck_assert_uint_eq(lint->n_checks, 1);
	csdk_lint_free(lint);
}
END_TEST

/* An ELF file the loader refuses still has exports to judge; nothing is loaded. */
START_TEST(unloadable_elf_keeps_exports_only)
{
	static const char *const files[] = { "elfmachine", "elfexec" };

	for (size_t i = 0; i < N_OF(files); i++) {
		const char *path = t_fixture("bad", files[i]);
		csdk_lint *lint = lint_file(path);

		assert_failed(lint, path, "elf");
		ck_assert_uint_eq(lint->n_checks, 2);
		ck_assert_str_eq(lint->checks[0].check, "elf");
		ck_assert_str_eq(lint->checks[1].check, "exports");
		ck_assert_int_ne(lint->checks[1].ok, 0);
		ck_assert_str_eq(lint->checks[1].message, "ok");
		csdk_lint_free(lint);
	}
}
END_TEST

START_TEST(bad_descriptor_fails_descriptor)
{
	static const struct {
		const char *file, *message;
	} cases[] = {
		{ "badmagic", "bad descriptor magic 0xdeadbeef (expected 0x4b445343); csdk_plugin_entry must return a struct csdk_plugin" },
		{ "noruncode", "required method 'run_code' is missing; implement it in the method table" },
		{ "noentry", "does not export csdk_plugin_entry; define it with CSDK_PLUGIN_EXPORT (see csdk/plugin.h)" },
		{ "mismatch", "plugin name 'other' does not match the file name; rename the file to csdk-other.so" },
	};

	for (size_t i = 0; i < N_OF(cases); i++) {
		const char *path = t_fixture("bad", cases[i].file);
		csdk_lint *lint = lint_file(path);
		const csdk_lint_check *c = assert_failed(lint, path, "descriptor");

		ck_assert_str_eq(c->message, t_fmt("%s: %s", path, cases[i].message));
		assert_passed(lint, path, "elf");
		assert_passed(lint, path, "undefined");
		csdk_lint_free(lint);
	}
}
END_TEST

/* A plugin built against ABI 1.0: the descriptor check gives the one rebuild line. */
START_TEST(abi1_plugin_fails_descriptor)
{
	const char *path = t_fixture("abi1", "abi1");
	csdk_lint *lint = lint_file(path);
	const csdk_lint_check *c = assert_failed(lint, path, "descriptor");

	ck_assert_str_eq(c->message, t_fmt("%s: plugin speaks ABI 1.x, which this host no longer loads (it speaks %d.%d); "
					   "rebuild the plugin against this csdk's csdk/plugin.h", path, CSDK_ABI_MAJOR, CSDK_ABI_MINOR));
	assert_passed(lint, path, "elf");
	assert_passed(lint, path, "undefined");
	csdk_lint_free(lint);
}
END_TEST

/* Plugin code runs in a child: the crash is a finding, not our death. */
START_TEST(crashing_plugin_is_reported)
{
	const char *path = t_fixture("crash", "crash");
	csdk_lint *lint = lint_file(path);
	const char *crashed = t_fmt("%s: crashed while loading (signal %d, SIGSEGV); fix the plugin's constructors or csdk_plugin_entry",
				    path, SIGSEGV);
	int found = 0;

	ck_assert_int_eq(lint->ok, 0);
	for (size_t i = 0; i < lint->n_checks; i++)
		if (!lint->checks[i].ok && strcmp(lint->checks[i].message, crashed) == 0)
			found = 1;
	ck_assert_msg(found, "no failed check says: %s", crashed);
	assert_passed(lint, path, "elf");
	csdk_lint_free(lint);
}
END_TEST

START_TEST(lint_free_accepts_null)
{
	csdk_lint_free(NULL);
}
END_TEST

/* Every plugin the build produced exports nothing but csdk_plugin_entry. */
START_TEST(shipped_plugins_export_only_the_entry)
{
	const char *pattern = t_fmt("%s/*/.libs/csdk-*.so", t_env("CSDK_TEST_PLUGINS"));
	int have_example = 0;
	glob_t g;

	ck_assert_int_eq(glob(pattern, 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		csdk_lint *lint = lint_file(path);

		if (strstr(path, "/csdk-example.so"))
			have_example = 1;
		assert_passed(lint, path, "exports");
		assert_passed(lint, path, "elf");
		assert_passed(lint, path, "undefined");
		assert_passed(lint, path, "descriptor");
		ck_assert_int_ne(lint->ok, 0);
		csdk_lint_free(lint);
	}
	globfree(&g);
	ck_assert_msg(have_example, "the example plugin was not built (no %s match csdk-example.so)", pattern);
}
END_TEST

static Suite *lint_suite(void)
{
	Suite *s = suite_create("lint");
	TCase *tc = tcase_create("checks");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, good_plugins_pass_every_check);
	tcase_add_test(tc, extra_export_fails_exports);
	tcase_add_test(tc, undefined_symbol_fails_undefined);
	tcase_add_test(tc, text_file_fails_elf);
	tcase_add_test(tc, wrong_class_fails_elf);
	tcase_add_test(tc, unloadable_elf_keeps_exports_only);
	tcase_add_test(tc, bad_descriptor_fails_descriptor);
	tcase_add_test(tc, abi1_plugin_fails_descriptor);
	tcase_add_test(tc, crashing_plugin_is_reported);
	tcase_add_test(tc, lint_free_accepts_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("shipped");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, shipped_plugins_export_only_the_entry);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(lint_suite());
}
