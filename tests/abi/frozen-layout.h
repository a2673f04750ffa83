/*
 * The layout of the plugin ABI's structs as one header defines them: the
 * frozen headers (csdk-plugin-2.0.h, csdk-plugin-2.1.h) each in a translation
 * unit of its own (frozen-2.0.c, frozen-2.1.c), because the frozen and the
 * current headers declare the same structs, and the current headers in
 * test-abi.c. layout-body.h builds one set from a layout-MAJ.MIN.def.
 */
#ifndef CSDK_TESTS_FROZEN_LAYOUT_H
#define CSDK_TESTS_FROZEN_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

struct layout_field {
	const char *type;
	const char *field;
	size_t offset;
	size_t size;
};

struct layout_struct {
	const char *type;
	size_t size;
};

struct layout_constant {
	const char *name;
	int64_t value;
};

/*
 * One ABI minor's layout. On the frozen side sizes are the frozen structs'
 * sizeof and minor_sizes the same; on the current side sizes are today's
 * sizeof and minor_sizes the current header's CSDK_*_SIZE_MAJ_MIN constants.
 */
struct layout_set {
	const char *version;
	uint32_t abi_version;
	const struct layout_field *fields;
	size_t n_fields;
	const struct layout_struct *sizes;
	const struct layout_struct *minor_sizes;
	size_t n_structs;
	const struct layout_constant *constants;
	size_t n_constants;
};

extern const struct layout_set frozen_layout_2_0;
extern const struct layout_set frozen_layout_2_1;

#endif
