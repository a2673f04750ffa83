# Tests of csdk serve (included from tools/Makefile.am; paths relative to tools/).
# Each SERVE test runs over one provider in gateway mode: NAME-PROVIDER.test
# sources NAME.sh with SERVE_PROVIDER set (lib.sh sets the provider up).
SERVE_TESTS = serve/tests/sdk-kitagent.test serve/tests/load-kitagent.test serve/tests/kit-e2b-kitagent.test \
	serve/tests/sdk-local.test serve/tests/load-local.test serve/tests/kit-e2b-local.test \
	serve/tests/sdk-docker.test serve/tests/load-docker.test serve/tests/kit-e2b-docker.test \
	serve/tests/early-kitagent.test serve/tests/pool-local.test
if BUILD_AGENT
TESTS += $(SERVE_TESTS)
endif
EXTRA_DIST += serve/tests/lib.sh serve/tests/sdk.sh serve/tests/load.sh serve/tests/kit-e2b.sh \
	serve/tests/early.sh serve/tests/early-check.py \
	serve/tests/sdk-check.mjs serve/tests/load-check.mjs serve/tests/bench-tti.mjs \
	$(SERVE_TESTS)
# The whole serve log a failed test keeps (lib.sh).
clean-local: clean-serve-logs
clean-serve-logs:
	rm -f serve/tests/*.serve-log
.PHONY: clean-serve-logs
