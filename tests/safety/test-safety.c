/*
 * A bad plugin never hurts a program that did not ask for it: opening a
 * provider loads its own file only, the verdict cache spares probes,
 * csdk_provider_open_default resolves like csdk, and the plugin call record.
 * Each test runs in its own process (Check's fork mode), so the process-wide
 * default registry is new in each.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csdk/csdk.h>

static char scratch[4096];

static const char *env(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v && *v, "%s is not set; run the suite through make check", name);
	return v;
}

__attribute__((format(printf, 1, 2)))
static const char *fmt(const char *f, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	static char *kept[256];
	static size_t n_kept;

	va_start(ap, f);
	n = vasprintf(&s, f, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	/* Reachable until exit, so leak checkers stay quiet. */
	if (n_kept < sizeof(kept) / sizeof(kept[0]))
		kept[n_kept++] = s;
	return s;
}

/* A scratch directory with marks/, cache/ and plugins/ holding the named fault plugins. */
static void setup_dir(const char *const *faults)
{
	char tmpl[4096];

	snprintf(tmpl, sizeof(tmpl), "%s/safety.XXXXXX", env("CSDK_TEST_TMPDIR"));
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(scratch, sizeof(scratch), "%s", tmpl);
	ck_assert_int_eq(mkdir(fmt("%s/%s", scratch, "marks"), 0755), 0);
	ck_assert_int_eq(mkdir(fmt("%s/%s", scratch, "plugins"), 0755), 0);
	for (size_t i = 0; faults && faults[i]; i++) {
		const char *to = fmt("%s/plugins/csdk-%s.so", scratch, faults[i]);
		const char *cmd = fmt("cp '%s' '%s'", fmt("%s/csdk-%s.so", env("CSDK_TEST_SAFETY"), faults[i]), to);

		ck_assert_int_eq(system(cmd), 0);
	}
	setenv("SAFETY_MARKER_DIR", fmt("%s/%s", scratch, "marks"), 1);
	setenv("XDG_CACHE_HOME", fmt("%s/%s", scratch, "cache"), 1);
	setenv("XDG_CONFIG_HOME", fmt("%s/%s", scratch, "config"), 1);
	setenv("CSDK_LOCAL_STATE_DIR", fmt("%s/%s", scratch, "state"), 1);
	setenv("CSDK_PLUGIN_PATH",
	       fmt("%s/plugins:%s", scratch, fmt("%s/local/.libs:%s/example/.libs", env("CSDK_TEST_PLUGINS"), env("CSDK_TEST_PLUGINS"))), 1);
	unsetenv("CSDK_PROVIDER");
	unsetenv("CSDK_CONFIG");
	unsetenv("CSDK_PLUGIN_CACHE");
}

/* Lines in marks/NAME.WHAT: how often the plugin was loaded (or initialised). */
static int marks(const char *name, const char *what)
{
	FILE *fp = fopen(fmt("%s/marks/%s", scratch, fmt("%s.%s", name, what)), "r");
	int n = 0, c;

	if (!fp)
		return 0;
	while ((c = fgetc(fp)) != EOF)
		n += c == '\n';
	fclose(fp);
	return n;
}

static void run_echo(csdk_provider *p)
{
	csdk_sandbox *sb = NULL;
	csdk_result *r = NULL;

	ck_assert_msg(csdk_sandbox_create(&sb, p, NULL) == 0, "create: %s", csdk_error_last()->message);
	ck_assert_msg(csdk_sandbox_run_command(&r, sb, "echo hi", NULL) == 0, "run: %s", csdk_error_last()->message);
	ck_assert_uint_eq(r->stdout_len, 3);
	ck_assert(memcmp(r->stdout_buf, "hi\n", 3) == 0);
	csdk_result_free(r);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	csdk_sandbox_free(sb);
}

static const char *const hostile[] = { "hang", "crash", "print", NULL };

START_TEST(open_local_default_registry)
{
	csdk_provider *p = NULL;

	setup_dir(hostile);
	ck_assert_msg(csdk_provider_open(&p, "local", NULL) == 0, "%s", csdk_error_last()->message);
	run_echo(p);
	csdk_provider_close(p);
	ck_assert_int_eq(marks("hang", "loaded"), 0);
	ck_assert_int_eq(marks("crash", "loaded"), 0);
	ck_assert_int_eq(marks("print", "loaded"), 0);
}
END_TEST

START_TEST(open_local_own_registry)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	csdk_registry *reg = NULL;
	csdk_provider *p = NULL;

	setup_dir(hostile);
	ck_assert_int_eq(csdk_registry_new(&reg, NULL), 0);
	opts.registry = reg;
	ck_assert_msg(csdk_provider_open(&p, "local", &opts) == 0, "%s", csdk_error_last()->message);
	ck_assert_ptr_nonnull(csdk_registry_find(reg, "example"));
	run_echo(p);
	csdk_provider_close(p);
	csdk_registry_free(reg);
	ck_assert_int_eq(marks("hang", "loaded") + marks("crash", "loaded") + marks("print", "loaded"), 0);
}
END_TEST

START_TEST(open_rejected_by_name)
{
	static const char *const faults[] = { "crash", NULL };
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	csdk_registry_options ropts = CSDK_REGISTRY_OPTIONS_INIT;
	csdk_registry *reg = NULL;
	csdk_provider *p = NULL;

	setup_dir(faults);
	ropts.flags = CSDK_REGISTRY_ISOLATE;
	ck_assert_int_eq(csdk_registry_new(&reg, &ropts), 0);
	opts.registry = reg;
	ck_assert_int_eq(csdk_provider_open(&p, "crash", &opts), CSDK_ENOTFOUND);
	ck_assert_str_eq(csdk_error_last()->message,
			 fmt("provider 'crash' was rejected: %s/plugins/csdk-crash.so: crashed while loading (signal 11, SIGSEGV); fix the plugin's constructors or csdk_plugin_entry", scratch));
	ck_assert_int_eq(csdk_provider_open(&p, "nosuch", &opts), CSDK_ENOTFOUND);
	ck_assert_str_eq(csdk_error_last()->message,
			 "unknown provider 'nosuch' (available: crash, example, local); run 'csdk-plugins --paths' to see where plugins are searched");
	csdk_registry_free(reg);
}
END_TEST

START_TEST(selection_applies_by_name)
{
	csdk_provider *p = NULL;

	setup_dir(NULL);
	setenv("CSDK_PLUGINS_DISABLE", "loc*", 1);
	ck_assert_int_eq(csdk_provider_open(&p, "local", NULL), CSDK_ENOTFOUND);
	ck_assert_str_eq(csdk_error_last()->message,
			 "unknown provider 'local' (available: example); run 'csdk-plugins --paths' to see where plugins are searched");
}
END_TEST

static size_t scan_isolated(void)
{
	csdk_registry_options ropts = CSDK_REGISTRY_OPTIONS_INIT;
	csdk_registry *reg = NULL;
	size_t n;

	ropts.flags = CSDK_REGISTRY_ISOLATE;
	ck_assert_int_eq(csdk_registry_new(&reg, &ropts), 0);
	n = csdk_registry_count(reg);
	ck_assert_int_eq(csdk_registry_rejected_count(reg), 1);
	ck_assert_str_eq(csdk_registry_rejected_at(reg, 0)->reason,
			 fmt("%s/plugins/csdk-reject.so: csdk_plugin_entry refused host ABI %d.%d (returned -6); rebuild the plugin against this csdk's plugin.h", scratch, CSDK_ABI_MAJOR, CSDK_ABI_MINOR));
	csdk_registry_free(reg);
	return n;
}

static const char *const rejected[] = { "reject", "plain", NULL };

START_TEST(cache_spares_probes)
{
	struct timespec times[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };

	setup_dir(rejected);
	ck_assert_uint_eq(scan_isolated(), 3);
	ck_assert_int_eq(marks("reject", "loaded"), 1); /* the child's probe */
	ck_assert_int_eq(marks("plain", "loaded"), 2);  /* the child's probe, then this process */
	ck_assert_uint_eq(scan_isolated(), 3);
	ck_assert_int_eq(marks("reject", "loaded"), 1); /* from the cache: no probe */
	ck_assert_int_eq(marks("plain", "loaded"), 2);  /* already mapped here */
	/* A changed file is probed again. */
	ck_assert_int_eq(utimensat(AT_FDCWD, fmt("%s/plugins/csdk-%s.so", scratch, "reject"), times, 0), 0);
	scan_isolated();
	ck_assert_int_eq(marks("reject", "loaded"), 2);
	scan_isolated();
	ck_assert_int_eq(marks("reject", "loaded"), 2);
}
END_TEST

START_TEST(cache_disabled)
{
	setup_dir(rejected);
	setenv("CSDK_PLUGIN_CACHE", "0", 1);
	scan_isolated();
	scan_isolated();
	ck_assert_int_eq(marks("reject", "loaded"), 2);
	ck_assert_int_ne(access(fmt("%s/cache/csdk/plugins.cache", scratch), F_OK), 0);
}
END_TEST

START_TEST(cache_corrupt_is_rewritten)
{
	const char *file;
	char line[128] = "";
	FILE *fp;

	setup_dir(rejected);
	scan_isolated();
	file = fmt("%s/cache/csdk/plugins.cache", scratch);
	fp = fopen(file, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("csdk-plugin-cache 1 abi=00020000 libcsdk=" PACKAGE_VERSION "\nV\tgarbage\n", fp);
	fclose(fp);
	scan_isolated();
	ck_assert_int_eq(marks("reject", "loaded"), 2);
	fp = fopen(file, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	fclose(fp);
	ck_assert_str_eq(line, fmt("csdk-plugin-cache 1 abi=%08x libcsdk=%s\n", CSDK_ABI_VERSION, PACKAGE_VERSION));
	/* Another ABI's cache is not trusted either. */
	fp = fopen(file, "w");
	fputs("csdk-plugin-cache 1 abi=00010000 libcsdk=" PACKAGE_VERSION "\n", fp);
	fclose(fp);
	scan_isolated();
	ck_assert_int_eq(marks("reject", "loaded"), 3);
	scan_isolated();
	ck_assert_int_eq(marks("reject", "loaded"), 3);
}
END_TEST

static void write_config(const char *text)
{
	const char *path = fmt("%s/csdk.conf", scratch);
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	chmod(path, 0600);
	setenv("CSDK_CONFIG", path, 1);
}

START_TEST(open_default_resolution)
{
	csdk_provider *p = NULL;

	setup_dir(hostile);
	ck_assert_msg(csdk_provider_open_default(&p, NULL) == 0, "%s", csdk_error_last()->message);
	ck_assert_str_eq(csdk_provider_name(p), "local");
	csdk_provider_close(p);

	write_config("[csdk]\ndefault = example\n\n[provider example]\napi_key = from-file\n");
	ck_assert_msg(csdk_provider_open_default(&p, NULL) == 0, "%s", csdk_error_last()->message);
	ck_assert_str_eq(csdk_provider_name(p), "example");
	ck_assert_str_eq(csdk_provider_config(p, "api_key"), "from-file");
	csdk_provider_close(p);

	setenv("EXAMPLE_API_KEY", "from-env", 1);
	ck_assert_int_eq(csdk_provider_open_default(&p, NULL), 0);
	ck_assert_str_eq(csdk_provider_config(p, "api_key"), "from-env");
	csdk_provider_close(p);
	unsetenv("EXAMPLE_API_KEY");

	setenv("CSDK_PROVIDER", "local", 1);
	ck_assert_int_eq(csdk_provider_open_default(&p, NULL), 0);
	ck_assert_str_eq(csdk_provider_name(p), "local");
	csdk_provider_close(p);

	ck_assert_int_eq(csdk_provider_open_default(&p, "example"), 0);
	ck_assert_str_eq(csdk_provider_name(p), "example");
	csdk_provider_close(p);

	ck_assert_int_eq(csdk_provider_open_default(&p, "nosuch"), CSDK_ENOTFOUND);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(csdk_provider_open_default(NULL, NULL), CSDK_EINVAL);

	write_config("[provider example]\nbogus = 1\n");
	ck_assert_int_eq(csdk_provider_open_default(&p, "example"), CSDK_ECONFIG);
	ck_assert_int_eq(marks("hang", "loaded") + marks("crash", "loaded") + marks("print", "loaded"), 0);
}
END_TEST

static const char *seen_provider, *seen_method;
static int seen;

static void log_handler(enum csdk_log_level level, const char *provider, const char *message, void *userdata)
{
	(void)level;
	(void)provider;
	(void)message;
	(void)userdata;
	seen = csdk_plugin_call_current(&seen_provider, &seen_method);
}

START_TEST(call_current)
{
	const char *provider = "x", *method = "y";
	csdk_provider *p = NULL;

	setup_dir(NULL);
	ck_assert_int_eq(csdk_plugin_call_current(&provider, &method), 0);
	ck_assert_ptr_null(provider);
	ck_assert_ptr_null(method);
	ck_assert_int_eq(csdk_plugin_call_current(NULL, NULL), 0);
	csdk_set_log_handler(log_handler, NULL);
	/* example's init logs: the handler runs inside the call. */
	ck_assert_int_eq(csdk_provider_open(&p, "example", NULL), 0);
	csdk_set_log_handler(NULL, NULL);
	ck_assert_int_eq(seen, 1);
	ck_assert_str_eq(seen_provider, "example");
	ck_assert_str_eq(seen_method, "init");
	ck_assert_int_eq(csdk_plugin_call_current(&provider, &method), 0);
	csdk_provider_close(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("safety");
	TCase *tc = tcase_create("safety");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, open_local_default_registry);
	tcase_add_test(tc, open_local_own_registry);
	tcase_add_test(tc, open_rejected_by_name);
	tcase_add_test(tc, selection_applies_by_name);
	tcase_add_test(tc, cache_spares_probes);
	tcase_add_test(tc, cache_disabled);
	tcase_add_test(tc, cache_corrupt_is_rewritten);
	tcase_add_test(tc, open_default_resolution);
	tcase_add_test(tc, call_current);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
