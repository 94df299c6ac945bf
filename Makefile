# libsiren and the siren CLI. `make` builds build/siren and build/libsiren.a;
# `make test` runs the whole suite and ends with "N passed, N failed";
# `make bench` runs the benchmark against PyTorch (not a test).
# `make install PREFIX=... [DESTDIR=...]` / `make uninstall`, `make shared`
# (build/libsiren.so, for the Python module): see the install section.
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
# every package the library is built with (Debian's stb is a library too).
PC_REQUIRES  := $(PKGS)

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
