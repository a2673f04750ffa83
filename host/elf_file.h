#ifndef CSDK_HOST_ELF_FILE_H
#define CSDK_HOST_ELF_FILE_H

#include <stddef.h>

/*
 * Validation rules 1 and 2 (docs/plugin-abi.md): the file is readable and is
 * an ELF shared object of this host's class and machine. Returns 0, or
 * CSDK_ENOTFOUND (the file does not exist) / CSDK_EIO (rule 1) /
 * CSDK_EPLUGIN (rule 2) with *reason_out set to the whole one-line message
 * "PATH: fact; fix" (caller frees), or CSDK_ENOMEM.
 */
int csdkp_elf_check(char **reason_out, const char *path);

/*
 * The names of the defined GLOBAL or WEAK symbols of the file's .dynsym, in
 * table order, without csdk_plugin_entry and the linker's own symbols
 * (_init, _fini, _edata, _end, __bss_start). Accepts 32- and 64-bit files of
 * either byte order. Returns 0 with a NULL-terminated array (free with
 * csdkp_elf_names_free), CSDK_EPLUGIN when the file has no readable dynamic
 * symbol table, CSDK_EIO or CSDK_ENOMEM.
 */
int csdkp_elf_exports(char ***names_out, size_t *n_out, const char *path);
void csdkp_elf_names_free(char **names);

/** A short name for an ELF e_machine value ("x86_64", "aarch64", ...; "unknown"). */
const char *csdkp_elf_machine_name(unsigned int machine);

#endif
