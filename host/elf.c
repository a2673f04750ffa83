#include "config.h"

#include <csdk/plugin.h>

#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csdk/csdk.h>

#include "elf_file.h"
#include "util.h"

#define HOST_CLASS ((int)(sizeof(void *) * 8))

static const struct {
	unsigned int machine;
	const char *name;
} machine_names[] = {
	{ EM_386, "i386" },
	{ EM_X86_64, "x86_64" },
	{ EM_ARM, "arm" },
	{ EM_AARCH64, "aarch64" },
	{ EM_RISCV, "riscv" },
	{ EM_PPC, "ppc" },
	{ EM_PPC64, "ppc64" },
	{ EM_S390, "s390" },
	{ EM_MIPS, "mips" },
	{ EM_SPARC, "sparc" },
	{ EM_SPARCV9, "sparc64" },
	{ EM_IA_64, "ia64" },
	{ EM_ALPHA, "alpha" },
	{ EM_68K, "m68k" },
	{ EM_SH, "sh" },
	{ 258, "loongarch" },
};

const char *csdkp_elf_machine_name(unsigned int machine)
{
	for (size_t i = 0; i < sizeof(machine_names) / sizeof(machine_names[0]); i++)
		if (machine_names[i].machine == machine)
			return machine_names[i].name;
	return "unknown";
}

static unsigned int host_machine(void)
{
#if defined(__x86_64__)
	return EM_X86_64;
#elif defined(__i386__)
	return EM_386;
#elif defined(__aarch64__)
	return EM_AARCH64;
#elif defined(__arm__)
	return EM_ARM;
#elif defined(__riscv)
	return EM_RISCV;
#elif defined(__powerpc64__)
	return EM_PPC64;
#elif defined(__powerpc__)
	return EM_PPC;
#elif defined(__s390__) || defined(__s390x__)
	return EM_S390;
#elif defined(__mips__)
	return EM_MIPS;
#elif defined(__loongarch__)
	return 258;
#else
	static unsigned int cached;
	unsigned char hdr[EI_NIDENT + 4];
	int fd;

	if (cached)
		return cached;
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr))
			cached = hdr[EI_DATA] == ELFDATA2MSB ? (unsigned int)(hdr[EI_NIDENT + 2] << 8 | hdr[EI_NIDENT + 3])
							     : (unsigned int)(hdr[EI_NIDENT + 3] << 8 | hdr[EI_NIDENT + 2]);
		close(fd);
	}
	return cached;
#endif
}

/* Fields of a file whose byte order may not be the host's. */
struct elf_reader {
	const unsigned char *data;
	size_t size;
	int is64;
	int swap;
};

static uint16_t rd16(const struct elf_reader *r, const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return r->swap ? __builtin_bswap16(v) : v;
}

static uint32_t rd32(const struct elf_reader *r, const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return r->swap ? __builtin_bswap32(v) : v;
}

static uint64_t rd64(const struct elf_reader *r, const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return r->swap ? __builtin_bswap64(v) : v;
}

static uint64_t rdaddr(const struct elf_reader *r, const unsigned char *p)
{
	return r->is64 ? rd64(r, p) : rd32(r, p);
}

static int host_is_big_endian(void)
{
	return __BYTE_ORDER == __BIG_ENDIAN;
}

static int reader_init(struct elf_reader *r, const unsigned char *data, size_t size)
{
	size_t ehsize;

	if (size < EI_NIDENT || memcmp(data, ELFMAG, SELFMAG) != 0)
		return -1;
	if (data[EI_CLASS] != ELFCLASS32 && data[EI_CLASS] != ELFCLASS64)
		return -1;
	if (data[EI_DATA] != ELFDATA2LSB && data[EI_DATA] != ELFDATA2MSB)
		return -1;
	r->data = data;
	r->size = size;
	r->is64 = data[EI_CLASS] == ELFCLASS64;
	r->swap = (data[EI_DATA] == ELFDATA2MSB) != host_is_big_endian();
	ehsize = r->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	return size < ehsize ? -1 : 0;
}

int csdkp_elf_check(char **reason_out, const char *path)
{
	unsigned char hdr[sizeof(Elf64_Ehdr)];
	struct elf_reader r;
	ssize_t got = 0;
	int fd, err = 0, klass;
	unsigned int machine, type;

	*reason_out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
	} else {
		size_t off = 0;

		while (off < sizeof(hdr)) {
			got = read(fd, hdr + off, sizeof(hdr) - off);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				break;
			off += (size_t)got;
		}
		if (got < 0)
			err = errno;
		got = (ssize_t)off;
		close(fd);
	}
	if (err) {
		*reason_out = csdkp_printf("%s: cannot read the file (%s); make it readable by this user", path, strerror(err));
		if (!*reason_out)
			return CSDK_ENOMEM;
		return err == ENOENT ? CSDK_ENOTFOUND : CSDK_EIO;
	}
	if (reader_init(&r, hdr, (size_t)got) != 0) {
		*reason_out = csdkp_printf("%s: not an ELF file; a plugin is a shared object built with -shared", path);
		return *reason_out ? CSDK_EPLUGIN : CSDK_ENOMEM;
	}
	klass = r.is64 ? 64 : 32;
	if (klass != HOST_CLASS) {
		*reason_out = csdkp_printf("%s: is a %d-bit ELF file but this host is %d-bit; rebuild the plugin for this machine",
					   path, klass, HOST_CLASS);
		return *reason_out ? CSDK_EPLUGIN : CSDK_ENOMEM;
	}
	machine = rd16(&r, hdr + offsetof(Elf64_Ehdr, e_machine));
	if (machine != host_machine()) {
		*reason_out = csdkp_printf("%s: is built for machine %s (ELF e_machine %u) but this host is %s; rebuild the plugin for this machine",
					   path, csdkp_elf_machine_name(machine), machine, csdkp_elf_machine_name(host_machine()));
		return *reason_out ? CSDK_EPLUGIN : CSDK_ENOMEM;
	}
	type = rd16(&r, hdr + offsetof(Elf64_Ehdr, e_type));
	if (type != ET_DYN) {
		*reason_out = csdkp_printf("%s: is not a shared object (ELF type %u); link the plugin with -shared", path, type);
		return *reason_out ? CSDK_EPLUGIN : CSDK_ENOMEM;
	}
	return 0;
}

static int ignored_symbol(const char *name)
{
	static const char *const ignored[] = {
		CSDK_PLUGIN_ENTRY_SYMBOL, "_init", "_fini", "_edata", "_end", "__bss_start",
	};

	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (strcmp(name, ignored[i]) == 0)
			return 1;
	return 0;
}

static int in_bounds(const struct elf_reader *r, uint64_t off, uint64_t len)
{
	return off <= r->size && len <= r->size - off;
}

/* Section header fields at the same logical positions for both classes. */
struct section {
	uint32_t type;
	uint32_t link;
	uint64_t offset;
	uint64_t size;
	uint64_t entsize;
};

static int section_at(struct section *out, const struct elf_reader *r, uint64_t shoff, uint16_t shentsize, size_t i)
{
	const unsigned char *p;
	uint64_t off = shoff + (uint64_t)i * shentsize;

	if (!in_bounds(r, off, shentsize))
		return -1;
	p = r->data + off;
	if (r->is64) {
		if (shentsize < sizeof(Elf64_Shdr))
			return -1;
		out->type = rd32(r, p + offsetof(Elf64_Shdr, sh_type));
		out->link = rd32(r, p + offsetof(Elf64_Shdr, sh_link));
		out->offset = rd64(r, p + offsetof(Elf64_Shdr, sh_offset));
		out->size = rd64(r, p + offsetof(Elf64_Shdr, sh_size));
		out->entsize = rd64(r, p + offsetof(Elf64_Shdr, sh_entsize));
	} else {
		if (shentsize < sizeof(Elf32_Shdr))
			return -1;
		out->type = rd32(r, p + offsetof(Elf32_Shdr, sh_type));
		out->link = rd32(r, p + offsetof(Elf32_Shdr, sh_link));
		out->offset = rd32(r, p + offsetof(Elf32_Shdr, sh_offset));
		out->size = rd32(r, p + offsetof(Elf32_Shdr, sh_size));
		out->entsize = rd32(r, p + offsetof(Elf32_Shdr, sh_entsize));
	}
	return 0;
}

static int collect_exports(struct csdkp_vec *names, const struct elf_reader *r)
{
	const unsigned char *eh = r->data;
	uint64_t shoff = rdaddr(r, eh + (r->is64 ? offsetof(Elf64_Ehdr, e_shoff) : offsetof(Elf32_Ehdr, e_shoff)));
	uint16_t shentsize = rd16(r, eh + (r->is64 ? offsetof(Elf64_Ehdr, e_shentsize) : offsetof(Elf32_Ehdr, e_shentsize)));
	uint16_t shnum = rd16(r, eh + (r->is64 ? offsetof(Elf64_Ehdr, e_shnum) : offsetof(Elf32_Ehdr, e_shnum)));
	size_t symsize = r->is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
	struct section dynsym, strtab;
	size_t i;

	for (i = 0; i < shnum; i++) {
		if (section_at(&dynsym, r, shoff, shentsize, i) != 0)
			return CSDK_EPLUGIN;
		if (dynsym.type == SHT_DYNSYM)
			break;
	}
	if (i == shnum || section_at(&strtab, r, shoff, shentsize, dynsym.link) != 0)
		return CSDK_EPLUGIN;
	if (!in_bounds(r, dynsym.offset, dynsym.size) || !in_bounds(r, strtab.offset, strtab.size) || strtab.size == 0)
		return CSDK_EPLUGIN;
	if (dynsym.entsize && dynsym.entsize < symsize)
		return CSDK_EPLUGIN;
	if (!dynsym.entsize)
		dynsym.entsize = symsize;
	for (uint64_t off = 0; off + symsize <= dynsym.size; off += dynsym.entsize) {
		const unsigned char *s = r->data + dynsym.offset + off;
		uint32_t name_off;
		unsigned char info;
		uint16_t shndx;
		const char *name;
		char *copy;

		if (r->is64) {
			name_off = rd32(r, s + offsetof(Elf64_Sym, st_name));
			info = s[offsetof(Elf64_Sym, st_info)];
			shndx = rd16(r, s + offsetof(Elf64_Sym, st_shndx));
		} else {
			name_off = rd32(r, s + offsetof(Elf32_Sym, st_name));
			info = s[offsetof(Elf32_Sym, st_info)];
			shndx = rd16(r, s + offsetof(Elf32_Sym, st_shndx));
		}
		if (shndx == SHN_UNDEF)
			continue;
		if (ELF64_ST_BIND(info) != STB_GLOBAL && ELF64_ST_BIND(info) != STB_WEAK)
			continue;
		if (name_off >= strtab.size)
			return CSDK_EPLUGIN;
		name = (const char *)r->data + strtab.offset + name_off;
		if (!memchr(name, '\0', strtab.size - name_off))
			return CSDK_EPLUGIN;
		if (ignored_symbol(name))
			continue;
		copy = strdup(name);
		if (!copy || csdkp_vec_push(names, copy) != 0) {
			free(copy);
			return CSDK_ENOMEM;
		}
	}
	return 0;
}

int csdkp_elf_exports(char ***names_out, size_t *n_out, const char *path)
{
	struct csdkp_vec names = { 0 };
	struct elf_reader r;
	struct stat st;
	void *map;
	int fd, rc;

	*names_out = NULL;
	*n_out = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return CSDK_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return CSDK_EIO;
	}
	if (st.st_size == 0) {
		close(fd);
		return CSDK_EPLUGIN;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return CSDK_EIO;
	if (reader_init(&r, map, (size_t)st.st_size) != 0)
		rc = CSDK_EPLUGIN;
	else
		rc = collect_exports(&names, &r);
	munmap(map, (size_t)st.st_size);
	if (rc == 0)
		rc = csdkp_vec_push(&names, NULL);
	if (rc != 0) {
		csdkp_vec_clear(&names, free);
		return rc;
	}
	*names_out = (char **)names.items;
	*n_out = names.n - 1;
	return 0;
}

void csdkp_elf_names_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}
