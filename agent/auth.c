#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

/*
 * POST /init replaces the token while other threads check it: a token is
 * published whole through one pointer, and a replaced one is kept (reachable)
 * rather than freed under a reader.
 */
struct agent_token {
	struct agent_token *older;
	size_t len;
	char text[];
};

static struct agent_token *agent_token;

static int agent_token_publish(const char *text)
{
	size_t n = strlen(text);
	struct agent_token *t = malloc(sizeof *t + n + 1);

	if (!t)
		return -1;
	memcpy(t->text, text, n + 1);
	t->len = n;
	t->older = __atomic_load_n(&agent_token, __ATOMIC_ACQUIRE);
	while (!__atomic_compare_exchange_n(&agent_token, &t->older, t, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	return 0;
}

static int agent_read_token_file(const char *file)
{
	char buf[4097];
	ssize_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "csdk-agent: cannot read the token file %s: %s\n", file, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0 || n == (ssize_t)sizeof buf - 1) {
		fprintf(stderr, "csdk-agent: cannot read the token file %s: %s\n", file,
			n < 0 ? strerror(errno) : "larger than 4096 bytes");
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (!n) {
		fprintf(stderr, "csdk-agent: the token file %s is empty\n", file);
		return -1;
	}
	return agent_token_publish(buf);
}

/* From the file when given, else the environment; never argv (visible to ps). */
int agent_auth_load(const char *file)
{
	const char *env = getenv("CSDK_AGENT_TOKEN");

	if (file && agent_read_token_file(file) < 0)
		return -1;
	if (!file && env && *env && agent_token_publish(env) < 0)
		return -1;
	unsetenv("CSDK_AGENT_TOKEN");
	return 0;
}

int agent_auth_set(const char *token)
{
	return *token ? agent_token_publish(token) : -1;
}

int agent_auth_enabled(void)
{
	return __atomic_load_n(&agent_token, __ATOMIC_ACQUIRE) != NULL;
}

/* Time depends only on the token's length, not on where a guess differs. */
static int agent_ct_equal(const struct agent_token *t, const char *given, size_t n)
{
	volatile unsigned char diff = (unsigned char)(n != t->len);

	for (size_t i = 0; i < t->len; i++)
		diff |= (unsigned char)(t->text[i] ^ (i < n ? given[i] : 0));
	return diff == 0;
}

int agent_auth_ok(struct MHD_Connection *c)
{
	const struct agent_token *t = __atomic_load_n(&agent_token, __ATOMIC_ACQUIRE);
	const char *given;

	if (!t)
		return 1;
	given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Access-Token");
	return given && agent_ct_equal(t, given, strlen(given));
}
