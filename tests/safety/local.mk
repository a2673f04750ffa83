# Loader safety (included from tests/Makefile.am): plugins that hang, crash
# or print while loading, or crash in a method, beside the real ones. The
# suites build their own search path directories from these modules.

SAFETY_FAULTS = plain hang crash print crash-create reject
SAFETY_CPPFLAGS = -I$(top_srcdir)/plugin-api -I$(top_srcdir)/plugins/example
SAFETY_CFLAGS = $(WARN_CFLAGS) -Wno-unused-parameter -fvisibility=hidden
SAFETY_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

SAFETY_MODULES = safety/sx-plain.la safety/sx-hang.la safety/sx-crash.la safety/sx-print.la \
	safety/sx-crash-create.la safety/sx-reject.la
check_LTLIBRARIES += $(SAFETY_MODULES)
safety_sx_plain_la_SOURCES = safety/plugin.c
safety_sx_plain_la_CPPFLAGS = $(SAFETY_CPPFLAGS) -DSAFETY_NAME='"plain"'
safety_sx_plain_la_CFLAGS = $(SAFETY_CFLAGS)
safety_sx_plain_la_LDFLAGS = $(SAFETY_LDFLAGS)
safety_sx_hang_la_SOURCES = safety/plugin.c
safety_sx_hang_la_CPPFLAGS = $(SAFETY_CPPFLAGS) -DSAFETY_NAME='"hang"' -DSAFETY_HANG
safety_sx_hang_la_CFLAGS = $(SAFETY_CFLAGS)
safety_sx_hang_la_LDFLAGS = $(SAFETY_LDFLAGS)
safety_sx_crash_la_SOURCES = safety/plugin.c
safety_sx_crash_la_CPPFLAGS = $(SAFETY_CPPFLAGS) -DSAFETY_NAME='"crash"' -DSAFETY_CRASH
safety_sx_crash_la_CFLAGS = $(SAFETY_CFLAGS)
safety_sx_crash_la_LDFLAGS = $(SAFETY_LDFLAGS)
safety_sx_print_la_SOURCES = safety/plugin.c
safety_sx_print_la_CPPFLAGS = $(SAFETY_CPPFLAGS) -DSAFETY_NAME='"print"' -DSAFETY_PRINT
safety_sx_print_la_CFLAGS = $(SAFETY_CFLAGS)
safety_sx_print_la_LDFLAGS = $(SAFETY_LDFLAGS)
safety_sx_crash_create_la_SOURCES = safety/plugin.c
safety_sx_crash_create_la_CPPFLAGS = $(SAFETY_CPPFLAGS) -DSAFETY_NAME='"crash-create"' -DSAFETY_CRASH_CREATE
safety_sx_crash_create_la_CFLAGS = $(SAFETY_CFLAGS)
safety_sx_crash_create_la_LDFLAGS = $(SAFETY_LDFLAGS)
safety_sx_reject_la_SOURCES = safety/plugin.c
safety_sx_reject_la_CPPFLAGS = $(SAFETY_CPPFLAGS) -DSAFETY_NAME='"reject"' -DSAFETY_REJECT
safety_sx_reject_la_CFLAGS = $(SAFETY_CFLAGS)
safety_sx_reject_la_LDFLAGS = $(SAFETY_LDFLAGS)

# safety-plugins/csdk-NAME.so for every fault.
safety-plugins.stamp: $(SAFETY_MODULES)
	$(AM_V_GEN)set -e; rm -rf safety-plugins; $(MKDIR_P) safety-plugins; \
	for x in $(SAFETY_FAULTS); do cp safety/.libs/sx-$$x.so safety-plugins/csdk-$$x.so; done; \
	touch $@
check_DATA += safety-plugins.stamp
CLEANFILES += safety-plugins.stamp

check_PROGRAMS += test-safety
TESTS += test-safety safety/safety.test
test_safety_SOURCES = safety/test-safety.c
EXTRA_DIST += safety/safety.test
# The other suites compare traces and probe counts: no verdict cache for them
# (the safety suites set up their own, in a scratch XDG_CACHE_HOME).
AM_TESTS_ENVIRONMENT += \
	CSDK_PLUGIN_CACHE=0; export CSDK_PLUGIN_CACHE; \
	CSDK_TEST_SAFETY='$(abs_builddir)/safety-plugins'; export CSDK_TEST_SAFETY;
