#include "config.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ltdl.h>

#include "elf_file.h"
#include "util.h"
#include "validate.h"

enum method_group {
	GROUP_OPTIONAL,
	GROUP_ALWAYS,
	GROUP_DIRECT,
	GROUP_GATEWAY,
	GROUP_FILESYSTEM,
	GROUP_NAMED,
	GROUP_TEMPLATES,
	GROUP_SNAPSHOTS,
};

#define METHOD(name, group) { #name, offsetof(struct csdk_methods, name), group }

/* In the order the method table declares them: rules 10 and 12 report the first missing one. */
static const struct method_desc {
	const char *name;
	size_t offset;
	enum method_group group;
} method_descs[] = {
	METHOD(init, GROUP_ALWAYS),
	METHOD(teardown, GROUP_OPTIONAL),
	METHOD(release, GROUP_OPTIONAL),
	METHOD(create, GROUP_ALWAYS),
	METHOD(get, GROUP_ALWAYS),
	METHOD(list, GROUP_ALWAYS),
	METHOD(destroy, GROUP_ALWAYS),
	METHOD(run_code, GROUP_DIRECT),
	METHOD(run_command, GROUP_DIRECT),
	METHOD(get_info, GROUP_DIRECT),
	METHOD(get_url, GROUP_DIRECT),
	METHOD(fs_read, GROUP_FILESYSTEM),
	METHOD(fs_write, GROUP_FILESYSTEM),
	METHOD(fs_mkdir, GROUP_FILESYSTEM),
	METHOD(fs_readdir, GROUP_FILESYSTEM),
	METHOD(fs_exists, GROUP_FILESYSTEM),
	METHOD(fs_remove, GROUP_FILESYSTEM),
	METHOD(find_or_create, GROUP_NAMED),
	METHOD(find, GROUP_NAMED),
	METHOD(extend_timeout, GROUP_NAMED),
	METHOD(template_create, GROUP_TEMPLATES),
	METHOD(template_list, GROUP_TEMPLATES),
	METHOD(template_delete, GROUP_TEMPLATES),
	METHOD(snapshot_create, GROUP_SNAPSHOTS),
	METHOD(snapshot_list, GROUP_SNAPSHOTS),
	METHOD(snapshot_delete, GROUP_SNAPSHOTS),
	METHOD(gateway_endpoint, GROUP_GATEWAY),
	METHOD(extension, GROUP_OPTIONAL),
};

#define N_METHODS (sizeof(method_descs) / sizeof(method_descs[0]))

static const struct cap_group {
	enum method_group group;
	uint64_t cap;
	const char *upper;
} cap_groups[] = {
	{ GROUP_FILESYSTEM, CSDK_CAP_FILESYSTEM, "FILESYSTEM" },
	{ GROUP_NAMED, CSDK_CAP_NAMED, "NAMED" },
	{ GROUP_TEMPLATES, CSDK_CAP_TEMPLATES, "TEMPLATES" },
	{ GROUP_SNAPSHOTS, CSDK_CAP_SNAPSHOTS, "SNAPSHOTS" },
};

static const struct cap_group *cap_group_of(enum method_group group)
{
	for (size_t i = 0; i < sizeof(cap_groups) / sizeof(cap_groups[0]); i++)
		if (cap_groups[i].group == group)
			return &cap_groups[i];
	return NULL;
}

static int method_present(const struct csdk_methods *m, const struct method_desc *md)
{
	void (*fn)(void);

	memcpy(&fn, (const char *)m + md->offset, sizeof(fn));
	return fn != NULL;
}

static void method_clear(struct csdk_methods *m, const struct method_desc *md)
{
	memset((char *)m + md->offset, 0, sizeof(void (*)(void)));
}

void csdkp_verdict_clear(struct csdkp_verdict *verdict)
{
	free(verdict->name);
	free(verdict->reason);
	memset(verdict, 0, sizeof(*verdict));
}

void csdkp_plugin_free(struct csdkp_plugin *plugin)
{
	if (!plugin)
		return;
	for (size_t i = 0; plugin->warnings && i < plugin->info.n_warnings; i++)
		free(plugin->warnings[i]);
	csdkp_vec_clear(&plugin->owned, free);
	free(plugin->warnings);
	free(plugin->config_keys);
	free(plugin->method_names);
	free(plugin->path);
	free(plugin->origin_dir);
	free(plugin);
}

char *csdkp_name_from_file(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len < 8 || strncmp(base, "csdk-", 5) != 0 || strcmp(base + len - 3, ".so") != 0)
		return NULL;
	return strndup(base + 5, len - 8);
}

__attribute__((format(printf, 5, 6)))
static int reject(struct csdkp_verdict *v, int code, const char *path, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *fact = NULL;

	va_start(ap, fmt);
	if (vasprintf(&fact, fmt, ap) < 0)
		fact = NULL;
	va_end(ap);
	v->code = code;
	v->signal = 0;
	v->reason = fact ? csdkp_printf("%s: %s", path, fact) : NULL;
	v->name = name ? strdup(name) : NULL;
	free(fact);
	if (!v->reason || (name && !v->name)) {
		csdkp_verdict_clear(v);
		return CSDK_ENOMEM;
	}
	return code;
}

static int name_well_formed(const char *name)
{
	size_t len;

	if (!name || !(name[0] >= 'a' && name[0] <= 'z'))
		return 0;
	len = strlen(name);
	if (len > 32)
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return 0;
	return 1;
}

static int warn(struct csdkp_vec *warnings, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int warn(struct csdkp_vec *warnings, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *fact = NULL, *line;

	va_start(ap, fmt);
	if (vasprintf(&fact, fmt, ap) < 0)
		fact = NULL;
	va_end(ap);
	line = fact ? csdkp_printf("%s: %s", path, fact) : NULL;
	free(fact);
	if (!line || csdkp_vec_push(warnings, line) != 0) {
		free(line);
		return CSDK_ENOMEM;
	}
	return 0;
}

/* Rules 10 to 13, on the host's copies. */
static int check_descriptor(struct csdkp_verdict *v, const char *path, const struct csdk_plugin *d,
			    const struct csdk_methods *m)
{
	char *file_name;
	int match;

	for (size_t i = 0; i < N_METHODS; i++) {
		const struct method_desc *md = &method_descs[i];
		int required = md->group == GROUP_ALWAYS ||
			       (md->group == GROUP_DIRECT && (d->modes & CSDK_MODE_DIRECT)) ||
			       (md->group == GROUP_GATEWAY && (d->modes & CSDK_MODE_GATEWAY));

		if (required && !method_present(m, md))
			return reject(v, CSDK_EPLUGIN, path, d->name,
				      "required method '%s' is missing; implement it in the method table", md->name);
	}
	if (d->modes == 0)
		return reject(v, CSDK_EPLUGIN, path, d->name,
			      "declares no mode; set modes to CSDK_MODE_DIRECT and/or CSDK_MODE_GATEWAY");
	if (d->modes & ~CSDK_MODES_KNOWN_2_0)
		return reject(v, CSDK_EPLUGIN, path, d->name,
			      "declares unknown mode bits 0x%x; use only CSDK_MODE_DIRECT and CSDK_MODE_GATEWAY",
			      (unsigned int)(d->modes & ~CSDK_MODES_KNOWN_2_0));
	if ((d->capabilities & CSDK_CAP_FS_OVER_COMMANDS) && (d->capabilities & CSDK_CAP_FILESYSTEM))
		return reject(v, CSDK_EPLUGIN, path, d->name,
			      "declares both CSDK_CAP_FILESYSTEM and CSDK_CAP_FS_OVER_COMMANDS; keep FILESYSTEM when the plugin has fs methods, else FS_OVER_COMMANDS");
	if ((d->capabilities & CSDK_CAP_FS_OVER_COMMANDS) && !(d->modes & CSDK_MODE_DIRECT))
		return reject(v, CSDK_EPLUGIN, path, d->name,
			      "declares CSDK_CAP_FS_OVER_COMMANDS without CSDK_MODE_DIRECT; the host needs the plugin's run_command for it");
	if ((d->default_mode != CSDK_MODE_DIRECT && d->default_mode != CSDK_MODE_GATEWAY) ||
	    !(d->default_mode & d->modes))
		return reject(v, CSDK_EPLUGIN, path, d->name,
			      "default mode 0x%x is not one of its modes 0x%x; set default_mode to one of the declared modes",
			      (unsigned int)d->default_mode, (unsigned int)d->modes);
	for (size_t i = 0; i < N_METHODS; i++) {
		const struct method_desc *md = &method_descs[i];
		const struct cap_group *cg = cap_group_of(md->group);

		if (cg && (d->capabilities & cg->cap) && !method_present(m, md))
			return reject(v, CSDK_EPLUGIN, path, d->name,
				      "declares capability '%s' but method '%s' is missing; implement the %s methods or drop CSDK_CAP_%s",
				      csdk_capability_name(cg->cap), md->name, csdk_capability_name(cg->cap), cg->upper);
	}
	if (!name_well_formed(d->name))
		return reject(v, CSDK_EPLUGIN, path, d->name,
			      "plugin name '%s' is not well-formed; use 1 to 32 lower-case letters, digits and '-', starting with a letter",
			      d->name ? d->name : "(null)");
	if (!d->version)
		return reject(v, CSDK_EPLUGIN, path, d->name, "descriptor field 'version' is missing; set it to a string");
	if (!d->description)
		return reject(v, CSDK_EPLUGIN, path, d->name, "descriptor field 'description' is missing; set it to a string");
	if (!d->license)
		return reject(v, CSDK_EPLUGIN, path, d->name, "descriptor field 'license' is missing; set it to a string");
	file_name = csdkp_name_from_file(path);
	match = file_name && strcmp(file_name, d->name) == 0;
	free(file_name);
	if (!match)
		return reject(v, CSDK_EPLUGIN, path, d->name,
			      "plugin name '%s' does not match the file name; rename the file to csdk-%s.so", d->name, d->name);
	return 0;
}

static int config_key_well_formed(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > 64 || key[0] < 'a' || key[0] > 'z')
		return 0;
	return strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static struct csdk_config_key raw_key_entry(const struct csdk_plugin *d, size_t i)
{
	struct csdk_config_key k;
	size_t stride = d->config_key_size;

	memset(&k, 0, sizeof(k));
	memcpy(&k, (const char *)d->config_keys + i * stride, stride < sizeof(k) ? stride : sizeof(k));
	return k;
}

static const char *raw_key(const struct csdk_plugin *d, size_t i)
{
	return raw_key_entry(d, i).key;
}

static int copy_config_keys(struct csdkp_plugin *p, struct csdkp_vec *warnings, const char *path,
			    const struct csdk_plugin *d)
{
	size_t n = d->n_config_keys, kept = 0;

	if (n == 0)
		return 0;
	p->config_keys = calloc(n, sizeof(*p->config_keys));
	if (!p->config_keys)
		return CSDK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct csdk_config_key k = raw_key_entry(d, i);
		csdk_config_key_info *info;
		size_t earlier = 0;

		for (size_t j = 0; k.key && j < i; j++) {
			const char *other = raw_key(d, j);

			if (other && strcmp(other, k.key) == 0)
				earlier++;
		}
		if (earlier == 1 && warn(warnings, path, "configuration key %s declared twice; the first one is used", k.key) != 0)
			return CSDK_ENOMEM;
		if (earlier)
			continue;
		info = &p->config_keys[kept++];
		info->key = k.key;
		info->env = k.env;
		info->flags = k.flags;
		info->type = k.type;
		info->help = k.help;
		info->min = k.min;
		info->max = k.min == 0 && k.max == 0 && k.type != CSDK_CONFIG_STRING && k.type != CSDK_CONFIG_BOOL ? INT64_MAX : k.max;
	}
	p->info.n_config_keys = kept;
	return 0;
}

/* Rule 13: each key named well, of a known type, with bounds in order. */
static int check_config_keys(struct csdkp_verdict *v, const char *path, const struct csdk_plugin *d)
{
	for (size_t i = 0; i < d->n_config_keys; i++) {
		struct csdk_config_key k = raw_key_entry(d, i);

		if (!k.key)
			return reject(v, CSDK_EPLUGIN, path, d->name,
				      "configuration key %zu has no name; set key to a name such as api_key", i + 1);
		if (!config_key_well_formed(k.key))
			return reject(v, CSDK_EPLUGIN, path, d->name,
				      "configuration key '%s' is not well-formed; use 1 to 64 lower-case letters, digits and '_', starting with a letter", k.key);
		if (k.type > CSDK_CONFIG_DURATION)
			return reject(v, CSDK_EPLUGIN, path, d->name,
				      "configuration key '%s' has unknown type %u; use a CSDK_CONFIG_* type (string, bool, int, size, duration)", k.key, (unsigned int)k.type);
		if (k.min > k.max && !(k.max == 0 && k.min == 0))
			return reject(v, CSDK_EPLUGIN, path, d->name,
				      "configuration key '%s' has min %lld above max %lld; set min <= max", k.key, (long long)k.min, (long long)k.max);
	}
	return 0;
}

static int size_warning(struct csdkp_vec *warnings, const char *path, const char *what, size_t plugin_size,
			size_t host_size)
{
	if (plugin_size <= host_size)
		return 0;
	return warn(warnings, path, "%s is %zu bytes larger than this host knows (%zu); the extra fields are ignored",
		    what, plugin_size - host_size, host_size);
}

static int collect_warnings(struct csdkp_plugin *p, struct csdkp_vec *warnings, const char *path,
			    const struct csdk_plugin *d, const struct csdk_plugin *desc)
{
	uint64_t unknown = desc->capabilities & ~CSDK_CAPS_KNOWN_2_0;

	if (size_warning(warnings, path, "descriptor", d->struct_size, sizeof(struct csdk_plugin)) != 0 ||
	    size_warning(warnings, path, "method table", desc->methods->struct_size, sizeof(struct csdk_methods)) != 0 ||
	    (desc->n_config_keys &&
	     size_warning(warnings, path, "config key", desc->config_key_size, sizeof(struct csdk_config_key)) != 0))
		return CSDK_ENOMEM;
	if (unknown && warn(warnings, path, "unknown capability bits 0x%llx are ignored", (unsigned long long)unknown) != 0)
		return CSDK_ENOMEM;
	for (size_t g = 0; g < sizeof(cap_groups) / sizeof(cap_groups[0]); g++) {
		const struct cap_group *cg = &cap_groups[g];
		int defined = 0;

		if (desc->capabilities & cg->cap)
			continue;
		for (size_t i = 0; i < N_METHODS; i++) {
			if (method_descs[i].group != cg->group || !method_present(&p->methods, &method_descs[i]))
				continue;
			defined = 1;
			/* Never called: the plugin did not declare the capability. */
			method_clear(&p->methods, &method_descs[i]);
		}
		if (defined && warn(warnings, path, "defines %s methods but does not declare CSDK_CAP_%s; they are not used",
				    csdk_capability_name(cg->cap), cg->upper) != 0)
			return CSDK_ENOMEM;
	}
	return copy_config_keys(p, warnings, path, desc);
}

typedef union {
	void *object;
	csdk_plugin_entry_fn fn;
} entry_ptr;

/* A plugin built against ABI 1.x refuses a 2.x host; asked as a 1.0 host, it answers with a 1.x descriptor. */
static int old_abi_plugin(csdk_plugin_entry_fn fn)
{
	const struct csdk_plugin *d = NULL;

	if (fn(CSDK_ABI_MAKE(1, 0), &d) != 0 || !d || d->magic != CSDK_PLUGIN_MAGIC)
		return 0;
	return CSDK_ABI_MAJOR_OF(d->abi_version) == 1;
}

static int reject_old_abi(struct csdkp_verdict *v, const char *path)
{
	return reject(v, CSDK_EABI, path, NULL,
		      "plugin speaks ABI 1.x, which this host no longer loads (it speaks %u.%u); rebuild the plugin against this csdk's csdk/plugin.h",
		      CSDK_ABI_MAJOR, CSDK_ABI_MINOR);
}

static int lt_open_resident(void **out, const char *path)
{
	lt_dladvise advise;
	lt_dlhandle handle = NULL;

	if (lt_dladvise_init(&advise) == 0) {
		if (lt_dladvise_local(&advise) == 0 && lt_dladvise_resident(&advise) == 0)
			handle = lt_dlopenadvise(path, advise);
		lt_dladvise_destroy(&advise);
	}
	*out = handle;
	return handle ? 0 : -1;
}

static int build_record(struct csdkp_plugin **out, const char *path, void *dl, const struct csdk_plugin *d,
			const struct csdk_plugin *desc, const struct csdk_methods *methods)
{
	struct csdkp_vec warnings = { 0 };
	struct csdkp_plugin *p = calloc(1, sizeof(*p));
	csdk_plugin_info *info;

	if (!p || !(p->path = strdup(path)))
		goto oom;
	p->methods = *methods;
	if (collect_warnings(p, &warnings, path, d, desc) != 0)
		goto oom;
	if (!(p->method_names = calloc(N_METHODS, sizeof(*p->method_names))))
		goto oom;
	for (size_t i = 0; i < N_METHODS; i++)
		if (method_present(&p->methods, &method_descs[i]))
			p->method_names[p->info.n_methods++] = method_descs[i].name;
	p->dl_handle = dl;
	p->warnings = (char **)warnings.items;
	info = &p->info;
	info->name = desc->name;
	info->version = desc->version;
	info->description = desc->description;
	info->license = desc->license;
	info->path = p->path;
	info->abi_version = desc->abi_version;
	info->modes = desc->modes;
	info->default_mode = desc->default_mode;
	info->capabilities = desc->capabilities & CSDK_CAPS_KNOWN_2_0;
	info->config_keys = p->config_keys;
	info->methods = p->method_names;
	info->n_warnings = warnings.n;
	info->warnings = (const char *const *)p->warnings;
	*out = p;
	return 0;
oom:
	csdkp_vec_clear(&warnings, free);
	csdkp_plugin_free(p);
	return CSDK_ENOMEM;
}

/* Rules 3 to 13 on an opened file; dl is closed on rejection. */
static int validate_loaded(struct csdkp_plugin **out, struct csdkp_verdict *v, const char *path, void *dl)
{
	struct csdk_plugin desc = { 0 };
	struct csdk_methods methods = { 0 };
	const struct csdk_plugin *d = NULL;
	const uint32_t host = CSDK_ABI_VERSION;
	entry_ptr entry;
	int rc;

	entry.object = dlsym(dl, CSDK_PLUGIN_ENTRY_SYMBOL);
	if (!entry.object)
		return reject(v, CSDK_EPLUGIN, path, NULL,
			      "does not export csdk_plugin_entry; define it with CSDK_PLUGIN_EXPORT (see csdk/plugin.h)");
	rc = entry.fn(host, &d);
	if (rc != 0 && old_abi_plugin(entry.fn))
		return reject_old_abi(v, path);
	if (rc != 0)
		return reject(v, CSDK_EABI, path, NULL,
			      "csdk_plugin_entry refused host ABI %u.%u (returned %d); rebuild the plugin against this csdk's plugin.h",
			      CSDK_ABI_MAJOR_OF(host), CSDK_ABI_MINOR_OF(host), rc);
	if (!d)
		return reject(v, CSDK_EPLUGIN, path, NULL,
			      "csdk_plugin_entry returned no descriptor; set *out to the plugin's struct csdk_plugin");
	if (d->magic != CSDK_PLUGIN_MAGIC)
		return reject(v, CSDK_EPLUGIN, path, NULL,
			      "bad descriptor magic 0x%08x (expected 0x%08x); csdk_plugin_entry must return a struct csdk_plugin",
			      (unsigned int)d->magic, CSDK_PLUGIN_MAGIC);
	if (CSDK_ABI_MAJOR_OF(d->abi_version) < CSDK_ABI_MAJOR_OF(host))
		return reject_old_abi(v, path);
	if (CSDK_ABI_MAJOR_OF(d->abi_version) != CSDK_ABI_MAJOR_OF(host))
		return reject(v, CSDK_EABI, path, NULL,
			      "plugin ABI major %u does not match host ABI major %u; rebuild the plugin against this csdk's plugin.h",
			      CSDK_ABI_MAJOR_OF(d->abi_version), CSDK_ABI_MAJOR_OF(host));
	if (CSDK_ABI_MINOR_OF(d->abi_version) > CSDK_ABI_MINOR_OF(host))
		return reject(v, CSDK_EABI, path, NULL,
			      "plugin needs ABI %u.%u but this host supports %u.%u; upgrade csdk or make csdk_plugin_entry offer an older minor",
			      CSDK_ABI_MAJOR_OF(d->abi_version), CSDK_ABI_MINOR_OF(d->abi_version),
			      CSDK_ABI_MAJOR_OF(host), CSDK_ABI_MINOR_OF(host));
	if (d->struct_size < CSDK_PLUGIN_SIZE_2_0)
		return reject(v, CSDK_EPLUGIN, path, NULL,
			      "descriptor size %u is smaller than its 2.0 size %zu; rebuild the plugin against csdk/plugin.h",
			      (unsigned int)d->struct_size, (size_t)CSDK_PLUGIN_SIZE_2_0);
	memcpy(&desc, d, d->struct_size < sizeof(desc) ? d->struct_size : sizeof(desc));
	if (!desc.methods)
		return reject(v, CSDK_EPLUGIN, path, desc.name, "no method table; set methods in the descriptor");
	if (desc.methods->struct_size < CSDK_METHODS_SIZE_2_0)
		return reject(v, CSDK_EPLUGIN, path, desc.name,
			      "method table size %u is smaller than its 2.0 size %zu; rebuild the plugin against csdk/plugin.h",
			      (unsigned int)desc.methods->struct_size, (size_t)CSDK_METHODS_SIZE_2_0);
	memcpy(&methods, desc.methods,
	       desc.methods->struct_size < sizeof(methods) ? desc.methods->struct_size : sizeof(methods));
	if (desc.n_config_keys && desc.config_key_size < CSDK_CONFIG_KEY_SIZE_2_0)
		return reject(v, CSDK_EPLUGIN, path, desc.name,
			      "config key size %u is smaller than its 2.0 size %zu; rebuild the plugin against csdk/plugin.h",
			      (unsigned int)desc.config_key_size, (size_t)CSDK_CONFIG_KEY_SIZE_2_0);
	if (desc.n_config_keys && !desc.config_keys)
		return reject(v, CSDK_EPLUGIN, path, desc.name,
			      "declares %u configuration keys but config_keys is NULL; point config_keys at the keys or set n_config_keys to 0",
			      (unsigned int)desc.n_config_keys);
	rc = check_descriptor(v, path, &desc, &methods);
	if (rc != 0)
		return rc;
	if ((rc = check_config_keys(v, path, &desc)))
		return rc;
	return build_record(out, path, dl, d, &desc, &methods);
}

int csdkp_validate_file(struct csdkp_plugin **out, struct csdkp_verdict *v, const char *path)
{
	char *reason = NULL;
	void *dl;
	int rc;

	*out = NULL;
	memset(v, 0, sizeof(*v));
	rc = csdkp_elf_check(&reason, path);
	if (rc == CSDK_ENOMEM)
		return rc;
	if (rc != 0) {
		v->code = rc == CSDK_EPLUGIN ? CSDK_EPLUGIN : CSDK_EIO;
		v->reason = reason;
		return v->code;
	}
	/* RTLD_NOW: an undefined symbol rejects the file here, with the real dlerror text. */
	dlerror();
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		const char *err = dlerror();

		return reject(v, CSDK_EPLUGIN, path, NULL,
			      "cannot be loaded: %s; run 'ldd -r %s' to find the missing library or symbol",
			      err ? err : "unknown dlopen error", path);
	}
	rc = validate_loaded(out, v, path, dl);
	if (rc != 0)
		dlclose(dl);
	return rc;
}

int csdkp_plugin_make_resident(struct csdkp_plugin *p, struct csdkp_verdict *v)
{
	const char *err;

	memset(v, 0, sizeof(*v));
	if (p->lt_handle || lt_open_resident(&p->lt_handle, p->path) == 0)
		return 0;
	err = lt_dlerror();
	return reject(v, CSDK_EPLUGIN, p->path, p->info.name,
		      "cannot be loaded: %s; run 'ldd -r %s' to find the missing library or symbol",
		      err ? err : "unknown libltdl error", p->path);
}

void csdkp_plugin_discard(struct csdkp_plugin *p)
{
	if (!p)
		return;
	if (!p->lt_handle && p->dl_handle)
		dlclose(p->dl_handle);
	csdkp_plugin_free(p);
}

int csdkp_validate_probe(struct csdkp_verdict *verdict, const char *path, void *arg)
{
	struct csdkp_plugin *plugin = NULL;
	int rc = csdkp_validate_file(&plugin, verdict, path);

	(void)arg;
	csdkp_plugin_free(plugin);
	return rc;
}
