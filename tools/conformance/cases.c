#include "config.h"

#include "conformance.h"

#include <stdio.h>
#include <string.h>

#define EXEC CSDK_CAP_EXEC
#define FS CSDK_CAP_FILESYSTEM

const tool_conf_case tool_conf_cases[] = {
	{ "sandbox-create", 0, 0, tool_conf_case_create,
	  "create gives a non-empty id and the sandbox's provider is the plugin" },
	{ "sandbox-info", 0, 0, tool_conf_case_info,
	  "get_info has the id, the provider's name and status running" },
	{ "sandbox-url", 0, 0, tool_conf_case_url,
	  "get_url of port 3000 and of port 8080 with wss match ^(https?|wss?)://.+" },
	{ "sandbox-crud", 0, 0, tool_conf_case_crud,
	  "get by id, list, destroy, get is then not found, destroy again succeeds" },

	{ "command-echo", EXEC, 0, tool_conf_case_echo,
	  "echo \"Hello from command\" prints it and exits 0" },
	{ "command-background", EXEC, 0, tool_conf_case_background,
	  "a background command returns exit 0 while it still runs, then completes" },
	{ "command-not-found", EXEC, 0, tool_conf_case_not_found,
	  "an unknown command exits 127 and is no error" },
	{ "command-streams", EXEC, 0, tool_conf_case_streams,
	  "stdout and stderr stay apart; exit code 3 is kept" },
	{ "command-streaming", EXEC | CSDK_CAP_STREAMING, 0, tool_conf_case_streaming,
	  "live output arrives while the command runs and joins to its stdout" },
	{ "command-timeout", EXEC, 0, tool_conf_case_timeout,
	  "a 5000 ms timeout ends a waiting command with exit 124, output so far kept" },
	{ "command-quoting", EXEC, 0, tool_conf_case_quoting,
	  "quotes, $HOME and a pipe through a file reach the shell intact" },
	{ "command-env", EXEC, 0, tool_conf_case_env,
	  "the env option reaches the command, quotes and $ untouched" },
	{ "command-cwd", EXEC, 0, tool_conf_case_cwd,
	  "the cwd option (a directory with a space) is the working directory" },
	{ "command-exit-codes", EXEC, 0, tool_conf_case_exit_codes,
	  "exit codes 0, 1, 2, 42, 126, 128, 200 and 255 are preserved" },
	{ "command-large-output", EXEC, 0, tool_conf_case_large_output,
	  "8 MiB through stdout arrives complete and exact" },
	{ "command-concurrent", EXEC, 0, tool_conf_case_concurrent,
	  "two threads run commands on two sandboxes at once" },

	{ "code-node-hello", EXEC, 0, tool_conf_case_node_hello,
	  "node: console.log prints Hello, World!" },
	{ "code-node-error", EXEC, 0, tool_conf_case_node_error,
	  "node: a thrown Error exits non-zero and shows Error" },
	{ "code-node-syntax", EXEC, 0, tool_conf_case_node_syntax,
	  "node: invalid syntax fails with CSDK_ESYNTAX" },
	{ "code-python-version", EXEC, 0, tool_conf_case_python_version,
	  "python: sys.version and print" },
	{ "code-python-json", EXEC, 0, tool_conf_case_python_json,
	  "python: a json and datetime dump parses back" },
	{ "code-python-error", EXEC, 0, tool_conf_case_python_error,
	  "python: a raised exception exits non-zero with its text in stderr" },
	{ "code-python-syntax", EXEC, 0, tool_conf_case_python_syntax,
	  "python: invalid syntax fails with CSDK_ESYNTAX" },
	{ "code-detect-runtime", EXEC, 0, tool_conf_case_detect_runtime,
	  "without a runtime, print(\"hi\") runs as python and console.log as node" },

	{ "fs-write-read", FS, 0, tool_conf_case_fs_write_read,
	  "a written file reads back byte for byte" },
	{ "fs-exists", FS, 0, tool_conf_case_fs_exists,
	  "exists is 1 for a file and a directory, 0 for a missing path" },
	{ "fs-readdir", FS, 0, tool_conf_case_fs_readdir,
	  "readdir lists the bare names file1.txt and file2.txt as files" },
	{ "fs-remove", FS, 0, tool_conf_case_fs_remove,
	  "remove of a file and of a tree; exists is then 0" },
	{ "fs-read-missing", FS, 0, tool_conf_case_fs_read_missing,
	  "reading /nonexistent/file.txt is an error; a missing /tmp file is not found" },
	{ "fs-binary", FS, 0, tool_conf_case_fs_binary,
	  "all 256 byte values (NUL included) and an empty file round trip" },
	{ "fs-odd-paths", FS, 0, tool_conf_case_fs_odd_paths,
	  "a path with spaces and quotes: write, exists, read, readdir, remove" },

	{ "named-find-or-create", CSDK_CAP_NAMED, 0, tool_conf_case_named,
	  "find_or_create twice gives one sandbox; find finds it, not an unknown name" },
	{ "named-extend-timeout", CSDK_CAP_NAMED, 0, tool_conf_case_extend_timeout,
	  "extend_timeout succeeds and get_info's timeout grows" },
	{ "template-lifecycle", CSDK_CAP_TEMPLATES | FS, 0, tool_conf_case_template,
	  "a template of a sandbox is listed, restores its file, and is deleted" },
	{ "snapshot-lifecycle", CSDK_CAP_SNAPSHOTS | FS, 0, tool_conf_case_snapshot,
	  "a snapshot of a sandbox is listed, restores its file, and is deleted" },

	{ "unsupported-filesystem", 0, FS, tool_conf_case_unsupported_fs,
	  "without filesystem: every fs call fails with the framework's sentence" },
	{ "unsupported-named", 0, CSDK_CAP_NAMED, tool_conf_case_unsupported_named,
	  "without named: find_or_create, find, extend_timeout fail with their sentences" },
	{ "unsupported-templates", 0, CSDK_CAP_TEMPLATES, tool_conf_case_unsupported_templates,
	  "without templates: template calls fail with the framework's sentence" },
	{ "unsupported-snapshots", 0, CSDK_CAP_SNAPSHOTS, tool_conf_case_unsupported_snapshots,
	  "without snapshots: snapshot calls fail with the framework's sentence" },
};

const size_t tool_conf_n_cases = sizeof(tool_conf_cases) / sizeof(tool_conf_cases[0]);

const char *tool_conf_cap_name(uint64_t cap)
{
	const char *name = csdk_capability_name(cap);

	/* A libcsdk older than the exec bit cannot name it. */
	if (!name && cap == CSDK_CAP_EXEC)
		return "exec";
	return name ? name : "unknown";
}

static size_t cap_list(char *buf, size_t size, uint64_t bits)
{
	size_t used = 0, n = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < 64; i++) {
		uint64_t bit = UINT64_C(1) << i;
		const char *name;

		if (!(bits & bit))
			continue;
		name = tool_conf_cap_name(bit);
		if (used < size)
			used += (size_t)snprintf(buf + used, size - used, "%s'%s'", n ? ", " : "", name);
		n++;
	}
	return n;
}

int tool_conf_skip_reason(char *buf, size_t size, const tool_conf_case *c, uint64_t caps)
{
	char names[256];
	size_t n;

	/* The host serves the filesystem of such a plugin: its cases apply. */
	if (caps & CSDK_CAP_FS_OVER_COMMANDS)
		caps |= CSDK_CAP_FILESYSTEM;
	if ((c->needs & caps) != c->needs) {
		n = cap_list(names, sizeof(names), c->needs & ~caps);
		snprintf(buf, size, "needs capabilit%s %s", n > 1 ? "ies" : "y", names);
		return 1;
	}
	if (c->absent & caps) {
		n = cap_list(names, sizeof(names), c->absent & caps);
		snprintf(buf, size, "runs only without capabilit%s %s", n > 1 ? "ies" : "y", names);
		return 1;
	}
	return 0;
}
