# gatecheck: gwhook (admission webhook + offline validator) and gwconform.
# GNU make. Release objects go to build/obj/, sanitized test objects to
# build/san/; every test binary is built with ASan and UBSan.

VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CC       ?= cc
CFLAGS   ?= -O2 -g
CPPFLAGS += -Iinclude -D_GNU_SOURCE -DGATECHECK_VERSION='"$(VERSION)"' -MMD -MP
WARN      = -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wwrite-strings -Wvla \
            -Wconversion -Wno-sign-conversion
WERROR   ?= -Werror
SAN       = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDLIBS    = -lmicrohttpd -lgnutls -lcurl -lssl -lcrypto -lyaml -lcjson -lpcre2-8 -lm -pthread

LIB_SRC     = $(sort $(wildcard lib/*.c))
WEBHOOK_SRC = $(sort $(filter-out webhook/main.c,$(wildcard webhook/*.c)))
CONF_SRC    = $(sort $(filter-out conformance/main.c,$(wildcard conformance/*.c)))
CORE_SRC    = $(LIB_SRC) $(WEBHOOK_SRC)
# Test fixtures (issue 6): the fixture gateway and the node agent, built on lib/.
FIXGW_SRC   = $(sort $(filter-out tests/fixtures/gateway/main.c,$(wildcard tests/fixtures/gateway/*.c)))
AGENT_SRC   = $(sort $(filter-out tests/fixtures/nodeagent/main.c,$(wildcard tests/fixtures/nodeagent/*.c)))
FIXTURE_SRC = $(FIXGW_SRC) $(AGENT_SRC)
# the sanitized archive the tests link: everything but the main()s
TESTLIB_SRC = $(CORE_SRC) $(CONF_SRC) $(FIXTURE_SRC)
TEST_SRC    = $(sort $(wildcard tests/*/test_*.c))
TEST_BINS   = $(patsubst tests/%.c,build/san/tests/%,$(TEST_SRC))
# Integration tests through a real kube-apiserver (tools/cluster-tests.sh).
IT_SRC      = $(sort $(wildcard tests/cluster/it_*.c))
IT_BINS     = $(patsubst tests/%.c,build/san/tests/%,$(IT_SRC))

# Quiet by default; V=1 shows the commands.
Q = $(if $(V),,@)
obj     = $(patsubst %.c,build/obj/%.o,$(1))
san_obj = $(patsubst %.c,build/san/%.o,$(1))

.PHONY: all deps test check lint format format-check clean demo bench bench-validate \
        valgrind coverage cluster-up cluster-down cluster-status

all: build/.deps-ok build/gwhook build/gwconform

# The fixtures include their own headers.
build/obj/tests/fixtures/%.o build/san/tests/fixtures/%.o: \
    CPPFLAGS += -Itests/fixtures/gateway -Itests/fixtures/nodeagent

# Install missing Debian packages; the build calls it when a package is missing.
deps:
	@tools/deps.sh

build/.deps-ok: tools/deps.sh
	@tools/deps.sh --check 2>/dev/null || tools/deps.sh
	@mkdir -p build && touch $@

build/obj/%.o: %.c | build/.deps-ok
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(WERROR) $(CFLAGS) -c -o $@ $<

build/san/%.o: %.c | build/.deps-ok
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC+SAN  $<")
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(WERROR) -O1 -g $(SAN) -c -o $@ $<

build/gwhook: $(call obj,webhook/main.c $(CORE_SRC))
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/gwconform: $(call obj,conformance/main.c $(LIB_SRC) $(CONF_SRC))
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/fixture-gateway: $(call obj,tests/fixtures/gateway/main.c $(FIXGW_SRC) $(LIB_SRC))
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/nodeagent: $(call obj,tests/fixtures/nodeagent/main.c $(AGENT_SRC) $(LIB_SRC))
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

fixtures: build/fixture-gateway build/nodeagent
.PHONY: fixtures

build/san/libcore.a: $(call san_obj,$(TESTLIB_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^

build/san/gwhook: $(call san_obj,webhook/main.c) build/san/libcore.a
	$(Q)$(CC) -g $(SAN) -o $@ $^ $(LDLIBS)

build/san/gwconform: $(call san_obj,conformance/main.c) build/san/libcore.a
	$(Q)$(CC) -g $(SAN) -o $@ $^ $(LDLIBS)

build/san/tests/%: build/san/tests/%.o build/san/libcore.a
	$(Q)$(CC) -g $(SAN) -o $@ $^ $(LDLIBS)

# Every unit test under ASan+UBSan, then the CLI suite, then the spec-row
# coverage report. The last line is the overall "N passed, N failed".
test check: build/.deps-ok $(TEST_BINS) $(IT_BINS) build/san/gwhook build/gwhook \
            build/san/gwconform build/gwconform build/fixture-gateway build/nodeagent
	@tools/run-tests.sh $(TEST_BINS)

# valgrind memcheck (issue 9; docs/RELIABILITY.md): gwhook validate over the
# whole corpus, then every unit test built without sanitizers (build/vg/),
# each under memcheck: no error, no leak.
VG_TESTS = $(patsubst tests/%.c,build/vg/tests/%,$(TEST_SRC))
build/obj/libcore.a: $(call obj,$(TESTLIB_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^
build/vg/tests/%: build/obj/tests/%.o build/obj/libcore.a
	@mkdir -p $(@D)
	$(Q)$(CC) -g -o $@ $^ $(LDLIBS)
valgrind: build/gwhook valgrind-unit
	tools/valgrind-corpus.sh
# the binaries some unit tests start (test_serve runs build/san/gwhook)
valgrind-unit: $(VG_TESTS) build/san/gwhook build/gwhook build/san/gwconform build/gwconform \
               build/fixture-gateway build/nodeagent
	@tools/valgrind-unit.sh $(VG_TESTS)
.PHONY: valgrind-unit

# gcc's static analyzer (-fanalyzer) over every source, warnings as errors
# (issue 9): clean, or a finding is justified where it is. One stamp per
# source, so a warm run only looks at what changed.
ANALYZE_SRC = $(sort $(LIB_SRC) $(wildcard webhook/*.c conformance/*.c tests/fixtures/*/*.c))
ANALYZE_OK  = $(patsubst %.c,build/analyze/%.ok,$(ANALYZE_SRC))
build/analyze/%.ok: %.c | build/.deps-ok
	@mkdir -p $(@D)
	@$(if $(Q),echo "  ANALYZE $<")
	$(Q)$(CC) -Iinclude -Itests/fixtures/gateway -Itests/fixtures/nodeagent -D_GNU_SOURCE \
	  -DGATECHECK_VERSION='"$(VERSION)"' -std=c11 -O0 -fanalyzer -Werror \
	  -MMD -MP -MF $(@:.ok=.d) -MT $@ -c -o $(@:.ok=.o) $< && rm -f $(@:.ok=.o) && touch $@
analyze: $(ANALYZE_OK)
	@echo "analyze: $(words $(ANALYZE_OK)) sources, gcc -fanalyzer clean"
.PHONY: analyze

# libFuzzer targets under ASan+UBSan (tests/fuzz/, docs/RELIABILITY.md), built
# with clang in build/fuzz/, each run for FUZZ_SECONDS, two at a time; the last
# line is "fuzz: targets=6 seconds=60 crashes=0 execs=N". A reproducer lands in
# build/fuzz/crashes/; tools/fuzz.sh --minimize turns it into a regression input.
FUZZ_SECONDS ?= 60
fuzz: build/.deps-ok
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh
.PHONY: fuzz

# The soak (issue 9; tools/soak.sh, docs/RELIABILITY.md): gwhook serve for
# SOAK_SECONDS at 50% of the capacity measured first, its certificate rotated
# every 30 s as the kubelet updates a Secret volume; RSS, fds and latency
# watched. The last line is "soak: requests=N failed=F rss_growth_pct=G".
# tests/cli/soak.sh runs a 60-second version in make test.
SOAK_SECONDS ?= 600
soak: build/gwhook
	@SOAK_SECONDS=$(SOAK_SECONDS) tools/soak.sh
.PHONY: soak

build/bench_validate: $(call obj,tests/bench/bench_validate.c $(CORE_SRC))
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

bench-validate: build/bench_validate
	@tools/bench-validate.sh

build/bench_xcheck: $(call obj,tests/bench/bench_xcheck.c $(CORE_SRC))
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Validations per core, the cost of the cross-object checks and of the watch
# cache (tests/bench/bench_xcheck.c), then the served webhook against the upstream Go
# webhook and nginx over TLS (tools/bench-serve.sh; docs/BENCHMARKS.md).
bench: build/gwhook build/bench_validate build/bench_xcheck
	@tools/bench-validate.sh
	@build/bench_xcheck
	@tools/bench-serve.sh

# The whole story on the local control plane (tools/demo.sh): cluster up, a
# bad route denied by gwhook, gwconform against the fixture gateway, reports
# in build/demo/, cluster down (also on Ctrl-C).
demo: all build/fixture-gateway build/nodeagent
	@tools/demo.sh

# The local control plane (tools/cluster.sh; docs/CLUSTER.md): etcd and
# kube-apiserver built from Go modules, the Gateway API CRDs from the module
# cache, gwhook registered as the webhook. GATEWAY_API_CHANNEL=experimental,
# GATEWAY_API_VERSION=v1.2.1, WEBHOOK=0 and CLUSTER_DIR change what comes up.
cluster-up: build/gwhook build/nodeagent build/fixture-gateway
	@tools/cluster.sh up
cluster-down:
	@tools/cluster.sh down
cluster-status:
	@tools/cluster.sh status

LINT_SRC = $(filter-out webhook/schema_gen.c,$(CORE_SRC)) webhook/main.c $(CONF_SRC) conformance/main.c \
           $(wildcard tests/fixtures/*/*.c)
lint: build/.deps-ok
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	  --std=c11 -Iinclude -Itests/fixtures/gateway -Itests/fixtures/nodeagent --suppress=missingIncludeSystem --inline-suppr $(LINT_SRC)
	clang-tidy --quiet $(LINT_SRC) -- -Iinclude -Itests/fixtures/gateway -Itests/fixtures/nodeagent -std=c11 -D_GNU_SOURCE -DGATECHECK_VERSION='"$(VERSION)"'
	clang-format --dry-run --Werror $(FORMATTED)
	tools/banned.sh

FORMATTED = $(filter-out webhook/schema_gen.c,$(wildcard include/*.h lib/*.h lib/*.c webhook/*.c conformance/*.c conformance/*.h tests/*.h tests/*/*.c tests/fixtures/*/*.[ch]))
format:
	clang-format -i $(FORMATTED)
format-check:
	clang-format --dry-run --Werror $(FORMATTED)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

# Regenerate the schema tables from the spec (needs ../shared/spec).
SPEC ?= ../shared/spec/validation.md
schema:
	tools/gen-schema.py --bundle=tools/bundle-v1.6.txt --bundle=tools/bundle-v1.2.txt $(SPEC) > webhook/schema_gen.c.tmp && mv webhook/schema_gen.c.tmp webhook/schema_gen.c
	tools/gen-schema.py --rows $(SPEC) > tools/spec-rows.txt
.PHONY: schema
.SECONDARY:

# Differential test against the Kubernetes 1.37 API server's own validation
# code over the gateway-api v1.6.1 CRDs (tests/oracle/README.md). Not part of
# `make test`: it needs Go >= 1.26 and the Go module proxy (or a filled module
# cache). The oracle binary is cached outside the repository, keyed by its
# sources. ORACLE_FLAGS: e.g. -v (list every object), -k 200 (runs per object).
ORACLE_GO  = GOFLAGS=-mod=mod GOTOOLCHAIN=local go
ORACLE_DIR = $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/gatecheck
oracle: build/gwhook build/san/tests/webhook/test_cases
	@command -v go >/dev/null 2>&1 || { \
	  echo "make oracle: 'go' not found. Install Go >= 1.26 (tests/oracle/go.mod; Debian's golang-go" >&2; \
	  echo "  package must be at least that version) or put the machine's Go on PATH (e.g. /usr/local/go/bin)." >&2; \
	  exit 2; }
	@hash=$$(cd tests/oracle && cat go.mod go.sum $$(LC_ALL=C ls ./*.go) | sha256sum | cut -c1-16) && \
	bin="$(ORACLE_DIR)/oracle-$$hash/oracle" && \
	if [ ! -x "$$bin" ]; then \
	  echo "  GO      $$bin"; mkdir -p "$${bin%/*}" && \
	  (cd tests/oracle && $(ORACLE_GO) build -o "$$bin.tmp" .) && mv "$$bin.tmp" "$$bin" || exit 1; \
	fi && \
	crds=$$(cd tests/oracle && $(ORACLE_GO) mod download sigs.k8s.io/gateway-api && \
	        $(ORACLE_GO) list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api) && \
	"$$bin" -repo . -crds "$$crds" $(ORACLE_FLAGS)
.PHONY: oracle
