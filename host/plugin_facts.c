#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "plugin_facts.h"
#include "util.h"

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *csdkp_facts_dump(const struct csdkp_plugin *p)
{
	const csdk_plugin_info *info = &p->info;
	json_t *root, *keys = json_array(), *methods = json_array(), *warnings = json_array();
	char *text = NULL;

	for (size_t i = 0; keys && i < info->n_config_keys; i++) {
		const csdk_config_key_info *k = &info->config_keys[i];

		json_array_append_new(keys, json_pack("{s:s,s:o,s:I,s:I,s:o,s:I,s:I}", "key", k->key, "env", string_or_null(k->env),
						      "flags", (json_int_t)k->flags, "type", (json_int_t)k->type,
						      "help", string_or_null(k->help), "min", (json_int_t)k->min, "max", (json_int_t)k->max));
	}
	for (size_t i = 0; methods && i < info->n_methods; i++)
		json_array_append_new(methods, json_string(info->methods[i]));
	for (size_t i = 0; warnings && i < info->n_warnings; i++)
		json_array_append_new(warnings, json_string(info->warnings[i]));
	if (!keys || !methods || !warnings) {
		json_decref(keys);
		json_decref(methods);
		json_decref(warnings);
		return NULL;
	}
	root = json_pack("{s:s,s:o,s:o,s:o,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "name", info->name,
			 "version", string_or_null(info->version), "description", string_or_null(info->description),
			 "license", string_or_null(info->license), "abi", (json_int_t)info->abi_version,
			 "modes", (json_int_t)info->modes, "default_mode", (json_int_t)info->default_mode,
			 "caps", (json_int_t)info->capabilities, "keys", keys, "methods", methods, "warnings", warnings);
	if (root)
		text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

/* A copy kept with the record; NULL for JSON null. -1 for anything else that is not a string. */
static int own(const char **out, struct csdkp_plugin *p, json_t *value)
{
	char *copy;

	*out = NULL;
	if (!value || json_is_null(value))
		return 0;
	if (!json_is_string(value))
		return -1;
	if (!(copy = strdup(json_string_value(value))) || csdkp_vec_push(&p->owned, copy) != 0) {
		free(copy);
		return CSDK_ENOMEM;
	}
	*out = copy;
	return 0;
}

static int integer(json_t *obj, const char *key, json_int_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int load_keys(struct csdkp_plugin *p, json_t *keys)
{
	size_t n = json_array_size(keys);
	int rc;

	if (!json_is_array(keys))
		return -1;
	if (n && !(p->config_keys = calloc(n, sizeof(*p->config_keys))))
		return CSDK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		csdk_config_key_info *k = &p->config_keys[i];
		json_t *o = json_array_get(keys, i);
		json_int_t flags, type, min, max;

		if (!json_is_object(o) || integer(o, "flags", &flags) || integer(o, "type", &type) ||
		    integer(o, "min", &min) || integer(o, "max", &max))
			return -1;
		if ((rc = own(&k->key, p, json_object_get(o, "key"))) || !k->key ||
		    (rc = own(&k->env, p, json_object_get(o, "env"))) || (rc = own(&k->help, p, json_object_get(o, "help"))))
			return rc ? rc : -1;
		k->flags = (uint32_t)flags;
		k->type = (uint32_t)type;
		k->min = (int64_t)min;
		k->max = (int64_t)max;
	}
	p->info.n_config_keys = n;
	p->info.config_keys = p->config_keys;
	return 0;
}

static int load_strings(struct csdkp_plugin *p, json_t *array, const char ***out, size_t *n_out)
{
	size_t n = json_array_size(array);
	const char **items;
	int rc;

	if (!json_is_array(array))
		return -1;
	if (!(items = calloc(n + 1, sizeof(*items))) || csdkp_vec_push(&p->owned, items) != 0) {
		free(items);
		return CSDK_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if ((rc = own(&items[i], p, json_array_get(array, i))) || !items[i])
			return rc ? rc : -1;
	*out = items;
	*n_out = n;
	return 0;
}

int csdkp_facts_load(struct csdkp_plugin **out, const char *path, const char *text)
{
	struct csdkp_plugin *p = calloc(1, sizeof(*p));
	json_t *root = json_loads(text, 0, NULL);
	csdk_plugin_info *info;
	json_int_t abi, modes, default_mode, caps;
	const char **methods = NULL, **warnings = NULL;
	int rc = -1;

	*out = NULL;
	if (!p || !(p->path = strdup(path))) {
		rc = CSDK_ENOMEM;
		goto out;
	}
	info = &p->info;
	if (!json_is_object(root) || integer(root, "abi", &abi) || integer(root, "modes", &modes) ||
	    integer(root, "default_mode", &default_mode) || integer(root, "caps", &caps))
		goto out;
	if ((rc = own(&info->name, p, json_object_get(root, "name"))) || !info->name ||
	    (rc = own(&info->version, p, json_object_get(root, "version"))) ||
	    (rc = own(&info->description, p, json_object_get(root, "description"))) ||
	    (rc = own(&info->license, p, json_object_get(root, "license"))) ||
	    (rc = load_keys(p, json_object_get(root, "keys"))) ||
	    (rc = load_strings(p, json_object_get(root, "methods"), &methods, &info->n_methods)) ||
	    (rc = load_strings(p, json_object_get(root, "warnings"), &warnings, &info->n_warnings))) {
		rc = rc ? rc : -1;
		goto out;
	}
	info->path = p->path;
	info->abi_version = (uint32_t)abi;
	info->modes = (uint32_t)modes;
	info->default_mode = (uint32_t)default_mode;
	info->capabilities = (uint64_t)caps;
	info->methods = methods;
	info->warnings = warnings;
	p->facts_only = 1;
	*out = p;
	p = NULL;
	rc = 0;
out:
	json_decref(root);
	csdkp_plugin_free(p);
	return rc;
}
