# `csdk bench`: included from tools/Makefile.am after csdk/local.mk (paths
# relative to tools/). Its sources are part of the csdk program.
csdk_csdk_SOURCES += \
	bench/bench.h \
	bench/cmd_bench.c \
	bench/tti.c \
	bench/percmd.c \
	bench/runner.c \
	bench/targets.c \
	bench/baselines.c \
	bench/netiso.c \
	bench/stats.c \
	bench/progress.c \
	bench/json.c \
	bench/svg.c \
	bench/micro.c \
	bench/micro_plugins.c \
	bench/micro_local.c \
	bench/noop.c

# The no-op plugin of `csdk bench micro`, built and installed with csdk (not
# in a plugin directory: the benchmark copies it under names of its own).
benchlibdir = $(pkglibdir)/bench
benchlib_LTLIBRARIES = bench/noop-template.la
bench_noop_template_la_SOURCES = bench/noop-plugin.c
bench_noop_template_la_CPPFLAGS = -I$(top_srcdir)/plugin-api
bench_noop_template_la_CFLAGS = -O2 -fvisibility=hidden $(WARN_CFLAGS)
bench_noop_template_la_LDFLAGS = -module -avoid-version -shared -no-undefined -export-symbols-regex '^csdk_plugin_entry$$'

csdk_csdk_CPPFLAGS += -DTOOL_BENCH_LIBDIR='"$(benchlibdir)"'
csdk_csdk_LDADD += $(DL_LIBS) -lm

dist_man_MANS += bench/csdk-bench.1

TESTS += bench/tests/bench.sh
EXTRA_DIST += bench/tests/bench.sh
# the in-process interpreter just-bash, measured like a provider (BENCHMARKS.md)
EXTRA_DIST += bench/just-bash.mjs
