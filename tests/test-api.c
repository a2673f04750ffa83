/*
 * test-api: the uniform sandbox API of libcsdk (providers, sandboxes,
 * commands, code, URLs, the unsupported groups, secrets and threads), driven
 * through the in-memory "apitest" fixture (fixtures/apitest.c).
 *
 * Every test leaves the process as it found it (environment, log handler,
 * registries), so the suite also runs with CK_FORK=no, e.g. under valgrind.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csdk/csdk.h>

/* The application header stands alone: it never brings in the plugin ABI. */
#ifdef CSDK_PLUGIN_H
#error "csdk/csdk.h includes csdk/plugin.h"
#endif

#include "fixtures/apitest.h"
#include "fixtures/fixture.h"
#include "helpers.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#define KEY "sk-live-7f3a9c-SECRET"
#define ENV_KEY "sk-from-env-0042"

#define FS_UNSUPPORTED \
	"Filesystem operations are not supported by apitest's sandbox environment. apitest sandboxes are designed for code execution only."

static csdk_registry *reg;

static void setup(void)
{
	unsetenv(APITEST_API_KEY_ENV);
	unsetenv(APITEST_REGION_ENV);
	unsetenv(APITEST_TEARDOWN_ENV);
	unsetenv(APITEST_WAIT_ENV);
	csdk_set_log_handler(NULL, NULL);
	csdk_error_clear();
	reg = t_registry(t_fixture_dir("api"), CSDK_REGISTRY_NO_ENV);
}

static void teardown(void)
{
	unsetenv(APITEST_API_KEY_ENV);
	unsetenv(APITEST_REGION_ENV);
	unsetenv(APITEST_TEARDOWN_ENV);
	unsetenv(APITEST_WAIT_ENV);
	csdk_set_log_handler(NULL, NULL);
	csdk_registry_free(reg);
	reg = NULL;
}

/* ---------------------------------------------------------------- helpers */

static int open_kv(csdk_provider **out, csdk_registry *r, const char *name, const struct csdk_kv *kv, size_t n)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;

	opts.config = kv;
	opts.n_config = n;
	opts.registry = r;
	return csdk_provider_open(out, name, &opts);
}

static csdk_provider *open_api(const char *key, const char *region)
{
	struct csdk_kv kv[2];
	csdk_provider *p = NULL;
	size_t n = 0;
	int rc;

	if (key)
		kv[n++] = (struct csdk_kv){ "api_key", key };
	if (region)
		kv[n++] = (struct csdk_kv){ "region", region };
	rc = open_kv(&p, reg, "apitest", kv, n);
	ck_assert_msg(rc == 0, "csdk_provider_open(apitest) returned %d: %s", rc, csdk_error_last()->message);
	ck_assert_ptr_nonnull(p);
	return p;
}

static csdk_sandbox *new_sandbox(csdk_provider *p)
{
	csdk_sandbox *sb = NULL;
	int rc = csdk_sandbox_create(&sb, p, NULL);

	ck_assert_msg(rc == 0, "csdk_sandbox_create returned %d: %s", rc, csdk_error_last()->message);
	ck_assert_ptr_nonnull(sb);
	return sb;
}

/* The call failed with code and exactly this message, attributed to provider. */
static void assert_failed(int rc, int code, const char *provider, const char *message)
{
	const csdk_error *e = csdk_error_last();

	ck_assert_int_eq(rc, code);
	ck_assert_int_eq(e->code, code);
	ck_assert_str_eq(e->message, message);
	ck_assert_pstr_eq(e->provider, provider);
}

/* csdk_sandbox_run_code with only a runtime among the options. */
static int run_code_rt(csdk_result **out, csdk_sandbox *sb, const char *code, const char *runtime)
{
	csdk_command_options o = CSDK_COMMAND_OPTIONS_INIT;

	o.runtime = runtime;
	return csdk_sandbox_run_code(out, sb, code, &o);
}

static void assert_no_error(void)
{
	ck_assert_int_eq(csdk_error_last()->code, 0);
	ck_assert_str_eq(csdk_error_last()->message, "");
}

static csdk_result *run_ok(csdk_sandbox *sb, const char *command, const csdk_command_options *opts)
{
	csdk_result *r = NULL;
	int rc = csdk_sandbox_run_command(&r, sb, command, opts);

	ck_assert_msg(rc == 0, "run_command(%s) returned %d: %s", command, rc, csdk_error_last()->message);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(r->stdout_buf);
	ck_assert_ptr_nonnull(r->stderr_buf);
	ck_assert_int_eq(r->stdout_buf[r->stdout_len], '\0');
	ck_assert_int_eq(r->stderr_buf[r->stderr_len], '\0');
	return r;
}

/* run_command succeeds with exit code 0 and exactly this stdout. */
static void expect_stdout(csdk_sandbox *sb, const char *command, const char *expected)
{
	csdk_result *r = run_ok(sb, command, NULL);

	ck_assert_str_eq(r->stdout_buf, expected);
	ck_assert_int_eq(r->exit_code, 0);
	csdk_result_free(r);
}

/* run_command fails: the result stays NULL and the error is exactly this. */
static void run_fails(csdk_sandbox *sb, const char *command, const csdk_command_options *opts, int code, const char *provider,
		      const char *message)
{
	csdk_result *r = (csdk_result *)&r;
	int rc = csdk_sandbox_run_command(&r, sb, command, opts);

	ck_assert_ptr_null(r);
	assert_failed(rc, code, provider, message);
}

static const char *meta(const csdk_sandbox_info *info, const char *key)
{
	for (size_t i = 0; i < info->n_metadata; i++)
		if (!strcmp(info->metadata[i].key, key))
			return info->metadata[i].value;
	return NULL;
}

/* A number the fixture reports in get_info metadata. */
static long counter(csdk_sandbox *sb, const char *key)
{
	csdk_sandbox_info *info = NULL;
	const char *v;
	long n;
	int rc = csdk_sandbox_get_info(&info, sb);

	ck_assert_msg(rc == 0, "get_info returned %d: %s", rc, csdk_error_last()->message);
	v = meta(info, key);
	ck_assert_msg(v != NULL, "get_info has no metadata '%s'", key);
	n = strtol(v, NULL, 10);
	csdk_sandbox_info_free(info);
	return n;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return t_fmt("%s", buf);
}

/* --------------------------------------------------------------- opening */

START_TEST(open_unknown_provider_lists_the_available_ones)
{
	csdk_provider *p = (csdk_provider *)&p;

	assert_failed(open_kv(&p, reg, "nosuch", NULL, 0), CSDK_ENOTFOUND, "nosuch",
		      "unknown provider 'nosuch' (available: apitest); run 'csdk-plugins --paths' to see where plugins are searched");
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(open_in_an_empty_registry_lists_none)
{
	csdk_registry *empty = t_registry(t_fixture_dir("empty"), CSDK_REGISTRY_NO_ENV);
	csdk_provider *p = NULL;

	assert_failed(open_kv(&p, empty, "apitest", NULL, 0), CSDK_ENOTFOUND, "apitest",
		      "unknown provider 'apitest' (available: none); run 'csdk-plugins --paths' to see where plugins are searched");
	ck_assert_ptr_null(p);
	csdk_registry_free(empty);
}
END_TEST

START_TEST(open_rejected_provider_gives_the_rejection_reason)
{
	csdk_registry *bad = t_registry(t_fixture_dir("bad"), CSDK_REGISTRY_NO_ENV);
	const char *path = t_fixture("bad", "badmagic");
	const csdk_rejection *r = t_rejection(bad, path);
	csdk_provider *p = NULL;

	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->reason, t_fmt("%s: bad descriptor magic 0xdeadbeef (expected 0x4b445343); "
					  "csdk_plugin_entry must return a struct csdk_plugin", path));
	assert_failed(open_kv(&p, bad, "badmagic", NULL, 0), CSDK_ENOTFOUND, "badmagic",
		      t_fmt("provider 'badmagic' was rejected: %s", r->reason));
	ck_assert_ptr_null(p);

	/* Found by file name even when the descriptor names another plugin. */
	r = t_rejection(bad, t_fixture("bad", "mismatch"));
	ck_assert_ptr_nonnull(r);
	assert_failed(open_kv(&p, bad, "mismatch", NULL, 0), CSDK_ENOTFOUND, "mismatch",
		      t_fmt("provider 'mismatch' was rejected: %s", r->reason));
	csdk_registry_free(bad);
}
END_TEST

START_TEST(open_without_a_name_or_out)
{
	csdk_provider *p = NULL;

	assert_failed(open_kv(&p, reg, "", NULL, 0), CSDK_EINVAL, NULL, "no provider name given; name one, e.g. 'local'");
	assert_failed(open_kv(&p, reg, NULL, NULL, 0), CSDK_EINVAL, NULL, "no provider name given; name one, e.g. 'local'");
	assert_failed(csdk_provider_open(NULL, "apitest", NULL), CSDK_EINVAL, NULL, "csdk_provider_open: out is NULL");
}
END_TEST

START_TEST(open_with_wrong_options_size)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	csdk_provider *p = (csdk_provider *)&p;

	opts.registry = reg;
	opts.struct_size = sizeof(opts) + 8;
	assert_failed(csdk_provider_open(&p, "apitest", &opts), CSDK_EINVAL, NULL,
		      t_fmt("csdk_provider_options has struct_size %zu, larger than this libcsdk's %zu: the program was built "
			    "against a newer csdk; install that libcsdk or rebuild the program", sizeof(opts) + 8, sizeof(opts)));
	ck_assert_ptr_null(p);
	opts.struct_size = 0;
	assert_failed(csdk_provider_open(&p, "apitest", &opts), CSDK_EINVAL, NULL,
		      t_fmt("csdk_provider_options has struct_size 0, smaller than the first release's %zu; "
			    "initialise it with CSDK_PROVIDER_OPTIONS_INIT", sizeof(opts)));
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(open_with_an_unknown_config_key)
{
	const struct csdk_kv kv[] = { { "api_key", KEY }, { "zone", "z1" } };
	csdk_provider *p = NULL;

	assert_failed(open_kv(&p, reg, "apitest", kv, N_OF(kv)), CSDK_ECONFIG, "apitest",
		      "unknown configuration key 'zone' for provider 'apitest'; known keys: api_key, region, wait, memory, verbose, retries");
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(open_with_a_key_given_twice)
{
	const struct csdk_kv kv[] = { { "region", "a" }, { "api_key", KEY }, { "region", "b" } };
	csdk_provider *p = NULL;

	assert_failed(open_kv(&p, reg, "apitest", kv, N_OF(kv)), CSDK_ECONFIG, "apitest",
		      "configuration key 'region' for provider 'apitest' is given twice; give it once");
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(open_with_an_entry_without_value)
{
	const struct csdk_kv kv[] = { { "api_key", KEY }, { "region", NULL } };
	csdk_provider *p = NULL;

	assert_failed(open_kv(&p, reg, "apitest", kv, N_OF(kv)), CSDK_EINVAL, "apitest",
		      "configuration entry 2 for provider 'apitest' has no key or no value; give KEY=VALUE");
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(open_without_the_required_key_names_key_and_variable)
{
	const struct csdk_kv kv[] = { { "region", "eu" } };
	csdk_provider *p = NULL;
	const char *msg = "missing required configuration key 'api_key' for provider 'apitest' (API key of the apitest backend); "
			  "set CSDK_APITEST_API_KEY or pass api_key=VALUE in the provider configuration";

	assert_failed(open_kv(&p, reg, "apitest", kv, N_OF(kv)), CSDK_ECONFIG, "apitest", msg);
	ck_assert_ptr_null(p);
	assert_failed(open_kv(&p, reg, "apitest", NULL, 0), CSDK_ECONFIG, "apitest", msg);
	/* An empty variable counts as unset. */
	setenv(APITEST_API_KEY_ENV, "", 1);
	assert_failed(open_kv(&p, reg, "apitest", NULL, 0), CSDK_ECONFIG, "apitest", msg);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(environment_fills_unset_keys)
{
	csdk_provider *p;

	setenv(APITEST_API_KEY_ENV, ENV_KEY, 1);
	setenv(APITEST_REGION_ENV, "us-east", 1);
	p = open_api(NULL, NULL);
	assert_no_error();
	ck_assert_pstr_eq(csdk_provider_config(p, "api_key"), ENV_KEY);
	ck_assert_pstr_eq(csdk_provider_config(p, "region"), "us-east");
	ck_assert_ptr_null(csdk_provider_config(p, "zone"));
	ck_assert_ptr_null(csdk_provider_config(p, NULL));
	ck_assert_ptr_null(csdk_provider_config(NULL, "api_key"));
	csdk_provider_close(p);
}
END_TEST

START_TEST(given_keys_beat_the_environment)
{
	csdk_provider *p;

	setenv(APITEST_API_KEY_ENV, ENV_KEY, 1);
	setenv(APITEST_REGION_ENV, "us-east", 1);
	p = open_api(KEY, NULL);
	ck_assert_pstr_eq(csdk_provider_config(p, "api_key"), KEY);
	ck_assert_pstr_eq(csdk_provider_config(p, "region"), "us-east");
	csdk_provider_close(p);

	p = open_api(NULL, "ap-south");
	ck_assert_pstr_eq(csdk_provider_config(p, "api_key"), ENV_KEY);
	ck_assert_pstr_eq(csdk_provider_config(p, "region"), "ap-south");
	csdk_provider_close(p);
}
END_TEST

START_TEST(unset_optional_key_has_no_value)
{
	csdk_provider *p = open_api(KEY, NULL);

	ck_assert_pstr_eq(csdk_provider_config(p, "api_key"), KEY);
	ck_assert_ptr_null(csdk_provider_config(p, "region"));
	csdk_provider_close(p);
}
END_TEST

START_TEST(provider_getters)
{
	csdk_provider *p = open_api(KEY, "eu");
	const csdk_plugin_info *info = csdk_provider_plugin(p);

	ck_assert_str_eq(csdk_provider_name(p), "apitest");
	ck_assert_uint_eq(csdk_provider_mode(p), CSDK_MODE_DIRECT);
	ck_assert_uint_eq(csdk_provider_capabilities(p), CSDK_CAP_EXEC);
	ck_assert_ptr_eq(info, csdk_registry_find(reg, "apitest"));
	ck_assert_str_eq(info->name, "apitest");
	ck_assert_str_eq(info->version, APITEST_VERSION);
	ck_assert_str_eq(info->path, t_fixture("api", "apitest"));
	ck_assert_uint_eq(info->n_config_keys, 6);
	ck_assert_str_eq(info->config_keys[0].key, "api_key");
	ck_assert_str_eq(info->config_keys[0].env, APITEST_API_KEY_ENV);
	ck_assert_uint_eq(info->config_keys[0].flags, CSDK_CONFIG_REQUIRED | CSDK_CONFIG_SECRET);
	ck_assert_str_eq(info->config_keys[1].key, "region");
	ck_assert_uint_eq(info->config_keys[1].flags, 0);
	csdk_provider_close(p);

	ck_assert_ptr_null(csdk_provider_name(NULL));
	ck_assert_uint_eq(csdk_provider_mode(NULL), 0);
	ck_assert_uint_eq(csdk_provider_capabilities(NULL), 0);
	ck_assert_ptr_null(csdk_provider_plugin(NULL));
	csdk_provider_close(NULL);
}
END_TEST

/* ------------------------------------------------------------- sandboxes */

START_TEST(create_gives_an_id)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *a = new_sandbox(p), *b = new_sandbox(p);
	csdk_result *r;

	assert_no_error();
	ck_assert_str_eq(csdk_sandbox_id(a), "apitest-1");
	ck_assert_str_eq(csdk_sandbox_id(b), "apitest-2");
	ck_assert_ptr_eq(csdk_sandbox_provider(a), p);
	/* each sandbox holds its own handle of the plugin's, which knows its id */
	r = run_ok(a, "whoami", NULL);
	ck_assert_str_eq(r->stdout_buf, "apitest-1");
	csdk_result_free(r);
	r = run_ok(b, "whoami", NULL);
	ck_assert_str_eq(r->stdout_buf, "apitest-2");
	csdk_result_free(r);
	ck_assert_int_eq(counter(a, APITEST_META_HANDLES), 2);
	ck_assert_ptr_null(csdk_sandbox_id(NULL));
	ck_assert_ptr_null(csdk_sandbox_provider(NULL));
	csdk_sandbox_free(a);
	csdk_sandbox_free(b);
	csdk_sandbox_free(NULL);
	csdk_provider_close(p);
}
END_TEST

START_TEST(create_reports_the_plugin_failure)
{
	csdk_create_options o = CSDK_CREATE_OPTIONS_INIT;
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = (csdk_sandbox *)&sb;

	o.image = APITEST_IMAGE_FAIL;
	assert_failed(csdk_sandbox_create(&sb, p, &o), CSDK_EBACKEND, "apitest",
		      "apitest cannot create a sandbox from image 'fail'; use another image");
	ck_assert_ptr_null(sb);
	csdk_provider_close(p);
}
END_TEST

/* The last error is one line: a plugin's message ends at its first newline, the host writes one in a value as \n. */
START_TEST(plugin_message_is_one_line)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	csdk_result *r = NULL;

	assert_failed(csdk_sandbox_run_command(&r, sb, "bogus\nsecond line", NULL), CSDK_EINVAL, "apitest",
		      "apitest: unknown command step 'bogus");
	assert_failed(csdk_sandbox_run_command(&r, sb, "bogus\r\nsecond line", NULL), CSDK_EINVAL, "apitest",
		      "apitest: unknown command step 'bogus");
	ck_assert_ptr_null(r);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	/* the host's own messages write a line break in a value as \n */
	assert_failed(csdk_provider_open(&p, "no\nsuch\r", NULL), CSDK_ENOTFOUND, "no\nsuch\r",
		      "unknown provider 'no\\nsuch\\r' (available: none); run 'csdk-plugins --paths' to see where plugins are searched");
}
END_TEST

/* The gateway slot carries a unix: or http(s):// URL, a token and headers; the host refuses other schemes and bad headers. */
START_TEST(gateway_endpoint_carries_url_token_and_headers)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	csdk_agent_endpoint *ep = NULL;
	csdk_provider *p = NULL;
	csdk_sandbox *sb = NULL;

	opts.registry = t_registry(t_fixture_dir("good"), 0);
	ck_assert_msg(csdk_provider_open(&p, "beta", &opts) == 0, "%s", csdk_error_last()->message);
	ck_assert_uint_eq(csdk_provider_mode(p), CSDK_MODE_GATEWAY);
	ck_assert_int_eq(csdk_sandbox_get(&sb, p, FIXTURE_PROBE_ID), 0);
	ck_assert_ptr_nonnull(sb);
	ck_assert_msg(csdk_sandbox_agent_endpoint(&ep, sb) == 0, "%s", csdk_error_last()->message);
	ck_assert_str_eq(ep->url, FIXTURE_AGENT_URL);
	ck_assert_str_eq(ep->token, FIXTURE_AGENT_TOKEN);
	ck_assert_uint_eq(ep->n_headers, 1);
	ck_assert_str_eq(ep->headers[0].key, FIXTURE_AGENT_HEADER);
	ck_assert_str_eq(ep->headers[0].value, FIXTURE_AGENT_HEADER_VALUE);
	csdk_agent_endpoint_free(ep);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	csdk_registry_free(opts.registry);
}
END_TEST

START_TEST(create_without_an_id_fails_and_releases_the_handle)
{
	csdk_create_options o = CSDK_CREATE_OPTIONS_INIT;
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = (csdk_sandbox *)&sb;

	o.image = APITEST_IMAGE_NOID;
	assert_failed(csdk_sandbox_create(&sb, p, &o), CSDK_EBACKEND, "apitest",
		      "provider 'apitest' returned a sandbox without an id from create; the plugin must call text_set on id_out");
	ck_assert_ptr_null(sb);
	sb = new_sandbox(p);
	ck_assert_int_eq(counter(sb, APITEST_META_HANDLES), 1);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(create_checks_its_options)
{
	csdk_create_options o = CSDK_CREATE_OPTIONS_INIT;
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = NULL;

	o.runtime = "ruby";
	assert_failed(csdk_sandbox_create(&sb, p, &o), CSDK_EINVAL, "apitest",
		      "runtime 'ruby' is not valid: it is not a known runtime; use python or node");
	o.runtime = "python";
	o.timeout_ms = -5;
	assert_failed(csdk_sandbox_create(&sb, p, &o), CSDK_EINVAL, "apitest",
		      "timeout -5 ms is not valid: it is negative; give milliseconds, or 0 for the default");
	o.timeout_ms = 0;
	o.struct_size = 8;
	assert_failed(csdk_sandbox_create(&sb, p, &o), CSDK_EINVAL, NULL,
		      t_fmt("csdk_create_options has struct_size 8, smaller than the first release's %zu; "
			    "initialise it with CSDK_CREATE_OPTIONS_INIT", sizeof(o)));
	ck_assert_ptr_null(sb);
	assert_failed(csdk_sandbox_create(&sb, NULL, NULL), CSDK_EINVAL, NULL, "csdk_sandbox_create: provider is NULL");
	assert_failed(csdk_sandbox_create(NULL, p, NULL), CSDK_EINVAL, NULL, "csdk_sandbox_create: out is NULL");
	csdk_provider_close(p);
}
END_TEST

START_TEST(get_of_an_unknown_id_is_null_without_error)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = (csdk_sandbox *)&sb;

	ck_assert_int_eq(csdk_sandbox_get(&sb, p, "apitest-99"), 0);
	ck_assert_ptr_null(sb);
	assert_no_error();
	assert_failed(csdk_sandbox_get(&sb, p, ""), CSDK_EINVAL, "apitest", "no sandbox id given; pass the id printed by create");
	assert_failed(csdk_sandbox_get(&sb, p, NULL), CSDK_EINVAL, "apitest", "no sandbox id given; pass the id printed by create");
	csdk_provider_close(p);
}
END_TEST

START_TEST(get_of_a_known_id_gives_a_new_handle)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *a = new_sandbox(p), *b = NULL;
	csdk_result *r;

	ck_assert_int_eq(csdk_sandbox_get(&b, p, "apitest-1"), 0);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	ck_assert_str_eq(csdk_sandbox_id(b), "apitest-1");
	r = run_ok(b, "whoami", NULL);
	ck_assert_str_eq(r->stdout_buf, "apitest-1");
	csdk_result_free(r);
	ck_assert_int_eq(counter(a, APITEST_META_HANDLES), 2);
	csdk_sandbox_free(b);
	ck_assert_int_eq(counter(a, APITEST_META_HANDLES), 1);
	csdk_sandbox_free(a);
	csdk_provider_close(p);
}
END_TEST

START_TEST(destroy_is_idempotent)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *a = new_sandbox(p), *b = new_sandbox(p), *g = (csdk_sandbox *)&g;

	ck_assert_int_eq(csdk_provider_destroy(p, "apitest-1"), 0);
	assert_no_error();
	ck_assert_int_eq(csdk_provider_destroy(p, "apitest-1"), 0);
	ck_assert_int_eq(csdk_provider_destroy(p, "no-such-sandbox"), 0);
	assert_no_error();
	ck_assert_int_eq(csdk_sandbox_get(&g, p, "apitest-1"), 0);
	ck_assert_ptr_null(g);
	ck_assert_int_eq(csdk_sandbox_destroy(b), 0);
	ck_assert_int_eq(csdk_sandbox_destroy(b), 0);
	ck_assert_int_eq(csdk_sandbox_destroy(a), 0);
	assert_no_error();
	assert_failed(csdk_provider_destroy(p, ""), CSDK_EINVAL, "apitest", "no sandbox id given; pass the id printed by create");
	assert_failed(csdk_sandbox_destroy(NULL), CSDK_EINVAL, NULL, "csdk_sandbox_destroy: sandbox is NULL");
	assert_failed(csdk_provider_destroy(NULL, "x"), CSDK_EINVAL, NULL, "csdk_provider_destroy: provider is NULL");
	csdk_sandbox_free(a);
	csdk_sandbox_free(b);
	csdk_provider_close(p);
}
END_TEST

START_TEST(list_holds_the_live_sandboxes)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *a = new_sandbox(p), *b = new_sandbox(p), *c = new_sandbox(p);
	csdk_sandbox_list *list = NULL;

	ck_assert_int_eq(csdk_sandbox_destroy(b), 0);
	ck_assert_int_eq(csdk_sandbox_list_all(&list, p), 0);
	ck_assert_ptr_nonnull(list);
	ck_assert_uint_eq(list->count, 2);
	ck_assert_str_eq(csdk_sandbox_id(list->sandboxes[0]), "apitest-1");
	ck_assert_str_eq(csdk_sandbox_id(list->sandboxes[1]), "apitest-3");
	ck_assert_ptr_eq(csdk_sandbox_provider(list->sandboxes[1]), p);
	ck_assert_int_eq(counter(a, APITEST_META_HANDLES), 5);
	csdk_sandbox_list_free(list);
	ck_assert_int_eq(counter(a, APITEST_META_HANDLES), 3);
	csdk_sandbox_list_free(NULL);

	ck_assert_int_eq(csdk_sandbox_destroy(a), 0);
	ck_assert_int_eq(csdk_sandbox_destroy(c), 0);
	ck_assert_int_eq(csdk_sandbox_list_all(&list, p), 0);
	ck_assert_uint_eq(list->count, 0);
	csdk_sandbox_list_free(list);
	csdk_sandbox_free(a);
	csdk_sandbox_free(b);
	csdk_sandbox_free(c);
	csdk_provider_close(p);
}
END_TEST

START_TEST(handles_keep_the_provider_alive)
{
	const char *file = t_fmt("%s/teardown", t_tmpdir());
	csdk_provider *p;
	csdk_sandbox *a, *b = NULL;
	csdk_result *r;

	setenv(APITEST_TEARDOWN_ENV, file, 1);
	p = open_api(KEY, "eu");
	a = new_sandbox(p);
	ck_assert_int_eq(csdk_sandbox_get(&b, p, "apitest-1"), 0);
	ck_assert_ptr_nonnull(b);
	csdk_provider_close(p);
	ck_assert_ptr_null(slurp(file));

	r = run_ok(a, "whoami", NULL);
	ck_assert_str_eq(r->stdout_buf, "apitest-1");
	csdk_result_free(r);
	csdk_sandbox_free(a);
	ck_assert_ptr_null(slurp(file));
	ck_assert_int_eq(counter(b, APITEST_META_HANDLES), 1);
	csdk_sandbox_free(b);
	ck_assert_pstr_eq(slurp(file), "teardown region=eu handles=0\n");
}
END_TEST

START_TEST(close_without_handles_tears_down_at_once)
{
	const char *file = t_fmt("%s/teardown", t_tmpdir());
	csdk_provider *p;

	setenv(APITEST_TEARDOWN_ENV, file, 1);
	p = open_api(KEY, NULL);
	csdk_sandbox_free(new_sandbox(p));
	ck_assert_ptr_null(slurp(file));
	csdk_provider_close(p);
	ck_assert_pstr_eq(slurp(file), "teardown region=- handles=0\n");
}
END_TEST

START_TEST(info_describes_the_sandbox)
{
	csdk_provider *p = open_api(KEY, "eu");
	csdk_sandbox *sb = new_sandbox(p);
	csdk_sandbox_info *info = NULL;

	ck_assert_int_eq(csdk_sandbox_get_info(&info, sb), 0);
	ck_assert_str_eq(info->id, "apitest-1");
	ck_assert_str_eq(info->provider, "apitest");
	ck_assert_int_eq(info->status, CSDK_STATUS_RUNNING);
	ck_assert_int_gt(info->created_ms, 0);
	ck_assert_int_eq(info->timeout_ms, APITEST_TIMEOUT_MS);
	ck_assert_pstr_eq(meta(info, "region"), "eu");
	csdk_sandbox_info_free(info);

	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	ck_assert_int_eq(csdk_sandbox_get_info(&info, sb), 0);
	ck_assert_int_eq(info->status, CSDK_STATUS_STOPPED);
	ck_assert_str_eq(csdk_status_name(info->status), "stopped");
	csdk_sandbox_info_free(info);
	csdk_sandbox_info_free(NULL);
	assert_failed(csdk_sandbox_get_info(&info, NULL), CSDK_EINVAL, NULL, "csdk_sandbox_get_info: sandbox is NULL");
	ck_assert_ptr_null(info);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

/* ---------------------------------------------------------- run_command */

struct capture {
	char log[512];
	size_t len;
	int calls;
	int cancel_at; /* the call that returns non-zero; 0 never */
};

static int capture(struct capture *c, char tag, const char *data, size_t len)
{
	ck_assert_uint_le(c->len + len + 3, sizeof(c->log));
	c->log[c->len++] = tag;
	memcpy(c->log + c->len, data, len);
	c->len += len;
	c->log[c->len++] = '|';
	return ++c->calls == c->cancel_at;
}

static int on_out(const char *data, size_t len, void *ud)
{
	return capture(ud, 'O', data, len);
}

static int on_err(const char *data, size_t len, void *ud)
{
	return capture(ud, 'E', data, len);
}

START_TEST(output_reaches_the_callbacks_in_order)
{
	static const char expected[] = "Ohel|Olo\0|Owor|Old|Eoop|Es|O!|";
	csdk_command_options o = CSDK_COMMAND_OPTIONS_INIT;
	struct capture cap = { .cancel_at = 0 };
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	csdk_result *r;

	o.on_stdout = on_out;
	o.on_stderr = on_err;
	o.userdata = &cap;
	r = run_ok(sb, "out:hello%00world;err:oops;out:!", &o);
	ck_assert_uint_eq(cap.len, sizeof(expected) - 1);
	ck_assert_mem_eq(cap.log, expected, sizeof(expected) - 1);
	ck_assert_uint_eq(r->stdout_len, 12);
	ck_assert_mem_eq(r->stdout_buf, "hello\0world!", 13);
	ck_assert_uint_eq(r->stderr_len, 4);
	ck_assert_str_eq(r->stderr_buf, "oops");
	ck_assert_int_eq(r->exit_code, 0);
	ck_assert_int_ge(r->duration_ms, 0);
	assert_no_error();
	csdk_result_free(r);
	csdk_result_free(NULL);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(result_holds_the_bytes_without_callbacks)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	csdk_result *r;

	r = run_ok(sb, "out:%00%01%ff;err:a%3Bb;exit:3", NULL);
	ck_assert_uint_eq(r->stdout_len, 3);
	ck_assert_mem_eq(r->stdout_buf, "\0\1\377", 4);
	ck_assert_str_eq(r->stderr_buf, "a;b");
	ck_assert_int_eq(r->exit_code, 3);
	csdk_result_free(r);

	r = run_ok(sb, "", NULL);
	ck_assert_uint_eq(r->stdout_len, 0);
	ck_assert_uint_eq(r->stderr_len, 0);
	ck_assert_int_eq(r->exit_code, 0);
	csdk_result_free(r);

	r = run_ok(sb, "exit:255", NULL);
	ck_assert_int_eq(r->exit_code, 255);
	csdk_result_free(r);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(callback_returning_nonzero_cancels)
{
	csdk_command_options o = CSDK_COMMAND_OPTIONS_INIT;
	struct capture cap = { .cancel_at = 2 };
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);

	o.on_stdout = on_out;
	o.on_stderr = on_err;
	o.userdata = &cap;
	run_fails(sb, "out:abcdefghi;err:never", &o, CSDK_ECANCELLED, "apitest", "command cancelled by the output callback");
	ck_assert_int_eq(cap.calls, 2);
	ck_assert_mem_eq(cap.log, "Oabc|Odef|", 10);

	/* A plugin that ignores the sink's answer is cancelled all the same, and heard no more. */
	memset(&cap, 0, sizeof(cap));
	cap.cancel_at = 1;
	run_fails(sb, "ignore-sink;out:abcdefghi;err:more", &o, CSDK_ECANCELLED, "apitest", "command cancelled by the output callback");
	ck_assert_int_eq(cap.calls, 1);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(background_with_a_callback_is_invalid)
{
	csdk_command_options o = CSDK_COMMAND_OPTIONS_INIT;
	struct capture cap = { .cancel_at = 0 };
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	csdk_result *r;
	const char *msg = "a background command cannot stream its output; drop the output callbacks or the background flag";

	o.background = 1;
	o.on_stderr = on_err;
	o.userdata = &cap;
	run_fails(sb, "show-opts", &o, CSDK_EINVAL, "apitest", msg);
	o.on_stderr = NULL;
	o.on_stdout = on_out;
	run_fails(sb, "show-opts", &o, CSDK_EINVAL, "apitest", msg);
	ck_assert_int_eq(cap.calls, 0);

	o.on_stdout = NULL;
	r = run_ok(sb, "show-opts", &o);
	ck_assert_str_eq(r->stdout_buf, "cwd=- timeout=0 background=1 envs=0");
	csdk_result_free(r);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(negative_timeout_is_invalid)
{
	csdk_command_options o = CSDK_COMMAND_OPTIONS_INIT;
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);

	o.timeout_ms = -1;
	run_fails(sb, "exit:0", &o, CSDK_EINVAL, "apitest", "timeout -1 ms is not valid: it is negative; give milliseconds, or 0 for the default");
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(command_options_reach_the_plugin)
{
	const struct csdk_kv envs[] = { { "A", "1" }, { "B", "two words" } };
	csdk_command_options o = CSDK_COMMAND_OPTIONS_INIT;
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	csdk_result *r;

	o.cwd = "/work/dir";
	o.envs = envs;
	o.n_envs = N_OF(envs);
	o.timeout_ms = 1500;
	r = run_ok(sb, "show-opts", &o);
	ck_assert_str_eq(r->stdout_buf, "cwd=/work/dir timeout=1500 background=0 envs=2 A=1 B=two words");
	csdk_result_free(r);

	o.envs = NULL;
	run_fails(sb, "show-opts", &o, CSDK_EINVAL, "apitest", "command options give 2 envs without the array; set the array or a count of 0");
	o = (csdk_command_options)CSDK_COMMAND_OPTIONS_INIT;
	o.struct_size = 7;
	run_fails(sb, "show-opts", &o, CSDK_EINVAL, NULL,
		  t_fmt("csdk_command_options has struct_size 7, smaller than the first release's %zu; "
			"initialise it with CSDK_COMMAND_OPTIONS_INIT", sizeof(o)));
	o = (csdk_command_options)CSDK_COMMAND_OPTIONS_INIT;
	o.runtime = "python";
	run_fails(sb, "show-opts", &o, CSDK_EINVAL, "apitest",
		  "a runtime is for code, not commands; leave runtime NULL or use csdk_sandbox_run_code");
	run_fails(sb, NULL, NULL, CSDK_EINVAL, "apitest", "no command given; pass a shell command string");
	run_fails(NULL, "exit:0", NULL, CSDK_EINVAL, NULL, "csdk_sandbox_run_command: sandbox is NULL");
	assert_failed(csdk_sandbox_run_command(NULL, sb, "exit:0", NULL), CSDK_EINVAL, NULL, "csdk_sandbox_run_command: out is NULL");
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(positive_status_is_an_invalid_status)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);

	run_fails(sb, "out:lost;garbage:5", NULL, CSDK_EBACKEND, "apitest",
		  "provider 'apitest' returned invalid status 5 from run_command; the plugin must return 0 or a negative CSDK_E* code");
	run_fails(sb, "garbage:-99", NULL, CSDK_EBACKEND, "apitest",
		  "provider 'apitest' returned invalid status -99 from run_command; the plugin must return 0 or a negative CSDK_E* code");
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(failure_without_a_message_names_the_method)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);

	run_fails(sb, "nomsg:-12", NULL, CSDK_EBACKEND, "apitest", "provider 'apitest' failed in run_command: backend failure");
	run_fails(sb, "out:x;nomsg:-9", NULL, CSDK_EIO, "apitest", "provider 'apitest' failed in run_command: I/O error");
	run_fails(sb, "nomsg:-1", NULL, CSDK_ERROR, "apitest", "provider 'apitest' failed in run_command: failure");
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(plugin_message_and_code_are_kept)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	csdk_result *r;

	run_fails(sb, "fail:-9", NULL, CSDK_EIO, "apitest", "apitest failed on purpose with code -9 in apitest-1");
	/* host->error turns a code that is not a CSDK_E* into CSDK_EBACKEND. */
	run_fails(sb, "fail:7", NULL, CSDK_EBACKEND, "apitest", "apitest failed on purpose with code 7 in apitest-1");
	/* The next call starts with a clean error. */
	r = run_ok(sb, "exit:0", NULL);
	assert_no_error();
	csdk_result_free(r);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(exit_code_outside_0_to_255_is_a_backend_error)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);

	run_fails(sb, "exit:256", NULL, CSDK_EBACKEND, "apitest",
		  "provider 'apitest' returned exit code 256 from run_command; exit codes are 0 to 255");
	run_fails(sb, "out:x;exit:-1", NULL, CSDK_EBACKEND, "apitest",
		  "provider 'apitest' returned exit code -1 from run_command; exit codes are 0 to 255");
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

/* -------------------------------------------------------------- run_code */

static const struct {
	const char *code;
	const char *runtime;
} detections[] = {
	{ "print(1)", "python" },
	{ "import os", "python" },
	{ "def f(): pass", "python" },
	{ "x = sys.argv", "python" },
	{ "json.dumps({})", "python" },
	{ "if __name__ == '__main__': main()", "python" },
	{ "x = 1; __", "python" },
	{ "v = f\"{x}\"", "python" },
	{ "v = f'{x}'", "python" },
	{ "raise ValueError", "python" },
	{ "console.log(1)", "node" },
	{ "", "node" },
	{ "printf(1)", "node" },
	{ "imports", "node" },
	{ "const defined = 1", "node" },
	{ "throw new Error('raise')", "node" },
	{ "x = f(\"a\")", "node" },
};

START_TEST(detect_runtime_table)
{
	ck_assert_msg(!strcmp(csdk_detect_runtime(detections[_i].code), detections[_i].runtime), "csdk_detect_runtime(%s) is %s, expected %s",
		      detections[_i].code, csdk_detect_runtime(detections[_i].code), detections[_i].runtime);
}
END_TEST

START_TEST(detect_runtime_of_null_is_node)
{
	ck_assert_str_eq(csdk_detect_runtime(NULL), "node");
}
END_TEST

START_TEST(run_code_detects_or_takes_the_runtime)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	csdk_result *r = NULL;

	ck_assert_int_eq(csdk_sandbox_run_code(&r, sb, "print(1)", NULL), 0);
	ck_assert_str_eq(r->stdout_buf, "python:print(1)");
	ck_assert_int_eq(r->exit_code, 0);
	csdk_result_free(r);
	ck_assert_int_eq(csdk_sandbox_run_code(&r, sb, "console.log(1)", NULL), 0);
	ck_assert_str_eq(r->stdout_buf, "node:console.log(1)");
	csdk_result_free(r);
	ck_assert_int_eq(run_code_rt(&r, sb, "print(1)", "node"), 0);
	ck_assert_str_eq(r->stdout_buf, "node:print(1)");
	csdk_result_free(r);
	ck_assert_int_eq(run_code_rt(&r, sb, "script:err:boom;exit:1", "python"), 0);
	ck_assert_str_eq(r->stdout_buf, "python:");
	ck_assert_str_eq(r->stderr_buf, "boom");
	ck_assert_int_eq(r->exit_code, 1);
	csdk_result_free(r);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(run_code_failures)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	csdk_result *r = (csdk_result *)&r;

	assert_failed(run_code_rt(&r, sb, "print(1)", "ruby"), CSDK_EINVAL, "apitest", "runtime 'ruby' is not valid: it is not a known runtime; use python or node");
	ck_assert_ptr_null(r);
	assert_failed(run_code_rt(&r, sb, "x", ""), CSDK_EINVAL, "apitest", "runtime '' is not valid: it is not a known runtime; use python or node");
	assert_failed(csdk_sandbox_run_code(&r, sb, NULL, NULL), CSDK_EINVAL, "apitest", "no code given");
	assert_failed(run_code_rt(&r, sb, APITEST_CODE_SYNTAX, "python"), CSDK_ESYNTAX, "apitest",
		      "python: SyntaxError: invalid syntax (line 1)");
	ck_assert_ptr_null(r);
	assert_failed(run_code_rt(&r, sb, "script:exit:300", "node"), CSDK_EBACKEND, "apitest",
		      "provider 'apitest' returned exit code 300 from run_code; exit codes are 0 to 255");
	ck_assert_ptr_null(r);
	assert_failed(run_code_rt(&r, sb, "script:nomsg:-10", "node"), CSDK_ETIMEOUT, "apitest",
		      "provider 'apitest' failed in run_code: timed out");
	assert_failed(run_code_rt(&r, sb, "script:garbage:3", "node"), CSDK_EBACKEND, "apitest",
		      "provider 'apitest' returned invalid status 3 from run_code; the plugin must return 0 or a negative CSDK_E* code");
	assert_failed(csdk_sandbox_run_code(&r, NULL, "x", NULL), CSDK_EINVAL, NULL, "csdk_sandbox_run_code: sandbox is NULL");
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

/* --------------------------------------------------------------- get_url */

START_TEST(url_of_a_port)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	char *url = NULL;

	ck_assert_int_eq(csdk_sandbox_get_url(&url, sb, 8080, NULL), 0);
	ck_assert_str_eq(url, "https://8080-apitest-1.apitest.example");
	csdk_free(url);
	ck_assert_int_eq(csdk_sandbox_get_url(&url, sb, 1, "wss"), 0);
	ck_assert_str_eq(url, "wss://1-apitest-1.apitest.example");
	csdk_free(url);
	ck_assert_int_eq(csdk_sandbox_get_url(&url, sb, 65535, "git+ssh"), 0);
	ck_assert_str_eq(url, "git+ssh://65535-apitest-1.apitest.example");
	csdk_free(url);
	csdk_free(NULL);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(url_of_a_bad_port_or_protocol)
{
	static const int ports[] = { 0, 65536, -1, 100000 };
	static const char *const protocols[] = { "", "ht tp", "http://", "HTTP", "h/s" };
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	char *url = (char *)&url;

	for (size_t i = 0; i < N_OF(ports); i++) {
		assert_failed(csdk_sandbox_get_url(&url, sb, ports[i], NULL), CSDK_EINVAL, "apitest",
			      t_fmt("port %d is not valid: it is out of range; use 1 to 65535", ports[i]));
		ck_assert_ptr_null(url);
	}
	for (size_t i = 0; i < N_OF(protocols); i++)
		assert_failed(csdk_sandbox_get_url(&url, sb, 80, protocols[i]), CSDK_EINVAL, "apitest",
			      t_fmt("protocol '%s' is not valid: it is not a URL scheme; use a URL scheme such as http, https, ws or wss", protocols[i]));
	assert_failed(csdk_sandbox_get_url(&url, sb, APITEST_PORT_NO_URL, NULL), CSDK_EBACKEND, "apitest",
		      "provider 'apitest' returned no URL from get_url");
	ck_assert_ptr_null(url);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

/* RFC 3986: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
START_TEST(url_scheme_starts_with_a_letter)
{
	static const char *const protocols[] = { "1http", "+ssh", "-", ".", "9" };
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	char *url = NULL;

	for (size_t i = 0; i < N_OF(protocols); i++) {
		int rc = csdk_sandbox_get_url(&url, sb, 80, protocols[i]);

		ck_assert_msg(rc == CSDK_EINVAL, "protocol '%s' was accepted (%d, %s)", protocols[i], rc, url ? url : "no URL");
		ck_assert_str_eq(csdk_error_last()->message,
				 t_fmt("protocol '%s' is not valid: it is not a URL scheme; use a URL scheme such as http, https, ws or wss", protocols[i]));
	}
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

/* ---------------------------------------------------- unsupported groups */

START_TEST(filesystem_is_unsupported)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	char *data = (char *)&data;
	size_t len = 99;
	int exists = 1;
	csdk_dir_list *dir = (csdk_dir_list *)&dir;

	assert_failed(csdk_fs_read(&data, &len, sb, "/a"), CSDK_EUNSUPPORTED, "apitest", FS_UNSUPPORTED);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(len, 0);
	assert_failed(csdk_fs_write(sb, "/a", "x", 1), CSDK_EUNSUPPORTED, "apitest", FS_UNSUPPORTED);
	assert_failed(csdk_fs_mkdir(sb, "/d"), CSDK_EUNSUPPORTED, "apitest", FS_UNSUPPORTED);
	assert_failed(csdk_fs_exists(&exists, sb, "/a"), CSDK_EUNSUPPORTED, "apitest", FS_UNSUPPORTED);
	ck_assert_int_eq(exists, 0);
	assert_failed(csdk_fs_remove(sb, "/a"), CSDK_EUNSUPPORTED, "apitest", FS_UNSUPPORTED);
	assert_failed(csdk_fs_readdir(&dir, sb, "/"), CSDK_EUNSUPPORTED, "apitest", FS_UNSUPPORTED);
	ck_assert_ptr_null(dir);
	/* The capability is checked before the arguments. */
	assert_failed(csdk_fs_mkdir(sb, NULL), CSDK_EUNSUPPORTED, "apitest", FS_UNSUPPORTED);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(named_sandboxes_are_unsupported)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p), *out = (csdk_sandbox *)&out;

	assert_failed(csdk_sandbox_find_or_create(&out, p, NULL, "web", NULL), CSDK_EUNSUPPORTED, "apitest",
		      "Provider 'apitest' does not support named sandboxes (find_or_create); this needs a provider with named sandbox support.");
	ck_assert_ptr_null(out);
	out = (csdk_sandbox *)&out;
	assert_failed(csdk_sandbox_find(&out, p, "team", "web"), CSDK_EUNSUPPORTED, "apitest",
		      "Provider 'apitest' does not support named sandboxes (find); this needs a provider with named sandbox support.");
	ck_assert_ptr_null(out);
	assert_failed(csdk_sandbox_extend_timeout(sb, 0), CSDK_EUNSUPPORTED, "apitest",
		      "Provider 'apitest' does not support timeout extension (extend_timeout); this needs a provider with timeout extension support.");
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(templates_and_snapshots_are_unsupported)
{
	csdk_template_options to = CSDK_TEMPLATE_OPTIONS_INIT;
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	char *id = (char *)&id;
	csdk_item_list *items = (csdk_item_list *)&items;
	const char *templates = "Provider 'apitest' does not support templates.";
	const char *snapshots = "Provider 'apitest' does not support snapshots.";

	assert_failed(csdk_template_create(&id, p, &to), CSDK_EUNSUPPORTED, "apitest", templates);
	ck_assert_ptr_null(id);
	assert_failed(csdk_template_list(&items, p), CSDK_EUNSUPPORTED, "apitest", templates);
	ck_assert_ptr_null(items);
	assert_failed(csdk_template_delete(p, "t1"), CSDK_EUNSUPPORTED, "apitest", templates);
	id = (char *)&id;
	assert_failed(csdk_snapshot_create(&id, sb, "snap"), CSDK_EUNSUPPORTED, "apitest", snapshots);
	ck_assert_ptr_null(id);
	items = (csdk_item_list *)&items;
	assert_failed(csdk_snapshot_list(&items, p), CSDK_EUNSUPPORTED, "apitest", snapshots);
	ck_assert_ptr_null(items);
	assert_failed(csdk_snapshot_delete(p, "s1"), CSDK_EUNSUPPORTED, "apitest", snapshots);
	{
		/* not a plain sandbox made in place of the one asked for */
		csdk_create_options o = CSDK_CREATE_OPTIONS_INIT;
		csdk_sandbox *made = (csdk_sandbox *)&made;

		o.template_id = "t1";
		assert_failed(csdk_sandbox_create(&made, p, &o), CSDK_EUNSUPPORTED, "apitest", templates);
		ck_assert_ptr_null(made);
		o.template_id = NULL;
		o.snapshot_id = "s1";
		assert_failed(csdk_sandbox_create(&made, p, &o), CSDK_EUNSUPPORTED, "apitest", snapshots);
		ck_assert_ptr_null(made);
	}
	csdk_item_list_free(NULL);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

/* --------------------------------------------------------------- secrets */

struct logged {
	enum csdk_log_level level;
	char provider[32];
	char message[256];
};

static struct logged logged[16];
static size_t n_logged;

static void collect_log(enum csdk_log_level level, const char *provider, const char *message, void *userdata)
{
	struct logged *l;

	*(int *)userdata += 1;
	if (n_logged == N_OF(logged))
		return;
	l = &logged[n_logged++];
	l->level = level;
	snprintf(l->provider, sizeof(l->provider), "%s", provider ? provider : "(null)");
	snprintf(l->message, sizeof(l->message), "%s", message);
}

START_TEST(plugin_error_hides_the_secret)
{
	csdk_provider *p = open_api(KEY, "eu-west");
	csdk_sandbox *sb = new_sandbox(p);

	run_fails(sb, "echo-secret", NULL, CSDK_EBACKEND, "apitest",
		  "apitest backend refused key *** (key ***, region eu-west); check the key");
	ck_assert_ptr_null(strstr(csdk_error_last()->message, "SECRET"));
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(secret_from_the_environment_is_hidden_too)
{
	csdk_provider *p;
	csdk_sandbox *sb;

	setenv(APITEST_API_KEY_ENV, ENV_KEY, 1);
	p = open_api(NULL, NULL);
	sb = new_sandbox(p);
	run_fails(sb, "echo-secret", NULL, CSDK_EBACKEND, "apitest", "apitest backend refused key *** (key ***, region -); check the key");
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(plugin_log_hides_the_secret)
{
	csdk_provider *p = open_api(KEY, "eu-west");
	csdk_sandbox *sb = new_sandbox(p);
	csdk_result *r;
	int calls = 0;

	n_logged = 0;
	csdk_set_log_handler(collect_log, &calls);
	r = run_ok(sb, "log-secret", NULL);
	csdk_result_free(r);
	csdk_set_log_handler(NULL, NULL);
	ck_assert_int_eq(calls, 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(logged[i].level, CSDK_LOG_DEBUG + i);
		ck_assert_str_eq(logged[i].provider, "apitest");
		ck_assert_str_eq(logged[i].message, t_fmt("level %d: calling the backend with key *** in eu-west", CSDK_LOG_DEBUG + i));
	}
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(init_error_hides_the_secret)
{
	const struct csdk_kv kv[] = { { "api_key", APITEST_BAD_KEY_PREFIX "SECRET-99" } };
	csdk_provider *p = (csdk_provider *)&p;

	assert_failed(open_kv(&p, reg, "apitest", kv, N_OF(kv)), CSDK_ECONFIG, "apitest",
		      "api_key *** is not valid for apitest; keys start with sk-");
	ck_assert_ptr_null(p);
}
END_TEST

/*
 * A secret that is a piece of its own mask ("*", "**", "***") must still be
 * hidden, and hiding it must end. Run in a child with an alarm, so that a
 * scrubber that never ends fails the test instead of hanging the suite
 * (Check's timeout does not apply with CK_FORK=no).
 */
START_TEST(secret_made_of_asterisks_is_hidden_and_ends)
{
	static const char *const keys[] = { "*", "**", "***" };
	const char *expected = "-12 apitest backend refused key *** (key ***, region -); check the key";

	for (size_t i = 0; i < N_OF(keys); i++) {
		csdk_provider *p = open_api(keys[i], NULL);
		csdk_sandbox *sb = new_sandbox(p);
		char got[512];
		ssize_t n, len = 0;
		int fd[2], status;
		pid_t pid;

		ck_assert_int_eq(pipe(fd), 0);
		fflush(NULL);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			csdk_result *r = NULL;
			char msg[512];
			int rc, mlen;

			close(fd[0]);
			/* Check's own SIGALRM handler would kill the whole process group. */
			signal(SIGALRM, SIG_DFL);
			alarm(5);
			rc = csdk_sandbox_run_command(&r, sb, "echo-secret", NULL);
			mlen = snprintf(msg, sizeof(msg), "%d %s", rc, csdk_error_last()->message);
			if (write(fd[1], msg, (size_t)mlen) != mlen)
				_exit(2);
			_exit(0);
		}
		close(fd[1]);
		while (len < (ssize_t)sizeof(got) - 1 && (n = read(fd[0], got + len, sizeof(got) - 1 - (size_t)len)) > 0)
			len += n;
		got[len] = '\0';
		close(fd[0]);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(!WIFSIGNALED(status), "scrubbing the secret '%s' %s", keys[i],
			      WTERMSIG(status) == SIGALRM ? "did not end within 5 s" : "crashed");
		ck_assert_str_eq(got, expected);
		csdk_sandbox_free(sb);
		csdk_provider_close(p);
	}
}
END_TEST

/* --------------------------------------------------------------- threads */

#define N_THREADS 8
#define N_CALLS 40

struct worker {
	csdk_sandbox *sb;
	const char *script;
	int index;
	int calls;
	int failures;
	char first_failure[256];
};

static void worker_fail(struct worker *w, const char *what, int rc)
{
	if (w->failures++ == 0)
		snprintf(w->first_failure, sizeof(w->first_failure), "thread %d: %s: %d: %s", w->index, what, rc, csdk_error_last()->message);
}

static void *hammer(void *arg)
{
	struct worker *w = arg;
	char expected[64], command[64], want_error[128];

	snprintf(expected, sizeof(expected), "t%d", w->index);
	snprintf(command, sizeof(command), "out:t%d;usleep:200", w->index);
	snprintf(want_error, sizeof(want_error), "apitest failed on purpose with code -9 in %s", csdk_sandbox_id(w->sb));
	for (int k = 0; k < N_CALLS; k++) {
		csdk_result *r = NULL;
		csdk_sandbox_info *info = NULL;
		int rc = csdk_sandbox_run_command(&r, w->sb, command, NULL);

		w->calls++;
		if (rc || strcmp(r->stdout_buf, expected) || csdk_error_last()->code)
			worker_fail(w, "run_command", rc);
		csdk_result_free(r);
		if (k % 4 == 0) {
			rc = csdk_sandbox_run_command(&r, w->sb, "usleep:100;fail:-9", NULL);
			w->calls++;
			if (rc != CSDK_EIO || r || strcmp(csdk_error_last()->message, want_error))
				worker_fail(w, "failing run_command", rc);
			rc = csdk_sandbox_get_info(&info, w->sb);
			w->calls++;
			if (rc || strcmp(info->id, csdk_sandbox_id(w->sb)))
				worker_fail(w, "get_info", rc);
			csdk_sandbox_info_free(info);
		}
	}
	return NULL;
}

/* Scripts that sleep inside the plugin: calls that may overlap will. */
static void *sleeper(void *arg)
{
	struct worker *w = arg;

	for (int k = 0; k < 10; k++) {
		csdk_result *r = NULL;
		int rc = csdk_sandbox_run_command(&r, w->sb, w->script, NULL);

		w->calls++;
		if (rc)
			worker_fail(w, "run_command", rc);
		csdk_result_free(r);
	}
	return NULL;
}

/* Creates whose plugin forgets the id: the host must release the handle under the call lock. */
static void *noid_creator(void *arg)
{
	struct worker *w = arg;
	csdk_create_options o = CSDK_CREATE_OPTIONS_INIT;
	csdk_provider *p = csdk_sandbox_provider(w->sb);

	o.image = APITEST_IMAGE_NOID;
	for (int k = 0; k < 10; k++) {
		csdk_sandbox *sb = NULL;
		int rc = csdk_sandbox_create(&sb, p, &o);

		w->calls++;
		if (rc != CSDK_EBACKEND || sb)
			worker_fail(w, "create without id", rc);
		csdk_sandbox_free(sb);
	}
	return NULL;
}

static void *mixed(void *arg)
{
	struct worker *w = arg;

	return w->script ? sleeper(arg) : noid_creator(arg);
}

static void run_workers(struct worker *w, int n, void *(*fn)(void *))
{
	pthread_t t[N_THREADS];

	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, fn, &w[i]), 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < n; i++)
		ck_assert_msg(w[i].failures == 0, "%d failures, the first: %s", w[i].failures, w[i].first_failure);
}

START_TEST(threads_never_overlap_inside_a_plugin_that_is_not_thread_safe)
{
	csdk_provider *p = open_api(KEY, NULL);
	struct worker w[N_THREADS];
	long entries, overlaps, calls = 0;

	memset(w, 0, sizeof(w));
	for (int i = 0; i < N_THREADS; i++) {
		w[i].sb = new_sandbox(p);
		w[i].index = i;
	}
	entries = counter(w[0].sb, APITEST_META_ENTRIES);
	overlaps = counter(w[0].sb, APITEST_META_OVERLAPS);
	run_workers(w, N_THREADS, hammer);
	for (int i = 0; i < N_THREADS; i++)
		calls += w[i].calls;
	ck_assert_int_eq(calls, N_THREADS * (N_CALLS + 2 * (N_CALLS / 4)));
	/* Every call entered the plugin once, the second get_info included. */
	ck_assert_int_eq(counter(w[0].sb, APITEST_META_ENTRIES) - entries, calls + 2);
	ck_assert_int_eq(counter(w[0].sb, APITEST_META_OVERLAPS) - overlaps, 0);
	for (int i = 0; i < N_THREADS; i++)
		csdk_sandbox_free(w[i].sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(release_after_a_failed_create_is_serialised)
{
	csdk_provider *p = open_api(KEY, NULL);
	struct worker w[N_THREADS];
	long overlaps;

	memset(w, 0, sizeof(w));
	for (int i = 0; i < N_THREADS; i++) {
		w[i].sb = new_sandbox(p);
		w[i].index = i;
		w[i].script = i % 2 ? "usleep:300" : NULL;
	}
	overlaps = counter(w[0].sb, APITEST_META_OVERLAPS);
	run_workers(w, N_THREADS, mixed);
	ck_assert_int_eq(counter(w[0].sb, APITEST_META_OVERLAPS) - overlaps, 0);
	ck_assert_int_eq(counter(w[0].sb, APITEST_META_HANDLES), N_THREADS);
	for (int i = 0; i < N_THREADS; i++)
		csdk_sandbox_free(w[i].sb);
	csdk_provider_close(p);
}
END_TEST

/*
 * The control: the host serialises per opened provider, so two providers of
 * the same plugin do run side by side, and the fixture does see it.
 */
START_TEST(two_providers_of_one_plugin_run_side_by_side)
{
	csdk_provider *p[2] = { open_api(KEY, "one"), open_api(KEY, "two") };
	struct worker w[2];
	long overlaps;

	memset(w, 0, sizeof(w));
	for (int i = 0; i < 2; i++) {
		w[i].sb = new_sandbox(p[i]);
		w[i].index = i;
		w[i].script = "sleep:5";
	}
	overlaps = counter(w[0].sb, APITEST_META_OVERLAPS);
	run_workers(w, 2, sleeper);
	ck_assert_int_gt(counter(w[0].sb, APITEST_META_OVERLAPS) - overlaps, 0);
	for (int i = 0; i < 2; i++) {
		csdk_sandbox_free(w[i].sb);
		csdk_provider_close(p[i]);
	}
}
END_TEST

/* ------------------------------------------------------------ ABI 2.0 */

#define THIRTY_DAYS_MS (INT64_C(30) * 24 * 3600 * 1000)
#define NAME_FIX "use letters, digits, '.', '_' and '-', starting with a letter or digit"

/* An options struct as a program built against a newer libcsdk sees it: bigger, its tail set. */
struct newer_create_options {
	csdk_create_options base;
	uint64_t appended[2];
};

START_TEST(options_struct_size_is_checked)
{
	struct newer_create_options newer = { CSDK_CREATE_OPTIONS_INIT, { 7, 7 } };
	csdk_create_options o = CSDK_CREATE_OPTIONS_INIT;
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *first = NULL, *sb = (csdk_sandbox *)&sb;
	long entries;

	/* the current size is accepted, and the plugin gets its own request size */
	o.image = "img";
	ck_assert_int_eq(csdk_sandbox_create(&first, p, &o), 0);
	assert_no_error();
	expect_stdout(first, "show-create", "size=ok name=-/- timeout=0 runtime=- image=img envs=0 metadata=0 extended=0");
	entries = counter(first, APITEST_META_ENTRIES);

	/* smaller than 2.0's */
	o.struct_size = sizeof(o) - 8;
	assert_failed(csdk_sandbox_create(&sb, p, &o), CSDK_EINVAL, NULL,
		      t_fmt("csdk_create_options has struct_size %zu, smaller than the first release's %zu; "
			    "initialise it with CSDK_CREATE_OPTIONS_INIT", sizeof(o) - 8, sizeof(o)));
	ck_assert_ptr_null(sb);
	/* larger than this library's */
	newer.base.struct_size = sizeof(newer);
	assert_failed(csdk_sandbox_create(&sb, p, &newer.base), CSDK_EINVAL, NULL,
		      t_fmt("csdk_create_options has struct_size %zu, larger than this libcsdk's %zu: the program was built "
			    "against a newer csdk; install that libcsdk or rebuild the program", sizeof(newer), sizeof(o)));
	ck_assert_ptr_null(sb);
	assert_failed(csdk_sandbox_find_or_create(&sb, p, NULL, "web", &newer.base), CSDK_EUNSUPPORTED, "apitest",
		      "Provider 'apitest' does not support named sandboxes (find_or_create); this needs a provider with named sandbox support.");

	/* none of them reached the plugin: only the counter's own get_info did */
	ck_assert_int_eq(counter(first, APITEST_META_ENTRIES), entries + 1);
	csdk_sandbox_free(first);
	csdk_provider_close(p);
}
END_TEST

START_TEST(every_options_struct_refuses_a_wrong_size)
{
	csdk_registry_options ro = CSDK_REGISTRY_OPTIONS_INIT;
	csdk_compute_options co = CSDK_COMPUTE_OPTIONS_INIT;
	csdk_template_options to = CSDK_TEMPLATE_OPTIONS_INIT;
	csdk_registry *r = (csdk_registry *)&r;
	csdk_compute *c = (csdk_compute *)&c;
	csdk_provider *p = open_api(KEY, NULL);
	char *id = NULL;

	ro.struct_size = sizeof(ro) + 4;
	assert_failed(csdk_registry_new(&r, &ro), CSDK_EINVAL, NULL,
		      t_fmt("csdk_registry_options has struct_size %zu, larger than this libcsdk's %zu: the program was built "
			    "against a newer csdk; install that libcsdk or rebuild the program", sizeof(ro) + 4, sizeof(ro)));
	ro.struct_size = 4;
	assert_failed(csdk_registry_new(&r, &ro), CSDK_EINVAL, NULL,
		      t_fmt("csdk_registry_options has struct_size 4, smaller than the first release's %zu; "
			    "initialise it with CSDK_REGISTRY_OPTIONS_INIT", sizeof(ro)));
	co.struct_size = 0;
	assert_failed(csdk_compute_new(&c, &co), CSDK_EINVAL, NULL,
		      t_fmt("csdk_compute_options has struct_size 0, smaller than the first release's %zu; "
			    "initialise it with CSDK_COMPUTE_OPTIONS_INIT", sizeof(co)));
	/* the capability comes first: apitest has no templates, whatever the options */
	to.struct_size = sizeof(to) * 2;
	to.name = "t";
	assert_failed(csdk_template_create(&id, p, &to), CSDK_EUNSUPPORTED, "apitest",
		      "Provider 'apitest' does not support templates.");
	ck_assert_ptr_null(id);
	csdk_provider_close(p);
}
END_TEST

/* A value the host rules refuse fails with the one message format before the plugin is called. */
START_TEST(host_rules_refuse_before_the_plugin_is_called)
{
	csdk_create_options o = CSDK_CREATE_OPTIONS_INIT;
	csdk_command_options co = CSDK_COMMAND_OPTIONS_INIT;
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p), *out = (csdk_sandbox *)&out;
	csdk_result *r = (csdk_result *)&r;
	char *url = (char *)&url;
	char long_name[65];
	long entries = counter(sb, APITEST_META_ENTRIES);

	o.name = "my sandbox";
	assert_failed(csdk_sandbox_create(&out, p, &o), CSDK_EINVAL, "apitest",
		      "sandbox name 'my sandbox' is not valid: it holds a character other than a letter, digit, '.', '_' or '-'; " NAME_FIX);
	o.name = "web";
	o.namespace_ = "-team";
	assert_failed(csdk_sandbox_create(&out, p, &o), CSDK_EINVAL, "apitest",
		      "namespace '-team' is not valid: it does not start with a letter or digit; " NAME_FIX);
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	o.namespace_ = NULL;
	o.name = long_name;
	assert_failed(csdk_sandbox_create(&out, p, &o), CSDK_EINVAL, "apitest",
		      "sandbox name 'aaaaaaaaaaaaaaaaaaaa...' is not valid: it is 64 bytes long; use at most 63");
	o.name = "";
	assert_failed(csdk_sandbox_create(&out, p, &o), CSDK_EINVAL, "apitest",
		      "sandbox name '' is not valid: it is empty; " NAME_FIX);
	o.name = NULL;
	o.timeout_ms = THIRTY_DAYS_MS + 1;
	assert_failed(csdk_sandbox_create(&out, p, &o), CSDK_EINVAL, "apitest",
		      "timeout 2592000001 ms is not valid: it is longer than 30 days; give at most 2592000000 ms");
	ck_assert_ptr_null(out);

	co.timeout_ms = THIRTY_DAYS_MS + 1;
	assert_failed(csdk_sandbox_run_command(&r, sb, "exit:0", &co), CSDK_EINVAL, "apitest",
		      "timeout 2592000001 ms is not valid: it is longer than 30 days; give at most 2592000000 ms");
	ck_assert_ptr_null(r);
	r = (csdk_result *)&r;
	assert_failed(csdk_sandbox_run_code(&r, sb, "print(1)", &co), CSDK_EINVAL, "apitest",
		      "timeout 2592000001 ms is not valid: it is longer than 30 days; give at most 2592000000 ms");
	ck_assert_ptr_null(r);
	co.timeout_ms = 0;
	co.runtime = "ruby";
	assert_failed(csdk_sandbox_run_code(&r, sb, "print(1)", &co), CSDK_EINVAL, "apitest",
		      "runtime 'ruby' is not valid: it is not a known runtime; use python or node");

	assert_failed(csdk_sandbox_get_url(&url, sb, 0, NULL), CSDK_EINVAL, "apitest",
		      "port 0 is not valid: it is out of range; use 1 to 65535");
	ck_assert_ptr_null(url);
	assert_failed(csdk_sandbox_get_url(&url, sb, 65536, "http"), CSDK_EINVAL, "apitest",
		      "port 65536 is not valid: it is out of range; use 1 to 65535");
	assert_failed(csdk_sandbox_get_url(&url, sb, 8080, "1x"), CSDK_EINVAL, "apitest",
		      "protocol '1x' is not valid: it is not a URL scheme; use a URL scheme such as http, https, ws or wss");
	ck_assert_ptr_null(url);

	/* the plugin saw none of it: the one entry more is counter's get_info */
	ck_assert_int_eq(counter(sb, APITEST_META_ENTRIES), entries + 1);
	/* the bounds themselves are valid */
	o.timeout_ms = THIRTY_DAYS_MS;
	o.name = long_name + 1;
	ck_assert_int_eq(csdk_sandbox_create(&out, p, &o), 0);
	expect_stdout(out, "show-create", "size=ok name=-/- timeout=2592000000 runtime=- image=- envs=0 metadata=0 extended=0");
	csdk_sandbox_free(out);
	ck_assert_int_eq(csdk_sandbox_get_url(&url, sb, 65535, "git+ssh"), 0);
	ck_assert_str_eq(url, "git+ssh://65535-apitest-1.apitest.example");
	csdk_free(url);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

static csdk_registry *named_registry(void)
{
	return t_registry(t_fixture_dir("apinamed"), CSDK_REGISTRY_NO_ENV);
}

static csdk_provider *open_named(csdk_registry *r)
{
	const struct csdk_kv kv[] = { { "api_key", KEY } };
	csdk_provider *p = NULL;
	int rc = open_kv(&p, r, "apinamed", kv, N_OF(kv));

	ck_assert_msg(rc == 0, "csdk_provider_open(apinamed) returned %d: %s", rc, csdk_error_last()->message);
	return p;
}

/* A plugin's own operations go through the 2.1 extension slot; a plugin without one is told apart. */
START_TEST(extension_reaches_the_plugin)
{
	csdk_registry *r = named_registry();
	csdk_provider *named = open_named(r);
	csdk_provider *plain = open_api(KEY, NULL);
	char *text = (char *)&text;

	ck_assert_int_eq(csdk_provider_extension(&text, named, "api.echo", "hi there"), 0);
	ck_assert_str_eq(text, "hi there");
	free(text);
	ck_assert_int_eq(csdk_provider_extension(&text, named, "api.echo", NULL), 0);
	ck_assert_str_eq(text, "(none)");
	free(text);
	text = (char *)&text;
	assert_failed(csdk_provider_extension(&text, named, "api.nosuch", NULL), CSDK_EUNSUPPORTED, "apinamed",
		      "no operation 'api.nosuch'; apinamed has api.echo");
	ck_assert_ptr_null(text);
	assert_failed(csdk_provider_extension(&text, plain, "pool.status", NULL), CSDK_EUNSUPPORTED, "apitest",
		      "Provider 'apitest' has no extension operations (pool.status).");
	assert_failed(csdk_provider_extension(NULL, plain, "pool.status", NULL), CSDK_EINVAL, NULL,
		      "csdk_provider_extension: out is NULL");
	assert_failed(csdk_provider_extension(&text, plain, NULL, NULL), CSDK_EINVAL, NULL,
		      "csdk_provider_extension: op is NULL");
	csdk_provider_close(plain);
	csdk_provider_close(named);
	csdk_registry_free(r);
}
END_TEST

/* Names and namespaces reach a named provider in its request, checked and defaulted by the host. */
START_TEST(named_requests_reach_the_plugin)
{
	csdk_registry *r = named_registry();
	csdk_provider *p = open_named(r);
	csdk_create_options o = CSDK_CREATE_OPTIONS_INIT;
	csdk_sandbox *a = NULL, *b = NULL, *c = NULL, *out = (csdk_sandbox *)&out;
	long entries;

	o.timeout_ms = 60000;
	o.runtime = "node";
	ck_assert_int_eq(csdk_sandbox_find_or_create(&a, p, NULL, "web", &o), 0);
	expect_stdout(a, "show-create", "size=ok name=default/web timeout=60000 runtime=node image=- envs=0 metadata=0 extended=0");
	ck_assert_int_eq(csdk_sandbox_find_or_create(&b, p, NULL, "web", NULL), 0);
	ck_assert_str_eq(csdk_sandbox_id(b), csdk_sandbox_id(a));
	ck_assert_int_eq(csdk_sandbox_find(&c, p, "default", "web"), 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(csdk_sandbox_id(c), csdk_sandbox_id(a));
	csdk_sandbox_free(b);
	csdk_sandbox_free(c);
	ck_assert_int_eq(csdk_sandbox_find(&c, p, "team", "web"), 0);
	ck_assert_ptr_null(c);
	assert_no_error();

	/* create passes a name to a named provider, with the default namespace */
	o = (csdk_create_options)CSDK_CREATE_OPTIONS_INIT;
	o.name = "db";
	ck_assert_int_eq(csdk_sandbox_create(&b, p, &o), 0);
	expect_stdout(b, "show-create", "size=ok name=default/db timeout=0 runtime=- image=- envs=0 metadata=0 extended=0");
	csdk_sandbox_free(b);
	o.namespace_ = "team.a_1";
	ck_assert_int_eq(csdk_sandbox_create(&b, p, &o), 0);
	expect_stdout(b, "show-create", "size=ok name=team.a_1/db timeout=0 runtime=- image=- envs=0 metadata=0 extended=0");
	csdk_sandbox_free(b);

	/* extend_timeout: 0 is the default extension */
	ck_assert_int_eq(csdk_sandbox_extend_timeout(a, 0), 0);
	ck_assert_int_eq(csdk_sandbox_extend_timeout(a, 1000), 0);
	expect_stdout(a, "show-create",
		      t_fmt("size=ok name=default/web timeout=60000 runtime=node image=- envs=0 metadata=0 extended=%d",
			    CSDK_DEFAULT_EXTEND_MS + 1000));

	/* the rules, before the plugin */
	entries = counter(a, APITEST_META_ENTRIES);
	assert_failed(csdk_sandbox_find_or_create(&out, p, NULL, "my web", NULL), CSDK_EINVAL, "apinamed",
		      "sandbox name 'my web' is not valid: it holds a character other than a letter, digit, '.', '_' or '-'; " NAME_FIX);
	ck_assert_ptr_null(out);
	assert_failed(csdk_sandbox_find_or_create(&out, p, "_x", "web", NULL), CSDK_EINVAL, "apinamed",
		      "namespace '_x' is not valid: it does not start with a letter or digit; " NAME_FIX);
	assert_failed(csdk_sandbox_find_or_create(&out, p, NULL, NULL, NULL), CSDK_EINVAL, "apinamed",
		      "no sandbox name given; pass a name");
	assert_failed(csdk_sandbox_find(&out, p, NULL, ""), CSDK_EINVAL, "apinamed", "no sandbox name given; pass a name");
	assert_failed(csdk_sandbox_find(&out, p, "a/b", "web"), CSDK_EINVAL, "apinamed",
		      "namespace 'a/b' is not valid: it holds a character other than a letter, digit, '.', '_' or '-'; " NAME_FIX);
	assert_failed(csdk_sandbox_extend_timeout(a, THIRTY_DAYS_MS + 1), CSDK_EINVAL, "apinamed",
		      "duration 2592000001 ms is not valid: it is longer than 30 days; give at most 2592000000 ms");
	assert_failed(csdk_sandbox_extend_timeout(a, -1), CSDK_EINVAL, "apinamed",
		      "duration -1 ms is not valid: it is negative; give milliseconds, or 0 for the default");
	ck_assert_int_eq(counter(a, APITEST_META_ENTRIES), entries + 1);
	csdk_sandbox_free(a);
	csdk_provider_close(p);
	csdk_registry_free(r);
}
END_TEST

/* A provider without named sandboxes gets no name in its create request. */
START_TEST(unnamed_provider_gets_no_name)
{
	csdk_create_options o = CSDK_CREATE_OPTIONS_INIT;
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = NULL;

	o.name = "web";
	o.namespace_ = "team";
	ck_assert_int_eq(csdk_sandbox_create(&sb, p, &o), 0);
	expect_stdout(sb, "show-create", "size=ok name=-/- timeout=0 runtime=- image=- envs=0 metadata=0 extended=0");
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(run_code_options_reach_the_plugin)
{
	const struct csdk_kv envs[] = { { "A", "1" }, { "B", "two words" } };
	csdk_command_options o = CSDK_COMMAND_OPTIONS_INIT;
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);
	csdk_result *r = NULL;

	o.cwd = "/work/dir";
	o.envs = envs;
	o.n_envs = N_OF(envs);
	o.timeout_ms = 1500;
	o.runtime = "python";
	ck_assert_int_eq(csdk_sandbox_run_code(&r, sb, "script:show-opts", &o), 0);
	ck_assert_str_eq(r->stdout_buf, "python:cwd=/work/dir timeout=1500 background=0 envs=2 runtime=python A=1 B=two words");
	csdk_result_free(r);
	/* without a runtime the host detects one and says so in the request */
	o = (csdk_command_options)CSDK_COMMAND_OPTIONS_INIT;
	ck_assert_int_eq(csdk_sandbox_run_code(&r, sb, "script:show-opts", &o), 0);
	ck_assert_str_eq(r->stdout_buf, "node:cwd=- timeout=0 background=0 envs=0 runtime=node");
	csdk_result_free(r);
	ck_assert_int_eq(csdk_sandbox_run_code(&r, sb, "script:show-opts", NULL), 0);
	ck_assert_str_eq(r->stdout_buf, "node:cwd=- timeout=0 background=0 envs=0 runtime=node");
	csdk_result_free(r);
	o.background = 1;
	ck_assert_int_eq(csdk_sandbox_run_code(&r, sb, "script:show-opts", &o), 0);
	ck_assert_str_eq(r->stdout_buf, "node:cwd=- timeout=0 background=1 envs=0 runtime=node");
	csdk_result_free(r);
	/* commands get no runtime */
	expect_stdout(sb, "show-opts", "cwd=- timeout=0 background=0 envs=0");
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(plugin_info_names_its_methods)
{
	csdk_registry *r = named_registry();
	const csdk_plugin_info *api = csdk_registry_find(reg, "apitest");
	const csdk_plugin_info *named = csdk_registry_find(r, "apinamed");

	ck_assert_ptr_nonnull(api);
	ck_assert_ptr_nonnull(named);
	ck_assert_uint_eq(api->n_methods, 11);
	ck_assert_str_eq(t_methods(api), "init,teardown,release,create,get,list,destroy,run_code,run_command,get_info,get_url");
	ck_assert_str_eq(t_methods(named), "init,teardown,release,create,get,list,destroy,run_code,run_command,get_info,get_url,"
					   "find_or_create,find,extend_timeout,extension");
	ck_assert_uint_eq(named->capabilities, CSDK_CAP_EXEC | CSDK_CAP_NAMED);
	ck_assert_uint_eq(api->abi_version, CSDK_ABI_VERSION);
	csdk_registry_free(r);
}
END_TEST

/* ------------------------------------------------------- typed config keys */

START_TEST(typed_keys_are_declared_with_type_and_bounds)
{
	const csdk_plugin_info *info = csdk_registry_find(reg, "apitest");

	ck_assert_uint_eq(info->n_config_keys, 6);
	ck_assert_str_eq(info->config_keys[1].key, "region");
	ck_assert_uint_eq(info->config_keys[1].type, CSDK_CONFIG_STRING);
	ck_assert_str_eq(info->config_keys[2].key, "wait");
	ck_assert_uint_eq(info->config_keys[2].type, CSDK_CONFIG_DURATION);
	ck_assert_int_eq(info->config_keys[2].min, APITEST_WAIT_MIN);
	ck_assert_int_eq(info->config_keys[2].max, APITEST_WAIT_MAX);
	ck_assert_pstr_eq(info->config_keys[2].env, APITEST_WAIT_ENV);
	ck_assert_str_eq(info->config_keys[3].key, "memory");
	ck_assert_uint_eq(info->config_keys[3].type, CSDK_CONFIG_SIZE);
	ck_assert_int_eq(info->config_keys[3].min, 0);
	ck_assert_int_eq(info->config_keys[3].max, INT64_MAX); /* 0 and 0: no bounds */
	ck_assert_str_eq(info->config_keys[4].key, "verbose");
	ck_assert_uint_eq(info->config_keys[4].type, CSDK_CONFIG_BOOL);
	ck_assert_str_eq(info->config_keys[5].key, "retries");
	ck_assert_uint_eq(info->config_keys[5].type, CSDK_CONFIG_INT);
	ck_assert_int_eq(info->config_keys[5].min, APITEST_RETRIES_MIN);
	ck_assert_int_eq(info->config_keys[5].max, APITEST_RETRIES_MAX);
}
END_TEST

static const struct bad_value {
	const char *key, *value, *message;
} bad_values[] = {
	{ "wait", "soon", "key 'wait': 'soon' is not a duration; give milliseconds or a value like 30s, 5m" },
	{ "wait", "5 s", "key 'wait': '5 s' is not a duration; give milliseconds or a value like 30s, 5m" },
	{ "wait", "-5", "key 'wait': '-5' is not a duration; give milliseconds or a value like 30s, 5m" },
	{ "wait", "2h", "key 'wait': '2h' is out of range; give 1 to 3600000 ms" },
	{ "wait", "0", "key 'wait': '0' is out of range; give 1 to 3600000 ms" },
	{ "memory", "lots", "key 'memory': 'lots' is not a size; give bytes or a value like 512M, 2G" },
	{ "memory", "1.5G", "key 'memory': '1.5G' is not a size; give bytes or a value like 512M, 2G" },
	{ "verbose", "maybe", "key 'verbose': 'maybe' is not a boolean; give true or false" },
	{ "verbose", "", "key 'verbose': '' is not a boolean; give true or false" },
	{ "retries", "three", "key 'retries': 'three' is not an integer; give a whole number" },
	{ "retries", "11", "key 'retries': '11' is out of range; give 0 to 10" },
	{ "retries", "-1", "key 'retries': '-1' is out of range; give 0 to 10" },
};

START_TEST(typed_key_with_a_bad_value_fails_the_open)
{
	const struct bad_value *b = &bad_values[_i];
	const struct csdk_kv kv[] = { { "api_key", KEY }, { b->key, b->value } };
	csdk_provider *p = (csdk_provider *)&p;

	assert_failed(open_kv(&p, reg, "apitest", kv, N_OF(kv)), CSDK_ECONFIG, "apitest", b->message);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(typed_key_from_the_environment_is_checked_too)
{
	const struct csdk_kv kv[] = { { "api_key", KEY } };
	csdk_provider *p = (csdk_provider *)&p;

	setenv(APITEST_WAIT_ENV, "later", 1);
	assert_failed(open_kv(&p, reg, "apitest", kv, N_OF(kv)), CSDK_ECONFIG, "apitest",
		      "key 'wait': 'later' is not a duration; give milliseconds or a value like 30s, 5m");
	ck_assert_ptr_null(p);
	setenv(APITEST_WAIT_ENV, "90s", 1);
	ck_assert_int_eq(open_kv(&p, reg, "apitest", kv, N_OF(kv)), 0);
	unsetenv(APITEST_WAIT_ENV);
	{
		csdk_sandbox *sb = new_sandbox(p);

		expect_stdout(sb, "show-config", "wait=90000 memory=unset verbose=unset retries=unset region=EINVAL nosuch=EINVAL");
		csdk_sandbox_free(sb);
	}
	csdk_provider_close(p);
}
END_TEST

static const struct good_values {
	const char *wait, *memory, *verbose, *retries, *shown;
} good_values[] = {
	{ "30s", "512M", "yes", "3", "wait=30000 memory=536870912 verbose=1 retries=3" },
	{ "250", "2G", "off", "0", "wait=250 memory=2147483648 verbose=0 retries=0" },
	{ "1h", "1024", "true", "10", "wait=3600000 memory=1024 verbose=1 retries=10" },
	{ "5m", "1K", "0", "7", "wait=300000 memory=1024 verbose=0 retries=7" },
	{ "1500ms", "3T", "on", "1", "wait=1500 memory=3298534883328 verbose=1 retries=1" },
};

START_TEST(config_get_int_gives_the_parsed_values)
{
	const struct good_values *g = &good_values[_i];
	const struct csdk_kv kv[] = { { "api_key", KEY }, { "wait", g->wait }, { "memory", g->memory },
				      { "verbose", g->verbose }, { "retries", g->retries }, { "region", "eu" } };
	csdk_provider *p = NULL;
	csdk_sandbox *sb;
	int rc = open_kv(&p, reg, "apitest", kv, N_OF(kv));

	ck_assert_msg(rc == 0, "open returned %d: %s", rc, csdk_error_last()->message);
	sb = new_sandbox(p);
	/* a string key is EINVAL for config_get_int; the text stays readable with config_get */
	expect_stdout(sb, "show-config", t_fmt("%s region=EINVAL nosuch=EINVAL", g->shown));
	ck_assert_str_eq(csdk_provider_config(p, "wait"), g->wait);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(config_get_int_of_unset_keys)
{
	csdk_provider *p = open_api(KEY, NULL);
	csdk_sandbox *sb = new_sandbox(p);

	expect_stdout(sb, "show-config", "wait=unset memory=unset verbose=unset retries=unset region=EINVAL nosuch=EINVAL");
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

/* ------------------------------------------------------------------ suite */

static TCase *tcase(Suite *s, const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc;

	tc = tcase(s, "open", 30);
	tcase_add_test(tc, open_unknown_provider_lists_the_available_ones);
	tcase_add_test(tc, open_in_an_empty_registry_lists_none);
	tcase_add_test(tc, open_rejected_provider_gives_the_rejection_reason);
	tcase_add_test(tc, open_without_a_name_or_out);
	tcase_add_test(tc, open_with_wrong_options_size);
	tcase_add_test(tc, open_with_an_unknown_config_key);
	tcase_add_test(tc, open_with_a_key_given_twice);
	tcase_add_test(tc, open_with_an_entry_without_value);
	tcase_add_test(tc, open_without_the_required_key_names_key_and_variable);
	tcase_add_test(tc, environment_fills_unset_keys);
	tcase_add_test(tc, given_keys_beat_the_environment);
	tcase_add_test(tc, unset_optional_key_has_no_value);
	tcase_add_test(tc, provider_getters);

	tc = tcase(s, "sandboxes", 30);
	tcase_add_test(tc, create_gives_an_id);
	tcase_add_test(tc, create_reports_the_plugin_failure);
	tcase_add_test(tc, plugin_message_is_one_line);
	tcase_add_test(tc, gateway_endpoint_carries_url_token_and_headers);
	tcase_add_test(tc, create_without_an_id_fails_and_releases_the_handle);
	tcase_add_test(tc, create_checks_its_options);
	tcase_add_test(tc, get_of_an_unknown_id_is_null_without_error);
	tcase_add_test(tc, get_of_a_known_id_gives_a_new_handle);
	tcase_add_test(tc, destroy_is_idempotent);
	tcase_add_test(tc, list_holds_the_live_sandboxes);
	tcase_add_test(tc, handles_keep_the_provider_alive);
	tcase_add_test(tc, close_without_handles_tears_down_at_once);
	tcase_add_test(tc, info_describes_the_sandbox);

	tc = tcase(s, "run-command", 30);
	tcase_add_test(tc, output_reaches_the_callbacks_in_order);
	tcase_add_test(tc, result_holds_the_bytes_without_callbacks);
	tcase_add_test(tc, callback_returning_nonzero_cancels);
	tcase_add_test(tc, background_with_a_callback_is_invalid);
	tcase_add_test(tc, negative_timeout_is_invalid);
	tcase_add_test(tc, command_options_reach_the_plugin);
	tcase_add_test(tc, positive_status_is_an_invalid_status);
	tcase_add_test(tc, failure_without_a_message_names_the_method);
	tcase_add_test(tc, plugin_message_and_code_are_kept);
	tcase_add_test(tc, exit_code_outside_0_to_255_is_a_backend_error);

	tc = tcase(s, "run-code", 30);
	tcase_add_loop_test(tc, detect_runtime_table, 0, (int)N_OF(detections));
	tcase_add_test(tc, detect_runtime_of_null_is_node);
	tcase_add_test(tc, run_code_detects_or_takes_the_runtime);
	tcase_add_test(tc, run_code_failures);

	tc = tcase(s, "url", 30);
	tcase_add_test(tc, url_of_a_port);
	tcase_add_test(tc, url_of_a_bad_port_or_protocol);
	tcase_add_test(tc, url_scheme_starts_with_a_letter);

	tc = tcase(s, "unsupported", 30);
	tcase_add_test(tc, filesystem_is_unsupported);
	tcase_add_test(tc, named_sandboxes_are_unsupported);
	tcase_add_test(tc, templates_and_snapshots_are_unsupported);

	tc = tcase(s, "abi-2.0", 30);
	tcase_add_test(tc, options_struct_size_is_checked);
	tcase_add_test(tc, every_options_struct_refuses_a_wrong_size);
	tcase_add_test(tc, host_rules_refuse_before_the_plugin_is_called);
	tcase_add_test(tc, named_requests_reach_the_plugin);
	tcase_add_test(tc, extension_reaches_the_plugin);
	tcase_add_test(tc, unnamed_provider_gets_no_name);
	tcase_add_test(tc, run_code_options_reach_the_plugin);
	tcase_add_test(tc, plugin_info_names_its_methods);

	tc = tcase(s, "typed-config", 30);
	tcase_add_test(tc, typed_keys_are_declared_with_type_and_bounds);
	tcase_add_loop_test(tc, typed_key_with_a_bad_value_fails_the_open, 0, (int)N_OF(bad_values));
	tcase_add_test(tc, typed_key_from_the_environment_is_checked_too);
	tcase_add_loop_test(tc, config_get_int_gives_the_parsed_values, 0, (int)N_OF(good_values));
	tcase_add_test(tc, config_get_int_of_unset_keys);

	tc = tcase(s, "secrets", 60);
	tcase_add_test(tc, plugin_error_hides_the_secret);
	tcase_add_test(tc, secret_from_the_environment_is_hidden_too);
	tcase_add_test(tc, plugin_log_hides_the_secret);
	tcase_add_test(tc, init_error_hides_the_secret);
	tcase_add_test(tc, secret_made_of_asterisks_is_hidden_and_ends);

	tc = tcase(s, "threads", 120);
	tcase_add_test(tc, threads_never_overlap_inside_a_plugin_that_is_not_thread_safe);
	tcase_add_test(tc, release_after_a_failed_create_is_serialised);
	tcase_add_test(tc, two_providers_of_one_plugin_run_side_by_side);
	return s;
}

int main(void)
{
	return t_run_suite(api_suite());
}
