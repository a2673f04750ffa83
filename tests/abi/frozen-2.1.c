/* The ABI 2.1 layout as the frozen header csdk-plugin-2.1.h defines it. */
#include "config.h"

#include "abi/csdk-plugin-2.1.h"
#include "abi/frozen-layout.h"

#define LAYOUT_NAME frozen_layout_2_1
#define LAYOUT_DEF "abi/layout-2.1.def"
#define LAYOUT_VERSION "2.1"
#define LAYOUT_MINOR_SIZE(type, size) sizeof(struct type)
#define LAYOUT_FIELDS frozen_fields
#define LAYOUT_SIZES frozen_sizes
#define LAYOUT_MINOR_SIZES frozen_minor_sizes
#define LAYOUT_CONSTANTS frozen_constants
#include "abi/layout-body.h"
