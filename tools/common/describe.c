#include "config.h"

#include "describe.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *tool_abi_text(char buf[TOOL_ABI_TEXT_SIZE], uint32_t abi_version)
{
	snprintf(buf, TOOL_ABI_TEXT_SIZE, "%u.%u",
		 (unsigned int)CSDK_ABI_MAJOR_OF(abi_version), (unsigned int)CSDK_ABI_MINOR_OF(abi_version));
	return buf;
}

/* Mode names in print order: the default first, then the others by bit. */
static size_t mode_names(const char *out[32], uint32_t modes, uint32_t default_mode)
{
	size_t n = 0;
	unsigned int bit;

	if (default_mode && (modes & default_mode) == default_mode)
		out[n++] = csdk_mode_name(default_mode);
	for (bit = 0; bit < 32; bit++) {
		uint32_t mode = UINT32_C(1) << bit;

		if ((modes & mode) && mode != default_mode)
			out[n++] = csdk_mode_name(mode);
	}
	return n;
}

static char *join_names(const char *const *names, size_t n, const char *empty)
{
	size_t i, len = 1;
	char *text;

	if (n == 0)
		return strdup(empty);
	for (i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	text = malloc(len);
	if (!text)
		return NULL;
	text[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(text, ",");
		strcat(text, names[i]);
	}
	return text;
}

static size_t capability_names(const char *out[64], uint64_t capabilities)
{
	size_t n = 0;
	unsigned int bit;

	for (bit = 0; bit < 64; bit++) {
		const char *name;

		if (!(capabilities & (UINT64_C(1) << bit)))
			continue;
		name = csdk_capability_name(UINT64_C(1) << bit);
		if (name)
			out[n++] = name;
	}
	return n;
}

char *tool_modes_text(uint32_t modes, uint32_t default_mode)
{
	const char *names[32];
	size_t n = mode_names(names, modes, default_mode);

	return join_names(names, n, "-");
}

char *tool_capabilities_text(uint64_t capabilities)
{
	const char *names[64];
	size_t n = capability_names(names, capabilities);

	return join_names(names, n, "-");
}

json_t *tool_strings_json(const char *const *names, size_t n)
{
	json_t *array = json_array();
	size_t i;

	if (!array)
		return NULL;
	for (i = 0; i < n; i++) {
		if (json_array_append_new(array, json_string(names[i])) < 0) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

json_t *tool_modes_json(uint32_t modes, uint32_t default_mode)
{
	const char *names[32];
	size_t n = mode_names(names, modes, default_mode);

	return tool_strings_json(names, n);
}

json_t *tool_capabilities_json(uint64_t capabilities)
{
	const char *names[64];
	size_t n = capability_names(names, capabilities);

	return tool_strings_json(names, n);
}

static const char *const method_slots[] = {
	"init", "teardown", "release",
	"create", "get", "list", "destroy",
	"run_code", "run_command", "get_info", "get_url",
	"fs_read", "fs_write", "fs_mkdir", "fs_readdir", "fs_exists", "fs_remove",
	"find_or_create", "find", "extend_timeout",
	"template_create", "template_list", "template_delete",
	"snapshot_create", "snapshot_list", "snapshot_delete",
	"gateway_endpoint",
	"extension",
};

size_t tool_method_count(void)
{
	return sizeof(method_slots) / sizeof(method_slots[0]);
}

const char *tool_method_name(size_t i)
{
	return i < tool_method_count() ? method_slots[i] : NULL;
}

int tool_method_present(const csdk_plugin_info *info, size_t i)
{
	if (!info || i >= tool_method_count())
		return 0;
	for (size_t k = 0; k < info->n_methods; k++)
		if (!strcmp(info->methods[k], method_slots[i]))
			return 1;
	return 0;
}

const char *tool_config_type_name(uint32_t type)
{
	static const char *const names[] = { "string", "bool", "int", "size", "duration" };

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}

const char *tool_path_origin_name(csdk_path_origin origin)
{
	switch (origin) {
	case CSDK_PATH_OPTION:
		return "--path";
	case CSDK_PATH_ENV:
		return "CSDK_PLUGIN_PATH";
	case CSDK_PATH_USER:
		return "user";
	case CSDK_PATH_SYSTEM:
		return "system";
	case CSDK_PATH_SYSTEM_ENV:
		return "CSDK_PLUGIN_SYSTEM_PATH";
	}
	return "unknown";
}
