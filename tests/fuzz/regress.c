/*
 * regress.c - main() for the fuzz targets built without libFuzzer: replays
 * every file of the directories given (default: the target's corpus and
 * regressions) through LLVMFuzzerTestOneInput. A crash or a failed property
 * aborts, which fails the test.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	size_t len = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "regress: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			unsigned char *n = realloc(data, cap = cap ? cap * 2 : 4096);
			if (!n) {
				free(data);
				fclose(f);
				return -1;
			}
			data = n;
		}
		size_t got = fread(data + len, 1, cap - len, f);
		if (got == 0)
			break;
		len += got;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int no_dot(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Returns the number of files replayed, or -1. */
static int replay(const char *path)
{
	struct dirent **names;
	struct stat st;
	int n, count = 0;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "regress: cannot stat %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path) == 0 ? 1 : -1;
	n = scandir(path, &names, no_dot, by_name);
	if (n < 0) {
		fprintf(stderr, "regress: cannot list %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char *file;

		if (count >= 0 && asprintf(&file, "%s/%s", path, names[i]->d_name) >= 0) {
			count = replay_file(file) == 0 ? count + 1 : -1;
			free(file);
		} else {
			count = -1;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	const char *defaults[] = { FUZZ_CORPUS_DIR, FUZZ_REGRESSIONS_DIR };
	int total = 0;

	/* Absolute paths first: a target may change directory when initialised. */
	for (int i = 1; i < argc; i++) {
		char *abs = realpath(argv[i], NULL);

		if (!abs) {
			fprintf(stderr, "regress: cannot find %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		argv[i] = abs;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			int n = replay(argv[i]);
			if (n < 0)
				return 1;
			total += n;
		}
	} else {
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
			int n = replay(defaults[i]);
			if (n < 0)
				return 1;
			total += n;
		}
	}
	printf("%s: %d inputs replayed\n", argv[0], total);
	return 0;
}
