/*
 * The layout of the ABI 2.0 structs as the frozen header (csdk-plugin-2.0.h)
 * defines them, computed in a translation unit of its own because the frozen
 * and the current header declare the same structs.
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

extern const struct layout_field frozen_fields[];
extern const size_t frozen_n_fields;
extern const struct layout_struct frozen_structs[];
extern const size_t frozen_n_structs;
extern const struct layout_constant frozen_constants[];
extern const size_t frozen_n_constants;
extern const uint32_t frozen_abi_version;

#endif
