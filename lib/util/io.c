#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

int csdku_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int64_t csdku_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pid_t csdku_read_bwrap_pid(int fd, int timeout_ms)
{
	char info[1024];
	size_t got = 0;
	int64_t deadline = csdku_mono_ms() + timeout_ms;
	char *p;

	while (got < sizeof(info) - 1) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t left = deadline - csdku_mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = read(fd, info + got, sizeof(info) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		info[got] = '\0';
		if (strchr(info, '}'))
			break;
	}
	info[got] = '\0';
	if ((p = strstr(info, "\"child-pid\"")) && (p = strchr(p, ':')))
		return (pid_t)strtol(p + 1, NULL, 10);
	return 0;
}
