/*
 * test-agent.c - gateway mode without a cluster: the agent's URL and token
 * read back from a pod (IPv4, IPv6, the spec's last CSDK_AGENT_TOKEN wins as
 * in Kubernetes), direct-mode pods have none, and gateway_endpoint refuses them.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "k8s.h"

static int failures, checks;
static char last_error[1024];

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

static int h_error(const struct csdk_host *h, int code, const char *fmt, ...)
{
	va_list ap;
	(void)h;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return code;
}

static json_t *pod(const char *ip, const char *port, const char *env)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "{\"metadata\":{\"name\":\"csdk-1\",\"annotations\":{%s%s%s}},\"status\":{\"podIP\":\"%s\"},"
		 "\"spec\":{\"containers\":[{\"name\":\"sandbox\",\"env\":[%s]}]}}",
		 port ? "\"computesdk.com/agent-port\":\"" : "", port ? port : "", port ? "\"" : "", ip, env);
	return json_loads(text, 0, NULL);
}

int main(void)
{
	static const struct csdk_host host = { .struct_size = sizeof(host), .error = h_error };
	struct csdkp_k8s ctx = { .host = &host, .namespace_ = "default" };
	struct csdkp_k8s_sandbox sb;
	json_t *p;

	memset(&sb, 0, sizeof(sb));
	p = pod("10.1.2.3", "49983", "{\"name\":\"A\",\"value\":\"b\"},{\"name\":\"CSDK_AGENT_TOKEN\",\"value\":\"0123abcd\"}");
	csdkp_k8s_agent_from_pod(&sb, p);
	CHECK(!strcmp(sb.agent_url, "http://10.1.2.3:49983"), "IPv4 URL: %s", sb.agent_url);
	CHECK(!strcmp(sb.token, "0123abcd"), "token: %s", sb.token);
	json_decref(p);

	p = pod("fd00::5", "20001", "{\"name\":\"CSDK_AGENT_TOKEN\",\"value\":\"user\"},{\"name\":\"CSDK_AGENT_TOKEN\",\"value\":\"ours\"}");
	csdkp_k8s_agent_from_pod(&sb, p);
	CHECK(!strcmp(sb.agent_url, "http://[fd00::5]:20001"), "IPv6 URL: %s", sb.agent_url);
	CHECK(!strcmp(sb.token, "ours"), "the last token wins: %s", sb.token);
	json_decref(p);

	p = pod("10.1.2.3", "49983x", "");
	csdkp_k8s_agent_from_pod(&sb, p);
	CHECK(!sb.agent_url[0] && !sb.token[0], "a bad port gives no agent: %s", sb.agent_url);
	json_decref(p);

	p = pod("10.1.2.3", NULL, "{\"name\":\"CSDK_AGENT_TOKEN\",\"value\":\"x\"}");
	csdkp_k8s_agent_from_pod(&sb, p);
	CHECK(!sb.agent_url[0], "a direct-mode pod has no agent: %s", sb.agent_url);
	snprintf(sb.name, sizeof(sb.name), "csdk-1");
	CHECK(csdkp_m_gateway_endpoint(&ctx, &sb, NULL) == CSDK_EUNSUPPORTED && strstr(last_error, "mode=gateway"),
	      "gateway_endpoint on a direct-mode pod: %s", last_error);
	ctx.gateway = 1;
	CHECK(csdkp_k8s_agent_wait(&ctx, &sb) == CSDK_EUNSUPPORTED && strstr(last_error, "direct mode"),
	      "agent_wait on a direct-mode pod: %s", last_error);
	json_decref(p);

	printf("%d checks, %d failed\n", checks, failures);
	return failures != 0;
}
