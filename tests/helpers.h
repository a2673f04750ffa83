/*
 * Helpers shared by the suites: where the fixtures are (from the variables
 * tests/Makefile.am exports), scratch directories, and registries.
 * Strings returned by t_fmt and the path helpers live until the process
 * exits; each Check test runs in its own process.
 */
#ifndef CSDK_TESTS_HELPERS_H
#define CSDK_TESTS_HELPERS_H

#include <check.h>
#include <csdk/csdk.h>

#if defined(__GNUC__)
#define T_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define T_PRINTF(a, b)
#endif

/* A printf into a string that lives until exit. */
char *t_fmt(const char *fmt, ...) T_PRINTF(1, 2);

/* A required environment variable set by the test harness. */
const char *t_env(const char *name);

/* $CSDK_TEST_FIXTURES/DIR, and $CSDK_TEST_FIXTURES/DIR/csdk-NAME.so. */
const char *t_fixture_dir(const char *dir);
const char *t_fixture(const char *dir, const char *name);

/* A new empty directory under $CSDK_TEST_TMPDIR. */
const char *t_tmpdir(void);

void t_mkdirs(const char *path);
void t_copy(const char *from, const char *to);

/* A registry over search_path (NULL for the default path); aborts the test on failure. */
csdk_registry *t_registry(const char *search_path, unsigned int flags);
csdk_registry *t_registry_opts(const char *search_path, unsigned int flags, const char *select, const char *disable);

/* The rejection of path, or NULL. */
const csdk_rejection *t_rejection(const csdk_registry *reg, const char *path);

/* The names of the valid plugins, comma-separated in registry order. */
const char *t_names(const csdk_registry *reg);

/* Whether the plugin has exactly this warning. */
int t_has_warning(const csdk_plugin_info *info, const char *warning);

/* Whether the plugin implements the method called name (its info's method names). */
int t_has_method(const csdk_plugin_info *info, const char *name);
/* The method names of the plugin, comma-separated in table order. */
const char *t_methods(const csdk_plugin_info *info);

/*
 * The plugin's own descriptor, from its own dlopen and entry point (asked as
 * host ABI host_abi): the library hands out no descriptors or method tables.
 * Aborts the test when the file does not load or the entry fails.
 */
struct csdk_plugin;
const struct csdk_plugin *t_descriptor(const char *path, uint32_t host_abi);

/* The bytes of the file's ELF e_machine field. */
unsigned int t_elf_machine(const char *path);

/* Run a suite in fork mode; the exit status for main. */
int t_run_suite(Suite *suite);

#endif
