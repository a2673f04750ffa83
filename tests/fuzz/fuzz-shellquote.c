/*
 * fuzz-shellquote.c - csdku_shell_quote and csdku_shell_append
 * (lib/util/shellquote.c).
 *
 * Property: the quoted form of any byte string without NUL is one shell word
 * that gives back exactly that string. Every input is checked by a POSIX sh
 * word parser here (quotes, backslashes, nothing else unquoted); one input in
 * 64, and every input when replaying, also through a real
 * `/bin/sh -c 'printf %s WORD'`.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csdk/plugin.h>

#include "csdkc.h"
#include "fuzz.h"

/* Parses one word from *p (stopping at an unquoted blank or the end) into out; -1 if it is not a plain word. */
static int sh_word(const char **p, char *out, size_t *out_len)
{
	const char *s = *p;
	size_t n = 0;

	while (*s && *s != ' ') {
		if (*s == '\'') {
			const char *end = strchr(s + 1, '\'');

			if (!end)
				return -1;
			memcpy(out + n, s + 1, (size_t)(end - s - 1));
			n += (size_t)(end - s - 1);
			s = end + 1;
		} else if (*s == '\\') {
			/* Backslash-newline is a line continuation: it would vanish. */
			if (!s[1] || s[1] == '\n')
				return -1;
			out[n++] = s[1];
			s += 2;
		} else if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-", *s)) {
			out[n++] = *s++;
		} else {
			return -1;
		}
	}
	*out_len = n;
	*p = s;
	return 0;
}

static char *through_sh(const char *quoted, size_t *len)
{
	int pipefd[2];
	char *cmd, *buf = NULL;
	size_t cap = 0;
	pid_t pid;
	int status;

	*len = 0;
	if (asprintf(&cmd, "printf %%s %s", quoted) < 0 || pipe(pipefd) != 0)
		abort();
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	FUZZ_CHECK(pid > 0);
	close(pipefd[1]);
	for (;;) {
		ssize_t r;

		if (*len == cap && !(buf = realloc(buf, cap = cap ? cap * 2 : 256)))
			abort();
		r = read(pipefd[0], buf + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	close(pipefd[0]);
	FUZZ_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(cmd);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long runs;
	char *s = malloc(size + 1), *q = NULL, *joined = NULL, *word;
	const char *p;
	size_t n = 0, wl;

	if (!s)
		return 0;
	for (size_t i = 0; i < size; i++)
		if (data[i])
			s[n++] = (char)data[i];
	s[n] = '\0';

	FUZZ_CHECK(csdku_shell_quote(&q, s) == 0 && q);
	word = malloc(strlen(q) + 1);
	FUZZ_CHECK(word);
	p = q;
	FUZZ_CHECK(sh_word(&p, word, &wl) == 0 && *p == '\0');
	FUZZ_CHECK(wl == n && memcmp(word, s, n) == 0);

	/* Two appended words come back as those two words. */
	FUZZ_CHECK(csdku_shell_append(&joined, s) == 0 && csdku_shell_append(&joined, "x y") == 0);
	free(word);
	word = malloc(strlen(joined) + 1);
	FUZZ_CHECK(word);
	p = joined;
	FUZZ_CHECK(sh_word(&p, word, &wl) == 0 && *p == ' ');
	FUZZ_CHECK(wl == n && memcmp(word, s, n) == 0);
	p++;
	FUZZ_CHECK(sh_word(&p, word, &wl) == 0 && *p == '\0');
	FUZZ_CHECK(wl == 3 && memcmp(word, "x y", 3) == 0);

	if (FUZZ_REPLAY || runs++ % 64 == 0) {
		size_t len;
		char *out = through_sh(q, &len);

		FUZZ_CHECK(len == n && (n == 0 || memcmp(out, s, n) == 0));
		free(out);
	}
	free(word);
	free(joined);
	free(q);
	free(s);
	return 0;
}
