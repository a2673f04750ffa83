#include "config.h"

#include <stdio.h>
#include <string.h>

#include <csdk/common.h>

#include "csdkc.h"

int csdkc_code_begin(const char *provider, const char *runtime, const char *code, int *python_out,
		     char *path, size_t pathlen, char *err, size_t errlen)
{
	char hex[17];

	if (!runtime || (strcmp(runtime, "python") && strcmp(runtime, "node"))) {
		snprintf(err, errlen, "runtime '%s' is not supported by the %s provider; use python or node",
			 runtime ? runtime : "(null)", provider);
		return CSDK_EINVAL;
	}
	if (!code) {
		snprintf(err, errlen, "no code given; pass the source text to run");
		return CSDK_EINVAL;
	}
	*python_out = !strcmp(runtime, "python");
	csdkc_random_hex(hex, 8);
	snprintf(path, pathlen, "/tmp/csdk-code-%s.%s", hex, *python_out ? "py" : "js");
	return 0;
}

int csdkc_code_classify(const char *runtime, int exit_code, const struct csdkc_capture *cap, const char *path,
			const char *sandbox, const char *image_key, char *err, size_t errlen)
{
	const char *interp = strcmp(runtime, "python") ? "node" : "python3";

	if (csdku_syntax_error_classify(err, errlen, runtime, exit_code, cap->data ? cap->data : "", cap->len, path))
		return CSDK_ESYNTAX;
	if (exit_code == 127 && cap->data && strstr(cap->data, interp) && strstr(cap->data, "not found")) {
		snprintf(err, errlen, "%s is not installed in the image of sandbox %s; use an image with it (config key %s)",
			 interp, sandbox, image_key);
		return CSDK_EUNSUPPORTED;
	}
	return 0;
}
