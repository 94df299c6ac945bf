# libsiren and the siren CLI. `make` builds build/siren and build/libsiren.a;
# `make test` runs the whole suite and ends with "N passed, N failed";
# `make bench` runs the benchmark against PyTorch (not a test).
# `make SANITIZE=1` builds into build-asan/ with ASan+UBSan.

CC      ?= cc
PKGS    := openblas sleef stb libcjson
OPT     ?= -O2
BUILD   ?= build
ifeq ($(SANITIZE),1)
BUILD   := build-asan
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
endif
CFLAGS  := -std=c11 $(OPT) -g -Wall -Wextra -D_GNU_SOURCE -fopenmp \
           -Iinclude -Isrc $(shell pkg-config --cflags $(PKGS)) $(EXTRA_CFLAGS)
LDFLAGS := $(OPT) -fopenmp
LDLIBS  := $(shell pkg-config --libs $(PKGS)) -lm

# ISA-specific kernels are compiled for their ISA and only called after a
# run-time CPU check (src/kernels/dispatch.c).
AVX512  := -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma
AVX2    := -mavx2 -mfma

SRC      := $(sort $(wildcard src/*/*.c))
OBJ      := $(SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard cli/*.c)))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOLS    := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

.PHONY: all test bench clean
all: $(BUILD)/siren $(BUILD)/libsiren.a

$(BUILD)/libsiren.a: $(OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/siren: $(CLI_OBJ) $(BUILD)/libsiren.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libsiren.a $(LDLIBS)

$(BUILD)/obj/%_avx512.o: %_avx512.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(AVX512) -MMD -MP -c -o $@ $<

$(BUILD)/obj/%_avx2.o: %_avx2.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(AVX2) -MMD -MP -c -o $@ $<

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/%.c tests/testhelp.h $(BUILD)/libsiren.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libsiren.a $(LDLIBS)

# Small programs the Python and shell tests call.
$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libsiren.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libsiren.a $(LDLIBS)

test: all $(TESTS) $(TOOLS)
	@BUILD=$(BUILD) sh tests/run.sh

bench: all
	bench/run

clean:
	rm -rf build build-asan

-include $(OBJ:.o=.d) $(CLI_OBJ:.o=.d)
