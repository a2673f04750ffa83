#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csdk/plugin.h>

#include "csdkc.h"

#define BLOCK 512

struct ustar {
	char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8];
	char typeflag, linkname[100], magic[6], version[2], uname[32], gname[32];
	char devmajor[8], devminor[8], prefix[155], pad[12];
};

static int read_full(int fd, void *data, size_t len)
{
	char *p = data;
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, p + got, len - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (int)(got == len ? 1 : got == 0 ? 0 : 2);
}

static void octal(char *field, size_t width, uint64_t v)
{
	size_t i = width - 1;

	field[i] = '\0';
	while (i-- > 0) {
		field[i] = (char)('0' + (v & 7));
		v >>= 3;
	}
}

static void copy_field(char *field, size_t width, const char *s)
{
	size_t n = strlen(s);

	memcpy(field, s, n < width ? n : width);
}

static void checksum(struct ustar *h)
{
	const unsigned char *p = (const unsigned char *)h;
	unsigned sum = 0;
	size_t i;

	memset(h->chksum, ' ', sizeof(h->chksum));
	for (i = 0; i < BLOCK; i++)
		sum += p[i];
	snprintf(h->chksum, sizeof(h->chksum), "%06o", sum);
	h->chksum[7] = ' ';
}

static int pad_to_block(int fd, uint64_t size)
{
	static const char zero[BLOCK];
	size_t rem = (size_t)(size % BLOCK);

	return rem ? csdku_write_all(fd, zero, BLOCK - rem) : 0;
}

static int pax_record(char **buf, size_t *len, const char *key, const char *value)
{
	size_t base = strlen(key) + strlen(value) + 3, total = base, digits;
	char *n;

	for (;;) {
		digits = (size_t)snprintf(NULL, 0, "%zu", total);
		if (base + digits == total)
			break;
		total = base + digits;
	}
	n = realloc(*buf, *len + total + 1);
	if (!n)
		return CSDK_ENOMEM;
	snprintf(n + *len, total + 1, "%zu %s=%s\n", total, key, value);
	*buf = n;
	*len += total;
	return 0;
}

static int write_header(int fd, const char *path, char type, const struct stat *st, uint64_t size, const char *link)
{
	struct ustar h;
	char *pax = NULL;
	size_t paxlen = 0;
	int rc = 0;

	if (strlen(path) >= sizeof(h.name))
		rc = pax_record(&pax, &paxlen, "path", path);
	if (!rc && link && strlen(link) >= sizeof(h.linkname))
		rc = pax_record(&pax, &paxlen, "linkpath", link);
	if (!rc && size >= 077777777777ull) {
		char s[32];
		snprintf(s, sizeof(s), "%llu", (unsigned long long)size);
		rc = pax_record(&pax, &paxlen, "size", s);
	}
	if (rc)
		return rc;
	if (pax) {
		memset(&h, 0, sizeof(h));
		snprintf(h.name, sizeof(h.name), "./PaxHeaders/%.80s", path);
		octal(h.mode, sizeof(h.mode), 0644);
		octal(h.uid, sizeof(h.uid), 0);
		octal(h.gid, sizeof(h.gid), 0);
		octal(h.size, sizeof(h.size), paxlen);
		octal(h.mtime, sizeof(h.mtime), (uint64_t)st->st_mtime);
		h.typeflag = 'x';
		memcpy(h.magic, "ustar", 6);
		memcpy(h.version, "00", 2);
		checksum(&h);
		if (csdku_write_all(fd, &h, BLOCK) || csdku_write_all(fd, pax, paxlen) || pad_to_block(fd, paxlen)) {
			free(pax);
			return CSDK_EIO;
		}
		free(pax);
	}
	memset(&h, 0, sizeof(h));
	copy_field(h.name, sizeof(h.name), path);
	octal(h.mode, sizeof(h.mode), st->st_mode & 07777);
	octal(h.uid, sizeof(h.uid), 0);
	octal(h.gid, sizeof(h.gid), 0);
	octal(h.size, sizeof(h.size), size < 077777777777ull ? size : 0);
	octal(h.mtime, sizeof(h.mtime), st->st_mtime > 0 ? (uint64_t)st->st_mtime : 0);
	h.typeflag = type;
	if (link)
		copy_field(h.linkname, sizeof(h.linkname), link);
	memcpy(h.magic, "ustar", 6);
	memcpy(h.version, "00", 2);
	checksum(&h);
	return csdku_write_all(fd, &h, BLOCK) ? CSDK_EIO : 0;
}

static int write_file_data(int out, int in, uint64_t size, const char *path, char *err, size_t errlen)
{
	char buf[65536];
	uint64_t left = size;

	while (left > 0) {
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t r = read(in, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			return CSDK_EIO;
		}
		if (r == 0) {
			/* The file shrank while we read it: keep the archive well-formed. */
			memset(buf, 0, want);
			r = (ssize_t)want;
		}
		if (csdku_write_all(out, buf, (size_t)r)) {
			snprintf(err, errlen, "cannot write the archive: %s", strerror(errno));
			return CSDK_EIO;
		}
		left -= (uint64_t)r;
	}
	if (pad_to_block(out, size)) {
		snprintf(err, errlen, "cannot write the archive: %s", strerror(errno));
		return CSDK_EIO;
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in d but "." and "..", sorted; on an error *names holds those read so far. */
static int read_names(DIR *d, char ***names, size_t *n)
{
	struct dirent *de;
	size_t cap = 0;

	rewinddir(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			char **g = realloc(*names, (cap = cap ? cap * 2 : 32) * sizeof(**names));
			if (!g)
				return CSDK_ENOMEM;
			*names = g;
		}
		if (!((*names)[*n] = strdup(de->d_name)))
			return CSDK_ENOMEM;
		(*n)++;
	}
	if (*n > 1)
		qsort(*names, *n, sizeof(**names), cmp_names);
	return 0;
}

static int write_dir(int out, int dfd, const char *prefix, char *err, size_t errlen);

/* The entry name of the directory dfd as the member path: a directory with all in it, a file or a link. */
static int write_entry(int out, int dfd, const char *name, const char *path, const struct stat *st, char *err, size_t errlen)
{
	int rc = 0;

	if (S_ISDIR(st->st_mode)) {
		int cfd;

		rc = write_header(out, path, '5', st, 0, NULL);
		cfd = rc ? -1 : openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (!rc && cfd >= 0) {
			rc = write_dir(out, cfd, path, err, errlen);
			close(cfd);
		}
	} else if (S_ISREG(st->st_mode)) {
		int in = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		if (in >= 0) {
			rc = write_header(out, path, '0', st, (uint64_t)st->st_size, NULL);
			if (!rc)
				rc = write_file_data(out, in, (uint64_t)st->st_size, path, err, errlen);
			close(in);
		}
	} else if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t k = readlinkat(dfd, name, target, sizeof(target) - 1);

		if (k >= 0) {
			target[k] = '\0';
			rc = write_header(out, path, '2', st, 0, target);
		}
	}
	return rc;
}

static int write_dir(int out, int dfd, const char *prefix, char *err, size_t errlen)
{
	DIR *d;
	char **names = NULL;
	size_t n = 0, i;
	int rc, fd = dup(dfd);

	if (fd < 0)
		return CSDK_EIO;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return CSDK_ENOMEM;
	}
	rc = read_names(d, &names, &n);
	for (i = 0; !rc && i < n; i++) {
		struct stat st;
		char *path, *dpath = NULL;

		if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (asprintf(&path, "%s%s", prefix, names[i]) < 0) {
			rc = CSDK_ENOMEM;
			break;
		}
		if (S_ISDIR(st.st_mode) && asprintf(&dpath, "%s/", path) < 0) {
			free(path);
			rc = CSDK_ENOMEM;
			break;
		}
		rc = write_entry(out, dirfd(d), names[i], dpath ? dpath : path, &st, err, errlen);
		if (rc && !err[0])
			snprintf(err, errlen, "cannot write the archive entry %s: %s", path, strerror(errno));
		free(dpath);
		free(path);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/* Member names are anyone's bytes: keep the message on one line. */
static void one_line(char *err)
{
	for (; *err; err++)
		if ((unsigned char)*err < 0x20 || *err == 0x7f)
			*err = '?';
}

int csdkc_tar_write_tree(int out_fd, int dirfd, char *err, size_t errlen)
{
	static const char zero[2 * BLOCK];
	int rc;

	err[0] = '\0';
	rc = write_dir(out_fd, dirfd, "", err, errlen);
	if (rc) {
		one_line(err);
		return rc;
	}
	if (csdku_write_all(out_fd, zero, sizeof(zero))) {
		snprintf(err, errlen, "cannot write the archive: %s", strerror(errno));
		return CSDK_EIO;
	}
	return 0;
}

/* ------------------------------------------------------------------ reader */

static int parse_number(uint64_t *out, const char *f, size_t width)
{
	uint64_t v = 0;
	size_t i = 0;

	if ((unsigned char)f[0] & 0x80) {
		for (i = 1; i < width; i++)
			v = (v << 8) | (unsigned char)f[i];
		*out = v;
		return 0;
	}
	while (i < width && (f[i] == ' ' || f[i] == '\0'))
		i++;
	for (; i < width && f[i] >= '0' && f[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(f[i] - '0');
	*out = v;
	return 0;
}

static int checksum_ok(const struct ustar *h)
{
	const unsigned char *p = (const unsigned char *)h;
	uint64_t want;
	unsigned sum = 0;
	size_t i;

	parse_number(&want, h->chksum, sizeof(h->chksum));
	for (i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : p[i];
	return sum == want;
}

static int read_blob(int fd, uint64_t size, char **out)
{
	uint64_t padded = (size + BLOCK - 1) / BLOCK * BLOCK;
	char *b;

	if (size > (1u << 20))
		return CSDK_EINVAL;
	b = malloc((size_t)padded + 1);
	if (!b)
		return CSDK_ENOMEM;
	if (padded && read_full(fd, b, (size_t)padded) != 1) {
		free(b);
		return CSDK_EIO;
	}
	b[size] = '\0';
	*out = b;
	return 0;
}

static int skip_data(int fd, uint64_t size)
{
	char buf[BLOCK];
	uint64_t blocks = (size + BLOCK - 1) / BLOCK;

	while (blocks--)
		if (read_full(fd, buf, BLOCK) != 1)
			return -1;
	return 0;
}

static void pax_apply(const char *data, size_t len, char **path, char **link, uint64_t *size, int *has_size)
{
	size_t off = 0;

	/* Records are "LEN KEY=VALUE\n", LEN counting the whole record; trust none of it. */
	while (off < len) {
		const char *rec = data + off, *p = rec, *kv, *eq, *stop;
		size_t rl = 0;

		while (p < data + len && *p >= '0' && *p <= '9') {
			rl = rl * 10 + (size_t)(*p - '0');
			if (rl > len)
				return;
			p++;
		}
		if (p == rec || p >= data + len || *p != ' ' || rl == 0 || rl > len - off)
			return;
		kv = p + 1;
		stop = rec + rl;
		if (kv >= stop || stop[-1] != '\n')
			return;
		eq = memchr(kv, '=', (size_t)(stop - 1 - kv));
		if (eq) {
			size_t kl = (size_t)(eq - kv), vl = (size_t)(stop - 1 - (eq + 1));
			if (kl == 4 && !memcmp(kv, "path", 4)) {
				free(*path);
				*path = strndup(eq + 1, vl);
			} else if (kl == 8 && !memcmp(kv, "linkpath", 8)) {
				free(*link);
				*link = strndup(eq + 1, vl);
			} else if (kl == 4 && !memcmp(kv, "size", 4)) {
				char num[32];

				if (vl < sizeof(num)) {
					memcpy(num, eq + 1, vl);
					num[vl] = '\0';
					*size = strtoull(num, NULL, 10);
					*has_size = 1;
				}
			}
		}
		off += rl;
	}
}

static int safe_member(const char *p)
{
	const char *c = p;

	if (p[0] == '/')
		return 0;
	while (*c) {
		const char *s = strchr(c, '/');
		size_t l = s ? (size_t)(s - c) : strlen(c);
		if (l == 2 && c[0] == '.' && c[1] == '.')
			return 0;
		c += l;
		while (*c == '/')
			c++;
	}
	return 1;
}

/* Opens the parent directory of rel below root without following symbolic
 * links, creating missing directories; *base points at the last component. */
static int open_parent(int root, char *rel, const char **base, const char *member, char *err, size_t errlen)
{
	int fd = dup(root);
	char *c = rel, *s;

	if (fd < 0)
		return -1;
	/* rel is the caller's scratch copy: components are cut in place. */
	for (;;) {
		int nfd;

		while (*c == '/')
			c++;
		s = strchr(c, '/');
		while (s && s[1] == '/')
			s++;
		if (!s || s[1] == '\0') {
			if (s)
				*s = '\0';
			*base = c;
			return fd;
		}
		*s = '\0';
		if (!strcmp(c, ".")) {
			c = s + 1;
			continue;
		}
		nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT) {
			mkdirat(fd, c, 0755);
			nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) {
			if (errno == ELOOP || errno == ENOTDIR)
				snprintf(err, errlen, "archive member '%s' goes through a symbolic link or a file; refusing to extract it", member);
			else
				snprintf(err, errlen, "cannot create directory for archive member '%s': %s", member, strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		fd = nfd;
		c = s + 1;
	}
}

static int extract_file(int in, int pfd, const char *base, uint64_t size, uint64_t mode, uint64_t mtime, const char *member, char *err, size_t errlen)
{
	char buf[65536];
	uint64_t left = size;
	int out, rc = 0;

	unlinkat(pfd, base, 0);
	out = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		snprintf(err, errlen, "cannot create '%s': %s", member, strerror(errno));
		return CSDK_EIO;
	}
	while (left > 0) {
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		if (read_full(in, buf, want) != 1) {
			snprintf(err, errlen, "archive is truncated inside member '%s'", member);
			rc = CSDK_EIO;
			break;
		}
		if (csdku_write_all(out, buf, want)) {
			snprintf(err, errlen, "cannot write '%s': %s", member, strerror(errno));
			rc = CSDK_EIO;
			break;
		}
		left -= want;
	}
	if (!rc && size % BLOCK) {
		if (read_full(in, buf, BLOCK - (size_t)(size % BLOCK)) != 1) {
			snprintf(err, errlen, "archive is truncated inside member '%s'", member);
			rc = CSDK_EIO;
		}
	}
	if (!rc) {
		struct timespec ts[2] = { { (time_t)mtime, 0 }, { (time_t)mtime, 0 } };
		fchmod(out, (mode_t)(mode & 0777));
		futimens(out, ts);
	}
	close(out);
	return rc;
}

/* What extended headers (pax 'x', GNU 'L' and 'K') said of the member after them. */
struct pending {
	char *path, *link;
	uint64_t size;
	int has_size;
};

/* A member's header, with the names and size it has after the extended headers. */
struct member {
	struct ustar h;
	char *path, *link;
	uint64_t size, mode, mtime;
};

static int is_extended_header(char typeflag)
{
	return typeflag == 'x' || typeflag == 'g' || typeflag == 'L' || typeflag == 'K';
}

static int read_extended_header(int fd, const struct member *m, struct pending *p, char *err, size_t errlen)
{
	char *blob;

	if (read_blob(fd, m->size, &blob)) {
		snprintf(err, errlen, "archive extended header is truncated or too large");
		return CSDK_EIO;
	}
	if (m->h.typeflag == 'x') {
		pax_apply(blob, (size_t)m->size, &p->path, &p->link, &p->size, &p->has_size);
	} else if (m->h.typeflag == 'L') {
		free(p->path);
		p->path = strdup(blob);
	} else if (m->h.typeflag == 'K') {
		free(p->link);
		p->link = strdup(blob);
	}
	free(blob);
	return 0;
}

/* The names the extended headers gave, else the header's own; p is used up. */
static int take_names(struct member *m, struct pending *p)
{
	char name[257];

	if (p->path) {
		m->path = p->path;
	} else {
		if (m->h.prefix[0] && !memcmp(m->h.magic, "ustar", 5))
			snprintf(name, sizeof(name), "%.155s/%.100s", m->h.prefix, m->h.name);
		else
			snprintf(name, sizeof(name), "%.100s", m->h.name);
		m->path = strdup(name);
	}
	if (p->link) {
		m->link = p->link;
	} else {
		snprintf(name, sizeof(name), "%.100s", m->h.linkname);
		m->link = strdup(name);
	}
	p->path = p->link = NULL;
	p->has_size = 0;
	if (!m->path || !m->link) {
		free(m->path);
		free(m->link);
		return CSDK_ENOMEM;
	}
	return 0;
}

/* The next member's header: 1, 0 at the end of the archive, or an error code. */
static int read_member(int fd, struct member *m, struct pending *p, char *err, size_t errlen)
{
	static const char zero[BLOCK];

	for (;;) {
		int r = read_full(fd, &m->h, BLOCK), rc;

		if (r == 0 || (r == 1 && !memcmp(&m->h, zero, BLOCK)))
			return 0;
		if (r != 1) {
			snprintf(err, errlen, "archive is truncated (a partial header block)");
			return CSDK_EIO;
		}
		if (!checksum_ok(&m->h)) {
			snprintf(err, errlen, "archive header checksum mismatch; the snapshot is damaged");
			return CSDK_EIO;
		}
		parse_number(&m->size, m->h.size, sizeof(m->h.size));
		parse_number(&m->mode, m->h.mode, sizeof(m->h.mode));
		parse_number(&m->mtime, m->h.mtime, sizeof(m->h.mtime));
		if (p->has_size)
			m->size = p->size;
		if (!is_extended_header(m->h.typeflag))
			return (rc = take_names(m, p)) ? rc : 1;
		if ((rc = read_extended_header(fd, m, p, err, errlen)))
			return rc;
	}
}

static int make_directory(int pfd, const char *base, const struct member *m, char *err, size_t errlen)
{
	struct stat st;

	if (mkdirat(pfd, base, (mode_t)((m->mode & 0777) | 0700)) < 0 &&
	    !(errno == EEXIST && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))) {
		snprintf(err, errlen, "cannot create directory '%s': %s", m->path, strerror(errno == EEXIST ? ENOTDIR : errno));
		return CSDK_EIO;
	}
	return 0;
}

static int make_symlink(int pfd, const char *base, const struct member *m, char *err, size_t errlen)
{
	unlinkat(pfd, base, 0);
	if (symlinkat(m->link, pfd, base) < 0) {
		snprintf(err, errlen, "cannot create symbolic link '%s': %s", m->path, strerror(errno));
		return CSDK_EIO;
	}
	return 0;
}

/* Makes m as base in the directory pfd, reading its data from in. */
static int create_member(int in, int pfd, const char *base, const struct member *m, char *err, size_t errlen)
{
	char type = m->h.typeflag;

	if (!strcmp(base, "."))
		return skip_data(in, type == '5' ? 0 : m->size) ? CSDK_EIO : 0;
	if (type == '0' || type == '\0' || type == '7')
		return extract_file(in, pfd, base, m->size, m->mode, m->mtime, m->path, err, errlen);
	if (type == '5')
		return make_directory(pfd, base, m, err, errlen);
	if (type == '2')
		return make_symlink(pfd, base, m, err, errlen);
	return skip_data(in, (type == '1' || type == '3' || type == '4' || type == '6') ? 0 : m->size) ? CSDK_EIO : 0;
}

/* Places m below dirfd, refusing a name that would leave it. */
static int extract_member(int in, int dirfd, const struct member *m, char *err, size_t errlen)
{
	const char *rel = m->path, *base;
	char *scratch;
	int pfd, rc;

	while (rel[0] == '.' && rel[1] == '/')
		rel += 2;
	if (!safe_member(rel)) {
		snprintf(err, errlen, "archive member '%s' has an absolute path or a '..' component; refusing to extract it", m->path);
		return CSDK_EPERM;
	}
	if (rel[0] == '\0' || !strcmp(rel, ".") || !strcmp(rel, "./"))
		return m->h.typeflag != '5' && skip_data(in, m->size) ? CSDK_EIO : 0;
	if (!(scratch = strdup(rel)))
		return CSDK_ENOMEM;
	pfd = open_parent(dirfd, scratch, &base, m->path, err, errlen);
	if (pfd < 0) {
		rc = err[0] ? CSDK_EPERM : CSDK_EIO;
	} else {
		rc = create_member(in, pfd, base, m, err, errlen);
		close(pfd);
	}
	free(scratch);
	return rc;
}

int csdkc_tar_extract(int in_fd, int dirfd, char *err, size_t errlen)
{
	struct pending pending = { NULL, NULL, 0, 0 };
	struct member m;
	int rc;

	err[0] = '\0';
	while ((rc = read_member(in_fd, &m, &pending, err, errlen)) == 1) {
		rc = extract_member(in_fd, dirfd, &m, err, errlen);
		free(m.path);
		free(m.link);
		if (rc) {
			if (!err[0])
				snprintf(err, errlen, "archive is truncated");
			break;
		}
	}
	free(pending.path);
	free(pending.link);
	one_line(err);
	return rc;
}
