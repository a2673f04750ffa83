/*
 * test-abi: the plugin ABI may only grow. The structs of each frozen minor's
 * header (abi/csdk-plugin-2.0.h, abi/csdk-plugin-2.1.h, never edited) must
 * keep their sizes, field offsets and constants in the current csdk/common.h
 * and csdk/plugin.h, and the newest frozen minor is the current one.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <csdk/csdk.h>
#include <csdk/plugin.h>

#include "abi/frozen-layout.h"
#include "helpers.h"

/* The current headers, read through each frozen minor's list. */
#define LAYOUT_NAME current_layout_2_0
#define LAYOUT_DEF "abi/layout-2.0.def"
#define LAYOUT_VERSION "2.0"
#define LAYOUT_MINOR_SIZE(type, size) (size)
#define LAYOUT_FIELDS current_fields_2_0
#define LAYOUT_SIZES current_sizes_2_0
#define LAYOUT_MINOR_SIZES current_minor_sizes_2_0
#define LAYOUT_CONSTANTS current_constants_2_0
#include "abi/layout-body.h"

#define LAYOUT_NAME current_layout_2_1
#define LAYOUT_DEF "abi/layout-2.1.def"
#define LAYOUT_VERSION "2.1"
#define LAYOUT_MINOR_SIZE(type, size) (size)
#define LAYOUT_FIELDS current_fields_2_1
#define LAYOUT_SIZES current_sizes_2_1
#define LAYOUT_MINOR_SIZES current_minor_sizes_2_1
#define LAYOUT_CONSTANTS current_constants_2_1
#include "abi/layout-body.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Every frozen minor, oldest first, and the current headers seen through its list. */
static const struct layout_set *const frozen[] = { &frozen_layout_2_0, &frozen_layout_2_1 };
static const struct layout_set *const current[] = { &current_layout_2_0, &current_layout_2_1 };

START_TEST(frozen_sizes_equal_size_constants)
{
	const struct layout_set *f = frozen[_i], *c = current[_i];

	ck_assert_uint_eq(f->n_structs, c->n_structs);
	for (size_t i = 0; i < f->n_structs; i++) {
		ck_assert_str_eq(f->sizes[i].type, c->minor_sizes[i].type);
		ck_assert_msg(f->sizes[i].size == c->minor_sizes[i].size,
			      "struct %s: frozen %s size %zu, current %s constant %zu",
			      f->sizes[i].type, f->version, f->sizes[i].size, f->version, c->minor_sizes[i].size);
	}
}
END_TEST

START_TEST(structs_only_grow)
{
	const struct layout_set *f = frozen[_i], *c = current[_i];

	for (size_t i = 0; i < f->n_structs; i++)
		ck_assert_msg(c->sizes[i].size >= f->sizes[i].size,
			      "struct %s shrank from %zu bytes in %s to %zu", f->sizes[i].type,
			      f->sizes[i].size, f->version, c->sizes[i].size);
}
END_TEST

START_TEST(fields_keep_offsets)
{
	const struct layout_set *fs = frozen[_i], *cs = current[_i];

	ck_assert_uint_eq(fs->n_fields, cs->n_fields);
	for (size_t i = 0; i < fs->n_fields; i++) {
		const struct layout_field *f = &fs->fields[i], *c = &cs->fields[i];

		ck_assert_msg(f->offset == c->offset && f->size == c->size,
			      "%s.%s: %s at offset %zu size %zu, now at offset %zu size %zu",
			      f->type, f->field, fs->version, f->offset, f->size, c->offset, c->size);
	}
}
END_TEST

/* A minor's size of each struct ends exactly after its last field of that minor. */
START_TEST(size_constants_end_at_last_field)
{
	const struct layout_set *c = current[_i];

	for (size_t s = 0; s < c->n_structs; s++) {
		size_t end = 0;

		for (size_t i = 0; i < c->n_fields; i++)
			if (strcmp(c->fields[i].type, c->minor_sizes[s].type) == 0 &&
			    c->fields[i].offset + c->fields[i].size > end)
				end = c->fields[i].offset + c->fields[i].size;
		ck_assert_msg(end == c->minor_sizes[s].size, "struct %s: last %s field ends at %zu, %s size is %zu",
			      c->minor_sizes[s].type, c->version, end, c->version, c->minor_sizes[s].size);
	}
}
END_TEST

START_TEST(constants_never_change)
{
	const struct layout_set *f = frozen[_i], *c = current[_i];

	ck_assert_uint_eq(f->n_constants, c->n_constants);
	for (size_t i = 0; i < f->n_constants; i++) {
		ck_assert_str_eq(f->constants[i].name, c->constants[i].name);
		ck_assert_msg(f->constants[i].value == c->constants[i].value,
			      "%s was %lld in %s and is %lld now", f->constants[i].name,
			      (long long)f->constants[i].value, f->version, (long long)c->constants[i].value);
	}
}
END_TEST

/* A minor's list holds the one before it: nothing leaves a later list. */
START_TEST(each_minor_extends_the_one_before)
{
	const struct layout_set *older = frozen[_i], *newer = frozen[_i + 1];
	size_t j = 0;

	for (size_t i = 0; i < older->n_fields; i++) {
		while (j < newer->n_fields && (strcmp(older->fields[i].type, newer->fields[j].type) != 0 ||
					       strcmp(older->fields[i].field, newer->fields[j].field) != 0))
			j++;
		ck_assert_msg(j < newer->n_fields, "%s.%s of %s is missing from %s", older->fields[i].type,
			      older->fields[i].field, older->version, newer->version);
	}
	ck_assert_uint_eq(older->n_constants, newer->n_constants);
	ck_assert_uint_eq(CSDK_ABI_MINOR_OF(newer->abi_version), CSDK_ABI_MINOR_OF(older->abi_version) + 1);
}
END_TEST

START_TEST(abi_version_macros)
{
	ck_assert_uint_eq(CSDK_ABI_MAKE(1, 0), 0x10000u);
	ck_assert_uint_eq(CSDK_ABI_MAKE(2, 7), 0x20007u);
	ck_assert_uint_eq(CSDK_ABI_MAKE(1, 0x12345), 0x12345u);
	ck_assert_uint_eq(CSDK_ABI_MAJOR_OF(CSDK_ABI_MAKE(3, 9)), 3);
	ck_assert_uint_eq(CSDK_ABI_MINOR_OF(CSDK_ABI_MAKE(3, 9)), 9);
	ck_assert_uint_eq(CSDK_ABI_MAJOR_OF(0xffffffffu), 0xffffu);
	ck_assert_uint_eq(CSDK_ABI_VERSION, CSDK_ABI_MAKE(CSDK_ABI_MAJOR, CSDK_ABI_MINOR));
	/* every minor is frozen: the newest frozen header is this one's version */
	ck_assert_uint_eq(CSDK_ABI_VERSION, frozen[N_OF(frozen) - 1]->abi_version);
	ck_assert_uint_eq(csdk_abi_version(), CSDK_ABI_VERSION);
}
END_TEST

START_TEST(magic_reads_csdk)
{
	uint32_t magic = CSDK_PLUGIN_MAGIC;
	unsigned char le[4] = { magic & 0xff, (magic >> 8) & 0xff, (magic >> 16) & 0xff, magic >> 24 };

	ck_assert_int_eq(memcmp(le, "CSDK", 4), 0);
	ck_assert_str_eq(CSDK_PLUGIN_ENTRY_SYMBOL, "csdk_plugin_entry");
}
END_TEST

START_TEST(known_bits_cover_the_bits)
{
	ck_assert_uint_eq(CSDK_MODES_KNOWN_2_0, CSDK_MODE_DIRECT | CSDK_MODE_GATEWAY);
	ck_assert_uint_eq(CSDK_CAPS_KNOWN_2_0, CSDK_CAP_FILESYSTEM | CSDK_CAP_NAMED | CSDK_CAP_TEMPLATES |
						       CSDK_CAP_SNAPSHOTS | CSDK_CAP_STREAMING | CSDK_CAP_THREAD_SAFE |
						       CSDK_CAP_EXEC | CSDK_CAP_FS_OVER_COMMANDS);
	ck_assert_uint_eq(CSDK_CAP_FS_OVER_COMMANDS, UINT64_C(1) << 7);
	ck_assert_int_le(CSDK_ERROR_MIN, CSDK_ECRASHED);
}
END_TEST

START_TEST(every_growable_struct_starts_with_its_size)
{
	ck_assert_uint_eq(offsetof(struct csdk_host, struct_size), 0);
	ck_assert_uint_eq(offsetof(struct csdk_methods, struct_size), 0);
	ck_assert_uint_eq(offsetof(struct csdk_create_request, struct_size), 0);
	ck_assert_uint_eq(offsetof(struct csdk_run_request, struct_size), 0);
	ck_assert_uint_eq(offsetof(struct csdk_template_request, struct_size), 0);
	/* the descriptor's magic comes first, then its size */
	ck_assert_uint_eq(offsetof(struct csdk_plugin, magic), 0);
	ck_assert_uint_eq(offsetof(struct csdk_plugin, struct_size), 4);
}
END_TEST

/* Every options struct of the application API begins with struct_size, set by its _INIT macro. */
START_TEST(every_options_struct_starts_with_its_size)
{
	csdk_registry_options ro = CSDK_REGISTRY_OPTIONS_INIT;
	csdk_provider_options po = CSDK_PROVIDER_OPTIONS_INIT;
	csdk_create_options co = CSDK_CREATE_OPTIONS_INIT;
	csdk_command_options mo = CSDK_COMMAND_OPTIONS_INIT;
	csdk_template_options to = CSDK_TEMPLATE_OPTIONS_INIT;
	csdk_compute_options cpo = CSDK_COMPUTE_OPTIONS_INIT;
	csdk_compute_create_options cco = CSDK_COMPUTE_CREATE_OPTIONS_INIT;

	ck_assert_uint_eq(offsetof(csdk_registry_options, struct_size), 0);
	ck_assert_uint_eq(offsetof(csdk_provider_options, struct_size), 0);
	ck_assert_uint_eq(offsetof(csdk_create_options, struct_size), 0);
	ck_assert_uint_eq(offsetof(csdk_command_options, struct_size), 0);
	ck_assert_uint_eq(offsetof(csdk_template_options, struct_size), 0);
	ck_assert_uint_eq(offsetof(csdk_compute_options, struct_size), 0);
	ck_assert_uint_eq(offsetof(csdk_compute_create_options, struct_size), 0);
	ck_assert_uint_eq(ro.struct_size, sizeof(ro));
	ck_assert_uint_eq(po.struct_size, sizeof(po));
	ck_assert_uint_eq(co.struct_size, sizeof(co));
	ck_assert_uint_eq(mo.struct_size, sizeof(mo));
	ck_assert_uint_eq(to.struct_size, sizeof(to));
	ck_assert_uint_eq(cpo.struct_size, sizeof(cpo));
	ck_assert_uint_eq(cco.struct_size, sizeof(cco));
	ck_assert_ptr_null(mo.runtime);
	ck_assert_ptr_null(to.sandbox);
}
END_TEST

START_TEST(names_of_modes_and_capabilities)
{
	static const struct {
		uint64_t cap;
		const char *name;
	} caps[] = {
		{ CSDK_CAP_FILESYSTEM, "filesystem" }, { CSDK_CAP_NAMED, "named" },
		{ CSDK_CAP_TEMPLATES, "templates" },   { CSDK_CAP_SNAPSHOTS, "snapshots" },
		{ CSDK_CAP_STREAMING, "streaming" },   { CSDK_CAP_THREAD_SAFE, "thread-safe" },
		{ CSDK_CAP_EXEC, "exec" },             { CSDK_CAP_FS_OVER_COMMANDS, "fs-over-commands" },
	};

	ck_assert_str_eq(csdk_mode_name(CSDK_MODE_DIRECT), "direct");
	ck_assert_str_eq(csdk_mode_name(CSDK_MODE_GATEWAY), "gateway");
	ck_assert_str_eq(csdk_mode_name(CSDK_MODE_DIRECT | CSDK_MODE_GATEWAY), "unknown");
	ck_assert_str_eq(csdk_mode_name(0), "unknown");
	for (size_t i = 0; i < N_OF(caps); i++)
		ck_assert_str_eq(csdk_capability_name(caps[i].cap), caps[i].name);
	ck_assert_ptr_null(csdk_capability_name(UINT64_C(1) << 40));
	ck_assert_ptr_null(csdk_capability_name(CSDK_CAP_FILESYSTEM | CSDK_CAP_NAMED));
}
END_TEST

static Suite *abi_suite(void)
{
	Suite *s = suite_create("abi");
	TCase *tc = tcase_create("frozen");
	int n = (int)N_OF(frozen);

	tcase_add_loop_test(tc, frozen_sizes_equal_size_constants, 0, n);
	tcase_add_loop_test(tc, structs_only_grow, 0, n);
	tcase_add_loop_test(tc, fields_keep_offsets, 0, n);
	tcase_add_loop_test(tc, size_constants_end_at_last_field, 0, n);
	tcase_add_loop_test(tc, constants_never_change, 0, n);
	tcase_add_loop_test(tc, each_minor_extends_the_one_before, 0, n - 1);
	suite_add_tcase(s, tc);

	tc = tcase_create("macros");
	tcase_add_test(tc, abi_version_macros);
	tcase_add_test(tc, magic_reads_csdk);
	tcase_add_test(tc, known_bits_cover_the_bits);
	tcase_add_test(tc, every_growable_struct_starts_with_its_size);
	tcase_add_test(tc, every_options_struct_starts_with_its_size);
	tcase_add_test(tc, names_of_modes_and_capabilities);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(abi_suite());
}
