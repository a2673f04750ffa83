/*
 * test-tool: the csdk-plugins tool as built, run on the fixture directories:
 * its exit codes, summary line, --rejected lines, JSON and --check.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csdk/csdk.h>

#include "fixtures/fixture.h"
#include "helpers.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#define GOOD_NAMES "alpha,beta,frozen,future,lax,leaky"
#define N_GOOD 6
#define N_BAD 30

struct run {
	int status;
	char *out;
	char *err;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = t_fmt("%s", "");
	char buf[4096];
	size_t n;

	ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		s = t_fmt("%s%.*s", s, (int)n, buf);
	fclose(f);
	return s;
}

/* Run the tool with the arguments (NULL-terminated); it must end by exiting. */
static struct run tool(const char *arg, ...)
{
	const char *argv[32];
	const char *dir = t_tmpdir();
	const char *out = t_fmt("%s/stdout", dir), *err = t_fmt("%s/stderr", dir);
	struct run r;
	size_t argc = 0;
	va_list ap;
	pid_t pid;

	argv[argc++] = t_env("CSDK_TEST_TOOL");
	va_start(ap, arg);
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *)) {
		ck_assert_uint_lt(argc, N_OF(argv) - 1);
		argv[argc++] = a;
	}
	va_end(ap);
	argv[argc] = NULL;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &r.status, 0), pid);
	ck_assert_msg(WIFEXITED(r.status), "%s was killed by signal %d", argv[0],
		      WIFSIGNALED(r.status) ? WTERMSIG(r.status) : 0);
	ck_assert_msg(WEXITSTATUS(r.status) != 127, "could not run %s", argv[0]);
	r.status = WEXITSTATUS(r.status);
	r.out = slurp(out);
	r.err = slurp(err);
	return r;
}

static const char *last_line(const char *text)
{
	size_t len = strlen(text);
	const char *end, *start;

	ck_assert_msg(len > 0 && text[len - 1] == '\n', "output does not end with a line: \"%s\"", text);
	end = text + len - 1;
	start = end;
	while (start > text && start[-1] != '\n')
		start--;
	return t_fmt("%.*s", (int)(end - start), start);
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static int has_line(const char *text, const char *line)
{
	size_t len = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
			return 1;
	return 0;
}

static json_t *parse(const char *text)
{
	json_error_t error;
	json_t *j = json_loads(text, 0, &error);

	ck_assert_msg(j != NULL, "not JSON (line %d: %s): %s", error.line, error.text, text);
	return j;
}

static const char *jstr(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_string(v), "\"%s\" is not a string", key);
	return json_string_value(v);
}

static json_int_t jint(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_integer(v), "\"%s\" is not an integer", key);
	return json_integer_value(v);
}

static json_t *jarr(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_array(v), "\"%s\" is not an array", key);
	return v;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The strings of a JSON array, sorted and comma-separated (the order is not part of the format). */
static const char *sorted_strings(json_t *array)
{
	const char *items[64], *joined = "";
	size_t n = json_array_size(array);

	ck_assert_uint_le(n, N_OF(items));
	for (size_t i = 0; i < n; i++) {
		items[i] = json_string_value(json_array_get(array, i));
		ck_assert_msg(items[i] != NULL, "array item %zu is not a string", i);
	}
	qsort(items, n, sizeof(items[0]), compare_strings);
	for (size_t i = 0; i < n; i++)
		joined = t_fmt("%s%s%s", joined, i ? "," : "", items[i]);
	return joined;
}

static const char *summary(size_t loaded, size_t rejected)
{
	const char *s = t_fmt("%zu plugin%s loaded", loaded, loaded == 1 ? "" : "s");

	if (rejected)
		s = t_fmt("%s, %zu rejected (run 'csdk-plugins --rejected' to see why)", s, rejected);
	return s;
}

/* ------------------------------------------------------------------ list */

START_TEST(lists_good_plugins)
{
	struct run r = tool("--path", t_fixture_dir("good"), NULL);
	const char *header;

	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(last_line(r.out), summary(N_GOOD, 0));
	header = strstr(r.out, "NAME");
	ck_assert_ptr_nonnull(header);
	{
		static const char *const columns[] = { "NAME", "VERSION", "ABI", "MODES", "CAPABILITIES", "PATH" };
		const char *at = header, *eol = strchr(header, '\n');

		for (size_t i = 0; i < N_OF(columns); i++) {
			const char *col = strstr(at, columns[i]);

			ck_assert_msg(col != NULL && col < eol, "column %s missing from the header", columns[i]);
			at = col + strlen(columns[i]);
		}
	}
	/* one row per plugin, sorted, each naming its file */
	const char *prev = r.out;
	static const char *const names[] = { "alpha", "beta", "frozen", "future", "lax", "leaky" };
	for (size_t i = 0; i < N_OF(names); i++) {
		const char *row = strstr(prev, t_fmt("\n%s ", names[i]));

		ck_assert_msg(row != NULL, "no row for %s in:\n%s", names[i], r.out);
		ck_assert_ptr_nonnull(strstr(row, t_fixture("good", names[i])));
		prev = row + 1;
	}
}
END_TEST

START_TEST(summary_is_singular_for_one)
{
	struct run r = tool("--path", t_fixture_dir("dup-a"), NULL);

	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(last_line(r.out), "1 plugin loaded");
}
END_TEST

START_TEST(rejections_make_exit_1_and_are_counted)
{
	struct run dup = tool("--path", t_fmt("%s:%s", t_fixture_dir("dup-a"), t_fixture_dir("dup-b")), NULL);
	struct run mixed = tool("--path", t_fixture_dir("mixed"), NULL);

	ck_assert_str_eq(last_line(dup.out), summary(1, 1));
	ck_assert_str_eq(last_line(mixed.out), summary(N_GOOD, N_BAD));
	ck_assert_int_eq(dup.status, 1);
	ck_assert_int_eq(mixed.status, 1);
}
END_TEST

START_TEST(path_option_searches_only_its_dirs)
{
	struct run r;

	setenv("CSDK_PLUGIN_PATH", t_fixture_dir("good"), 1);
	r = tool("--path", t_fixture_dir("empty"), NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(last_line(r.out), summary(0, 0));

	r = tool(NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(last_line(r.out), summary(N_GOOD, 0));
}
END_TEST

/* A --path that cannot be what the user meant is an error, not "0 plugins loaded". */
START_TEST(path_option_must_name_directories)
{
	const char *missing = t_fmt("%s/missing", t_tmpdir()), *file = t_fixture("good", "alpha");
	const char *empty = "csdk-plugins: --path is empty; give one or more plugin directories separated by ':'; run 'csdk-plugins --help' for usage\n";
	const char *not_dir = t_fmt("csdk-plugins: --path entry '%s' is not a directory; give the directory that holds the csdk-NAME.so files\n",
				    file);
	struct run r;
	json_t *j, *entry;

	r = tool("--path", missing, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, t_fmt("csdk-plugins: --path directory '%s' does not exist; create it or correct --path\n", missing));

	r = tool("--rejected", "--path", t_fmt("%s:%s", t_fixture_dir("good"), file), NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, not_dir);

	r = tool("--path", file, "alpha", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, not_dir);

	r = tool("--path=", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, empty);
	r = tool("--paths", "--path", "::", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.err, empty);

	/* --paths is where one looks into it: it marks the entries and succeeds. */
	r = tool("--paths", "--path", t_fmt("%s:%s", file, missing), NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, t_fmt("%s  (--path) [not a directory]\n%s  (--path) [missing]\n", file, missing));
	ck_assert_str_eq(r.err, t_fmt("csdk-plugins: warning: %s: cannot read the plugin directory (Not a directory)\n", file));

	r = tool("--json", "--paths", "--path", t_fmt("%s:%s:%s", file, missing, t_fixture_dir("good")), NULL);
	ck_assert_int_eq(r.status, 0);
	j = parse(r.out);
	ck_assert_uint_eq(json_array_size(jarr(j, "paths")), 3);
	entry = json_array_get(jarr(j, "paths"), 0);
	ck_assert(json_is_false(json_object_get(entry, "exists")));
	ck_assert(json_is_true(json_object_get(entry, "not_a_directory")));
	entry = json_array_get(jarr(j, "paths"), 1);
	ck_assert(json_is_false(json_object_get(entry, "exists")));
	ck_assert(json_is_false(json_object_get(entry, "not_a_directory")));
	entry = json_array_get(jarr(j, "paths"), 2);
	ck_assert(json_is_true(json_object_get(entry, "exists")));
	ck_assert(json_is_false(json_object_get(entry, "not_a_directory")));
	json_decref(j);
}
END_TEST

/* CSDK_PLUGINS that leaves out every plugin, or cannot match, is said once on stderr. */
START_TEST(selection_that_selects_nothing_is_warned)
{
	struct run r;

	setenv("CSDK_PLUGINS", "zzz*,", 1);
	r = tool("--path", t_fixture_dir("good"), NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, t_fmt("%s\n", summary(0, 0)));
	ck_assert_str_eq(r.err, "csdk-plugins: warning: CSDK_PLUGINS='zzz*,' matches none of the 6 plugin files on the search path (alpha, beta, frozen, ...); correct the pattern or unset CSDK_PLUGINS\n");

	r = tool("--path", t_fixture_dir("dup-a"), "dup", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "csdk-plugins: warning: CSDK_PLUGINS='zzz*,' matches none of the 1 plugin file on the search path (dup); correct the pattern or unset CSDK_PLUGINS\n"
				"csdk-plugins: no plugin named 'dup' (run 'csdk-plugins' to list them, or 'csdk-plugins --rejected')\n");

	/* nothing to select from: nothing to say */
	r = tool("--path", t_fixture_dir("empty"), NULL);
	ck_assert_str_eq(r.err, "");

	setenv("CSDK_PLUGINS", "[", 1);
	r = tool("--rejected", "--path", t_fixture_dir("good"), NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "csdk-plugins: warning: CSDK_PLUGINS pattern '[' is malformed (a '[' is never closed by ']'), so it matches no plugin; correct it or unset CSDK_PLUGINS\n");

	setenv("CSDK_PLUGINS", "al*", 1);
	setenv("CSDK_PLUGINS_DISABLE", "x,b[e", 1);
	r = tool("--path", t_fixture_dir("good"), NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(last_line(r.out), summary(1, 0));
	ck_assert_str_eq(r.err, "csdk-plugins: warning: CSDK_PLUGINS_DISABLE pattern 'b[e' is malformed (a '[' is never closed by ']'), so it matches no plugin; correct it or unset CSDK_PLUGINS_DISABLE\n");

	unsetenv("CSDK_PLUGINS_DISABLE");
	r = tool("--path", t_fixture_dir("good"), NULL);
	ck_assert_str_eq(r.err, "");
	unsetenv("CSDK_PLUGINS");
}
END_TEST

/* -------------------------------------------------------------- rejected */

START_TEST(rejected_prints_each_reason_on_its_line)
{
	const char *dirs = t_fmt("%s:%s", t_fixture_dir("bad"), t_fixture_dir("good"));
	csdk_registry *reg = t_registry(dirs, CSDK_REGISTRY_ISOLATE);
	struct run r = tool("--rejected", "--path", dirs, NULL);

	ck_assert_int_eq(r.status, 1);
	ck_assert_uint_eq(csdk_registry_rejected_count(reg), N_BAD);
	ck_assert_uint_eq(count_lines(r.out), N_BAD);
	for (size_t i = 0; i < csdk_registry_rejected_count(reg); i++) {
		const char *reason = csdk_registry_rejected_at(reg, i)->reason;

		ck_assert_msg(has_line(r.out, reason), "missing line: %s", reason);
	}
	ck_assert_msg(has_line(r.out, t_fmt("%s: bad descriptor magic 0xdeadbeef (expected 0x4b445343); csdk_plugin_entry must return a struct csdk_plugin",
					     t_fixture("bad", "badmagic"))), "no badmagic line in:\n%s", r.out);
	csdk_registry_free(reg);

	r = tool("--rejected", "--path", t_fixture_dir("good"), NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "");
}
END_TEST

/* A plugin built against ABI 1.0: one line, the one the loader gives, and no plugin listed. */
START_TEST(rejected_abi1_plugin_says_rebuild)
{
	const char *path = t_fixture("abi1", "abi1");
	const char *line = t_fmt("%s: plugin speaks ABI 1.x, which this host no longer loads (it speaks %d.%d); "
				 "rebuild the plugin against this csdk's csdk/plugin.h\n", path, CSDK_ABI_MAJOR, CSDK_ABI_MINOR);
	struct run r = tool("--rejected", "--path", t_fixture_dir("abi1"), NULL);
	json_t *j, *rej;

	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, line);

	r = tool("--path", t_fixture_dir("abi1"), NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(last_line(r.out), summary(0, 1));

	r = tool("--json", "--rejected", "--path", t_fixture_dir("abi1"), NULL);
	ck_assert_int_eq(r.status, 1);
	j = parse(r.out);
	ck_assert_uint_eq(json_array_size(jarr(j, "rejected")), 1);
	rej = json_array_get(jarr(j, "rejected"), 0);
	ck_assert_str_eq(jstr(rej, "path"), path);
	ck_assert_int_eq(jint(rej, "code"), CSDK_EABI);
	ck_assert_int_eq(jint(rej, "signal"), 0);
	ck_assert_str_eq(t_fmt("%s\n", jstr(rej, "reason")), line);
	json_decref(j);
}
END_TEST

START_TEST(crash_is_reported_not_suffered)
{
	const char *path = t_fixture("crash", "crash");
	struct run list = tool("--path", t_fixture_dir("crash"), NULL), r;
	json_t *j, *rej;

	ck_assert_str_eq(last_line(list.out), summary(0, 1));

	r = tool("--rejected", "--path", t_fixture_dir("crash"), NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, t_fmt("%s: crashed while loading (signal %d, SIGSEGV); fix the plugin's constructors or csdk_plugin_entry\n",
				      path, SIGSEGV));

	r = tool("--json", "--path", t_fixture_dir("crash"), NULL);
	j = parse(r.out);
	ck_assert_uint_eq(json_array_size(jarr(j, "plugins")), 0);
	ck_assert_uint_eq(json_array_size(jarr(j, "rejected")), 1);
	rej = json_array_get(jarr(j, "rejected"), 0);
	ck_assert_str_eq(jstr(rej, "path"), path);
	ck_assert_int_eq(jint(rej, "signal"), SIGSEGV);
	ck_assert_int_eq(jint(rej, "code"), CSDK_ECRASHED);
	json_decref(j);
	ck_assert_int_eq(r.status, 1);
	ck_assert_int_eq(list.status, 1);
}
END_TEST

/* ------------------------------------------------------------------ JSON */

START_TEST(json_list)
{
	struct run r = tool("--json", "--path", t_fixture_dir("mixed"), NULL);
	json_t *j = parse(r.out), *plugins, *p, *rejected;
	const char *names = "";
	size_t i;

	plugins = jarr(j, "plugins");
	json_array_foreach(plugins, i, p)
		names = t_fmt("%s%s%s", names, i ? "," : "", jstr(p, "name"));
	ck_assert_str_eq(names, GOOD_NAMES);

	p = json_array_get(plugins, 1); /* beta */
	ck_assert_str_eq(jstr(p, "version"), "1.2.3");
	ck_assert_str_eq(jstr(p, "abi"), t_fmt("%d.%d", CSDK_ABI_MAJOR, CSDK_ABI_MINOR));
	ck_assert_str_eq(jstr(p, "default_mode"), "gateway");
	ck_assert_str_eq(jstr(p, "path"), t_fixture("mixed", "beta"));
	ck_assert_str_eq(jstr(p, "description"), "Test fixture beta");
	ck_assert_str_eq(jstr(p, "license"), "MIT");
	ck_assert_str_eq(sorted_strings(jarr(p, "modes")), "direct,gateway");
	ck_assert_str_eq(sorted_strings(jarr(p, "capabilities")), "snapshots,streaming,templates,thread-safe");
	ck_assert_uint_eq(json_array_size(jarr(p, "warnings")), 0);

	p = json_array_get(plugins, 3); /* future */
	ck_assert_str_eq(jstr(p, "name"), "future");
	ck_assert_uint_eq(json_array_size(jarr(p, "capabilities")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(jarr(p, "capabilities"), 0)), "filesystem");
	ck_assert_uint_eq(json_array_size(jarr(p, "warnings")), 4);

	rejected = jarr(j, "rejected");
	ck_assert_uint_eq(json_array_size(rejected), N_BAD);
	json_array_foreach(rejected, i, p) {
		const char *path = jstr(p, "path");

		ck_assert_msg(strncmp(jstr(p, "reason"), t_fmt("%s: ", path), strlen(path) + 2) == 0, "reason without path: %s",
			      jstr(p, "reason"));
		ck_assert_int_lt(jint(p, "code"), 0);
		ck_assert_int_eq(jint(p, "signal"), 0);
		ck_assert_msg(json_is_boolean(json_object_get(p, "shadowed")) || json_is_integer(json_object_get(p, "shadowed")),
			      "shadowed is neither boolean nor integer");
		ck_assert_msg(json_object_get(p, "name") != NULL, "no \"name\" in a rejection");
		if (strcmp(path, t_fixture("mixed", "mismatch")) == 0)
			ck_assert_str_eq(jstr(p, "name"), "other");
		if (strcmp(path, t_fixture("mixed", "text")) == 0)
			ck_assert(json_is_null(json_object_get(p, "name")));
	}
	json_decref(j);
	ck_assert_int_eq(r.status, 1);
}
END_TEST

START_TEST(json_shadowed_rejection)
{
	struct run r = tool("--json", "--path", t_fmt("%s:%s", t_fixture_dir("dup-a"), t_fixture_dir("dup-b")), NULL);
	json_t *j = parse(r.out), *rej;
	int list_status = r.status;

	ck_assert_uint_eq(json_array_size(jarr(j, "rejected")), 1);
	rej = json_array_get(jarr(j, "rejected"), 0);
	ck_assert_str_eq(jstr(rej, "name"), "dup");
	ck_assert_str_eq(jstr(rej, "path"), t_fixture("dup-b", "dup"));
	ck_assert(json_is_true(json_object_get(rej, "shadowed")) || json_integer_value(json_object_get(rej, "shadowed")) == 1);
	ck_assert_str_eq(jstr(rej, "reason"), t_fmt("%s: plugin 'dup' is shadowed by %s, which comes earlier in the search path; remove one of them",
						    t_fixture("dup-b", "dup"), t_fixture("dup-a", "dup")));
	json_decref(j);

	r = tool("--json", "--rejected", "--path", t_fmt("%s:%s", t_fixture_dir("dup-a"), t_fixture_dir("dup-b")), NULL);
	ck_assert_int_eq(r.status, 1);
	j = parse(r.out);
	ck_assert_uint_eq(json_object_size(j), 1);
	ck_assert_uint_eq(json_array_size(jarr(j, "rejected")), 1);
	json_decref(j);
	ck_assert_int_eq(list_status, 1);
}
END_TEST

/* ----------------------------------------------------------- one plugin */

START_TEST(one_plugin_by_name_and_by_file)
{
	struct run r;
	json_t *j, *config, *methods;

	setenv("CSDK_PLUGIN_PATH", t_fixture_dir("good"), 1);
	r = tool("alpha", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "alpha"));
	ck_assert_ptr_nonnull(strstr(r.out, t_fixture("good", "alpha")));
	ck_assert_ptr_nonnull(strstr(r.out, "api_key"));

	r = tool("--json", "alpha", NULL);
	ck_assert_int_eq(r.status, 0);
	j = parse(r.out);
	ck_assert_str_eq(jstr(j, "name"), "alpha");
	ck_assert_str_eq(jstr(j, "abi"), t_fmt("%d.%d", CSDK_ABI_MAJOR, CSDK_ABI_MINOR));
	ck_assert_str_eq(jstr(j, "default_mode"), "direct");
	config = jarr(j, "config");
	ck_assert_uint_eq(json_array_size(config), 2);
	ck_assert_str_eq(jstr(json_array_get(config, 0), "key"), "api_key");
	ck_assert_str_eq(jstr(json_array_get(config, 0), "env"), "CSDK_FIXTURE_API_KEY");
	ck_assert(json_is_true(json_object_get(json_array_get(config, 0), "required")));
	ck_assert(json_is_true(json_object_get(json_array_get(config, 0), "secret")));
	ck_assert_str_eq(jstr(json_array_get(config, 0), "help"), "API key of the fixture backend");
	ck_assert_str_eq(jstr(json_array_get(config, 1), "key"), "region");
	ck_assert(json_is_null(json_object_get(json_array_get(config, 1), "env")));
	ck_assert(json_is_false(json_object_get(json_array_get(config, 1), "required")));
	methods = json_object_get(j, "methods");
	ck_assert(json_is_object(methods));
	ck_assert(json_is_true(json_object_get(methods, "create")));
	ck_assert(json_is_true(json_object_get(methods, "fs_read")));
	ck_assert(json_is_true(json_object_get(methods, "find_or_create")));
	ck_assert(!json_is_true(json_object_get(methods, "template_create")));
	ck_assert(!json_is_true(json_object_get(methods, "gateway_endpoint")));
	json_decref(j);

	unsetenv("CSDK_PLUGIN_PATH");
	r = tool("--json", t_fixture("good", "frozen"), NULL);
	ck_assert_int_eq(r.status, 0);
	j = parse(r.out);
	ck_assert_str_eq(jstr(j, "name"), "frozen");
	ck_assert_str_eq(jstr(j, "path"), t_fixture("good", "frozen"));
	json_decref(j);
}
END_TEST

/* The text view names each key's type, as the JSON view does. */
START_TEST(one_plugin_shows_config_key_types)
{
	struct run r;

	setenv("CSDK_PLUGIN_PATH", t_fixture_dir("api"), 1);
	r = tool("apitest", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert(has_line(r.out, "  KEY      ENV                   TYPE      REQUIRED  SECRET  HELP"));
	ck_assert(has_line(r.out, "  api_key  CSDK_APITEST_API_KEY  string    yes       yes     API key of the apitest backend"));
	ck_assert(has_line(r.out, "  wait     CSDK_APITEST_WAIT     duration  no        no      how long the backend may take"));
	ck_assert(has_line(r.out, "  memory   -                     size      no        no      memory of each sandbox"));
	ck_assert(has_line(r.out, "  verbose  -                     bool      no        no      log every call"));
	ck_assert(has_line(r.out, "  retries  -                     int       no        no      retries of a failed backend call"));
}
END_TEST

START_TEST(one_plugin_not_found_or_rejected)
{
	struct run r;

	setenv("CSDK_PLUGIN_PATH", t_fixture_dir("good"), 1);
	r = tool("nosuch", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_ne(r.err, "");

	r = tool(t_fixture("bad", "badmagic"), NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, t_fmt("%s: bad descriptor magic 0xdeadbeef", t_fixture("bad", "badmagic"))));
}
END_TEST

/* ----------------------------------------------------------------- paths */

START_TEST(paths_lists_the_search_path)
{
	const char *e = t_tmpdir(), *missing = t_fmt("%s/missing", e);
	struct run r;
	json_t *j, *paths;

	setenv("CSDK_PLUGIN_PATH", t_fmt("%s:%s", e, missing), 1);
	r = tool("--paths", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, e));
	ck_assert_ptr_nonnull(strstr(r.out, missing));
	ck_assert_ptr_nonnull(strstr(r.out, t_env("CSDK_PLUGIN_SYSTEM_PATH")));

	r = tool("--json", "--paths", NULL);
	ck_assert_int_eq(r.status, 0);
	j = parse(r.out);
	paths = jarr(j, "paths");
	ck_assert_uint_eq(json_array_size(paths), 3);
	ck_assert_str_eq(jstr(json_array_get(paths, 0), "dir"), e);
	ck_assert(json_is_true(json_object_get(json_array_get(paths, 0), "exists")));
	ck_assert_str_eq(jstr(json_array_get(paths, 1), "dir"), missing);
	ck_assert(json_is_false(json_object_get(json_array_get(paths, 1), "exists")));
	ck_assert_str_eq(jstr(json_array_get(paths, 2), "dir"), t_env("CSDK_PLUGIN_SYSTEM_PATH"));
	ck_assert_str_eq(jstr(json_array_get(paths, 0), "origin"), jstr(json_array_get(paths, 1), "origin"));
	ck_assert_str_ne(jstr(json_array_get(paths, 0), "origin"), jstr(json_array_get(paths, 2), "origin"));
	ck_assert_uint_eq(json_array_size(jarr(j, "warnings")), 0);
	json_decref(j);
}
END_TEST

/* ----------------------------------------------------------------- check */

START_TEST(check_lints_files)
{
	struct run r;
	json_t *j, *files, *f, *c;
	size_t i;
	int exports_failed = 0;

	r = tool("--check", t_fixture("good", "alpha"), t_fixture("good", "frozen"), NULL);
	ck_assert_int_eq(r.status, 0);

	r = tool("--check", t_fixture("good", "alpha"), t_fixture("good", "leaky"), NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.out, FIXTURE_LEAKED_SYMBOL));

	r = tool("--json", "--check", t_fixture("good", "alpha"), t_fixture("good", "leaky"), NULL);
	ck_assert_int_eq(r.status, 1);
	j = parse(r.out);
	files = jarr(j, "files");
	ck_assert_uint_eq(json_array_size(files), 2);
	ck_assert_str_eq(jstr(json_array_get(files, 0), "file"), t_fixture("good", "alpha"));
	ck_assert(json_is_true(json_object_get(json_array_get(files, 0), "ok")));
	f = json_array_get(files, 1);
	ck_assert_str_eq(jstr(f, "file"), t_fixture("good", "leaky"));
	ck_assert(json_is_false(json_object_get(f, "ok")));
	json_array_foreach(jarr(f, "checks"), i, c) {
		jstr(c, "message");
		if (strcmp(jstr(c, "check"), "exports") == 0) {
			ck_assert(json_is_false(json_object_get(c, "ok")));
			ck_assert_ptr_nonnull(strstr(jstr(c, "message"), FIXTURE_LEAKED_SYMBOL));
			exports_failed = 1;
		} else {
			ck_assert(json_is_true(json_object_get(c, "ok")));
		}
	}
	ck_assert(exports_failed);
	json_decref(j);

	r = tool("--check", t_fixture("crash", "crash"), NULL);
	ck_assert_int_eq(r.status, 1);
}
END_TEST

/* What needs a loadable file is skipped, not failed with dlopen's "file too short". */
START_TEST(check_skips_what_a_bad_elf_file_cannot_answer)
{
	const char *text = t_fixture("bad", "text"), *machine = t_fixture("bad", "elfmachine");
	const char *skip = "the file is not a loadable ELF shared object", *tail, *prefix;
	struct run r;
	json_t *j, *checks, *c;
	size_t i;

	r = tool("--check", text, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "");
	ck_assert_str_eq(r.out, t_fmt("%s\n"
				      "FAIL elf: %s: not an ELF file; a plugin is a shared object built with -shared\n"
				      "SKIP exports: %s\n"
				      "SKIP undefined: %s\n"
				      "SKIP descriptor: %s\n"
				      "SKIP stdout: %s\n", text, text, skip, skip, skip, skip));

	/* a foreign machine's file still has a symbol table to judge */
	r = tool("--check", machine, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_uint_eq(count_lines(r.out), 6);
	tail = strstr(r.out, "\nok   exports\n");
	ck_assert_msg(tail != NULL, "no 'ok   exports' line in:\n%s", r.out);
	/* the machine named depends on the host's */
	prefix = t_fmt("%s\nFAIL elf: %s: is built for machine ", machine, machine);
	ck_assert_msg(strncmp(r.out, prefix, strlen(prefix)) == 0, "elf line: %s", r.out);
	ck_assert_str_eq(tail, t_fmt("\nok   exports\nSKIP undefined: %s\nSKIP descriptor: %s\nSKIP stdout: %s\n", skip, skip, skip));

	r = tool("--json", "--check", text, NULL);
	ck_assert_int_eq(r.status, 1);
	j = parse(r.out);
	c = json_array_get(jarr(j, "files"), 0);
	ck_assert(json_is_false(json_object_get(c, "ok")));
	checks = jarr(c, "checks");
	ck_assert_uint_eq(json_array_size(checks), 5);
	json_array_foreach(checks, i, c) {
		static const char *const names[] = { "elf", "exports", "undefined", "descriptor", "stdout" };

		ck_assert_str_eq(jstr(c, "check"), names[i]);
		ck_assert(json_is_false(json_object_get(c, "ok")));
		ck_assert(json_is_boolean(json_object_get(c, "skipped")));
		ck_assert_int_eq(json_is_true(json_object_get(c, "skipped")), i > 0);
		if (i > 0)
			ck_assert_str_eq(jstr(c, "message"), skip);
		else
			ck_assert_str_eq(jstr(c, "message"), t_fmt("%s: not an ELF file; a plugin is a shared object built with -shared", text));
	}
	json_decref(j);
}
END_TEST

/* --------------------------------------------------------------- test kit */

/* Global options may come before the subcommand word as well as after it. */
START_TEST(global_options_before_test)
{
	const char *example = t_fmt("%s/example/.libs", t_env("CSDK_TEST_PLUGINS"));
	const char *missing = t_fmt("%s/missing", t_tmpdir());
	struct run before, after;
	json_t *j, *c;

	before = tool("--json", "--path", example, "test", "example", "--case", "sandbox-create", NULL);
	after = tool("test", "example", "--case", "sandbox-create", "--json", "--path", example, NULL);
	ck_assert_msg(before.status == 0, "status %d, stderr: %s", before.status, before.err);
	ck_assert_int_eq(after.status, 0);
	ck_assert_str_eq(before.err, "");
	j = parse(before.out);
	ck_assert_str_eq(jstr(j, "provider"), "example");
	ck_assert_int_eq(jint(j, "passed"), 1);
	ck_assert_int_eq(jint(j, "failed"), 0);
	ck_assert_int_eq(jint(j, "skipped"), 0);
	ck_assert_uint_eq(json_array_size(jarr(j, "cases")), 1);
	c = json_array_get(jarr(j, "cases"), 0);
	ck_assert_str_eq(jstr(c, "name"), "sandbox-create");
	ck_assert_str_eq(jstr(c, "result"), "pass");
	json_decref(j);
	json_decref(parse(after.out));

	/* --path is the only place the kit looks: example is not in the system directory */
	before = tool("--path", t_fixture_dir("empty"), "test", "example", NULL);
	ck_assert_int_eq(before.status, 3);
	ck_assert_str_eq(before.out, "");
	ck_assert_uint_eq(count_lines(before.err), 1);
	ck_assert_msg(strncmp(before.err, "csdk-plugins: cannot open provider 'example': ", 46) == 0, "stderr: %s", before.err);

	before = tool("--path", missing, "test", "example", NULL);
	ck_assert_int_eq(before.status, 3);
	ck_assert_str_eq(before.err, t_fmt("csdk-plugins: --path directory '%s' does not exist; create it or correct --path\n", missing));

	before = tool("--json", "--path=", "test", "example", NULL);
	ck_assert_int_eq(before.status, 2);
	ck_assert_str_eq(before.err, "csdk-plugins: --path is empty; give one or more plugin directories separated by ':'; run 'csdk-plugins --help' for usage\n");

	/* an option of the views before the word is still the views' business */
	before = tool("--rejected", "test", NULL);
	ck_assert_int_eq(before.status, 2);
	ck_assert_str_eq(before.err, "csdk-plugins: --rejected and a plugin NAME or FILE ('test') cannot be used together; run 'csdk-plugins --help' for usage\n");
}
END_TEST

/* ------------------------------------------------------------------ usage */

START_TEST(usage_errors_exit_2)
{
	struct run r = tool("--no-such-option", NULL);

	ck_assert_int_eq(r.status, 2);
	ck_assert_uint_eq(count_lines(r.err), 1);
	ck_assert_msg(strncmp(r.err, "csdk-plugins: ", 14) == 0, "stderr: %s", r.err);
	ck_assert_str_eq(r.out, "");

	r = tool("--path", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_msg(strncmp(r.err, "csdk-plugins: ", 14) == 0, "stderr: %s", r.err);
}
END_TEST

START_TEST(help_and_version)
{
	struct run r = tool("--help", NULL);

	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "--rejected"));
	ck_assert_ptr_nonnull(strstr(r.out, "--check"));
	ck_assert(has_line(r.out, "       csdk-plugins [--json] [--path DIRS] test NAME [TEST OPTIONS]"));
	ck_assert(has_line(r.out, "  test NAME           run the conformance kit against the provider NAME: one"));

	r = tool("--version", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, csdk_version()));
}
END_TEST

static Suite *tool_suite(void)
{
	Suite *s = suite_create("tool");
	TCase *tc = tcase_create("csdk-plugins");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, lists_good_plugins);
	tcase_add_test(tc, summary_is_singular_for_one);
	tcase_add_test(tc, rejections_make_exit_1_and_are_counted);
	tcase_add_test(tc, path_option_searches_only_its_dirs);
	tcase_add_test(tc, path_option_must_name_directories);
	tcase_add_test(tc, selection_that_selects_nothing_is_warned);
	tcase_add_test(tc, rejected_prints_each_reason_on_its_line);
	tcase_add_test(tc, rejected_abi1_plugin_says_rebuild);
	tcase_add_test(tc, crash_is_reported_not_suffered);
	tcase_add_test(tc, json_list);
	tcase_add_test(tc, json_shadowed_rejection);
	tcase_add_test(tc, one_plugin_by_name_and_by_file);
	tcase_add_test(tc, one_plugin_shows_config_key_types);
	tcase_add_test(tc, one_plugin_not_found_or_rejected);
	tcase_add_test(tc, paths_lists_the_search_path);
	tcase_add_test(tc, check_lints_files);
	tcase_add_test(tc, check_skips_what_a_bad_elf_file_cannot_answer);
	tcase_add_test(tc, global_options_before_test);
	tcase_add_test(tc, usage_errors_exit_2);
	tcase_add_test(tc, help_and_version);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(tool_suite());
}
