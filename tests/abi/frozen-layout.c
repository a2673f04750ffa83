#include "config.h"

#include "abi/csdk-plugin-2.0.h"
#include "abi/frozen-layout.h"

#define member_size(type, field) sizeof(((struct type *)0)->field)

const struct layout_field frozen_fields[] = {
#define LAYOUT_FIELD(type, field) { #type, #field, offsetof(struct type, field), member_size(type, field) },
#define LAYOUT_STRUCT(type, size)
#define LAYOUT_CONSTANT(name)
#include "abi/layout-2.0.def"
#undef LAYOUT_FIELD
#undef LAYOUT_STRUCT
#undef LAYOUT_CONSTANT
};
const size_t frozen_n_fields = sizeof(frozen_fields) / sizeof(frozen_fields[0]);

/* Here the size is the frozen struct's own; the .def's constant is the current one. */
const struct layout_struct frozen_structs[] = {
#define LAYOUT_FIELD(type, field)
#define LAYOUT_STRUCT(type, size) { #type, sizeof(struct type) },
#define LAYOUT_CONSTANT(name)
#include "abi/layout-2.0.def"
#undef LAYOUT_FIELD
#undef LAYOUT_STRUCT
#undef LAYOUT_CONSTANT
};
const size_t frozen_n_structs = sizeof(frozen_structs) / sizeof(frozen_structs[0]);

const struct layout_constant frozen_constants[] = {
#define LAYOUT_FIELD(type, field)
#define LAYOUT_STRUCT(type, size)
#define LAYOUT_CONSTANT(name) { #name, (int64_t)(name) },
#include "abi/layout-2.0.def"
#undef LAYOUT_FIELD
#undef LAYOUT_STRUCT
#undef LAYOUT_CONSTANT
};
const size_t frozen_n_constants = sizeof(frozen_constants) / sizeof(frozen_constants[0]);

const uint32_t frozen_abi_version = CSDK_ABI_VERSION;
