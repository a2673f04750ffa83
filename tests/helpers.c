#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csdk/plugin.h>

#include "helpers.h"

static char **pool;
static size_t pool_len, pool_cap;

static void pool_free(void)
{
	for (size_t i = 0; i < pool_len; i++)
		free(pool[i]);
	free(pool);
	pool = NULL;
	pool_len = pool_cap = 0;
}

char *t_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&s, fmt, ap), 0);
	va_end(ap);
	if (pool_len == pool_cap) {
		if (pool == NULL)
			atexit(pool_free);
		pool_cap = pool_cap ? 2 * pool_cap : 64;
		pool = realloc(pool, pool_cap * sizeof(*pool));
		ck_assert_ptr_nonnull(pool);
	}
	pool[pool_len++] = s;
	return s;
}

const char *t_env(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v != NULL && *v != '\0', "%s is not set: run the suites through 'make check'", name);
	return v;
}

const char *t_fixture_dir(const char *dir)
{
	return t_fmt("%s/%s", t_env("CSDK_TEST_FIXTURES"), dir);
}

const char *t_fixture(const char *dir, const char *name)
{
	return t_fmt("%s/%s/csdk-%s.so", t_env("CSDK_TEST_FIXTURES"), dir, name);
}

const char *t_tmpdir(void)
{
	char *dir = t_fmt("%s/t-XXXXXX", t_env("CSDK_TEST_TMPDIR"));

	t_mkdirs(t_env("CSDK_TEST_TMPDIR"));
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
	return dir;
}

void t_mkdirs(const char *path)
{
	char *p = t_fmt("%s", path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
	ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
}

void t_copy(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out;

	ck_assert_msg(in >= 0, "open %s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ck_assert_msg(out >= 0, "create %s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_msg(write(out, buf, (size_t)n) == n, "write %s: %s", to, strerror(errno));
	ck_assert_msg(n == 0, "read %s: %s", from, strerror(errno));
	close(in);
	ck_assert_int_eq(close(out), 0);
}

csdk_registry *t_registry_opts(const char *search_path, unsigned int flags, const char *select, const char *disable)
{
	csdk_registry_options opts = CSDK_REGISTRY_OPTIONS_INIT;
	csdk_registry *reg = NULL;
	int rc;

	opts.flags = flags;
	opts.search_path = search_path;
	opts.select = select;
	opts.disable = disable;
	rc = csdk_registry_new(&reg, &opts);
	ck_assert_msg(rc == 0, "csdk_registry_new(%s) returned %d: %s", search_path ? search_path : "(default)", rc,
		      csdk_error_last()->message);
	ck_assert_ptr_nonnull(reg);
	return reg;
}

csdk_registry *t_registry(const char *search_path, unsigned int flags)
{
	return t_registry_opts(search_path, flags, NULL, NULL);
}

const csdk_rejection *t_rejection(const csdk_registry *reg, const char *path)
{
	for (size_t i = 0; i < csdk_registry_rejected_count(reg); i++) {
		const csdk_rejection *r = csdk_registry_rejected_at(reg, i);

		if (strcmp(r->path, path) == 0)
			return r;
	}
	return NULL;
}

const char *t_names(const csdk_registry *reg)
{
	char *names = t_fmt("%s", "");

	for (size_t i = 0; i < csdk_registry_count(reg); i++)
		names = t_fmt("%s%s%s", names, i ? "," : "", csdk_registry_at(reg, i)->name);
	return names;
}

int t_has_warning(const csdk_plugin_info *info, const char *warning)
{
	for (size_t i = 0; i < info->n_warnings; i++)
		if (strcmp(info->warnings[i], warning) == 0)
			return 1;
	return 0;
}

int t_has_method(const csdk_plugin_info *info, const char *name)
{
	for (size_t i = 0; i < info->n_methods; i++)
		if (strcmp(info->methods[i], name) == 0)
			return 1;
	return 0;
}

const char *t_methods(const csdk_plugin_info *info)
{
	const char *s = "";

	for (size_t i = 0; i < info->n_methods; i++)
		s = t_fmt("%s%s%s", s, i ? "," : "", info->methods[i]);
	return s;
}

const struct csdk_plugin *t_descriptor(const char *path, uint32_t host_abi)
{
	union {
		void *object;
		csdk_plugin_entry_fn fn;
	} entry;
	const struct csdk_plugin *d = NULL;
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	ck_assert_msg(dl != NULL, "dlopen %s: %s", path, dlerror());
	entry.object = dlsym(dl, CSDK_PLUGIN_ENTRY_SYMBOL);
	ck_assert_msg(entry.object != NULL, "%s exports no %s", path, CSDK_PLUGIN_ENTRY_SYMBOL);
	ck_assert_int_eq(entry.fn(host_abi, &d), 0);
	ck_assert_ptr_nonnull(d);
	return d; /* the module stays loaded until the test process exits */
}

unsigned int t_elf_machine(const char *path)
{
	unsigned char b[2];
	int fd = open(path, O_RDONLY);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(pread(fd, b, 2, 18), 2);
	close(fd);
	return b[0] | (unsigned int)b[1] << 8;
}

int t_run_suite(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
