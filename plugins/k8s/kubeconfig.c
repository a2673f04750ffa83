#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "base64.h"
#include "k8s.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* budget bounds the nodes made: aliases may repeat a subtree exponentially */
static json_t *node_to_json(yaml_document_t *doc, yaml_node_t *n, int depth, long *budget)
{
	json_t *j = NULL;

	if (!n || depth > 64 || --*budget < 0)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return json_stringn((const char *)n->data.scalar.value, n->data.scalar.length);
	case YAML_SEQUENCE_NODE:
		j = json_array();
		for (yaml_node_item_t *i = n->data.sequence.items.start; j && i < n->data.sequence.items.top; i++) {
			json_t *v = node_to_json(doc, yaml_document_get_node(doc, *i), depth + 1, budget);
			if (!v || json_array_append_new(j, v)) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	case YAML_MAPPING_NODE:
		j = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; j && p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			json_t *v;
			char *key;
			if (!k || k->type != YAML_SCALAR_NODE)
				continue;
			if (!(v = node_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1, budget)) ||
			    !(key = strndup((const char *)k->data.scalar.value, k->data.scalar.length))) {
				json_decref(v);
				json_decref(j);
				return NULL;
			}
			json_object_set_new(j, key, v);
			free(key);
		}
		return j;
	default:
		return NULL;
	}
}

int k8sp_yaml_to_json(const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_document_t doc;
	int rc = CSDK_ECONFIG;

	*out = NULL;
	if (!yaml_parser_initialize(&p))
		return CSDK_ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &doc)) {
		snprintf(err, errlen, "not YAML: %s at line %lu", p.problem ? p.problem : "parse error",
			 (unsigned long)p.problem_mark.line + 1);
		yaml_parser_delete(&p);
		return rc;
	}
	long budget = 100000;

	*out = node_to_json(&doc, yaml_document_get_root_node(&doc), 0, &budget);
	if (*out)
		rc = 0;
	else
		snprintf(err, errlen, budget < 0 ? "too large (over 100000 nodes, aliases expanded)" : "an empty or unreadable document");
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return rc;
}

static int read_file(const char *path, char **out, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	*out = NULL;
	if (!f)
		return errno == ENOENT ? CSDK_ENOTFOUND : CSDK_EIO;
	do {
		if (len + 4096 + 1 > cap) {
			char *p = realloc(buf, cap = cap ? cap * 2 : 8192);
			if (!p) {
				free(buf);
				fclose(f);
				return CSDK_ENOMEM;
			}
			buf = p;
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0 && len < (16u << 20));
	fclose(f);
	buf[len] = '\0';
	*out = buf;
	if (len_out)
		*len_out = len;
	return 0;
}

static json_t *named(json_t *list, const char *what, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));
		if (n && !strcmp(n, name))
			return json_object_get(e, what);
	}
	return NULL;
}

/* A PEM from KEY-data (base64) or KEY (a file, relative to the kubeconfig's directory). */
static int pem(json_t *obj, const char *key, const char *dir, char **out, char *err, size_t errlen)
{
	char k[64], path[PATH_MAX];
	const char *v;

	snprintf(k, sizeof(k), "%s-data", key);
	if ((v = json_string_value(json_object_get(obj, k)))) {
		int rc = csdku_b64_decode((unsigned char **)out, NULL, v, strlen(v));

		if (rc == CSDK_EINVAL) {
			snprintf(err, errlen, "%s is not base64", k);
			return CSDK_ECONFIG;
		}
		return rc;
	}
	if (!(v = json_string_value(json_object_get(obj, key))))
		return 0;
	snprintf(path, sizeof(path), "%s%s%s", v[0] == '/' ? "" : dir, v[0] == '/' ? "" : "/", v);
	if (read_file(path, out, NULL)) {
		snprintf(err, errlen, "cannot read %s %s", key, path);
		return CSDK_ECONFIG;
	}
	return 0;
}

/* The token or client certificate of user uname in the kubeconfig at path (in dir). */
static int user_creds(struct k8sp_creds *c, json_t *user, const char *uname, const char *path, const char *dir,
		      char *err, size_t errlen)
{
	const char *v;
	int rc;

	if (json_object_get(user, "exec") || json_object_get(user, "auth-provider")) {
		snprintf(err, errlen, "kubeconfig %s: user '%s' uses an exec or auth-provider plugin, which csdk does not run; give a token or a client certificate",
			 path, uname);
		return CSDK_ECONFIG;
	}
	if ((v = json_string_value(json_object_get(user, "token"))) && !(c->token = strdup(v))) {
		snprintf(err, errlen, "out of memory reading kubeconfig %s", path);
		return CSDK_ENOMEM;
	}
	if (!c->token && (v = json_string_value(json_object_get(user, "tokenFile")))) {
		if (read_file(v, &c->token, NULL)) {
			snprintf(err, errlen, "kubeconfig %s: cannot read tokenFile %s", path, v);
			return CSDK_ECONFIG;
		}
		c->token[strcspn(c->token, "\r\n")] = '\0';
	}
	if ((rc = pem(user, "client-certificate", dir, &c->cert_pem, err, errlen)))
		return rc;
	return pem(user, "client-key", dir, &c->key_pem, err, errlen);
}

static int from_kubeconfig(struct k8sp_creds *c, const char *path, const char *context, char *err, size_t errlen)
{
	char *text = NULL, dir[PATH_MAX], perr[256];
	size_t len;
	json_t *cfg = NULL, *ctxj, *cluster, *user;
	const char *v, *cname, *uname;
	int rc;

	if ((rc = read_file(path, &text, &len))) {
		snprintf(err, errlen, "cannot read kubeconfig %s: %s", path, rc == CSDK_ENOTFOUND ? "no such file" : "read error");
		return CSDK_ECONFIG;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	{
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
	}
	snprintf(c->source, sizeof(c->source), "kubeconfig %s", path);
	if ((rc = k8sp_yaml_to_json(text, len, &cfg, perr, sizeof(perr)))) {
		snprintf(err, errlen, "kubeconfig %s is %s", path, perr);
		goto out;
	}
	rc = CSDK_ECONFIG;
	if (!context && !(context = json_string_value(json_object_get(cfg, "current-context")))) {
		snprintf(err, errlen, "kubeconfig %s has no current-context; set one (kubectl config use-context) or the context key", path);
		goto out;
	}
	if (!(ctxj = named(json_object_get(cfg, "contexts"), "context", context))) {
		snprintf(err, errlen, "kubeconfig %s has no context '%s'", path, context);
		goto out;
	}
	cname = json_string_value(json_object_get(ctxj, "cluster"));
	uname = json_string_value(json_object_get(ctxj, "user"));
	if (!cname || !(cluster = named(json_object_get(cfg, "clusters"), "cluster", cname)) ||
	    !(v = json_string_value(json_object_get(cluster, "server")))) {
		snprintf(err, errlen, "kubeconfig %s: context '%s' names no cluster with a server", path, context);
		goto out;
	}
	if (!(c->server = strdup(v)))
		goto oom;
	while (*c->server && c->server[strlen(c->server) - 1] == '/')
		c->server[strlen(c->server) - 1] = '\0';
	v = json_string_value(json_object_get(cluster, "insecure-skip-tls-verify"));
	c->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify")) || (v && !strcmp(v, "true"));
	if ((rc = pem(cluster, "certificate-authority", dir, &c->ca_pem, err, errlen)))
		goto out;
	user = uname ? named(json_object_get(cfg, "users"), "user", uname) : NULL;
	if (user && (rc = user_creds(c, user, uname, path, dir, err, errlen)))
		goto out;
	if ((v = json_string_value(json_object_get(ctxj, "namespace"))) && !(c->namespace_ = strdup(v)))
		goto oom;
	rc = 0;
	goto out;
oom:
	rc = CSDK_ENOMEM;
	snprintf(err, errlen, "out of memory reading kubeconfig %s", path);
out:
	json_decref(cfg);
	free(text);
	return rc;
}

static int in_cluster(struct k8sp_creds *c, char *err, size_t errlen)
{
	const char *h = getenv("KUBERNETES_SERVICE_HOST"), *p = getenv("KUBERNETES_SERVICE_PORT");

	snprintf(c->source, sizeof(c->source), "the pod's service account (%s)", SA_DIR);
	if (read_file(SA_DIR "/token", &c->token, NULL) || read_file(SA_DIR "/ca.crt", &c->ca_pem, NULL)) {
		snprintf(err, errlen, "cannot read the service account's token and ca.crt in %s", SA_DIR);
		return CSDK_ECONFIG;
	}
	c->token[strcspn(c->token, "\r\n")] = '\0';
	read_file(SA_DIR "/namespace", &c->namespace_, NULL);
	if (c->namespace_)
		c->namespace_[strcspn(c->namespace_, "\r\n")] = '\0';
	if (asprintf(&c->server, strchr(h, ':') ? "https://[%s]:%s" : "https://%s:%s", h, p ? p : "443") < 0) {
		c->server = NULL;
		return CSDK_ENOMEM;
	}
	return 0;
}

int k8sp_creds_load(struct k8sp_creds *c, const char *path, const char *context, char *err, size_t errlen)
{
	char def[PATH_MAX], first[PATH_MAX];
	struct stat st;
	const char *home = getenv("HOME");
	int rc;

	memset(c, 0, sizeof(*c));
	if (path && *path) {
		/* KUBECONFIG may list several files: the first one that exists */
		const char *s = path;
		while (*s) {
			size_t n = strcspn(s, ":");
			snprintf(first, sizeof(first), "%.*s", (int)n, s);
			if (!stat(first, &st))
				break;
			s += n + (s[n] == ':');
			if (!*s)
				snprintf(first, sizeof(first), "%.*s", (int)strcspn(path, ":"), path);
		}
		rc = from_kubeconfig(c, first, context, err, errlen);
	} else {
		snprintf(def, sizeof(def), "%s/.kube/config", home ? home : "");
		if (home && !stat(def, &st))
			rc = from_kubeconfig(c, def, context, err, errlen);
		else if (getenv("KUBERNETES_SERVICE_HOST") && !stat(SA_DIR "/token", &st))
			rc = in_cluster(c, err, errlen);
		else {
			snprintf(err, errlen, "no kubeconfig at %s and not running in a pod; set the kubeconfig key or KUBECONFIG", def);
			rc = CSDK_ECONFIG;
		}
	}
	if (rc)
		k8sp_creds_free(c);
	return rc;
}

void k8sp_creds_free(struct k8sp_creds *c)
{
	free(c->server);
	if (c->token)
		memset(c->token, 0, strlen(c->token));
	free(c->token);
	free(c->ca_pem);
	free(c->cert_pem);
	if (c->key_pem)
		memset(c->key_pem, 0, strlen(c->key_pem));
	free(c->key_pem);
	free(c->namespace_);
	c->server = c->token = c->ca_pem = c->cert_pem = c->key_pem = c->namespace_ = NULL;
}
