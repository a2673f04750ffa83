/*
 * Helpers of the containment suites: a private directory per suite run, a
 * marker that every sandbox process carries (CT_MARK in its environment),
 * a canary file outside every sandbox, and a scan of /proc for processes
 * that carry the marker. ct_reap is safe to call from an unchecked
 * teardown: it kills what a failed test left behind and removes the files.
 */
#ifndef CSDK_TESTS_CONTAINMENT_H
#define CSDK_TESTS_CONTAINMENT_H

#include <stddef.h>
#include <stdint.h>

#include <csdk/csdk.h>

#if defined(__GNUC__)
#define CT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CT_PRINTF(a, b)
#endif

/* Call once from main: makes $CSDK_TEST_TMPDIR/SUITE-PID and the marker. */
void ct_init(const char *suite);
/* Kills marked processes and removes the per-test directories (and what a
 * failed test may have planted outside them): an unchecked teardown. */
void ct_cleanup(void);
/* ct_cleanup, then removes the suite directory: the end of main. */
void ct_reap(void);

const char *ct_root(void);
const char *ct_marker(void);

/* A printf into a string that lives until exit. */
char *ct_fmt(const char *fmt, ...) CT_PRINTF(1, 2);

/* A new empty directory under the suite directory. */
const char *ct_tmpdir(void);

/* The canary: DIR/secret.txt with unique content, outside every sandbox. */
const char *ct_canary_dir(void);
const char *ct_canary_path(void);
const char *ct_canary_content(void);
/* Asserts the canary directory holds exactly secret.txt, unchanged. */
void ct_canary_check(void);

/* Opens the local provider on state_dir with isolation ("bwrap" or "none")
 * and further KEY, VALUE pairs ending with NULL. Aborts the test on failure. */
csdk_provider *ct_open(const char *state_dir, const char *isolation, ...);
/* Creates a sandbox carrying the marker; aborts the test on failure. */
csdk_sandbox *ct_create(csdk_provider *p);
/* The sandbox's directory on the host. */
const char *ct_sandbox_dir(const char *state_dir, csdk_sandbox *sb);

/* Runs a command (timeout 0 = none) and returns its exit code; stdout and
 * stderr go to *out / *err when not NULL (freed by the caller). Aborts the
 * test when the call itself fails. */
int ct_run(csdk_sandbox *sb, const char *command, int64_t timeout_ms, char **out, char **err);
/* Starts a background command; aborts the test on failure. */
void ct_background(csdk_sandbox *sb, const char *command);

/* Number of live processes (zombies aside) other than this one and its
 * ancestors whose environment, command line or cwd contains needle; the
 * first few are described in desc. */
int ct_survivors(const char *needle, char *desc, size_t desclen);
/* Waits up to ms for ct_survivors(needle) to reach 0; returns the count left. */
int ct_survivors_wait(const char *needle, int ms, char *desc, size_t desclen);

/* Names in DIR other than . and .., comma-separated and sorted ("" when empty). */
const char *ct_listdir(const char *dir);

int64_t ct_now_ms(void);

/* Why a test of the cgroup v1 CONTROLLER ("pids", "memory", "cpu") is
 * skipped: a normal user has no cgroups; root lacks the controller. */
const char *ct_no_cgroup(const char *controller);

#endif
