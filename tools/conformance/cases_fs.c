#include "config.h"

#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_file(tool_conf_ctx *t, const char *path, const void *data, size_t len)
{
	char what[300];
	int rc = csdk_fs_write(t->sandbox, path, data, len);

	if (rc < 0) {
		snprintf(what, sizeof(what), "write %s", path);
		return tool_conf_call_failed(t, what, rc);
	}
	return 0;
}

static int expect_file(tool_conf_ctx *t, const char *path, const void *expected, size_t expected_len)
{
	char what[300], *data = NULL;
	size_t len = 0;
	int rc;

	snprintf(what, sizeof(what), "read %s", path);
	rc = csdk_fs_read(&data, &len, t->sandbox, path);
	if (rc < 0)
		return tool_conf_call_failed(t, what, rc);
	if (!data)
		return tool_conf_fail(t, "%s: returned 0 without contents", what);
	if (data[len] != '\0')
		rc = tool_conf_fail(t, "%s: expected the contents to be NUL-terminated", what);
	else
		rc = tool_conf_expect_bytes(t, what, expected, expected_len, data, len);
	csdk_free(data);
	return rc;
}

static int expect_exists(tool_conf_ctx *t, const char *path, int expected)
{
	char what[300];
	int exists = -1, rc;

	snprintf(what, sizeof(what), "exists %s", path);
	rc = csdk_fs_exists(&exists, t->sandbox, path);
	if (rc < 0)
		return tool_conf_call_failed(t, what, rc);
	if (exists != expected)
		return tool_conf_fail(t, "%s: expected %d, got %d", what, expected, exists);
	return 0;
}

int tool_conf_case_fs_write_read(tool_conf_ctx *t)
{
	static const char content[] = "Hello, ComputeSDK filesystem!";

	TOOL_CONF_CHECK(write_file(t, "/tmp/test-file.txt", content, strlen(content)));
	return expect_file(t, "/tmp/test-file.txt", content, strlen(content));
}

int tool_conf_case_fs_exists(tool_conf_ctx *t)
{
	TOOL_CONF_CHECK(write_file(t, "/tmp/exists-test.txt", "x", 1));
	TOOL_CONF_CHECK(expect_exists(t, "/tmp/exists-test.txt", 1));
	TOOL_CONF_TRY(t, "mkdir /tmp/exists-dir/sub", csdk_fs_mkdir(t->sandbox, "/tmp/exists-dir/sub"));
	TOOL_CONF_CHECK(expect_exists(t, "/tmp/exists-dir", 1));
	TOOL_CONF_CHECK(expect_exists(t, "/tmp/exists-dir/sub", 1));
	return expect_exists(t, "/tmp/exists-dir/never-made.txt", 0);
}

int tool_conf_case_fs_readdir(tool_conf_ctx *t)
{
	static const char *const names[] = { "file1.txt", "file2.txt" };
	csdk_dir_list *list = NULL;
	size_t i, j;
	int rc = 0;

	TOOL_CONF_CHECK(write_file(t, "/tmp/readdir-test/file1.txt", "one", 3));
	TOOL_CONF_CHECK(write_file(t, "/tmp/readdir-test/file2.txt", "two", 3));
	TOOL_CONF_TRY(t, "readdir /tmp/readdir-test", csdk_fs_readdir(&list, t->sandbox, "/tmp/readdir-test"));
	if (!list)
		return tool_conf_fail(t, "readdir /tmp/readdir-test: returned 0 without a list");
	if (list->count != 2) {
		char got[512] = "";

		for (i = 0; i < list->count && strlen(got) + 80 < sizeof(got); i++) {
			strcat(got, i ? ", " : "");
			strncat(got, list->entries[i].name ? list->entries[i].name : "(null)", 64);
		}
		rc = tool_conf_fail(t, "readdir /tmp/readdir-test: expected 2 entries (file1.txt, file2.txt), got %zu (%s)",
				     list->count, got);
	}
	for (j = 0; rc == 0 && j < 2; j++) {
		for (i = 0; i < list->count; i++)
			if (list->entries[i].name && strcmp(list->entries[i].name, names[j]) == 0)
				break;
		if (i == list->count)
			rc = tool_conf_fail(t, "readdir /tmp/readdir-test: expected the bare name %s, not listed", names[j]);
		else if (list->entries[i].type != CSDK_ENTRY_FILE)
			rc = tool_conf_fail(t, "readdir /tmp/readdir-test: expected %s to be a file (%d), got type %d",
					     names[j], CSDK_ENTRY_FILE, (int)list->entries[i].type);
		else if (list->entries[i].size != 3)
			rc = tool_conf_fail(t, "readdir /tmp/readdir-test: expected %s to be 3 bytes, got %llu", names[j],
					     (unsigned long long)list->entries[i].size);
	}
	csdk_dir_list_free(list);
	return rc;
}

int tool_conf_case_fs_remove(tool_conf_ctx *t)
{
	TOOL_CONF_CHECK(write_file(t, "/tmp/remove-test.txt", "gone", 4));
	TOOL_CONF_CHECK(expect_exists(t, "/tmp/remove-test.txt", 1));
	TOOL_CONF_TRY(t, "remove /tmp/remove-test.txt", csdk_fs_remove(t->sandbox, "/tmp/remove-test.txt"));
	TOOL_CONF_CHECK(expect_exists(t, "/tmp/remove-test.txt", 0));
	TOOL_CONF_CHECK(write_file(t, "/tmp/remove-tree/a/b.txt", "b", 1));
	TOOL_CONF_TRY(t, "remove the tree /tmp/remove-tree", csdk_fs_remove(t->sandbox, "/tmp/remove-tree"));
	return expect_exists(t, "/tmp/remove-tree", 0);
}

static int expect_read_error(tool_conf_ctx *t, const char *path, int code)
{
	char *data = NULL;
	size_t len = 0;
	int rc = csdk_fs_read(&data, &len, t->sandbox, path);

	if (rc >= 0) {
		char g[300];

		tool_conf_fail(t, "read %s: expected an error, got success with %s", path,
				tool_conf_quote(g, sizeof(g), data, len));
		csdk_free(data);
		return -1;
	}
	if (code && rc != code)
		return tool_conf_fail(t, "read %s: expected %s (%d), got %s (%d)", path, csdk_strerror(code), code,
				       csdk_strerror(rc), rc);
	if (csdk_error_last()->message[0] == '\0')
		return tool_conf_fail(t, "read %s: expected an error message, got none (code %d)", path, rc);
	return 0;
}

int tool_conf_case_fs_read_missing(tool_conf_ctx *t)
{
	TOOL_CONF_CHECK(expect_read_error(t, "/nonexistent/file.txt", 0));
	return expect_read_error(t, "/tmp/never-written.txt", CSDK_ENOTFOUND);
}

int tool_conf_case_fs_binary(tool_conf_ctx *t)
{
	unsigned char bytes[512];
	size_t i;

	/* Every byte value, NUL first, then again in reverse so no two halves look alike. */
	for (i = 0; i < 256; i++) {
		bytes[i] = (unsigned char)i;
		bytes[511 - i] = (unsigned char)i;
	}
	TOOL_CONF_CHECK(write_file(t, "/tmp/binary-test.bin", bytes, sizeof(bytes)));
	TOOL_CONF_CHECK(expect_file(t, "/tmp/binary-test.bin", bytes, sizeof(bytes)));
	TOOL_CONF_CHECK(write_file(t, "/tmp/empty-test.bin", "", 0));
	return expect_file(t, "/tmp/empty-test.bin", "", 0);
}

int tool_conf_case_fs_odd_paths(tool_conf_ctx *t)
{
	static const char dir[] = "/tmp/dir with space";
	static const char path[] = "/tmp/dir with space/it's \"q\".txt";
	static const char content[] = "odd path content\n";
	csdk_dir_list *list = NULL;
	int rc = 0;

	TOOL_CONF_CHECK(write_file(t, path, content, strlen(content)));
	TOOL_CONF_CHECK(expect_exists(t, path, 1));
	TOOL_CONF_CHECK(expect_file(t, path, content, strlen(content)));
	TOOL_CONF_TRY(t, "readdir \"/tmp/dir with space\"", csdk_fs_readdir(&list, t->sandbox, dir));
	if (!list || list->count != 1 || !list->entries[0].name || strcmp(list->entries[0].name, "it's \"q\".txt") != 0)
		rc = tool_conf_fail(t, "readdir \"%s\": expected the one entry it's \"q\".txt, got %zu entries%s%s",
				     dir, list ? list->count : 0, list && list->count ? ", the first " : "",
				     list && list->count && list->entries[0].name ? list->entries[0].name : "");
	csdk_dir_list_free(list);
	TOOL_CONF_CHECK(rc);
	TOOL_CONF_TRY(t, "remove the odd path", csdk_fs_remove(t->sandbox, path));
	return expect_exists(t, path, 0);
}
