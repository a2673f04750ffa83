/*
 * Concurrency and durability of the local provider's state: many threads
 * creating, using and destroying sandboxes; many processes racing on one
 * find_or_create name; processes (the library's and the csdk command's)
 * killed with SIGKILL in the middle of creates, metadata writes and
 * destroys. Afterwards every sandbox directory must be listable and
 * destroyable, or absent.
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
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "containment.h"

#define THREADS 16
#define ITERATIONS 10
#define RACERS 20

struct worker {
	csdk_provider *p;
	int n, errors;
	char first[256];
};

static void worker_fail(struct worker *w, const char *what)
{
	if (!w->errors++)
		snprintf(w->first, sizeof(w->first), "worker %d: %s: %s", w->n, what, csdk_error_last()->message);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < ITERATIONS; i++) {
		struct csdk_create_options co = CSDK_CREATE_OPTIONS_INIT;
		struct csdk_kv env = { "CT_MARK", ct_marker() };
		csdk_sandbox *sb = NULL;
		csdk_result *r = NULL;
		char *cmd = ct_fmt("echo %d-%d", w->n, i), *data = NULL;
		size_t len;

		co.envs = &env;
		co.n_envs = 1;
		if (csdk_sandbox_create(&sb, w->p, &co)) {
			worker_fail(w, "create");
			free(cmd);
			continue;
		}
		if (csdk_sandbox_run_command(&r, sb, cmd, NULL) || r->exit_code != 0 || strncmp(r->stdout_buf, cmd + 5, strlen(cmd + 5)))
			worker_fail(w, "run");
		if (csdk_fs_write(sb, "f.txt", cmd, strlen(cmd)) || csdk_fs_read(&data, &len, sb, "f.txt") || strcmp(data, cmd))
			worker_fail(w, "fs");
		if (csdk_sandbox_destroy(sb))
			worker_fail(w, "destroy");
		csdk_free(data);
		csdk_result_free(r);
		csdk_sandbox_free(sb);
		free(cmd);
	}
	return NULL;
}

static void assert_empty_state(const char *state)
{
	char desc[512];

	ck_assert_str_eq(ct_listdir(ct_fmt("%s/sandboxes", state)), "");
	ck_assert_str_eq(ct_listdir(ct_fmt("%s/trash", state)), "");
	ck_assert_msg(ct_survivors_wait(ct_marker(), 60000, desc, sizeof(desc)) == 0, "survivors: %s", desc);
}

START_TEST(test_threads)
{
	const char *state = ct_tmpdir();
	csdk_provider *p = ct_open(state, "bwrap", NULL);
	struct worker w[THREADS];
	pthread_t t[THREADS];
	csdk_sandbox_list *l = NULL;
	int i;

	for (i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].p = p;
		w[i].n = i;
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < THREADS; i++)
		ck_assert_msg(w[i].errors == 0, "%d errors; first: %s", w[i].errors, w[i].first);
	ck_assert_int_eq(csdk_sandbox_list_all(&l, p), 0);
	ck_assert_uint_eq(l->count, 0);
	csdk_sandbox_list_free(l);
	assert_empty_state(state);
	csdk_provider_close(p);
}
END_TEST

START_TEST(test_processes_find_or_create)
{
	const char *state = ct_tmpdir();
	int go[2], ids[2], i, status;
	pid_t pids[RACERS];
	char buf[RACERS * 64 + 1], first[64] = "";
	size_t got = 0;
	csdk_provider *p;
	csdk_sandbox_list *l = NULL;

	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(ids), 0);
	for (i = 0; i < RACERS; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			csdk_provider_options o = CSDK_PROVIDER_OPTIONS_INIT;
			struct csdk_kv kv[2] = { { "state_dir", state }, { "isolation", "bwrap" } };
			csdk_provider *cp = NULL;
			csdk_sandbox *sb = NULL;
			char line[64], c;

			close(go[1]);
			o.config = kv;
			o.n_config = 2;
			if (csdk_provider_open(&cp, "local", &o))
				_exit(2);
			if (read(go[0], &c, 1) < 0)
				_exit(3);
			if (csdk_sandbox_find_or_create(&sb, cp, NULL, "race", NULL))
				_exit(4);
			snprintf(line, sizeof(line), "%-63s", csdk_sandbox_id(sb));
			_exit(write(ids[1], line, 63) == 63 ? 0 : 5);
		}
	}
	close(go[0]);
	close(ids[1]);
	usleep(200000);
	close(go[1]);
	for (i = 0; i < RACERS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "racer %d: status %d", i, status);
	}
	for (;;) {
		ssize_t n = read(ids[0], buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(ids[0]);
	ck_assert_uint_eq(got, RACERS * 63);
	for (i = 0; i < RACERS; i++) {
		char id[64];
		memcpy(id, buf + i * 63, 63);
		id[63] = '\0';
		if (!first[0])
			strcpy(first, id);
		ck_assert_str_eq(id, first);
	}
	p = ct_open(state, "bwrap", NULL);
	ck_assert_int_eq(csdk_sandbox_list_all(&l, p), 0);
	ck_assert_uint_eq(l->count, 1);
	ck_assert_int_eq(strncmp(csdk_sandbox_id(l->sandboxes[0]), first, strlen(csdk_sandbox_id(l->sandboxes[0]))), 0);
	ck_assert_int_eq(csdk_sandbox_destroy(l->sandboxes[0]), 0);
	csdk_sandbox_list_free(l);
	assert_empty_state(state);
	csdk_provider_close(p);
}
END_TEST

/* After a list, every sandbox directory left must be listed, and destroying
 * the listed ones must leave sandboxes/ and trash/ empty. */
static void check_accountable(csdk_provider *p, const char *state, const char *when)
{
	csdk_sandbox_list *l = NULL;
	const char *before;
	char *listed = calloc(1, 1), *s;
	size_t i;

	/* list first: it removes what killed creates left half-made */
	ck_assert_msg(csdk_sandbox_list_all(&l, p) == 0, "%s: list failed: %s", when, csdk_error_last()->message);
	before = ct_listdir(ct_fmt("%s/sandboxes", state));
	for (i = 0; i < l->count; i++) {
		s = ct_fmt("%s%s%s", listed, i ? "," : "", csdk_sandbox_id(l->sandboxes[i]));
		free(listed);
		listed = s;
	}
	ck_assert_msg(!strcmp(before, listed), "%s: sandbox directories [%s] but list gives [%s]: a directory list cannot account for", when, before, listed);
	for (i = 0; i < l->count; i++)
		ck_assert_msg(csdk_sandbox_destroy(l->sandboxes[i]) == 0, "%s: destroy: %s", when, csdk_error_last()->message);
	csdk_sandbox_list_free(l);
	free(listed);
	ck_assert_msg(!strcmp(ct_listdir(ct_fmt("%s/sandboxes", state)), ""), "%s: left in sandboxes/: %s", when, ct_listdir(ct_fmt("%s/sandboxes", state)));
	ck_assert_msg(!strcmp(ct_listdir(ct_fmt("%s/trash", state)), ""), "%s: left in trash/: %s", when, ct_listdir(ct_fmt("%s/trash", state)));
}

/*
 * The SIGKILL tests kill at random moments. Their seed is printed; set
 * CSDK_TEST_SEED=N (CSDK_TEST_SEED=N make -C tests/containment check
 * TESTS=test-durability) to replay a run's kill times.
 */
static unsigned test_seed(const char *test)
{
	const char *env = getenv("CSDK_TEST_SEED");
	unsigned seed;

	if (env && *env) {
		seed = (unsigned)strtoul(env, NULL, 10);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (unsigned)getpid() ^ (unsigned)ts.tv_nsec ^ (unsigned)ts.tv_sec;
	}
	fprintf(stderr, "%s: seed %u (replay: CSDK_TEST_SEED=%u)\n", test, seed, seed);
	return seed;
}

/* A template with many files makes the window between a create's mkdir
 * and its meta.json (and a destroy's rename and removal) wide enough to be
 * hit by a random SIGKILL. */
static char *make_template(csdk_provider *p)
{
	struct csdk_template_options to = CSDK_TEMPLATE_OPTIONS_INIT;
	const char *src = ct_tmpdir();
	char *id = NULL;
	int i;

	for (i = 0; i < 300; i++) {
		FILE *f = fopen(ct_fmt("%s/file-%03d.txt", src, i), "w");
		ck_assert_ptr_nonnull(f);
		fprintf(f, "%d\n", i);
		fclose(f);
	}
	to.source = src;
	to.name = "many";
	ck_assert_msg(csdk_template_create(&id, p, &to) == 0, "template: %s", csdk_error_last()->message);
	return id;
}

START_TEST(test_sigkill_during_writes)
{
	const char *state = ct_tmpdir();
	csdk_provider *p = ct_open(state, "none", NULL);
	char *tpl = make_template(p);
	int round;

	srand(test_seed("test_sigkill_during_writes"));
	for (round = 0; round < 12; round++) {
		pid_t pid = fork();
		int status;

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			csdk_provider *cp = ct_open(state, "none", NULL);
			struct csdk_create_options co = CSDK_CREATE_OPTIONS_INIT;
			int k;

			co.template_id = tpl;
			for (k = 0;; k++) {
				csdk_sandbox *sb = NULL, *named = NULL;
				if (csdk_sandbox_create(&sb, cp, &co) == 0) {
					csdk_sandbox_extend_timeout(sb, 1000);
					if (k % 2)
						csdk_sandbox_destroy(sb);
				}
				if (csdk_sandbox_find_or_create(&named, cp, "ct", ct_fmt("n%d", k % 4), &co) == 0 && k % 3 == 0)
					csdk_sandbox_destroy(named);
				csdk_sandbox_free(sb);
				csdk_sandbox_free(named);
			}
		}
		usleep((useconds_t)(50000 + rand() % 250000));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	check_accountable(p, state, "after SIGKILLs of a library user");
	ck_assert_int_eq(csdk_template_delete(p, tpl), 0);
	csdk_free(tpl);
	csdk_provider_close(p);
}
END_TEST

START_TEST(test_sigkill_cli_create)
{
	const char *state = ct_tmpdir(), *cli = getenv("CSDK_TEST_CLI");
	csdk_provider *p = ct_open(state, "none", NULL);
	char *tpl = make_template(p);
	int round;

	ck_assert_ptr_nonnull(cli);
	srand(test_seed("test_sigkill_cli_create"));
	for (round = 0; round < 16; round++) {
		pid_t pid = fork();
		int status;

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			dup2(null, 2);
			setenv("CSDK_LOCAL_STATE_DIR", state, 1);
			setenv("CSDK_LOCAL_ISOLATION", "none", 1);
			execl(cli, "csdk", "create", "--template", tpl, (char *)NULL);
			_exit(127);
		}
		usleep((useconds_t)(rand() % 40000));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	check_accountable(p, state, "after SIGKILLs of csdk create");
	ck_assert_int_eq(csdk_template_delete(p, tpl), 0);
	csdk_free(tpl);
	csdk_provider_close(p);
}
END_TEST

static Suite *durability_suite(void)
{
	Suite *s = suite_create("containment-durability");
	TCase *tc = tcase_create("state");

	tcase_add_unchecked_fixture(tc, NULL, ct_cleanup);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_processes_find_or_create);
	tcase_add_test(tc, test_sigkill_during_writes);
	tcase_add_test(tc, test_sigkill_cli_create);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	ct_init("dur");
	sr = srunner_create(durability_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	ct_reap();
	return failed ? 1 : 0;
}
