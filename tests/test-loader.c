/*
 * test-loader: the registry finds, validates, rejects and orders plugins as
 * docs/plugin-abi.md says, with its exact messages.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csdk/csdk.h>
#include <csdk/plugin.h>

#include "fixtures/fixture.h"
#include "helpers.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const good_names[] = { "alpha", "beta", "frozen", "future", "lax", "leaky" };

#define GOOD_NAMES "alpha,beta,frozen,future,lax,leaky"

/* ------------------------------------------------------------ rejections */

struct expected_rejection {
	const char *file;    /* bad/csdk-FILE.so */
	int code;
	const char *message; /* after "PATH: "; NULL when computed by the test */
};

static const struct expected_rejection rejections[] = {
	{ "unreadable", CSDK_EIO, "cannot read the file (Is a directory); make it readable by this user" },
	{ "text", CSDK_EPLUGIN, "not an ELF file; a plugin is a shared object built with -shared" },
	{ "elf32", CSDK_EPLUGIN, NULL },
	{ "elfexec", CSDK_EPLUGIN, "is not a shared object (ELF type 2); link the plugin with -shared" },
	{ "elfmachine", CSDK_EPLUGIN, NULL },
	{ "undef", CSDK_EPLUGIN, NULL },
	{ "noentry", CSDK_EPLUGIN, "does not export csdk_plugin_entry; define it with CSDK_PLUGIN_EXPORT (see csdk/plugin.h)" },
	{ "refuse", CSDK_EABI, NULL },
	{ "nodesc", CSDK_EPLUGIN, "csdk_plugin_entry returned no descriptor; set *out to the plugin's struct csdk_plugin" },
	{ "badmagic", CSDK_EPLUGIN, "bad descriptor magic 0xdeadbeef (expected 0x4b445343); csdk_plugin_entry must return a struct csdk_plugin" },
	{ "major", CSDK_EABI, NULL },
	{ "minor", CSDK_EABI, NULL },
	{ "shortdesc", CSDK_EPLUGIN, NULL },
	{ "shortmethods", CSDK_EPLUGIN, NULL },
	{ "shortkey", CSDK_EPLUGIN, NULL },
	{ "nomethods", CSDK_EPLUGIN, "no method table; set methods in the descriptor" },
	{ "noruncode", CSDK_EPLUGIN, "required method 'run_code' is missing; implement it in the method table" },
	{ "nogateway", CSDK_EPLUGIN, "required method 'gateway_endpoint' is missing; implement it in the method table" },
	{ "nomode", CSDK_EPLUGIN, "declares no mode; set modes to CSDK_MODE_DIRECT and/or CSDK_MODE_GATEWAY" },
	{ "unknownmode", CSDK_EPLUGIN, "declares unknown mode bits 0x4; use only CSDK_MODE_DIRECT and CSDK_MODE_GATEWAY" },
	{ "baddefault", CSDK_EPLUGIN, "default mode 0x2 is not one of its modes 0x1; set default_mode to one of the declared modes" },
	{ "capfs", CSDK_EPLUGIN, "declares capability 'filesystem' but method 'fs_mkdir' is missing; implement the filesystem methods or drop CSDK_CAP_FILESYSTEM" },
	{ "badname", CSDK_EPLUGIN, "plugin name 'Bad_Name' is not well-formed; use 1 to 32 lower-case letters, digits and '-', starting with a letter" },
	{ "nolicense", CSDK_EPLUGIN, "descriptor field 'license' is missing; set it to a string" },
	{ "mismatch", CSDK_EPLUGIN, "plugin name 'other' does not match the file name; rename the file to csdk-other.so" },
	{ "noinit", CSDK_EPLUGIN, "required method 'init' is missing; implement it in the method table" },
	{ "keytype", CSDK_EPLUGIN, "configuration key 'region' has unknown type 9; use a CSDK_CONFIG_* type (string, bool, int, size, duration)" },
	{ "keybounds", CSDK_EPLUGIN, "configuration key 'region' has min 10 above max 5; set min <= max" },
	{ "fsboth", CSDK_EPLUGIN, "declares both CSDK_CAP_FILESYSTEM and CSDK_CAP_FS_OVER_COMMANDS; keep FILESYSTEM when the plugin has fs methods, else FS_OVER_COMMANDS" },
	{ "fsgateway", CSDK_EPLUGIN, "declares CSDK_CAP_FS_OVER_COMMANDS without CSDK_MODE_DIRECT; the host needs the plugin's run_command for it" },
};

static const char *expected_message(const struct expected_rejection *e, const char *path)
{
	if (e->message)
		return t_fmt("%s: %s", path, e->message);
	if (strcmp(e->file, "elf32") == 0)
		return t_fmt("%s: is a 32-bit ELF file but this host is %zu-bit; rebuild the plugin for this machine", path,
			     sizeof(void *) * 8);
	if (strcmp(e->file, "undef") == 0)
		return t_fmt("%s: cannot be loaded: %s: undefined symbol: %s; run 'ldd -r %s' to find the missing library or symbol",
			     path, path, FIXTURE_MISSING_SYMBOL, path);
	if (strcmp(e->file, "refuse") == 0)
		return t_fmt("%s: csdk_plugin_entry refused host ABI %u.%u (returned %d); rebuild the plugin against this csdk's plugin.h",
			     path, CSDK_ABI_MAJOR, CSDK_ABI_MINOR, CSDK_EABI);
	if (strcmp(e->file, "major") == 0)
		return t_fmt("%s: plugin ABI major %u does not match host ABI major %u; rebuild the plugin against this csdk's plugin.h",
			     path, CSDK_ABI_MAJOR + 1, CSDK_ABI_MAJOR);
	if (strcmp(e->file, "minor") == 0)
		return t_fmt("%s: plugin needs ABI %u.%u but this host supports %u.%u; upgrade csdk or make csdk_plugin_entry offer an older minor",
			     path, CSDK_ABI_MAJOR, CSDK_ABI_MINOR + 1, CSDK_ABI_MAJOR, CSDK_ABI_MINOR);
	if (strcmp(e->file, "shortdesc") == 0)
		return t_fmt("%s: descriptor size %zu is smaller than its 2.0 size %zu; rebuild the plugin against csdk/plugin.h",
			     path, CSDK_PLUGIN_SIZE_2_0 - FIXTURE_SHORT_BY, CSDK_PLUGIN_SIZE_2_0);
	if (strcmp(e->file, "shortmethods") == 0)
		return t_fmt("%s: method table size %zu is smaller than its 2.0 size %zu; rebuild the plugin against csdk/plugin.h",
			     path, CSDK_METHODS_SIZE_2_0 - FIXTURE_SHORT_BY, CSDK_METHODS_SIZE_2_0);
	if (strcmp(e->file, "shortkey") == 0)
		return t_fmt("%s: config key size %zu is smaller than its 2.0 size %zu; rebuild the plugin against csdk/plugin.h",
			     path, CSDK_CONFIG_KEY_SIZE_2_0 - FIXTURE_SHORT_BY, CSDK_CONFIG_KEY_SIZE_2_0);
	return NULL;
}

/* One registry per rejection, so a failure names the fixture that broke. */
START_TEST(each_rejection_has_its_message_and_code)
{
	const struct expected_rejection *e = &rejections[_i];
	const char *path = t_fixture("bad", e->file);
	csdk_registry *reg = t_registry(t_fixture_dir("bad"), 0);
	const csdk_rejection *r = t_rejection(reg, path);

	ck_assert_msg(r != NULL, "%s was not rejected", path);
	if (strcmp(e->file, "elfmachine") == 0) {
		const char *head = t_fmt("%s: is built for machine ", path);
		const char *mid = t_fmt(" (ELF e_machine %u) but this host is ", t_elf_machine(path));
		const char *tail = "; rebuild the plugin for this machine";

		ck_assert_msg(strncmp(r->reason, head, strlen(head)) == 0 && strstr(r->reason, mid) != NULL &&
				      strlen(r->reason) > strlen(tail) &&
				      strcmp(r->reason + strlen(r->reason) - strlen(tail), tail) == 0,
			      "unexpected reason: %s", r->reason);
	} else {
		ck_assert_str_eq(r->reason, expected_message(e, path));
	}
	ck_assert_msg(r->code == e->code, "%s: code %d, expected %d", e->file, r->code, e->code);
	ck_assert_int_eq(r->shadowed, 0);
	ck_assert_int_eq(r->signal, 0);
	ck_assert_ptr_null(csdk_registry_find(reg, e->file));
	csdk_registry_free(reg);
}
END_TEST

START_TEST(rejection_knows_the_name_when_it_can)
{
	csdk_registry *reg = t_registry(t_fixture_dir("bad"), 0);
	const csdk_rejection *r;

	r = t_rejection(reg, t_fixture("bad", "text"));
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(r->name);
	r = t_rejection(reg, t_fixture("bad", "undef"));
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(r->name);
	r = t_rejection(reg, t_fixture("bad", "mismatch"));
	ck_assert_ptr_nonnull(r);
	ck_assert_pstr_eq(r->name, "other");
	csdk_registry_free(reg);
}
END_TEST

START_TEST(bad_directory_loads_nothing_and_rejects_everything)
{
	csdk_registry *reg = t_registry(t_fixture_dir("bad"), 0);

	ck_assert_uint_eq(csdk_registry_count(reg), 0);
	ck_assert_uint_eq(csdk_registry_rejected_count(reg), N_OF(rejections));
	for (size_t i = 0; i < N_OF(rejections); i++)
		ck_assert_msg(t_rejection(reg, t_fixture("bad", rejections[i].file)) != NULL, "%s not rejected",
			      rejections[i].file);
	ck_assert_ptr_null(csdk_registry_rejected_at(reg, N_OF(rejections)));
	csdk_registry_free(reg);
}
END_TEST

START_TEST(no_valid_plugin_is_lost_among_bad_ones)
{
	csdk_registry *reg = t_registry(t_fixture_dir("mixed"), 0);

	ck_assert_str_eq(t_names(reg), GOOD_NAMES);
	ck_assert_uint_eq(csdk_registry_rejected_count(reg), N_OF(rejections));
	for (size_t i = 0; i < N_OF(rejections); i++) {
		const char *path = t_fixture("mixed", rejections[i].file);
		const csdk_rejection *r = t_rejection(reg, path);

		ck_assert_msg(r != NULL, "%s not rejected", path);
		if (expected_message(&rejections[i], path))
			ck_assert_str_eq(r->reason, expected_message(&rejections[i], path));
	}
	csdk_registry_free(reg);
}
END_TEST

/* ----------------------------------------------------------- valid ones */

START_TEST(good_plugins_are_sorted_with_their_capabilities)
{
	const char *dir = t_fixture_dir("good");
	csdk_registry *reg = t_registry(dir, 0);
	const csdk_plugin_info *p;

	ck_assert_uint_eq(csdk_registry_count(reg), N_OF(good_names));
	ck_assert_uint_eq(csdk_registry_rejected_count(reg), 0);
	for (size_t i = 0; i < N_OF(good_names); i++) {
		p = csdk_registry_at(reg, i);
		ck_assert_ptr_nonnull(p);
		ck_assert_str_eq(p->name, good_names[i]);
		ck_assert_ptr_eq(csdk_registry_find(reg, good_names[i]), p);
		ck_assert_str_eq(p->path, t_fixture("good", good_names[i]));
		ck_assert_pstr_eq(p->origin_dir, dir);
		ck_assert_str_eq(p->version, "1.2.3");
		ck_assert_str_eq(p->description, t_fmt("Test fixture %s", good_names[i]));
		ck_assert_str_eq(p->license, "MIT");
		/* the fixture built against the frozen 2.0 header says 2.0 */
		ck_assert_uint_eq(p->abi_version, strcmp(good_names[i], "frozen") ? CSDK_ABI_VERSION : CSDK_ABI_MAKE(2, 0));
		ck_assert_ptr_nonnull(p->methods);
		ck_assert_msg(t_has_method(p, "create") && t_has_method(p, "run_command"), "%s: methods %s",
			      good_names[i], t_methods(p));
	}
	ck_assert_ptr_null(csdk_registry_at(reg, N_OF(good_names)));
	ck_assert_ptr_null(csdk_registry_find(reg, "nosuch"));

	p = csdk_registry_find(reg, "alpha");
	ck_assert_uint_eq(p->modes, CSDK_MODE_DIRECT);
	ck_assert_uint_eq(p->default_mode, CSDK_MODE_DIRECT);
	ck_assert_uint_eq(p->capabilities, CSDK_CAP_FILESYSTEM | CSDK_CAP_NAMED);
	ck_assert_str_eq(t_methods(p), "init,teardown,release,create,get,list,destroy,run_code,run_command,get_info,get_url,"
				     "fs_read,fs_write,fs_mkdir,fs_readdir,fs_exists,fs_remove,find_or_create,find,extend_timeout");
	ck_assert_uint_eq(p->n_warnings, 0);

	p = csdk_registry_find(reg, "beta");
	ck_assert_uint_eq(p->modes, CSDK_MODE_DIRECT | CSDK_MODE_GATEWAY);
	ck_assert_uint_eq(p->default_mode, CSDK_MODE_GATEWAY);
	ck_assert_uint_eq(p->capabilities,
			  CSDK_CAP_TEMPLATES | CSDK_CAP_SNAPSHOTS | CSDK_CAP_STREAMING | CSDK_CAP_THREAD_SAFE);
	ck_assert_str_eq(t_methods(p), "init,teardown,release,create,get,list,destroy,run_code,run_command,get_info,get_url,"
				     "template_create,template_list,template_delete,snapshot_create,snapshot_list,snapshot_delete,"
				     "gateway_endpoint");
	ck_assert_uint_eq(p->n_config_keys, 0);
	ck_assert_uint_eq(p->n_warnings, 0);

	p = csdk_registry_find(reg, "frozen");
	ck_assert_uint_eq(p->capabilities, CSDK_CAP_FILESYSTEM);
	ck_assert_uint_eq(p->n_warnings, 0);

	p = csdk_registry_find(reg, "leaky");
	ck_assert_uint_eq(p->capabilities, 0);
	ck_assert_uint_eq(p->n_warnings, 0);
	csdk_registry_free(reg);
}
END_TEST

START_TEST(config_keys_are_copied)
{
	csdk_registry *reg = t_registry(t_fixture_dir("good"), 0);
	const char *names[] = { "alpha", "future", "frozen" };

	for (size_t i = 0; i < N_OF(names); i++) {
		const csdk_plugin_info *p = csdk_registry_find(reg, names[i]);

		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(p->n_config_keys, 2);
		ck_assert_str_eq(p->config_keys[0].key, "api_key");
		ck_assert_pstr_eq(p->config_keys[0].env, "CSDK_FIXTURE_API_KEY");
		ck_assert_uint_eq(p->config_keys[0].flags, CSDK_CONFIG_REQUIRED | CSDK_CONFIG_SECRET);
		ck_assert_str_eq(p->config_keys[0].help, "API key of the fixture backend");
		ck_assert_uint_eq(p->config_keys[0].type, CSDK_CONFIG_STRING);
		ck_assert_int_eq(p->config_keys[0].min, 0);
		ck_assert_int_eq(p->config_keys[0].max, 0);
		ck_assert_str_eq(p->config_keys[1].key, "region");
		ck_assert_ptr_null(p->config_keys[1].env);
		ck_assert_uint_eq(p->config_keys[1].flags, 0);
		ck_assert_str_eq(p->config_keys[1].help, "region to create sandboxes in");
	}
	csdk_registry_free(reg);
}
END_TEST

START_TEST(future_minor_loads_with_warnings_only)
{
	const char *path = t_fixture("good", "future");
	csdk_registry *reg = t_registry(t_fixture_dir("good"), 0);
	const csdk_plugin_info *p = csdk_registry_find(reg, "future");
	const char *expected[] = {
		t_fmt("%s: descriptor is %d bytes larger than this host knows (%zu); the extra fields are ignored", path,
		      FIXTURE_FUTURE_DESCRIPTOR_EXTRA, sizeof(struct csdk_plugin)),
		t_fmt("%s: method table is %d bytes larger than this host knows (%zu); the extra fields are ignored", path,
		      FIXTURE_FUTURE_METHODS_EXTRA, sizeof(struct csdk_methods)),
		t_fmt("%s: config key is %d bytes larger than this host knows (%zu); the extra fields are ignored", path,
		      FIXTURE_FUTURE_KEY_EXTRA, sizeof(struct csdk_config_key)),
		t_fmt("%s: unknown capability bits 0x%llx are ignored", path, (unsigned long long)FIXTURE_FUTURE_CAP),
	};

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(t_rejection(reg, path));
	for (size_t i = 0; i < p->n_warnings; i++)
		ck_assert_msg(p->warnings[i] != NULL, "warning %zu is NULL", i);
	for (size_t i = 0; i < N_OF(expected); i++)
		ck_assert_msg(t_has_warning(p, expected[i]), "missing warning: %s (have %zu, first: %s)", expected[i],
			      p->n_warnings, p->n_warnings ? p->warnings[0] : "-");
	ck_assert_uint_eq(p->n_warnings, N_OF(expected));
	ck_assert_uint_eq(p->capabilities, CSDK_CAP_FILESYSTEM);
	ck_assert_msg(t_has_method(p, "fs_remove") && t_has_method(p, "get_url") && !t_has_method(p, "gateway_endpoint"),
		      "methods %s", t_methods(p));
	/* the plugin's own descriptor, as it declared it */
	ck_assert_uint_eq(t_descriptor(path, CSDK_ABI_VERSION)->capabilities, CSDK_CAP_FILESYSTEM | FIXTURE_FUTURE_CAP);
	ck_assert_uint_eq(t_descriptor(path, CSDK_ABI_VERSION)->struct_size,
			  sizeof(struct csdk_plugin) + FIXTURE_FUTURE_DESCRIPTOR_EXTRA);
	csdk_registry_free(reg);
}
END_TEST

START_TEST(lax_plugin_loads_with_warnings)
{
	const char *path = t_fixture("good", "lax");
	csdk_registry *reg = t_registry(t_fixture_dir("good"), 0);
	const csdk_plugin_info *p = csdk_registry_find(reg, "lax");
	const char *expected[] = {
		t_fmt("%s: defines named methods but does not declare CSDK_CAP_NAMED; they are not used", path),
		t_fmt("%s: configuration key region declared twice; the first one is used", path),
	};

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < N_OF(expected); i++)
		ck_assert_msg(t_has_warning(p, expected[i]), "missing warning: %s (have %zu, first: %s)", expected[i],
			      p->n_warnings, p->n_warnings ? p->warnings[0] : "-");
	ck_assert_uint_eq(p->n_warnings, N_OF(expected));
	ck_assert_uint_eq(p->capabilities, 0);
	for (size_t i = 0; i < p->n_config_keys; i++)
		if (strcmp(p->config_keys[i].key, "region") == 0) {
			ck_assert_str_eq(p->config_keys[i].help, "region to create sandboxes in");
			break;
		}
	csdk_registry_free(reg);
}
END_TEST

/*
 * A plugin built against the frozen 2.0 header loads, and its methods (from
 * its own entry point: the library hands out no method tables) work.
 */
START_TEST(frozen_plugin_works)
{
	const char *path = t_fixture("good", "frozen");
	csdk_registry *reg = t_registry(t_fixture_dir("good"), 0);
	const csdk_plugin_info *p = csdk_registry_find(reg, "frozen");
	const struct csdk_plugin *d = t_descriptor(path, CSDK_ABI_VERSION);
	const struct csdk_methods *m = d->methods;
	void *ctx = NULL, *sandbox = NULL;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->abi_version, CSDK_ABI_MAKE(2, 0));
	ck_assert_uint_eq(p->n_warnings, 0);
	ck_assert_uint_eq(d->struct_size, CSDK_PLUGIN_SIZE_2_0);
	ck_assert_uint_eq(m->struct_size, CSDK_METHODS_SIZE_2_0);
	ck_assert_uint_eq(d->config_key_size, CSDK_CONFIG_KEY_SIZE_2_0);
	ck_assert_int_eq(m->init(NULL, NULL, &ctx), 0);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_str_eq(*(const char *const *)ctx, "frozen");
	ck_assert_int_eq(m->get(ctx, "nosuch", &sandbox), CSDK_ENOTFOUND);
	ck_assert_int_eq(m->get(ctx, FIXTURE_PROBE_ID, &sandbox), 0);
	ck_assert_ptr_eq(sandbox, ctx);
	ck_assert_int_eq(m->destroy(ctx, FIXTURE_PROBE_ID), 0);
	m->teardown(ctx);
	csdk_registry_free(reg);
}
END_TEST

/* ------------------------------------------------------------- duplicates */

static void check_duplicate(const char *first, const char *second)
{
	const char *winner = t_fixture(first, "dup"), *loser = t_fixture(second, "dup");
	csdk_registry *reg = t_registry(t_fmt("%s:%s", t_fixture_dir(first), t_fixture_dir(second)), 0);
	const csdk_plugin_info *p = csdk_registry_find(reg, "dup");
	const csdk_rejection *r;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(csdk_registry_count(reg), 1);
	ck_assert_str_eq(p->path, winner);
	ck_assert_pstr_eq(p->origin_dir, t_fixture_dir(first));
	ck_assert_uint_eq(csdk_registry_rejected_count(reg), 1);
	r = csdk_registry_rejected_at(reg, 0);
	ck_assert_str_eq(r->path, loser);
	ck_assert_pstr_eq(r->name, "dup");
	ck_assert_int_ne(r->shadowed, 0);
	ck_assert_int_eq(r->code, CSDK_EPLUGIN);
	ck_assert_str_eq(r->reason, t_fmt("%s: plugin 'dup' is shadowed by %s, which comes earlier in the search path; remove one of them",
					  loser, winner));
	csdk_registry_free(reg);
}

START_TEST(earlier_directory_shadows_the_later)
{
	check_duplicate("dup-a", "dup-b");
	check_duplicate("dup-b", "dup-a");
}
END_TEST

/* ------------------------------------------------------------------ crash */

START_TEST(crashing_constructor_is_rejected_under_isolate)
{
	const char *path = t_fixture("crash", "crash");
	csdk_registry *reg = t_registry(t_fmt("%s:%s", t_fixture_dir("crash"), t_fixture_dir("good")), CSDK_REGISTRY_ISOLATE);
	const csdk_rejection *r = t_rejection(reg, path);

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->code, CSDK_ECRASHED);
	ck_assert_int_eq(r->signal, SIGSEGV);
	ck_assert_str_eq(r->reason, t_fmt("%s: crashed while loading (signal %d, SIGSEGV); fix the plugin's constructors or csdk_plugin_entry",
					  path, SIGSEGV));
	ck_assert_str_eq(t_names(reg), GOOD_NAMES);
	ck_assert_uint_eq(csdk_registry_rejected_count(reg), 1);
	csdk_registry_free(reg);
}
END_TEST

START_TEST(isolated_scan_rejects_like_a_plain_one)
{
	csdk_registry *reg = t_registry(t_fixture_dir("mixed"), CSDK_REGISTRY_ISOLATE);

	ck_assert_str_eq(t_names(reg), GOOD_NAMES);
	ck_assert_uint_eq(csdk_registry_rejected_count(reg), N_OF(rejections));
	for (size_t i = 0; i < N_OF(rejections); i++) {
		const char *path = t_fixture("mixed", rejections[i].file);
		const csdk_rejection *r = t_rejection(reg, path);

		ck_assert_msg(r != NULL, "%s not rejected", path);
		if (expected_message(&rejections[i], path))
			ck_assert_str_eq(r->reason, expected_message(&rejections[i], path));
		ck_assert_int_eq(r->code, rejections[i].code);
	}
	csdk_registry_free(reg);
}
END_TEST

/* ------------------------------------------------------------ search path */

static void assert_path(const csdk_registry *reg, size_t i, const char *dir, csdk_path_origin origin)
{
	const csdk_path_entry *e = csdk_registry_path_at(reg, i);

	ck_assert_msg(e != NULL, "no search path entry %zu (want %s)", i, dir);
	ck_assert_str_eq(e->dir, dir);
	ck_assert_msg(e->origin == origin, "%s: origin %d, expected %d", dir, (int)e->origin, (int)origin);
}

START_TEST(option_path_replaces_the_default)
{
	const char *a = t_tmpdir(), *b = t_fmt("%s/missing", t_tmpdir());
	csdk_registry *reg;

	setenv("CSDK_PLUGIN_PATH", t_fixture_dir("good"), 1);
	reg = t_registry(t_fmt("%s:%s", a, b), 0);
	ck_assert_uint_eq(csdk_registry_path_count(reg), 2);
	assert_path(reg, 0, a, CSDK_PATH_OPTION);
	assert_path(reg, 1, b, CSDK_PATH_OPTION);
	ck_assert_int_ne(csdk_registry_path_at(reg, 0)->exists, 0);
	ck_assert_int_eq(csdk_registry_path_at(reg, 1)->exists, 0);
	ck_assert_ptr_null(csdk_registry_path_at(reg, 2));
	ck_assert_uint_eq(csdk_registry_count(reg), 0);
	csdk_registry_free(reg);
}
END_TEST

START_TEST(env_path_then_user_then_system)
{
	const char *e1 = t_tmpdir(), *e2 = t_tmpdir(), *xdg = t_tmpdir();
	csdk_registry *reg;

	setenv("CSDK_PLUGIN_PATH", t_fmt("%s:%s", e1, e2), 1);
	setenv("XDG_DATA_HOME", xdg, 1);
	unsetenv("CSDK_PLUGIN_SYSTEM_PATH");
	reg = t_registry(NULL, 0);
	ck_assert_uint_eq(csdk_registry_path_count(reg), 4);
	assert_path(reg, 0, e1, CSDK_PATH_ENV);
	assert_path(reg, 1, e2, CSDK_PATH_ENV);
	assert_path(reg, 2, t_fmt("%s/csdk-2/plugins", xdg), CSDK_PATH_USER);
	assert_path(reg, 3, CSDK_TEST_SYSTEM_PLUGIN_DIR, CSDK_PATH_SYSTEM);
	ck_assert_int_eq(csdk_registry_path_at(reg, 2)->exists, 0);
	csdk_registry_free(reg);
}
END_TEST

START_TEST(user_dir_defaults_to_home)
{
	csdk_registry *reg;

	unsetenv("XDG_DATA_HOME");
	unsetenv("CSDK_PLUGIN_SYSTEM_PATH");
	reg = t_registry(NULL, 0);
	ck_assert_uint_eq(csdk_registry_path_count(reg), 2);
	assert_path(reg, 0, t_fmt("%s/.local/share/csdk-2/plugins", t_env("HOME")), CSDK_PATH_USER);
	assert_path(reg, 1, CSDK_TEST_SYSTEM_PLUGIN_DIR, CSDK_PATH_SYSTEM);
	csdk_registry_free(reg);
}
END_TEST

START_TEST(system_env_path_replaces_user_and_system)
{
	const char *e = t_tmpdir(), *s1 = t_tmpdir(), *s2 = t_tmpdir();
	csdk_registry *reg;

	setenv("CSDK_PLUGIN_PATH", e, 1);
	setenv("CSDK_PLUGIN_SYSTEM_PATH", t_fmt("%s:%s", s1, s2), 1);
	reg = t_registry(NULL, 0);
	ck_assert_uint_eq(csdk_registry_path_count(reg), 3);
	assert_path(reg, 0, e, CSDK_PATH_ENV);
	assert_path(reg, 1, s1, CSDK_PATH_SYSTEM_ENV);
	assert_path(reg, 2, s2, CSDK_PATH_SYSTEM_ENV);
	csdk_registry_free(reg);
}
END_TEST

START_TEST(no_env_flag_ignores_path_variables)
{
	const char *xdg = t_tmpdir();
	csdk_registry *reg;

	setenv("CSDK_PLUGIN_PATH", t_fixture_dir("good"), 1);
	setenv("CSDK_PLUGIN_SYSTEM_PATH", t_fixture_dir("dup-a"), 1);
	setenv("XDG_DATA_HOME", xdg, 1);
	reg = t_registry(NULL, CSDK_REGISTRY_NO_ENV);
	ck_assert_uint_eq(csdk_registry_path_count(reg), 2);
	assert_path(reg, 0, t_fmt("%s/csdk-2/plugins", xdg), CSDK_PATH_USER);
	assert_path(reg, 1, CSDK_TEST_SYSTEM_PLUGIN_DIR, CSDK_PATH_SYSTEM);
	ck_assert_ptr_null(csdk_registry_find(reg, "alpha"));
	ck_assert_ptr_null(csdk_registry_find(reg, "dup"));
	csdk_registry_free(reg);
}
END_TEST

/* The same plugin in several directories: the earliest entry wins. */
START_TEST(env_dir_wins_over_user_dir)
{
	const char *env = t_tmpdir(), *xdg = t_tmpdir(), *user = t_fmt("%s/csdk-2/plugins", xdg);
	csdk_registry *reg;
	const csdk_rejection *r;

	t_mkdirs(user);
	t_copy(t_fixture("good", "alpha"), t_fmt("%s/csdk-alpha.so", env));
	t_copy(t_fixture("good", "alpha"), t_fmt("%s/csdk-alpha.so", user));
	t_copy(t_fixture("good", "beta"), t_fmt("%s/csdk-beta.so", user));
	setenv("CSDK_PLUGIN_PATH", env, 1);
	setenv("XDG_DATA_HOME", xdg, 1);
	unsetenv("CSDK_PLUGIN_SYSTEM_PATH");
	reg = t_registry(NULL, 0);
	ck_assert_str_eq(csdk_registry_find(reg, "alpha")->path, t_fmt("%s/csdk-alpha.so", env));
	ck_assert_pstr_eq(csdk_registry_find(reg, "alpha")->origin_dir, env);
	ck_assert_str_eq(csdk_registry_find(reg, "beta")->path, t_fmt("%s/csdk-beta.so", user));
	r = t_rejection(reg, t_fmt("%s/csdk-alpha.so", user));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_ne(r->shadowed, 0);
	csdk_registry_free(reg);
}
END_TEST

START_TEST(env_dir_wins_over_system_env_dir_and_user_dir_is_skipped)
{
	const char *env = t_tmpdir(), *sys = t_tmpdir(), *xdg = t_tmpdir(), *user = t_fmt("%s/csdk-2/plugins", xdg);
	csdk_registry *reg;
	const csdk_rejection *r;

	t_mkdirs(user);
	t_copy(t_fixture("good", "alpha"), t_fmt("%s/csdk-alpha.so", env));
	t_copy(t_fixture("good", "alpha"), t_fmt("%s/csdk-alpha.so", sys));
	t_copy(t_fixture("good", "frozen"), t_fmt("%s/csdk-frozen.so", sys));
	t_copy(t_fixture("good", "beta"), t_fmt("%s/csdk-beta.so", user));
	setenv("CSDK_PLUGIN_PATH", env, 1);
	setenv("CSDK_PLUGIN_SYSTEM_PATH", sys, 1);
	setenv("XDG_DATA_HOME", xdg, 1);
	reg = t_registry(NULL, 0);
	ck_assert_str_eq(t_names(reg), "alpha,frozen");
	ck_assert_str_eq(csdk_registry_find(reg, "alpha")->path, t_fmt("%s/csdk-alpha.so", env));
	ck_assert_str_eq(csdk_registry_find(reg, "frozen")->path, t_fmt("%s/csdk-frozen.so", sys));
	r = t_rejection(reg, t_fmt("%s/csdk-alpha.so", sys));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_ne(r->shadowed, 0);
	csdk_registry_free(reg);
}
END_TEST

START_TEST(default_registry_sees_only_the_empty_system_dir)
{
	csdk_registry *reg = NULL;

	ck_assert_int_eq(csdk_registry_new(&reg, NULL), 0);
	ck_assert_uint_eq(csdk_registry_path_count(reg), 1);
	assert_path(reg, 0, t_env("CSDK_PLUGIN_SYSTEM_PATH"), CSDK_PATH_SYSTEM_ENV);
	ck_assert_uint_eq(csdk_registry_count(reg), 0);
	ck_assert_uint_eq(csdk_registry_rejected_count(reg), 0);
	csdk_registry_free(reg);
	csdk_registry_free(NULL);
}
END_TEST

/* --------------------------------------------------------- select, disable */

START_TEST(select_and_disable_by_option)
{
	const char *good = t_fixture_dir("good");
	csdk_registry *reg;

	reg = t_registry_opts(good, 0, "a*,f*", NULL);
	ck_assert_str_eq(t_names(reg), "alpha,frozen,future");
	csdk_registry_free(reg);
	reg = t_registry_opts(good, 0, NULL, "f*,lax");
	ck_assert_str_eq(t_names(reg), "alpha,beta,leaky");
	csdk_registry_free(reg);
	reg = t_registry_opts(good, 0, "*", "?eta,le*");
	ck_assert_str_eq(t_names(reg), "alpha,frozen,future,lax");
	csdk_registry_free(reg);
	reg = t_registry_opts(good, 0, "nosuch", NULL);
	ck_assert_str_eq(t_names(reg), "");
	csdk_registry_free(reg);
}
END_TEST

START_TEST(select_and_disable_by_environment)
{
	const char *good = t_fixture_dir("good");
	csdk_registry *reg;

	setenv("CSDK_PLUGINS", "beta,le*", 1);
	reg = t_registry(good, 0);
	ck_assert_str_eq(t_names(reg), "beta,leaky");
	csdk_registry_free(reg);

	unsetenv("CSDK_PLUGINS");
	setenv("CSDK_PLUGINS_DISABLE", "?eta", 1);
	reg = t_registry(good, 0);
	ck_assert_str_eq(t_names(reg), "alpha,frozen,future,lax,leaky");
	csdk_registry_free(reg);

	/* the options take the place of the variables */
	setenv("CSDK_PLUGINS", "beta", 1);
	reg = t_registry_opts(good, 0, "alpha,beta", "lax");
	ck_assert_str_eq(t_names(reg), "alpha,beta");
	csdk_registry_free(reg);
}
END_TEST

START_TEST(no_env_flag_ignores_select_variables)
{
	csdk_registry *reg;

	setenv("CSDK_PLUGINS", "beta", 1);
	setenv("CSDK_PLUGINS_DISABLE", "alpha", 1);
	reg = t_registry(t_fixture_dir("good"), CSDK_REGISTRY_NO_ENV);
	ck_assert_str_eq(t_names(reg), GOOD_NAMES);
	csdk_registry_free(reg);
}
END_TEST

/* ------------------------------------------------------------ rescanning */

START_TEST(scan_finds_files_added_later)
{
	const char *dir = t_tmpdir();
	csdk_registry *reg = t_registry(dir, 0);
	const csdk_plugin_info *alpha;

	ck_assert_uint_eq(csdk_registry_count(reg), 0);
	t_copy(t_fixture("good", "alpha"), t_fmt("%s/csdk-alpha.so", dir));
	ck_assert_uint_eq(csdk_registry_count(reg), 0);
	ck_assert_int_eq(csdk_registry_scan(reg), 0);
	ck_assert_str_eq(t_names(reg), "alpha");
	alpha = csdk_registry_find(reg, "alpha");

	t_copy(t_fixture("good", "beta"), t_fmt("%s/csdk-beta.so", dir));
	t_copy(t_fixture("bad", "badmagic"), t_fmt("%s/csdk-badmagic.so", dir));
	t_copy(t_fixture("good", "alpha"), t_fmt("%s/csdk-aardvark.so", dir));
	ck_assert_int_eq(csdk_registry_scan(reg), 0);
	ck_assert_str_eq(t_names(reg), "alpha,beta");
	ck_assert_ptr_eq(csdk_registry_find(reg, "alpha"), alpha);
	ck_assert_str_eq(alpha->name, "alpha");
	ck_assert_str_eq(alpha->path, t_fmt("%s/csdk-alpha.so", dir));
	ck_assert_uint_eq(csdk_registry_rejected_count(reg), 2);
	ck_assert_ptr_nonnull(t_rejection(reg, t_fmt("%s/csdk-badmagic.so", dir)));

	/* rejections are recomputed: a removed bad file is forgotten */
	ck_assert_int_eq(unlink(t_fmt("%s/csdk-badmagic.so", dir)), 0);
	ck_assert_int_eq(csdk_registry_scan(reg), 0);
	ck_assert_uint_eq(csdk_registry_rejected_count(reg), 1);
	ck_assert_ptr_eq(csdk_registry_find(reg, "alpha"), alpha);
	csdk_registry_free(reg);
}
END_TEST

/* ------------------------------------------------------------- load_file */

START_TEST(load_file_outside_the_path)
{
	const char *path = t_fixture("good", "alpha");
	csdk_registry *reg = t_registry(t_fixture_dir("empty"), 0);
	const csdk_plugin_info *p = NULL, *again = NULL;

	ck_assert_int_eq(csdk_registry_load_file(reg, path, &p), 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "alpha");
	ck_assert_str_eq(p->path, path);
	ck_assert_int_eq(csdk_registry_load_file(reg, path, &again), 0);
	ck_assert_ptr_eq(again, p);
	csdk_registry_free(reg);
}
END_TEST

START_TEST(load_file_rejection_sets_the_last_error)
{
	const char *path = t_fixture("bad", "badmagic");
	csdk_registry *reg = t_registry(t_fixture_dir("empty"), 0);
	const csdk_plugin_info *p = NULL;
	const csdk_error *err;

	csdk_error_clear();
	ck_assert_int_eq(csdk_registry_load_file(reg, path, &p), CSDK_EPLUGIN);
	err = csdk_error_last();
	ck_assert_int_eq(err->code, CSDK_EPLUGIN);
	ck_assert_str_eq(err->message, t_fmt("%s: bad descriptor magic 0xdeadbeef (expected 0x4b445343); csdk_plugin_entry must return a struct csdk_plugin", path));
	csdk_error_clear();
	ck_assert_int_eq(csdk_error_last()->code, 0);
	ck_assert_str_eq(csdk_error_last()->message, "");
	csdk_registry_free(reg);
}
END_TEST

/* ------------------------------------------------------------ ABI 1.x */

static const char *abi1_message(const char *path)
{
	return t_fmt("%s: plugin speaks ABI 1.x, which this host no longer loads (it speaks %d.%d); "
		     "rebuild the plugin against this csdk's csdk/plugin.h", path, CSDK_ABI_MAJOR, CSDK_ABI_MINOR);
}

/* A plugin built against the 1.0 header refuses a 2.0 host; the host asks what it speaks and names the fix. */
START_TEST(abi1_plugin_is_rejected_with_one_line)
{
	const char *path = t_fixture("abi1", "abi1");
	csdk_registry *reg = t_registry(t_fixture_dir("abi1"), 0);
	const csdk_rejection *r = t_rejection(reg, path);

	ck_assert_msg(r != NULL, "%s was not rejected", path);
	ck_assert_str_eq(r->reason, abi1_message(path));
	ck_assert_int_eq(r->code, CSDK_EABI);
	ck_assert_int_eq(r->signal, 0);
	ck_assert_ptr_null(csdk_registry_find(reg, "abi1"));
	ck_assert_ptr_null(csdk_registry_at(reg, 0));
	ck_assert_uint_eq(csdk_registry_rejected_count(reg), 1);
	/* as a 1.0 host sees it, it is a well-formed 1.0 plugin */
	ck_assert_uint_eq(t_descriptor(path, CSDK_ABI_MAKE(1, 0))->abi_version, CSDK_ABI_MAKE(1, 0));
	csdk_registry_free(reg);
}
END_TEST

START_TEST(abi1_plugin_load_file_sets_the_last_error)
{
	const char *path = t_fixture("abi1", "abi1");
	csdk_registry *reg = t_registry(t_fixture_dir("empty"), 0);
	const csdk_plugin_info *p = NULL;

	/* load_file reports every rejection as CSDK_EPLUGIN, with the reason as the message */
	csdk_error_clear();
	ck_assert_int_eq(csdk_registry_load_file(reg, path, &p), CSDK_EPLUGIN);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(csdk_error_last()->code, CSDK_EPLUGIN);
	ck_assert_str_eq(csdk_error_last()->message, abi1_message(path));
	csdk_registry_free(reg);
}
END_TEST

START_TEST(load_file_checks_the_file_name)
{
	const char *path = t_fmt("%s/csdk-zeta.so", t_tmpdir());
	csdk_registry *reg = t_registry(t_fixture_dir("empty"), 0);
	const csdk_plugin_info *p = NULL;

	t_copy(t_fixture("good", "alpha"), path);
	ck_assert_int_eq(csdk_registry_load_file(reg, path, &p), CSDK_EPLUGIN);
	ck_assert_str_eq(csdk_error_last()->message,
			 t_fmt("%s: plugin name 'alpha' does not match the file name; rename the file to csdk-alpha.so", path));
	csdk_registry_free(reg);
}
END_TEST

START_TEST(load_file_ignores_the_duplicate_rule)
{
	csdk_registry *reg = t_registry(t_fixture_dir("dup-a"), 0);
	const csdk_plugin_info *p = NULL;

	ck_assert_int_eq(csdk_registry_load_file(reg, t_fixture("dup-b", "dup"), &p), 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->path, t_fixture("dup-b", "dup"));
	/* Loaded by file, it answers for its name: nothing was scanned yet. */
	ck_assert_str_eq(csdk_registry_find(reg, "dup")->path, t_fixture("dup-b", "dup"));
	csdk_registry_free(reg);
}
END_TEST

START_TEST(load_file_of_a_missing_file)
{
	const char *path = t_fmt("%s/csdk-nosuch.so", t_tmpdir());
	csdk_registry *reg = t_registry(t_fixture_dir("empty"), 0);
	const csdk_plugin_info *p = NULL;

	ck_assert_int_lt(csdk_registry_load_file(reg, path, &p), 0);
	ck_assert_str_eq(csdk_error_last()->message,
			 t_fmt("%s: cannot read the file (%s); make it readable by this user", path, strerror(ENOENT)));
	csdk_registry_free(reg);
}
END_TEST

START_TEST(load_file_isolated_crash)
{
	const char *path = t_fixture("crash", "crash");
	csdk_registry *reg = t_registry(t_fixture_dir("empty"), CSDK_REGISTRY_ISOLATE);
	const csdk_plugin_info *p = NULL;

	ck_assert_int_eq(csdk_registry_load_file(reg, path, &p), CSDK_ECRASHED);
	ck_assert_int_eq(csdk_error_last()->code, CSDK_ECRASHED);
	ck_assert_str_eq(csdk_error_last()->message,
			 t_fmt("%s: crashed while loading (signal %d, SIGSEGV); fix the plugin's constructors or csdk_plugin_entry", path, SIGSEGV));
	csdk_registry_free(reg);
}
END_TEST

/* ----------------------------------------------------------------- errors */

START_TEST(strerror_describes_every_code)
{
	const char *seen[-CSDK_ERROR_MIN + 1];

	ck_assert_str_eq(csdk_strerror(CSDK_ENOTFOUND), "not found");
	for (int code = 0; code >= CSDK_ERROR_MIN; code--) {
		const char *s = csdk_strerror(code);

		ck_assert_msg(s != NULL && *s != '\0', "csdk_strerror(%d) is empty", code);
		seen[-code] = s;
		for (int other = 0; other < -code; other++)
			ck_assert_msg(strcmp(seen[other], s) != 0, "codes %d and %d share \"%s\"", -other, code, s);
	}
	ck_assert_ptr_nonnull(csdk_strerror(CSDK_ERROR_MIN - 1));
	ck_assert_ptr_nonnull(csdk_strerror(1));
	ck_assert_ptr_nonnull(csdk_strerror(-1000));
}
END_TEST

START_TEST(last_error_starts_empty)
{
	const csdk_error *err = csdk_error_last();

	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, 0);
	ck_assert_str_eq(err->message, "");
}
END_TEST

static void add_env_cases(TCase *tc)
{
	tcase_add_test(tc, option_path_replaces_the_default);
	tcase_add_test(tc, env_path_then_user_then_system);
	tcase_add_test(tc, user_dir_defaults_to_home);
	tcase_add_test(tc, system_env_path_replaces_user_and_system);
	tcase_add_test(tc, no_env_flag_ignores_path_variables);
	tcase_add_test(tc, env_dir_wins_over_user_dir);
	tcase_add_test(tc, env_dir_wins_over_system_env_dir_and_user_dir_is_skipped);
	tcase_add_test(tc, default_registry_sees_only_the_empty_system_dir);
	tcase_add_test(tc, select_and_disable_by_option);
	tcase_add_test(tc, select_and_disable_by_environment);
	tcase_add_test(tc, no_env_flag_ignores_select_variables);
}

static Suite *loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc;

	tc = tcase_create("rejections");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, each_rejection_has_its_message_and_code, 0, (int)N_OF(rejections));
	tcase_add_test(tc, rejection_knows_the_name_when_it_can);
	tcase_add_test(tc, bad_directory_loads_nothing_and_rejects_everything);
	tcase_add_test(tc, no_valid_plugin_is_lost_among_bad_ones);
	suite_add_tcase(s, tc);

	tc = tcase_create("valid");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, good_plugins_are_sorted_with_their_capabilities);
	tcase_add_test(tc, config_keys_are_copied);
	tcase_add_test(tc, future_minor_loads_with_warnings_only);
	tcase_add_test(tc, lax_plugin_loads_with_warnings);
	tcase_add_test(tc, frozen_plugin_works);
	tcase_add_test(tc, earlier_directory_shadows_the_later);
	suite_add_tcase(s, tc);

	tc = tcase_create("isolate");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, crashing_constructor_is_rejected_under_isolate);
	tcase_add_test(tc, isolated_scan_rejects_like_a_plain_one);
	tcase_add_test(tc, load_file_isolated_crash);
	suite_add_tcase(s, tc);

	tc = tcase_create("search-path");
	tcase_set_timeout(tc, 60);
	add_env_cases(tc);
	suite_add_tcase(s, tc);

	tc = tcase_create("scan-and-load");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, scan_finds_files_added_later);
	tcase_add_test(tc, load_file_outside_the_path);
	tcase_add_test(tc, load_file_rejection_sets_the_last_error);
	tcase_add_test(tc, abi1_plugin_is_rejected_with_one_line);
	tcase_add_test(tc, abi1_plugin_load_file_sets_the_last_error);
	tcase_add_test(tc, load_file_checks_the_file_name);
	tcase_add_test(tc, load_file_ignores_the_duplicate_rule);
	tcase_add_test(tc, load_file_of_a_missing_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, strerror_describes_every_code);
	tcase_add_test(tc, last_error_starts_empty);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(loader_suite());
}
