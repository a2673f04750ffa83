/*
 * test-buf: csdku_buf_add keeps the buffer NUL-terminated across growth,
 * accepts exactly max bytes and refuses the byte after them (setting over,
 * appending nothing); csdku_append grows from empty.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "csdk/common.h"

static int failures;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "test-buf: FAIL: %s\n", what);
		failures++;
	}
}

int main(void)
{
	struct csdku_buf b = { .max = 5000 };
	char chunk[1000], *d = NULL;
	size_t len = 0, cap = 0;

	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 5; i++)
		check(csdku_buf_add(&b, chunk, sizeof(chunk)) == 0, "five appends of 1000 bytes fit max 5000");
	check(b.len == 5000 && strlen(b.data) == 5000, "the buffer holds 5000 bytes, NUL-terminated");
	check(!b.over, "over stays clear up to max");
	check(csdku_buf_add(&b, "y", 1) == CSDK_EIO, "the byte past max is refused with CSDK_EIO");
	check(b.over && b.len == 5000 && b.data[5000] == '\0', "a refused append sets over and changes nothing");
	check(csdku_buf_add(&b, "", 0) == 0, "an empty append at max is fine");
	free(b.data);
	check(csdku_append(&d, &len, &cap, "abc", 3) == 0 && len == 3 && !strcmp(d, "abc"), "csdku_append from empty");
	check(csdku_append(&d, &len, &cap, "de", 2) == 0 && !strcmp(d, "abcde"), "csdku_append appends");
	free(d);
	if (!failures)
		printf("test-buf: all checks passed\n");
	return failures ? 1 : 0;
}
