# The libFuzzer build (issue 9; docs/RELIABILITY.md), run by tools/fuzz.sh:
#   make -f tests/fuzz/fuzz.mk -j2
# Every source but the main()s is compiled once with clang, coverage
# instrumentation, ASan and UBSan into build/fuzz/obj/ (incrementally: -MMD
# dependencies), archived into build/fuzz/libcore.a, and each target
# tests/fuzz/fuzz_<name>.c is linked against it with libFuzzer's main().
# No -Werror: clang may warn where the release build (gcc) does not.

FUZZ_CC      ?= clang
FUZZ_DIR     ?= build/fuzz
FUZZ_TARGETS  = review yaml kubeconfig scenario compare defaults

FUZZ_CPPFLAGS = -Iinclude -D_GNU_SOURCE -DGATECHECK_VERSION='"fuzz"' -MMD -MP
FUZZ_CFLAGS   = -std=c11 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all \
                -fsanitize=fuzzer-no-link,address,undefined
FUZZ_LDFLAGS  = -fsanitize=fuzzer,address,undefined
LDLIBS        = -lmicrohttpd -lgnutls -lcurl -lssl -lcrypto -lyaml -lcjson -lpcre2-8 -lm -pthread

CORE_SRC = $(sort $(wildcard lib/*.c) \
                  $(filter-out webhook/main.c,$(wildcard webhook/*.c)) \
                  $(filter-out conformance/main.c,$(wildcard conformance/*.c)))
CORE_OBJ = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(CORE_SRC))
COMMON_OBJ = $(FUZZ_DIR)/obj/tests/fuzz/common.o
BINS     = $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))

Q = $(if $(V),,@)

.PHONY: all
all: $(BINS)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC+FUZZ $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/libcore.a: $(CORE_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(COMMON_OBJ) $(FUZZ_DIR)/libcore.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^ $(LDLIBS)

.SECONDARY:
.DELETE_ON_ERROR:

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
