#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"

/* Same width as every generated name, so a copy is patched in place. */
#define PLACEHOLDER "noop-zzzz"
#define MAX_COPIES 10000

/* The no-op plugin built and installed with csdk; CSDK_BENCH_NOOP_PLUGIN names another (the build tree's, in tests). */
static const char *noop_template(void)
{
	const char *env = getenv("CSDK_BENCH_NOOP_PLUGIN");

	if (env && *env)
		return env;
	return TOOL_BENCH_LIBDIR "/noop-template.so";
}

static int read_file(unsigned char **out, size_t *len_out, const char *path)
{
	char *data;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = tool_read_all(&data, &len, fd);
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
	rc = csdku_write_all(fd, data, len);
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

int tool_bench_noop_plugins(const char *dir, size_t count)
{
	static const char placeholder[] = PLACEHOLDER;
	unsigned char *image = NULL;
	size_t len = 0, i, off, n_sites = 0, sites[8];
	const char *so = noop_template();
	char path[4096], name[sizeof(placeholder)];
	int rc = -1;

	if (count > MAX_COPIES) {
		tool_error("bench: at most %d plugin copies can be generated, not %zu", MAX_COPIES, count);
		return -1;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		tool_error("bench: cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (read_file(&image, &len, so) < 0) {
		tool_error("bench: cannot read the no-op plugin %s: %s; reinstall csdk, or set CSDK_BENCH_NOOP_PLUGIN to its path", so, strerror(errno));
		goto out;
	}
	/* The descriptor's name string, NUL included, so no longer symbol or string matches. */
	for (off = 0; off + sizeof(placeholder) <= len && n_sites < 8; off++)
		if (memcmp(image + off, placeholder, sizeof(placeholder)) == 0)
			sites[n_sites++] = off;
	if (n_sites == 0) {
		tool_error("bench: the name '%s' was not found in %s; the no-op plugin cannot be copied", placeholder, so);
		goto out;
	}
	for (i = 0; i < count; i++) {
		size_t k;

		snprintf(name, sizeof(name), "noop-%04zu", i);
		for (k = 0; k < n_sites; k++)
			memcpy(image + sites[k], name, sizeof(name) - 1);
		snprintf(path, sizeof(path), "%s/csdk-%s.so", dir, name);
		if (write_file(path, image, len) < 0) {
			tool_error("bench: cannot write %s: %s", path, strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	free(image);
	return rc;
}
