# ember - one plain Makefile.
#   make          build build/ember and build/ember-jailer (static)
#   make test     unit tests, tiny guests on /dev/kvm, real Linux guests
#   make demo     boot the demo microVM
#   make kernel   build (or reuse) the guest kernel
#   make bench    benchmarks against QEMU microvm
# V=1 shows the commands.

CC      ?= gcc
BUILD   := build
PKGS    := jansson libseccomp
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -I. -MMD -MP
# liburing from its static archive even in dynamic (sanitizer) builds: Debian's
# liburing.so.2.3 does not export io_uring_register_restrictions/enable_rings.
# Expanded when used (=), not when make reads this file: on a fresh machine
# jansson's .pc file only exists once `deps` has run.
LDLIBS   = $(shell pkg-config --static --libs $(PKGS) 2>/dev/null) -l:liburing.a -lhttp_parser -lpthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

VMM_SRCS := $(wildcard vmm/*.c vmm/*/*.c api-socket/*.c virtio/*.c virtio/*/*.c)
VMM_HDRS := $(wildcard vmm/*.h vmm/*/*.h api-socket/*.h virtio/*.h virtio/*/*.h)
VMM_OBJS := $(VMM_SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS := $(filter-out $(BUILD)/vmm/main.o,$(VMM_OBJS))
# ember-jailer: its own folder, linked with none of ember's objects.
JAILER_SRCS := $(wildcard jailer/*.c)
JAILER_OBJS := $(JAILER_SRCS:%.c=$(BUILD)/%.o)
JAILER_LIB_OBJS := $(filter-out $(BUILD)/jailer/main.o,$(JAILER_OBJS))

.PHONY: all deps guests test unit tier2 api swagger-check jailer asan tier3 fuzz demo kernel bench clean
# The user-facing targets (all, demo, test, bench) install the packages first,
# then run a new make for the real work: nothing it reads from pkg-config
# predates them, and -j cannot run the two side by side.
all: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/ember $(BUILD)/ember-jailer $(BUILD)/uffd_handler

deps:
	$(Q)scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The built-in seccomp filters, compiled once at build time by a host tool
# over the policy's own objects (tools/sandbox_bpf.c, docs/seccomp.md).
SANDBOX_GEN_OBJS := $(addprefix $(BUILD)/,vmm/sandbox_policy.o vmm/core/sandbox.o \
		    vmm/core/json.o vmm/core/log.o)
$(BUILD)/tools/sandbox_bpf: tools/sandbox_bpf.c $(SANDBOX_GEN_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(SANDBOX_GEN_OBJS) $(LDLIBS)

$(BUILD)/gen/sandbox_bpf.c: $(BUILD)/tools/sandbox_bpf
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$< >$@.tmp && mv $@.tmp $@

$(BUILD)/gen/sandbox_bpf.o: $(BUILD)/gen/sandbox_bpf.c
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/ember: $(VMM_OBJS) $(BUILD)/gen/sandbox_bpf.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -static $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The example page-fault handler for "Uffd" snapshot loads (docs/snapshots.md),
# static like ember so it can run inside a jail.
$(BUILD)/uffd_handler: tools/uffd_handler.c vmm/core/uffd_msg.c vmm/core/uffd_msg.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -static $(CFLAGS) $(LDFLAGS) -o $@ tools/uffd_handler.c vmm/core/uffd_msg.c \
		$(shell pkg-config --static --libs jansson 2>/dev/null)

$(BUILD)/ember-jailer: $(JAILER_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -static $(LDFLAGS) -o $@ $^

include tests/tests.mk

clean:
	rm -rf $(BUILD)

-include $(VMM_OBJS:.o=.d) $(JAILER_OBJS:.o=.d) $(BUILD)/tools/sandbox_bpf.d
