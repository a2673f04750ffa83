/*
 * Hostile plugins through the library API: garbage from methods gets the
 * host's exact errors, a crash in a method or in init takes the calling
 * process down (the library does not isolate plugin code, see
 * docs/threading.md), and a blocking method blocks its caller only: other
 * threads go on with a thread-safe plugin, and with another context of a
 * plugin that is not.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <csdk/csdk.h>

static csdk_registry *registry;

static csdk_registry *hostile_registry(void)
{
	csdk_registry_options opts = CSDK_REGISTRY_OPTIONS_INIT;
	const char *dir = getenv("HOSTILE_PLUGINS");

	if (registry)
		return registry;
	ck_assert_msg(dir != NULL, "HOSTILE_PLUGINS is not set; run the suite with make check");
	opts.search_path = dir;
	opts.flags = CSDK_REGISTRY_NO_ENV;
	ck_assert_int_eq(csdk_registry_new(&registry, &opts), 0);
	return registry;
}

static csdk_provider *open_provider(const char *name)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	csdk_provider *p = NULL;
	int rc;

	opts.registry = hostile_registry();
	rc = csdk_provider_open(&p, name, &opts);
	ck_assert_msg(rc == 0, "opening %s: %s", name, csdk_error_last()->message);
	return p;
}

static csdk_sandbox *sandbox_named(csdk_provider *p, const char *id)
{
	csdk_sandbox *sb = NULL;

	ck_assert_int_eq(csdk_sandbox_get(&sb, p, id), 0);
	ck_assert_ptr_nonnull(sb);
	return sb;
}

static void assert_error(int rc, int code, const char *message)
{
	const csdk_error *e = csdk_error_last();

	ck_assert_int_eq(rc, code);
	ck_assert_int_eq(e->code, code);
	ck_assert_str_eq(e->message, message);
	ck_assert_ptr_nonnull(e->provider);
	ck_assert_str_eq(e->provider, "garbage");
}

/* ------------------------------------------------------------- garbage */

static int create_named(csdk_sandbox **out, const char *name)
{
	csdk_create_options o = CSDK_CREATE_OPTIONS_INIT;
	csdk_provider *p = open_provider("garbage");
	int rc;

	o.name = name;
	*out = NULL;
	rc = csdk_sandbox_create(out, p, &o);
	csdk_provider_close(p);
	return rc;
}

static void assert_create_fails(const char *name, int code, const char *message)
{
	csdk_sandbox *sb;
	int rc = create_named(&sb, name);

	assert_error(rc, code, message);
	ck_assert_ptr_null(sb);
}

START_TEST(create_without_id)
{
	static const char msg[] = "provider 'garbage' returned a sandbox without an id from create; the plugin must call text_set on id_out";

	assert_create_fails("null-id", CSDK_EBACKEND, msg);
	assert_create_fails("empty-id", CSDK_EBACKEND, msg);
}
END_TEST

START_TEST(create_text_set_null)
{
	assert_create_fails("text-set-null", CSDK_EINVAL, "provider 'garbage' failed in create: invalid argument");
}
END_TEST

START_TEST(create_bad_status)
{
	assert_create_fails("status-positive", CSDK_EBACKEND,
		"provider 'garbage' returned invalid status 7 from create; the plugin must return 0 or a negative CSDK_E* code");
	assert_create_fails("status-low", CSDK_EBACKEND,
		"provider 'garbage' returned invalid status -99 from create; the plugin must return 0 or a negative CSDK_E* code");
}
END_TEST

START_TEST(create_error_codes)
{
	/* host->error maps a code outside the ABI to CSDK_EBACKEND and returns it. */
	assert_create_fails("error-positive", CSDK_EBACKEND, "create refused with a positive code");
	/* The returned code wins over the one given to host->error; the message stays. */
	assert_create_fails("error-mismatch", CSDK_EIO, "message recorded for EINVAL");
	assert_create_fails("error-nocode", CSDK_EBACKEND, "provider 'garbage' failed in create: backend failure");
}
END_TEST

START_TEST(bytes_pass_through)
{
	/* The host does not validate UTF-8: ids and messages are bytes (the tools replace what they print as JSON). */
	csdk_sandbox *sb;
	csdk_sandbox_list *list = NULL;
	csdk_provider *p;

	assert_create_fails("error-badutf8", CSDK_EBACKEND, "backend said \xff\xfe in create");
	ck_assert_int_eq(create_named(&sb, "badutf8-id"), 0);
	ck_assert_str_eq(csdk_sandbox_id(sb), "sb-\xff\xfe-bad");
	csdk_sandbox_free(sb);

	p = open_provider("garbage");
	ck_assert_int_eq(csdk_sandbox_list_all(&list, p), 0);
	ck_assert_uint_eq(list->count, 2);
	ck_assert_str_eq(csdk_sandbox_id(list->sandboxes[0]), "sb-ok");
	ck_assert_str_eq(csdk_sandbox_id(list->sandboxes[1]), "sb-\xff");
	csdk_sandbox_list_free(list);
	csdk_provider_close(p);
}
END_TEST

/*
 * Run command on a garbage sandbox; when message is not NULL, check the
 * failure before freeing anything (csdk_sandbox_free, like every call into
 * libcsdk, may replace the last error).
 */
static int run_checked(csdk_result **out, const char *command, int code, const char *message)
{
	csdk_provider *p = open_provider("garbage");
	csdk_sandbox *sb = sandbox_named(p, "sb-ok");
	int rc;

	*out = NULL;
	rc = csdk_sandbox_run_command(out, sb, command, NULL);
	if (message) {
		assert_error(rc, code, message);
		ck_assert_ptr_null(*out);
	}
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	return rc;
}

static int run(csdk_result **out, const char *command)
{
	return run_checked(out, command, 0, NULL);
}

static void assert_run_fails(const char *command, int code, const char *message)
{
	csdk_result *r;

	run_checked(&r, command, code, message);
}

START_TEST(run_bad_exit_codes)
{
	assert_run_fails("exit-minus1", CSDK_EBACKEND, "provider 'garbage' returned exit code -1 from run_command; exit codes are 0 to 255");
	assert_run_fails("exit-300", CSDK_EBACKEND, "provider 'garbage' returned exit code 300 from run_command; exit codes are 0 to 255");
	/* An exit code never set reads as -1. */
	assert_run_fails("no-exit", CSDK_EBACKEND, "provider 'garbage' returned exit code -1 from run_command; exit codes are 0 to 255");
}
END_TEST

START_TEST(run_bad_status)
{
	assert_run_fails("status-positive", CSDK_EBACKEND,
		"provider 'garbage' returned invalid status 1 from run_command; the plugin must return 0 or a negative CSDK_E* code");
	assert_run_fails("status-low", CSDK_EBACKEND,
		"provider 'garbage' returned invalid status -17 from run_command; the plugin must return 0 or a negative CSDK_E* code");
	assert_run_fails("error-nocode", CSDK_EBACKEND, "provider 'garbage' failed in run_command: backend failure");
}
END_TEST

static void assert_run_prints(const char *command, const char *stdout_text)
{
	csdk_result *r;

	ck_assert_int_eq(run(&r, command), 0);
	ck_assert_str_eq(r->stdout_buf, stdout_text);
	ck_assert_int_eq(r->exit_code, 0);
	csdk_result_free(r);
}

START_TEST(sink_garbage)
{
	/* NULL data with a length: EINVAL; a length that cannot be stored: ENOMEM, nothing read. */
	assert_run_prints("sink-null-huge", "rc=-3 -3 0\n");
	assert_run_prints("sink-huge", "rc=-2 -2 -2\n");
	assert_run_prints("sink-badstream", "rc=-3 -3 -3\n");
}
END_TEST

START_TEST(output_bytes_exact)
{
	csdk_result *r;

	ck_assert_int_eq(run(&r, "badutf8-out"), 0);
	ck_assert_uint_eq(r->stdout_len, 5);
	ck_assert_mem_eq(r->stdout_buf, "\xff\xfe\0z\xc3", 6);
	ck_assert_uint_eq(r->stderr_len, 2);
	ck_assert_mem_eq(r->stderr_buf, "\xc0\x80", 3);
	csdk_result_free(r);
}
END_TEST

START_TEST(run_code_garbage)
{
	csdk_command_options python = CSDK_COMMAND_OPTIONS_INIT, node = CSDK_COMMAND_OPTIONS_INIT;
	csdk_provider *p = open_provider("garbage");
	csdk_sandbox *sb = sandbox_named(p, "sb-ok");
	csdk_result *r = NULL;

	python.runtime = "python";
	node.runtime = "node";
	assert_error(csdk_sandbox_run_code(&r, sb, "exit-300", &python), CSDK_EBACKEND,
		"provider 'garbage' returned exit code 300 from run_code; exit codes are 0 to 255");
	ck_assert_ptr_null(r);
	assert_error(csdk_sandbox_run_code(&r, sb, "status-positive", &node), CSDK_EBACKEND,
		"provider 'garbage' returned invalid status 2 from run_code; the plugin must return 0 or a negative CSDK_E* code");
	ck_assert_ptr_null(r);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(info_garbage)
{
	csdk_provider *p = open_provider("garbage");
	csdk_sandbox *sb;
	csdk_sandbox_info *info = NULL;

	/* get_info that sets nothing: the host fills id, provider and status. */
	sb = sandbox_named(p, "info-noid");
	ck_assert_int_eq(csdk_sandbox_get_info(&info, sb), 0);
	ck_assert_str_eq(info->id, "info-noid");
	ck_assert_str_eq(info->provider, "garbage");
	ck_assert_int_eq(info->status, CSDK_STATUS_RUNNING);
	ck_assert_uint_eq(info->n_metadata, 0);
	csdk_sandbox_info_free(info);
	csdk_sandbox_free(sb);

	sb = sandbox_named(p, "info-badstatus");
	assert_error(csdk_sandbox_get_info(&info, sb), CSDK_EINVAL, "provider 'garbage' failed in get_info: invalid argument");
	ck_assert_ptr_null(info);
	csdk_sandbox_free(sb);

	sb = sandbox_named(p, "info-nullmeta");
	assert_error(csdk_sandbox_get_info(&info, sb), CSDK_EINVAL, "provider 'garbage' failed in get_info: invalid argument");
	ck_assert_ptr_null(info);
	csdk_sandbox_free(sb);

	sb = sandbox_named(p, "info-badutf8");
	ck_assert_int_eq(csdk_sandbox_get_info(&info, sb), 0);
	ck_assert_str_eq(info->id, "sb-\xff");
	ck_assert_uint_eq(info->n_metadata, 1);
	ck_assert_str_eq(info->metadata[0].key, "k\xff");
	ck_assert_str_eq(info->metadata[0].value, "v\xfe");
	csdk_sandbox_info_free(info);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(url_garbage)
{
	csdk_provider *p = open_provider("garbage");
	csdk_sandbox *sb = sandbox_named(p, "sb-ok");
	char *url = NULL;

	assert_error(csdk_sandbox_get_url(&url, sb, 1, NULL), CSDK_EBACKEND, "provider 'garbage' returned no URL from get_url");
	ck_assert_ptr_null(url);
	assert_error(csdk_sandbox_get_url(&url, sb, 2, NULL), CSDK_EINVAL, "provider 'garbage' failed in get_url: invalid argument");
	ck_assert_ptr_null(url);
	ck_assert_int_eq(csdk_sandbox_get_url(&url, sb, 3, NULL), 0);
	ck_assert_str_eq(url, "http://\xff\xfe/");
	csdk_free(url);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

START_TEST(fs_garbage)
{
	csdk_provider *p = open_provider("garbage");
	csdk_sandbox *sb = sandbox_named(p, "sb-ok");
	csdk_dir_list *dir = NULL;
	char *data = NULL;
	size_t len = 7;
	int exists = 0;

	ck_assert_int_eq(csdk_fs_readdir(&dir, sb, "/huge"), 0);
	ck_assert_uint_eq(dir->count, 2);
	ck_assert_str_eq(dir->entries[0].name, "big");
	ck_assert_uint_eq(dir->entries[0].size, UINT64_MAX);
	ck_assert_int_eq(dir->entries[0].modified_ms, INT64_MAX);
	ck_assert_str_eq(dir->entries[1].name, "\xff\xfe");
	ck_assert_int_eq(dir->entries[1].modified_ms, INT64_MIN);
	csdk_dir_list_free(dir);
	dir = NULL;
	assert_error(csdk_fs_readdir(&dir, sb, "/nullname"), CSDK_EINVAL, "provider 'garbage' failed in fs_readdir: invalid argument");
	ck_assert_ptr_null(dir);
	assert_error(csdk_fs_readdir(&dir, sb, "/slash"), CSDK_EINVAL, "provider 'garbage' failed in fs_readdir: invalid argument");
	assert_error(csdk_fs_readdir(&dir, sb, "/badtype"), CSDK_EINVAL, "provider 'garbage' failed in fs_readdir: invalid argument");
	assert_error(csdk_fs_read(&data, &len, sb, "/null-huge"), CSDK_EINVAL, "provider 'garbage' failed in fs_read: invalid argument");
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(len, 0);
	/* Any non-zero answer of fs_exists reads as 1. */
	ck_assert_int_eq(csdk_fs_exists(&exists, sb, "/x"), 0);
	ck_assert_int_eq(exists, 1);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

/* -------------------------------------------------------------- crashes */

START_TEST(crash_in_run_command_kills_caller)
{
	csdk_provider *p = open_provider("crashy");
	csdk_sandbox *sb = sandbox_named(p, "sb-crashy");
	csdk_result *r = NULL;

	csdk_sandbox_run_command(&r, sb, "true", NULL);
	ck_abort_msg("run_command of a crashing plugin returned");
}
END_TEST

START_TEST(abort_in_get_info_kills_caller)
{
	csdk_provider *p = open_provider("crashy");
	csdk_sandbox *sb = sandbox_named(p, "sb-crashy");
	csdk_sandbox_info *info = NULL;

	csdk_sandbox_get_info(&info, sb);
	ck_abort_msg("get_info of an aborting plugin returned");
}
END_TEST

START_TEST(crash_in_init_kills_caller)
{
	open_provider("initcrash");
	ck_abort_msg("init of a crashing plugin returned");
}
END_TEST

/* ------------------------------------------------------------- blocking */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

struct blocked_call {
	csdk_sandbox *sandbox;
	const char *command;
};

static void *run_blocked(void *arg)
{
	struct blocked_call *c = arg;
	csdk_result *r = NULL;

	csdk_sandbox_run_command(&r, c->sandbox, c->command, NULL);
	csdk_result_free(r);
	return NULL;
}

static void *create_blocked(void *arg)
{
	csdk_create_options o = CSDK_CREATE_OPTIONS_INIT;
	csdk_sandbox *sb = NULL;

	o.image = "block";
	csdk_sandbox_create(&sb, arg, &o);
	csdk_sandbox_free(sb);
	return NULL;
}

/* Time a few calls on other sandboxes of p while one call blocks in another thread. */
static int64_t time_other_calls(csdk_provider *p)
{
	csdk_sandbox *sb = NULL;
	csdk_sandbox_info *info = NULL;
	csdk_result *r = NULL;
	int64_t start = now_ms();

	ck_assert_int_eq(csdk_sandbox_create(&sb, p, NULL), 0);
	ck_assert_int_eq(csdk_sandbox_get_info(&info, sb), 0);
	ck_assert_int_eq(csdk_sandbox_run_command(&r, sb, "sleep:0", NULL), 0);
	ck_assert_str_eq(r->stdout_buf, "slept\n");
	csdk_result_free(r);
	csdk_sandbox_info_free(info);
	csdk_sandbox_free(sb);
	return now_ms() - start;
}

START_TEST(blocking_thread_safe_blocks_only_caller)
{
	csdk_provider *p = open_provider("blocker");
	/* static: the hung thread keeps using it until the test process ends (and LeakSanitizer sees it held) */
	static struct blocked_call c;
	pthread_t runner, creator;
	int64_t took;

	c = (struct blocked_call){ sandbox_named(p, "sb-stuck"), "hang" };
	ck_assert_int_eq(pthread_create(&runner, NULL, run_blocked, &c), 0);
	ck_assert_int_eq(pthread_create(&creator, NULL, create_blocked, p), 0);
	pthread_detach(runner);
	pthread_detach(creator);
	sleep_ms(200);
	/* They return at all: a blocked call would hold them until the test's
	 * timeout. How long they took is load, not a result. */
	took = time_other_calls(p);
	fprintf(stderr, "calls beside a blocked run_command and create took %lld ms\n", (long long)took);
	/* The blocked threads never return; the test process ends with them. */
}
END_TEST

START_TEST(blocking_serial_blocks_its_context_only)
{
	csdk_provider *p = open_provider("serial");
	csdk_provider *other = open_provider("serial");
	/* busy far longer than a loaded machine may take to start the thread */
	struct blocked_call slow = { sandbox_named(p, "sb-slow"), "sleep:6000" };
	/* static: the hung thread keeps using it until the test process ends */
	static struct blocked_call stuck;
	pthread_t a, b;
	int64_t took;

	/* Without thread-safe, calls on one context are serialised behind the slow one... */
	ck_assert_int_eq(pthread_create(&a, NULL, run_blocked, &slow), 0);
	sleep_ms(200);
	took = time_other_calls(p);
	ck_assert_msg(took >= 1000, "calls on a context busy for 6000 ms more took only %lld ms", (long long)took);
	pthread_join(a, NULL);
	csdk_sandbox_free(slow.sandbox);

	/* ...but a second context of the plugin is not held up by the first one hanging. */
	stuck.sandbox = sandbox_named(other, "sb-stuck");
	stuck.command = "hang";
	ck_assert_int_eq(pthread_create(&b, NULL, run_blocked, &stuck), 0);
	pthread_detach(b);
	sleep_ms(200);
	took = time_other_calls(p);	/* returns at all: see above */
	fprintf(stderr, "calls on one context beside a hung one took %lld ms\n", (long long)took);
	csdk_provider_close(p);
}
END_TEST

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *garbage = tcase_create("garbage");
	TCase *crash = tcase_create("crash");
	TCase *block = tcase_create("block");

	tcase_add_test(garbage, create_without_id);
	tcase_add_test(garbage, create_text_set_null);
	tcase_add_test(garbage, create_bad_status);
	tcase_add_test(garbage, create_error_codes);
	tcase_add_test(garbage, bytes_pass_through);
	tcase_add_test(garbage, run_bad_exit_codes);
	tcase_add_test(garbage, run_bad_status);
	tcase_add_test(garbage, sink_garbage);
	tcase_add_test(garbage, output_bytes_exact);
	tcase_add_test(garbage, run_code_garbage);
	tcase_add_test(garbage, info_garbage);
	tcase_add_test(garbage, url_garbage);
	tcase_add_test(garbage, fs_garbage);
	suite_add_tcase(s, garbage);

	tcase_add_test_raise_signal(crash, crash_in_run_command_kills_caller, SIGSEGV);
	tcase_add_test_raise_signal(crash, abort_in_get_info_kills_caller, SIGABRT);
	tcase_add_test_raise_signal(crash, crash_in_init_kills_caller, SIGSEGV);
	suite_add_tcase(s, crash);

	tcase_set_timeout(block, 60);
	tcase_add_test(block, blocking_thread_safe_blocks_only_caller);
	tcase_add_test(block, blocking_serial_blocks_its_context_only);
	suite_add_tcase(s, block);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hostile_suite());
	int failed;

	/* Every test in its own process: crashes and hung threads must stay there. */
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
