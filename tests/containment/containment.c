#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "containment.h"

static char *root_dir, *marker, *canary_dir, *canary_path, *canary_content;

/* What ct_fmt and ct_listdir hand out lives as long as the test process: keep it reachable. */
static char **listings;
static size_t n_listings;
static pthread_mutex_t listings_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *keep_string(char *s)
{
	char **grown;

	pthread_mutex_lock(&listings_lock);
	grown = realloc(listings, (n_listings + 1) * sizeof(*listings));
	if (!grown || !s)
		abort();
	listings = grown;
	listings[n_listings++] = s;
	pthread_mutex_unlock(&listings_lock);
	return s;
}

char *ct_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	keep_string(s);
	return s;
}

int64_t ct_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ct_init(const char *suite)
{
	const char *tmp = getenv("CSDK_TEST_TMPDIR");
	FILE *f;

	if (!tmp || !tmp[0]) {
		fprintf(stderr, "CSDK_TEST_TMPDIR is not set; run the suite through make check\n");
		exit(99);
	}
	marker = ct_fmt("csdk-ct-%s-%d", suite, (int)getpid());
	root_dir = ct_fmt("%s/%s", tmp, marker);
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		exit(99);
	if (mkdir(root_dir, 0755) < 0 && errno != EEXIST)
		exit(99);
	/* Not under /tmp: that prefix is the sandbox's own /tmp for the fs API. */
	canary_dir = ct_fmt("/var/tmp/%s-canary-XXXXXX", marker);
	if (!mkdtemp(canary_dir)) {
		free(canary_dir);
		canary_dir = ct_fmt("%s/canary", root_dir);
	}
	canary_path = ct_fmt("%s/secret.txt", canary_dir);
	canary_content = ct_fmt("CANARY %s do not leak\n", marker);
	if ((mkdir(canary_dir, 0755) < 0 && errno != EEXIST) || !(f = fopen(canary_path, "w")) || fputs(canary_content, f) < 0 || fclose(f)) {
		fprintf(stderr, "cannot write the canary %s\n", canary_path);
		exit(99);
	}
}

const char *ct_root(void) { return root_dir; }
const char *ct_marker(void) { return marker; }
const char *ct_canary_dir(void) { return canary_dir; }
const char *ct_canary_path(void) { return canary_path; }
const char *ct_canary_content(void) { return canary_content; }

const char *ct_tmpdir(void)
{
	char *t = ct_fmt("%s/t-XXXXXX", root_dir);

	ck_assert_msg(mkdtemp(t) != NULL, "mkdtemp %s: %s", t, strerror(errno));
	return t;
}

static char *slurp(const char *path, size_t *len_out)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			char *g = realloc(buf, cap = cap ? cap * 2 : 8192);
			if (!g)
				break;
			buf = g;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

void ct_canary_check(void)
{
	char *got = slurp(canary_path, NULL);

	ck_assert_msg(got != NULL, "the canary %s is gone", canary_path);
	ck_assert_str_eq(got, canary_content);
	free(got);
	ck_assert_str_eq(ct_listdir(canary_dir), "secret.txt");
}

csdk_provider *ct_open(const char *state_dir, const char *isolation, ...)
{
	struct csdk_kv kv[16];
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	csdk_provider *p = NULL;
	const char *k;
	size_t n = 0;
	va_list ap;

	kv[n].key = "state_dir";
	kv[n++].value = state_dir;
	kv[n].key = "isolation";
	kv[n++].value = isolation;
	va_start(ap, isolation);
	while ((k = va_arg(ap, const char *)) && n < 16) {
		kv[n].key = k;
		kv[n++].value = va_arg(ap, const char *);
	}
	va_end(ap);
	opts.config = kv;
	opts.n_config = n;
	ck_assert_msg(csdk_provider_open(&p, "local", &opts) == 0, "open local: %s", csdk_error_last()->message);
	return p;
}

csdk_sandbox *ct_create(csdk_provider *p)
{
	struct csdk_create_options co = CSDK_CREATE_OPTIONS_INIT;
	struct csdk_kv env = { "CT_MARK", marker };
	csdk_sandbox *sb = NULL;

	co.envs = &env;
	co.n_envs = 1;
	ck_assert_msg(csdk_sandbox_create(&sb, p, &co) == 0, "create: %s", csdk_error_last()->message);
	return sb;
}

const char *ct_sandbox_dir(const char *state_dir, csdk_sandbox *sb)
{
	return ct_fmt("%s/sandboxes/%s", state_dir, csdk_sandbox_id(sb));
}

int ct_run(csdk_sandbox *sb, const char *command, int64_t timeout_ms, char **out, char **err)
{
	csdk_command_options o = CSDK_COMMAND_OPTIONS_INIT;
	csdk_result *r = NULL;
	int code;

	o.timeout_ms = timeout_ms;
	ck_assert_msg(csdk_sandbox_run_command(&r, sb, command, &o) == 0, "run '%s': %s", command, csdk_error_last()->message);
	code = r->exit_code;
	if (out)
		*out = strdup(r->stdout_buf ? r->stdout_buf : "");
	if (err)
		*err = strdup(r->stderr_buf ? r->stderr_buf : "");
	csdk_result_free(r);
	return code;
}

void ct_background(csdk_sandbox *sb, const char *command)
{
	csdk_command_options o = CSDK_COMMAND_OPTIONS_INIT;
	csdk_result *r = NULL;

	o.background = 1;
	ck_assert_msg(csdk_sandbox_run_command(&r, sb, command, &o) == 0, "background '%s': %s", command, csdk_error_last()->message);
	csdk_result_free(r);
}

static int contains(const char *buf, size_t len, const char *needle)
{
	return buf && memmem(buf, len, needle, strlen(needle)) != NULL;
}

static int is_ancestor(pid_t pid)
{
	pid_t p = getpid();

	while (p > 1) {
		char path[64], *stat, *rp;

		if (p == pid)
			return 1;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)p);
		if (!(stat = slurp(path, NULL)))
			return 0;
		rp = strrchr(stat, ')');
		p = rp ? (pid_t)strtol(rp + 4, NULL, 10) : 0;
		free(stat);
	}
	return 0;
}

int ct_survivors(const char *needle, char *desc, size_t desclen)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int count = 0;

	if (desc && desclen)
		desc[0] = '\0';
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[128], cwd[4096], *buf, *rp;
		pid_t pid = (pid_t)strtol(de->d_name, &rp, 10);
		size_t len;
		ssize_t n;
		int hit = 0, mine;

		if (*rp || pid <= 1 || is_ancestor(pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if (!(buf = slurp(path, NULL)))
			continue;
		rp = strrchr(buf, ')');
		if (!rp || rp[2] == 'Z' || rp[2] == 'X') {
			free(buf);
			continue;
		}
		free(buf);
		snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
		buf = slurp(path, &len);
		hit = contains(buf, len, needle);
		/* A process of this run carries the marker in its environment
		 * (CT_MARK, ct_create) or in its working directory (this run's
		 * tmpdir): another checkout's suite on the same machine runs the
		 * same commands, and its processes are not ours to count. */
		mine = contains(buf, len, marker);
		free(buf);
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		buf = slurp(path, &len);
		if (!hit)
			hit = contains(buf, len, needle);
		snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
		if (!hit && (n = readlink(path, cwd, sizeof(cwd) - 1)) > 0) {
			cwd[n] = '\0';
			hit = strstr(cwd, needle) != NULL;
		}
		if (!mine && (n = readlink(path, cwd, sizeof(cwd) - 1)) > 0) {
			cwd[n] = '\0';
			mine = strstr(cwd, marker) != NULL;
		}
		if (hit && !mine && strcmp(needle, marker) != 0)
			hit = 0;
		if (hit) {
			count++;
			if (desc && strlen(desc) + 100 < desclen) {
				size_t i;
				for (i = 0; buf && i < len; i++)
					if (buf[i] == '\0')
						buf[i] = ' ';
				snprintf(desc + strlen(desc), desclen - strlen(desc), "[%d: %.60s] ", (int)pid, buf ? buf : "?");
			}
		}
		free(buf);
	}
	closedir(d);
	return count;
}

int ct_survivors_wait(const char *needle, int ms, char *desc, size_t desclen)
{
	int64_t end = ct_now_ms() + ms;
	int n;

	while ((n = ct_survivors(needle, desc, desclen)) > 0 && ct_now_ms() < end)
		usleep(20000);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *ct_listdir(const char *dir)
{
	char *names[4096], *out;
	size_t n = 0, i, len = 1;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return ct_fmt("(cannot open %s: %s)", dir, strerror(errno));
	while ((de = readdir(d)) && n < 4096)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	out = calloc(1, len);
	for (i = 0; i < n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, names[i]);
		free(names[i]);
	}
	return keep_string(out);
}

static void kill_marked(const char *needle)
{
	int round;

	for (round = 0; round < 100; round++) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		int found = 0;

		if (!d)
			return;
		while ((de = readdir(d))) {
			char *rp, path[64], *buf;
			pid_t pid = (pid_t)strtol(de->d_name, &rp, 10);
			size_t len;
			int hit;

			if (*rp || pid <= 1 || is_ancestor(pid))
				continue;
			snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
			buf = slurp(path, &len);
			hit = contains(buf, len, needle);
			free(buf);
			snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
			buf = slurp(path, &len);
			hit = hit || contains(buf, len, needle);
			free(buf);
			if (hit && kill(pid, SIGKILL) == 0)
				found = 1;
		}
		closedir(d);
		if (!found)
			return;
		usleep(20000);
	}
}

static void remove_all(const char *pattern)
{
	char *cmd = ct_fmt("rm -rf %s", pattern);

	if (system(cmd) != 0)
		fprintf(stderr, "containment: could not remove %s\n", pattern);
	free(cmd);
}

/* As root every sandbox has cgroups: remove those of the sandboxes a
 * failed test did not destroy (kill_marked ended their processes). */
static void remove_cgroups_left(void)
{
	static const char *const controllers[] = { "pids", "memory", "cpu" };
	const char *patterns[] = { ct_fmt("%s/t-*/sandboxes/local-*", root_dir), ct_fmt("/tmp/%s-*/sandboxes/local-*", marker) };
	glob_t g;

	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		if (glob(patterns[i], GLOB_NOSORT, NULL, &g) != 0)
			continue;
		for (size_t j = 0; j < g.gl_pathc; j++)
			for (size_t k = 0; k < sizeof(controllers) / sizeof(controllers[0]); k++)
				rmdir(ct_fmt("/sys/fs/cgroup/%s/csdk/%s", controllers[k], strrchr(g.gl_pathv[j], '/') + 1));
		globfree(&g);
	}
}

/* A sandbox with a disk that a failed test did not destroy leaves tmpfs
 * mounts under the suite's directories: detach them before removing. */
static void unmount_left(void)
{
	char line[4096], mp[4096];
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
		    (strstr(mp, marker) || !strncmp(mp, root_dir, strlen(root_dir))))
			umount2(mp, MNT_DETACH);
	fclose(f);
}

void ct_cleanup(void)
{
	if (!marker)
		return;
	kill_marked(marker);
	remove_cgroups_left();
	unmount_left();
	/* the probe a failed escape test may have left in the host's /usr */
	unlink(ct_fmt("/usr/.%s", marker));
	remove_all(ct_fmt("/etc/.%s-* /etc/ssh/ssh_host_%s_key* /tmp/%s-*", marker, marker, marker));
	remove_all(ct_fmt("'%s'/t-*", root_dir));
}

void ct_reap(void)
{
	char *cmd;

	if (!marker)
		return;
	ct_cleanup();
	remove_all(ct_fmt("'%s'", canary_dir));
	cmd = ct_fmt("rm -rf '%s'", root_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "containment: could not remove %s\n", root_dir);
	free(cmd);
}

const char *ct_no_cgroup(const char *controller)
{
	if (geteuid() != 0)
		return ct_fmt("meaningless for uid %u, a normal user: cgroup v1 gives it no writable %s controller at /sys/fs/cgroup/%s (no delegation), only the rlimit fallback",
			      (unsigned)geteuid(), controller, controller);
	return ct_fmt("no writable cgroup v1 %s controller at /sys/fs/cgroup/%s", controller, controller);
}
