#include "config.h"

#include "common/describe.h"
#include "common/output.h"
#include "tool.h"

json_t *tool_plugin_json(const csdk_plugin_info *info)
{
	char abi[TOOL_ABI_TEXT_SIZE];

	return json_pack("{s:s?, s:s?, s:s, s:o, s:s, s:o, s:s?, s:s?, s:s?, s:o}",
			 "name", info->name,
			 "version", info->version,
			 "abi", tool_abi_text(abi, info->abi_version),
			 "modes", tool_modes_json(info->modes, info->default_mode),
			 "default_mode", csdk_mode_name(info->default_mode),
			 "capabilities", tool_capabilities_json(info->capabilities),
			 "path", info->path,
			 "description", info->description,
			 "license", info->license,
			 "warnings", tool_strings_json(info->warnings, info->n_warnings));
}

json_t *tool_config_json(const csdk_plugin_info *info)
{
	json_t *array = json_array();
	size_t i;

	for (i = 0; array && i < info->n_config_keys; i++) {
		const csdk_config_key_info *key = &info->config_keys[i];
		json_t *item = json_pack("{s:s?, s:s?, s:s, s:b, s:b, s:s?}",
					 "key", key->key,
					 "env", key->env,
					 "type", tool_config_type_name(key->type),
					 "required", (key->flags & CSDK_CONFIG_REQUIRED) != 0,
					 "secret", (key->flags & CSDK_CONFIG_SECRET) != 0,
					 "help", key->help);

		tool_json_append(&array, item);
	}
	return array;
}

json_t *tool_methods_json(const csdk_plugin_info *info)
{
	json_t *object = json_object();
	size_t i;

	for (i = 0; object && i < tool_method_count(); i++) {
		if (json_object_set_new(object, tool_method_name(i),
					json_boolean(tool_method_present(info, i))) < 0) {
			json_decref(object);
			object = NULL;
		}
	}
	return object;
}

json_t *tool_rejection_json(const csdk_rejection *rej)
{
	return json_pack("{s:s?, s:s?, s:i, s:i, s:b, s:s?}",
			 "path", rej->path,
			 "name", rej->name,
			 "code", rej->code,
			 "signal", rej->signal,
			 "shadowed", rej->shadowed != 0,
			 "reason", rej->reason);
}

json_t *tool_rejected_json(const csdk_registry *reg)
{
	json_t *array = json_array();
	size_t i;

	for (i = 0; array && i < csdk_registry_rejected_count(reg); i++)
		tool_json_append(&array, tool_rejection_json(csdk_registry_rejected_at(reg, i)));
	return array;
}

json_t *tool_plugins_json(const csdk_registry *reg)
{
	json_t *array = json_array();
	size_t i;

	for (i = 0; array && i < csdk_registry_count(reg); i++)
		tool_json_append(&array, tool_plugin_json(csdk_registry_at(reg, i)));
	return array;
}

/* Print root (NULL means building it ran out of memory) and drop it. */
int tool_emit_json(json_t *root)
{
	int rc;

	if (!root) {
		tool_error("out of memory while building the JSON output");
		return -1;
	}
	rc = tool_json_print(TOOL_STDOUT, root);
	json_decref(root);
	return rc;
}

void tool_json_append(json_t **array, json_t *item)
{
	if (json_array_append_new(*array, item) < 0) {
		json_decref(*array);
		*array = NULL;
	}
}
