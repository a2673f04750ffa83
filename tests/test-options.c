/*
 * test-options: the one versioning rule for options structures. The host
 * copies a caller's structure through csdkp_options_copy (host/util.c,
 * compiled in here): every struct_size from the first release's to the
 * library's own is accepted, and the fields an older caller's size does not
 * cover read as zero, whatever lies beyond it in the caller's memory.
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.c"

static char last_message[512];

/* The library's error recording, reduced to what these tests read. */
int csdkp_error_set(int code, const char *provider, const char *fmt, ...)
{
	va_list ap;

	(void)provider;
	va_start(ap, fmt);
	vsnprintf(last_message, sizeof(last_message), fmt, ap);
	va_end(ap);
	return code;
}

/* A structure as released first, and as grown by a later release. */
struct first_options {
	uint32_t struct_size;
	uint32_t flags;
	const char *name;
};

struct grown_options {
	uint32_t struct_size;
	uint32_t flags;
	const char *name;
	int64_t timeout_ms;
	const char *cwd;
};

/* What an older caller's memory holds beyond its structure. */
struct caller_memory {
	struct first_options opts;
	unsigned char beyond[64];
};

START_TEST(older_size_is_zero_filled)
{
	struct caller_memory mem;
	struct grown_options out;

	memset(&mem, 0xa5, sizeof(mem));
	mem.opts.struct_size = sizeof(struct first_options);
	mem.opts.flags = 3;
	mem.opts.name = "web";
	memset(&out, 0xff, sizeof(out));
	ck_assert_int_eq(csdkp_options_copy(&out, sizeof(out), &mem.opts, sizeof(struct first_options), "grown_options", "GROWN_INIT"), 0);
	ck_assert_uint_eq(out.struct_size, sizeof(out));
	ck_assert_uint_eq(out.flags, 3);
	ck_assert_str_eq(out.name, "web");
	ck_assert_int_eq(out.timeout_ms, 0);
	ck_assert_ptr_null(out.cwd);
}
END_TEST

START_TEST(every_size_between_is_accepted)
{
	struct grown_options in, out;
	uint32_t sizes[] = { sizeof(struct first_options), offsetof(struct grown_options, cwd), sizeof(struct grown_options) };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&in, 0, sizeof(in));
		in.struct_size = sizes[i];
		in.flags = 1;
		in.timeout_ms = 5000;
		in.cwd = "/tmp";
		ck_assert_int_eq(csdkp_options_copy(&out, sizeof(out), &in, sizeof(struct first_options), "grown_options", "GROWN_INIT"), 0);
		ck_assert_uint_eq(out.struct_size, sizeof(out));
		ck_assert_uint_eq(out.flags, 1);
		ck_assert_int_eq(out.timeout_ms, sizes[i] > offsetof(struct grown_options, timeout_ms) ? 5000 : 0);
		if (sizes[i] == sizeof(struct grown_options))
			ck_assert_str_eq(out.cwd, "/tmp");
		else
			ck_assert_ptr_null(out.cwd);
	}
}
END_TEST

START_TEST(null_is_all_unset)
{
	struct grown_options out;

	memset(&out, 0xff, sizeof(out));
	ck_assert_int_eq(csdkp_options_copy(&out, sizeof(out), NULL, sizeof(struct first_options), "grown_options", "GROWN_INIT"), 0);
	ck_assert_uint_eq(out.struct_size, sizeof(out));
	ck_assert_uint_eq(out.flags, 0);
	ck_assert_ptr_null(out.name);
	ck_assert_int_eq(out.timeout_ms, 0);
}
END_TEST

START_TEST(sizes_out_of_range_are_refused)
{
	struct grown_options in = { 0 }, out;
	char expected[512];

	in.struct_size = sizeof(struct first_options) - 1;
	ck_assert_int_eq(csdkp_options_copy(&out, sizeof(out), &in, sizeof(struct first_options), "grown_options", "GROWN_INIT"), CSDK_EINVAL);
	snprintf(expected, sizeof(expected), "grown_options has struct_size %zu, smaller than the first release's %zu; initialise it with GROWN_INIT",
		 sizeof(struct first_options) - 1, sizeof(struct first_options));
	ck_assert_str_eq(last_message, expected);
	in.struct_size = sizeof(struct grown_options) + 8;
	ck_assert_int_eq(csdkp_options_copy(&out, sizeof(out), &in, sizeof(struct first_options), "grown_options", "GROWN_INIT"), CSDK_EINVAL);
	snprintf(expected, sizeof(expected),
		 "grown_options has struct_size %zu, larger than this libcsdk's %zu: the program was built against a newer csdk; "
		 "install that libcsdk or rebuild the program", sizeof(struct grown_options) + 8, sizeof(struct grown_options));
	ck_assert_str_eq(last_message, expected);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("struct_size");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, older_size_is_zero_filled);
	tcase_add_test(tc, every_size_between_is_accepted);
	tcase_add_test(tc, null_is_all_unset);
	tcase_add_test(tc, sizes_out_of_range_are_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
