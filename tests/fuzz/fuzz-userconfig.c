/*
 * fuzz-userconfig.c - the user configuration file parser (host/userconfig.c).
 *
 * The input is the file's text (cut at the first NUL, as a C string).
 * csdk_user_config_parse either succeeds with a configuration whose getters
 * agree with one another, or fails with CSDK_ECONFIG and a one-line
 * "NAME:LINE: ..." message. Resolving the keys of a fixed provider never
 * crashes, whatever the file said.
 */
#include "config.h"

#include <string.h>

#include <csdk/csdk.h>

#include "fuzz.h"

static const csdk_config_key_info keys[] = {
	{ "api_key", "CSDK_FUZZ_API_KEY", CSDK_CONFIG_SECRET, CSDK_CONFIG_STRING, "the key", 0, 0 },
	{ "region", NULL, 0, CSDK_CONFIG_STRING, "where", 0, 0 },
	{ "wait", NULL, 0, CSDK_CONFIG_DURATION, "how long", 1, 3600000 },
	{ "memory", NULL, 0, CSDK_CONFIG_SIZE, "how much", 0, INT64_MAX },
	{ "verbose", NULL, 0, CSDK_CONFIG_BOOL, "whether", 0, 0 },
};

static csdk_plugin_info plugin(const char *name)
{
	csdk_plugin_info info = { 0 };

	info.name = name;
	info.config_keys = keys;
	info.n_config_keys = sizeof(keys) / sizeof(keys[0]);
	return info;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size);
	csdk_user_config *cfg = NULL;
	csdk_config_entries *entries = NULL;
	int rc;

	if (!text)
		return 0;
	rc = csdk_user_config_parse(&cfg, "fuzz.conf", text);
	if (rc != 0) {
		const csdk_error *e = csdk_error_last();

		FUZZ_CHECK(!cfg);
		FUZZ_CHECK(rc == CSDK_ECONFIG || rc == CSDK_ENOMEM);
		FUZZ_CHECK(e && e->code == rc && e->message && !strchr(e->message, '\n'));
		FUZZ_CHECK(rc == CSDK_ENOMEM || strncmp(e->message, "fuzz.conf:", 10) == 0);
		free(text);
		return 0;
	}
	FUZZ_CHECK(cfg && strcmp(csdk_user_config_path(cfg), "fuzz.conf") == 0);
	for (size_t i = 0; i < csdk_user_config_provider_count(cfg); i++) {
		const char *p = csdk_user_config_provider_at(cfg, i);
		csdk_plugin_info info = plugin(p);

		FUZZ_CHECK(p && *p);
		if (csdk_user_config_resolve(&entries, cfg, &info, NULL, 0) == 0) {
			struct csdk_kv *kv = NULL;
			size_t n = 0;

			FUZZ_CHECK(entries->count == sizeof(keys) / sizeof(keys[0]));
			if (csdk_config_entries_to_kv(&kv, &n, entries) == 0)
				free(kv); /* csdk_free is free */
			csdk_config_entries_free(entries);
		}
	}
	if (csdk_user_config_default(cfg) && csdk_user_config_provider_count(cfg)) {
		const char *def = csdk_user_config_default(cfg);
		int found = 0;

		for (size_t i = 0; i < csdk_user_config_provider_count(cfg); i++)
			found |= !strcmp(def, csdk_user_config_provider_at(cfg, i));
		FUZZ_CHECK(found);
	}
	csdk_user_config_get(cfg, "local", "api_key");
	csdk_user_config_free(cfg);
	free(text);
	return 0;
}
