/* POST /init: the host sets the access token and the environment of later processes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"

/*
 * A set of variables is published whole through one pointer and never freed
 * while the agent runs (a claim calls /init once), so a process being
 * started reads a set that stays valid.
 */
struct agent_env_set {
	struct agent_env_set *older;
	char **vars;
};

static struct agent_env_set *agent_envs;

const char *const *agent_init_envs(void)
{
	struct agent_env_set *s = __atomic_load_n(&agent_envs, __ATOMIC_ACQUIRE);

	return s ? (const char *const *)s->vars : NULL;
}

static int agent_envs_publish(json_t *obj)
{
	struct agent_env_set *s = calloc(1, sizeof *s);
	const char *k;
	json_t *v;
	size_t i = 0;

	if (!s || !(s->vars = calloc(json_object_size(obj) + 1, sizeof *s->vars))) {
		free(s);
		return -1;
	}
	json_object_foreach(obj, k, v) {
		size_t kl = strlen(k), vl = strlen(json_string_value(v));

		if (!(s->vars[i] = malloc(kl + vl + 2)))
			break;
		memcpy(s->vars[i], k, kl);
		s->vars[i][kl] = '=';
		memcpy(s->vars[i] + kl + 1, json_string_value(v), vl + 1);
		i++;
	}
	if (i < json_object_size(obj)) {
		while (i)
			free(s->vars[--i]);
		free(s->vars);
		free(s);
		return -1;
	}
	s->older = __atomic_load_n(&agent_envs, __ATOMIC_ACQUIRE);
	while (!__atomic_compare_exchange_n(&agent_envs, &s->older, s, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	return 0;
}

static const char *agent_init_check(json_t *in)
{
	json_t *tok = json_object_get(in, "accessToken"), *envs = json_object_get(in, "envVars"), *v;
	const char *k;

	if (!json_is_object(in))
		return "the body is not a JSON object";
	if (tok && !json_is_null(tok) && (!json_is_string(tok) || !*json_string_value(tok)))
		return "accessToken must be a non-empty string";
	if (envs && !json_is_null(envs)) {
		if (!json_is_object(envs))
			return "envVars must be an object of strings";
		json_object_foreach(envs, k, v) {
			if (!*k || strchr(k, '=') || !json_is_string(v))
				return "envVars must map names without '=' to strings";
		}
	}
	return NULL;
}

enum MHD_Result agent_init_handle(struct MHD_Connection *c, const char *body, size_t len)
{
	json_t *in = json_loadb(len ? body : "{}", len ? len : 2, 0, NULL), *envs, *tok;
	const char *why = in ? agent_init_check(in) : "the body is not valid JSON";
	struct MHD_Response *r;
	enum MHD_Result rc;

	if (why) {
		json_decref(in);
		return agent_reply_rest_error(c, 400, "%s", why);
	}
	envs = json_object_get(in, "envVars");
	tok = json_object_get(in, "accessToken");
	if ((json_is_object(envs) && agent_envs_publish(envs) < 0) ||
	    (json_is_string(tok) && agent_auth_set(json_string_value(tok)) < 0)) {
		json_decref(in);
		return agent_reply_rest_error(c, 500, "out of memory");
	}
	json_decref(in);
	if (!(r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT)))
		return MHD_NO;
	rc = MHD_queue_response(c, 204, r);
	MHD_destroy_response(r);
	return rc;
}
