# libsiren and the siren CLI. `make` builds build/siren and build/libsiren.a;
# `make test` runs the whole suite and ends with "N passed, N failed";
# `make bench` runs the benchmark against PyTorch (not a test).
# `make install PREFIX=... [DESTDIR=...]` / `make uninstall`, `make shared`
# (build/libsiren.so, for the Python module): see the install section.
# `make SANITIZE=1` builds into build-asan/ with ASan+UBSan.

CC      ?= cc
PKGS    := openblas sleef stb libcjson sndfile zlib
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
AVX512  := -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx512bf16 -mfma
AVX2    := -mavx2 -mfma

# MPI for the CLI only (libsiren never depends on it): with Open MPI found
# by pkg-config (Debian's libopenmpi-dev), cli/ is compiled with
# -DSIREN_WITH_MPI and linked with it, so `mpirun siren fit ...` trains one
# signal data-parallel or shares many signals among the ranks (cli/mpi.c).
# MPI=0 builds without it even when it is there; MPI=1 insists on it.
MPI     ?= auto
ifeq ($(MPI),auto)
MPI     := $(shell pkg-config --exists ompi 2>/dev/null && echo 1 || echo 0)
endif
ifeq ($(MPI),1)
MPI_CFLAGS := -DSIREN_WITH_MPI $(shell pkg-config --cflags ompi)
MPI_LIBS   := $(shell pkg-config --libs ompi)
endif
# Rebuild the CLI when the choice changes.
MPI_STAMP := $(BUILD)/obj/cli/mpi-$(MPI).stamp

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
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libsiren.a $(LDLIBS) $(MPI_LIBS)

$(CLI_OBJ): CFLAGS += $(MPI_CFLAGS)
$(CLI_OBJ): $(MPI_STAMP)
$(MPI_STAMP):
	@mkdir -p $(@D)
	rm -f $(BUILD)/obj/cli/mpi-*.stamp && touch $@

$(BUILD)/obj/%_avx512.o: %_avx512.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(AVX512) -MMD -MP -c -o $@ $<

$(BUILD)/obj/%_avx2.o: %_avx2.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(AVX2) -MMD -MP -c -o $@ $<

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/%.c tests/testhelp.h tests/netref.h $(BUILD)/libsiren.a
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

# ------------------------------------------------------------------ install
# `make install [PREFIX=/usr/local] [DESTDIR=]` installs the CLI, libsiren.a,
# the shared libsiren.so.$(VERSION) (soname libsiren.so.$(SOMAJOR), linked as
# libsiren.so), siren.h, the pkg-config file siren.pc and the man page;
# `make uninstall` with the same PREFIX/DESTDIR removes exactly those files.
# The shared library is built from its own -fPIC objects in $(BUILD)/pic/,
# so libsiren.a and the CLI are the same with or without it.
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR       ?= $(PREFIX)/share/man
INSTALL      ?= install
# Run after installing into the live system (no DESTDIR, as root) so the
# dynamic linker finds libsiren.so.$(SOMAJOR); LDCONFIG=: skips it.
LDCONFIG     ?= ldconfig
VERSION      := $(shell sed -n 's/.*define SIREN_VERSION "\(.*\)".*/\1/p' include/siren.h)
SOMAJOR      := $(word 1,$(subst ., ,$(VERSION)))
SONAME       := libsiren.so.$(SOMAJOR)
SHLIB        := $(BUILD)/libsiren.so.$(VERSION)
PIC_OBJ      := $(SRC:%.c=$(BUILD)/pic/%.o)
# Private dependencies for static linking (siren.pc's Requires.private):
# every package the library is built with (Debian's stb is a library too),
# except libsndfile: its own private list names codecs (mp3lame, ...) whose
# static archives Debian's -dev packages do not ship, so it is linked as a
# shared library by name (Libs.private).
PC_REQUIRES  := $(filter-out sndfile,$(PKGS))

.PHONY: shared install uninstall
shared: $(BUILD)/libsiren.so

$(SHLIB): $(PIC_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,-z,defs $(LDFLAGS) -o $@ $(PIC_OBJ) $(LDLIBS)

$(BUILD)/libsiren.so: $(SHLIB)
	ln -sf $(notdir $(SHLIB)) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(BUILD)/pic/%_avx512.o: %_avx512.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC $(AVX512) -MMD -MP -c -o $@ $<

$(BUILD)/pic/%_avx2.o: %_avx2.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC $(AVX2) -MMD -MP -c -o $@ $<

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -MMD -MP -c -o $@ $<

# The Python module's tests (tests/test_python.py) load the shared library.
test: $(BUILD)/libsiren.so

# siren.pc is written at install time: it records PREFIX, which may differ
# from one `make install` to the next without any file changing.
install: all $(BUILD)/libsiren.so
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 755 $(BUILD)/siren $(DESTDIR)$(BINDIR)/siren
	$(INSTALL) -m 644 $(BUILD)/libsiren.a $(DESTDIR)$(LIBDIR)/libsiren.a
	$(INSTALL) -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/libsiren.so.$(VERSION)
	ln -sf libsiren.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsiren.so
	$(INSTALL) -m 644 include/siren.h $(DESTDIR)$(INCLUDEDIR)/siren.h
	sed -e 's|@PREFIX@|$(PREFIX)|' \
	    -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@REQUIRES_PRIVATE@|$(PC_REQUIRES)|' \
	    -e 's|@LIBS_PRIVATE@|$(shell pkg-config --libs sndfile)|' \
	    siren.pc.in >$(BUILD)/siren.pc
	$(INSTALL) -m 644 $(BUILD)/siren.pc $(DESTDIR)$(PKGCONFIGDIR)/siren.pc
	$(INSTALL) -m 644 man/siren.1 $(DESTDIR)$(MANDIR)/man1/siren.1
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then $(LDCONFIG) || true; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/siren $(DESTDIR)$(LIBDIR)/libsiren.a \
	    $(DESTDIR)$(LIBDIR)/libsiren.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(LIBDIR)/libsiren.so $(DESTDIR)$(INCLUDEDIR)/siren.h \
	    $(DESTDIR)$(PKGCONFIGDIR)/siren.pc $(DESTDIR)$(MANDIR)/man1/siren.1
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then $(LDCONFIG) || true; fi

-include $(PIC_OBJ:.o=.d)

# --------------------------------------------------------------------- fuzz
# `make fuzz [FUZZ_SECONDS=60]` builds the libFuzzer targets fuzz/fuzz_*.c
# with clang, ASan and UBSan (the library, cli/common.c and stb_image
# compiled again into $(FUZZ_BUILD)/ with coverage), then runs each for
# FUZZ_SECONDS from fuzz/seeds/TARGET/ and tests/data/fuzz/TARGET/ with
# the dictionary fuzz/TARGET.dict; the corpus grows in
# $(FUZZ_BUILD)/corpus/TARGET/. A crash, leak, timeout or out-of-memory is
# saved in fuzz/crashes/TARGET/ and fails the make (`make -k fuzz` still
# runs the other targets; -j2 runs two at once). Needs Debian's clang and
# libclang-rt-14-dev (fuzz/README.md); `make test` needs neither: it
# replays tests/data/fuzz/ through the same targets built with $(CC).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   ?= build/fuzz
FUZZ_TARGETS := safetensors image cli_parse mesh idx
# Longest input per target: the seed models are under 10 KB, images a few
# KB; a command-line value is short.
FUZZ_MAXLEN_safetensors := 16384
FUZZ_MAXLEN_image       := 16384
FUZZ_MAXLEN_cli_parse   := 64
FUZZ_MAXLEN_mesh        := 16384
FUZZ_MAXLEN_idx         := 16384
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
                -Wno-pass-failed -D_GNU_SOURCE -fopenmp -Iinclude -Isrc -Icli -Ifuzz \
                $(shell pkg-config --cflags $(PKGS)) $(FUZZ_SAN)
FUZZ_LIB_OBJ := $(SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/cli/common.o \
                $(FUZZ_BUILD)/obj/fuzz/stb_image_impl.o
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-toolchain
fuzz: $(FUZZ_TARGETS:%=fuzz-run-%)
fuzz-build: $(FUZZ_BINS)

# One clear line instead of a compiler error when clang or libFuzzer is
# missing.
fuzz-toolchain:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { echo "make fuzz: $(FUZZ_CC) not found; as root: apt-get install -y clang libclang-rt-14-dev (fuzz/README.md)" >&2; exit 1; }
	@printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' | \
	    $(FUZZ_CC) -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null || { echo "make fuzz: $(FUZZ_CC) cannot link libFuzzer; as root: apt-get install -y libclang-rt-14-dev (fuzz/README.md)" >&2; exit 1; }

$(FUZZ_BUILD)/obj/%_avx512.o: %_avx512.c | fuzz-toolchain
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(AVX512) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/obj/%_avx2.o: %_avx2.c | fuzz-toolchain
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(AVX2) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/obj/%.o: %.c | fuzz-toolchain
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_EXTRA) -MMD -MP -c -o $@ $<

# Debian's stb_image has one known harmless UB (fuzz/ubsan.supp): that
# check alone is made recoverable there, so the suppression can apply.
$(FUZZ_BUILD)/obj/fuzz/stb_image_impl.o: FUZZ_EXTRA := -fsanitize-recover=shift-exponent

$(FUZZ_BUILD)/libsiren-fuzz.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FUZZ_BUILD)/libsiren-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_BUILD)/libsiren-fuzz.a $(LDLIBS)

# -timeout: an input that takes 10 s is a bug; -rss_limit_mb also caps any
# single allocation (libFuzzer's -malloc_limit_mb defaults to it).
fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* fuzz/crashes/$*
	@echo "fuzz: $* for $(FUZZ_SECONDS) s"
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=fuzz/ubsan.supp \
	$(FUZZ_BUILD)/fuzz_$* $(FUZZ_BUILD)/corpus/$* fuzz/seeds/$* \
	    $(wildcard tests/data/fuzz/$*) \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAXLEN_$*) \
	    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	    -dict=fuzz/$*.dict -artifact_prefix=fuzz/crashes/$*/

# The regression replay links the CLI's parsers too (the pattern rule for
# tests links libsiren.a only); it includes the fuzz targets' sources.
$(BUILD)/tests/test_fuzz_regressions: tests/test_fuzz_regressions.c tests/testhelp.h \
    $(wildcard fuzz/fuzz_*.c) fuzz/fuzz.h $(BUILD)/obj/cli/common.o $(BUILD)/libsiren.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Icli -Ifuzz $(LDFLAGS) -o $@ $< $(BUILD)/obj/cli/common.o \
	    $(BUILD)/libsiren.a $(LDLIBS)

-include $(FUZZ_LIB_OBJ:.o=.d)

# `make fuzz-seeds` rewrites the generated files in fuzz/seeds/ (committed)
# from fuzz/make_seeds.c and the test vectors; progressive.jpg is kept.
.PHONY: fuzz-seeds
fuzz-seeds: $(BUILD)/libsiren.a
	@mkdir -p $(BUILD)/tools
	$(CC) $(CFLAGS) $(LDFLAGS) -o $(BUILD)/tools/make_seeds fuzz/make_seeds.c \
	    $(BUILD)/libsiren.a $(LDLIBS)
	$(BUILD)/tools/make_seeds fuzz/seeds
	cp tests/data/testvectors/*.model.safetensors \
	    tests/data/testvectors/audio.expected.safetensors fuzz/seeds/safetensors/
