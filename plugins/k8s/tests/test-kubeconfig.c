/*
 * test-kubeconfig.c - kubeconfig reading without a cluster: the current
 * context or a named one, inline and file credentials (relative to the
 * kubeconfig), tokenFile, insecure-skip-tls-verify, the exec plugin refusal,
 * KUBECONFIG lists, YAML errors with their line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "k8s.h"

static int failures, checks;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		checks++;                                                     \
		if (!(cond)) {                                                \
			failures++;                                           \
			fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
		}                                                             \
	} while (0)

static char dir[] = "/tmp/csdk-kubeconfig-XXXXXX";

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static const char config[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"clusters:\n"
	"- name: a\n"
	"  cluster:\n"
	"    server: https://127.0.0.1:6443/\n"
	"    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
	"- name: b\n"
	"  cluster: {server: 'https://127.0.0.1:7443', insecure-skip-tls-verify: true}\n"
	"users:\n"
	"- name: cert\n"
	"  user:\n"
	"    client-certificate: certs/client.crt\n"
	"    client-key-data: a2V5IGRhdGE=\n"
	"- name: tok\n"
	"  user:\n"
	"    tokenFile: %s/token\n"
	"- name: plugin\n"
	"  user:\n"
	"    exec: {command: aws}\n"
	"contexts:\n"
	"- name: one\n"
	"  context: {cluster: a, user: cert, namespace: team-a}\n"
	"- name: two\n"
	"  context:\n"
	"    cluster: b\n"
	"    user: tok\n"
	"- name: three\n"
	"  context: {cluster: b, user: plugin}\n"
	"current-context: one\n";

int main(void)
{
	struct k8sp_creds c;
	char err[512], path[256], text[2048], list[600];
	json_t *j = NULL;
	int rc;

	if (!mkdtemp(dir))
		return 99;
	snprintf(text, sizeof(text), config, dir);
	put("config", text);
	snprintf(path, sizeof(path), "%s/certs", dir);
	mkdir(path, 0700);
	put("certs/client.crt", "CERT PEM\n");
	put("token", "file-token\n");
	snprintf(path, sizeof(path), "%s/config", dir);

	rc = k8sp_creds_load(&c, path, NULL, err, sizeof(err));
	CHECK(rc == 0, "current context: %s", err);
	if (!rc) {
		CHECK(!strcmp(c.server, "https://127.0.0.1:6443"), "server without the slash: %s", c.server);
		CHECK(c.ca_pem && !strcmp(c.ca_pem, "-----BEGIN CERTIFICATE-----\n"), "inline CA decoded");
		CHECK(c.cert_pem && !strcmp(c.cert_pem, "CERT PEM\n"), "client certificate read relative to the kubeconfig");
		CHECK(c.key_pem && !strcmp(c.key_pem, "key data"), "inline key decoded");
		CHECK(c.namespace_ && !strcmp(c.namespace_, "team-a") && !c.insecure && !c.token, "namespace, no token");
		k8sp_creds_free(&c);
	}
	rc = k8sp_creds_load(&c, path, "two", err, sizeof(err));
	CHECK(rc == 0, "context two: %s", err);
	if (!rc) {
		CHECK(c.insecure && c.token && !strcmp(c.token, "file-token") && !c.namespace_, "insecure, tokenFile");
		k8sp_creds_free(&c);
	}
	rc = k8sp_creds_load(&c, path, "three", err, sizeof(err));
	CHECK(rc == CSDK_ECONFIG && strstr(err, "exec or auth-provider"), "exec plugins refused: %s", err);
	rc = k8sp_creds_load(&c, path, "nine", err, sizeof(err));
	CHECK(rc == CSDK_ECONFIG && strstr(err, "no context 'nine'"), "unknown context: %s", err);
	snprintf(list, sizeof(list), "%s/missing:%s", dir, path);
	rc = k8sp_creds_load(&c, list, NULL, err, sizeof(err));
	CHECK(rc == 0, "KUBECONFIG list, first existing file: %s", err);
	if (!rc)
		k8sp_creds_free(&c);
	snprintf(list, sizeof(list), "%s/missing", dir);
	rc = k8sp_creds_load(&c, list, NULL, err, sizeof(err));
	CHECK(rc == CSDK_ECONFIG && strstr(err, "no such file"), "missing file: %s", err);
	put("bad", "clusters:\n  - a\n - b: [\n");
	snprintf(path, sizeof(path), "%s/bad", dir);
	rc = k8sp_creds_load(&c, path, NULL, err, sizeof(err));
	CHECK(rc == CSDK_ECONFIG && strstr(err, "line") && !strchr(err, '\n'), "YAML error with a line: %s", err);
	{
		/* nine levels of ten aliases: 10^9 nodes if expanded */
		char laughs[1024] = "a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n";
		for (int i = 1; i < 9; i++) {
			size_t n = strlen(laughs);
			snprintf(laughs + n, sizeof(laughs) - n, "a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n", i, i,
				 i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
		}
		rc = k8sp_yaml_to_json(laughs, strlen(laughs), &j, err, sizeof(err));
		CHECK(rc == CSDK_ECONFIG && strstr(err, "too large"), "alias expansion is bounded: %s", err);
	}
	rc = k8sp_yaml_to_json("{\"a\": [1, \"x\"]}", 15, &j, err, sizeof(err));
	CHECK(rc == 0 && json_is_array(json_object_get(j, "a")), "JSON is YAML");
	json_decref(j);
	snprintf(text, sizeof(text), "rm -rf %s", dir);
	if (system(text))
		return 99;
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
