#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <csdk/csdk.h>

#include "compute_failures.h"
#include "error.h"
#include "util.h"

void csdkp_failures_note(struct csdkp_failures *f, const char *name, const char *message)
{
	char *line = csdkp_printf("%s\n- %s: %s", f->text ? f->text : "", name, message);

	free(f->text);
	f->text = line;
}

static void failures_add(struct csdkp_failures *f, const char *name, int code, const char *message)
{
	csdkp_failures_note(f, name, message);
	if (!f->n_tried) {
		f->first_name = name;
		f->first_message = strdup(message);
	}
	if (f->n_tried && code != f->code)
		f->mixed = 1;
	f->code = code;
	f->n_tried++;
}

void csdkp_failures_free(struct csdkp_failures *f)
{
	free(f->text);
	free(f->first_message);
	f->text = f->first_message = NULL;
}

void csdkp_failures_add_last(struct csdkp_failures *f, const char *name, int code)
{
	const csdk_error *e = csdk_error_last();

	failures_add(f, name, code, e->code && e->message[0] ? e->message : csdk_strerror(code));
}

int csdkp_failures_report(struct csdkp_failures *f, const char *what, size_t n)
{
	int code = f->mixed ? CSDK_EBACKEND : f->code;

	if (!f->text)
		code = csdkp_error_oom();
	else if (n == 1 && f->n_tried == 1 && f->first_message)
		/* one provider: its own one-line error, not a list of one */
		csdkp_error_set(code, f->first_name, "%s", f->first_message);
	else
		csdkp_error_set_lines(code, NULL, "Failed to %s across %zu provider(s).%s", what, n, f->text);
	csdkp_failures_free(f);
	return code;
}
