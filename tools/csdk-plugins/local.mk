# The csdk-plugins command; included from tools/Makefile.am (paths relative to
# tools/). Built as tools/csdk-plugins/csdk-plugins, like csdk/csdk; installed
# as $(bindir)/csdk-plugins.
bin_PROGRAMS += csdk-plugins/csdk-plugins
csdk_plugins_csdk_plugins_SOURCES = \
	csdk-plugins/tool.h \
	csdk-plugins/main.c \
	csdk-plugins/options.c \
	csdk-plugins/json.c \
	csdk-plugins/warnings.c \
	csdk-plugins/view_list.c \
	csdk-plugins/view_plugin.c \
	csdk-plugins/view_rejected.c \
	csdk-plugins/view_paths.c \
	csdk-plugins/view_check.c
csdk_plugins_csdk_plugins_CPPFLAGS = -I$(top_srcdir)/host -I$(top_srcdir)/plugin-api -I$(top_srcdir)/tools
csdk_plugins_csdk_plugins_LDADD = conformance/libconformance.la common/libtoolcommon.la ../host/libcsdk.la $(JANSSON_LIBS)
csdk_plugins_csdk_plugins_LDFLAGS = $(SAN_LDFLAGS)
