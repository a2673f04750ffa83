#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"

/* Same width as every generated name, so a copy is patched in place. */
#define PLACEHOLDER "noop-zzzz"
#define MAX_COPIES 10000

static const char *noop_source(void)
{
	static const char *const candidates[] = { CSDKP_BENCH_SRCDIR "/noop-plugin.c",
						  CSDKP_BENCH_DATADIR "/noop-plugin.c" };
	const char *env = getenv("CSDK_BENCH_NOOP_SOURCE");
	size_t i;

	if (env && *env)
		return env;
	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], R_OK) == 0)
			return candidates[i];
	return NULL;
}

static int compile(const char *dir, char **out_path)
{
	const char *src = noop_source(), *cc = getenv("CC");
	char *so = NULL, *output = NULL;
	int status;

	*out_path = NULL;
	if (!src) {
		csdkp_error("bench: the no-op plugin source was not found in %s or %s; set CSDK_BENCH_NOOP_SOURCE to its path",
			    CSDKP_BENCH_SRCDIR, CSDKP_BENCH_DATADIR);
		return -1;
	}
	if (asprintf(&so, "%s/noop-template.so", dir) < 0)
		return -1;
	{
		char *argv[] = { (char *)(cc && *cc ? cc : "cc"), (char *)"-O2", (char *)"-fPIC", (char *)"-shared",
				 (char *)"-fvisibility=hidden", (char *)"-I" CSDKP_BENCH_PLUGIN_INCLUDE_BUILD,
				 (char *)"-I" CSDKP_BENCH_PLUGIN_INCLUDE, (char *)"-o", so, (char *)src, NULL };

		if (csdkp_bench_run_argv(&status, argv, &output) < 0) {
			csdkp_error("bench: cannot run the C compiler '%s': %s; install one (apt-get install gcc) or set CC",
				    argv[0], strerror(errno));
			free(so);
			return -1;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			if (output)
				output[strcspn(output, "\n")] = '\0';
			csdkp_error("bench: compiling the no-op plugin %s with '%s' failed: %s; the csdk headers (csdk/plugin.h) must be installed",
				    src, argv[0], output && *output ? output : "no output");
			free(output);
			free(so);
			return -1;
		}
	}
	free(output);
	*out_path = so;
	return 0;
}

static int read_file(unsigned char **out, size_t *len_out, const char *path)
{
	char *data;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = csdkp_read_all(&data, &len, fd);
	close(fd);
	if (rc < 0)
		return -1;
	*out = (unsigned char *)data;
	*len_out = len;
	return 0;
}

static int write_file(const char *path, const unsigned char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755), rc;

	if (fd < 0)
		return -1;
	rc = csdkp_write_all(fd, data, len);
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

int csdkp_bench_noop_plugins(const char *dir, size_t count)
{
	static const char placeholder[] = PLACEHOLDER;
	unsigned char *image = NULL;
	size_t len = 0, i, off, n_sites = 0, sites[8];
	char *so = NULL, path[4096], name[sizeof(placeholder)];
	int rc = -1;

	if (count > MAX_COPIES) {
		csdkp_error("bench: at most %d plugin copies can be generated, not %zu", MAX_COPIES, count);
		return -1;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		csdkp_error("bench: cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (compile(dir, &so) < 0)
		return -1;
	if (read_file(&image, &len, so) < 0) {
		csdkp_error("bench: cannot read %s: %s", so, strerror(errno));
		goto out;
	}
	/* The descriptor's name string, NUL included, so no longer symbol or string matches. */
	for (off = 0; off + sizeof(placeholder) <= len && n_sites < 8; off++)
		if (memcmp(image + off, placeholder, sizeof(placeholder)) == 0)
			sites[n_sites++] = off;
	if (n_sites == 0) {
		csdkp_error("bench: the name '%s' was not found in %s; the no-op plugin cannot be copied", placeholder, so);
		goto out;
	}
	for (i = 0; i < count; i++) {
		size_t k;

		snprintf(name, sizeof(name), "noop-%04zu", i);
		for (k = 0; k < n_sites; k++)
			memcpy(image + sites[k], name, sizeof(name) - 1);
		snprintf(path, sizeof(path), "%s/csdk-%s.so", dir, name);
		if (write_file(path, image, len) < 0) {
			csdkp_error("bench: cannot write %s: %s", path, strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	if (so)
		unlink(so);
	free(so);
	free(image);
	return rc;
}
