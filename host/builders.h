#ifndef CSDK_HOST_BUILDERS_H
#define CSDK_HOST_BUILDERS_H

#include <csdk/csdk.h>
#include <csdk/plugin.h>

/* The host-owned output objects of csdk/plugin.h. Calls on one object must not overlap. */

struct csdkp_buf {
	char *data;
	size_t len;
	size_t cap;
};

struct csdk_sink {
	struct csdkp_buf out;
	struct csdkp_buf err;
	csdk_output_fn on_stdout;
	csdk_output_fn on_stderr;
	void *userdata;
	int cancelled;
	int stream_only; /* callbacks get the bytes; the buffers do not */
};

struct csdk_text {
	char *value;
};

struct csdk_info {
	csdk_sandbox_info info;
	size_t cap;
};

struct csdkp_handle_entry {
	char *id;
	void *native;
};

struct csdk_handles {
	struct csdkp_handle_entry *v;
	size_t n;
	size_t cap;
};

struct csdk_dir {
	csdk_dir_list list;
	size_t cap;
};

struct csdk_items {
	csdk_item_list list;
	size_t cap;
};

struct csdk_endpoint {
	char *url;
	char *token;
	struct csdk_kv *headers; /* owned strings */
	size_t n_headers;
};

/* Fill the builder functions of a host table. */
void csdkp_builders_install(struct csdk_host *host);

int csdkp_buf_append(struct csdkp_buf *buf, const void *data, size_t len);
/* Hand the buffer's bytes over as a NUL-terminated string (never NULL unless out of memory). */
char *csdkp_buf_take(struct csdkp_buf *buf, size_t *len_out);
void csdkp_sink_clear(struct csdk_sink *sink);
void csdkp_info_clear(struct csdk_info *info);
void csdkp_text_clear(struct csdk_text *text);
void csdkp_endpoint_clear(struct csdk_endpoint *endpoint);

#endif
