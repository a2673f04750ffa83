#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

static char *agent_token;
static size_t agent_token_len;

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
	agent_token = strdup(buf);
	return agent_token ? 0 : -1;
}

/* From the file when given, else the environment; never argv (visible to ps). */
int agent_auth_load(const char *file)
{
	const char *env = getenv("CSDK_AGENT_TOKEN");

	if (file && agent_read_token_file(file) < 0)
		return -1;
	if (!file && env && *env)
		agent_token = strdup(env);
	if (agent_token && !*agent_token) {
		fprintf(stderr, "csdk-agent: the token file %s is empty\n", file);
		return -1;
	}
	agent_token_len = agent_token ? strlen(agent_token) : 0;
	unsetenv("CSDK_AGENT_TOKEN");
	return 0;
}

int agent_auth_enabled(void)
{
	return agent_token != NULL;
}

/* Time depends only on the token's length, not on where a guess differs. */
static int agent_ct_equal(const char *given, size_t n)
{
	volatile unsigned char diff = (unsigned char)(n != agent_token_len);

	for (size_t i = 0; i < agent_token_len; i++)
		diff |= (unsigned char)(agent_token[i] ^ (i < n ? given[i] : 0));
	return diff == 0;
}

int agent_auth_ok(struct MHD_Connection *c)
{
	const char *given;

	if (!agent_token)
		return 1;
	given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Access-Token");
	return given && agent_ct_equal(given, strlen(given));
}
