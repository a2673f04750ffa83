/*
 * fuzz-json.c - the state-file JSON reader of plugins/common/statefile.c.
 *
 * The input is the file's contents. csdkc_json_read either gives a JSON
 * object or fails with CSDK_EIO and a one-line message; an object it gave,
 * written back with csdkc_json_write_atomic, reads back equal.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csdk/plugin.h>

#include "csdkc.h"
#include "fuzz.h"

static char *dir;
static int dir_fd = -1;

static void cleanup(void)
{
	unlinkat(dir_fd, "state.json", 0);
	unlinkat(dir_fd, "again.json", 0);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	if (asprintf(&dir, "%s/csdk-fuzz-json-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 || !mkdtemp(dir) ||
	    (dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "fuzz-json: cannot create a temporary directory: %s\n", strerror(errno));
		abort();
	}
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CSDKC_ERR_MAX];
	json_t *v = NULL, *again = NULL;
	int rc;

	FUZZ_CHECK(csdkc_file_write_atomic(dir_fd, "state.json", data, size, err, sizeof(err)) == 0);
	err[0] = '\0';
	rc = csdkc_json_read(&v, dir_fd, "state.json", err, sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(rc == CSDK_EIO && !v);
		FUZZ_CHECK(err[0] && !strchr(err, '\n'));
		return 0;
	}
	FUZZ_CHECK(json_is_object(v));
	FUZZ_CHECK(csdkc_json_write_atomic(dir_fd, "again.json", v, err, sizeof(err)) == 0);
	FUZZ_CHECK(csdkc_json_read(&again, dir_fd, "again.json", err, sizeof(err)) == 0);
	FUZZ_CHECK(json_equal(v, again));
	json_decref(v);
	json_decref(again);
	return 0;
}
