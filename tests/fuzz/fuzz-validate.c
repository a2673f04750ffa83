/*
 * fuzz-validate.c - descriptor and method-table validation (rules 4 to 13 of
 * docs/plugin-abi.md) on descriptors built from the input bytes.
 *
 * host/validate.c has no entry point taking an in-memory descriptor: its
 * validate_loaded() is static and starts from a dlopen() handle. So the file
 * is included here with dlsym and dlclose redirected, and validate_loaded()
 * called with a fake handle whose csdk_plugin_entry returns the fuzzed
 * descriptor: the same code path as for a real file after dlopen.
 *
 * An accepted plugin is then checked against the rules it passed, and its
 * configuration keys are resolved through csdk_user_config_resolve, as the
 * host does when it opens a provider.
 */
#include "config.h"

#include <dlfcn.h>

static void *fuzz_dlsym(void *handle, const char *symbol);
static int fuzz_dlclose(void *handle);
#define dlsym fuzz_dlsym
#define dlclose fuzz_dlclose
#include "validate.c"
#undef dlsym
#undef dlclose

#include "bytes.h"
#include "fuzz.h"

enum {
	F_RAW_MAGIC = 1 << 0,
	F_RAW_ABI = 1 << 1,
	F_RAW_SIZE = 1 << 2,
	F_NO_METHODS = 1 << 3,
	F_ENTRY_FAILS = 1 << 4,
	F_NO_DESCRIPTOR = 1 << 5,
	F_RAW_METHODS_SIZE = 1 << 6,
	F_NO_KEYS = 1 << 7,
};

static struct {
	int exported;
	int entry_rc;
	const struct csdk_plugin *descriptor;
} fake;

static int fake_entry(uint32_t host_abi, const struct csdk_plugin **out)
{
	/* the host's own ABI, or 1.0 when it asks a refusing plugin whether it is a 1.x one */
	FUZZ_CHECK(host_abi == CSDK_ABI_VERSION || host_abi == CSDK_ABI_MAKE(1, 0));
	*out = fake.descriptor;
	return fake.entry_rc;
}

static void fake_method(void)
{
}

static void *fuzz_dlsym(void *handle, const char *symbol)
{
	entry_ptr e;

	FUZZ_CHECK(handle == &fake);
	FUZZ_CHECK(strcmp(symbol, CSDK_PLUGIN_ENTRY_SYMBOL) == 0);
	if (!fake.exported)
		return NULL;
	e.fn = fake_entry;
	return e.object;
}

static int fuzz_dlclose(void *handle)
{
	FUZZ_CHECK(handle == &fake);
	return 0;
}

static uint32_t small_or_raw(struct bytes *b)
{
	uint8_t v = bytes_u8(b);

	return v & 0x80 ? bytes_u32(b) : v;
}

/* The plugin's view of its keys: n entries of stride bytes each. */
static char *make_keys(struct bytes *b, uint32_t n, uint32_t stride, char **strings, size_t *n_strings, int *oom)
{
	char *keys = calloc(n ? n : 1, stride ? stride : 1);

	if (!keys) {
		*oom = 1;
		return NULL;
	}
	for (uint32_t i = 0; i < n && stride >= CSDK_CONFIG_KEY_SIZE_2_0; i++) {
		struct csdk_config_key k = { 0 };
		uint8_t t = bytes_u8(b);

		k.key = strings[(*n_strings)++] = bytes_str(b, oom);
		k.env = strings[(*n_strings)++] = bytes_str(b, oom);
		k.flags = bytes_u8(b);
		k.type = t & 7; /* 5 to 7 are unknown types */
		k.help = strings[(*n_strings)++] = bytes_str(b, oom);
		if (t & 0x10)
			k.min = (int64_t)bytes_u64(b);
		if (t & 0x20)
			k.max = (int64_t)bytes_u64(b);
		memcpy(keys + (size_t)i * stride, &k, CSDK_CONFIG_KEY_SIZE_2_0);
	}
	return keys;
}

/* What the accepted record must satisfy, whatever the descriptor said. */
static void check_accepted(const struct csdkp_plugin *p, const char *path)
{
	const csdk_plugin_info *info = &p->info;
	char *file_name = csdkp_name_from_file(path);

	FUZZ_CHECK(name_well_formed(info->name));
	FUZZ_CHECK(file_name && strcmp(file_name, info->name) == 0);
	free(file_name);
	FUZZ_CHECK(info->version && info->description && info->license);
	FUZZ_CHECK(info->modes && !(info->modes & ~CSDK_MODES_KNOWN_2_0));
	FUZZ_CHECK(info->default_mode & info->modes);
	FUZZ_CHECK(!(info->capabilities & ~CSDK_CAPS_KNOWN_2_0));
	FUZZ_CHECK(info->n_methods <= N_METHODS);
	for (size_t i = 0, k = 0; i < N_METHODS; i++)
		if (method_present(&p->methods, &method_descs[i]))
			FUZZ_CHECK(k < info->n_methods && strcmp(info->methods[k++], method_descs[i].name) == 0);
	for (size_t i = 0; i < info->n_config_keys; i++) {
		const csdk_config_key_info *k = &info->config_keys[i];

		FUZZ_CHECK(k->type <= CSDK_CONFIG_DURATION);
		FUZZ_CHECK(k->type == CSDK_CONFIG_STRING || k->type == CSDK_CONFIG_BOOL || k->min <= k->max);
	}
	for (size_t i = 0; i < N_METHODS; i++) {
		const struct method_desc *md = &method_descs[i];
		const struct cap_group *cg = cap_group_of(md->group);

		if (md->group == GROUP_ALWAYS || (md->group == GROUP_DIRECT && (info->modes & CSDK_MODE_DIRECT)) ||
		    (md->group == GROUP_GATEWAY && (info->modes & CSDK_MODE_GATEWAY)))
			FUZZ_CHECK(method_present(&p->methods, md));
		if (cg)
			FUZZ_CHECK(method_present(&p->methods, md) == !!(info->capabilities & cg->cap));
	}
	for (size_t i = 0; i < info->n_warnings; i++)
		FUZZ_CHECK(strncmp(info->warnings[i], path, strlen(path)) == 0);
}

static void resolve_keys(const struct csdkp_plugin *p)
{
	const csdk_plugin_info *info = &p->info;
	csdk_user_config *cfg = NULL;
	csdk_config_entries *entries = NULL;
	struct csdk_kv given = { "no_such_key", "1" };
	char *text = csdkp_printf("[provider %s]\nno_such_key = 1\n", info->name);

	if (csdk_user_config_resolve(&entries, NULL, info, NULL, 0) == 0)
		csdk_config_entries_free(entries);
	if (csdk_user_config_resolve(&entries, NULL, info, &given, 1) == 0)
		csdk_config_entries_free(entries);
	if (text && csdk_user_config_parse(&cfg, "fuzz.conf", text) == 0 &&
	    csdk_user_config_resolve(&entries, cfg, info, NULL, 0) == 0)
		csdk_config_entries_free(entries);
	csdk_user_config_free(cfg);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bytes b = { data, size };
	struct csdk_plugin d = { 0 };
	struct csdk_methods m = { 0 };
	struct csdkp_verdict v;
	struct csdkp_plugin *p = NULL;
	char *strings[4 + 3 * 8] = { 0 }, *keys = NULL, *path = NULL, *file_name;
	unsigned char *dbuf = NULL, *mbuf = NULL;
	size_t n_strings = 0, dsize, msize;
	uint8_t flags = bytes_u8(&b), more = bytes_u8(&b);
	uint32_t mask;
	int oom = 0, rc;

	d.magic = flags & F_RAW_MAGIC ? bytes_u32(&b) : CSDK_PLUGIN_MAGIC;
	d.abi_version = flags & F_RAW_ABI ? bytes_u32(&b) : CSDK_ABI_VERSION;
	d.struct_size = flags & F_RAW_SIZE ? bytes_u32(&b) % 1024 : sizeof(d);
	d.modes = small_or_raw(&b);
	d.default_mode = small_or_raw(&b);
	d.capabilities = bytes_u8(&b);
	if (d.capabilities & 0x80)
		d.capabilities = bytes_u64(&b);
	d.name = strings[n_strings++] = bytes_str(&b, &oom);
	d.version = strings[n_strings++] = bytes_str(&b, &oom);
	d.description = strings[n_strings++] = bytes_str(&b, &oom);
	d.license = strings[n_strings++] = bytes_str(&b, &oom);
	mask = bytes_u32(&b);
	m.struct_size = flags & F_RAW_METHODS_SIZE ? bytes_u32(&b) % 1024 : sizeof(m);
	for (size_t i = 0; i < N_METHODS; i++) {
		void (*fn)(void) = mask & (1u << i) ? fake_method : NULL;

		memcpy((char *)&m + method_descs[i].offset, &fn, sizeof(fn));
	}
	d.n_config_keys = more & 7;
	d.config_key_size = more & 8 ? bytes_u8(&b) : sizeof(struct csdk_config_key);
	if (!(flags & F_NO_KEYS))
		keys = make_keys(&b, d.n_config_keys, d.config_key_size, strings, &n_strings, &oom);
	d.config_keys = (const struct csdk_config_key *)keys;

	/* The plugin's structs are exactly as large as it says, so that reading past them is caught. */
	msize = m.struct_size < CSDK_METHODS_SIZE_2_0 ? CSDK_METHODS_SIZE_2_0 : m.struct_size;
	mbuf = calloc(1, msize);
	if (mbuf)
		memcpy(mbuf, &m, msize < sizeof(m) ? msize : sizeof(m));
	d.methods = flags & F_NO_METHODS ? NULL : (const struct csdk_methods *)mbuf;
	dsize = d.struct_size < CSDK_PLUGIN_SIZE_2_0 ? CSDK_PLUGIN_SIZE_2_0 : d.struct_size;
	dbuf = calloc(1, dsize);
	if (dbuf)
		memcpy(dbuf, &d, dsize < sizeof(d) ? dsize : sizeof(d));

	file_name = more & 0x10 ? bytes_str(&b, &oom) : (d.name ? strdup(d.name) : NULL);
	path = csdkp_printf("/fuzz/csdk-%s.so", file_name ? file_name : "");
	free(file_name);
	if (oom || !mbuf || !dbuf || !path)
		goto out;

	fake.exported = !(more & 0x20);
	fake.entry_rc = flags & F_ENTRY_FAILS ? (int)(int8_t)bytes_u8(&b) : 0;
	fake.descriptor = flags & F_NO_DESCRIPTOR ? NULL : (const struct csdk_plugin *)dbuf;
	memset(&v, 0, sizeof(v));
	rc = validate_loaded(&p, &v, path, &fake);
	if (rc == 0) {
		FUZZ_CHECK(p && !v.reason);
		check_accepted(p, path);
		resolve_keys(p);
		csdkp_plugin_free(p);
	} else {
		FUZZ_CHECK(rc == CSDK_EPLUGIN || rc == CSDK_EABI || rc == CSDK_ENOMEM);
		FUZZ_CHECK(rc == CSDK_ENOMEM || (v.code == rc && v.reason &&
						 strncmp(v.reason, path, strlen(path)) == 0));
		csdkp_verdict_clear(&v);
	}
out:
	for (size_t i = 0; i < n_strings; i++)
		free(strings[i]);
	free(keys);
	free(mbuf);
	free(dbuf);
	free(path);
	return 0;
}
