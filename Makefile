# ferry - userspace VPN and overlay network on TUN/TAP.
#
#   make            build build/ferry
#   make test       install missing packages, build, run every test (plain and ASan/UBSan)
#   make demo       install missing packages, build, run the demonstration (an
#                   encrypted tunnel between two network namespaces)
#   make demo-overlay  the same for overlay mode: etcd, three hosts, containers via CNI
#   make bench      compare ferry with veth, VXLAN, wireguard-go and OpenVPN
#   make bench-scale  how costs grow with 1 to 100,000 peers and 1M prefixes
#   make asan       build everything with AddressSanitizer + UBSan into build/asan
#   make unit-unprivileged  run every unit test as nobody (none may need root)
#   make install    install ferry (PREFIX, DESTDIR, BINDIR, MANDIR)
#   make deps       install the Debian packages ferry needs (as root)
#   V=1             show full compiler command lines

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
# Where the CNI plugin "ferry" goes (Debian's bridge and host-local live here).
CNIDIR ?= /usr/lib/cni
PKG_CONFIG ?= pkg-config

BUILD ?= build
CC ?= cc
CFLAGS ?= -O2 -g
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

FERRY_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes -fno-strict-aliasing \
	-MMD -MP -Isrc -DFERRY_VERSION='"$(VERSION)"' $(shell $(PKG_CONFIG) --cflags $(LIBS))
LIBS = libmnl libcrypto libsodium liblz4 libseccomp libcurl jansson
FERRY_LDLIBS = $(shell $(PKG_CONFIG) --libs $(LIBS)) -lpthread
TEST_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka)
TEST_LDLIBS = $(shell $(PKG_CONFIG) --libs cmocka)

FERRY_CFLAGS += $(EXTRA_CFLAGS)

ifeq ($(SANITIZE),1)
FERRY_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_LDFLAGS = -fsanitize=address,undefined
endif

# Fuzz builds: clang, the library instrumented for coverage, each target
# linked with libFuzzer's main.
ifeq ($(FUZZ),1)
FERRY_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
FUZZ_SECONDS ?= 10

ifeq ($(V),1)
Q =
quiet = @:
else
Q = @
quiet = @echo
endif

LIB_SRCS := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/tools/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)

.PHONY: bench bench-scale demo-gateway demo-overlay all ferry unit unit-unprivileged tools asan test-timers fuzz fuzzers fuzz-run test demo deps install uninstall clean format check-clang

all: $(BUILD)/ferry $(TOOL_BINS) $(BENCH_BINS)

ferry: $(BUILD)/ferry

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS) $(FERRY_CFLAGS) -c -o $@ $<

$(BUILD)/libferry.a: $(LIB_OBJS)
	$(quiet) "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# main.c prints the version: rebuild it whenever `git describe` changes
# (the stamp is rewritten only then).
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' >$@
$(BUILD)/obj/main.o: $(BUILD)/version.stamp
.PHONY: FORCE
FORCE:

$(BUILD)/ferry: $(BUILD)/obj/main.o $(BUILD)/libferry.a
	$(quiet) "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(SAN_LDFLAGS) $(LDFLAGS) -o $@ $^ $(FERRY_LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libferry.a
	@mkdir -p $(@D)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS) $(FERRY_CFLAGS) $(TEST_CFLAGS) $(SAN_LDFLAGS) $(LDFLAGS) -o $@ $< \
		$(BUILD)/libferry.a $(FERRY_LDLIBS) $(TEST_LDLIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/libferry.a
	@mkdir -p $(@D)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS) $(FERRY_CFLAGS) $(SAN_LDFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libferry.a $(FERRY_LDLIBS)

$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(BUILD)/libferry.a
	@mkdir -p $(@D)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS) $(FERRY_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(BUILD)/libferry.a $(FERRY_LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libferry.a
	@mkdir -p $(@D)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS) $(FERRY_CFLAGS) $(SAN_LDFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libferry.a $(FERRY_LDLIBS)

unit: $(UNIT_BINS)

# The unit tests need no privileges (the integration tests do): this runs
# each as nobody when started as root. `make test` runs them as it is.
unit-unprivileged: unit
	$(Q)tests/unit/run-unprivileged.sh $(UNIT_BINS)
tools: $(TOOL_BINS)
fuzzers: $(FUZZ_BINS)

# libFuzzer targets for every parser of untrusted input (build/fuzz/tests/fuzz/).
fuzz:
	$(Q)$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang FUZZ=1 fuzzers

# Run each fuzz target (or those in FUZZ_TARGETS) for FUZZ_SECONDS from its
# seed corpus (tests/fuzz/corpus/NAME).
fuzz-run: fuzz
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 all unit

# A test-only ferry whose time-based protocol timers are seconds, not minutes,
# so that a test can watch rekeying happen (see messages.h).
test-timers:
	$(Q)$(MAKE) --no-print-directory BUILD=build/test-timers EXTRA_CFLAGS=-DFERRY_TEST_TIMERS build/test-timers/ferry

deps:
	$(Q)scripts/deps.sh

# test and demo first install what is missing, then build in a fresh make so
# that pkg-config sees the newly installed libraries.
test: deps
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)$(MAKE) --no-print-directory asan
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)$(MAKE) --no-print-directory test-timers
	$(Q)tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

# The TUN/TAP gateway to userspace, shown packet by packet.
demo-gateway: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo-gateway.sh

# Overlay mode: a real etcd, three hosts, two containers each via CNI.
demo-overlay: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo-overlay.sh

# The comparison with raw veth, kernel VXLAN, wireguard-go and OpenVPN
# (bench/README.md); results in bench/results/.
bench:
	$(Q)scripts/deps.sh bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/run.sh

# How costs grow with the number of peers and prefixes (docs/PERFORMANCE.md
# "How cost grows"); each part under the machine's benchmark lock. Not part
# of make test: about 40 minutes.
bench-scale:
	$(Q)scripts/deps.sh bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/scale.sh

install: $(BUILD)/ferry
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/ferry $(DESTDIR)$(BINDIR)/ferry
	install -m 0644 docs/ferry.8 $(DESTDIR)$(MANDIR)/man8/ferry.8
	install -d $(DESTDIR)$(CNIDIR)
	ln -sf $(BINDIR)/ferry $(DESTDIR)$(CNIDIR)/ferry

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ferry $(DESTDIR)$(MANDIR)/man8/ferry.8 $(DESTDIR)$(CNIDIR)/ferry

# Compile everything with clang as well: both compilers must stay warning-free.
check-clang:
	$(Q)$(MAKE) --no-print-directory BUILD=build/clang CC=clang all unit

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c tests/tools/*.c

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
