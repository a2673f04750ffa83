# `csdk bench`: included from tools/Makefile.am after csdk/local.mk (paths
# relative to tools/). Its sources are part of the csdk program.
csdk_csdk_SOURCES += \
	bench/bench.h \
	bench/cmd_bench.c \
	bench/tti.c \
	bench/runner.c \
	bench/targets.c \
	bench/baselines.c \
	bench/stats.c \
	bench/progress.c \
	bench/json.c \
	bench/svg.c \
	bench/micro.c \
	bench/micro_plugins.c \
	bench/micro_local.c \
	bench/noop.c

# The no-op plugin is compiled by `csdk bench micro` at run time (an installed
# csdk has no build tree), so its source is installed beside the program's data.
benchdatadir = $(pkgdatadir)/bench
dist_benchdata_DATA = bench/noop-plugin.c

csdk_csdk_CPPFLAGS += \
	-DCSDKP_BENCH_SRCDIR='"$(abs_srcdir)/bench"' \
	-DCSDKP_BENCH_DATADIR='"$(benchdatadir)"' \
	-DCSDKP_BENCH_PLUGIN_INCLUDE_BUILD='"$(abs_top_srcdir)/plugin-api"' \
	-DCSDKP_BENCH_PLUGIN_INCLUDE='"$(includedir)"'
csdk_csdk_LDADD += $(DL_LIBS) -lm

dist_man_MANS += bench/csdk-bench.1

TESTS += bench/tests/bench.sh
EXTRA_DIST += bench/tests/bench.sh
