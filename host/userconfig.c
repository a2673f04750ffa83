#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <csdk/csdk.h>

#include "buf.h"
#include "config_value.h"
#include "error.h"
#include "provider.h"
#include "util.h"

struct entry {
	char *provider;   /* NULL for [csdk] */
	char *key;
	char *value;
	int line;
};

struct csdk_user_config {
	char *path;       /* NULL when no file was read */
	int exposed;
	struct entry *entries;
	size_t n;
	char **providers;
	size_t n_providers;
	csdk_strategy strategy;
	int fallback;
};

static const char *const csdk_keys = "default, providers, strategy, fallback";

void csdk_user_config_free(csdk_user_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->n; i++) {
		free(cfg->entries[i].provider);
		free(cfg->entries[i].key);
		free(cfg->entries[i].value);
	}
	for (i = 0; i < cfg->n_providers; i++)
		free(cfg->providers[i]);
	free(cfg->providers);
	free(cfg->entries);
	free(cfg->path);
	free(cfg);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static int valid_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static int valid_key(const char *s)
{
	if (!*s || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static const struct entry *lookup(const csdk_user_config *cfg, const char *provider, const char *key)
{
	size_t i;

	for (i = 0; i < cfg->n; i++) {
		const struct entry *e = &cfg->entries[i];
		if (!strcmp(e->key, key) && ((!provider && !e->provider) || (provider && e->provider && !strcmp(provider, e->provider))))
			return e;
	}
	return NULL;
}

static int add_entry(csdk_user_config *cfg, const char *provider, const char *key, const char *value, int line)
{
	struct entry *grown = realloc(cfg->entries, (cfg->n + 1) * sizeof(*grown));
	struct entry *e;

	if (!grown)
		return csdkp_error_oom();
	cfg->entries = grown;
	e = &grown[cfg->n];
	e->provider = provider ? strdup(provider) : NULL;
	e->key = strdup(key);
	e->value = strdup(value);
	e->line = line;
	if ((provider && !e->provider) || !e->key || !e->value) {
		free(e->provider);
		free(e->key);
		free(e->value);
		return csdkp_error_oom();
	}
	cfg->n++;
	return 0;
}

static int parse_providers(csdk_user_config *cfg, const char *file, int line, const char *value)
{
	char *copy = strdup(value), *save = NULL, *tok;
	size_t i;

	if (!copy)
		return csdkp_error_oom();
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *name = trim(tok), **grown;

		if (!valid_name(name)) {
			int rc = csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: '%s' is not a provider name; give names such as local or docker, separated by commas", file, line, name);
			free(copy);
			return rc;
		}
		for (i = 0; i < cfg->n_providers; i++)
			if (!strcmp(cfg->providers[i], name)) {
				int rc = csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: provider '%s' is listed twice in providers; list each provider once", file, line, name);
				free(copy);
				return rc;
			}
		if (!(grown = realloc(cfg->providers, (cfg->n_providers + 1) * sizeof(*grown))) ||
		    !(grown[cfg->n_providers] = strdup(name))) {
			if (grown)
				cfg->providers = grown;
			free(copy);
			return csdkp_error_oom();
		}
		cfg->providers = grown;
		cfg->n_providers++;
	}
	free(copy);
	if (!cfg->n_providers)
		return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: providers is empty; list at least one provider, e.g. 'providers = local', or remove the line", file, line);
	return 0;
}

static int csdk_setting(csdk_user_config *cfg, const char *file, int line, const char *key, const char *value)
{
	if (!strcmp(key, "default")) {
		if (!valid_name(value))
			return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: '%s' is not a provider name; give one such as local or docker", file, line, value);
		return 0;
	}
	if (!strcmp(key, "providers"))
		return parse_providers(cfg, file, line, value);
	if (!strcmp(key, "strategy")) {
		if (!strcmp(value, "priority"))
			cfg->strategy = CSDK_STRATEGY_PRIORITY;
		else if (!strcmp(value, "round-robin"))
			cfg->strategy = CSDK_STRATEGY_ROUND_ROBIN;
		else
			return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: unknown strategy '%s'; use priority or round-robin", file, line, value);
		return 0;
	}
	if (!strcmp(key, "fallback")) {
		if (csdkp_parse_bool(&cfg->fallback, value) < 0)
			return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: fallback must be true or false, not '%s'", file, line, value);
		return 0;
	}
	return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: unknown key '%s' in [csdk]; known keys: %s", file, line, key, csdk_keys);
}

/* A [section] line, s without its '[': sets *section (NULL for [csdk]) and *in_section. */
static int parse_section(const char *file, int line, char *s, char **section, int *in_section)
{
	size_t len = strlen(s);

	if (s[len - 1] != ']')
		return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: section header without ']'; write [csdk] or [provider NAME]", file, line);
	s[len - 1] = '\0';
	s = trim(s + 1);
	free(*section);
	*section = NULL;
	if (!strcmp(s, "csdk")) {
		*in_section = 1;
		return 0;
	}
	/* csdk serve's own keys; "[serve]" cannot clash with a provider name. */
	if (!strcmp(s, "serve")) {
		if (!(*section = strdup("[serve]")))
			return csdkp_error_oom();
		*in_section = 1;
		return 0;
	}
	if (!strncmp(s, "provider", 8) && (s[8] == ' ' || s[8] == '\t')) {
		char *name = trim(s + 9);
		if (!valid_name(name))
			return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: '%s' is not a provider name; write [provider NAME] with a name such as local or docker", file, line, name);
		if (!(*section = strdup(name)))
			return csdkp_error_oom();
		*in_section = 1;
		return 0;
	}
	return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: unknown section [%s]; use [csdk], [provider NAME] or [serve]", file, line, s);
}

/* The value of key in *value: unquoted, or cut at a comment. */
static int parse_value(const char *file, int line, const char *key, char **value)
{
	char *v = *value;

	if (v[0] == '"') {
		char *close = strchr(v + 1, '"'), *rest;

		if (!close)
			return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: the value of '%s' opens a quote that does not close; add the closing '\"'", file, line, key);
		rest = trim(close + 1);
		if (*rest && *rest != '#')
			return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: text after the quoted value of '%s'; put it inside the quotes or after a #", file, line, key);
		*close = '\0';
		*value = v + 1;
		return 0;
	}
	/* A # after white space starts a comment; quote a value that must contain " #". */
	for (size_t len = 1; v[0] && v[len]; len++) {
		if (v[len] == '#' && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
			v[len] = '\0';
			*value = trim(v);
			break;
		}
	}
	return 0;
}

static int parse_line(csdk_user_config *cfg, const char *file, int line, char *text, char **section, int *in_section)
{
	char *s = trim(text), *eq, *key, *value;
	const struct entry *dup;
	int rc;

	if (!*s || *s == '#')
		return 0;
	if (*s == '[')
		return parse_section(file, line, s, section, in_section);
	if (!(eq = strchr(s, '=')))
		return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: expected KEY = VALUE, a [section] or a # comment; add the '=' or start the line with #", file, line);
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if ((rc = parse_value(file, line, key, &value)))
		return rc;
	if (!*in_section)
		return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: '%s' is outside any section; put it under [csdk] or [provider NAME]", file, line, key);
	if (!valid_key(key))
		return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: '%s' is not a key name; keys are lower case letters, digits and '_'", file, line, key);
	if ((dup = lookup(cfg, *section, key)))
		return csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: '%s' is already set on line %d; keep one of the two", file, line, key, dup->line);
	if (!*section && (rc = csdk_setting(cfg, file, line, key, value)))
		return rc;
	return add_entry(cfg, *section, key, value, line);
}

int csdk_user_config_parse(csdk_user_config **out, const char *name, const char *text)
{
	csdk_user_config *cfg;
	char *copy, *line, *next, *section = NULL;
	int lineno = 0, in_section = 0, rc = 0;
	const struct entry *def;
	size_t i;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_user_config_parse: out is NULL");
	*out = NULL;
	if (!(cfg = calloc(1, sizeof(*cfg))))
		return csdkp_error_oom();
	cfg->strategy = CSDK_STRATEGY_PRIORITY;
	cfg->fallback = 1;
	if (!name)
		name = "(configuration)";
	if (!(cfg->path = strdup(name)) || !(copy = strdup(text ? text : ""))) {
		csdk_user_config_free(cfg);
		return csdkp_error_oom();
	}
	for (line = copy; line && rc == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		rc = parse_line(cfg, name, ++lineno, line, &section, &in_section);
	}
	free(section);
	free(copy);
	if (rc == 0 && (def = lookup(cfg, NULL, "default")) && cfg->n_providers) {
		for (i = 0; i < cfg->n_providers && strcmp(cfg->providers[i], def->value); i++)
			;
		if (i == cfg->n_providers)
			rc = csdkp_error_set(CSDK_ECONFIG, NULL, "%s:%d: default provider '%s' is not in providers; add it to providers or change default", name, def->line, def->value);
	}
	if (rc) {
		csdk_user_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

static char *default_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		return csdkp_printf("%s/csdk/config", xdg);
	if (home && *home)
		return csdkp_printf("%s/.config/csdk/config", home);
	return NULL;
}

/* fopen of chosen (NULL: no default path) failed: an empty configuration
 * when the default file is missing, else the error. Frees chosen. */
static int open_failed(csdk_user_config **out, char *chosen, int named)
{
	int err = errno, rc;

	if (!named && (!chosen || err == ENOENT || err == ENOTDIR)) {
		free(chosen);
		if ((rc = csdk_user_config_parse(out, NULL, "")) == 0) {
			free((*out)->path);
			(*out)->path = NULL;
		}
		return rc;
	}
	rc = csdkp_error_set(err == ENOENT ? CSDK_ENOTFOUND : CSDK_EIO, NULL,
		"cannot read the configuration file %s: %s; create it, or point CSDK_CONFIG at an existing file",
		chosen, strerror(err));
	free(chosen);
	return rc;
}

/* All of fp (the file name) into *out, NUL-terminated (NULL when empty), *len_out bytes. */
static int read_text(FILE *fp, const char *name, char **out, size_t *len_out)
{
	char buf[4096], *text = NULL;
	size_t got, len = 0, cap = 0;
	int err;

	while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
		if (csdku_append(&text, &len, &cap, buf, got)) {
			free(text);
			return csdkp_error_oom();
		}
	if (ferror(fp)) {
		err = errno;
		free(text);
		return csdkp_error_set(CSDK_EIO, NULL, "cannot read the configuration file %s: %s; check its permissions", name, strerror(err));
	}
	*out = text;
	*len_out = len;
	return 0;
}

int csdk_user_config_load(csdk_user_config **out, const char *path)
{
	const char *env = getenv("CSDK_CONFIG");
	char *chosen, *text = NULL;
	int named = 1, rc;
	struct stat st;
	FILE *fp;
	size_t len = 0;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_user_config_load: out is NULL");
	*out = NULL;
	if (path)
		chosen = strdup(path);
	else if (env && *env)
		chosen = strdup(env);
	else {
		named = 0;
		chosen = default_path();
	}
	if (!chosen && (path || (env && *env)))
		return csdkp_error_oom();
	if (!chosen || !(fp = fopen(chosen, "r")))
		return open_failed(out, chosen, named);
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(fp);
		rc = csdkp_error_set(CSDK_EIO, NULL, "the configuration file %s is a directory; name a file", chosen);
		free(chosen);
		return rc;
	}
	rc = read_text(fp, chosen, &text, &len);
	fclose(fp);
	if (rc) {
		free(chosen);
		return rc;
	}
	if (text && memchr(text, '\0', len)) {
		rc = csdkp_error_set(CSDK_ECONFIG, NULL, "%s: the file holds NUL bytes; a configuration file is text", chosen);
	} else if ((rc = csdk_user_config_parse(out, chosen, text)) == 0) {
		(*out)->exposed = (st.st_mode & 077) != 0;
	}
	free(text);
	free(chosen);
	return rc;
}

const char *csdk_user_config_path(const csdk_user_config *cfg)
{
	return cfg ? cfg->path : NULL;
}

int csdk_user_config_exposed(const csdk_user_config *cfg)
{
	return cfg ? cfg->exposed : 0;
}

const char *csdk_user_config_default(const csdk_user_config *cfg)
{
	const struct entry *e = cfg ? lookup(cfg, NULL, "default") : NULL;

	return e ? e->value : NULL;
}

size_t csdk_user_config_provider_count(const csdk_user_config *cfg)
{
	return cfg ? cfg->n_providers : 0;
}

const char *csdk_user_config_provider_at(const csdk_user_config *cfg, size_t i)
{
	return cfg && i < cfg->n_providers ? cfg->providers[i] : NULL;
}

csdk_strategy csdk_user_config_strategy(const csdk_user_config *cfg)
{
	return cfg ? cfg->strategy : CSDK_STRATEGY_PRIORITY;
}

int csdk_user_config_fallback(const csdk_user_config *cfg)
{
	return cfg ? cfg->fallback : 1;
}

const char *csdk_user_config_get(const csdk_user_config *cfg, const char *provider, const char *key)
{
	const struct entry *e;

	if (!cfg || !provider || !key)
		return NULL;
	e = lookup(cfg, provider, key);
	return e ? e->value : NULL;
}

/* ------------------------------------------------------------- resolution */

const char *csdk_config_source_name(csdk_config_source source)
{
	switch (source) {
	case CSDK_CONFIG_FROM_COMMAND_LINE:
		return "command line";
	case CSDK_CONFIG_FROM_ENVIRONMENT:
		return "environment";
	case CSDK_CONFIG_FROM_FILE:
		return "file";
	case CSDK_CONFIG_FROM_DEFAULT:
		return "default";
	}
	return "unknown";
}

void csdk_config_entries_free(csdk_config_entries *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++) {
		free(list->entries[i].key);
		free(list->entries[i].value);
		free(list->entries[i].shown);
		free(list->entries[i].origin);
	}
	free(list->entries);
	free(list);
}

int csdk_user_config_resolve(csdk_config_entries **out, const csdk_user_config *cfg,
			     const csdk_plugin_info *plugin, const struct csdk_kv *given, size_t n_given)
{
	csdk_config_entries *list;
	char keys[512];
	size_t i, j;

	if (!out || !plugin)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_user_config_resolve: out or plugin is NULL");
	*out = NULL;
	for (i = 0; i < n_given; i++)
		if (!given[i].key || !csdkp_config_key_find(plugin, given[i].key)) {
			csdkp_config_keys_text(keys, sizeof(keys), plugin);
			return csdkp_error_set(CSDK_ECONFIG, plugin->name, "unknown configuration key '%s' for provider '%s'; known keys: %s",
					       given[i].key ? given[i].key : "(null)", plugin->name, keys);
		}
	for (i = 0; cfg && i < cfg->n; i++) {
		const struct entry *e = &cfg->entries[i];
		if (e->provider && !strcmp(e->provider, plugin->name) && !csdkp_config_key_find(plugin, e->key)) {
			csdkp_config_keys_text(keys, sizeof(keys), plugin);
			return csdkp_error_set(CSDK_ECONFIG, plugin->name, "%s:%d: unknown key '%s' for provider '%s'; known keys: %s",
					       cfg->path, e->line, e->key, plugin->name, keys);
		}
	}
	if (!(list = calloc(1, sizeof(*list))) ||
	    (plugin->n_config_keys && !(list->entries = calloc(plugin->n_config_keys, sizeof(*list->entries))))) {
		free(list);
		return csdkp_error_oom();
	}
	for (i = 0; i < plugin->n_config_keys; i++) {
		const csdk_config_key_info *k = &plugin->config_keys[i];
		csdk_config_entry *e = &list->entries[list->count++];
		const char *value = NULL, *env;
		const struct entry *fe;

		e->flags = k->flags;
		e->source = CSDK_CONFIG_FROM_DEFAULT;
		for (j = 0; j < n_given && !value; j++)
			if (!strcmp(given[j].key, k->key) && given[j].value) {
				value = given[j].value;
				e->source = CSDK_CONFIG_FROM_COMMAND_LINE;
				e->origin = strdup("--config");
			}
		if (!value && k->env && (env = getenv(k->env)) && *env) {
			value = env;
			e->source = CSDK_CONFIG_FROM_ENVIRONMENT;
			e->origin = strdup(k->env);
		}
		if (!value && cfg && (fe = lookup(cfg, plugin->name, k->key))) {
			value = fe->value;
			e->source = CSDK_CONFIG_FROM_FILE;
			e->origin = csdkp_printf("%s:%d", cfg->path, fe->line);
		}
		e->key = strdup(k->key);
		if (value) {
			e->value = strdup(value);
			e->shown = strdup(k->flags & CSDK_CONFIG_SECRET ? "***" : value);
		}
		if (!e->key || (value && (!e->value || !e->shown || !e->origin))) {
			csdk_config_entries_free(list);
			return csdkp_error_oom();
		}
	}
	*out = list;
	return 0;
}

int csdk_config_entries_to_kv(struct csdk_kv **out, size_t *n_out, const csdk_config_entries *list)
{
	size_t i, n = 0;

	if (!out || !n_out || !list)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_config_entries_to_kv: an argument is NULL");
	*out = NULL;
	*n_out = 0;
	if (!list->count)
		return 0;
	if (!(*out = calloc(list->count, sizeof(**out))))
		return csdkp_error_oom();
	for (i = 0; i < list->count; i++) {
		const csdk_config_entry *e = &list->entries[i];
		if (e->source == CSDK_CONFIG_FROM_COMMAND_LINE || e->source == CSDK_CONFIG_FROM_FILE) {
			(*out)[n].key = e->key;
			(*out)[n].value = e->value;
			n++;
		}
	}
	*n_out = n;
	return 0;
}
