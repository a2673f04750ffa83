#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config_value.h"
#include "error.h"

int csdkp_parse_bool(int *out, const char *text)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(text, yes[i]))
			return *out = 1, 0;
		if (!strcmp(text, no[i]))
			return *out = 0, 0;
	}
	return -1;
}

int csdkp_parse_int64(int64_t *out, const char *text)
{
	char *end;
	long long v;

	if (!*text || strspn(text, " \t") || (*text == '+'))
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text || *end)
		return -1;
	*out = v;
	return 0;
}

/* A non-negative number followed by one of the units, each a multiplier. */
static int parse_scaled(int64_t *out, const char *text, const char *const *units, const int64_t *scale, size_t n_units)
{
	char *end;
	unsigned long long v;
	size_t i;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || v > INT64_MAX)
		return -1;
	for (i = 0; i < n_units; i++)
		if (!strcmp(end, units[i]))
			break;
	if (i == n_units)
		return -1;
	if (scale[i] > 1 && v > (unsigned long long)(INT64_MAX / scale[i]))
		return -1;
	*out = (int64_t)v * scale[i];
	return 0;
}

int csdkp_parse_size(int64_t *out, const char *text)
{
	static const char *const units[] = { "", "B", "K", "KB", "KiB", "k", "M", "MB", "MiB", "m", "G", "GB", "GiB", "g", "T", "TB", "TiB", "t" };
	static const int64_t k = 1024;
	static const int64_t scale[] = { 1, 1, k, k, k, k, k * k, k * k, k * k, k * k, k * k * k, k * k * k, k * k * k, k * k * k,
					 k * k * k * k, k * k * k * k, k * k * k * k, k * k * k * k };

	return parse_scaled(out, text, units, scale, sizeof(units) / sizeof(units[0]));
}

int csdkp_parse_duration(int64_t *out, const char *text)
{
	static const char *const units[] = { "", "ms", "s", "m", "h" };
	static const int64_t scale[] = { 1, 1, 1000, 60000, 3600000 };

	return parse_scaled(out, text, units, scale, sizeof(units) / sizeof(units[0]));
}

static const char *const type_fact[] = {
	[CSDK_CONFIG_BOOL] = "is not a boolean; give true or false",
	[CSDK_CONFIG_INT] = "is not an integer; give a whole number",
	[CSDK_CONFIG_SIZE] = "is not a size; give bytes or a value like 512M, 2G",
	[CSDK_CONFIG_DURATION] = "is not a duration; give milliseconds or a value like 30s, 5m",
};

int csdkp_config_value(int64_t *out, const csdk_config_key_info *key, const char *text, const char *provider)
{
	int64_t v = 0;
	int flag, rc = -1;

	switch (key->type) {
	case CSDK_CONFIG_STRING:
		return csdkp_error_set(CSDK_EINVAL, provider, "key '%s' is a string, not a number; read it with config_get", key->key);
	case CSDK_CONFIG_BOOL:
		rc = csdkp_parse_bool(&flag, text);
		v = flag;
		break;
	case CSDK_CONFIG_INT:
		rc = csdkp_parse_int64(&v, text);
		break;
	case CSDK_CONFIG_SIZE:
		rc = csdkp_parse_size(&v, text);
		break;
	case CSDK_CONFIG_DURATION:
		rc = csdkp_parse_duration(&v, text);
		break;
	default:
		return csdkp_error_set(CSDK_EINVAL, provider, "key '%s' has unknown type %u", key->key, (unsigned int)key->type);
	}
	if (rc)
		return csdkp_error_set(CSDK_ECONFIG, provider, "key '%s': '%s' %s", key->key, text, type_fact[key->type]);
	if (key->type != CSDK_CONFIG_BOOL && (v < key->min || v > key->max))
		return csdkp_error_set(CSDK_ECONFIG, provider, "key '%s': '%s' is out of range; give %" PRId64 " to %" PRId64 "%s",
				       key->key, text, key->min, key->max,
				       key->type == CSDK_CONFIG_SIZE ? " bytes" : key->type == CSDK_CONFIG_DURATION ? " ms" : "");
	*out = v;
	return 0;
}
