/*
 * Defines the struct layout_set LAYOUT_NAME from the header included before
 * it and the list LAYOUT_DEF ("abi/layout-MAJ.MIN.def"), with LAYOUT_VERSION
 * ("MAJ.MIN") and LAYOUT_MINOR_SIZE(type, size): the size that set records
 * as the minor's (sizeof on the frozen side, the constant on the current).
 */
#define layout_member_size(type, field) sizeof(((struct type *)0)->field)

static const struct layout_field LAYOUT_FIELDS[] = {
#define LAYOUT_FIELD(type, field) { #type, #field, offsetof(struct type, field), layout_member_size(type, field) },
#define LAYOUT_STRUCT(type, size)
#define LAYOUT_CONSTANT(name)
#include LAYOUT_DEF
#undef LAYOUT_FIELD
#undef LAYOUT_STRUCT
#undef LAYOUT_CONSTANT
};

static const struct layout_struct LAYOUT_SIZES[] = {
#define LAYOUT_FIELD(type, field)
#define LAYOUT_STRUCT(type, size) { #type, sizeof(struct type) },
#define LAYOUT_CONSTANT(name)
#include LAYOUT_DEF
#undef LAYOUT_FIELD
#undef LAYOUT_STRUCT
#undef LAYOUT_CONSTANT
};

static const struct layout_struct LAYOUT_MINOR_SIZES[] = {
#define LAYOUT_FIELD(type, field)
#define LAYOUT_STRUCT(type, size) { #type, LAYOUT_MINOR_SIZE(type, size) },
#define LAYOUT_CONSTANT(name)
#include LAYOUT_DEF
#undef LAYOUT_FIELD
#undef LAYOUT_STRUCT
#undef LAYOUT_CONSTANT
};

static const struct layout_constant LAYOUT_CONSTANTS[] = {
#define LAYOUT_FIELD(type, field)
#define LAYOUT_STRUCT(type, size)
#define LAYOUT_CONSTANT(name) { #name, (int64_t)(name) },
#include LAYOUT_DEF
#undef LAYOUT_FIELD
#undef LAYOUT_STRUCT
#undef LAYOUT_CONSTANT
};

const struct layout_set LAYOUT_NAME = {
	LAYOUT_VERSION,
	CSDK_ABI_VERSION,
	LAYOUT_FIELDS,
	sizeof(LAYOUT_FIELDS) / sizeof(LAYOUT_FIELDS[0]),
	LAYOUT_SIZES,
	LAYOUT_MINOR_SIZES,
	sizeof(LAYOUT_SIZES) / sizeof(LAYOUT_SIZES[0]),
	LAYOUT_CONSTANTS,
	sizeof(LAYOUT_CONSTANTS) / sizeof(LAYOUT_CONSTANTS[0]),
};

#undef LAYOUT_FIELDS
#undef LAYOUT_SIZES
#undef LAYOUT_MINOR_SIZES
#undef LAYOUT_CONSTANTS
#undef LAYOUT_NAME
#undef LAYOUT_DEF
#undef LAYOUT_VERSION
#undef LAYOUT_MINOR_SIZE
