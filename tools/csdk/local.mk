# The csdk command; included from tools/Makefile.am (paths relative to tools/).
# Built as tools/csdk/csdk because the build directory tools/csdk holds its
# objects; installed as $(bindir)/csdk.
bin_PROGRAMS += csdk/csdk
csdk_csdk_SOURCES = \
	csdk/cli.h \
	csdk/main.c \
	csdk/args.c \
	csdk/session.c \
	csdk/report.c \
	csdk/cmd_providers.c \
	csdk/cmd_sandbox.c \
	csdk/cmd_exec.c \
	csdk/cmd_fs.c \
	csdk/cmd_store.c \
	csdk/cmd_pool.c \
	csdk/cmd_serve.c
csdk_csdk_CPPFLAGS = -I$(top_srcdir)/host -I$(top_srcdir)/plugin-api -I$(top_srcdir)/tools -I$(top_srcdir)/lib/util $(SERVE_CPPFLAGS)
csdk_csdk_CFLAGS = $(WARN_CFLAGS) $(SAN_CFLAGS) $(PTHREAD_CFLAGS) $(JANSSON_CFLAGS) $(SERVE_CFLAGS)
csdk_csdk_LDFLAGS = $(SAN_LDFLAGS)
csdk_csdk_LDADD = ../host/libcsdk.la common/libtoolcommon.la ../lib/util/libcsdkutil.la ../lib/util/libcsdkseccomp.la $(SECCOMP_LIBS) $(JANSSON_LIBS) $(PTHREAD_LIBS) $(SERVE_LIBS)
dist_man_MANS += csdk.1

# csdk serve (docs/serve.md): built when libmicrohttpd is there, like csdk-agent.
if BUILD_AGENT
csdk_csdk_SOURCES += serve/serve.h serve/proxy.h serve/parse.c serve/auth.c serve/store.c serve/api.c serve/proxy.c serve/server.c
SERVE_CPPFLAGS = -DCSDK_WITH_SERVE=1
SERVE_CFLAGS = $(MHD_CFLAGS) $(CURL_CFLAGS)
SERVE_LIBS = $(MHD_LIBS) $(CURL_LIBS)
endif
