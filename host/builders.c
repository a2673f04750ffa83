#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builders.h"

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > PTRDIFF_MAX / 2 / elem)
			return CSDK_ENOMEM;
		ncap *= 2;
	}
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return CSDK_ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

int csdkp_buf_append(struct csdkp_buf *buf, const void *data, size_t len)
{
	void *p = buf->data;

	if (len > SIZE_MAX - buf->len - 1)
		return CSDK_ENOMEM;
	if (grow(&p, &buf->cap, buf->len + len + 1, 1))
		return CSDK_ENOMEM;
	buf->data = p;
	if (len)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return 0;
}

char *csdkp_buf_take(struct csdkp_buf *buf, size_t *len_out)
{
	char *s = buf->data;

	if (!s)
		s = calloc(1, 1);
	if (len_out)
		*len_out = s ? buf->len : 0;
	buf->data = NULL;
	buf->len = buf->cap = 0;
	return s;
}

void csdkp_sink_clear(struct csdk_sink *sink)
{
	free(sink->out.data);
	free(sink->err.data);
	memset(&sink->out, 0, sizeof(sink->out));
	memset(&sink->err, 0, sizeof(sink->err));
}

static int sink_write(struct csdk_sink *sink, enum csdk_stream stream, const void *data, size_t len)
{
	struct csdkp_buf *buf;
	csdk_output_fn fn;

	if (!sink || (!data && len))
		return CSDK_EINVAL;
	if (sink->cancelled)
		return CSDK_ECANCELLED;
	if (stream == CSDK_STREAM_STDOUT) {
		buf = &sink->out;
		fn = sink->on_stdout;
	} else if (stream == CSDK_STREAM_STDERR) {
		buf = &sink->err;
		fn = sink->on_stderr;
	} else {
		return CSDK_EINVAL;
	}
	if (len == 0)
		return 0;
	if (!(fn && sink->stream_only) && csdkp_buf_append(buf, data, len))
		return CSDK_ENOMEM;
	if (fn && fn(data, len, sink->userdata) != 0) {
		sink->cancelled = 1;
		return CSDK_ECANCELLED;
	}
	return 0;
}

static int set_string(char **slot, const char *value)
{
	char *copy = NULL;

	if (value && !(copy = strdup(value)))
		return CSDK_ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

static int text_set(struct csdk_text *text, const char *value)
{
	if (!text || !value)
		return CSDK_EINVAL;
	return set_string(&text->value, value);
}

void csdkp_text_clear(struct csdk_text *text)
{
	free(text->value);
	text->value = NULL;
}

static int info_set_id(struct csdk_info *info, const char *id)
{
	if (!info || !id)
		return CSDK_EINVAL;
	return set_string(&info->info.id, id);
}

static int info_set_status(struct csdk_info *info, enum csdk_status status)
{
	if (!info || status < CSDK_STATUS_RUNNING || status > CSDK_STATUS_ERROR)
		return CSDK_EINVAL;
	info->info.status = status;
	return 0;
}

static int info_set_times(struct csdk_info *info, int64_t created_ms, int64_t timeout_ms)
{
	if (!info || created_ms < 0 || timeout_ms < 0)
		return CSDK_EINVAL;
	info->info.created_ms = created_ms;
	info->info.timeout_ms = timeout_ms;
	return 0;
}

static int info_add_metadata(struct csdk_info *info, const char *key, const char *value)
{
	void *v;
	struct csdk_kv *kv;
	char *k, *val;

	if (!info || !key || !value)
		return CSDK_EINVAL;
	v = info->info.metadata;
	if (grow(&v, &info->cap, info->info.n_metadata + 1, sizeof(struct csdk_kv)))
		return CSDK_ENOMEM;
	info->info.metadata = v;
	k = strdup(key);
	val = strdup(value);
	if (!k || !val) {
		free(k);
		free(val);
		return CSDK_ENOMEM;
	}
	kv = &info->info.metadata[info->info.n_metadata++];
	kv->key = k;
	kv->value = val;
	return 0;
}

void csdkp_info_clear(struct csdk_info *info)
{
	size_t i;

	free(info->info.id);
	free(info->info.provider);
	for (i = 0; i < info->info.n_metadata; i++) {
		free((char *)info->info.metadata[i].key);
		free((char *)info->info.metadata[i].value);
	}
	free(info->info.metadata);
	memset(info, 0, sizeof(*info));
}

static int handles_add(struct csdk_handles *list, const char *id, void *native)
{
	void *v;
	char *copy;

	if (!list || !id || !*id)
		return CSDK_EINVAL;
	v = list->v;
	if (grow(&v, &list->cap, list->n + 1, sizeof(*list->v)))
		return CSDK_ENOMEM;
	list->v = v;
	if (!(copy = strdup(id)))
		return CSDK_ENOMEM;
	list->v[list->n].id = copy;
	list->v[list->n].native = native;
	list->n++;
	return 0;
}

static int dir_add(struct csdk_dir *dir, const char *name, enum csdk_entry_type type, uint64_t size, int64_t modified_ms)
{
	void *v;
	csdk_dirent *e;
	char *copy;

	if (!dir || !name || !*name || strchr(name, '/'))
		return CSDK_EINVAL;
	if (type < CSDK_ENTRY_FILE || type > CSDK_ENTRY_OTHER)
		return CSDK_EINVAL;
	v = dir->list.entries;
	if (grow(&v, &dir->cap, dir->list.count + 1, sizeof(csdk_dirent)))
		return CSDK_ENOMEM;
	dir->list.entries = v;
	if (!(copy = strdup(name)))
		return CSDK_ENOMEM;
	e = &dir->list.entries[dir->list.count++];
	e->name = copy;
	e->type = type;
	e->size = size;
	e->modified_ms = modified_ms;
	return 0;
}

static int items_add(struct csdk_items *items, const char *id, const char *name, int64_t created_ms)
{
	void *v;
	csdk_item *it;
	char *cid, *cname = NULL;

	if (!items || !id || !*id)
		return CSDK_EINVAL;
	v = items->list.items;
	if (grow(&v, &items->cap, items->list.count + 1, sizeof(csdk_item)))
		return CSDK_ENOMEM;
	items->list.items = v;
	cid = strdup(id);
	if (name)
		cname = strdup(name);
	if (!cid || (name && !cname)) {
		free(cid);
		free(cname);
		return CSDK_ENOMEM;
	}
	it = &items->list.items[items->list.count++];
	it->id = cid;
	it->name = cname;
	it->created_ms = created_ms;
	return 0;
}

static int endpoint_set(struct csdk_endpoint *endpoint, const char *url, const char *token)
{
	int rc;

	if (!endpoint || !url)
		return CSDK_EINVAL;
	if (strncmp(url, "unix:", 5) && strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return CSDK_EINVAL;
	if ((rc = set_string(&endpoint->url, url)))
		return rc;
	return set_string(&endpoint->token, token);
}

static int endpoint_add_header(struct csdk_endpoint *endpoint, const char *name, const char *value)
{
	struct csdk_kv *v;
	char *n, *val;

	if (!endpoint || !name || !*name || !value || strpbrk(name, ": \r\n") || strpbrk(value, "\r\n"))
		return CSDK_EINVAL;
	if (!(v = realloc(endpoint->headers, (endpoint->n_headers + 1) * sizeof(*v))))
		return CSDK_ENOMEM;
	endpoint->headers = v;
	n = strdup(name);
	val = strdup(value);
	if (!n || !val) {
		free(n);
		free(val);
		return CSDK_ENOMEM;
	}
	v[endpoint->n_headers].key = n;
	v[endpoint->n_headers].value = val;
	endpoint->n_headers++;
	return 0;
}

void csdkp_endpoint_clear(struct csdk_endpoint *endpoint)
{
	free(endpoint->url);
	free(endpoint->token);
	for (size_t i = 0; i < endpoint->n_headers; i++) {
		free((char *)endpoint->headers[i].key);
		free((char *)endpoint->headers[i].value);
	}
	free(endpoint->headers);
	memset(endpoint, 0, sizeof(*endpoint));
}

void csdkp_builders_install(struct csdk_host *host)
{
	host->sink_write = sink_write;
	host->text_set = text_set;
	host->info_set_id = info_set_id;
	host->info_set_status = info_set_status;
	host->info_set_times = info_set_times;
	host->info_add_metadata = info_add_metadata;
	host->handles_add = handles_add;
	host->dir_add = dir_add;
	host->items_add = items_add;
	host->endpoint_set = endpoint_set;
	host->endpoint_add_header = endpoint_add_header;
}
