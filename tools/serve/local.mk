# Tests of csdk serve (included from tools/Makefile.am; paths relative to tools/).
# Each SERVE test runs over one provider in gateway mode: NAME-PROVIDER.test
# sources NAME.sh with SERVE_PROVIDER set, so a provider is added by listing it.
SERVE_TEST_PROVIDERS = kitagent
if BUILD_AGENT
TESTS += serve/tests/sdk-kitagent.test serve/tests/load-kitagent.test serve/tests/kit-e2b-kitagent.test
endif
EXTRA_DIST += serve/tests/lib.sh serve/tests/sdk.sh serve/tests/load.sh serve/tests/kit-e2b.sh \
	serve/tests/sdk-check.mjs serve/tests/load-check.mjs serve/tests/bench-tti.mjs \
	serve/tests/sdk-kitagent.test serve/tests/load-kitagent.test serve/tests/kit-e2b-kitagent.test
