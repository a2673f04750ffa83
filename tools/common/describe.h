/*
 * Text and JSON descriptions of plugin records, shared by the csdk
 * command-line tools so that every tool names modes and capabilities alike.
 */
#ifndef CSDK_TOOLS_DESCRIBE_H
#define CSDK_TOOLS_DESCRIBE_H

#include <csdk/csdk.h>
#include <jansson.h>

/** Room for "MAJOR.MINOR" of any ABI version. */
#define TOOL_ABI_TEXT_SIZE 16

/** Format an ABI version as "MAJOR.MINOR" into buf. Returns buf. */
char *tool_abi_text(char buf[TOOL_ABI_TEXT_SIZE], uint32_t abi_version);

/** Comma-separated mode names, the default first ("direct,gateway"). A new string; NULL when out of memory. */
char *tool_modes_text(uint32_t modes, uint32_t default_mode);

/** Comma-separated capability names, or "-" when there are none. A new string; NULL when out of memory. */
char *tool_capabilities_text(uint64_t capabilities);

/** A JSON array of the n strings; NULL when out of memory. */
json_t *tool_strings_json(const char *const *strings, size_t n);

/** The same lists as JSON arrays of strings; NULL when out of memory. */
json_t *tool_modes_json(uint32_t modes, uint32_t default_mode);
json_t *tool_capabilities_json(uint64_t capabilities);

/** Number of method slots of the plugin ABI's method table (2.0). */
size_t tool_method_count(void);

/** The i-th method slot's name ("init", ..., "gateway_endpoint"), or NULL past the end. */
const char *tool_method_name(size_t i);

/** Non-zero when the plugin implements the i-th method slot. */
int tool_method_present(const csdk_plugin_info *info, size_t i);

/** "string", "bool", "int", "size" or "duration" for an enum csdk_config_type value; "unknown" otherwise. */
const char *tool_config_type_name(uint32_t type);

/** A search path origin as the tools print it ("--path", "CSDK_PLUGIN_PATH", "user", ...). */
const char *tool_path_origin_name(csdk_path_origin origin);

#endif /* CSDK_TOOLS_DESCRIBE_H */
