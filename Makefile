# shmpipe: `make` builds every binary into build/; `make help` lists the targets.
CC ?= gcc
BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
SANITIZE ?=
# HOOK_STATIC=0 links shmpipe-hook dynamically (sanitizer builds always do).
HOOK_STATIC ?= 1
# The release is the file VERSION; the commit is found at build time
# (install/commit.sh; `make SHMPIPE_COMMIT=...` overrides it).
SHMPIPE_VERSION := $(shell cat VERSION)
MANDIR ?= $(PREFIX)/share/man

PKGS := yajl libcap libseccomp
# lib/ in layers, each calling only the ones before it: base (utilities),
# policy (options, config, admission), store, engines (OCI, CRI, Docker, CDI).
LIB_DIRS := lib/base lib/policy lib/store lib/engines
CPPFLAGS += -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 $(addprefix -I,$(LIB_DIRS))
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wformat=2 -Wshadow -fstack-protector-strong -fPIE \
          -fno-strict-aliasing $(shell pkg-config --cflags $(PKGS))
LDFLAGS += -pie -Wl,-z,relro,-z,now
LDLIBS := $(shell pkg-config --libs $(PKGS))
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cli/*.c))
HOOK_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard hook/*.c))
PLUGIN_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard plugin/*.c))
RUNTIME_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard runtime/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

BINS := $(BUILD)/shmpipectl
ifneq ($(HOOK_OBJ),)
BINS += $(BUILD)/shmpipe-hook
endif
ifneq ($(PLUGIN_OBJ),)
BINS += $(BUILD)/shmpipe-plugin
endif
ifneq ($(RUNTIME_OBJ),)
BINS += $(BUILD)/shmpipe-runtime
endif

# Helpers the integration tests run: a dynamically linked hook for valgrind
# (memcheck cannot replace malloc in a static binary), and a wrapper that
# makes chosen syscalls fail with ENOSYS.
TEST_HELPERS := $(BUILD)/shmtool $(BUILD)/tests/seccomp-enosys
ifneq ($(HOOK_OBJ),)
TEST_HELPERS += $(BUILD)/tests/shmpipe-hook-dynamic
endif

# Man pages, from scdoc sources in man/ (NAME.SECTION.scd).
MAN_SRC := $(wildcard man/*.scd)
MAN_PAGES := $(MAN_SRC:man/%.scd=$(BUILD)/man/%)

.PHONY: all help demo test unit integration asan valgrind install deps bench fuzz clean format man deb FORCE

all: $(BINS) $(TEST_HELPERS) $(MAN_PAGES)

help:
	@echo "make              build shmpipectl, shmpipe-hook, shmpipe-plugin into $(BUILD)/"
	@echo "make demo         two containers (runc + the hook) share frames through a pipeline"
	@echo "make deps         install every Debian package the build and the tests need"
	@echo "make test         unit tests, then integration tests against real engines (root)"
	@echo "make unit         cmocka unit tests only"
	@echo "make integration  integration tests only"
	@echo "make asan         the tests with binaries built with ASan+UBSan"
	@echo "make valgrind     the CLI tests and the hook's runc joins under valgrind memcheck"
	@echo "make fuzz         libFuzzer targets, FUZZ_SECONDS each (default 60)"
	@echo "make bench        benchmarks; prints a Markdown table"
	@echo "make install      PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)"
	@echo "make man          the man pages (scdoc) into $(BUILD)/man/"
	@echo "make deb          the Debian package (dpkg-buildpackage -us -uc -b) into build/deb/"

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# Rewritten only when the release or the commit changed, so that a new
# commit relinks every binary and an unchanged tree rebuilds nothing.
$(BUILD)/gen/version.h: FORCE
	@mkdir -p $(dir $@)
	@printf '#define SHMPIPE_VERSION "%s"\n#define SHMPIPE_COMMIT "%s"\n' \
	  "$(SHMPIPE_VERSION)" "$$(SHMPIPE_COMMIT='$(SHMPIPE_COMMIT)' ./install/commit.sh)" >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

$(BUILD)/obj/lib/base/version.o: $(BUILD)/gen/version.h
$(BUILD)/obj/lib/base/version.o: CPPFLAGS += -include $(BUILD)/gen/version.h

$(BUILD)/libshmpipe.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/shmpipectl: $(CLI_OBJ) $(BUILD)/libshmpipe.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs libmicrohttpd)

# The hook is exec'd twice per container start: linked static, it starts
# about a millisecond sooner and peaks at half the memory.  Sanitizer builds
# cannot link static.
ifeq ($(SANITIZE)$(HOOK_STATIC),1)
HOOK_LDFLAGS := -static-pie -Wl,-z,relro,-z,now
HOOK_LDLIBS := -l:libyajl_s.a -l:libcap.a
else
HOOK_LDFLAGS := $(LDFLAGS)
HOOK_LDLIBS := $(LDLIBS)
endif

# The hook's seccomp filter, built once here by libseccomp (with the hook's
# flags: a sanitizer build allows what its runtime calls) rather than at
# every start; hook/harden.c loads it.
$(BUILD)/tools/hook-seccomp-filter: hook/gen/seccomp_filter.c $(BUILD)/libshmpipe.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/gen/hook_seccomp_filter.h: $(BUILD)/tools/hook-seccomp-filter
	@mkdir -p $(dir $@)
	$< $@

$(BUILD)/obj/hook/harden.o: $(BUILD)/gen/hook_seccomp_filter.h
$(BUILD)/obj/hook/harden.o: CPPFLAGS += -I$(BUILD)/gen

$(BUILD)/shmpipe-hook: $(HOOK_OBJ) $(BUILD)/libshmpipe.a
	$(CC) $(HOOK_LDFLAGS) -o $@ $^ $(HOOK_LDLIBS)

$(BUILD)/tests/shmpipe-hook-dynamic: $(HOOK_OBJ) $(BUILD)/libshmpipe.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/seccomp-enosys: tests/helpers/seccomp-enosys.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -O2 -Wall -Wextra -Werror -o $@ $< $(shell pkg-config --cflags --libs libseccomp)

$(BUILD)/shmpipe-plugin: $(PLUGIN_OBJ) $(BUILD)/libshmpipe.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs libmicrohttpd)

$(BUILD)/shmpipe-runtime: $(RUNTIME_OBJ) $(BUILD)/libshmpipe.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/plugin/%.o: CFLAGS += $(shell pkg-config --cflags libmicrohttpd)
$(BUILD)/obj/cli/metrics.o: CFLAGS += $(shell pkg-config --cflags libmicrohttpd)

# Static, so that it runs inside a busybox image.
$(BUILD)/shmtool: tests/helpers/shmtool.c
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -Wall -Wextra -Werror -o $@ $<

# Objects of a binary that a unit test links besides libshmpipe.a.
TEST_EXTRA_test_plugin := $(BUILD)/obj/plugin/handlers.o $(BUILD)/obj/plugin/volroot.o
TEST_EXTRA_test_runtime_rewrite := $(BUILD)/obj/runtime/rewrite.o
TEST_EXTRA_test_hook_filter := $(BUILD)/obj/hook/harden.o

.SECONDEXPANSION:
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libshmpipe.a $$(TEST_EXTRA_$$*)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Iplugin -Ihook -Iruntime $(shell pkg-config --cflags cmocka libmicrohttpd) \
	  $(LDFLAGS) -o $@ $(filter %.c,$^) $(TEST_EXTRA_$*) $(BUILD)/libshmpipe.a \
	  $(LDLIBS) $(shell pkg-config --libs cmocka libmicrohttpd)

demo: all
	BUILD=$(abspath $(BUILD)) ./examples/demo.sh

bench: all
	BUILD=$(abspath $(BUILD)) tests/bench/run.sh

unit: $(UNIT_BIN)
	@BUILD=$(BUILD) tests/run-unit.sh $(UNIT_BIN)

integration: all
	@BUILD=$(abspath $(BUILD)) tests/run-integration.sh

test: all $(UNIT_BIN)
	@BUILD=$(abspath $(BUILD)) tests/run-all.sh $(UNIT_BIN)

asan:
	$(MAKE) BUILD=build/asan SANITIZE=1 test

valgrind: all
	@BUILD=$(abspath $(BUILD)) SHMPIPE_VALGRIND=1 tests/run-integration.sh cli_ valgrind_

# FUZZ_SECONDS per target (default 60); FUZZ_TARGETS to pick some.
fuzz:
	tests/fuzz/run.sh

deps:
	./install/deps.sh

format:
	clang-format -i lib/*/*.[ch] cli/*.[ch] $(wildcard hook/*.[ch] hook/gen/*.c plugin/*.[ch] runtime/*.[ch] tests/unit/*.c tests/helpers/*.c tests/fuzz/*.[ch])

man: $(MAN_PAGES)

$(BUILD)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	scdoc <$< >$@.tmp && mv -f $@.tmp $@

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/shmpipe
	install -m 0755 $(BUILD)/shmpipectl $(DESTDIR)$(PREFIX)/bin/
	./install/install.sh "$(BUILD)" "$(DESTDIR)" "$(PREFIX)"
	for p in $(MAN_PAGES); do \
	  s=$${p##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/; \
	done

# The package of this tree: debian/changelog's version must be VERSION's.
deb:
	./install/build-deb.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
