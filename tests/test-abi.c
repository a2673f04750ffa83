/*
 * test-abi: the plugin ABI may only grow. The structs of the frozen 2.0
 * header (abi/csdk-plugin-2.0.h, never edited) must keep their sizes, field
 * offsets and constants in the current csdk/common.h and csdk/plugin.h.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <csdk/csdk.h>
#include <csdk/plugin.h>

#include "abi/frozen-layout.h"
#include "helpers.h"

#define member_size(type, field) sizeof(((struct type *)0)->field)

static const struct layout_field current_fields[] = {
#define LAYOUT_FIELD(type, field) { #type, #field, offsetof(struct type, field), member_size(type, field) },
#define LAYOUT_STRUCT(type, size)
#define LAYOUT_CONSTANT(name)
#include "abi/layout-2.0.def"
#undef LAYOUT_FIELD
#undef LAYOUT_STRUCT
#undef LAYOUT_CONSTANT
};

/* The current header's CSDK_*_SIZE_2_0 constants (sizeof for csdk_kv). */
static const struct layout_struct current_sizes_2_0[] = {
#define LAYOUT_FIELD(type, field)
#define LAYOUT_STRUCT(type, size) { #type, size },
#define LAYOUT_CONSTANT(name)
#include "abi/layout-2.0.def"
#undef LAYOUT_FIELD
#undef LAYOUT_STRUCT
#undef LAYOUT_CONSTANT
};

static const struct layout_struct current_sizes[] = {
#define LAYOUT_FIELD(type, field)
#define LAYOUT_STRUCT(type, size) { #type, sizeof(struct type) },
#define LAYOUT_CONSTANT(name)
#include "abi/layout-2.0.def"
#undef LAYOUT_FIELD
#undef LAYOUT_STRUCT
#undef LAYOUT_CONSTANT
};

static const struct layout_constant current_constants[] = {
#define LAYOUT_FIELD(type, field)
#define LAYOUT_STRUCT(type, size)
#define LAYOUT_CONSTANT(name) { #name, (int64_t)(name) },
#include "abi/layout-2.0.def"
#undef LAYOUT_FIELD
#undef LAYOUT_STRUCT
#undef LAYOUT_CONSTANT
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(frozen_sizes_equal_size_constants)
{
	ck_assert_uint_eq(frozen_n_structs, N_OF(current_sizes_2_0));
	for (size_t i = 0; i < frozen_n_structs; i++) {
		ck_assert_str_eq(frozen_structs[i].type, current_sizes_2_0[i].type);
		ck_assert_msg(frozen_structs[i].size == current_sizes_2_0[i].size,
			      "struct %s: frozen 2.0 size %zu, current 2.0 constant %zu",
			      frozen_structs[i].type, frozen_structs[i].size, current_sizes_2_0[i].size);
	}
}
END_TEST

START_TEST(structs_only_grow)
{
	for (size_t i = 0; i < frozen_n_structs; i++)
		ck_assert_msg(current_sizes[i].size >= frozen_structs[i].size,
			      "struct %s shrank from %zu to %zu bytes",
			      frozen_structs[i].type, frozen_structs[i].size, current_sizes[i].size);
}
END_TEST

START_TEST(fields_keep_offsets)
{
	ck_assert_uint_eq(frozen_n_fields, N_OF(current_fields));
	for (size_t i = 0; i < frozen_n_fields; i++) {
		const struct layout_field *f = &frozen_fields[i], *c = &current_fields[i];

		ck_assert_msg(f->offset == c->offset && f->size == c->size,
			      "%s.%s: 2.0 at offset %zu size %zu, now at offset %zu size %zu",
			      f->type, f->field, f->offset, f->size, c->offset, c->size);
	}
}
END_TEST

/* The 2.0 size of each struct ends exactly after its last 2.0 field. */
START_TEST(size_constants_end_at_last_field)
{
	for (size_t s = 0; s < N_OF(current_sizes_2_0); s++) {
		size_t end = 0;

		for (size_t i = 0; i < N_OF(current_fields); i++)
			if (strcmp(current_fields[i].type, current_sizes_2_0[s].type) == 0 &&
			    current_fields[i].offset + current_fields[i].size > end)
				end = current_fields[i].offset + current_fields[i].size;
		ck_assert_msg(end == current_sizes_2_0[s].size, "struct %s: last 2.0 field ends at %zu, 2.0 size is %zu",
			      current_sizes_2_0[s].type, end, current_sizes_2_0[s].size);
	}
}
END_TEST

START_TEST(constants_never_change)
{
	ck_assert_uint_eq(frozen_n_constants, N_OF(current_constants));
	for (size_t i = 0; i < frozen_n_constants; i++) {
		ck_assert_str_eq(frozen_constants[i].name, current_constants[i].name);
		ck_assert_msg(frozen_constants[i].value == current_constants[i].value,
			      "%s was %lld in 2.0 and is %lld now", frozen_constants[i].name,
			      (long long)frozen_constants[i].value, (long long)current_constants[i].value);
	}
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
	ck_assert_uint_eq(CSDK_ABI_MAJOR, CSDK_ABI_MAJOR_OF(frozen_abi_version));
	ck_assert_uint_ge(CSDK_ABI_MINOR, CSDK_ABI_MINOR_OF(frozen_abi_version));
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
	TCase *tc = tcase_create("frozen-2.0");

	tcase_add_test(tc, frozen_sizes_equal_size_constants);
	tcase_add_test(tc, structs_only_grow);
	tcase_add_test(tc, fields_keep_offsets);
	tcase_add_test(tc, size_constants_end_at_last_field);
	tcase_add_test(tc, constants_never_change);
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
