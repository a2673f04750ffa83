/*
 * test-compute: several providers behind one csdk_compute (routing order of
 * both strategies, fallback, cancellation, affinity, aggregated errors) and
 * the configuration file (syntax errors, precedence of sources, masked
 * secrets), with the local, example and flaky providers.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <csdk/csdk.h>

#include "helpers.h"

static csdk_registry *reg(void)
{
	static csdk_registry *r;

	if (!r)
		r = t_registry(t_env("CSDK_TEST_COMPUTE_PATH"), 0);
	return r;
}

/* Open name with the given KEY=VALUE settings (NULL-terminated). */
static csdk_provider *open_with(const char *name, ...)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	struct csdk_kv kv[8];
	csdk_provider *p = NULL;
	const char *s;
	va_list ap;
	size_t n = 0;

	va_start(ap, name);
	while ((s = va_arg(ap, const char *)) && n < 8) {
		const char *eq = strchr(s, '=');
		kv[n].key = t_fmt("%.*s", (int)(eq - s), s);
		kv[n].value = eq + 1;
		n++;
	}
	va_end(ap);
	if (!strcmp(name, "local") && n < 8) {
		kv[n].key = "state_dir";
		kv[n].value = t_tmpdir();
		n++;
	}
	opts.config = kv;
	opts.n_config = n;
	opts.registry = reg();
	ck_assert_msg(csdk_provider_open(&p, name, &opts) == 0, "open %s: %s", name, csdk_error_last()->message);
	return p;
}

static csdk_compute *compute_of(csdk_strategy strategy, int fallback, csdk_provider **ps, size_t n)
{
	csdk_compute_options opts = CSDK_COMPUTE_OPTIONS_INIT;
	csdk_compute *c = NULL;
	size_t i;

	opts.strategy = strategy;
	opts.no_fallback = !fallback;
	ck_assert_int_eq(csdk_compute_new(&c, &opts), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(csdk_compute_add(c, ps[i]), 0);
	return c;
}

/* The provider of a new sandbox (routed), or "error: MESSAGE". */
static const char *create_where(csdk_compute *c, const char *provider)
{
	csdk_compute_create_options o = CSDK_COMPUTE_CREATE_OPTIONS_INIT;
	csdk_sandbox *sb = NULL;
	const char *where;

	o.provider = provider;
	if (csdk_compute_create(&sb, c, &o) < 0)
		return t_fmt("error: %s", csdk_error_last()->message);
	ck_assert_ptr_nonnull(sb);
	where = t_fmt("%s", csdk_provider_name(csdk_sandbox_provider(sb)));
	csdk_sandbox_free(sb);
	return where;
}

static size_t count_of(csdk_provider *p)
{
	csdk_sandbox_list *l = NULL;
	size_t n;

	ck_assert_int_eq(csdk_sandbox_list_all(&l, p), 0);
	n = l->count;
	csdk_sandbox_list_free(l);
	return n;
}

/* ------------------------------------------------------------------ routing */

START_TEST(priority_always_starts_first)
{
	csdk_provider *ps[] = { open_with("example", NULL), open_with("flaky", NULL) };
	csdk_compute *c = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 2);

	ck_assert_str_eq(create_where(c, NULL), "example");
	ck_assert_str_eq(create_where(c, NULL), "example");
	ck_assert_str_eq(create_where(c, NULL), "example");
	ck_assert_uint_eq(count_of(ps[1]), 0);
	csdk_compute_free(c);
	csdk_provider_close(ps[0]);
	csdk_provider_close(ps[1]);
}
END_TEST

START_TEST(round_robin_takes_turns)
{
	csdk_provider *ps[] = { open_with("local", NULL), open_with("example", NULL), open_with("flaky", NULL) };
	csdk_compute *c = compute_of(CSDK_STRATEGY_ROUND_ROBIN, 1, ps, 3);

	ck_assert_str_eq(create_where(c, NULL), "local");
	ck_assert_str_eq(create_where(c, NULL), "example");
	ck_assert_str_eq(create_where(c, NULL), "flaky");
	ck_assert_str_eq(create_where(c, NULL), "local");
	csdk_compute_free(c);
	for (size_t i = 0; i < 3; i++)
		csdk_provider_close(ps[i]);
}
END_TEST

START_TEST(round_robin_cursor_file_spans_objects)
{
	csdk_provider *ps[] = { open_with("example", NULL), open_with("flaky", NULL) };
	const char *path = t_fmt("%s/state/csdk/round-robin", t_tmpdir());
	csdk_compute_options opts = CSDK_COMPUTE_OPTIONS_INIT;
	const char *seen[4];
	char buf[32] = "";
	FILE *fp;

	opts.strategy = CSDK_STRATEGY_ROUND_ROBIN;
	opts.cursor_path = path;
	for (int i = 0; i < 4; i++) {
		csdk_compute *c = NULL;

		/* A new object each time, as each csdk command is a new process. */
		ck_assert_int_eq(csdk_compute_new(&c, &opts), 0);
		csdk_compute_add(c, ps[0]);
		csdk_compute_add(c, ps[1]);
		seen[i] = create_where(c, NULL);
		csdk_compute_free(c);
	}
	ck_assert_str_eq(seen[0], "example");
	ck_assert_str_eq(seen[1], "flaky");
	ck_assert_str_eq(seen[2], "example");
	ck_assert_str_eq(seen[3], "flaky");
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	ck_assert_str_eq(buf, "4\n");
	ck_assert_int_eq(access(t_fmt("%s.%ld.tmp", path, (long)getpid()), F_OK), -1);
	csdk_provider_close(ps[0]);
	csdk_provider_close(ps[1]);
}
END_TEST

/* One process's share of the concurrent round-robin test: how many of its creates went to example, or 255. */
static int round_robin_child(const char *path, int creates)
{
	csdk_provider *ps[] = { open_with("example", NULL), open_with("flaky", NULL) };
	csdk_compute_options opts = CSDK_COMPUTE_OPTIONS_INIT;
	int examples = 0;

	opts.strategy = CSDK_STRATEGY_ROUND_ROBIN;
	opts.cursor_path = path;
	for (int i = 0; i < creates; i++) {
		csdk_compute *c = NULL;
		csdk_sandbox *sb = NULL;

		if (csdk_compute_new(&c, &opts) || csdk_compute_add(c, ps[0]) || csdk_compute_add(c, ps[1]) ||
		    csdk_compute_create(&sb, c, NULL))
			return 255;
		examples += !strcmp(csdk_provider_name(csdk_sandbox_provider(sb)), "example");
		csdk_sandbox_free(sb);
		csdk_compute_free(c);
	}
	return examples;
}

/* Processes creating at the same time take turns: no turn is lost or taken twice. */
START_TEST(round_robin_cursor_file_is_shared_by_processes)
{
	enum { PROCS = 4, CREATES = 40 };
	const char *path = t_fmt("%s/state/csdk/round-robin-shared", t_tmpdir());
	int examples = 0, status;
	char buf[32] = "";
	pid_t pids[PROCS];
	FILE *fp;

	for (int i = 0; i < PROCS; i++) {
		ck_assert_int_ge(pids[i] = fork(), 0);
		if (pids[i] == 0)
			_exit(round_robin_child(path, CREATES));
	}
	for (int i = 0; i < PROCS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 255, "a process failed to create");
		examples += WEXITSTATUS(status);
	}
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	ck_assert_str_eq(buf, t_fmt("%d\n", PROCS * CREATES));
	ck_assert_int_eq(examples, PROCS * CREATES / 2);
}
END_TEST

START_TEST(fallback_moves_past_a_failure)
{
	csdk_provider *ps[] = { open_with("flaky", "fail=create", NULL), open_with("example", NULL) };
	csdk_compute *c = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 2);

	ck_assert_str_eq(create_where(c, NULL), "example");
	ck_assert_int_eq(csdk_error_last()->code, 0);
	csdk_compute_free(c);
	/* Round-robin falls back too, starting from its turn. */
	c = compute_of(CSDK_STRATEGY_ROUND_ROBIN, 1, ps, 2);
	ck_assert_str_eq(create_where(c, NULL), "example");
	ck_assert_str_eq(create_where(c, NULL), "example");
	csdk_compute_free(c);
	csdk_provider_close(ps[0]);
	csdk_provider_close(ps[1]);
}
END_TEST

START_TEST(no_fallback_returns_the_first_failure)
{
	csdk_provider *ps[] = { open_with("flaky", "fail=create", "code=timeout", NULL), open_with("example", NULL) };
	csdk_compute *c = compute_of(CSDK_STRATEGY_PRIORITY, 0, ps, 2);
	csdk_sandbox *sb = NULL;

	ck_assert_int_eq(csdk_compute_create(&sb, c, NULL), CSDK_ETIMEOUT);
	ck_assert_ptr_null(sb);
	ck_assert_str_eq(csdk_error_last()->message, "flaky create failed (FLAKY_FAIL)");
	ck_assert_str_eq(csdk_error_last()->provider, "flaky");
	ck_assert_uint_eq(count_of(ps[1]), 0);
	csdk_compute_free(c);
	csdk_provider_close(ps[0]);
	csdk_provider_close(ps[1]);
}
END_TEST

START_TEST(every_provider_failing_gives_one_error)
{
	csdk_provider *ps[] = {
		open_with("flaky", "fail=create", NULL),
		open_with("flaky2", "fail=create", "message=quota exceeded; raise it in the console", NULL),
	};
	csdk_compute *c = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 2);
	csdk_sandbox *sb = NULL;

	ck_assert_int_eq(csdk_compute_create(&sb, c, NULL), CSDK_EBACKEND);
	ck_assert_str_eq(csdk_error_last()->message,
		"Failed to create sandbox across 2 provider(s).\n"
		"- flaky: flaky create failed (FLAKY_FAIL)\n"
		"- flaky2: quota exceeded; raise it in the console");
	ck_assert_ptr_null(csdk_error_last()->provider);
	csdk_compute_free(c);
	csdk_provider_close(ps[0]);
	csdk_provider_close(ps[1]);
}
END_TEST

START_TEST(aggregated_code_is_shared_or_backend)
{
	csdk_provider *a = open_with("flaky", "fail=create", "code=timeout", NULL);
	csdk_provider *b = open_with("flaky2", "fail=create", "code=timeout", NULL);
	csdk_provider *ps[] = { a, b };
	csdk_compute *c = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 2);
	csdk_sandbox *sb = NULL;

	ck_assert_int_eq(csdk_compute_create(&sb, c, NULL), CSDK_ETIMEOUT);
	csdk_compute_free(c);
	csdk_provider_close(b);
	b = open_with("flaky2", "fail=create", NULL);
	ps[1] = b;
	c = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 2);
	ck_assert_int_eq(csdk_compute_create(&sb, c, NULL), CSDK_EBACKEND);
	csdk_compute_free(c);
	csdk_provider_close(a);
	csdk_provider_close(b);
}
END_TEST

START_TEST(unavailable_provider_is_named_in_the_error)
{
	csdk_provider_options popts = CSDK_PROVIDER_OPTIONS_INIT;
	struct csdk_kv init_fails[] = { { "fail", "init,create" } };
	csdk_compute *c = NULL;
	csdk_sandbox *sb = NULL;

	popts.registry = reg();
	ck_assert_int_eq(csdk_compute_new(&c, NULL), 0);
	popts.config = init_fails;
	popts.n_config = 1;
	ck_assert_int_eq(csdk_compute_open(c, "flaky", &popts), CSDK_EBACKEND);
	ck_assert_str_eq(csdk_error_last()->message, "flaky init failed (FLAKY_FAIL)");
	popts.config = NULL;
	popts.n_config = 0;
	ck_assert_int_eq(csdk_compute_open(c, "nosuch", &popts), CSDK_ENOTFOUND);
	ck_assert_uint_eq(csdk_compute_count(c), 2);
	ck_assert_ptr_null(csdk_compute_provider(c, "flaky"));
	ck_assert_int_eq(csdk_compute_create(&sb, c, NULL), CSDK_EBACKEND);
	ck_assert_str_eq(csdk_error_last()->message,
		t_fmt("Failed to create sandbox across 2 provider(s).\n"
		      "- flaky: flaky init failed (FLAKY_FAIL)\n"
		      "- nosuch: unknown provider 'nosuch' (available: example, flaky, flaky2, local); run 'csdk-plugins --paths' to see where plugins are searched"));
	/* Once it is up, an available provider takes the work. */
	ck_assert_int_eq(csdk_compute_open(c, "example", &popts), 0);
	ck_assert_int_eq(csdk_compute_create(&sb, c, NULL), 0);
	ck_assert_str_eq(csdk_provider_name(csdk_sandbox_provider(sb)), "example");
	csdk_sandbox_free(sb);
	csdk_compute_free(c);
}
END_TEST

START_TEST(named_provider_does_not_fall_back)
{
	csdk_provider *ps[] = { open_with("example", NULL), open_with("flaky", "fail=create", NULL) };
	csdk_compute *c = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 2);

	ck_assert_str_eq(create_where(c, "flaky"), "error: flaky create failed (FLAKY_FAIL)");
	ck_assert_int_eq(csdk_error_last()->code, CSDK_EBACKEND);
	ck_assert_str_eq(create_where(c, "nope"), "error: unknown provider 'nope'; configured providers: example, flaky");
	ck_assert_int_eq(csdk_error_last()->code, CSDK_ENOTFOUND);
	ck_assert_uint_eq(count_of(ps[0]), 0);
	ck_assert_str_eq(create_where(c, "example"), "example");
	csdk_compute_free(c);
	csdk_provider_close(ps[0]);
	csdk_provider_close(ps[1]);
}
END_TEST

/* ------------------------------------------------------------- cancellation */

START_TEST(provider_cancellation_is_not_retried)
{
	csdk_provider *ps[] = { open_with("flaky", "fail=create", "code=cancelled", NULL), open_with("example", NULL) };
	csdk_compute *c = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 2);
	csdk_sandbox *sb = NULL;

	ck_assert_int_eq(csdk_compute_create(&sb, c, NULL), CSDK_ECANCELLED);
	ck_assert_str_eq(csdk_error_last()->message, "flaky create failed (FLAKY_FAIL)");
	ck_assert_uint_eq(count_of(ps[1]), 0);
	csdk_compute_free(c);
	csdk_provider_close(ps[0]);
	csdk_provider_close(ps[1]);
}
END_TEST

struct canceller {
	csdk_cancel *cancel;
	long after_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *k = arg;
	struct timespec ts = { 0, k->after_ms * 1000000L };

	nanosleep(&ts, NULL);
	csdk_cancel_request(k->cancel);
	return NULL;
}

/* The cancel comes 50 ms into a create of 5 s: in time however late a loaded
 * machine runs the cancelling thread. */
START_TEST(cancel_from_another_thread_destroys_the_late_sandbox)
{
	csdk_provider *ps[] = { open_with("flaky", "delay_ms=5000", NULL), open_with("example", NULL) };
	csdk_compute *c = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 2);
	csdk_compute_create_options o = CSDK_COMPUTE_CREATE_OPTIONS_INIT;
	struct canceller k = { NULL, 50 };
	csdk_sandbox *sb = NULL;
	pthread_t t;

	ck_assert_int_eq(csdk_cancel_new(&k.cancel), 0);
	o.cancel = k.cancel;
	ck_assert_int_eq(pthread_create(&t, NULL, cancel_later, &k), 0);
	ck_assert_int_eq(csdk_compute_create(&sb, c, &o), CSDK_ECANCELLED);
	pthread_join(t, NULL);
	ck_assert_ptr_null(sb);
	ck_assert_str_eq(csdk_error_last()->message, "sandbox creation was cancelled");
	ck_assert_uint_eq(count_of(ps[0]), 0); /* created, then destroyed: not leaked */
	ck_assert_uint_eq(count_of(ps[1]), 0); /* not retried elsewhere */
	/* A token cancelled before the call stops it before any provider is asked. */
	ck_assert_int_eq(csdk_compute_create(&sb, c, &o), CSDK_ECANCELLED);
	ck_assert_uint_eq(count_of(ps[1]), 0);
	csdk_cancel_free(k.cancel);
	csdk_compute_free(c);
	csdk_provider_close(ps[0]);
	csdk_provider_close(ps[1]);
}
END_TEST

/* ----------------------------------------------------------------- affinity */

START_TEST(get_goes_to_the_affine_provider_first)
{
	csdk_provider *ps[] = { open_with("flaky2", "fail=get", NULL), open_with("flaky", NULL) };
	csdk_compute *c = compute_of(CSDK_STRATEGY_PRIORITY, 0, ps, 2);
	csdk_compute *fresh = compute_of(CSDK_STRATEGY_PRIORITY, 0, ps, 2);
	csdk_sandbox *sb = NULL, *got = NULL;

	ck_assert_str_eq(create_where(c, "flaky"), "flaky");
	/* Without fallback a failing flaky2 would stop the search: only affinity reaches flaky. */
	ck_assert_int_eq(csdk_compute_get(&got, c, NULL, "flaky-1"), 0);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(csdk_provider_name(csdk_sandbox_provider(got)), "flaky");
	csdk_sandbox_free(got);
	got = NULL;
	ck_assert_int_eq(csdk_compute_get(&got, fresh, NULL, "flaky-1"), CSDK_EBACKEND);
	ck_assert_str_eq(csdk_error_last()->message, "flaky get failed (FLAKY_FAIL)");
	/* A qualified id is the same hint for a compute that never saw the sandbox. */
	ck_assert_int_eq(csdk_compute_get(&got, fresh, "flaky", "flaky-1"), 0);
	ck_assert_ptr_nonnull(got);
	csdk_sandbox_free(got);
	/* A named provider is the only one asked: flaky2 is not, so its failure does not show. */
	ck_assert_int_eq(csdk_compute_get(&got, fresh, "flaky", "flaky-9"), 0);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(csdk_compute_get(&got, fresh, "nope", "flaky-1"), CSDK_ENOTFOUND);
	ck_assert_str_eq(csdk_error_last()->message, "unknown provider 'nope'; configured providers: flaky2, flaky");
	csdk_sandbox_free(sb);
	csdk_compute_free(c);
	csdk_compute_free(fresh);
	csdk_provider_close(ps[0]);
	csdk_provider_close(ps[1]);
}
END_TEST

START_TEST(get_with_fallback_aggregates_failures)
{
	csdk_provider *ps[] = { open_with("flaky2", "fail=get", NULL), open_with("flaky", NULL) };
	csdk_compute *c = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 2);
	csdk_sandbox *got = NULL;

	ck_assert_str_eq(create_where(c, "flaky"), "flaky");
	csdk_compute_free(c);
	c = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 2);
	ck_assert_int_eq(csdk_compute_get(&got, c, NULL, "flaky-1"), 0);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(csdk_error_last()->code, 0);
	csdk_sandbox_free(got);
	got = NULL;
	ck_assert_int_eq(csdk_compute_get(&got, c, NULL, "flaky-7"), CSDK_EBACKEND);
	ck_assert_str_eq(csdk_error_last()->message,
		"Failed to get sandbox 'flaky-7' across 2 provider(s).\n- flaky2: flaky get failed (FLAKY_FAIL)\n- flaky: no such sandbox");
	csdk_compute_free(c);
	csdk_provider_close(ps[0]);
	csdk_provider_close(ps[1]);
}
END_TEST

START_TEST(destroy_finds_the_sandbox_before_destroying)
{
	csdk_provider *ps[] = { open_with("example", NULL), open_with("flaky", NULL) };
	csdk_compute *c = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 2);
	csdk_compute *fresh = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 2);

	ck_assert_str_eq(create_where(c, "flaky"), "flaky");
	ck_assert_str_eq(create_where(c, "flaky"), "flaky");
	/* example's destroy succeeds for any id: it must not be taken for flaky's. */
	ck_assert_int_eq(csdk_compute_destroy(c, NULL, "flaky-1"), 0);
	ck_assert_uint_eq(count_of(ps[1]), 1);
	ck_assert_int_eq(csdk_compute_destroy(fresh, NULL, "flaky-2"), 0);
	ck_assert_uint_eq(count_of(ps[1]), 0);
	ck_assert_int_eq(csdk_compute_destroy(fresh, NULL, "flaky-2"), 0);
	ck_assert_int_eq(csdk_compute_destroy(fresh, "nope", "flaky-2"), CSDK_ENOTFOUND);
	csdk_compute_free(c);
	csdk_compute_free(fresh);
	csdk_provider_close(ps[0]);
	csdk_provider_close(ps[1]);
}
END_TEST

START_TEST(list_concatenates_in_provider_order)
{
	csdk_provider *ps[] = { open_with("local", NULL), open_with("example", NULL), open_with("flaky2", "fail=list", NULL) };
	csdk_compute *c = compute_of(CSDK_STRATEGY_PRIORITY, 1, ps, 3);
	csdk_sandbox_list *l = NULL;

	ck_assert_str_eq(create_where(c, "example"), "example");
	ck_assert_str_eq(create_where(c, "local"), "local");
	ck_assert_str_eq(create_where(c, "example"), "example");
	ck_assert_int_eq(csdk_compute_list(&l, c), 0);
	ck_assert_uint_eq(l->count, 3);
	ck_assert_str_eq(csdk_provider_name(csdk_sandbox_provider(l->sandboxes[0])), "local");
	ck_assert_str_eq(csdk_provider_name(csdk_sandbox_provider(l->sandboxes[1])), "example");
	ck_assert_str_eq(csdk_provider_name(csdk_sandbox_provider(l->sandboxes[2])), "example");
	ck_assert_int_eq(csdk_compute_destroy(c, NULL, csdk_sandbox_id(l->sandboxes[0])), 0);
	csdk_sandbox_list_free(l);
	csdk_compute_free(c);
	c = compute_of(CSDK_STRATEGY_PRIORITY, 0, ps, 3);
	ck_assert_int_eq(csdk_compute_list(&l, c), CSDK_EBACKEND);
	ck_assert_str_eq(csdk_error_last()->message, "flaky list failed (FLAKY_FAIL)");
	csdk_compute_free(c);
	c = compute_of(CSDK_STRATEGY_PRIORITY, 1, &ps[2], 1);
	ck_assert_int_eq(csdk_compute_list(&l, c), CSDK_EBACKEND);
	/* one provider: its own error, not a list of one */
	ck_assert_str_eq(csdk_error_last()->message, "flaky list failed (FLAKY_FAIL)");
	ck_assert_str_eq(csdk_error_last()->provider, "flaky2");
	csdk_compute_free(c);
	for (size_t i = 0; i < 3; i++)
		csdk_provider_close(ps[i]);
}
END_TEST

START_TEST(providers_are_deduplicated_by_name)
{
	csdk_provider *a = open_with("example", NULL), *b = open_with("example", NULL);
	csdk_compute *c = NULL;

	ck_assert_int_eq(csdk_compute_new(&c, NULL), 0);
	ck_assert_int_eq(csdk_compute_add(c, a), 0);
	ck_assert_int_eq(csdk_compute_add(c, b), 0);
	ck_assert_uint_eq(csdk_compute_count(c), 1);
	ck_assert_ptr_eq(csdk_compute_provider(c, "example"), a);
	csdk_provider_close(a);
	csdk_provider_close(b);
	/* The compute holds its own reference. */
	ck_assert_str_eq(create_where(c, NULL), "example");
	csdk_compute_free(c);
}
END_TEST

/* ------------------------------------------------------ configuration file */

static const char *parse_error(const char *text)
{
	csdk_user_config *cfg = NULL;
	int rc = csdk_user_config_parse(&cfg, "cfg", text);

	ck_assert_ptr_null(cfg);
	ck_assert_int_eq(rc, CSDK_ECONFIG);
	return t_fmt("%s", csdk_error_last()->message);
}

START_TEST(config_file_is_parsed)
{
	csdk_user_config *cfg = NULL;

	ck_assert_int_eq(csdk_user_config_parse(&cfg, "cfg",
		"# my providers\n"
		"\n"
		"[csdk]\n"
		"  default = example\n"
		"providers = local,  example\t\n"
		"strategy = round-robin\n"
		"fallback = false\n"
		"\n"
		"[provider example]\n"
		"api_key = \"s3cr#t with spaces\"   # quoted: the # stays\n"
		"[provider local]\n"
		"state_dir = /var/lib/csdk#1   # a comment after white space\n"
		"python = #python3\n"), 0);
	ck_assert_str_eq(csdk_user_config_default(cfg), "example");
	ck_assert_uint_eq(csdk_user_config_provider_count(cfg), 2);
	ck_assert_str_eq(csdk_user_config_provider_at(cfg, 0), "local");
	ck_assert_str_eq(csdk_user_config_provider_at(cfg, 1), "example");
	ck_assert_int_eq(csdk_user_config_strategy(cfg), CSDK_STRATEGY_ROUND_ROBIN);
	ck_assert_int_eq(csdk_user_config_fallback(cfg), 0);
	ck_assert_str_eq(csdk_user_config_get(cfg, "example", "api_key"), "s3cr#t with spaces");
	ck_assert_ptr_null(csdk_user_config_get(cfg, "local", "api_key"));
	ck_assert_str_eq(csdk_user_config_get(cfg, "local", "state_dir"), "/var/lib/csdk#1");
	ck_assert_str_eq(csdk_user_config_get(cfg, "local", "python"), "#python3");
	csdk_user_config_free(cfg);
	/* [pool NAME] sections become their provider's pools key, memory in bytes */
	ck_assert_int_eq(csdk_user_config_parse(&cfg, "cfg", "[csdk]\nproviders = local, example\n[pool py]\nsize = 2\ntemplate = tpl-0123456789abcdef\n"
						      "[pool big]\nsize = 1\ncpus = 0.5\nmemory = 1G\nnetwork = host\n[pool other]\nprovider = example\nsize = 3\n"), 0);
	ck_assert_str_eq(csdk_user_config_get(cfg, "local", "pools"), "py:size=2,template=tpl-0123456789abcdef;big:size=1,cpus=0.5,memory=1073741824,network=host");
	ck_assert_str_eq(csdk_user_config_get(cfg, "example", "pools"), "other:size=3");
	csdk_user_config_free(cfg);
	ck_assert_int_eq(csdk_user_config_parse(&cfg, "cfg", ""), 0);
	ck_assert_ptr_null(csdk_user_config_default(cfg));
	ck_assert_int_eq(csdk_user_config_strategy(cfg), CSDK_STRATEGY_PRIORITY);
	ck_assert_int_eq(csdk_user_config_fallback(cfg), 1);
	csdk_user_config_free(cfg);
}
END_TEST

START_TEST(config_file_errors_name_the_line_and_the_fix)
{
	ck_assert_str_eq(parse_error("[csdk]\nstrategy = fastest\n"), "cfg:2: unknown strategy 'fastest'; use priority or round-robin");
	ck_assert_str_eq(parse_error("[csdk]\nfallback = maybe\n"), "cfg:2: fallback must be true or false, not 'maybe'");
	ck_assert_str_eq(parse_error("default = local\n"), "cfg:1: 'default' is outside any section; put it under [csdk] or [provider NAME]");
	ck_assert_str_eq(parse_error("[compute]\n"), "cfg:1: unknown section [compute]; use [csdk], [provider NAME], [pool NAME] or [serve]");
	ck_assert_str_eq(parse_error("[pool Big]\n"), "cfg:1: 'Big' is not a pool name; write [pool NAME] with a name such as python or big");
	ck_assert_str_eq(parse_error("[pool big]\nsize = 1\n[pool big]\n"), "cfg:3: [pool big] is already on line 1; give each pool one section and its own name");
	ck_assert_str_eq(parse_error("[pool big]\ncpus = 2\n"), "cfg:1: [pool big] has no size; add 'size = N', the number of ready sandboxes to keep");
	ck_assert_str_eq(parse_error("[pool big]\nsize = 1001\n"), "cfg:2: size '1001' of [pool big] is not a number from 1 to 1000; give the number of ready sandboxes to keep");
	ck_assert_str_eq(parse_error("[pool big]\nsize = 1\nmemory = 4X\n"), "cfg:3: memory '4X' of [pool big] is not a size; give bytes, or a number with K, M, G or T such as 512M");
	ck_assert_str_eq(parse_error("[pool big]\nsize = 1\ncpus = many\n"), "cfg:3: cpus 'many' of [pool big] is not a number of CPUs from 0.01 to 1024, such as 0.5 or 2");
	ck_assert_str_eq(parse_error("[pool big]\nsize = 1\nimage = x\n"), "cfg:3: unknown key 'image' in [pool big]; known keys: provider, size, template, cpus, memory, network");
	ck_assert_str_eq(parse_error("[pool big]\nsize = 1\ntemplate = a;b\n"), "cfg:3: 'template' of [pool big] is empty or holds one of , ; : =; give a plain value");
	ck_assert_str_eq(parse_error("[provider local]\npools = a:size=1\n[pool big]\nsize = 1\n"),
			 "cfg:3: [pool big] and 'pools' on line 2 both give pools of provider 'local'; keep the [pool NAME] sections or the key");
	ck_assert_str_eq(parse_error("[provider Docker]\n"), "cfg:1: 'Docker' is not a provider name; write [provider NAME] with a name such as local or docker");
	ck_assert_str_eq(parse_error("[csdk\n"), "cfg:1: section header without ']'; write [csdk] or [provider NAME]");
	ck_assert_str_eq(parse_error("[csdk]\n\nproviders local\n"), "cfg:3: expected KEY = VALUE, a [section] or a # comment; add the '=' or start the line with #");
	ck_assert_str_eq(parse_error("[csdk]\ncolour = blue\n"), "cfg:2: unknown key 'colour' in [csdk]; known keys: default, providers, strategy, fallback");
	ck_assert_str_eq(parse_error("[provider local]\nstate_dir = /a\nstate_dir = /b\n"), "cfg:3: 'state_dir' is already set on line 2; keep one of the two");
	ck_assert_str_eq(parse_error("[csdk]\nproviders = local, local\n"), "cfg:2: provider 'local' is listed twice in providers; list each provider once");
	ck_assert_str_eq(parse_error("[csdk]\nproviders = local\ndefault = docker\n"), "cfg:3: default provider 'docker' is not in providers; add it to providers or change default");
	ck_assert_str_eq(parse_error("[provider local]\npython = \"python3\n"), "cfg:2: the value of 'python' opens a quote that does not close; add the closing '\"'");
	ck_assert_str_eq(parse_error("[provider local]\npython = \"py\" thon\n"), "cfg:2: text after the quoted value of 'python'; put it inside the quotes or after a #");
}
END_TEST

START_TEST(config_file_location)
{
	const char *dir = t_tmpdir();
	const char *path = t_fmt("%s/csdk/config", dir);
	csdk_user_config *cfg = NULL;
	FILE *fp;

	unsetenv("CSDK_CONFIG");
	setenv("XDG_CONFIG_HOME", dir, 1);
	ck_assert_int_eq(csdk_user_config_load(&cfg, NULL), 0);
	ck_assert_ptr_null(csdk_user_config_path(cfg));
	csdk_user_config_free(cfg);
	t_mkdirs(t_fmt("%s/csdk", dir));
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs("[csdk]\ndefault = example\n", fp);
	fclose(fp);
	chmod(path, 0644);
	ck_assert_int_eq(csdk_user_config_load(&cfg, NULL), 0);
	ck_assert_str_eq(csdk_user_config_path(cfg), path);
	ck_assert_str_eq(csdk_user_config_default(cfg), "example");
	ck_assert_int_eq(csdk_user_config_exposed(cfg), 1);
	csdk_user_config_free(cfg);
	chmod(path, 0600);
	ck_assert_int_eq(csdk_user_config_load(&cfg, NULL), 0);
	ck_assert_int_eq(csdk_user_config_exposed(cfg), 0);
	csdk_user_config_free(cfg);
	setenv("CSDK_CONFIG", t_fmt("%s/missing", dir), 1);
	ck_assert_int_eq(csdk_user_config_load(&cfg, NULL), CSDK_ENOTFOUND);
	ck_assert_str_eq(csdk_error_last()->message,
		t_fmt("cannot read the configuration file %s/missing: No such file or directory; create it, or point CSDK_CONFIG at an existing file", dir));
	unsetenv("CSDK_CONFIG");
}
END_TEST

static csdk_config_entries *resolve(const csdk_user_config *cfg, const char *plugin, const struct csdk_kv *given, size_t n)
{
	csdk_config_entries *e = NULL;

	ck_assert_msg(csdk_user_config_resolve(&e, cfg, csdk_registry_find(reg(), plugin), given, n) == 0,
		      "%s", csdk_error_last()->message);
	return e;
}

/* The effective api_key of example opened from entries. */
static const char *opened_api_key(const csdk_config_entries *e)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	csdk_provider *p = NULL;
	struct csdk_kv *kv = NULL;
	const char *v;
	size_t n;

	ck_assert_int_eq(csdk_config_entries_to_kv(&kv, &n, e), 0);
	opts.config = kv;
	opts.n_config = n;
	opts.registry = reg();
	ck_assert_int_eq(csdk_provider_open(&p, "example", &opts), 0);
	v = csdk_provider_config(p, "api_key");
	v = v ? t_fmt("%s", v) : NULL;
	csdk_provider_close(p);
	csdk_free(kv);
	return v;
}

START_TEST(precedence_command_line_environment_file_default)
{
	struct csdk_kv given[] = { { "api_key", "from-cli" } };
	csdk_user_config *cfg = NULL, *empty = NULL;
	csdk_config_entries *e;

	ck_assert_int_eq(csdk_user_config_parse(&cfg, "cfg", "[provider example]\n\napi_key = from-file\n"), 0);
	ck_assert_int_eq(csdk_user_config_parse(&empty, "cfg", ""), 0);
	setenv("EXAMPLE_API_KEY", "from-env", 1);

	e = resolve(cfg, "example", given, 1);
	ck_assert_uint_eq(e->count, 1);
	ck_assert_str_eq(e->entries[0].value, "from-cli");
	ck_assert_int_eq(e->entries[0].source, CSDK_CONFIG_FROM_COMMAND_LINE);
	ck_assert_str_eq(e->entries[0].origin, "--config");
	ck_assert_str_eq(opened_api_key(e), "from-cli");
	csdk_config_entries_free(e);

	e = resolve(cfg, "example", NULL, 0);
	ck_assert_str_eq(e->entries[0].value, "from-env");
	ck_assert_int_eq(e->entries[0].source, CSDK_CONFIG_FROM_ENVIRONMENT);
	ck_assert_str_eq(e->entries[0].origin, "EXAMPLE_API_KEY");
	ck_assert_str_eq(opened_api_key(e), "from-env");
	csdk_config_entries_free(e);

	unsetenv("EXAMPLE_API_KEY");
	e = resolve(cfg, "example", NULL, 0);
	ck_assert_str_eq(e->entries[0].value, "from-file");
	ck_assert_int_eq(e->entries[0].source, CSDK_CONFIG_FROM_FILE);
	ck_assert_str_eq(e->entries[0].origin, "cfg:3");
	ck_assert_str_eq(opened_api_key(e), "from-file");
	csdk_config_entries_free(e);

	e = resolve(empty, "example", NULL, 0);
	ck_assert_ptr_null(e->entries[0].value);
	ck_assert_ptr_null(e->entries[0].origin);
	ck_assert_int_eq(e->entries[0].source, CSDK_CONFIG_FROM_DEFAULT);
	ck_assert_ptr_null(opened_api_key(e));
	csdk_config_entries_free(e);
	ck_assert_str_eq(csdk_config_source_name(CSDK_CONFIG_FROM_ENVIRONMENT), "environment");
	csdk_user_config_free(cfg);
	csdk_user_config_free(empty);
}
END_TEST

START_TEST(secrets_are_masked)
{
	csdk_user_config *cfg = NULL;
	csdk_config_entries *e;

	unsetenv("FLAKY_TOKEN");
	unsetenv("FLAKY_FAIL");
	ck_assert_int_eq(csdk_user_config_parse(&cfg, "cfg", "[provider flaky]\ntoken = hunter2\nfail = get\n"), 0);
	e = resolve(cfg, "flaky", NULL, 0);
	ck_assert_uint_eq(e->count, 5);
	ck_assert_str_eq(e->entries[0].key, "fail");
	ck_assert_str_eq(e->entries[0].shown, "get");
	ck_assert_str_eq(e->entries[4].key, "token");
	ck_assert_str_eq(e->entries[4].value, "hunter2");
	ck_assert_str_eq(e->entries[4].shown, "***");
	ck_assert_uint_eq(e->entries[4].flags & CSDK_CONFIG_SECRET, CSDK_CONFIG_SECRET);
	ck_assert_ptr_null(e->entries[1].shown);
	csdk_config_entries_free(e);
	csdk_user_config_free(cfg);
}
END_TEST

START_TEST(unknown_provider_key_in_the_file)
{
	csdk_user_config *cfg = NULL;
	csdk_config_entries *e = NULL;
	struct csdk_kv given[] = { { "apikey", "x" } };

	ck_assert_int_eq(csdk_user_config_parse(&cfg, "cfg", "[provider example]\napi_key = a\napi_kye = b\n"), 0);
	ck_assert_int_eq(csdk_user_config_resolve(&e, cfg, csdk_registry_find(reg(), "example"), NULL, 0), CSDK_ECONFIG);
	ck_assert_str_eq(csdk_error_last()->message, "cfg:3: unknown key 'api_kye' for provider 'example'; known keys: api_key");
	ck_assert_int_eq(csdk_user_config_resolve(&e, NULL, csdk_registry_find(reg(), "example"), given, 1), CSDK_ECONFIG);
	ck_assert_str_eq(csdk_error_last()->message, "unknown configuration key 'apikey' for provider 'example'; known keys: api_key");
	ck_assert_ptr_null(e);
	csdk_user_config_free(cfg);
	ck_assert_int_eq(csdk_user_config_parse(&cfg, "cfg", "[provider example]\napi_key = a\n\n[pool big]\nprovider = example\nsize = 2\n"), 0);
	ck_assert_int_eq(csdk_user_config_resolve(&e, cfg, csdk_registry_find(reg(), "example"), NULL, 0), CSDK_ECONFIG);
	ck_assert_str_eq(csdk_error_last()->message, "cfg:4: provider 'example' keeps no pools; remove the [pool] sections that name it, or give them 'provider = local'");
	csdk_user_config_free(cfg);
}
END_TEST

static Suite *compute_suite(void)
{
	Suite *s = suite_create("compute");
	TCase *tc = tcase_create("routing");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, priority_always_starts_first);
	tcase_add_test(tc, round_robin_takes_turns);
	tcase_add_test(tc, round_robin_cursor_file_spans_objects);
	tcase_add_test(tc, round_robin_cursor_file_is_shared_by_processes);
	tcase_add_test(tc, fallback_moves_past_a_failure);
	tcase_add_test(tc, no_fallback_returns_the_first_failure);
	tcase_add_test(tc, every_provider_failing_gives_one_error);
	tcase_add_test(tc, aggregated_code_is_shared_or_backend);
	tcase_add_test(tc, unavailable_provider_is_named_in_the_error);
	tcase_add_test(tc, named_provider_does_not_fall_back);
	tcase_add_test(tc, provider_cancellation_is_not_retried);
	tcase_add_test(tc, cancel_from_another_thread_destroys_the_late_sandbox);
	tcase_add_test(tc, get_goes_to_the_affine_provider_first);
	tcase_add_test(tc, get_with_fallback_aggregates_failures);
	tcase_add_test(tc, destroy_finds_the_sandbox_before_destroying);
	tcase_add_test(tc, list_concatenates_in_provider_order);
	tcase_add_test(tc, providers_are_deduplicated_by_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("configuration");
	tcase_add_test(tc, config_file_is_parsed);
	tcase_add_test(tc, config_file_errors_name_the_line_and_the_fix);
	tcase_add_test(tc, config_file_location);
	tcase_add_test(tc, precedence_command_line_environment_file_default);
	tcase_add_test(tc, secrets_are_masked);
	tcase_add_test(tc, unknown_provider_key_in_the_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* The flaky variables would steer every flaky provider the suite opens. */
	unsetenv("FLAKY_FAIL");
	unsetenv("FLAKY_CODE");
	unsetenv("FLAKY_MESSAGE");
	unsetenv("FLAKY_DELAY_MS");
	unsetenv("EXAMPLE_API_KEY");
	return t_run_suite(compute_suite());
}
