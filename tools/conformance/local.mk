# The conformance kit behind `csdk-plugins test` (included from tools/Makefile.am;
# paths are relative to tools/).
noinst_LTLIBRARIES += conformance/libconformance.la

conformance_libconformance_la_SOURCES = \
	conformance/conformance.h \
	conformance/cases.c \
	conformance/cases_code.c \
	conformance/cases_command.c \
	conformance/cases_fs.c \
	conformance/cases_sandbox.c \
	conformance/cases_unsupported.c \
	conformance/check.c \
	conformance/cli.c \
	conformance/runner.c
conformance_libconformance_la_CPPFLAGS = -I$(srcdir) -I$(top_srcdir)/host -I$(top_srcdir)/plugin-api -I$(top_srcdir)/lib/util
conformance_libconformance_la_CFLAGS = $(WARN_CFLAGS) $(SAN_CFLAGS) $(PTHREAD_CFLAGS) $(JANSSON_CFLAGS)
conformance_libconformance_la_LIBADD = $(top_builddir)/lib/util/libcsdkutil.la $(JANSSON_LIBS) $(PTHREAD_LIBS)

EXTRA_DIST += conformance/README.md

# The kit's test providers are built as plugins, exporting their entry only.
KIT_PLUGIN_CPPFLAGS = -I$(top_srcdir)/plugin-api
KIT_PLUGIN_CFLAGS = -fvisibility=hidden $(WARN_CFLAGS) $(SAN_CFLAGS)
KIT_PLUGIN_LDFLAGS = $(SAN_LDFLAGS) -module -avoid-version -shared -no-undefined \
	-rpath /nowhere -export-symbols-regex '^csdk_plugin_entry$$'

# The kit's own test: a provider that breaks the contract on purpose.
check_LTLIBRARIES += conformance/tests/csdk-kitbad.la
conformance_tests_csdk_kitbad_la_SOURCES = conformance/tests/kitbad.c
conformance_tests_csdk_kitbad_la_CPPFLAGS = $(KIT_PLUGIN_CPPFLAGS)
conformance_tests_csdk_kitbad_la_CFLAGS = $(KIT_PLUGIN_CFLAGS)
conformance_tests_csdk_kitbad_la_LDFLAGS = $(KIT_PLUGIN_LDFLAGS)

# A provider with commands only, whose filesystem the host serves.
check_LTLIBRARIES += conformance/tests/csdk-kitshell.la
conformance_tests_csdk_kitshell_la_SOURCES = conformance/tests/kitshell.c conformance/tests/kitdir.c conformance/tests/kitdir.h
conformance_tests_csdk_kitshell_la_CPPFLAGS = $(KIT_PLUGIN_CPPFLAGS)
conformance_tests_csdk_kitshell_la_CFLAGS = $(KIT_PLUGIN_CFLAGS)
conformance_tests_csdk_kitshell_la_LDFLAGS = $(KIT_PLUGIN_LDFLAGS)

# A provider in gateway mode only, a csdk-agent in each sandbox.
check_LTLIBRARIES += conformance/tests/csdk-kitagent.la
conformance_tests_csdk_kitagent_la_SOURCES = conformance/tests/kitagent.c conformance/tests/kitdir.c conformance/tests/kitdir.h
conformance_tests_csdk_kitagent_la_CPPFLAGS = $(KIT_PLUGIN_CPPFLAGS)
conformance_tests_csdk_kitagent_la_CFLAGS = $(KIT_PLUGIN_CFLAGS)
conformance_tests_csdk_kitagent_la_LDFLAGS = $(KIT_PLUGIN_LDFLAGS)

TESTS += conformance/tests/kit.test conformance/tests/kitshell.test conformance/tests/kitagent.test
EXTRA_DIST += conformance/tests/kitshell.test conformance/tests/kitagent.test
EXTRA_DIST += conformance/tests/kit.test
