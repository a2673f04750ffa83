# The compute suite (several providers, routing, the configuration file):
# included from tests/Makefile.am inside its "if HAVE_CHECK" block.
#
# The flaky fixture is built under two names so that a suite can hold two
# providers that fail on demand; both are copied as csdk-NAME.so into
# compute-plugins/, which test-compute searches together with the local and
# example plugins of this build tree.

check_LTLIBRARIES += mod/fx-flaky.la mod/fx-flaky2.la

mod_fx_flaky_la_SOURCES = fixtures/flaky.c
mod_fx_flaky_la_CPPFLAGS = $(FIXTURE_CPPFLAGS) -DFLAKY_NAME='"flaky"'
mod_fx_flaky_la_CFLAGS = $(FIXTURE_CFLAGS) $(PTHREAD_CFLAGS)
mod_fx_flaky_la_LDFLAGS = $(FIXTURE_LDFLAGS)

mod_fx_flaky2_la_SOURCES = fixtures/flaky.c
mod_fx_flaky2_la_CPPFLAGS = $(FIXTURE_CPPFLAGS) -DFLAKY_NAME='"flaky2"'
mod_fx_flaky2_la_CFLAGS = $(FIXTURE_CFLAGS) $(PTHREAD_CFLAGS)
mod_fx_flaky2_la_LDFLAGS = $(FIXTURE_LDFLAGS)

compute-plugins.stamp: mod/fx-flaky.la mod/fx-flaky2.la
	$(AM_V_GEN)set -e; rm -rf compute-plugins; $(MKDIR_P) compute-plugins; \
	cp mod/.libs/fx-flaky.so compute-plugins/csdk-flaky.so; \
	cp mod/.libs/fx-flaky2.so compute-plugins/csdk-flaky2.so; \
	touch $@

check_DATA += compute-plugins.stamp
CLEANFILES += compute-plugins.stamp compute-plugins/csdk-flaky.so compute-plugins/csdk-flaky2.so

TESTS += test-compute
check_PROGRAMS += test-compute
test_compute_SOURCES = test-compute.c helpers.c helpers.h
test_compute_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
test_compute_LDADD = $(LDADD) $(PTHREAD_LIBS)

AM_TESTS_ENVIRONMENT += \
	CSDK_TEST_COMPUTE_PATH='$(abs_builddir)/compute-plugins:$(abs_top_builddir)/plugins/local/.libs:$(abs_top_builddir)/plugins/example/.libs'; \
	export CSDK_TEST_COMPUTE_PATH;
